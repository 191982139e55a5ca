//! WASI commands: stdin, stdout, stderr, arguments, environment, exit codes.

mod support;

use cloudbutton_wasm::WasmSpec;
use support::{CAT, module, run};

#[test]
fn a_command_copies_stdin_to_stdout() {
    let spec = WasmSpec::new(module("cat.wasm", CAT));
    assert_eq!(run(&spec, b"one\ntwo\n").unwrap(), b"one\ntwo\n");
    assert_eq!(run(&spec, b"").unwrap(), b"");

    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    assert_eq!(run(&spec, &big).unwrap(), big);
}

#[test]
fn stdout_past_the_output_limit_fails_the_task() {
    let mut spec = WasmSpec::new(module("cat.wasm", CAT));
    spec.output_limit = 1000;
    let error = run(&spec, &[b'x'; 5000]).unwrap_err();
    assert!(
        error.contains("wrote more than its output limit of 1000 bytes"),
        "{error}"
    );
    assert!(
        error.contains("cat.wasm (") && error.contains("5000 bytes of input"),
        "{error}"
    );
}

/// Writes its arguments, then its environment, each string ending in NUL.
const ARGS_AND_ENV: &str = r#"
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 32) (local.get $ptr))
    (i32.store (i32.const 36) (local.get $len))
    (if (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48))
      (then unreachable)))
  (func (export "_start")
    ;; Counts at 0, sizes at 4; pointers at 1024, strings at 4096.
    (if (call $args_sizes_get (i32.const 0) (i32.const 4)) (then unreachable))
    (if (call $args_get (i32.const 1024) (i32.const 4096)) (then unreachable))
    (call $write (i32.const 4096) (i32.load (i32.const 4)))
    (if (call $environ_sizes_get (i32.const 0) (i32.const 4)) (then unreachable))
    (if (call $environ_get (i32.const 1024) (i32.const 8192)) (then unreachable))
    (call $write (i32.const 8192) (i32.load (i32.const 4)))))
"#;

#[test]
fn the_guest_sees_exactly_the_jobs_arguments_and_environment() {
    let mut spec = WasmSpec::new(module("args.wasm", ARGS_AND_ENV));
    spec.args = vec!["-n".to_owned(), "two words".to_owned()];
    spec.env = vec![
        ("LANG".to_owned(), "C".to_owned()),
        ("EMPTY".to_owned(), String::new()),
    ];
    assert_eq!(
        run(&spec, b"").unwrap(),
        b"args.wasm\0-n\0two words\0LANG=C\0EMPTY=\0"
    );

    // Nothing comes from the host: no PATH, no HOME.
    let bare = WasmSpec::new(spec.module.clone());
    assert_eq!(run(&bare, b"").unwrap(), b"args.wasm\0");
}

/// Complains on stderr, then exits with code 3.
const COMPLAIN: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "reading the input\nline 7: not a number\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 39))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))
    unreachable))
"#;

#[test]
fn a_nonzero_exit_fails_with_the_code_and_the_end_of_stderr() {
    let spec = WasmSpec::new(module("complain.wasm", COMPLAIN));
    let error = run(&spec, b"12\nx\n").unwrap_err();
    assert!(error.contains("complain.wasm ("), "{error}");
    assert!(
        error.contains("on 5 bytes of input: exited with code 3"),
        "{error}"
    );
    assert!(error.ends_with("line 7: not a number"), "{error}");
}

#[test]
fn exit_code_zero_is_success() {
    let spec = WasmSpec::new(module(
        "exit0.wasm",
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
             (import "cloudbutton" "output_write" (func $write (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "done")
             (func (export "_start")
               (drop (call $write (i32.const 0) (i32.const 4)))
               (call $proc_exit (i32.const 0))))"#,
    ));
    assert_eq!(run(&spec, b"").unwrap(), b"done");
}

#[test]
fn a_command_can_read_its_input_through_the_host_functions_too() {
    let spec = WasmSpec::new(module(
        "size.wasm",
        r#"(module
             (import "cloudbutton" "input_size" (func $size (result i64)))
             (import "cloudbutton" "output_write" (func $write (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")
               (i64.store (i32.const 0) (call $size))
               (drop (call $write (i32.const 0) (i32.const 8)))))"#,
    ));
    assert_eq!(run(&spec, b"12345").unwrap(), 5u64.to_le_bytes());
}

#[test]
fn a_module_with_no_entry_point_or_an_unknown_import_is_refused_when_prepared() {
    let path = support::scratch().join("inert.wasm");
    std::fs::write(&path, "(module)").unwrap();
    let error = cloudbutton_wasm::prepare(path.to_str().unwrap(), &Default::default(), None, false)
        .unwrap_err()
        .to_string();
    assert!(error.contains("inert.wasm ("), "{error}");
    assert!(error.contains("exports neither `_start`"), "{error}");

    let path = support::scratch().join("imports.wasm");
    std::fs::write(
        &path,
        r#"(module (import "env" "open" (func)) (func (export "_start")))"#,
    )
    .unwrap();
    let error = cloudbutton_wasm::prepare(path.to_str().unwrap(), &Default::default(), None, false)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`env::open` has not been defined"),
        "{error}"
    );
}
