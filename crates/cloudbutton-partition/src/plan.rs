//! Cutting objects into nominal byte ranges.

use std::ops::Range;

use crate::{Delimiter, PartitionError};

/// How to cut each object into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkSpec {
    /// Chunks of this many bytes (at least 1); the last chunk of an object
    /// may be shorter.
    Size(u64),
    /// This many chunks per object (at least 1), of near-equal size; fewer
    /// when the object has fewer bytes than that.
    Count(u64),
}

/// Where the edges of a chunk may fall.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// Edges snap to record boundaries: a chunk reads the records whose
    /// first byte lies in its nominal range.
    Records(Delimiter),
    /// Edges are the nominal byte ranges themselves, as for binary data.
    Exact,
}

impl Boundary {
    /// Records ending in `"\n"`, which also reads `"\r\n"` files cleanly.
    pub fn lines() -> Self {
        Self::Records(Delimiter::newline())
    }

    /// The record delimiter, if edges snap to records.
    pub fn delimiter(&self) -> Option<&Delimiter> {
        match self {
            Self::Records(delimiter) => Some(delimiter),
            Self::Exact => None,
        }
    }
}

/// One chunk of one object, as planned from the object sizes alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlannedChunk {
    /// Index of the object in the list of sizes given to [`plan`].
    pub object: usize,
    /// Position of this chunk in its object, from 0.
    pub part: u32,
    /// Number of chunks of this object.
    pub parts: u32,
    /// The nominal byte range. With [`Boundary::Records`], the chunk reads
    /// the records whose first byte lies in it, which may start later and
    /// end later than this range.
    pub range: Range<u64>,
}

/// Plans the chunks of objects of the given sizes: object by object, and
/// part by part within an object.
///
/// The chunks of one object are contiguous, do not overlap and cover
/// `0..size`. An empty object yields exactly one chunk, `0..0`, so that a
/// reducer per object still sees it. [`ChunkSpec::Size`]`(s)` gives
/// `ceil(size / s)` chunks; [`ChunkSpec::Count`]`(n)` gives `min(n, size)`
/// chunks whose sizes differ by at most one byte.
///
/// # Errors
///
/// [`PartitionError::ZeroChunkSize`] or [`PartitionError::ZeroChunkCount`]
/// for a spec of 0, and [`PartitionError::TooManyChunks`] when an object
/// would need more than `u32::MAX` chunks.
///
/// ```
/// use cloudbutton_partition::{ChunkSpec, plan};
///
/// let chunks = plan(&[10, 0], ChunkSpec::Size(4)).unwrap();
/// let ranges: Vec<_> = chunks.iter().map(|c| (c.object, c.range.clone())).collect();
/// assert_eq!(ranges, [(0, 0..4), (0, 4..8), (0, 8..10), (1, 0..0)]);
/// ```
pub fn plan(sizes: &[u64], spec: ChunkSpec) -> Result<Vec<PlannedChunk>, PartitionError> {
    match spec {
        ChunkSpec::Size(0) => return Err(PartitionError::ZeroChunkSize),
        ChunkSpec::Count(0) => return Err(PartitionError::ZeroChunkCount),
        ChunkSpec::Size(_) | ChunkSpec::Count(_) => {}
    }

    let mut chunks = Vec::new();
    for (object, &size) in sizes.iter().enumerate() {
        let wanted = match spec {
            ChunkSpec::Size(chunk_size) => size.div_ceil(chunk_size),
            ChunkSpec::Count(count) => count.min(size),
        }
        .max(1);
        let parts = u32::try_from(wanted).map_err(|_| PartitionError::TooManyChunks {
            object,
            size,
            parts: wanted,
        })?;

        chunks.reserve(parts as usize);
        for part in 0..parts {
            let range = match spec {
                ChunkSpec::Size(chunk_size) => {
                    let start = u64::from(part) * chunk_size;
                    start..start.saturating_add(chunk_size).min(size)
                }
                ChunkSpec::Count(_) => edge(size, part, parts)..edge(size, part + 1, parts),
            };
            chunks.push(PlannedChunk {
                object,
                part,
                parts,
                range,
            });
        }
    }
    Ok(chunks)
}

/// The offset where chunk `part` of `parts` near-equal chunks starts.
fn edge(size: u64, part: u32, parts: u32) -> u64 {
    // In u128 so that `size * part` cannot overflow; the result is at most `size`.
    (u128::from(size) * u128::from(part) / u128::from(parts)) as u64
}

/// Where a reader for the chunk with nominal `range` must start fetching
/// the object.
///
/// That is `range.start` for [`Boundary::Exact`] and for the first chunk;
/// otherwise it is one delimiter length earlier, so that a delimiter ending
/// exactly at `range.start` (which makes a record start there) is seen.
pub fn fetch_start(range: &Range<u64>, boundary: &Boundary) -> u64 {
    match boundary {
        Boundary::Records(delimiter) if range.start > 0 => {
            range.start.saturating_sub(delimiter.len() as u64)
        }
        Boundary::Records(_) | Boundary::Exact => range.start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(sizes: &[u64], spec: ChunkSpec) -> Vec<(usize, u32, u32, Range<u64>)> {
        plan(sizes, spec)
            .unwrap()
            .into_iter()
            .map(|c| (c.object, c.part, c.parts, c.range))
            .collect()
    }

    #[test]
    fn size_spec_cuts_fixed_size_chunks_with_a_short_last_one() {
        assert_eq!(
            ranges(&[10], ChunkSpec::Size(4)),
            [(0, 0, 3, 0..4), (0, 1, 3, 4..8), (0, 2, 3, 8..10)]
        );
        assert_eq!(
            ranges(&[8], ChunkSpec::Size(4)),
            [(0, 0, 2, 0..4), (0, 1, 2, 4..8)]
        );
        assert_eq!(ranges(&[3], ChunkSpec::Size(100)), [(0, 0, 1, 0..3)]);
    }

    #[test]
    fn count_spec_cuts_near_equal_chunks() {
        assert_eq!(
            ranges(&[10], ChunkSpec::Count(3)),
            [(0, 0, 3, 0..3), (0, 1, 3, 3..6), (0, 2, 3, 6..10)]
        );
    }

    #[test]
    fn count_spec_gives_fewer_chunks_for_small_objects() {
        assert_eq!(
            ranges(&[2], ChunkSpec::Count(5)),
            [(0, 0, 2, 0..1), (0, 1, 2, 1..2)]
        );
    }

    #[test]
    fn empty_object_yields_one_empty_chunk() {
        for spec in [ChunkSpec::Size(1), ChunkSpec::Count(4)] {
            assert_eq!(
                ranges(&[0, 1, 0], spec),
                [(0, 0, 1, 0..0), (1, 0, 1, 0..1), (2, 0, 1, 0..0)]
            );
        }
        assert!(plan(&[], ChunkSpec::Size(1)).unwrap().is_empty());
    }

    #[test]
    fn zero_spec_is_rejected() {
        assert_eq!(
            plan(&[1], ChunkSpec::Size(0)),
            Err(PartitionError::ZeroChunkSize)
        );
        assert_eq!(
            plan(&[1], ChunkSpec::Count(0)),
            Err(PartitionError::ZeroChunkCount)
        );
    }

    #[test]
    fn too_many_chunks_is_rejected_before_allocating() {
        let err = plan(&[5, u64::MAX], ChunkSpec::Size(1)).unwrap_err();
        assert_eq!(
            err,
            PartitionError::TooManyChunks {
                object: 1,
                size: u64::MAX,
                parts: u64::MAX
            }
        );
    }

    #[test]
    fn huge_objects_do_not_overflow() {
        let chunks = plan(&[u64::MAX], ChunkSpec::Count(3)).unwrap();
        assert_eq!(chunks.last().unwrap().range.end, u64::MAX);
        let chunks = plan(&[u64::MAX], ChunkSpec::Size(u64::MAX / 2)).unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2].range, u64::MAX - 1..u64::MAX);
    }

    #[test]
    fn fetch_start_backs_up_one_delimiter_except_at_zero() {
        let crlf = Boundary::Records(Delimiter::new("\r\n").unwrap());
        assert_eq!(fetch_start(&(0..10), &crlf), 0);
        assert_eq!(fetch_start(&(1..10), &crlf), 0);
        assert_eq!(fetch_start(&(10..20), &crlf), 8);
        assert_eq!(fetch_start(&(10..20), &Boundary::Exact), 10);
    }
}
