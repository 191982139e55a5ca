//! Where compiled modules come from, fastest first: this process's memory,
//! the local disk, the storage next to the module's source, and last a
//! compilation of the source, whose hash is checked first.
//!
//! A compiled artifact is named `{sha256}-{compat}.cwasm`, where `compat`
//! digests the engine's compatibility hash: an artifact only ever loads
//! into an engine that could have written it.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use cloudbutton_storage::{Location, Selector, Storage, StorageError, StorageOptions, block_on};
use sha2::{Digest, Sha256};
use wasmtime::Module;

use crate::engine::{self, WasmEngine};
use crate::error::WasmError;
use crate::module::LoadedModule;
use crate::spec::ModuleRef;

/// The environment variable that moves the disk cache.
pub const CACHE_DIR_VAR: &str = "CLOUDBUTTON_WASM_CACHE";

/// The disk cache's directory, when set by [`use_cache_dir`].
static CACHE_DIR: RwLock<Option<PathBuf>> = RwLock::new(None);

thread_local! {
    static COMPILATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The modules one engine has loaded, by SHA-256. Each has its own slot,
/// so that tasks needing the same module wait for one load rather than
/// each compiling it.
#[derive(Default)]
pub(crate) struct ModuleCache {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

type Slot = Mutex<Option<Arc<LoadedModule>>>;

impl ModuleCache {
    fn get_or_load(
        &self,
        sha256: &str,
        load: impl FnOnce() -> Result<LoadedModule, WasmError>,
    ) -> Result<Arc<LoadedModule>, WasmError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            match slots.get(sha256) {
                Some(slot) => slot.clone(),
                None => slots.entry(sha256.to_owned()).or_default().clone(),
            }
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(loaded) = &*slot {
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(load()?);
        *slot = Some(loaded.clone());
        Ok(loaded)
    }

    fn clear(&self) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The module of a task, from the fastest place that has it.
pub(crate) fn load(
    engine: &WasmEngine,
    module: &ModuleRef,
    storage: &StorageOptions,
) -> Result<Arc<LoadedModule>, WasmError> {
    engine.modules.get_or_load(&module.sha256, || {
        let label = module.to_string();
        let file = artifact_name(&module.sha256, &engine.compat);
        let compiled = match from_disk(engine, &file) {
            Some(compiled) => compiled,
            None => match from_storage(engine, module, &file, storage) {
                Some(compiled) => compiled,
                None => {
                    let bytes = read(&module.source, storage).map_err(|error| WasmError::Read {
                        location: module.source.clone(),
                        cause: error.to_string(),
                    })?;
                    let actual = sha256_hex(&bytes);
                    if actual != module.sha256 {
                        return Err(WasmError::HashMismatch {
                            module: label,
                            location: module.source.clone(),
                            actual,
                        });
                    }
                    compile(engine, &bytes, &label, &module.source, &file)?
                }
            },
        };
        LoadedModule::new(engine, compiled, &label)
    })
}

/// The module whose bytes the driver holds: from memory or disk if
/// compiled before, else compiled now (which validates it).
pub(crate) fn load_bytes(
    engine: &WasmEngine,
    module: &ModuleRef,
    bytes: &[u8],
    location: &str,
) -> Result<Arc<LoadedModule>, WasmError> {
    engine.modules.get_or_load(&module.sha256, || {
        let label = module.to_string();
        let file = artifact_name(&module.sha256, &engine.compat);
        let compiled = match from_disk(engine, &file) {
            Some(compiled) => compiled,
            None => compile(engine, bytes, &label, location, &file)?,
        };
        LoadedModule::new(engine, compiled, &label)
    })
}

/// The bytes of the compiled artifact of a loaded module: the disk cache's
/// file if there is one, else a fresh serialization.
pub(crate) fn artifact(
    engine: &WasmEngine,
    module: &ModuleRef,
    loaded: &LoadedModule,
) -> Result<Vec<u8>, String> {
    let path = cache_dir().join(artifact_name(&module.sha256, &engine.compat));
    if let Ok(bytes) = std::fs::read(path) {
        return Ok(bytes);
    }
    loaded
        .module
        .serialize()
        .map_err(|error| format!("cannot serialize the compiled module: {error:#}"))
}

/// `{sha256}-{compat}.cwasm`.
pub(crate) fn artifact_name(sha256: &str, compat: &str) -> String {
    format!("{sha256}-{compat}.cwasm")
}

/// Compiles `bytes`, counts it, and leaves the artifact on disk.
fn compile(
    engine: &WasmEngine,
    bytes: &[u8],
    label: &str,
    location: &str,
    file: &str,
) -> Result<Module, WasmError> {
    COMPILATIONS.with(|count| count.set(count.get() + 1));
    let started = std::time::Instant::now();
    let module = Module::new(&engine.engine, bytes).map_err(|error| WasmError::Invalid {
        module: label.to_owned(),
        location: location.to_owned(),
        reason: format!("{error:#}"),
    })?;
    tracing::debug!(module = label, elapsed = ?started.elapsed(), "compiled");

    match module.serialize() {
        Ok(artifact) => {
            if let Err(error) = write_atomically(&cache_dir().join(file), &artifact) {
                tracing::warn!(module = label, %error, "cannot cache the compiled module on disk");
            }
        }
        Err(error) => {
            tracing::warn!(module = label, error = %format!("{error:#}"), "cannot serialize the compiled module")
        }
    }
    Ok(module)
}

/// The artifact from the disk cache, if it is there and loads.
fn from_disk(engine: &WasmEngine, file: &str) -> Option<Module> {
    let path = cache_dir().join(file);
    if !path.is_file() {
        return None;
    }
    match deserialize_file(engine, &path) {
        Ok(module) => Some(module),
        Err(error) => {
            tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "ignoring an unloadable cached module");
            None
        }
    }
}

/// The artifact from beside the module's source in storage, if it is
/// there; it is also copied to the disk cache.
fn from_storage(
    engine: &WasmEngine,
    module: &ModuleRef,
    file: &str,
    storage: &StorageOptions,
) -> Option<Module> {
    let url = sibling(&module.source, file)?;
    let artifact = match read(&url, storage) {
        Ok(artifact) => artifact,
        Err(StorageError::NotFound { .. }) => return None,
        Err(error) => {
            tracing::debug!(%url, %error, "no precompiled module in storage");
            return None;
        }
    };
    let path = cache_dir().join(file);
    let loaded = match write_atomically(&path, &artifact) {
        Ok(()) => deserialize_file(engine, &path),
        Err(error) => {
            tracing::warn!(%error, "cannot cache the precompiled module on disk");
            deserialize_bytes(engine, &artifact)
        }
    };
    match loaded {
        Ok(module) => {
            tracing::debug!(%url, "loaded a precompiled module from storage");
            Some(module)
        }
        Err(error) => {
            tracing::warn!(%url, error = %format!("{error:#}"), "ignoring an unloadable precompiled module");
            None
        }
    }
}

#[allow(unsafe_code)]
fn deserialize_file(engine: &WasmEngine, path: &Path) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize_file` trusts the file to be wasmtime's
    // own output, as it maps and runs its code. This file is in our own
    // cache, written only by `compile` or `from_storage` through a
    // temporary file and a rename, under a name keyed by this engine's
    // compatibility hash (and wasmtime checks its version and settings
    // again). Artifacts copied from storage come from the operator's own
    // shared storage, written there by `prepare`: whoever can write there
    // can already choose the code that workers run.
    unsafe { Module::deserialize_file(&engine.engine, path) }
}

#[allow(unsafe_code)]
fn deserialize_bytes(engine: &WasmEngine, artifact: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: as in `deserialize_file`: the bytes come from the operator's
    // own shared storage, where `prepare` wrote this engine's artifact.
    unsafe { Module::deserialize(&engine.engine, artifact) }
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so that no reader ever sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// The disk cache: [`use_cache_dir`], else `$CLOUDBUTTON_WASM_CACHE`, else
/// the user's cache directory.
fn cache_dir() -> PathBuf {
    if let Some(dir) = &*CACHE_DIR.read().unwrap_or_else(PoisonError::into_inner) {
        return dir.clone();
    }
    if let Some(dir) = std::env::var_os(CACHE_DIR_VAR).filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("cloudbutton")
        .join("wasm")
}

/// Puts the disk cache in `dir` from now on.
pub fn use_cache_dir(dir: impl Into<PathBuf>) {
    *CACHE_DIR.write().unwrap_or_else(PoisonError::into_inner) = Some(dir.into());
}

/// Forgets every module loaded in this process, so that the next task
/// loads from the disk cache or beyond.
pub fn clear_memory_cache() {
    for engine in engine::engines() {
        engine.modules.clear();
    }
}

/// How many modules this thread has compiled.
pub fn compilations_on_this_thread() -> u64 {
    COMPILATIONS.with(Cell::get)
}

/// The whole object at `location` (a local path or a storage URL).
pub(crate) fn read(location: &str, options: &StorageOptions) -> Result<Vec<u8>, StorageError> {
    let (storage, key) = object(location, options)?;
    block_on(async {
        let size = storage.head(&key).await?.size;
        storage.get_range(&key, 0..size).await
    })
    .map(|bytes| bytes.to_vec())
}

/// Writes `bytes` at `location` unless an object is there already.
/// Returns whether it wrote.
pub(crate) fn put_if_absent(
    location: &str,
    options: &StorageOptions,
    bytes: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<bool, String> {
    let (storage, key) = object(location, options).map_err(|error| error.to_string())?;
    match block_on(storage.head(&key)) {
        Ok(_) => return Ok(false),
        Err(StorageError::NotFound { .. }) => {}
        Err(error) => return Err(error.to_string()),
    }
    let bytes = Bytes::from(bytes()?);
    block_on(storage.put(&key, bytes)).map_err(|error| error.to_string())?;
    Ok(true)
}

/// The full URL of the object at `location`, such as `file:///a/b.wasm`
/// for the local path `b.wasm`.
pub(crate) fn object_url(location: &str, options: &StorageOptions) -> Result<String, StorageError> {
    let (storage, key) = object(location, options)?;
    Ok(storage.url(&key))
}

fn object(location: &str, options: &StorageOptions) -> Result<(Storage, String), StorageError> {
    let parsed = Location::parse(location)?;
    let Selector::Object(key) = parsed.selector() else {
        return Err(StorageError::invalid(
            location,
            "a module is one object, not a directory, prefix or glob",
        ));
    };
    let storage = Storage::connect(parsed.store_url(), options)?;
    Ok((storage, key.clone()))
}

/// The URL of `file` in the same directory as `source`.
fn sibling(source: &str, file: &str) -> Option<String> {
    let (dir, _) = source.rsplit_once('/')?;
    Some(format!("{dir}/{file}"))
}

/// SHA-256 in lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_sit_beside_their_source() {
        assert_eq!(
            sibling("s3://bucket/cb/wasm/abc.wasm", "abc-01.cwasm").as_deref(),
            Some("s3://bucket/cb/wasm/abc-01.cwasm")
        );
        assert_eq!(
            sibling("file:///tmp/x.wasm", "y.cwasm").as_deref(),
            Some("file:///tmp/y.cwasm")
        );
        assert_eq!(sibling("x.wasm", "y.cwasm"), None);
    }

    #[test]
    fn hashes_are_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn atomic_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.cwasm");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
