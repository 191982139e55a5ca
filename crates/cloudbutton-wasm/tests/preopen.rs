//! The file system a guest sees: nothing, or one granted directory that it
//! cannot climb out of.

mod support;

use std::path::PathBuf;
use std::sync::Once;

use cloudbutton_executor::permissions::{Permissions, set_permissions};
use cloudbutton_wasm::{Preopen, WasmSpec};
use support::{module, run, scratch};

/// Opens `path` in the first preopened directory (fd 3) and copies it to
/// stdout; exits with code 1 if it cannot open it.
fn opener(path: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "{path}")
  (func (export "_start")
    ;; fd 3, no symlink following, the path, no oflags, the right to read.
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 512) (i32.const {len})
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 64))
      (then (call $proc_exit (i32.const 1))))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (if (call $fd_read (i32.load (i32.const 64)) (i32.const 0) (i32.const 1) (i32.const 16))
      (then (call $proc_exit (i32.const 2))))
    (i32.store (i32.const 4) (i32.load (i32.const 16)))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))
      (then (call $proc_exit (i32.const 3))))))"#,
        len = path.len()
    )
}

/// `granted/inside.txt` and, beside `granted`, `outside.txt`. The worker's
/// permissions allow `granted` only.
fn layout() -> PathBuf {
    static MADE: Once = Once::new();
    let root = scratch().join("fs");
    MADE.call_once(|| {
        std::fs::create_dir_all(root.join("granted")).unwrap();
        std::fs::create_dir_all(root.join("refused")).unwrap();
        std::fs::write(root.join("granted/inside.txt"), "inside\n").unwrap();
        std::fs::write(root.join("outside.txt"), "outside\n").unwrap();
        let permissions =
            Permissions::only("worker test-1", &[], vec![root.join("granted")]).unwrap();
        assert!(set_permissions(permissions));
    });
    root
}

fn granted(path: &str, writable: bool) -> WasmSpec {
    let root = layout();
    let mut spec = WasmSpec::new(module("open.wasm", &opener(path)));
    spec.preopen = Some(Preopen {
        host: root.join("granted"),
        guest: "/data".to_owned(),
        writable,
    });
    spec
}

#[test]
fn a_guest_reads_a_file_in_its_granted_directory() {
    assert_eq!(
        run(&granted("inside.txt", false), b"").unwrap(),
        b"inside\n"
    );
    assert_eq!(run(&granted("inside.txt", true), b"").unwrap(), b"inside\n");
}

#[test]
fn a_guest_cannot_climb_out_of_its_granted_directory() {
    let error = run(&granted("../outside.txt", false), b"").unwrap_err();
    assert!(error.contains("exited with code 1"), "{error}");

    let root = layout();
    let absolute = root.join("outside.txt");
    let error = run(&granted(absolute.to_str().unwrap(), false), b"").unwrap_err();
    assert!(error.contains("exited with code 1"), "{error}");
}

#[test]
fn without_a_grant_there_is_no_file_system() {
    layout();
    let spec = WasmSpec::new(module("open.wasm", &opener("inside.txt")));
    let error = run(&spec, b"").unwrap_err();
    assert!(error.contains("exited with code 1"), "{error}");
}

#[test]
fn a_directory_the_worker_does_not_grant_fails_the_task() {
    let root = layout();
    let mut spec = granted("inside.txt", false);
    spec.preopen.as_mut().unwrap().host = root.join("refused");
    let error = run(&spec, b"").unwrap_err();
    assert!(error.contains("open.wasm ("), "{error}");
    assert!(
        error.contains("worker test-1 does not grant the directory"),
        "{error}"
    );
}
