//! The storage that a driver and its workers share: where programs are
//! published and where large results are left.
//!
//! ```text
//! ROOT/programs/SHA256        executables, by content hash
//! ROOT/inputs/JOB/INDEX       inputs too large for Redis
//! ROOT/results/JOB/INDEX-A    outputs too large for Redis, per attempt A
//! ```

use std::fmt;

use bytes::Bytes;
use cloudbutton_storage::{Location, Selector, Storage, StorageError, StorageOptions, block_on};

/// A root in object storage (a prefix of one store) that drivers and
/// workers agree on, such as `s3://bucket/cloudbutton/` or a directory on a
/// shared filesystem.
#[derive(Clone)]
pub struct SharedStore {
    storage: Storage,
    /// The root's key prefix, empty or ending in `/`.
    prefix: String,
}

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url(""))
    }
}

impl SharedStore {
    /// Opens the root at `url`: a directory, a `file://` URL or an
    /// `s3://bucket/prefix/`. `memory://` is refused: it lives in one
    /// process and cannot be shared.
    pub fn open(url: &str, options: &StorageOptions) -> Result<SharedStore, StorageError> {
        let location = Location::parse(url)?;
        if location.store_url().starts_with("memory://") {
            return Err(StorageError::invalid(
                url,
                "memory:// lives in one process; workers need a store they can reach too, \
                 such as a shared directory or s3://bucket/prefix/",
            ));
        }
        let prefix = match location.selector() {
            Selector::Object(key) | Selector::Prefix(key) => key.trim_end_matches('/'),
            Selector::Glob(_) => {
                return Err(StorageError::invalid(
                    url,
                    "the shared storage is one prefix, not a glob",
                ));
            }
        };
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let storage = Storage::connect(location.store_url(), options)?;
        Ok(SharedStore { storage, prefix })
    }

    /// The full URL of `key`, relative to the root.
    pub fn url(&self, key: &str) -> String {
        self.storage.url(&format!("{}{key}", self.prefix))
    }

    /// The store key of `key`, relative to the root.
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Writes `data` under `key`.
    pub fn put(&self, key: &str, data: Vec<u8>) -> Result<(), StorageError> {
        block_on(self.storage.put(&self.key(key), Bytes::from(data)))
    }

    /// Uploads a local file under `key`.
    pub fn put_file(&self, key: &str, file: &std::path::Path) -> Result<u64, StorageError> {
        block_on(self.storage.put_file(&self.key(key), file))
    }

    /// Reads the whole object `key`.
    pub fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let key = self.key(key);
        block_on(async {
            let size = self.storage.head(&key).await?.size;
            self.storage.get_range(&key, 0..size).await
        })
        .map(|bytes| bytes.to_vec())
    }

    /// The size of `key`, or `None` if it does not exist.
    pub fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match block_on(self.storage.head(&self.key(key))) {
            Ok(info) => Ok(Some(info.size)),
            Err(StorageError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Deletes `key`; deleting a missing object is not an error.
    pub fn delete(&self, key: &str) -> Result<(), StorageError> {
        match block_on(self.storage.delete(&self.key(key))) {
            Err(StorageError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Deletes every object below `prefix`, relative to the root.
    pub fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        let selector = Selector::Prefix(self.key(prefix));
        block_on(async {
            for object in self.storage.list(&selector).await? {
                match self.storage.delete(&object.key).await {
                    Ok(()) | Err(StorageError::NotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(())
        })
    }
}

/// The key of a published program.
pub fn program_key(hash: &str) -> String {
    format!("programs/{hash}")
}

/// The key of a stored input.
pub fn input_key(job: &str, index: u32) -> String {
    format!("inputs/{job}/{index}")
}

/// The prefix of a job's stored inputs.
pub fn inputs_prefix(job: &str) -> String {
    format!("inputs/{job}/")
}

/// The key of a stored result.
pub fn result_key(job: &str, index: u32, attempt: u32) -> String {
    format!("results/{job}/{index}-{attempt}")
}

/// The prefix of a job's stored results.
pub fn results_prefix(job: &str) -> String {
    format!("results/{job}/")
}
