//! [`FormatError`]: what can be wrong with a format's name, its key, or the
//! records of an object.

use std::io;

/// A format or key that cannot be used, or an object whose bytes are not
/// records of its format.
///
/// Errors about bytes name the offset in the object; whoever knows the
/// object's URL adds it with [`FormatError::in_object`]. Each message is
/// whole, with its cause in it: none has a `source()`, so that printers
/// that append the chain of sources do not say the same thing twice.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// A format name other than `gensort`, `lines` or `csv`.
    #[error("unknown record format `{name}`: use gensort, lines or csv")]
    UnknownFormat {
        /// The name given.
        name: String,
    },

    /// A key given for a format whose key is fixed.
    #[error("the {format} format has a fixed key: give no --key")]
    KeyNotAllowed {
        /// The format's name.
        format: &'static str,
    },

    /// The csv format without a key.
    #[error("the csv format needs a key: --key COLUMN:TYPE, with TYPE one of string, int, float")]
    KeyRequired,

    /// A key that is not `COLUMN:TYPE`.
    #[error("bad key `{spec}`: {reason}")]
    BadKey {
        /// The key as given.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A csv object without even a header line.
    #[error("the object has no header line, so the key column cannot be found")]
    NoHeader,

    /// A csv header that lacks the key column.
    #[error("the header has no column `{column}`; its columns are: {columns}")]
    NoSuchColumn {
        /// The key column asked for.
        column: String,
        /// The header's columns, comma-separated.
        columns: String,
    },

    /// Bytes at the end of a gensort object that do not make a whole record.
    #[error(
        "{len} byte(s) at offset {offset} are not a whole 100-byte gensort record: the \
         object's length is not a multiple of 100"
    )]
    PartialRecord {
        /// Where the partial record starts.
        offset: u64,
        /// Its length, less than 100.
        len: u64,
    },

    /// A quoted csv field still open at the end of the object.
    #[error(
        "the quoted field that opens at offset {offset} is not closed by the end of the object"
    )]
    UnterminatedQuote {
        /// Where its opening quote is.
        offset: u64,
    },

    /// Reading the object failed.
    #[error("cannot read at offset {offset}: {error}")]
    Io {
        /// How far the reading had got.
        offset: u64,
        /// Why it failed.
        error: io::Error,
    },

    /// Any of the above, in the object named.
    #[error("{object}: {error}")]
    InObject {
        /// The object's URL.
        object: String,
        /// What is wrong with it.
        error: Box<FormatError>,
    },
}

impl FormatError {
    /// This error, said of the object `object` (its URL).
    pub fn in_object(self, object: impl Into<String>) -> FormatError {
        FormatError::InObject {
            object: object.into(),
            error: Box::new(self),
        }
    }

    /// This error as an [`io::Error`], for the callers that return
    /// `io::Result`: of kind `InvalidData`, or the kind of the read error.
    /// The `FormatError` is inside (`error.get_ref()`, then `downcast_ref`).
    pub fn into_io(self) -> io::Error {
        let kind = match &self {
            FormatError::Io { error, .. } => error.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }
}
