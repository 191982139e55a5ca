//! What can go wrong while planning or reading chunks.

use std::ops::Range;

/// An error from planning chunks or from reading the records of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// A delimiter must have at least one byte.
    #[error("the record delimiter is empty; give at least one byte, such as \"\\n\"")]
    EmptyDelimiter,

    /// A delimiter whose start equals its end could match in two overlapping
    /// places, so a scan from the middle of an object could find a false one.
    #[error(
        "the record delimiter \"{delimiter}\" overlaps itself (its first {overlap} byte(s) \
         equal its last {overlap}), so a chunk cannot tell where records start; \
         choose a delimiter such as \"\\n\", \"\\r\\n\" or \"|;\""
    )]
    SelfOverlappingDelimiter {
        /// The rejected delimiter, with non-printable bytes escaped.
        delimiter: String,
        /// The length of the longest proper prefix that is also a suffix.
        overlap: usize,
    },

    /// `ChunkSpec::Size(0)` was given.
    #[error("the chunk size is 0 bytes; it must be at least 1")]
    ZeroChunkSize,

    /// `ChunkSpec::Count(0)` was given.
    #[error("the number of chunks per object is 0; it must be at least 1")]
    ZeroChunkCount,

    /// An object would be cut into more chunks than a part number can count.
    #[error(
        "object {object} ({size} bytes) would be cut into {parts} chunks, more than \
         the limit of {limit}; choose a larger chunk size",
        limit = u32::MAX
    )]
    TooManyChunks {
        /// Index of the object in the planned input.
        object: usize,
        /// Size of the object in bytes.
        size: u64,
        /// How many chunks it would have needed.
        parts: u64,
    },

    /// The object ended before the end of the chunk being read, so it is
    /// shorter than it was when the chunks were planned.
    #[error(
        "the object ended at byte {ended_at}, before the end of chunk {}..{}; \
         it may have been changed or truncated after the job was planned",
        range.start,
        range.end
    )]
    ObjectTruncated {
        /// The nominal byte range of the chunk.
        range: Range<u64>,
        /// The object offset at which the reader reached its end.
        ended_at: u64,
    },
}
