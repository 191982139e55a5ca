//! The map task: reads its chunk, sorts it in runs that fit its memory,
//! cuts each run at the boundaries, and writes every run, partition after
//! partition, to one intermediate object (see [`crate::layout`]).
//!
//! The planner sizes chunks so that one run holds a chunk; a chunk whose
//! records cost more memory than expected (short lines, whose sort entries
//! outweigh them) makes several runs instead of overrunning the bound.
//!
//! Gensort records take a fast path: a run is one ranged read of whole
//! records, and each record's sort entry is one `u128`, its 10 key bytes
//! above its index in the run, sorted as plain integers.

use std::cmp::Ordering;
use std::io::Write;
use std::ops::Range;

use bytes::Bytes;
use cloudbutton_executor::{FnResult, Function, TaskContext};
use cloudbutton_storage::{ObjectWriter, Storage, block_on};
use serde::{Deserialize, Serialize};

use crate::boundaries::{Boundary, Position};
use crate::error::SortError;
use crate::format::{Bound, Format};
use crate::gensort::{KEY_LEN, RECORD_LEN};
use crate::layout::{Layout, MapIndex};
use crate::merge::Meter;
use crate::plan::MemoryPlan;
use crate::stage::StageTask;
use crate::task::{Object, Stage, Straggler, check_cancelled};

/// What one map task does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct MapTask {
    /// The task's number: its chunk's place in the input.
    pub task: u32,
    /// Which copy of the task this is.
    pub copy: u32,
    /// The object to read.
    pub input: Object,
    /// The chunk: whole records, from a record start.
    pub range: Range<u64>,
    /// The format, bound to the inputs' header.
    pub bound: Bound,
    /// The boundaries between reducers.
    pub boundaries: Vec<Boundary>,
    /// The number of reducers.
    pub reducers: usize,
    /// How the task divides its memory.
    pub memory: MemoryPlan,
    /// The intermediate object to write.
    pub output: Object,
    /// The test hook.
    pub straggler: Option<Straggler>,
}

/// What a map task wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct MapOutput {
    /// Where each run's partitions are in the intermediate object.
    pub index: MapIndex,
    /// Records read.
    pub records: u64,
    /// Bytes written to the intermediate object.
    pub written: u64,
    /// The most bytes its buffers held at once.
    pub peak_memory: u64,
}

impl StageTask for MapTask {
    fn with_copy(&self, copy: u32) -> Self {
        MapTask {
            copy,
            ..self.clone()
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} bytes {}..{}",
            self.input.url(),
            self.range.start,
            self.range.end
        )
    }
}

/// The map function.
pub(crate) static MAP: Function<MapTask, MapOutput> =
    Function::new("cloudbutton_shuffle::map", map);
cloudbutton_executor::register!(MAP);

fn map(task: MapTask, ctx: &TaskContext) -> FnResult<MapOutput> {
    Ok(run(&task, ctx)?)
}

/// The run's state shared by both paths.
struct Writing<'a> {
    task: &'a MapTask,
    writer: ObjectWriter,
    index: MapIndex,
    meter: Meter,
    records: u64,
}

impl Writing<'_> {
    /// Writes one sorted run, its entries cut into the reducers' partitions
    /// at `cuts`, with `write` putting one entry out, and records the
    /// partitions' offsets in the index.
    fn push_run<E>(
        &mut self,
        entries: &[E],
        cuts: Vec<usize>,
        mut write: impl FnMut(&E, &mut ObjectWriter) -> std::io::Result<()>,
    ) -> Result<(), SortError> {
        let url = self.writer.url();
        let mut offsets = Vec::with_capacity(self.task.reducers + 1);
        offsets.push(self.writer.written());
        let mut from = 0;
        for cut in cuts {
            for entry in &entries[from..cut] {
                write(entry, &mut self.writer).map_err(|source| SortError::Write {
                    url: url.clone(),
                    source,
                })?;
            }
            offsets.push(self.writer.written());
            from = cut;
        }
        self.index.runs.push(offsets);
        self.records += entries.len() as u64;
        Ok(())
    }
}

fn run(task: &MapTask, ctx: &TaskContext) -> Result<MapOutput, SortError> {
    let _span = tracing::debug_span!("map", task = task.task, url = %task.input.url()).entered();
    Straggler::hold(
        &task.straggler,
        Stage::Map,
        task.task as usize,
        task.copy,
        ctx,
    )?;
    let input = task.input.connect(ctx)?;
    let output = task.output.connect(ctx)?;
    let writer = output.writer(&task.output.key, task.memory.part_size as usize);
    let mut writing = Writing {
        task,
        meter: Meter::holding(writer.memory_bound() as u64),
        writer,
        index: MapIndex::default(),
        records: 0,
    };

    match task.bound.format() {
        Format::Gensort => sort_fixed(&mut writing, &input, ctx)?,
        _ => sort_variable(&mut writing, &input, ctx)?,
    }

    let Writing {
        mut writer,
        index,
        meter,
        records,
        ..
    } = writing;
    let url = writer.url();
    writer
        .write_all(&index.encode(task.reducers))
        .map_err(|source| SortError::Write { url, source })?;
    // A cancelled copy must not replace the object once the sort has
    // moved on and removed it.
    check_cancelled(ctx)?;
    let written = writer.finish()?;
    tracing::debug!(
        task = task.task,
        records,
        written,
        runs = index.runs.len(),
        "map task done"
    );
    Ok(MapOutput {
        index,
        records,
        written,
        peak_memory: meter.peak(),
    })
}

/// Reads `range` of the input whole.
fn read(task: &MapTask, input: &Storage, range: Range<u64>) -> Result<Bytes, SortError> {
    block_on(input.get_range(&task.input.key, range.clone())).map_err(|error| SortError::Read {
        url: task.input.url(),
        start: range.start,
        end: range.end,
        source: std::io::Error::new(error.io_kind(), error),
    })
}

/// Where each reducer's partition of a sorted run ends: `cuts[r]` is the
/// end of partition `r`. The records not above boundary `r` belong to
/// reducers up to `r`; `compare` orders record `at` against a boundary.
fn cuts(
    reducers: usize,
    boundaries: &[Boundary],
    len: usize,
    mut compare: impl FnMut(usize, &Boundary) -> Ordering,
) -> Vec<usize> {
    let mut cuts = Vec::with_capacity(reducers);
    for reducer in 0..reducers {
        let cut = match boundaries.get(reducer) {
            Some(boundary) if reducer + 1 < reducers => {
                partition_point(len, |at| compare(at, boundary) != Ordering::Greater)
            }
            _ => len,
        };
        cuts.push(cut);
    }
    cuts
}

/// The first index in `0..len` for which `below` is false, when it is
/// true for a prefix.
fn partition_point(len: usize, mut below: impl FnMut(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low) / 2;
        if below(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Gensort: each run one ranged read of whole records, sorted as `u128`s.
fn sort_fixed(
    writing: &mut Writing<'_>,
    input: &Storage,
    ctx: &TaskContext,
) -> Result<(), SortError> {
    let task = writing.task;
    let record = RECORD_LEN as u64;
    // A record and its entry.
    let per_run = (task.memory.run_bytes / (record + 16)).clamp(1, u64::from(u32::MAX));
    let held = writing.meter.current();
    let mut start = task.range.start;
    while start < task.range.end {
        check_cancelled(ctx)?;
        let end = task.range.end.min(start + per_run * record);
        let data = read(task, input, start..end)?;
        writing.meter.set(held + data.len() as u64);

        let mut entries: Vec<u128> = Vec::with_capacity(data.len() / RECORD_LEN);
        writing
            .meter
            .set(held + data.len() as u64 + 32 * entries.capacity() as u64);
        for (at, record) in data.chunks(RECORD_LEN).enumerate() {
            entries.push(gensort_entry(record, at as u32));
        }
        radix_sort(&mut entries);

        let position = |entry: u128| Position {
            task: task.task,
            offset: start + u64::from(entry as u32) * record,
        };
        let record_of = |entry: u128| {
            let at = (entry as u32) as usize * RECORD_LEN;
            &data[at..(at + RECORD_LEN).min(data.len())]
        };
        let cuts = cuts(
            task.reducers,
            &task.boundaries,
            entries.len(),
            |at, boundary| {
                let entry = entries[at];
                boundary.cmp_record(&record_of(entry)[..KEY_LEN], position(entry))
            },
        );

        writing.push_run(&entries, cuts, |&entry, writer| {
            writer.write_all(record_of(entry))
        })?;
        writing.meter.set(held);
        start = end;
    }
    Ok(())
}

/// A gensort record's sort entry: its key in the top 80 bits, its index in
/// the run in the low 32.
fn gensort_entry(record: &[u8], index: u32) -> u128 {
    let mut bytes = [0; 16];
    let key = record.len().min(KEY_LEN);
    bytes[..key].copy_from_slice(&record[..key]);
    u128::from_be_bytes(bytes) | u128::from(index)
}

/// Sorts gensort entries in place: by their top byte into 256 buckets
/// (an American flag sort; keys are uniform, so buckets are even), then
/// each bucket, small enough to sort in cache, by comparison.
fn radix_sort(entries: &mut [u128]) {
    if entries.len() < 1 << 16 {
        entries.sort_unstable();
        return;
    }
    let bucket = |entry: u128| (entry >> 120) as usize;
    let mut counts = [0usize; 256];
    for &entry in entries.iter() {
        counts[bucket(entry)] += 1;
    }
    let mut starts = [0usize; 256];
    let mut sum = 0;
    for (index, &count) in counts.iter().enumerate() {
        starts[index] = sum;
        sum += count;
    }
    let ends: Vec<usize> = (0..256)
        .map(|index| starts[index] + counts[index])
        .collect();

    // Swap each entry into the next free place of its bucket until every
    // bucket's free place has reached its end.
    let mut next = starts;
    for index in 0..256 {
        while next[index] < ends[index] {
            let entry = entries[next[index]];
            let home = bucket(entry);
            if home == index {
                next[index] += 1;
            } else {
                entries.swap(next[index], next[home]);
                next[home] += 1;
            }
        }
    }
    for index in 0..256 {
        entries[starts[index]..ends[index]].sort_unstable();
    }
}

/// The sort entry of a record of a variable-length format.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The key's first 8 bytes, zero-padded, big-endian.
    prefix: u64,
    /// Where the key is: in the run's data, or in the key buffer.
    key: u32,
    key_len: u32,
    /// Where the record is in the run's data.
    record: u32,
    record_len: u32,
}

/// Lines and csv: the chunk read in windows into the run's buffer, whole
/// records parsed as they arrive, and the run sorted and written once its
/// records, entries and keys reach the run's memory.
fn sort_variable(
    writing: &mut Writing<'_>,
    input: &Storage,
    ctx: &TaskContext,
) -> Result<(), SortError> {
    let task = writing.task;
    let bound = &task.bound;
    let format = bound.format();
    let layout = Layout::of(format);
    // Offsets in a run are u32.
    let run_bytes = task.memory.run_bytes.min(u64::from(u32::MAX) / 2);
    let window = (run_bytes / 8).clamp(1024, 4 << 20);
    let keys_in_data = bound.key_slice(b"").is_some();
    let entry_size = std::mem::size_of::<Entry>() as u64;
    let held = writing.meter.current();

    // The run's records, from its first; `parsed` bytes of them have entries.
    let mut data: Vec<u8> = Vec::new();
    let mut data_start = task.range.start;
    let mut parsed = 0;
    let mut entries: Vec<Entry> = Vec::new();
    let mut keys: Vec<u8> = Vec::new();
    let mut next = task.range.start;
    loop {
        // Fill the run while the next window and what it brings still fit.
        while next < task.range.end {
            let used = data.len() as u64 + entry_size * entries.len() as u64 + keys.len() as u64;
            let overhead = if parsed == 0 {
                1.0
            } else {
                (entry_size * entries.len() as u64 + keys.len() as u64) as f64 / parsed as f64
            };
            let coming = window + (window as f64 * (1.0 + overhead)) as u64;
            if !entries.is_empty() && used + coming > run_bytes {
                break;
            }
            check_cancelled(ctx)?;
            let end = task.range.end.min(next + window);
            let bytes = read(task, input, next..end)?;
            writing.meter.set(held + used + bytes.len() as u64);
            data.extend_from_slice(&bytes);
            next = end;
            let last = next == task.range.end;
            parsed = parse(
                bound,
                &data,
                parsed,
                last,
                keys_in_data,
                &mut entries,
                &mut keys,
            );
            writing.meter.set(
                held + data.len() as u64 + entry_size * entries.len() as u64 + keys.len() as u64,
            );
        }
        if entries.is_empty() {
            break;
        }

        let key_of = |entry: &Entry| -> &[u8] {
            let range = entry.key as usize..(entry.key + entry.key_len) as usize;
            if keys_in_data {
                &data[range]
            } else {
                &keys[range]
            }
        };
        entries.sort_unstable_by(|a, b| {
            a.prefix
                .cmp(&b.prefix)
                .then_with(|| key_of(a).cmp(key_of(b)))
                .then(a.record.cmp(&b.record))
        });
        let cuts = cuts(
            task.reducers,
            &task.boundaries,
            entries.len(),
            |at, boundary| {
                let entry = &entries[at];
                let position = Position {
                    task: task.task,
                    offset: data_start + u64::from(entry.record),
                };
                boundary.cmp_record(key_of(entry), position)
            },
        );

        writing.push_run(&entries, cuts, |entry, writer| {
            let at = entry.record as usize;
            let record = &data[at..at + entry.record_len as usize];
            layout.write_entry(key_of(entry), record, format.terminator(record), writer)
        })?;

        // The records not parsed yet begin the next run.
        data.drain(..parsed);
        data_start += parsed as u64;
        parsed = 0;
        entries.clear();
        keys.clear();
        writing.meter.set(held + data.len() as u64);
    }
    Ok(())
}

/// Makes entries for the whole records of `data` after `from`: all of
/// them if the chunk ends with `data`, else all but the last, which may
/// not be whole yet. Returns where the records with entries end.
fn parse(
    bound: &Bound,
    data: &[u8],
    from: usize,
    last: bool,
    keys_in_data: bool,
    entries: &mut Vec<Entry>,
    keys: &mut Vec<u8>,
) -> usize {
    let mut at = from;
    let mut records = bound.format().records(&data[from..]).peekable();
    while let Some(record) = records.next() {
        if !last && records.peek().is_none() {
            break;
        }
        let (key, key_len) = if keys_in_data {
            let key = bound.key_slice(record).expect("the key is a slice");
            let offset = key.as_ptr() as usize - data.as_ptr() as usize;
            (offset, key.len())
        } else {
            let start = keys.len();
            bound.sort_key(record, keys);
            (start, keys.len() - start)
        };
        let key_bytes = if keys_in_data {
            &data[key..key + key_len]
        } else {
            &keys[key..key + key_len]
        };
        let mut prefix = [0; 8];
        let len = key_len.min(8);
        prefix[..len].copy_from_slice(&key_bytes[..len]);
        entries.push(Entry {
            prefix: u64::from_be_bytes(prefix),
            key: key as u32,
            key_len: key_len as u32,
            record: at as u32,
            record_len: record.len() as u32,
        });
        at += record.len();
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_radix_sort_sorts() {
        let mut state = 0x1234_5678_9abc_def0_u64;
        let mut entries: Vec<u128> = (0..200_000u32)
            .map(|index| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let record: Vec<u8> = state.to_be_bytes().iter().chain(&[1, 2]).copied().collect();
                gensort_entry(&record, index)
            })
            .collect();
        let mut expected = entries.clone();
        expected.sort_unstable();
        radix_sort(&mut entries);
        assert_eq!(entries, expected);
    }

    #[test]
    fn gensort_entries_order_by_key_then_index() {
        let a = gensort_entry(&[1; 100], 7);
        let b = gensort_entry(&[1; 100], 8);
        let c = gensort_entry(&[2; 100], 0);
        assert!(a < b && b < c);
        assert_eq!(a as u32, 7);
    }

    #[test]
    fn cuts_follow_the_boundaries() {
        let keys: Vec<&[u8]> = vec![b"a", b"b", b"b", b"c", b"e"];
        let boundary = |key: &[u8], offset| Boundary {
            key: key.to_vec(),
            position: Position { task: 0, offset },
        };
        let compare = |at: usize, boundary: &Boundary| {
            boundary.cmp_record(
                keys[at],
                Position {
                    task: 0,
                    offset: at as u64,
                },
            )
        };
        let boundaries = [boundary(b"b", 1), boundary(b"d", 0)];
        assert_eq!(cuts(3, &boundaries, 5, compare), [2, 4, 5]);
        // Missing boundaries leave the last reducers empty.
        assert_eq!(cuts(3, &[], 5, compare), [5, 5, 5]);
        assert_eq!(cuts(1, &[], 5, compare), [5]);
    }

    #[test]
    fn parsing_leaves_a_record_that_may_not_be_whole() {
        let bound = Format::Lines.bind(None).unwrap();
        let data = b"b\na\nc";
        let (mut entries, mut keys) = (Vec::new(), Vec::new());
        let parsed = parse(&bound, data, 0, false, true, &mut entries, &mut keys);
        assert_eq!(parsed, 4);
        assert_eq!(entries.len(), 2);
        let parsed = parse(&bound, data, parsed, true, true, &mut entries, &mut keys);
        assert_eq!(parsed, 5);
        let records: Vec<(u32, u32, u32)> = entries
            .iter()
            .map(|entry| (entry.record, entry.record_len, entry.key_len))
            .collect();
        assert_eq!(records, [(0, 2, 1), (2, 2, 1), (4, 1, 1)]);
        assert!(keys.is_empty());
    }
}
