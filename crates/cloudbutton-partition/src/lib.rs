//! Cutting objects into chunks so that every record is read exactly once.
//!
//! A `map` over objects in storage gives each task one chunk of one object.
//! Planning the chunks needs only the object sizes: [`plan`] cuts each
//! object into nominal byte ranges, by size or by count. Those ranges
//! ignore where records are; reading a chunk fixes that.
//!
//! # Which records a chunk owns
//!
//! Records start at offset 0 and right after each occurrence of the
//! [`Delimiter`]; the last record may lack a delimiter. **A record belongs to
//! the chunk in which its first byte lies.** So a chunk skips the record it
//! starts in the middle of (its predecessor owns it) and reads past its
//! nominal end to finish its last record. No record is lost or read twice,
//! however the ranges fall, including a last record without a delimiter and
//! records longer than a chunk (some chunks then own nothing).
//!
//! To know whether a record starts exactly at `range.start`, a chunk's
//! reader must see the delimiter that may end there, so it starts fetching
//! one delimiter length earlier: at [`fetch_start`]. [`RecordReader`] wraps a
//! reader from that offset and yields exactly the owned bytes. Delimiters
//! cannot overlap themselves ([`Delimiter::new`] checks), so that the first
//! match a reader finds in the middle of an object is a real delimiter.
//!
//! [`Boundary::Exact`] turns all of this off for binary data: a chunk is
//! its nominal range.
//!
//! # Example
//!
//! ```
//! use std::io::Read;
//! use cloudbutton_partition::{Boundary, ChunkSpec, RecordReader, fetch_start, lines, plan};
//!
//! let object = "the first line\nsecond\nthird, with no newline".as_bytes();
//! let boundary = Boundary::lines();
//!
//! let mut seen = Vec::new();
//! for chunk in plan(&[object.len() as u64], ChunkSpec::Size(10)).unwrap() {
//!     let from = fetch_start(&chunk.range, &boundary) as usize;
//!     let reader = RecordReader::new(&object[from..], chunk.range, boundary.clone());
//!     for line in lines(reader) {
//!         seen.push(line.unwrap());
//!     }
//! }
//! assert_eq!(seen, ["the first line", "second", "third, with no newline"]);
//! ```

mod delimiter;
mod error;
mod plan;
mod record_reader;
mod records;

pub use delimiter::Delimiter;
pub use error::PartitionError;
pub use plan::{Boundary, ChunkSpec, PlannedChunk, fetch_start, plan};
pub use record_reader::RecordReader;
pub use records::{Lines, Records, lines, records};
