//! A reference model of record ownership, and readers that stress buffer edges.

#![allow(dead_code)]

use std::io::{self, BufRead, Read};
use std::ops::Range;

use cloudbutton_partition::{Boundary, Delimiter, RecordReader, fetch_start};

/// Where each record of `object` starts and ends (delimiter included),
/// found by a naive scan from offset 0.
pub fn record_spans(object: &[u8], delimiter: &Delimiter) -> Vec<Range<usize>> {
    let d = delimiter.as_bytes();
    let mut spans = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at + d.len() <= object.len() {
        if &object[at..at + d.len()] == d {
            spans.push(start..at + d.len());
            start = at + d.len();
            at = start;
        } else {
            at += 1;
        }
    }
    if start < object.len() {
        spans.push(start..object.len());
    }
    spans
}

/// The bytes a chunk with nominal `range` owns: the records whose first byte
/// lies in it.
pub fn owned(object: &[u8], delimiter: &Delimiter, range: &Range<u64>) -> Range<usize> {
    owned_of(&record_spans(object, delimiter), range)
}

/// Like [`owned`], given the spans from [`record_spans`].
pub fn owned_of(spans: &[Range<usize>], range: &Range<u64>) -> Range<usize> {
    let first = spans.partition_point(|span| (span.start as u64) < range.start);
    let end = spans.partition_point(|span| (span.start as u64) < range.end);
    if first >= end {
        return 0..0;
    }
    spans[first].start..spans[end - 1].end
}

/// How far past `fetch_start` a reader for a chunk must read at least: to
/// the end of its last owned record or, when it owns nothing, to the end of
/// the delimiter that proves it or to the end of the range.
pub fn needed(object: &[u8], boundary: &Boundary, range: &Range<u64>) -> usize {
    let from = fetch_start(range, boundary) as usize;
    let delimiter = match boundary {
        Boundary::Exact => return (range.end - range.start) as usize,
        Boundary::Records(delimiter) => delimiter,
    };
    if range.is_empty() {
        return 0;
    }
    let mine = owned(object, delimiter, range);
    if !mine.is_empty() {
        return mine.end - from;
    }
    let first_start_after = record_spans(object, delimiter)
        .into_iter()
        .map(|span| span.start)
        .find(|&start| start >= range.start as usize);
    first_start_after
        .unwrap_or(object.len())
        .min(range.end as usize)
        - from
}

/// A reader that hands out at most `pieces[i]` bytes on its i-th read,
/// cycling through `pieces`.
pub struct Trickle<'a> {
    data: &'a [u8],
    pieces: Vec<usize>,
    next: usize,
}

impl<'a> Trickle<'a> {
    pub fn new(data: &'a [u8], pieces: &[usize]) -> Self {
        assert!(pieces.iter().all(|&p| p > 0));
        Self {
            data,
            pieces: pieces.to_vec(),
            next: 0,
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let piece = self.pieces[self.next % self.pieces.len()];
        self.next += 1;
        let n = piece.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// How a test pulls bytes out of a chunk reader.
#[derive(Debug, Clone)]
pub enum Drain {
    /// `Read::read_to_end`.
    ToEnd,
    /// `Read::read` into buffers of these sizes, cycling.
    Reads(Vec<usize>),
    /// `BufRead::fill_buf`, consuming at most these many bytes, cycling.
    Consumes(Vec<usize>),
}

pub fn drain(reader: &mut impl BufRead, how: &Drain) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match how {
        Drain::ToEnd => {
            reader.read_to_end(&mut out)?;
        }
        Drain::Reads(sizes) => {
            for &size in sizes.iter().cycle() {
                let mut buf = vec![0; size];
                let n = reader.read(&mut buf)?;
                if n == 0 && size > 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
        Drain::Consumes(sizes) => {
            for &size in sizes.iter().cycle() {
                let available = reader.fill_buf()?;
                if available.is_empty() {
                    break;
                }
                let n = size.min(available.len());
                out.extend_from_slice(&available[..n]);
                reader.consume(n);
            }
        }
    }
    Ok(out)
}

/// Reads one chunk of `object` the way a task would, fetching from
/// `fetch_start`, with the whole object available after it.
pub fn read_chunk(object: &[u8], range: Range<u64>, boundary: &Boundary) -> Vec<u8> {
    let from = fetch_start(&range, boundary) as usize;
    let mut reader = RecordReader::new(&object[from..], range, boundary.clone());
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    out
}
