//! Where compiled modules come from: the disk cache, the shared storage,
//! and what happens when the source is missing, malformed or changed.
//!
//! These tests move the process-wide disk cache and clear the memory
//! cache, so they take turns.

mod support;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use cloudbutton_storage::StorageOptions;
use cloudbutton_wasm::testing::{clear_memory_cache, compilations_on_this_thread, use_cache_dir};
use cloudbutton_wasm::{ModuleRef, WasmSpec, prepare};
use support::{UPPER, run};
use tempfile::TempDir;

/// Each test gets an empty disk cache and an empty memory cache.
fn fresh_caches() -> (MutexGuard<'static, ()>, TempDir) {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let cache = tempfile::tempdir().unwrap();
    use_cache_dir(cache.path());
    clear_memory_cache();
    (turn, cache)
}

fn write_module(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn cwasm_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .filter(|name| name.ends_with(".cwasm"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_second_prepare_loads_from_the_disk_cache() {
    let (_turn, cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let source = write_module(dir.path(), "upper.wasm", UPPER);
    let options = StorageOptions::default();

    let before = compilations_on_this_thread();
    let module = prepare(&source, &options, None, false).unwrap();
    assert_eq!(compilations_on_this_thread(), before + 1);
    assert_eq!(module.name, "upper.wasm");
    assert_eq!(module.source, format!("file://{source}"));
    let cached = cwasm_files(cache.path());
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].starts_with(&module.sha256), "{cached:?}");

    clear_memory_cache();
    let again = prepare(&source, &options, None, false).unwrap();
    assert_eq!(again, module);
    assert_eq!(compilations_on_this_thread(), before + 1, "compiled again");
    assert_eq!(run(&WasmSpec::new(module), b"abc").unwrap(), b"ABC");
    assert_eq!(compilations_on_this_thread(), before + 1, "compiled again");
}

#[test]
fn a_corrupt_disk_cache_entry_is_replaced() {
    let (_turn, cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let source = write_module(dir.path(), "upper.wasm", UPPER);
    let module = prepare(&source, &StorageOptions::default(), None, false).unwrap();
    let cached = cache.path().join(&cwasm_files(cache.path())[0]);
    std::fs::write(&cached, b"garbage").unwrap();

    clear_memory_cache();
    let before = compilations_on_this_thread();
    assert_eq!(run(&WasmSpec::new(module), b"x").unwrap(), b"X");
    assert_eq!(compilations_on_this_thread(), before + 1);
    assert!(std::fs::metadata(&cached).unwrap().len() > 1000);
}

#[test]
fn a_module_published_to_shared_storage_loads_there_without_compiling() {
    let (_turn, _cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let source = write_module(dir.path(), "upper.wasm", UPPER);
    let shared = tempfile::tempdir().unwrap();
    let shared_url = format!("file://{}/", shared.path().display());

    let module = prepare(
        &source,
        &StorageOptions::default(),
        Some(&shared_url),
        false,
    )
    .unwrap();
    let published = shared.path().join("wasm");
    assert_eq!(
        module.source,
        format!("file://{}/{}.wasm", published.display(), module.sha256)
    );
    assert_eq!(
        std::fs::read(published.join(format!("{}.wasm", module.sha256))).unwrap(),
        UPPER.as_bytes()
    );
    let compiled = cwasm_files(&published);
    assert_eq!(compiled.len(), 1, "{compiled:?}");

    // A worker with nothing cached: memory and disk empty.
    let worker_cache = tempfile::tempdir().unwrap();
    use_cache_dir(worker_cache.path());
    clear_memory_cache();
    let before = compilations_on_this_thread();
    assert_eq!(
        run(&WasmSpec::new(module.clone()), b"shared").unwrap(),
        b"SHARED"
    );
    assert_eq!(
        compilations_on_this_thread(),
        before,
        "compiled instead of loading"
    );
    assert_eq!(cwasm_files(worker_cache.path()), compiled);

    // Publishing again leaves what is there.
    let stamp = std::fs::metadata(published.join(&compiled[0]))
        .unwrap()
        .modified()
        .unwrap();
    prepare(
        &source,
        &StorageOptions::default(),
        Some(&shared_url),
        false,
    )
    .unwrap();
    let restamp = std::fs::metadata(published.join(&compiled[0]))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(stamp, restamp);
}

#[test]
fn without_any_artifact_a_task_compiles_from_the_source() {
    let (_turn, _cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let source = write_module(dir.path(), "upper.wasm", UPPER);
    let module = prepare(&source, &StorageOptions::default(), None, false).unwrap();

    let worker_cache = tempfile::tempdir().unwrap();
    use_cache_dir(worker_cache.path());
    clear_memory_cache();
    let before = compilations_on_this_thread();
    assert_eq!(run(&WasmSpec::new(module), b"src").unwrap(), b"SRC");
    assert_eq!(compilations_on_this_thread(), before + 1);
}

#[test]
fn a_malformed_module_fails_prepare_naming_the_file() {
    let (_turn, _cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("broken.wasm");
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend_from_slice(&[0xff; 16]);
    std::fs::write(&source, bytes).unwrap();
    let error = prepare(
        source.to_str().unwrap(),
        &StorageOptions::default(),
        None,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("broken.wasm ("), "{error}");
    assert!(error.contains(source.to_str().unwrap()), "{error}");
    assert!(
        error.contains("is not a valid WebAssembly module"),
        "{error}"
    );

    let text = write_module(dir.path(), "text.wasm", "this is not a module");
    let error = prepare(&text, &StorageOptions::default(), None, false)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("text.wasm (") && error.contains("not a valid"),
        "{error}"
    );
}

#[test]
fn a_missing_module_fails_naming_the_path() {
    let (_turn, _cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere/missing.wasm");
    let error = prepare(
        missing.to_str().unwrap(),
        &StorageOptions::default(),
        None,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains(missing.to_str().unwrap()), "{error}");
    assert!(
        error.starts_with("cannot read the WebAssembly module"),
        "{error}"
    );

    // The same from a task whose module went away after it was prepared.
    let module = ModuleRef {
        sha256: "ab".repeat(32),
        name: "missing.wasm".to_owned(),
        source: format!("file://{}", missing.display()),
    };
    let error = run(&WasmSpec::new(module), b"").unwrap_err();
    assert!(error.contains(missing.to_str().unwrap()), "{error}");
}

#[test]
fn a_module_changed_after_it_was_prepared_fails_its_hash_check() {
    let (_turn, _cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let source = write_module(dir.path(), "upper.wasm", UPPER);
    let module = ModuleRef {
        sha256: "0".repeat(64),
        name: "upper.wasm".to_owned(),
        source: format!("file://{source}"),
    };
    let error = run(&WasmSpec::new(module), b"").unwrap_err();
    assert!(error.contains("upper.wasm (000000000000)"), "{error}");
    assert!(error.contains("not the prepared one"), "{error}");
    assert!(error.contains("prepare it again"), "{error}");
}

#[test]
fn fuel_metering_compiles_a_separate_artifact() {
    let (_turn, cache) = fresh_caches();
    let dir = tempfile::tempdir().unwrap();
    let source = write_module(dir.path(), "upper.wasm", UPPER);
    let plain = prepare(&source, &StorageOptions::default(), None, false).unwrap();
    let metered = prepare(&source, &StorageOptions::default(), None, true).unwrap();
    assert_eq!(plain, metered);
    assert_eq!(cwasm_files(cache.path()).len(), 2);
}
