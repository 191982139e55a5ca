//! Helpers shared by the integration tests: modules written as WAT, and
//! tasks run directly or through an executor.

// Every test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudbutton_executor::{Config, FunctionExecutor, Payload, ProgressMode, TaskContext};
use cloudbutton_storage::StorageOptions;
use cloudbutton_wasm::{ModuleRef, RUN_WASM, WasmSpec, WasmTask, prepare};
use tempfile::TempDir;

/// A directory that lives as long as the test binary: modules and, unless a
/// test moves it, the disk cache of compiled modules.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        cloudbutton_wasm::testing::use_cache_dir(dir.path().join("cache"));
        dir
    })
    .path()
}

/// Writes `wat` to `name` in the scratch directory and prepares it.
pub fn module(name: &str, wat: &str) -> ModuleRef {
    module_with_fuel(name, wat, false)
}

/// [`module`], compiled for fuel metering or not.
pub fn module_with_fuel(name: &str, wat: &str, fuel: bool) -> ModuleRef {
    // A directory per call: tests running at once must not rewrite a file
    // another one is reading.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = scratch().join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, wat).unwrap();
    prepare(
        path.to_str().unwrap(),
        &StorageOptions::default(),
        None,
        fuel,
    )
    .unwrap()
}

/// A task of `spec` on `input`.
pub fn task(spec: &WasmSpec, input: &[u8]) -> WasmTask {
    WasmTask {
        spec: spec.clone(),
        payload: Payload::Bytes(input.to_vec()),
    }
}

/// Runs one task in this thread: its output, or its error message.
pub fn run(spec: &WasmSpec, input: &[u8]) -> Result<Vec<u8>, String> {
    RUN_WASM
        .call(task(spec, input), &TaskContext::detached(0))
        .map(|output| output.into_vec())
        .map_err(|error| error.to_string())
}

/// A quiet executor with `workers` local threads.
pub fn executor(workers: usize) -> FunctionExecutor {
    let mut config = Config::default();
    config.executor.workers = Some(workers);
    config.executor.progress = ProgressMode::Never;
    FunctionExecutor::with_config(config).unwrap()
}

/// A reactor that upper-cases its input, reading and writing it in pieces
/// of up to 64 KiB, and logs once.
pub const UPPER: &str = r#"
(module
  (import "cloudbutton" "input_size" (func $input_size (result i64)))
  (import "cloudbutton" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "cloudbutton" "output_write" (func $output_write (param i32 i32) (result i32)))
  (import "cloudbutton" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 65536) "upper-casing")
  (func (export "cloudbutton_run") (result i32)
    (local $n i32) (local $i i32) (local $c i32)
    (call $log (i32.const 2) (i32.const 65536) (i32.const 12))
    (block $done
      (loop $pieces
        (local.set $n (call $input_read (i32.const 0) (i32.const 65536)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $i (i32.const 0))
        (block $end
          (loop $bytes
            (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $c (i32.load8_u (local.get $i)))
            (if (i32.and (i32.ge_u (local.get $c) (i32.const 97))
                         (i32.le_u (local.get $c) (i32.const 122)))
              (then (i32.store8 (local.get $i) (i32.sub (local.get $c) (i32.const 32)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $bytes)))
        (if (call $output_write (i32.const 0) (local.get $n))
          (then (return (i32.const 1))))
        (br $pieces)))
    (i32.const 0)))
"#;

/// A reactor that never returns.
pub const SPIN: &str = r#"
(module
  (func (export "cloudbutton_run") (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
"#;

/// A reactor that grows its memory by 1 MiB until something stops it.
pub const MEMORY_BOMB: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "cloudbutton_run") (result i32)
    (loop $more
      (drop (memory.grow (i32.const 16)))
      (br $more))
    (i32.const 0)))
"#;

/// A WASI command that copies stdin to stdout.
pub const CAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $n i32)
    ;; The iovec at 0 reads into 1024..5120; the count lands at 16.
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (block $done
      (loop $copy
        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
          (then unreachable))
        (local.set $n (i32.load (i32.const 16)))
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store (i32.const 32) (i32.const 1024))
        (i32.store (i32.const 36) (local.get $n))
        (if (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48))
          (then unreachable))
        (br $copy)))))
"#;
