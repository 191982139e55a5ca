//! A chunk of an object in storage: what a map task over storage receives.

use std::io::{self, BufRead, Read};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cloudbutton_partition::{Boundary, Delimiter, RecordReader, fetch_start};
use cloudbutton_storage::{RangeReader, Storage};
use serde::{Deserialize, Serialize};

use crate::context::TaskContext;

/// The first ranged read of a chunk fetches its nominal range plus a
/// quarter of it (within these bounds), so that the last record usually
/// ends without a second request and small chunks do not over-read much.
const LOOKAHEAD: std::ops::RangeInclusive<u64> = 256..=64 * 1024;

/// A byte range of one object, aligned to record boundaries when it is
/// read: the records whose first byte lies in the range, each read exactly
/// once across all chunks of the object.
///
/// A chunk is a plain description, so it can be sent to another machine;
/// [`open`](Chunk::open) reads it there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub(crate) store_url: String,
    pub(crate) key: String,
    pub(crate) url: String,
    pub(crate) object_size: u64,
    pub(crate) object_index: usize,
    pub(crate) range: Range<u64>,
    pub(crate) part: u32,
    pub(crate) parts: u32,
    /// The record delimiter, or none for exact byte ranges.
    pub(crate) delimiter: Option<Vec<u8>>,
}

impl Chunk {
    /// The object's key in its store.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The object's full URL, such as `file:///data/a.txt`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The nominal byte range; records may end past its end.
    pub fn range(&self) -> Range<u64> {
        self.range.clone()
    }

    /// This chunk's number within its object, from 0.
    pub fn part(&self) -> u32 {
        self.part
    }

    /// How many chunks its object was split into.
    pub fn parts(&self) -> u32 {
        self.parts
    }

    /// The size of the whole object.
    pub fn object_size(&self) -> u64 {
        self.object_size
    }

    /// The object's position among the job's input objects.
    pub fn object_index(&self) -> usize {
        self.object_index
    }

    /// Opens a streaming reader over the chunk's records. It counts the bytes
    /// it fetches in the task's statistics, and fails with
    /// [`io::ErrorKind::Interrupted`] once the task is cancelled.
    pub fn open(&self, ctx: &TaskContext) -> io::Result<ChunkReader> {
        let storage = Storage::connect(&self.store_url, ctx.storage())
            .map_err(|error| io::Error::new(error.io_kind(), error))?;
        let boundary = match &self.delimiter {
            Some(bytes) => Boundary::Records(Delimiter::new(bytes).map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: {error}", self.url),
                )
            })?),
            None => Boundary::Exact,
        };
        let start = fetch_start(&self.range, &boundary);
        let length = self.range.end - start;
        let lookahead = (length / 4).clamp(*LOOKAHEAD.start(), *LOOKAHEAD.end());
        let first_window = length + lookahead;
        let source = RangeReader::new(
            storage,
            self.key.clone(),
            start,
            self.object_size,
            first_window,
            Some(ctx.read_meter().clone()),
        );
        let guarded = Guarded {
            inner: source,
            cancelled: ctx.cancel_flags(),
        };
        Ok(ChunkReader {
            records: RecordReader::new(guarded, self.range.clone(), boundary),
            url: self.url.clone(),
            range: self.range.clone(),
        })
    }
}

impl Chunk {
    /// The first record of the whole object, without its delimiter (and
    /// without a `\r` before a `\n`): the header of a CSV file, which
    /// chunks other than the first need in order to read their rows.
    pub fn header(&self, ctx: &TaskContext) -> io::Result<Vec<u8>> {
        // The record that starts at byte 0 is the one the range 0..1 owns.
        let first = Chunk {
            range: 0..self.object_size.min(1),
            part: 0,
            ..self.clone()
        };
        let mut record = Vec::new();
        first.open(ctx)?.read_to_end(&mut record)?;
        if let Some(delimiter) = &self.delimiter
            && record.ends_with(delimiter)
        {
            record.truncate(record.len() - delimiter.len());
            if delimiter == b"\n" && record.ends_with(b"\r") {
                record.pop();
            }
        }
        Ok(record)
    }
}

/// Stops reading once the task is cancelled or has overrun its timeout.
struct Guarded<R> {
    inner: R,
    cancelled: [Arc<AtomicBool>; 2],
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self
            .cancelled
            .iter()
            .any(|flag| flag.load(Ordering::Relaxed))
        {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the task was cancelled",
            ));
        }
        self.inner.read(buf)
    }
}

/// Reads the records of one chunk, delimiters included. Errors name the
/// object and the chunk's range.
pub struct ChunkReader {
    records: RecordReader<Guarded<RangeReader>>,
    url: String,
    range: Range<u64>,
}

impl ChunkReader {
    fn annotate(&self, error: io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!(
                "reading {} bytes {}..{}: {error}",
                self.url, self.range.start, self.range.end
            ),
        )
    }

    /// The chunk's lines as strings, without their `\n` or `\r\n` ends.
    pub fn lines(self) -> impl Iterator<Item = io::Result<String>> {
        cloudbutton_partition::lines(self)
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.records.read(buf).map_err(|error| self.annotate(error))
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // Borrowing rules: find out about an error before returning the buffer.
        if let Err(error) = self.records.fill_buf() {
            return Err(self.annotate(error));
        }
        self.records.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.records.consume(amount);
    }
}
