//! Programs travel to workers through the shared storage, named by the
//! SHA-256 of their bytes: a driver publishes its own executable once, and
//! a worker downloads each program once, checks its hash, and keeps it in a
//! local cache.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::shared_store::{SharedStore, program_key};
use crate::wire::ProgramRef;

/// The SHA-256 of a file, in lowercase hex.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// This process's executable and its hash, computed once.
pub fn current_program() -> Result<&'static (PathBuf, String), String> {
    static PROGRAM: OnceLock<Result<(PathBuf, String), String>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let path = std::env::current_exe()
                .map_err(|error| format!("cannot find this program's executable: {error}"))?;
            let hash = hash_file(&path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            Ok((path, hash))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Publishes this process's executable to `store`, unless it is there
/// already, and returns how workers should start it.
pub fn publish_current(store: &SharedStore) -> Result<ProgramRef, String> {
    let (path, hash) = current_program()?;
    let key = program_key(hash);
    let size = fs::metadata(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?
        .len();
    let published = store
        .size(&key)
        .map_err(|error| format!("cannot publish this program: {error}"))?;
    if published != Some(size) {
        tracing::debug!(program = %path.display(), to = %store.url(&key), "publishing the program");
        store
            .put_file(&key, path)
            .map_err(|error| format!("cannot publish this program: {error}"))?;
    }
    let name = path
        .file_name()
        .map_or_else(|| hash.clone(), |name| name.to_string_lossy().into_owned());
    Ok(ProgramRef {
        hash: hash.clone(),
        name,
        args: std::env::args().skip(1).collect(),
    })
}

/// Programs downloaded from the shared storage, kept in a local directory.
#[derive(Debug)]
pub struct ProgramCache {
    dir: PathBuf,
    store: SharedStore,
    /// One download at a time: a second task of the same program waits for
    /// the first download rather than start its own.
    downloading: Mutex<()>,
}

impl ProgramCache {
    /// A cache in `dir`, filled from `store`.
    pub fn new(dir: PathBuf, store: SharedStore) -> ProgramCache {
        ProgramCache {
            dir,
            store,
            downloading: Mutex::new(()),
        }
    }

    /// The default cache directory: `~/.cache/cloudbutton/programs`.
    pub fn default_dir() -> PathBuf {
        dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("cloudbutton")
            .join("programs")
    }

    /// The local path of the program `hash`, downloading it if needed.
    pub fn fetch(&self, hash: &str) -> Result<PathBuf, String> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{hash}` is not a program hash"));
        }
        let path = self.dir.join(hash);
        if path.exists() {
            return Ok(path);
        }
        let _one_at_a_time = self.downloading.lock().unwrap();
        if path.exists() {
            return Ok(path);
        }
        let key = program_key(hash);
        let url = self.store.url(&key);
        let bytes = self
            .store
            .get(&key)
            .map_err(|error| format!("cannot fetch program {url}: {error}"))?;
        let actual = hex(&Sha256::digest(&bytes));
        if actual != hash {
            return Err(format!(
                "program {url} does not match its name: its SHA-256 is {actual}; refusing to run it"
            ));
        }
        fs::create_dir_all(&self.dir)
            .map_err(|error| format!("cannot create {}: {error}", self.dir.display()))?;
        let cannot_write =
            |error: io::Error| format!("cannot write to {}: {error}", self.dir.display());
        let mut staging = tempfile::NamedTempFile::new_in(&self.dir).map_err(cannot_write)?;
        staging
            .write_all(&bytes)
            .and_then(|()| {
                staging
                    .as_file()
                    .set_permissions(fs::Permissions::from_mode(0o755))
            })
            .map_err(cannot_write)?;
        // Close the file before it takes its name: a program cannot start
        // while any process holds it open for writing.
        staging
            .into_temp_path()
            .persist(&path)
            .map_err(|error| format!("cannot write {}: {}", path.display(), error.error))?;
        tracing::info!(program = hash, from = %url, "program downloaded");
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"abc").unwrap();
        assert_eq!(
            hash_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_program_is_fetched_once_and_checked() {
        let root = tempfile::tempdir().unwrap();
        let store = SharedStore::open(root.path().to_str().unwrap(), &Default::default()).unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = ProgramCache::new(cache_dir.path().to_owned(), store.clone());

        let body = b"#!/bin/sh\necho hi\n".to_vec();
        let hash = hex(&Sha256::digest(&body));
        store.put(&program_key(&hash), body.clone()).unwrap();
        let path = cache.fetch(&hash).unwrap();
        assert_eq!(fs::read(&path).unwrap(), body);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o755
        );

        // A program whose bytes do not match its name is refused.
        let forged = "0".repeat(64);
        store.put(&program_key(&forged), body).unwrap();
        let error = cache.fetch(&forged).unwrap_err();
        assert!(error.contains("does not match"), "{error}");
        assert!(!cache_dir.path().join(&forged).exists());

        let error = cache.fetch(&"1".repeat(64)).unwrap_err();
        assert!(error.contains("cannot fetch program"), "{error}");
        assert!(
            cache
                .fetch("../etc")
                .unwrap_err()
                .contains("not a program hash")
        );
    }
}
