//! Object storage for CloudButton: one API over the local filesystem, S3 and
//! in-memory stores, as a thin layer on the `object_store` crate.
//!
//! - [`Location`] parses what a user writes (`data/`, `logs/*.gz`,
//!   `s3://bucket/key`) into a store URL and a [`Selector`].
//! - [`Storage`] connects to one store and lists, reads, writes and deletes its
//!   objects, asynchronously.
//! - [`block_on`] runs that async API from plain threads, on a process-wide
//!   [`runtime`]; [`RangeReader`] is a blocking reader of a byte range that
//!   fetches it window by window, and [`ObjectWriter`] a blocking writer
//!   that streams one object in parts.
//!
//! ```
//! use bytes::Bytes;
//! use cloudbutton_storage::{Location, Storage, StorageOptions, block_on};
//!
//! let location = Location::parse("memory://example/words/").unwrap();
//! let storage = Storage::connect(location.store_url(), &StorageOptions::default()).unwrap();
//!
//! let objects = block_on(async {
//!     storage.put("words/a.txt", Bytes::from("hello world\n")).await?;
//!     storage.list(location.selector()).await
//! })
//! .unwrap();
//! assert_eq!(objects[0].url(), "memory://example/words/a.txt");
//! assert_eq!(objects[0].size, 12);
//! ```

mod connect;
mod error;
mod local;
mod location;
mod options;
mod range_reader;
mod runtime;
mod store;
mod upload;
mod writer;

pub use error::StorageError;
pub use location::{Location, Selector};
pub use options::{S3Options, StorageOptions};
pub use range_reader::RangeReader;
pub use runtime::{block_on, runtime};
pub use store::{ObjectInfo, Storage};
pub use upload::MULTIPART_THRESHOLD;
pub use writer::ObjectWriter;
