//! [`RecordReader`]: an object, or a chunk of one, as buffers of whole
//! records.

use std::io::{self, Read};

use super::csv::{self, Scanner};
use super::{Format, FormatError, lines};
use crate::gensort::RECORD_LEN;

/// The buffer a reader starts with; it grows for a record longer than it.
const BUFFER_SIZE: usize = 1 << 20;

/// Reads records from a stream that starts at a record start (an object's
/// first byte, or a chunk's from [`Format::split_points`]), and hands them
/// out in batches of whole records, so that no record is cut between two
/// reads.
///
/// It follows the format's rules to the end of the stream: the last record
/// may lack its terminator, but a gensort stream must end on a record
/// boundary and a csv stream outside quotes, or the last batch is an
/// error that names the offset.
///
/// ```
/// use cloudbutton_shuffle::format::{Format, RecordReader};
///
/// let format = Format::Lines;
/// let mut reader = RecordReader::new(&format, &b"b\na\nc"[..]);
/// let mut lines = Vec::new();
/// while let Some(batch) = reader.next_batch()? {
///     lines.extend(format.records(batch).map(<[u8]>::to_vec));
/// }
/// assert_eq!(lines, [&b"b\n"[..], b"a\n", b"c"]);
/// # Ok::<(), cloudbutton_shuffle::format::FormatError>(())
/// ```
pub struct RecordReader<R> {
    reader: R,
    format: Format,
    ends: Ends,
    buffer: Vec<u8>,
    /// The first byte not handed out yet.
    start: usize,
    /// The end of the last whole record found in the buffer.
    complete: usize,
    /// How far the buffer was looked at for record ends.
    scanned: usize,
    /// The end of the bytes read.
    end: usize,
    /// The offset in the object of the buffer's first byte.
    offset: u64,
    eof: bool,
}

/// How to find where records end.
enum Ends {
    Fixed,
    Lines,
    Csv(Scanner),
}

impl<R: Read> RecordReader<R> {
    /// A reader of the records of an object, from its first byte. For a
    /// format with a header, [`RecordReader::read_header`] takes it first.
    pub fn new(format: &Format, reader: R) -> RecordReader<R> {
        RecordReader::starting_at(format, reader, 0)
    }

    /// A reader of the records of a stream that starts at `offset` in its
    /// object, at a record start (a chunk): offsets in errors are the
    /// object's.
    pub fn starting_at(format: &Format, reader: R, offset: u64) -> RecordReader<R> {
        RecordReader {
            reader,
            format: format.clone(),
            ends: match format {
                Format::Gensort => Ends::Fixed,
                Format::Lines => Ends::Lines,
                Format::Csv(_) => Ends::Csv(Scanner::default()),
            },
            buffer: Vec::new(),
            start: 0,
            complete: 0,
            scanned: 0,
            end: 0,
            offset,
            eof: false,
        }
    }

    /// Reads the header, the first record, for a format that has one (see
    /// [`Format::read_header`]); `None` without reading for the others, or
    /// if the stream is empty.
    pub fn read_header(&mut self) -> Result<Option<Vec<u8>>, FormatError> {
        if !self.format.has_header() {
            return Ok(None);
        }
        Ok(self.next_record()?.map(<[u8]>::to_vec))
    }

    /// The next record, or `None` at the end of the stream.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, FormatError> {
        self.fill()?;
        let available = &self.buffer[self.start..self.complete];
        if available.is_empty() {
            return Ok(None);
        }
        let len = match self.ends {
            Ends::Fixed => available.len().min(RECORD_LEN),
            Ends::Lines => lines::record_len(available),
            Ends::Csv(_) => csv::record_len(available),
        };
        self.start += len;
        Ok(Some(&available[..len]))
    }

    /// The next batch of whole records, as many as were read, to split
    /// with [`Format::records`]; `None` at the end of the stream.
    pub fn next_batch(&mut self) -> Result<Option<&[u8]>, FormatError> {
        self.fill()?;
        let batch = &self.buffer[self.start..self.complete];
        if batch.is_empty() {
            return Ok(None);
        }
        self.start = self.complete;
        Ok(Some(batch))
    }

    /// The offset in the object of the next record.
    pub fn position(&self) -> u64 {
        self.offset + self.start as u64
    }

    /// Reads until a whole record is there, or the stream ends.
    fn fill(&mut self) -> Result<(), FormatError> {
        while self.complete == self.start && !self.eof {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.offset += self.start as u64;
                self.end -= self.start;
                self.scanned -= self.start;
                self.complete = 0;
                self.start = 0;
            }
            if self.buffer.is_empty() {
                // Zeroed by the allocator, which is cheap for fresh pages.
                self.buffer = vec![0; BUFFER_SIZE];
            } else if self.end == self.buffer.len() {
                self.buffer.resize(self.buffer.len() * 2, 0);
            }
            match self.reader.read(&mut self.buffer[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(read) => {
                    self.end += read;
                    self.find_ends();
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(FormatError::Io {
                        offset: self.offset + self.end as u64,
                        error,
                    });
                }
            }
        }

        if self.eof && self.complete < self.end {
            // What is left is the last record, without its terminator.
            match &self.ends {
                Ends::Fixed => {
                    return Err(FormatError::PartialRecord {
                        offset: self.offset + self.complete as u64,
                        len: (self.end - self.complete) as u64,
                    });
                }
                Ends::Csv(scanner) => scanner.finish()?,
                Ends::Lines => {}
            }
            self.complete = self.end;
        }
        Ok(())
    }

    /// Moves `complete` to the end of the last whole record read.
    fn find_ends(&mut self) {
        let new = &self.buffer[self.scanned..self.end];
        match &mut self.ends {
            Ends::Fixed => {
                let whole = (self.end - self.start) / RECORD_LEN * RECORD_LEN;
                self.complete = self.start + whole;
            }
            Ends::Lines => {
                if let Some(newline) = memchr::memrchr(b'\n', new) {
                    self.complete = self.scanned + newline + 1;
                }
            }
            Ends::Csv(scanner) => {
                let mut last = None;
                scanner.scan(new, self.offset + self.scanned as u64, |end| {
                    last = Some(end)
                });
                if let Some(end) = last {
                    self.complete = (end - self.offset) as usize;
                }
            }
        }
        self.scanned = self.end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::Trickle;

    fn all_records(format: &Format, data: &[u8], step: usize) -> Vec<Vec<u8>> {
        let mut reader = RecordReader::new(format, Trickle { data, step });
        let mut records = Vec::new();
        while let Some(batch) = reader.next_batch().unwrap() {
            records.extend(format.records(batch).map(<[u8]>::to_vec));
        }
        records
    }

    #[test]
    fn batches_hold_whole_records_whatever_the_reads() {
        let lines = b"one\ntwo\r\n\nthree\nlast";
        let csv_data = b"h\n\"a\nb\",1\nc,\"\"\"\"\n\"x\"";
        let gensort: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let csv = Format::parse("csv", Some("h:string")).unwrap();
        for step in [1, 2, 3, 7, 100, 4096] {
            assert_eq!(
                all_records(&Format::Lines, lines, step),
                Format::Lines
                    .records(lines)
                    .map(<[u8]>::to_vec)
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                all_records(&csv, csv_data, step),
                [&b"h\n"[..], b"\"a\nb\",1\n", b"c,\"\"\"\"\n", b"\"x\""]
            );
            let records = all_records(&Format::Gensort, &gensort, step);
            assert_eq!(records.len(), 10);
            assert_eq!(records.concat(), gensort);
        }
    }

    #[test]
    fn a_record_longer_than_the_buffer_comes_out_whole() {
        let mut data = vec![b'x'; 3 * BUFFER_SIZE + 5];
        data.push(b'\n');
        data.extend_from_slice(b"short\n");
        let records = all_records(&Format::Lines, &data, 1 << 16);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].len(), 3 * BUFFER_SIZE + 6);
    }

    #[test]
    fn a_gensort_stream_must_end_on_a_record_boundary() {
        let data = vec![0; 250];
        let mut reader = RecordReader::starting_at(&Format::Gensort, &data[..], 1000);
        assert_eq!(reader.next_batch().unwrap().unwrap().len(), 200);
        assert_eq!(reader.position(), 1200);
        assert!(matches!(
            reader.next_batch(),
            Err(FormatError::PartialRecord {
                offset: 1200,
                len: 50
            })
        ));
    }

    #[test]
    fn records_come_one_by_one_too() {
        let format = Format::parse("csv", Some("k:int")).unwrap();
        let mut reader = RecordReader::new(&format, &b"k,v\n1,\"a\nb\"\n2,c\n"[..]);
        assert_eq!(reader.read_header().unwrap().unwrap(), b"k,v\n");
        assert_eq!(reader.next_record().unwrap().unwrap(), b"1,\"a\nb\"\n");
        assert_eq!(reader.position(), 12);
        assert_eq!(reader.next_batch().unwrap().unwrap(), b"2,c\n");
        assert_eq!(reader.next_record().unwrap(), None);
    }

    #[test]
    fn a_chunk_may_start_with_a_quoted_field() {
        let format = Format::parse("csv", Some("k:string")).unwrap();
        let chunk = b"\"a,\nb\",1\n";
        let mut reader = RecordReader::starting_at(&format, &chunk[..], 500);
        assert_eq!(reader.next_batch().unwrap().unwrap(), chunk);
    }
}
