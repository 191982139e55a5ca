//! The gensort format: fixed records of 100 bytes, so that chunks and
//! record boundaries follow from lengths alone.

use super::FormatError;
use crate::gensort::RECORD_LEN;

const RECORD: u64 = RECORD_LEN as u64;

/// Checks that an object of `len` bytes is a whole number of records.
pub(super) fn check_len(len: u64) -> Result<(), FormatError> {
    match len % RECORD {
        0 => Ok(()),
        rest => Err(FormatError::PartialRecord {
            offset: len - rest,
            len: rest,
        }),
    }
}

/// Chunk starts every `target` bytes, rounded down to whole records.
pub(super) fn split_points(len: u64, target: u64) -> Vec<u64> {
    let chunk = (target / RECORD).max(1) * RECORD;
    (0..len).step_by(chunk as usize).collect()
}
