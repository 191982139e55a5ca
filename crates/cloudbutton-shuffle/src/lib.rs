//! Shuffle and sort for CloudButton: sorting datasets far larger than one
//! worker's memory, in the role of Primula.
//!
//! - [`format`](mod@format): the record formats a sort understands (`gensort`, `lines`,
//!   `csv`): how an object splits into records and into chunks that start at
//!   record starts, and each record's sort key as a byte string whose
//!   `memcmp` order is the order of the records.
//! - [`gensort`]: the generator of the sortbenchmark.org input records.
//! - [`valsort`]: the validator of a sorted output: order, record count,
//!   duplicate keys and an order-independent checksum to compare with the
//!   input's.
//! - [`sort`]: the sort itself, [`SortRequest`] in, [`SortReport`] out:
//!   sampled boundaries that hold under skew ([`boundaries`]), map tasks
//!   that each write one intermediate object ([`layout`]), reducers that
//!   merge in bounded memory ([`merge`]), sizes chosen from the data and
//!   the memory ([`plan`]), and backup copies of stragglers ([`backup`]).

pub mod format;
pub mod gensort;
pub mod valsort;

pub mod backup;
pub mod boundaries;
mod error;
pub mod layout;
mod map;
pub mod merge;
pub mod plan;
mod reduce;
mod report;
mod request;
mod sample;
mod scan;
mod sort;
mod stage;
mod task;

pub use backup::BackupPolicy;
pub use error::SortError;
pub use report::{SortReport, Timings};
pub use request::{DEFAULT_MEMORY_PER_WORKER, SortRequest};
pub use sort::sort;
pub use task::{Stage, Straggler};
