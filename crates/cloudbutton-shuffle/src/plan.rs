//! How big a sort is: chunk sizes, the number of map tasks and reducers,
//! how many keys to sample, and how each task divides its memory. Pure
//! arithmetic on sizes, with no I/O, so that every rule is tested here.
//!
//! The rules, for a memory bound `B` per worker:
//!
//! - a map task reads at most `B / 2` bytes of input (its chunk), so that
//!   the chunk, its sort keys and its output buffers fit in `B`; and less,
//!   down to 1 MiB, if that gives every worker of the executor a chunk;
//! - there are `ceil(total / (B / 2))` reducers, so that a reducer's share
//!   of the data would fit in half its memory, but no fewer than the
//!   workers the executor runs at once, and exactly as many as the user
//!   asks for if they do (a reducer whose partition does not fit merges it
//!   in bounded buffers anyway);
//! - every task writes through a writer of two parts of `B / 32` each
//!   (clamped to 4 KiB–16 MiB); a map task's sorted run (records, keys and
//!   sort entries) gets what is left of `7/8 B`, and a reducer's read
//!   buffers share `B / 2`. The last eighth is slack for what tasks do not
//!   count, such as the memory allocator's.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The smallest part a task writes at once.
const MIN_PART: u64 = 4 * 1024;
/// The largest part a task writes at once: larger parts save nothing.
const MAX_PART: u64 = 16 * 1024 * 1024;
/// Chunks are no smaller than this to give every worker one.
const MIN_SPREAD_CHUNK: u64 = 1024 * 1024;
/// Samples taken over the whole input, at least and at most.
const SAMPLES: Range<u64> = 2_048..262_144;
/// Samples per reducer, before those bounds.
const SAMPLES_PER_REDUCER: u64 = 256;
/// Sample windows read per chunk, at most: each is one ranged read.
const WINDOWS_PER_CHUNK: u64 = 16;

/// The sizes a sort is planned from.
#[derive(Clone, Debug)]
pub struct PlanInput {
    /// The total size of the input objects, in bytes.
    pub total_bytes: u64,
    /// The memory bound of one task, in bytes.
    pub memory_per_worker: u64,
    /// How many tasks the executor runs at once.
    pub executor_workers: usize,
    /// The number of reducers the user asked for, if any.
    pub requested_reducers: Option<usize>,
    /// The size of every record, for fixed-size formats: chunks then hold
    /// whole records.
    pub record_size: Option<u64>,
}

/// The shape of a sort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortPlan {
    /// The nominal size of a map task's chunk.
    pub chunk_size: u64,
    /// The number of reducers, hence of output objects.
    pub reducers: usize,
    /// How each task divides its memory.
    pub memory: MemoryPlan,
}

/// How a task divides its memory bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryPlan {
    /// The memory bound of one task.
    pub bound: u64,
    /// The part size of the task's output writer, which holds two parts.
    pub part_size: u64,
    /// What a map task may hold of one sorted run: its records, their sort
    /// keys and their index.
    pub run_bytes: u64,
    /// What a reducer's read buffers hold together.
    pub merge_buffers: u64,
}

/// Plans a sort.
pub fn plan(input: &PlanInput) -> SortPlan {
    let bound = input.memory_per_worker.max(1);
    // Half the memory, or less so that every worker gets a chunk, but no
    // chunks so small that their tasks cost more than their sorting.
    let spread = input
        .total_bytes
        .div_ceil(input.executor_workers.max(1) as u64)
        .max(MIN_SPREAD_CHUNK);
    let mut chunk_size = (bound / 2).min(spread).max(1);
    if let Some(record) = input.record_size.filter(|&size| size > 0) {
        chunk_size = (chunk_size / record).max(1) * record;
    }
    SortPlan {
        chunk_size,
        reducers: reducers(input),
        memory: memory(bound),
    }
}

/// The number of reducers: what the user asked for, else enough for each
/// to get half a task's memory of data, and no fewer than the workers. An
/// empty input has one reducer, which writes one empty output.
pub fn reducers(input: &PlanInput) -> usize {
    if let Some(requested) = input.requested_reducers {
        return requested.max(1);
    }
    if input.total_bytes == 0 {
        return 1;
    }
    let share = (input.memory_per_worker / 2).max(1);
    let needed = input.total_bytes.div_ceil(share);
    usize::try_from(needed)
        .unwrap_or(usize::MAX)
        .max(input.executor_workers)
        .max(1)
}

/// How a task of this memory bound divides it.
pub fn memory(bound: u64) -> MemoryPlan {
    let part_size = (bound / 32).clamp(MIN_PART, MAX_PART);
    // An eighth stays free for what the task does not count: the memory
    // allocator's slack, the runtime, the task's own small buffers.
    let usable = bound - bound / 8;
    MemoryPlan {
        bound,
        part_size,
        run_bytes: usable.saturating_sub(2 * part_size).max(1),
        merge_buffers: (bound / 2).max(1),
    }
}

impl MemoryPlan {
    /// The read buffer of each of a reducer's `streams` sorted runs.
    pub fn buffer_per_stream(&self, streams: usize) -> u64 {
        (self.merge_buffers / streams.max(1) as u64).max(1)
    }
}

/// How many keys to sample in each chunk, from the chunk sizes: about
/// 256 per reducer over the whole input (2,048 to 262,144), shared in
/// proportion to size, and at least one per non-empty chunk.
pub fn samples_per_chunk(chunk_sizes: &[u64], reducers: usize) -> Vec<u64> {
    let total: u64 = chunk_sizes.iter().sum();
    if total == 0 {
        return vec![0; chunk_sizes.len()];
    }
    let wanted = (reducers as u64)
        .saturating_mul(SAMPLES_PER_REDUCER)
        .clamp(SAMPLES.start, SAMPLES.end);
    chunk_sizes
        .iter()
        .map(|&size| {
            if size == 0 {
                0
            } else {
                ((u128::from(wanted) * u128::from(size)).div_ceil(u128::from(total)) as u64).max(1)
            }
        })
        .collect()
}

/// Where to read a chunk's samples: up to 16 windows at evenly spaced
/// offsets of `chunk`, each to take `per_window` records from. Offsets of
/// fixed-size records fall on record starts.
pub fn sample_windows(chunk: Range<u64>, samples: u64, record_size: Option<u64>) -> SampleWindows {
    let length = chunk.end - chunk.start;
    let windows = samples.min(WINDOWS_PER_CHUNK);
    if windows == 0 || length == 0 {
        return SampleWindows {
            offsets: Vec::new(),
            per_window: 0,
        };
    }
    let mut offsets: Vec<u64> = (0..windows)
        .map(|window| {
            let offset = (u128::from(length) * u128::from(window) / u128::from(windows)) as u64;
            let offset = match record_size.filter(|&size| size > 0) {
                Some(size) => offset / size * size,
                None => offset,
            };
            chunk.start + offset
        })
        .collect();
    offsets.dedup();
    SampleWindows {
        per_window: samples.div_ceil(offsets.len() as u64),
        offsets,
    }
}

/// The windows of one chunk to read samples from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleWindows {
    /// Where each window starts, in the object.
    pub offsets: Vec<u64>,
    /// How many records to take from each.
    pub per_window: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn input(total: u64, memory: u64, workers: usize) -> PlanInput {
        PlanInput {
            total_bytes: total,
            memory_per_worker: memory,
            executor_workers: workers,
            requested_reducers: None,
            record_size: None,
        }
    }

    #[test]
    fn reducers_follow_the_data_size_and_the_memory() {
        // 1 GB at 256 MiB per worker: 128 MiB shares.
        assert_eq!(plan(&input(1_000_000_000, 256 * MIB, 2)).reducers, 8);
        // One byte more than a whole number of shares needs another reducer.
        assert_eq!(plan(&input(4 * 128 * MIB + 1, 256 * MIB, 2)).reducers, 5);
        // Little data still uses every worker.
        assert_eq!(plan(&input(1000, 256 * MIB, 4)).reducers, 4);
        // Unless the user says otherwise.
        let mut asked = input(1_000_000_000, 256 * MIB, 2);
        asked.requested_reducers = Some(3);
        assert_eq!(plan(&asked).reducers, 3);
        asked.requested_reducers = Some(0);
        assert_eq!(plan(&asked).reducers, 1);
    }

    #[test]
    fn an_empty_input_has_one_reducer() {
        assert_eq!(plan(&input(0, 256 * MIB, 8)).reducers, 1);
    }

    #[test]
    fn chunks_are_half_the_memory_in_whole_records() {
        assert_eq!(plan(&input(1000 * MIB, 256 * MIB, 2)).chunk_size, 128 * MIB);
        let mut fixed = input(10_000, 1000, 2);
        fixed.record_size = Some(100);
        assert_eq!(plan(&fixed).chunk_size, 500);
        fixed.memory_per_worker = 999;
        assert_eq!(plan(&fixed).chunk_size, 400);
        // A bound below two records still reads one record at a time.
        fixed.memory_per_worker = 10;
        assert_eq!(plan(&fixed).chunk_size, 100);
    }

    #[test]
    fn every_worker_gets_a_chunk_unless_they_would_be_tiny() {
        // 30 MB on 2 workers: two chunks, not one of 128 MiB.
        assert_eq!(plan(&input(30 * MIB, 256 * MIB, 2)).chunk_size, 15 * MIB);
        assert_eq!(
            plan(&input(30 * MIB + 1, 256 * MIB, 2)).chunk_size,
            15 * MIB + 1
        );
        assert_eq!(plan(&input(100, 256 * MIB, 8)).chunk_size, MIB);
        assert_eq!(plan(&input(100, 256 * MIB, 0)).chunk_size, MIB);
    }

    #[test]
    fn a_task_divides_its_memory_within_the_bound() {
        for bound in [1, 1000, 64 * 1024, 256 * MIB, 64 * 1024 * MIB] {
            let memory = memory(bound);
            assert!(memory.part_size >= MIN_PART && memory.part_size <= MAX_PART);
            if bound >= 32 * MIN_PART {
                assert!(
                    memory.run_bytes + 2 * memory.part_size <= bound * 7 / 8 + 1,
                    "{bound}"
                );
                assert!(
                    memory.merge_buffers + 2 * memory.part_size <= bound,
                    "{bound}"
                );
            }
        }
        let memory = memory(256 * MIB);
        assert_eq!(memory.part_size, 8 * MIB);
        assert_eq!(memory.run_bytes, 208 * MIB);
        assert_eq!(memory.buffer_per_stream(8), 16 * MIB);
        assert_eq!(memory.buffer_per_stream(0), 128 * MIB);
    }

    #[test]
    fn samples_follow_the_chunk_sizes() {
        let samples = samples_per_chunk(&[100, 300, 0, 1], 2);
        assert_eq!(samples, [511, 1533, 0, 6]);
        assert_eq!(samples_per_chunk(&[0, 0], 4), [0, 0]);
        let many: u64 = samples_per_chunk(&[1; 10_000], 10_000).iter().sum();
        assert_eq!(many, 262_144 / 10_000 * 10_000 + 10_000);
    }

    #[test]
    fn sample_windows_are_evenly_spaced_on_record_starts() {
        let windows = sample_windows(1000..2000, 4, Some(100));
        assert_eq!(windows.offsets, [1000, 1200, 1500, 1700]);
        assert_eq!(windows.per_window, 1);
        let windows = sample_windows(0..1_000_000, 100, None);
        assert_eq!(windows.offsets.len(), 16);
        assert_eq!(windows.per_window, 7);
        // A tiny chunk gives fewer windows, not repeated ones.
        let windows = sample_windows(0..3, 10, None);
        assert_eq!(windows.offsets, [0, 1, 2]);
        assert_eq!(windows.per_window, 4);
        assert!(sample_windows(5..5, 10, None).offsets.is_empty());
    }
}
