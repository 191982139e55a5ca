//! Helpers shared by the integration tests.

// Every test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use bytes::Bytes;
use cloudbutton_executor::{Chunk, Config, Function, FunctionExecutor, ObjectInput, ProgressMode};
use cloudbutton_storage::{Storage, StorageOptions, block_on};
use tempfile::TempDir;

/// The configuration of a quiet executor with `workers` local threads.
pub fn config(workers: usize) -> Config {
    let mut config = Config::default();
    config.executor.workers = Some(workers);
    config.executor.progress = ProgressMode::Never;
    config
}

/// A quiet executor with `workers` local threads.
pub fn executor(workers: usize) -> FunctionExecutor {
    FunctionExecutor::with_config(config(workers)).unwrap()
}

/// Writes `objects` to the in-memory store `memory://name` and returns its URL.
pub fn memory_store(name: &str, objects: &[(&str, &[u8])]) -> String {
    let url = format!("memory://{name}");
    let storage = Storage::connect(&url, &StorageOptions::default()).unwrap();
    for (key, data) in objects {
        block_on(storage.put(key, Bytes::copy_from_slice(data))).unwrap();
    }
    url
}

/// A fresh directory holding `files`, which may sit in subdirectories. Its
/// name is not hidden, so a dotfile test sees only the files it wrote.
pub fn local_dir(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("cloudbutton-test-")
        .tempdir()
        .unwrap();
    for (name, data) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    dir
}

/// The path of `name` inside `dir`, as an input location.
pub fn path_of(dir: &TempDir, name: &str) -> String {
    dir.path().join(name).to_str().unwrap().to_owned()
}

/// Runs `function` over `input` and concatenates the tasks' results in task
/// order.
pub fn gather<T>(
    executor: &FunctionExecutor,
    function: &Function<Chunk, Vec<T>>,
    input: ObjectInput,
) -> Vec<T>
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let job = executor.map(function, input).unwrap();
    job.get_result().unwrap().into_iter().flatten().collect()
}
