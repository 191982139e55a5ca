//! Reading exactly the records a chunk owns, from a stream of its object.

use std::io::{self, BufRead, Read};
use std::ops::Range;

use crate::delimiter::Matcher;
use crate::{Boundary, PartitionError};

/// The size of the internal buffer, and of most reads from the inner reader.
const DEFAULT_CAPACITY: usize = 64 * 1024;

/// The first read while looking for a delimiter. It is small so that a
/// reader that only needs to finish one short record does not pull much
/// beyond it; it doubles on each further read, up to the buffer size.
const FIRST_SCAN_READ: usize = 8 * 1024;

/// A reader that yields the records a chunk owns, then ends.
///
/// It wraps a reader of the chunk's object that starts at
/// [`fetch_start`](crate::fetch_start) and may go on to the end of the object.
/// With [`Boundary::Records`], it yields the bytes of the records whose first
/// byte lies in the chunk's nominal range, delimiters included, exactly as
/// they are in the object. With [`Boundary::Exact`], it yields the range's
/// bytes and reads not one byte more.
///
/// It stops reading from the inner reader as soon as it knows the last owned
/// record has ended. Looking for that record's delimiter, it reads 8 KiB,
/// then twice as much each time up to the buffer size, so it pulls at most
/// 8 KiB beyond a short record, and never more than the buffer size. A chunk
/// that owns no record reads no further than its range end.
///
/// Between the first owned record and the last one, bytes pass through a
/// 64 KiB buffer without being scanned; `read` calls with a buffer at least
/// that large bypass it.
///
/// If the object ends before the end of the nominal range, reading fails
/// with [`io::ErrorKind::UnexpectedEof`] carrying a
/// [`PartitionError::ObjectTruncated`].
///
/// ```
/// use std::io::Read;
/// use cloudbutton_partition::{Boundary, RecordReader, fetch_start};
///
/// let object = b"alpha\nbeta\ngamma\n";
/// let range = 3..8; // "ha\nbe": the chunk owns the record starting at 6
/// let boundary = Boundary::lines();
/// let inner = &object[fetch_start(&range, &boundary) as usize..];
///
/// let mut chunk = String::new();
/// RecordReader::new(inner, range, boundary).read_to_string(&mut chunk).unwrap();
/// assert_eq!(chunk, "beta\n");
/// ```
pub struct RecordReader<R> {
    inner: R,
    range: Range<u64>,
    /// The delimiter search, `None` for [`Boundary::Exact`].
    matcher: Option<Matcher>,
    /// The delimiter length, 0 for [`Boundary::Exact`].
    delimiter_len: usize,

    buf: Box<[u8]>,
    /// The object offset of `buf[0]`.
    base: u64,
    /// The next byte to hand out; bytes before it are consumed or discarded.
    pos: usize,
    /// `buf[pos..ready]` are owned bytes ready to hand out.
    ready: usize,
    /// `buf[..filled]` holds data read from the inner reader.
    filled: usize,
    /// While looking for a delimiter: no wanted occurrence starts before it.
    scan: usize,
    /// How much to read next while looking for a delimiter.
    scan_read: usize,

    phase: Phase,
    consumed: u64,
    eof: bool,
}

/// The steps of reading a chunk, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Looking for the delimiter that ends the record before the first
    /// owned one; nothing is handed out.
    Seek,
    /// Handing out bytes without scanning them, up to this object offset;
    /// no delimiter that ends the chunk can start before it.
    Pass { until: u64 },
    /// Handing out bytes while looking for the delimiter that ends the last
    /// owned record.
    Tail,
    /// Nothing more to read; `buf[pos..ready]` may still be handed out.
    Done,
}

impl<R: Read> RecordReader<R> {
    /// Wraps `inner`, a reader of the object positioned at
    /// [`fetch_start`](crate::fetch_start)`(&range, &boundary)`, to read the
    /// chunk with nominal byte range `range`.
    pub fn new(inner: R, range: Range<u64>, boundary: Boundary) -> Self {
        Self::with_capacity(DEFAULT_CAPACITY, inner, range, boundary)
    }

    /// Like [`RecordReader::new`], with an internal buffer of `capacity`
    /// bytes (raised to the delimiter length if smaller).
    pub fn with_capacity(capacity: usize, inner: R, range: Range<u64>, boundary: Boundary) -> Self {
        let base = crate::fetch_start(&range, &boundary);
        let (matcher, delimiter_len) = match &boundary {
            Boundary::Records(delimiter) => (Some(Matcher::new(delimiter)), delimiter.len()),
            Boundary::Exact => (None, 0),
        };

        // A record can only start in a non-empty range. The first chunk owns
        // the record at offset 0 without looking for it; any other chunk
        // first finds where its first owned record starts.
        let phase = if range.is_empty() {
            Phase::Done
        } else if range.start == 0 || matcher.is_none() {
            Phase::Pass {
                until: range.end.saturating_sub(delimiter_len as u64),
            }
        } else {
            Phase::Seek
        };

        let capacity = capacity.max(delimiter_len).max(1);
        Self {
            inner,
            range,
            matcher,
            delimiter_len,
            buf: vec![0; capacity].into_boxed_slice(),
            base,
            pos: 0,
            ready: 0,
            filled: 0,
            scan: 0,
            scan_read: FIRST_SCAN_READ,
            phase,
            consumed: 0,
            eof: false,
        }
    }

    /// How many bytes have been read from the inner reader so far.
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// The nominal byte range of the chunk.
    pub fn range(&self) -> &Range<u64> {
        &self.range
    }

    /// Gives back the inner reader, positioned `bytes_consumed()` bytes after
    /// where it started.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The object offset of `buf[index]`.
    fn offset(&self, index: usize) -> u64 {
        self.base + index as u64
    }

    /// Takes one step towards more ready bytes or the end of the chunk.
    fn advance(&mut self) -> io::Result<()> {
        match self.phase {
            Phase::Done => {}

            Phase::Seek => match self.find() {
                Some(found) => {
                    let start = found + self.delimiter_len;
                    let start_offset = self.offset(start);
                    self.pos = start;
                    self.ready = start;
                    self.phase = if start_offset >= self.range.end {
                        Phase::Done
                    } else {
                        let until = self.range.end.saturating_sub(self.delimiter_len as u64);
                        Phase::Pass {
                            until: until.max(start_offset),
                        }
                    };
                }
                None => {
                    // Bytes before `scan` hold no owned byte and no part of
                    // the delimiter being looked for.
                    self.pos = self.scan;
                    self.ready = self.scan;

                    // Past the range end, a record found later would start
                    // after the range: it is not this chunk's.
                    if self.offset(self.filled) >= self.range.end {
                        self.phase = Phase::Done;
                    } else {
                        self.read_more()?;
                    }
                }
            },

            Phase::Pass { until } => {
                if self.offset(self.filled) >= until {
                    let until = (until - self.base) as usize;
                    self.ready = until;
                    self.scan = until;
                    self.scan_read = FIRST_SCAN_READ;
                    self.phase = if self.matcher.is_some() {
                        Phase::Tail
                    } else {
                        Phase::Done
                    };
                } else if self.ready < self.filled {
                    self.ready = self.filled;
                } else {
                    self.read_more()?;
                }
            }

            Phase::Tail => match self.find() {
                Some(found) => {
                    self.ready = found + self.delimiter_len;
                    self.phase = Phase::Done;
                }
                None if self.ready < self.filled => self.ready = self.filled,
                None => self.read_more()?,
            },
        }
        Ok(())
    }

    /// Looks for the delimiter in `buf[scan..filled]` and returns where it
    /// starts; when it is not there, moves `scan` past every offset where it
    /// cannot start given the bytes read so far.
    fn find(&mut self) -> Option<usize> {
        let matcher = self.matcher.as_ref()?;
        match matcher.find(&self.buf[self.scan..self.filled]) {
            Some(found) => Some(self.scan + found),
            None => {
                let partial = self.filled.saturating_sub(self.delimiter_len - 1);
                self.scan = self.scan.max(partial);
                None
            }
        }
    }

    /// Reads more of the object into the buffer, once every ready byte has
    /// been handed out; at the end of the object, finishes the chunk.
    fn read_more(&mut self) -> io::Result<()> {
        debug_assert_eq!(self.pos, self.ready);
        debug_assert!(self.phase == Phase::Seek || self.ready == self.filled);
        if self.eof {
            return self.finish_at_eof();
        }

        // Keep only the bytes that may still begin a delimiter: at most one
        // delimiter length, so this move is cheap.
        let keep = match self.phase {
            Phase::Seek | Phase::Tail => self.scan.min(self.pos),
            Phase::Pass { .. } | Phase::Done => self.pos,
        };
        self.buf.copy_within(keep..self.filled, 0);
        self.base += keep as u64;
        self.pos -= keep;
        self.ready -= keep;
        self.filled -= keep;
        self.scan = self.scan.saturating_sub(keep);

        // Read no further than the phase may need: up to `until` while
        // passing through, up to the range end while looking for the first
        // record, and in growing steps while looking for the last delimiter.
        let free = self.buf.len() - self.filled;
        let to = |end: u64| usize::try_from(end - self.offset(self.filled)).unwrap_or(usize::MAX);
        let want = match self.phase {
            Phase::Pass { until } => free.min(to(until)),
            Phase::Seek => free.min(self.scan_read).min(to(self.range.end)),
            Phase::Tail | Phase::Done => free.min(self.scan_read),
        };
        if !matches!(self.phase, Phase::Pass { .. }) {
            self.scan_read = self.scan_read.saturating_mul(2);
        }
        let end = self.filled + want;
        let n = read_retrying(&mut self.inner, &mut self.buf[self.filled..end])?;
        self.consumed += n as u64;
        self.filled += n;
        if n == 0 {
            self.eof = true;
            return self.finish_at_eof();
        }
        Ok(())
    }

    /// Ends the chunk at the end of the object, which must not come before
    /// the end of the nominal range.
    fn finish_at_eof(&mut self) -> io::Result<()> {
        let ended_at = self.offset(self.filled);
        if ended_at < self.range.end {
            let error = PartitionError::ObjectTruncated {
                range: self.range.clone(),
                ended_at,
            };
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, error));
        }

        // In `Tail`, every byte read is already ready: the last record ends
        // with the object. In `Seek`, no record starts in the range.
        self.phase = Phase::Done;
        Ok(())
    }
}

/// Reads once, retrying reads interrupted by a signal.
fn read_retrying(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

impl<R: Read> Read for RecordReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // A large read in the middle of the chunk goes straight to `out`.
        if let Phase::Pass { until } = self.phase
            && self.pos == self.filled
            && out.len() >= self.buf.len()
            && !self.eof
            && self.offset(self.filled) < until
        {
            let at = self.offset(self.filled);
            let left = usize::try_from(until - at).unwrap_or(usize::MAX);
            let want = out.len().min(left);
            let n = read_retrying(&mut self.inner, &mut out[..want])?;
            if n > 0 {
                self.consumed += n as u64;
                self.base = at + n as u64;
                self.pos = 0;
                self.ready = 0;
                self.filled = 0;
                self.scan = 0;
                return Ok(n);
            }
            self.eof = true;
        }

        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for RecordReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.ready && self.phase != Phase::Done {
            self.advance()?;
        }
        Ok(&self.buf[self.pos..self.ready])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.ready);
    }
}

impl<R> std::fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordReader")
            .field("range", &self.range)
            .field("phase", &self.phase)
            .field("offset", &(self.base + self.pos as u64))
            .field("bytes_consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}
