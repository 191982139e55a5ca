//! What the tests of the examples and of cluster mode share: where the
//! repository and the built examples are, and running a command that must
//! succeed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The root of the repository.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The built example `name`: `cargo test` builds the examples next to the
/// test binaries.
#[allow(dead_code)] // not every test binary runs examples
pub fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let path = deps.parent().unwrap().join("examples").join(name);
    assert!(path.exists(), "{} is not built", path.display());
    path
}

/// A WebAssembly example built by scripts/build-wasm.sh, which the test
/// command runs first, into `CLOUDBUTTON_WASM_EXAMPLES` (default
/// `target/wasm`).
#[allow(dead_code)] // not every test binary runs modules
pub fn wasm_example(name: &str) -> PathBuf {
    let dir = std::env::var_os("CLOUDBUTTON_WASM_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/wasm"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-wasm.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Runs `command`, failing the test with its standard error if it fails.
pub fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
