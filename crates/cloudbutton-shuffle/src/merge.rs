//! The reducer's k-way merge: sorted runs read through bounded windows,
//! merged with a binary heap, written as they come.
//!
//! A reducer never holds its partition: each run is read one window at a
//! time ([`Cursor`]), and the windows of all runs share the reducer's read
//! budget. An entry that straddles two windows is copied whole into a
//! small carry buffer. [`Meter`] counts what the buffers hold, so that
//! tests can check the bound without looking at the process's memory.
//!
//! Equal keys come out in run order, and runs are given in input order,
//! so equal keys keep their input order.

use std::cmp::Ordering;
use std::io::{self, Write};
use std::ops::Range;

use bytes::Bytes;

use crate::layout::{Layout, key_prefix};

/// Counts the bytes a task holds in its buffers, and the most it has held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meter {
    current: u64,
    peak: u64,
}

impl Meter {
    /// A meter that starts with `held` bytes (buffers counted whole).
    pub fn holding(held: u64) -> Meter {
        Meter {
            current: held,
            peak: held,
        }
    }

    /// Counts `bytes` more.
    pub fn add(&mut self, bytes: u64) {
        self.current += bytes;
        self.peak = self.peak.max(self.current);
    }

    /// Counts exactly `bytes` from now on.
    pub fn set(&mut self, bytes: u64) {
        self.current = bytes;
        self.peak = self.peak.max(bytes);
    }

    /// Counts `bytes` fewer.
    pub fn sub(&mut self, bytes: u64) {
        self.current = self.current.saturating_sub(bytes);
    }

    /// Bytes held now.
    pub fn current(&self) -> u64 {
        self.current
    }

    /// The most bytes held at once.
    pub fn peak(&self) -> u64 {
        self.peak
    }
}

/// Where a cursor's bytes come from: ranged reads of one object.
pub trait Source {
    /// The bytes of `range`, all of them.
    fn fetch(&mut self, range: Range<u64>) -> io::Result<Bytes>;
}

impl Source for Bytes {
    fn fetch(&mut self, range: Range<u64>) -> io::Result<Bytes> {
        Ok(self.slice(range.start as usize..range.end as usize))
    }
}

/// Where the current entry is.
#[derive(Clone, Copy, Debug)]
enum Current {
    None,
    Window { start: usize, end: usize },
    Carry,
}

/// The entries of one sorted run, read one window at a time.
pub struct Cursor<S> {
    source: S,
    layout: Layout,
    /// The next byte of the run not fetched yet, and the run's end.
    next: u64,
    end: u64,
    window_size: u64,
    window: Bytes,
    position: usize,
    /// An entry that straddles two windows.
    carry: Vec<u8>,
    /// The carry capacity the meter knows of.
    carry_counted: u64,
    current: Current,
}

impl<S: Source> Cursor<S> {
    /// A cursor over the entries of `range`, read in windows of
    /// `window_size` bytes (at least 1).
    pub fn new(source: S, layout: Layout, range: Range<u64>, window_size: u64) -> Self {
        Cursor {
            source,
            layout,
            next: range.start,
            end: range.end,
            window_size: window_size.max(1),
            window: Bytes::new(),
            position: 0,
            carry: Vec::new(),
            carry_counted: 0,
            current: Current::None,
        }
    }

    /// The current entry; only after [`Cursor::advance`] returned true.
    pub fn entry(&self) -> &[u8] {
        match self.current {
            Current::Window { start, end } => &self.window[start..end],
            Current::Carry => &self.carry,
            Current::None => &[],
        }
    }

    /// Moves to the next entry; false at the end of the run.
    pub fn advance(&mut self, meter: &mut Meter) -> io::Result<bool> {
        loop {
            let rest = &self.window[self.position..];
            if let Some(len) = self.layout.entry_len(rest)
                && len <= rest.len()
            {
                self.current = Current::Window {
                    start: self.position,
                    end: self.position + len,
                };
                self.position += len;
                return Ok(true);
            }
            if rest.is_empty() {
                if self.next >= self.end {
                    self.current = Current::None;
                    self.release(meter);
                    return Ok(false);
                }
                self.fetch(meter)?;
                continue;
            }
            return self.carry_over(meter);
        }
    }

    /// Copies the incomplete entry at the end of the window into the
    /// carry buffer and completes it from the next windows.
    fn carry_over(&mut self, meter: &mut Meter) -> io::Result<bool> {
        // Exact reservations keep the carry as large as the largest entry.
        self.carry.clear();
        self.carry.reserve_exact(self.window.len() - self.position);
        self.carry.extend_from_slice(&self.window[self.position..]);
        self.count_carry(meter);
        self.position = self.window.len();
        loop {
            let needed = match self.layout.entry_len(&self.carry) {
                Some(len) => len,
                None => self.layout.header_len(),
            };
            if self.carry.len() >= needed && self.layout.entry_len(&self.carry).is_some() {
                break;
            }
            if self.position == self.window.len() {
                if self.next >= self.end {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the run ends within an entry ({} of {needed} bytes)",
                            self.carry.len()
                        ),
                    ));
                }
                self.fetch(meter)?;
            }
            let take = (needed - self.carry.len()).min(self.window.len() - self.position);
            self.carry.reserve_exact(take);
            self.carry
                .extend_from_slice(&self.window[self.position..self.position + take]);
            self.count_carry(meter);
            self.position += take;
        }
        self.current = Current::Carry;
        Ok(true)
    }

    /// Replaces the spent window with the next one.
    fn fetch(&mut self, meter: &mut Meter) -> io::Result<()> {
        let range = self.next..self.end.min(self.next + self.window_size);
        meter.sub(self.window.len() as u64);
        self.window = Bytes::new();
        let window = self.source.fetch(range.clone())?;
        if window.len() as u64 != range.end - range.start {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "bytes {}..{} came back with {} bytes",
                    range.start,
                    range.end,
                    window.len()
                ),
            ));
        }
        meter.add(window.len() as u64);
        self.next = range.end;
        self.window = window;
        self.position = 0;
        Ok(())
    }

    /// Counts the growth of the carry buffer.
    fn count_carry(&mut self, meter: &mut Meter) {
        let capacity = self.carry.capacity() as u64;
        if capacity > self.carry_counted {
            meter.add(capacity - self.carry_counted);
            self.carry_counted = capacity;
        }
    }

    /// Lets go of the buffers of a finished run.
    fn release(&mut self, meter: &mut Meter) {
        meter.sub(self.window.len() as u64 + self.carry_counted);
        self.window = Bytes::new();
        self.carry = Vec::new();
        self.carry_counted = 0;
    }
}

/// Merges sorted runs, given in input order, and writes each entry's
/// record to `out`; returns how many records it wrote. Checks `stop`
/// now and then and fails with `Interrupted` once it says so.
pub fn merge<S: Source>(
    mut cursors: Vec<Cursor<S>>,
    layout: Layout,
    meter: &mut Meter,
    out: &mut impl Write,
    stop: impl Fn() -> bool,
) -> io::Result<u64> {
    // The heap holds the runs that have an entry, by (key, run).
    let mut heap: Vec<(u128, u32)> = Vec::with_capacity(cursors.len());
    for (run, cursor) in cursors.iter_mut().enumerate() {
        if cursor.advance(meter)? {
            heap.push((key_prefix(layout.key(cursor.entry())), run as u32));
        }
    }
    let exact = layout.prefix_is_exact();
    let less = |a: &(u128, u32), b: &(u128, u32), cursors: &[Cursor<S>]| -> bool {
        let by_key = a.0.cmp(&b.0).then_with(|| {
            if exact {
                Ordering::Equal
            } else {
                let key_a = layout.key(cursors[a.1 as usize].entry());
                let key_b = layout.key(cursors[b.1 as usize].entry());
                key_a.cmp(key_b)
            }
        });
        by_key.then(a.1.cmp(&b.1)) == Ordering::Less
    };
    let sift_down = |heap: &mut [(u128, u32)], cursors: &[Cursor<S>], mut at: usize| loop {
        let left = 2 * at + 1;
        if left >= heap.len() {
            break;
        }
        let right = left + 1;
        let child = if right < heap.len() && less(&heap[right], &heap[left], cursors) {
            right
        } else {
            left
        };
        if !less(&heap[child], &heap[at], cursors) {
            break;
        }
        heap.swap(at, child);
        at = child;
    };
    for at in (0..heap.len() / 2).rev() {
        sift_down(&mut heap, &cursors, at);
    }

    let mut records = 0u64;
    while let Some(&(_, run)) = heap.first() {
        let cursor = &mut cursors[run as usize];
        out.write_all(layout.record(cursor.entry()))?;
        records += 1;
        if records.is_multiple_of(65_536) && stop() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the task was cancelled",
            ));
        }
        if cursor.advance(meter)? {
            heap[0].0 = key_prefix(layout.key(cursor.entry()));
        } else {
            let last = heap.len() - 1;
            heap.swap(0, last);
            heap.pop();
        }
        sift_down(&mut heap, &cursors, 0);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;

    /// A run of lines, as a map task writes it.
    fn run(layout: Layout, lines: &[&str]) -> Bytes {
        let mut out = Vec::new();
        for line in lines {
            layout
                .write_entry(line.as_bytes(), line.as_bytes(), b"\n", &mut out)
                .unwrap();
        }
        out.into()
    }

    fn merged(runs: &[Bytes], layout: Layout, window: u64) -> (String, Meter) {
        let cursors = runs
            .iter()
            .map(|run| Cursor::new(run.clone(), layout, 0..run.len() as u64, window))
            .collect();
        let mut meter = Meter::default();
        let mut out = Vec::new();
        let records = merge(cursors, layout, &mut meter, &mut out, || false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(records as usize, text.lines().count());
        (text, meter)
    }

    #[test]
    fn runs_merge_in_key_order_and_ties_in_run_order() {
        let layout = Layout::Prefixed;
        let runs = [
            run(layout, &["apple", "cherry", "cherry"]),
            run(layout, &["banana", "cherry", "date"]),
            run(layout, &[]),
            run(layout, &["a", "apple", "zebra"]),
        ];
        for window in [1, 3, 9, 1000] {
            let (text, meter) = merged(&runs, layout, window);
            assert_eq!(
                text, "a\napple\napple\nbanana\ncherry\ncherry\ncherry\ndate\nzebra\n",
                "windows of {window}"
            );
            assert_eq!(meter.current(), 0, "every buffer was let go");
        }
    }

    #[test]
    fn windows_bound_what_the_cursors_hold() {
        let layout = Layout::of(&Format::Gensort);
        let record = |key: u8, tag: u8| {
            let mut record = vec![key; 10];
            record.extend(vec![tag; 90]);
            record
        };
        let runs: Vec<Bytes> = (0..4u8)
            .map(|run| {
                (0..50u8)
                    .flat_map(|n| record(n * 4 + run, run))
                    .collect::<Vec<u8>>()
                    .into()
            })
            .collect();
        let cursors = runs
            .iter()
            .map(|run| Cursor::new(run.clone(), layout, 0..run.len() as u64, 250))
            .collect();
        let mut meter = Meter::default();
        let mut out = Vec::new();
        assert_eq!(
            merge(cursors, layout, &mut meter, &mut out, || false).unwrap(),
            200
        );
        let keys: Vec<u8> = out.chunks(100).map(|record| record[0]).collect();
        assert_eq!(keys, (0..200).collect::<Vec<u8>>());
        // Four windows of 250 bytes and four carries of one record.
        assert!(meter.peak() <= 4 * 250 + 4 * 100, "{meter:?}");
    }

    #[test]
    fn a_run_cut_within_an_entry_is_an_error() {
        let layout = Layout::Keyed;
        let whole = run(layout, &["one", "two"]);
        let cut = whole.slice(..whole.len() - 2);
        let cursors = vec![Cursor::new(cut.clone(), layout, 0..cut.len() as u64, 4)];
        let error = merge(
            cursors,
            layout,
            &mut Meter::default(),
            &mut Vec::new(),
            || false,
        )
        .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    proptest::proptest! {
        #[test]
        fn a_merge_is_a_stable_sort_of_its_runs_within_its_windows(
            runs in proptest::collection::vec(
                proptest::collection::vec("[ab]{0,3}", 0..20), 0..6),
            window in 1u64..40,
        ) {
            let layout = Layout::Keyed;
            let sorted: Vec<Vec<String>> = runs
                .iter()
                .map(|run| {
                    let mut run = run.clone();
                    run.sort();
                    run
                })
                .collect();
            let bytes: Vec<Bytes> = sorted
                .iter()
                .map(|lines| run(layout, &lines.iter().map(String::as_str).collect::<Vec<_>>()))
                .collect();
            let (text, meter) = merged(&bytes, layout, window);

            // Equal keys in run order: a stable sort of the runs one after another.
            let mut expected: Vec<&String> = sorted.iter().flatten().collect();
            expected.sort();
            let expected: String = expected.iter().map(|line| format!("{line}\n")).collect();
            proptest::prop_assert_eq!(text, expected);
            // A window and a carry of at most one entry (8 + 3 + 4 bytes) per run.
            proptest::prop_assert!(meter.peak() <= runs.len() as u64 * (window + 15));
        }
    }

    #[test]
    fn a_stop_interrupts_the_merge() {
        let layout = Layout::Prefixed;
        let lines: Vec<String> = (0..70_000).map(|n| format!("{n:06}")).collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let runs = [run(layout, &lines)];
        let cursors = vec![Cursor::new(
            runs[0].clone(),
            layout,
            0..runs[0].len() as u64,
            4096,
        )];
        let error = merge(
            cursors,
            layout,
            &mut Meter::default(),
            &mut io::sink(),
            || true,
        )
        .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Interrupted);
    }
}
