//! [`RangeReader`]: blocking, windowed reads of a byte range of one object.

use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Buf, Bytes};

use crate::{Storage, block_on};

/// Window used as the first one when no hint is given, and the largest
/// second window.
const SMALL_WINDOW: u64 = 64 * 1024;

/// The smallest second window.
const TINY_WINDOW: u64 = 4 * 1024;

/// Largest window: bounds the memory a reader holds.
const MAX_WINDOW: u64 = 8 * 1024 * 1024;

/// A blocking [`Read`] and [`BufRead`] over bytes `start..end` of one object,
/// fetched by ranged GETs as they are read.
///
/// The caller hints how much it expects to read, typically the nominal size
/// of a chunk; that much is fetched in windows of up to 8 MiB. Reading past
/// it usually means finishing a record that straddles the chunk end, which
/// is short, so the next window is a quarter of the hint (between 4 and
/// 64 KiB) and later ones double up to 8 MiB: a caller that stops early has
/// fetched at most one window more than it read. Every byte fetched is added
/// to the optional meter.
///
/// It blocks on the storage [`crate::runtime`], so it must be used from a plain
/// thread, not from async code.
pub struct RangeReader {
    storage: Storage,
    key: String,
    /// Offset of the first byte not fetched yet.
    next: u64,
    end: u64,
    window: u64,
    /// The size the caller expects to read.
    hint: u64,
    /// Where the expected read ends: up to here, fetches are as large as
    /// [`MAX_WINDOW`] allows; past it, they start small.
    hint_end: u64,
    buffer: Bytes,
    meter: Option<Arc<AtomicU64>>,
}

impl RangeReader {
    /// A reader of bytes `start..end` of the object `key`, `end` exclusive
    /// and no larger than the object; `first_window` is the size of the first
    /// fetch (0 for the default of 64 KiB).
    pub fn new(
        storage: Storage,
        key: impl Into<String>,
        start: u64,
        end: u64,
        first_window: u64,
        meter: Option<Arc<AtomicU64>>,
    ) -> RangeReader {
        RangeReader {
            storage,
            key: key.into(),
            next: start,
            end: end.max(start),
            window: if first_window == 0 {
                SMALL_WINDOW
            } else {
                first_window.clamp(1, MAX_WINDOW)
            },
            hint: first_window,
            hint_end: start.saturating_add(first_window),
            buffer: Bytes::new(),
            meter,
        }
    }

    /// Offset in the object of the next byte [`Read::read`] returns.
    pub fn position(&self) -> u64 {
        self.next - self.buffer.len() as u64
    }

    /// Fetches the next window into the empty buffer.
    fn fetch(&mut self) -> io::Result<()> {
        let length = self.window.min(self.end - self.next);
        let range = self.next..self.next + length;
        let bytes = block_on(self.storage.get_range(&self.key, range))?;

        if let Some(meter) = &self.meter {
            meter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        let bytes_len = bytes.len() as u64;
        self.next += bytes_len;
        if (bytes.len() as u64) < length {
            // The object is shorter than the caller said: stores return what
            // there is of a range that runs past the end, but refuse one that
            // starts there, so stop here and let the caller see the end.
            self.end = self.next;
        }
        self.buffer = bytes;

        let fetched_from = self.next - bytes_len;
        self.window = if self.next < self.hint_end {
            (self.hint_end - self.next).min(MAX_WINDOW)
        } else if fetched_from < self.hint_end {
            // Just past the hint: what is left is usually the rest of a
            // record that straddles its end, which is short.
            (self.hint / 4).clamp(TINY_WINDOW, SMALL_WINDOW)
        } else {
            (self.window * 2).min(MAX_WINDOW)
        };
        Ok(())
    }
}

impl BufRead for RangeReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.buffer.is_empty() && self.next < self.end {
            self.fetch()?;
        }
        Ok(&self.buffer)
    }

    fn consume(&mut self, amount: usize) {
        self.buffer.advance(amount.min(self.buffer.len()));
    }
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}
