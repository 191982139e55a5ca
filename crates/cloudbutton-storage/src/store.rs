//! [`Storage`]: listing, reading and deleting the objects of one store.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};
use serde::{Deserialize, Serialize};

use crate::location::{LOCAL_STORE_URL, glob_literal_prefix, glob_matcher, object_url, prefix_url};
use crate::{Selector, StorageError, StorageOptions, connect, local};

/// One object found in a store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// URL of the store holding the object, as in [`Storage::store_url`].
    pub store_url: String,
    /// Key of the object in its store.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

impl ObjectInfo {
    /// Full URL of the object: `file:///data/a b.txt` (the real path, not
    /// percent-encoded), `s3://bucket/key`.
    pub fn url(&self) -> String {
        object_url(&self.store_url, &self.key)
    }
}

/// A connection to one store: the local filesystem (`file:///`), an S3 bucket
/// (`s3://bucket`) or a named in-memory store (`memory://name`).
///
/// Cloning is cheap and clones share the connection.
///
/// # Listing
///
/// Listing a prefix lists every object below it, on every store: names
/// starting with `.` (`.yamllint`, `.git/config`) are objects like any other,
/// as in an S3 listing. A glob selects by its pattern alone, and its `*`, `?`
/// and `[...]` match a leading `.` too: `data/*` selects `data/.env`. To leave
/// such names out, say so in the pattern, as in `data/[!.]*`.
///
/// # Local files
///
/// Keys are absolute paths without their leading `/`. Symlinks are followed and
/// keep the name they are reached by; broken symlinks are skipped when
/// listing. Files whose name ends in `#` and digits are the staging files of
/// unfinished uploads and are never listed. A name holding a control character
/// (a tab, a newline) cannot be an object key: listing a directory that holds
/// one fails, naming it. Only regular files are objects: listings skip named
/// pipes, sockets and devices, and [`Storage::head`] on one fails with
/// [`StorageError::NotAFile`] rather than wait on it.
#[derive(Clone)]
pub struct Storage {
    store_url: Arc<str>,
    store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("store_url", &self.store_url)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Connects to the store at `store_url` (`file:///`, `s3://bucket`,
    /// `memory://name`), usually [`crate::Location::store_url`].
    ///
    /// No request is made: a wrong bucket or bad credentials surface on the
    /// first operation. Stores are built once per process for each URL and
    /// options, so connecting again is cheap.
    pub fn connect(store_url: &str, options: &StorageOptions) -> Result<Storage, StorageError> {
        let (store_url, store) = connect::connect(store_url, options)?;
        Ok(Storage {
            store_url: store_url.into(),
            store,
        })
    }

    /// URL of the store, as accepted by [`Storage::connect`].
    pub fn store_url(&self) -> &str {
        &self.store_url
    }

    /// Full URL of the object `key` in this store.
    pub fn url(&self, key: &str) -> String {
        object_url(&self.store_url, key)
    }

    /// The objects selected by `selector`, sorted by key.
    ///
    /// An [`Selector::Object`] that does not exist falls back to the objects
    /// below `key/`, as if it named a directory; if there are none either,
    /// the result is [`StorageError::NotFound`]. A prefix or a glob that
    /// matches nothing gives an empty list.
    pub async fn list(&self, selector: &Selector) -> Result<Vec<ObjectInfo>, StorageError> {
        let mut objects = match selector {
            Selector::Object(key) => match self.head(key).await {
                Ok(object) => vec![object],
                Err(StorageError::NotFound { url }) => {
                    let below = self.list_below(key, |_| true).await?;
                    if below.is_empty() {
                        return Err(StorageError::NotFound { url });
                    }
                    below
                }
                Err(error) => return Err(error),
            },
            Selector::Prefix(prefix) => self.list_below(prefix, |_| true).await?,
            Selector::Glob(pattern) => {
                let matcher = glob_matcher(pattern).map_err(|error| {
                    StorageError::invalid(&self.url(pattern), format!("bad glob pattern: {error}"))
                })?;
                let prefix = glob_literal_prefix(pattern);
                self.list_below(&prefix, |key| matcher.is_match(key))
                    .await?
            }
        };
        objects.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// Size and key of one object.
    ///
    /// On the local store, a path that is neither a regular file nor a
    /// directory fails with [`StorageError::NotAFile`]: opening a named pipe
    /// would wait for a writer that may never come.
    pub async fn head(&self, key: &str) -> Result<ObjectInfo, StorageError> {
        let path = self.path(key)?;
        if self.is_local() {
            local::refuse_special_file(&self.url(key), key).await?;
        }
        let meta = self
            .store
            .head(&path)
            .await
            .map_err(|error| self.error(key, error))?;
        Ok(self.info(key.to_string(), meta.size))
    }

    /// The bytes of `range` in one object; the range must lie within it. An
    /// empty range returns no bytes without a request.
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        let path = self.path(key)?;
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        tracing::trace!(url = %self.url(key), ?range, "ranged get");
        self.store
            .get_range(&path, range)
            .await
            .map_err(|error| self.error(key, error))
    }

    /// A stream of the bytes of one object, or of `range` in it, delivered in
    /// pieces as they arrive.
    pub async fn get_stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, StorageError>>, StorageError> {
        let path = self.path(key)?;
        if range.as_ref().is_some_and(Range::is_empty) {
            return Ok(stream::empty().boxed());
        }
        tracing::trace!(url = %self.url(key), ?range, "streaming get");
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&path, options)
            .await
            .map_err(|error| self.error(key, error))?;

        let url = self.url(key);
        Ok(result
            .into_stream()
            .map_err(move |error| StorageError::from_store(url.clone(), error))
            .boxed())
    }

    /// Deletes one object. Deleting an object that does not exist succeeds,
    /// on every store.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        tracing::trace!(url = %self.url(key), "delete");
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.error(key, error)),
        }
    }

    /// The objects below `prefix` whose key passes `keep`.
    async fn list_below(
        &self,
        prefix: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<ObjectInfo>, StorageError> {
        let path = self.path(prefix)?;
        let list_error =
            |error| StorageError::from_store(prefix_url(&self.store_url, prefix), error);
        tracing::debug!(prefix = %prefix_url(&self.store_url, prefix), "listing");

        let mut listing = self.store.list((!prefix.is_empty()).then_some(&path));
        let mut objects = Vec::new();
        while let Some(meta) = listing.try_next().await.map_err(list_error)? {
            let key = meta.location.as_ref();
            if keep(key) {
                objects.push(self.info(key.to_string(), meta.size));
            }
        }
        Ok(objects)
    }

    /// The object-store path of `key`, refusing keys no store can hold.
    pub(crate) fn path(&self, key: &str) -> Result<Path, StorageError> {
        Path::parse(key).map_err(|error| {
            StorageError::invalid(&self.url(key), format!("not a valid object key: {error}"))
        })
    }

    /// Classifies an error of the store on the object `key`.
    pub(crate) fn error(&self, key: &str, error: object_store::Error) -> StorageError {
        StorageError::from_store(self.url(key), error)
    }

    /// The store behind this connection.
    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Whether this is the local filesystem store.
    fn is_local(&self) -> bool {
        &*self.store_url == LOCAL_STORE_URL
    }

    fn info(&self, key: String, size: u64) -> ObjectInfo {
        ObjectInfo {
            store_url: self.store_url.to_string(),
            key,
            size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_urls() {
        let local = ObjectInfo {
            store_url: "file:///".into(),
            key: "tmp/a b ü.txt".into(),
            size: 1,
        };
        assert_eq!(local.url(), "file:///tmp/a b ü.txt");
        let s3 = ObjectInfo {
            store_url: "s3://bucket".into(),
            key: "logs/a.gz".into(),
            size: 1,
        };
        assert_eq!(s3.url(), "s3://bucket/logs/a.gz");
    }
}
