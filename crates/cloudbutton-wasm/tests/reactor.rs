//! Reactor modules: the `cloudbutton` host interface, limits and failures.

mod support;

use std::time::{Duration, Instant};

use cloudbutton_wasm::WasmSpec;
use support::{MEMORY_BOMB, SPIN, UPPER, module, module_with_fuel, run};

#[test]
fn a_reactor_upper_cases_its_input() {
    let spec = WasmSpec::new(module("upper.wasm", UPPER));
    assert_eq!(run(&spec, b"Hello, wasm!\n").unwrap(), b"HELLO, WASM!\n");
}

#[test]
fn an_empty_input_gives_an_empty_output() {
    let spec = WasmSpec::new(module("upper.wasm", UPPER));
    assert_eq!(run(&spec, b"").unwrap(), b"");
}

#[test]
fn a_five_mebibyte_input_goes_through_in_pieces() {
    let spec = WasmSpec::new(module("upper.wasm", UPPER));
    let input: Vec<u8> = (0..5 << 20).map(|i| b"abcdefghij\n"[i % 11]).collect();
    let output = run(&spec, &input).unwrap();
    assert_eq!(output, input.to_ascii_uppercase());
}

#[test]
fn an_infinite_loop_stops_at_the_time_limit() {
    let mut spec = WasmSpec::new(module("spin.wasm", SPIN));
    spec.timeout_ms = Some(200);
    let started = Instant::now();
    let error = run(&spec, b"abc").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error.contains("ran past its time limit of 200ms"),
        "{error}"
    );
    assert!(
        error.contains("spin.wasm (") && error.contains("3 bytes of input"),
        "{error}"
    );
}

#[test]
fn an_infinite_loop_uses_up_its_fuel() {
    let mut spec = WasmSpec::new(module_with_fuel("spin.wasm", SPIN, true));
    spec.fuel = Some(1_000_000);
    let error = run(&spec, b"").unwrap_err();
    assert!(
        error.contains("used up its fuel budget of 1000000"),
        "{error}"
    );
}

#[test]
fn fuel_is_enough_for_a_short_run() {
    let mut spec = WasmSpec::new(module_with_fuel("upper.wasm", UPPER, true));
    spec.fuel = Some(10_000_000);
    assert_eq!(run(&spec, b"fuel").unwrap(), b"FUEL");
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    let mut spec = WasmSpec::new(module("bomb.wasm", MEMORY_BOMB));
    spec.memory_limit = 16 << 20;
    let error = run(&spec, b"").unwrap_err();
    assert!(
        error.contains("exceeded its memory limit of 16 MiB"),
        "{error}"
    );
}

#[test]
fn a_module_whose_initial_memory_is_too_large_fails_alike() {
    let mut spec = WasmSpec::new(module(
        "big.wasm",
        r#"(module (memory (export "memory") 32)
             (func (export "cloudbutton_run") (result i32) (i32.const 0)))"#,
    ));
    spec.memory_limit = 1 << 20;
    let error = run(&spec, b"").unwrap_err();
    assert!(
        error.contains("exceeded its memory limit of 1 MiB"),
        "{error}"
    );
}

#[test]
fn output_past_the_limit_fails_even_if_the_guest_ignores_it() {
    // Writes 1 KiB 100 times and drops every result.
    let spec_module = module(
        "chatty.wasm",
        r#"(module
             (import "cloudbutton" "output_write" (func $write (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "cloudbutton_run") (result i32)
               (local $i i32)
               (loop $again
                 (drop (call $write (i32.const 0) (i32.const 1024)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $again (i32.lt_u (local.get $i) (i32.const 100))))
               (i32.const 0)))"#,
    );
    let mut spec = WasmSpec::new(spec_module);
    spec.output_limit = 10 << 10;
    let error = run(&spec, b"").unwrap_err();
    assert!(
        error.contains("wrote more than its output limit of 10240 bytes"),
        "{error}"
    );

    spec.output_limit = 100 << 10;
    assert_eq!(run(&spec, b"").unwrap().len(), 100 << 10);
}

#[test]
fn a_trap_fails_the_task_with_its_message() {
    let spec = WasmSpec::new(module(
        "trap.wasm",
        r#"(module (func (export "cloudbutton_run") (result i32) unreachable))"#,
    ));
    let error = run(&spec, b"").unwrap_err();
    assert!(error.contains("wasm trap"), "{error}");
    assert!(error.contains("unreachable"), "{error}");
}

#[test]
fn an_out_of_bounds_access_is_a_trap() {
    let spec = WasmSpec::new(module(
        "oob.wasm",
        r#"(module (memory 1)
             (func (export "cloudbutton_run") (result i32)
               (i32.load (i32.const 1000000))))"#,
    ));
    let error = run(&spec, b"").unwrap_err();
    assert!(error.contains("out of bounds memory access"), "{error}");
}

#[test]
fn an_error_code_carries_the_guests_message() {
    let failing = module(
        "failing.wasm",
        r#"(module
             (import "cloudbutton" "set_error" (func $set_error (param i32 i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "bad record at line 3")
             (func (export "cloudbutton_run") (result i32)
               (call $set_error (i32.const 0) (i32.const 20))
               (i32.const 7)))"#,
    );
    let error = run(&WasmSpec::new(failing), b"").unwrap_err();
    assert!(
        error.contains("failed (code 7): bad record at line 3"),
        "{error}"
    );

    let silent = module(
        "silent.wasm",
        r#"(module (func (export "cloudbutton_run") (result i32) (i32.const 4)))"#,
    );
    let error = run(&WasmSpec::new(silent), b"").unwrap_err();
    assert!(error.contains("returned error code 4"), "{error}");
}

#[test]
fn a_bad_pointer_gets_minus_one_from_input_read_and_traps_in_output_write() {
    let spec = WasmSpec::new(module(
        "pointers.wasm",
        r#"(module
             (import "cloudbutton" "input_read" (func $read (param i32 i32) (result i32)))
             (import "cloudbutton" "output_write" (func $write (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "cloudbutton_run") (result i32)
               (if (i32.ne (call $read (i32.const 65535) (i32.const 2)) (i32.const -1))
                 (then (return (i32.const 9))))
               (drop (call $write (i32.const 65535) (i32.const 2)))
               (i32.const 0)))"#,
    ));
    let error = run(&spec, b"xyz").unwrap_err();
    assert!(
        error.contains("output_write was given 2 bytes at 65535, outside the guest's 65536 bytes"),
        "{error}"
    );
}

#[test]
fn a_reactor_may_use_wasi_and_is_initialized_first() {
    let spec = WasmSpec::new(module(
        "mixed.wasm",
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (import "cloudbutton" "output_write" (func $write (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (global $ready (mut i32) (i32.const 0))
             (data (i32.const 100) "from-wasi+abi")
             (func (export "_initialize") (global.set $ready (i32.const 1)))
             (func (export "cloudbutton_run") (result i32)
               (if (i32.eqz (global.get $ready)) (then (return (i32.const 2))))
               (i32.store (i32.const 0) (i32.const 100))
               (i32.store (i32.const 4) (i32.const 9))
               (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
               (drop (call $write (i32.const 109) (i32.const 4)))
               (i32.const 0)))"#,
    ));
    assert_eq!(run(&spec, b"ignored").unwrap(), b"from-wasi+abi");
}

#[test]
fn the_same_module_runs_many_times_in_a_row() {
    let spec = WasmSpec::new(module("upper.wasm", UPPER));
    for i in 0..200 {
        let input = format!("task {i}");
        assert_eq!(
            run(&spec, input.as_bytes()).unwrap(),
            input.to_uppercase().as_bytes()
        );
    }
}
