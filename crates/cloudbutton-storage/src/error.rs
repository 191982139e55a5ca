//! The error type of every storage operation.

use std::error::Error as _;
use std::io;

/// What went wrong in a storage operation, and on which object.
///
/// Every message names the full URL of the object or store involved, the
/// innermost cause reported by the store if there is one, and what to do
/// about it; the whole cause chain stays available through
/// [`std::error::Error::source`].
/// Credentials never appear in a message: they are not part of any URL this
/// crate builds.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("no object at {url}: check the path, or list its parent to see what is there")]
    NotFound {
        /// Full URL of the missing object.
        url: String,
    },

    /// The user-supplied location could not be understood.
    #[error("invalid location `{input}`: {reason}")]
    InvalidUrl {
        /// The location exactly as given.
        input: String,
        /// Why it was rejected, and what would be accepted.
        reason: String,
    },

    /// The store refused access to the object.
    #[error(
        "permission denied on {url} ({}): check the access rights, and for s3:// the credentials \
         ([storage.s3] in cloudbutton.toml or the AWS_* environment variables)",
        short_cause(source)
    )]
    PermissionDenied {
        /// Full URL of the object or prefix.
        url: String,
        /// The error reported by the store.
        source: object_store::Error,
    },

    /// A local path names something that exists but holds no data to read:
    /// a named pipe, a socket, a device.
    #[error(
        "cannot read {url}: it is a {kind}, not a regular file; name a regular file or a \
         directory of them"
    )]
    NotAFile {
        /// Full URL of the path.
        url: String,
        /// What it is instead, e.g. `named pipe (FIFO)`.
        kind: &'static str,
    },

    /// The data to upload (a local file, a reader) could not be read.
    #[error("cannot read {what}: {source}")]
    Unreadable {
        /// What was being read, e.g. `local file /data/a.txt`.
        what: String,
        /// The I/O error.
        source: io::Error,
    },

    /// Any other failure reported by the store.
    #[error("storage operation on {url} failed: {}", short_cause(source))]
    Other {
        /// Full URL of the object or prefix.
        url: String,
        /// The error reported by the store.
        source: object_store::Error,
    },
}

impl StorageError {
    /// Classifies an `object_store` error on the object at `url`.
    pub(crate) fn from_store(url: String, source: object_store::Error) -> StorageError {
        match source {
            // S3 answers a write into a bucket that does not exist with a 404,
            // which is no missing object: keep its `NoSuchBucket` in view.
            object_store::Error::NotFound { .. } if cause_mentions(&source, "NoSuchBucket") => {
                StorageError::Other { url, source }
            }
            object_store::Error::NotFound { .. } => StorageError::NotFound { url },
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => {
                StorageError::PermissionDenied { url, source }
            }
            _ if io_kind_in_chain(&source) == Some(io::ErrorKind::PermissionDenied) => {
                StorageError::PermissionDenied { url, source }
            }
            _ if io_kind_in_chain(&source) == Some(io::ErrorKind::NotFound) => {
                StorageError::NotFound { url }
            }
            _ => StorageError::Other { url, source },
        }
    }

    /// Builds an [`StorageError::InvalidUrl`].
    pub fn invalid(input: &str, reason: impl Into<String>) -> StorageError {
        StorageError::InvalidUrl {
            input: input.to_string(),
            reason: reason.into(),
        }
    }

    /// The closest `std::io::ErrorKind`, for callers that wrap this in an
    /// `io::Error`.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            StorageError::NotFound { .. } => io::ErrorKind::NotFound,
            StorageError::InvalidUrl { .. } => io::ErrorKind::InvalidInput,
            StorageError::PermissionDenied { .. } => io::ErrorKind::PermissionDenied,
            StorageError::NotAFile { .. } => io::ErrorKind::InvalidInput,
            StorageError::Unreadable { source, .. } => source.kind(),
            StorageError::Other { .. } => io::ErrorKind::Other,
        }
    }
}

impl From<StorageError> for io::Error {
    fn from(error: StorageError) -> io::Error {
        io::Error::new(error.io_kind(), error)
    }
}

/// The kind of the first `io::Error` in the cause chain of `error`, if any.
///
/// The local filesystem store wraps I/O errors in `object_store::Error::Generic`,
/// so a permission problem on a local file is only visible down the chain.
fn io_kind_in_chain(error: &object_store::Error) -> Option<io::ErrorKind> {
    let mut cause = error.source();
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cause = error.source();
    }
    None
}

/// Whether some cause of `error`, below the error itself, says `text`.
fn cause_mentions(error: &object_store::Error, text: &str) -> bool {
    let mut cause = error.source();
    while let Some(error) = cause {
        if error.to_string().contains(text) {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The innermost cause of a store error: the part a user can act on, without
/// the layers of wrapping that `object_store` adds.
fn short_cause(error: &object_store::Error) -> String {
    let mut innermost: &dyn std::error::Error = error;
    while let Some(cause) = innermost.source() {
        innermost = cause;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(source: object_store::Error) -> StorageError {
        StorageError::from_store("s3://bucket/key".into(), source)
    }

    #[test]
    fn store_errors_are_classified_and_name_the_url() {
        let missing = classify(object_store::Error::NotFound {
            path: "key".into(),
            source: "404".into(),
        });
        assert!(matches!(missing, StorageError::NotFound { .. }));
        assert!(missing.to_string().contains("s3://bucket/key"));

        let refused = classify(object_store::Error::PermissionDenied {
            path: "key".into(),
            source: "AccessDenied".into(),
        });
        assert!(matches!(refused, StorageError::PermissionDenied { .. }));
        let message = refused.to_string();
        assert!(message.contains("s3://bucket/key") && message.contains("AccessDenied"));

        // How the local store reports an unreadable file.
        let local = classify(object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(io::Error::from(io::ErrorKind::PermissionDenied)),
        });
        assert!(
            matches!(local, StorageError::PermissionDenied { .. }),
            "{local}"
        );
        assert_eq!(local.io_kind(), io::ErrorKind::PermissionDenied);

        let other = classify(object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        });
        assert!(matches!(other, StorageError::Other { .. }));
        assert_eq!(
            other.to_string(),
            "storage operation on s3://bucket/key failed: connection refused"
        );
    }

    #[test]
    fn a_missing_bucket_is_not_a_missing_object() {
        let error = classify(object_store::Error::NotFound {
            path: "key".into(),
            source: "404 Not Found: <Error><Code>NoSuchBucket</Code></Error>".into(),
        });
        assert!(matches!(error, StorageError::Other { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("s3://bucket/key") && message.contains("NoSuchBucket"));
    }
}
