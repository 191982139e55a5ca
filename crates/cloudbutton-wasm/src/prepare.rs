//! The driver's side: read a module, hash it, compile it once, and publish
//! it where workers will look.

use cloudbutton_storage::StorageOptions;

use crate::cache;
use crate::engine;
use crate::error::WasmError;
use crate::spec::ModuleRef;

/// Makes the module at `source` (a local path or a storage URL) ready to
/// run: reads it, hashes it (SHA-256), validates and compiles it for the
/// engine with (`fuel`) or without fuel metering, and caches the compiled
/// artifact on disk. A malformed module fails here, naming the file.
///
/// With `shared` (the storage shared with cluster workers, such as
/// `file:///tmp/shared/` or `s3://bucket/cb/`), it also uploads
/// `{shared}wasm/{sha}.wasm` and the compiled `{shared}wasm/{sha}-{compat}.cwasm`
/// unless they are there already, and the returned [`ModuleRef`] points at
/// the shared `.wasm`, so that workers load the compiled artifact rather
/// than compile.
///
/// ```no_run
/// use cloudbutton_storage::StorageOptions;
///
/// let module = cloudbutton_wasm::prepare("wordcount.wasm", &StorageOptions::default(), None, false)?;
/// println!("{module}");
/// # Ok::<(), cloudbutton_wasm::WasmError>(())
/// ```
pub fn prepare(
    source: &str,
    storage: &StorageOptions,
    shared: Option<&str>,
    fuel: bool,
) -> Result<ModuleRef, WasmError> {
    let read_error = |cause: String| WasmError::Read {
        location: source.to_owned(),
        cause,
    };
    let url = cache::object_url(source, storage).map_err(|error| read_error(error.to_string()))?;
    let bytes = cache::read(source, storage).map_err(|error| read_error(error.to_string()))?;
    let name = url.rsplit('/').next().unwrap_or(&url).to_owned();
    let mut module = ModuleRef {
        sha256: cache::sha256_hex(&bytes),
        name,
        source: url,
    };

    let engine = engine::engine(fuel).map_err(WasmError::Engine)?;
    let loaded = cache::load_bytes(engine, &module, &bytes, &module.source)?;

    if let Some(shared) = shared {
        let root = shared.trim_end_matches('/');
        let wasm = format!("{root}/wasm/{}.wasm", module.sha256);
        let compiled = format!(
            "{root}/wasm/{}",
            cache::artifact_name(&module.sha256, &engine.compat)
        );
        let publish_error = |url: &str, cause: String| WasmError::Publish {
            module: module.to_string(),
            url: url.to_owned(),
            cause,
        };
        if cache::put_if_absent(&wasm, storage, || Ok(bytes.clone()))
            .map_err(|cause| publish_error(&wasm, cause))?
        {
            tracing::debug!(%module, url = %wasm, "published the module");
        }
        if cache::put_if_absent(&compiled, storage, || {
            cache::artifact(engine, &module, &loaded)
        })
        .map_err(|cause| publish_error(&compiled, cause))?
        {
            tracing::debug!(%module, url = %compiled, "published the compiled module");
        }
        module.source = cache::object_url(&wasm, storage)
            .map_err(|error| publish_error(&wasm, error.to_string()))?;
    }
    Ok(module)
}
