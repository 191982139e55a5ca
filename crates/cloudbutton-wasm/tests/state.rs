//! The state calls of the `cloudbutton` host interface: WebAssembly tasks
//! share counters, maps, lists, blobs, barriers, futures, latches and
//! semaphores with each other and with their driver.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudbutton_executor::Wait;
use cloudbutton_executor::state::{Key, Kind, Op, Reply, State};
use cloudbutton_wasm::{RUN_WASM, WasmSpec};
use serde_bytes::ByteBuf;
use support::{UPPER, executor, module, run, task};

/// Every state call, imported under its own name, with `input_read`,
/// `output_write` and `set_error`.
const IMPORTS: &str = r#"
  (import "cloudbutton" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "cloudbutton" "output_write" (func $output_write (param i32 i32) (result i32)))
  (import "cloudbutton" "counter_get" (func $counter_get (param i32 i32) (result i64)))
  (import "cloudbutton" "counter_add" (func $counter_add (param i32 i32 i64) (result i64)))
  (import "cloudbutton" "counter_compare_and_set"
    (func $counter_compare_and_set (param i32 i32 i64 i64) (result i32)))
  (import "cloudbutton" "sum_get" (func $sum_get (param i32 i32) (result f64)))
  (import "cloudbutton" "sum_add" (func $sum_add (param i32 i32 f64) (result f64)))
  (import "cloudbutton" "map_get" (func $map_get (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "cloudbutton" "map_put" (func $map_put (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "cloudbutton" "map_remove" (func $map_remove (param i32 i32 i32 i32) (result i32)))
  (import "cloudbutton" "map_len" (func $map_len (param i32 i32) (result i64)))
  (import "cloudbutton" "map_add_f64s" (func $map_add_f64s (param i32 i32 i32 i32 i32 i32)))
  (import "cloudbutton" "list_append" (func $list_append (param i32 i32 i32 i32) (result i64)))
  (import "cloudbutton" "list_len" (func $list_len (param i32 i32) (result i64)))
  (import "cloudbutton" "list_get" (func $list_get (param i32 i32 i64 i32 i32) (result i64)))
  (import "cloudbutton" "blob_read" (func $blob_read (param i32 i32 i64 i32 i32) (result i64)))
  (import "cloudbutton" "blob_write" (func $blob_write (param i32 i32 i64 i32 i32) (result i64)))
  (import "cloudbutton" "blob_len" (func $blob_len (param i32 i32) (result i64)))
  (import "cloudbutton" "barrier_wait" (func $barrier_wait (param i32 i32 i32) (result i64)))
  (import "cloudbutton" "future_set" (func $future_set (param i32 i32 i32 i32) (result i32)))
  (import "cloudbutton" "future_get" (func $future_get (param i32 i32 i32 i32) (result i64)))
  (import "cloudbutton" "future_try_get"
    (func $future_try_get (param i32 i32 i32 i32) (result i64)))
  (import "cloudbutton" "latch_count_down"
    (func $latch_count_down (param i32 i32 i32) (result i64)))
  (import "cloudbutton" "latch_wait" (func $latch_wait (param i32 i32 i32)))
  (import "cloudbutton" "semaphore_acquire"
    (func $semaphore_acquire (param i32 i32 i32 i32)))
  (import "cloudbutton" "semaphore_release"
    (func $semaphore_release (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
"#;

/// A module of [`IMPORTS`] and `body`, prepared under `name`.
fn state_module(name: &str, body: &str) -> WasmSpec {
    WasmSpec::new(module(name, &format!("(module {IMPORTS} {body})")))
}

/// The key of an object in the scope of `state`, for the raw operations
/// that read what a guest wrote.
fn key(state: &State, kind: Kind, name: &str) -> Key {
    Key {
        scope: Arc::from(state.scope()),
        kind,
        name: Arc::from(name),
    }
}

#[test]
fn counters_and_sums_from_sixteen_concurrent_tasks_add_up_exactly() {
    // 1000 additions of 1 to `hits` and of 0.5 to `total`, then 100
    // increments of `cas` by compare-and-set, retried until they win.
    let spec = state_module(
        "count.wasm",
        r#"
        (data (i32.const 0) "hits")
        (data (i32.const 16) "cas")
        (data (i32.const 32) "total")
        (func (export "cloudbutton_run") (result i32)
          (local $i i32) (local $seen i64)
          (loop $adds
            (drop (call $counter_add (i32.const 0) (i32.const 4) (i64.const 1)))
            (drop (call $sum_add (i32.const 32) (i32.const 5) (f64.const 0.5)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $adds (i32.lt_u (local.get $i) (i32.const 1000))))
          (local.set $i (i32.const 0))
          (loop $increments
            (loop $retry
              (local.set $seen (call $counter_get (i32.const 16) (i32.const 3)))
              (br_if $retry (i32.eqz (call $counter_compare_and_set
                (i32.const 16) (i32.const 3)
                (local.get $seen) (i64.add (local.get $seen) (i64.const 1))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $increments (i32.lt_u (local.get $i) (i32.const 100))))
          (i32.const 0))
        "#,
    );

    let executor = executor(16);
    // What the driver writes first, the guests add to.
    executor.state().counter("hits").add(5).unwrap();
    let tasks: Vec<_> = (0..16).map(|_| task(&spec, b"")).collect();
    executor
        .map(&RUN_WASM, tasks)
        .unwrap()
        .get_result()
        .unwrap();

    let state = executor.state();
    assert_eq!(state.counter("hits").get().unwrap(), 5 + 16 * 1000);
    assert_eq!(state.counter("cas").get().unwrap(), 16 * 100);
    assert_eq!(state.sum("total").get().unwrap(), 16.0 * 1000.0 * 0.5);
}

#[test]
fn tasks_meet_at_a_barrier_round_after_round() {
    // Counts itself in, waits at the barrier twice, and writes the first
    // round, the count seen between the rounds, and the second round.
    let spec = state_module(
        "barrier.wasm",
        r#"
        (data (i32.const 0) "arrived")
        (data (i32.const 16) "meet")
        (func (export "cloudbutton_run") (result i32)
          (drop (call $counter_add (i32.const 0) (i32.const 7) (i64.const 1)))
          (i64.store (i32.const 64) (call $barrier_wait (i32.const 16) (i32.const 4) (i32.const 4)))
          (i64.store (i32.const 72) (call $counter_get (i32.const 0) (i32.const 7)))
          (i64.store (i32.const 80) (call $barrier_wait (i32.const 16) (i32.const 4) (i32.const 4)))
          (drop (call $output_write (i32.const 64) (i32.const 24)))
          (i32.const 0))
        "#,
    );

    let executor = executor(4);
    let tasks: Vec<_> = (0..4).map(|_| task(&spec, b"")).collect();
    let outputs = executor
        .map(&RUN_WASM, tasks)
        .unwrap()
        .get_result()
        .unwrap();
    for output in outputs {
        let words: Vec<i64> = output
            .chunks_exact(8)
            .map(|word| i64::from_le_bytes(word.try_into().unwrap()))
            .collect();
        assert_eq!(words, [0, 4, 1]);
    }
}

#[test]
fn map_values_come_back_whole_or_not_at_all_and_are_raw_bytes_to_the_driver() {
    // Each check returns its own code if it fails.
    let spec = state_module(
        "map.wasm",
        r#"
        (data (i32.const 0) "m")
        (data (i32.const 8) "k")
        (data (i32.const 16) "hello world")
        (data (i32.const 32) "gone")
        (func (export "cloudbutton_run") (result i32)
          (if (i32.ne (call $map_put (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 1)
                                     (i32.const 16) (i32.const 5)) (i32.const 0))
            (then (return (i32.const 10))))
          (if (i32.ne (call $map_put (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 1)
                                     (i32.const 16) (i32.const 11)) (i32.const 1))
            (then (return (i32.const 11))))

          ;; Too small a buffer: the length, and nothing written.
          (i32.store8 (i32.const 256) (i32.const 42))
          (if (i64.ne (call $map_get (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 1)
                                     (i32.const 256) (i32.const 4)) (i64.const 11))
            (then (return (i32.const 12))))
          (if (i32.ne (i32.load8_u (i32.const 256)) (i32.const 42))
            (then (return (i32.const 13))))
          (if (i64.ne (call $map_get (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 1)
                                     (i32.const 256) (i32.const 64)) (i64.const 11))
            (then (return (i32.const 14))))

          ;; An absent key is -1; an empty value is 0.
          (if (i64.ne (call $map_get (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 4)
                                     (i32.const 512) (i32.const 0)) (i64.const -1))
            (then (return (i32.const 15))))
          (drop (call $map_put (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 4)
                               (i32.const 16) (i32.const 0)))
          (if (i64.ne (call $map_get (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 4)
                                     (i32.const 512) (i32.const 0)) (i64.const 0))
            (then (return (i32.const 16))))
          (if (i64.ne (call $map_len (i32.const 0) (i32.const 1)) (i64.const 2))
            (then (return (i32.const 17))))
          (if (i32.ne (call $map_remove (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 4))
                      (i32.const 1))
            (then (return (i32.const 18))))
          (if (i32.ne (call $map_remove (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 4))
                      (i32.const 0))
            (then (return (i32.const 19))))
          (if (i64.ne (call $map_len (i32.const 0) (i32.const 1)) (i64.const 1))
            (then (return (i32.const 20))))

          (drop (call $output_write (i32.const 256) (i32.const 11)))
          (i32.const 0))
        "#,
    );

    let executor = executor(1);
    let outputs = executor
        .map(&RUN_WASM, vec![task(&spec, b"")])
        .unwrap()
        .get_result()
        .unwrap();
    assert_eq!(outputs[0].as_slice(), b"hello world");

    // The driver reads the guest's bytes with the raw operations; a typed
    // map encodes its keys as MessagePack, so it finds nothing.
    let state = executor.state();
    let reply = state
        .store()
        .apply(&key(state, Kind::Map, "m"), Op::MapGet(b"k".to_vec()))
        .unwrap();
    assert_eq!(reply, Reply::Value(Some(b"hello world".to_vec())));
    let typed = state.map::<ByteBuf, ByteBuf>("m");
    assert_eq!(typed.get(&ByteBuf::from(b"k".to_vec())).unwrap(), None);
    assert_eq!(typed.len().unwrap(), 1);
}

#[test]
fn partial_sums_merge_elementwise_into_one_map_value() {
    // Adds the three f64s of its input to the key `c0` of `centroids`.
    let spec = state_module(
        "partials.wasm",
        r#"
        (data (i32.const 0) "centroids")
        (data (i32.const 16) "c0")
        (func (export "cloudbutton_run") (result i32)
          (drop (call $input_read (i32.const 64) (i32.const 24)))
          (call $map_add_f64s (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 2)
                              (i32.const 64) (i32.const 3))
          (i32.const 0))
        "#,
    );

    let executor = executor(4);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let values: Vec<u8> = [1.0, f64::from(i), 0.25]
                .iter()
                .flat_map(|value: &f64| value.to_le_bytes())
                .collect();
            task(&spec, &values)
        })
        .collect();
    executor
        .map(&RUN_WASM, tasks)
        .unwrap()
        .get_result()
        .unwrap();

    let state = executor.state();
    let Reply::Value(Some(bytes)) = state
        .store()
        .apply(
            &key(state, Kind::Map, "centroids"),
            Op::MapGet(b"c0".to_vec()),
        )
        .unwrap()
    else {
        panic!("the partial sums are missing");
    };
    let sums: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|value| f64::from_le_bytes(value.try_into().unwrap()))
        .collect();
    assert_eq!(sums, [8.0, 28.0, 2.0]);
}

#[test]
fn partial_sums_of_another_length_trap_naming_the_map_and_key() {
    let spec = state_module(
        "mismatch.wasm",
        r#"
        (data (i32.const 0) "centroids")
        (data (i32.const 16) "c0")
        (func (export "cloudbutton_run") (result i32)
          (call $map_add_f64s (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 2)
                              (i32.const 64) (i32.const 3))
          (call $map_add_f64s (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 2)
                              (i32.const 64) (i32.const 2))
          (i32.const 0))
        "#,
    );
    let error = run(&spec, b"").unwrap_err();
    assert!(
        error.contains("map_add_f64s: map `centroids` in job/")
            && error.contains("the value of key `c0` is 24 bytes long, and 2 f64s (16 bytes)"),
        "{error}"
    );
}

#[test]
fn list_items_come_back_by_index() {
    let spec = state_module(
        "list.wasm",
        r#"
        (data (i32.const 0) "l")
        (data (i32.const 16) "first")
        (data (i32.const 32) "second!")
        (func (export "cloudbutton_run") (result i32)
          (if (i64.ne (call $list_append (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 5))
                      (i64.const 1))
            (then (return (i32.const 10))))
          (if (i64.ne (call $list_append (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 7))
                      (i64.const 2))
            (then (return (i32.const 11))))
          (if (i64.ne (call $list_len (i32.const 0) (i32.const 1)) (i64.const 2))
            (then (return (i32.const 12))))
          (if (i64.ne (call $list_get (i32.const 0) (i32.const 1) (i64.const 1)
                                      (i32.const 256) (i32.const 3)) (i64.const 7))
            (then (return (i32.const 13))))
          (if (i32.ne (i32.load8_u (i32.const 256)) (i32.const 0))
            (then (return (i32.const 14))))
          (if (i64.ne (call $list_get (i32.const 0) (i32.const 1) (i64.const 1)
                                      (i32.const 256) (i32.const 64)) (i64.const 7))
            (then (return (i32.const 15))))
          (if (i64.ne (call $list_get (i32.const 0) (i32.const 1) (i64.const 2)
                                      (i32.const 512) (i32.const 64)) (i64.const -1))
            (then (return (i32.const 16))))
          (drop (call $output_write (i32.const 256) (i32.const 7)))
          (i32.const 0))
        "#,
    );

    let executor = executor(1);
    let outputs = executor
        .map(&RUN_WASM, vec![task(&spec, b"")])
        .unwrap()
        .get_result()
        .unwrap();
    assert_eq!(outputs[0].as_slice(), b"second!");

    let state = executor.state();
    let reply = state
        .store()
        .apply(
            &key(state, Kind::List, "l"),
            Op::ListRange {
                start: 0,
                end: u64::MAX,
            },
        )
        .unwrap();
    assert_eq!(
        reply,
        Reply::Values(vec![b"first".to_vec(), b"second!".to_vec()])
    );
}

#[test]
fn blobs_are_read_and_written_by_range() {
    // Writes "hello" at 0 and "world" at 10, then reads 4 bytes from 8, 10
    // from 13 (only 2 are left) and 10 from 100 (none), one after another
    // in the output.
    let spec = state_module(
        "blob.wasm",
        r#"
        (data (i32.const 0) "b")
        (data (i32.const 16) "hello")
        (data (i32.const 32) "world")
        (func (export "cloudbutton_run") (result i32)
          (local $at i32) (local $got i64)
          (if (i64.ne (call $blob_write (i32.const 0) (i32.const 1) (i64.const 0)
                                        (i32.const 16) (i32.const 5)) (i64.const 5))
            (then (return (i32.const 10))))
          (if (i64.ne (call $blob_write (i32.const 0) (i32.const 1) (i64.const 10)
                                        (i32.const 32) (i32.const 5)) (i64.const 15))
            (then (return (i32.const 11))))
          (if (i64.ne (call $blob_len (i32.const 0) (i32.const 1)) (i64.const 15))
            (then (return (i32.const 12))))
          (local.set $at (i32.const 256))
          (local.set $got (call $blob_read (i32.const 0) (i32.const 1) (i64.const 8)
                                           (local.get $at) (i32.const 4)))
          (if (i64.ne (local.get $got) (i64.const 4)) (then (return (i32.const 13))))
          (local.set $at (i32.add (local.get $at) (i32.wrap_i64 (local.get $got))))
          (local.set $got (call $blob_read (i32.const 0) (i32.const 1) (i64.const 13)
                                           (local.get $at) (i32.const 10)))
          (if (i64.ne (local.get $got) (i64.const 2)) (then (return (i32.const 14))))
          (local.set $at (i32.add (local.get $at) (i32.wrap_i64 (local.get $got))))
          (if (i64.ne (call $blob_read (i32.const 0) (i32.const 1) (i64.const 100)
                                       (local.get $at) (i32.const 10)) (i64.const 0))
            (then (return (i32.const 15))))
          (drop (call $output_write (i32.const 256) (i32.sub (local.get $at) (i32.const 256))))
          (i32.const 0))
        "#,
    );

    let executor = executor(1);
    let outputs = executor
        .map(&RUN_WASM, vec![task(&spec, b"")])
        .unwrap()
        .get_result()
        .unwrap();
    assert_eq!(outputs[0].as_slice(), b"\0\0wold");
    // A blob is bytes on both sides: the typed handle reads it as it is.
    assert_eq!(
        executor.state().blob("b").get().unwrap().unwrap(),
        b"hello\0\0\0\0\0world"
    );
}

#[test]
fn a_future_set_by_one_task_reaches_the_others_and_a_latch_holds_them_all() {
    // Input `s` sets the future `answer` (a second set does nothing); any
    // other input waits for it and writes it. Every task then counts the
    // latch `done` down and waits for the others to.
    let spec = state_module(
        "future.wasm",
        r#"
        (data (i32.const 0) "answer")
        (data (i32.const 16) "42")
        (data (i32.const 32) "done")
        (func (export "cloudbutton_run") (result i32)
          (local $len i64)
          (drop (call $input_read (i32.const 128) (i32.const 1)))
          (if (i32.eq (i32.load8_u (i32.const 128)) (i32.const 115))
            (then
              (if (i32.ne (call $future_set (i32.const 0) (i32.const 6) (i32.const 16) (i32.const 2))
                          (i32.const 1))
                (then (return (i32.const 10))))
              (if (i32.ne (call $future_set (i32.const 0) (i32.const 6) (i32.const 32) (i32.const 4))
                          (i32.const 0))
                (then (return (i32.const 11)))))
            (else
              (local.set $len (call $future_get (i32.const 0) (i32.const 6)
                                                (i32.const 256) (i32.const 64)))
              (drop (call $output_write (i32.const 256) (i32.wrap_i64 (local.get $len))))
              (if (i64.ne (call $future_try_get (i32.const 0) (i32.const 6)
                                                (i32.const 256) (i32.const 64)) (i64.const 2))
                (then (return (i32.const 12))))))
          (drop (call $latch_count_down (i32.const 32) (i32.const 4) (i32.const 4)))
          (call $latch_wait (i32.const 32) (i32.const 4) (i32.const 4))
          (i32.const 0))
        "#,
    );

    let executor = executor(4);
    let tasks: Vec<_> = [b"g", b"g", b"s", b"g"]
        .iter()
        .map(|input| task(&spec, *input))
        .collect();
    let outputs = executor
        .map(&RUN_WASM, tasks)
        .unwrap()
        .get_result()
        .unwrap();
    let outputs: Vec<&[u8]> = outputs.iter().map(|output| output.as_slice()).collect();
    assert_eq!(outputs, [&b"42"[..], b"42", b"", b"42"]);
    assert_eq!(executor.state().latch("done", 4).count().unwrap(), 0);
}

#[test]
fn a_semaphore_of_one_permit_lets_one_task_in_at_a_time() {
    // Inside the semaphore, `inside` must be 1 for as long as the task
    // stays, which is a few thousand loop iterations.
    let spec = state_module(
        "semaphore.wasm",
        r#"
        (data (i32.const 0) "lock")
        (data (i32.const 16) "inside")
        (data (i32.const 32) "done")
        (func (export "cloudbutton_run") (result i32)
          (local $i i32)
          (call $semaphore_acquire (i32.const 0) (i32.const 4) (i32.const 1) (i32.const 1))
          (if (i64.ne (call $counter_add (i32.const 16) (i32.const 6) (i64.const 1)) (i64.const 1))
            (then (return (i32.const 10))))
          (loop $stay
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $stay (i32.lt_u (local.get $i) (i32.const 5000))))
          (if (i64.ne (call $counter_add (i32.const 16) (i32.const 6) (i64.const -1)) (i64.const 0))
            (then (return (i32.const 11))))
          (call $semaphore_release (i32.const 0) (i32.const 4) (i32.const 1) (i32.const 1))
          (drop (call $counter_add (i32.const 32) (i32.const 4) (i64.const 1)))
          (i32.const 0))
        "#,
    );

    let executor = executor(4);
    let tasks: Vec<_> = (0..8).map(|_| task(&spec, b"")).collect();
    executor
        .map(&RUN_WASM, tasks)
        .unwrap()
        .get_result()
        .unwrap();
    let state = executor.state();
    assert_eq!(state.counter("done").get().unwrap(), 8);
    assert_eq!(state.semaphore("lock", 1).available().unwrap(), 1);
}

/// Waits on the object its input's first byte picks: `b` a barrier of 2,
/// `f` a future, `l` a latch of 1, `s` a semaphore of no permits. Alone,
/// it waits forever.
const WAITER: &str = r#"
  (data (i32.const 0) "never")
  (func (export "cloudbutton_run") (result i32)
    (local $which i32)
    (drop (call $input_read (i32.const 128) (i32.const 1)))
    (local.set $which (i32.load8_u (i32.const 128)))
    (if (i32.eq (local.get $which) (i32.const 98))
      (then (drop (call $barrier_wait (i32.const 0) (i32.const 5) (i32.const 2)))))
    (if (i32.eq (local.get $which) (i32.const 102))
      (then (drop (call $future_get (i32.const 0) (i32.const 5) (i32.const 256) (i32.const 64)))))
    (if (i32.eq (local.get $which) (i32.const 108))
      (then (call $latch_wait (i32.const 0) (i32.const 5) (i32.const 1))))
    (if (i32.eq (local.get $which) (i32.const 115))
      (then (call $semaphore_acquire (i32.const 0) (i32.const 5) (i32.const 0) (i32.const 1))))
    (i32.const 0))
"#;

#[test]
fn a_wait_past_the_time_limit_fails_the_task_instead_of_hanging() {
    let mut spec = state_module("waiter.wasm", WAITER);
    spec.timeout_ms = Some(200);
    for input in [b"b", b"f", b"l", b"s"] {
        let started = Instant::now();
        let error = run(&spec, input).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(
            error.contains("waiter.wasm (") && error.contains("ran past its time limit of 200ms"),
            "{error}"
        );
    }
}

#[test]
fn cancelling_a_job_stops_a_task_that_waits_without_a_time_limit() {
    // One worker thread: the next job runs only once the waiting task has
    // given it back.
    let executor = executor(1);
    let waiter = state_module("waiter.wasm", WAITER);
    let job = executor.map(&RUN_WASM, vec![task(&waiter, b"b")]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(job.wait(Wait::All, Some(Duration::ZERO)), 0);

    job.cancel();
    let upper = WasmSpec::new(module("upper.wasm", UPPER));
    let next = executor
        .map(&RUN_WASM, vec![task(&upper, b"after")])
        .unwrap();
    assert_eq!(
        next.wait(Wait::All, Some(Duration::from_secs(5))),
        1,
        "the cancelled task still waits on the only worker thread"
    );
    assert_eq!(next.get_result().unwrap()[0].as_slice(), b"AFTER");
}

#[test]
fn bad_names_and_arguments_trap_with_a_clear_error() {
    // The input's first byte picks the mistake.
    let spec = state_module(
        "mistakes.wasm",
        r#"
        (data (i32.const 0) "big")
        (data (i32.const 16) "\ff\fe")
        (data (i32.const 32) "b")
        (func (export "cloudbutton_run") (result i32)
          (local $which i32)
          (drop (call $input_read (i32.const 128) (i32.const 1)))
          (local.set $which (i32.load8_u (i32.const 128)))
          ;; n: a name past the end of memory
          (if (i32.eq (local.get $which) (i32.const 110))
            (then (drop (call $counter_add (i32.const 65535) (i32.const 10) (i64.const 1)))))
          ;; u: a name that is not UTF-8
          (if (i32.eq (local.get $which) (i32.const 117))
            (then (drop (call $counter_add (i32.const 16) (i32.const 2) (i64.const 1)))))
          ;; o: an output buffer past the end of memory
          (if (i32.eq (local.get $which) (i32.const 111))
            (then (drop (call $map_get (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 3)
                                       (i32.const 65530) (i32.const 64)))))
          ;; v: a counter that overflows
          (if (i32.eq (local.get $which) (i32.const 118))
            (then
              (drop (call $counter_add (i32.const 0) (i32.const 3) (i64.const 0x7fffffffffffffff)))
              (drop (call $counter_add (i32.const 0) (i32.const 3) (i64.const 1)))))
          ;; p: a barrier of no parties
          (if (i32.eq (local.get $which) (i32.const 112))
            (then (drop (call $barrier_wait (i32.const 32) (i32.const 1) (i32.const 0)))))
          ;; c: a negative count of f64s
          (if (i32.eq (local.get $which) (i32.const 99))
            (then (call $map_add_f64s (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 3)
                                      (i32.const 0) (i32.const -1))))
          (i32.const 0))
        "#,
    );

    let cases: [(&[u8], &[&str]); 6] = [
        (
            b"n",
            &["counter_add was given 10 bytes at 65535, outside the guest's 65536 bytes of memory"],
        ),
        (
            b"u",
            &["counter_add: the counter name `\\xff\\xfe` is not UTF-8"],
        ),
        (
            b"o",
            &["map_get was given 64 bytes at 65530, outside the guest's 65536 bytes of memory"],
        ),
        (
            b"v",
            &[
                "counter_add: counter `big` in job/",
                "overflows a 64-bit counter",
            ],
        ),
        (
            b"p",
            &[
                "barrier_wait: barrier `b` in job/",
                "a barrier needs at least 1 party",
            ],
        ),
        (
            b"c",
            &[
                "map_add_f64s: map `big` in job/",
                "count is -1; it must not be negative",
            ],
        ),
    ];
    for (input, expected) in cases {
        let error = run(&spec, input).unwrap_err();
        assert!(error.contains("mistakes.wasm ("), "{error}");
        for part in expected {
            assert!(error.contains(part), "{error}");
        }
    }
}
