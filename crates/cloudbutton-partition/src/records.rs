//! Splitting a stream into records or lines.

use std::io::{self, BufRead};

use crate::Delimiter;

/// Iterates over the records of `reader`, each without its delimiter.
///
/// Records start at the beginning of the stream and right after each
/// delimiter; the last one may lack a delimiter. A stream that ends right
/// after a delimiter, or an empty stream, has no further (empty) record.
///
/// ```
/// use cloudbutton_partition::{Delimiter, records};
///
/// let delimiter = Delimiter::new("|;").unwrap();
/// let all: Vec<_> = records(&b"a|;|;b"[..], &delimiter).map(Result::unwrap).collect();
/// assert_eq!(all, [&b"a"[..], b"", b"b"]);
/// ```
pub fn records<R: BufRead>(reader: R, delimiter: &Delimiter) -> Records<R> {
    Records {
        reader,
        delimiter: delimiter.clone(),
    }
}

/// The iterator returned by [`records`].
#[derive(Debug)]
pub struct Records<R> {
    reader: R,
    delimiter: Delimiter,
}

impl<R: BufRead> Records<R> {
    /// Reads the next record into `record`, replacing its contents, without
    /// its delimiter; returns `false` at the end of the stream. This reuses
    /// one buffer for all records, where the iterator allocates each one.
    pub fn read_record(&mut self, record: &mut Vec<u8>) -> io::Result<bool> {
        record.clear();
        let delimiter = self.delimiter.as_bytes();
        let last = delimiter[delimiter.len() - 1];

        // Read up to each occurrence of the delimiter's last byte until the
        // record ends with the whole delimiter or the stream ends.
        loop {
            if self.reader.read_until(last, record)? == 0 {
                return Ok(!record.is_empty());
            }
            if record.ends_with(delimiter) {
                record.truncate(record.len() - delimiter.len());
                return Ok(true);
            }
            if record.last() != Some(&last) {
                return Ok(true);
            }
        }
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = Vec::new();
        self.read_record(&mut record)
            .map(|more| more.then_some(record))
            .transpose()
    }
}

/// Iterates over the lines of `reader` as UTF-8 text, each without its
/// `"\n"` or `"\r\n"` ending.
///
/// A line that is not valid UTF-8 is an [`io::ErrorKind::InvalidData`] error
/// that says which line of the stream it is.
///
/// ```
/// use cloudbutton_partition::lines;
///
/// let all: Vec<_> = lines(&b"one\r\ntwo\nthree"[..]).map(Result::unwrap).collect();
/// assert_eq!(all, ["one", "two", "three"]);
/// ```
pub fn lines<R: BufRead>(reader: R) -> Lines<R> {
    Lines {
        records: records(reader, &Delimiter::newline()),
        number: 0,
    }
}

/// The iterator returned by [`lines`].
#[derive(Debug)]
pub struct Lines<R> {
    records: Records<R>,
    /// How many lines have been read.
    number: u64,
}

impl<R: BufRead> Lines<R> {
    /// Reads the next line into `line`, replacing its contents and reusing
    /// its allocation; returns `false` at the end of the stream.
    pub fn read_line(&mut self, line: &mut String) -> io::Result<bool> {
        let mut bytes = std::mem::take(line).into_bytes();
        if !self.records.read_record(&mut bytes)? {
            return Ok(false);
        }
        self.number += 1;

        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        *line = String::from_utf8(bytes).map_err(|error| {
            let message = format!(
                "line {} is not valid UTF-8: {}",
                self.number,
                error.utf8_error()
            );
            io::Error::new(io::ErrorKind::InvalidData, message)
        })?;
        Ok(true)
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.records.into_inner()
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = String::new();
        self.read_line(&mut line)
            .map(|more| more.then_some(line))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_records(data: &[u8], delimiter: &str) -> Vec<Vec<u8>> {
        let delimiter = Delimiter::new(delimiter).unwrap();
        records(data, &delimiter)
            .collect::<io::Result<_>>()
            .unwrap()
    }

    #[test]
    fn records_strip_delimiters_and_keep_empty_ones() {
        assert_eq!(all_records(b"a\n\nb\n", "\n"), [&b"a"[..], b"", b"b"]);
        assert_eq!(all_records(b"a\nb", "\n"), [&b"a"[..], b"b"]);
        assert_eq!(all_records(b"\n", "\n"), [&b""[..]]);
        assert!(all_records(b"", "\n").is_empty());
    }

    #[test]
    fn multi_byte_delimiter_needs_all_its_bytes() {
        assert_eq!(all_records(b"a\rb\r\nc\r", "\r\n"), [&b"a\rb"[..], b"c\r"]);
        assert_eq!(all_records(b"xEENDyEN", "END"), [&b"xE"[..], b"yEN"]);
        assert_eq!(all_records(b"aabaab", "aab"), [&b""[..], b""]);
    }

    #[test]
    fn read_record_reuses_the_buffer() {
        let delimiter = Delimiter::newline();
        let mut records = records(&b"long line\nx"[..], &delimiter);
        let mut record = Vec::new();
        assert!(records.read_record(&mut record).unwrap());
        assert_eq!(record, b"long line");
        assert!(records.read_record(&mut record).unwrap());
        assert_eq!(record, b"x");
        assert!(!records.read_record(&mut record).unwrap());
        assert!(record.is_empty());
    }

    #[test]
    fn lines_strip_crlf_and_only_one_cr() {
        let all: Vec<_> = lines(&b"a\r\nb\r\r\n\r\nc\r"[..])
            .map(Result::unwrap)
            .collect();
        assert_eq!(all, ["a", "b\r", "", "c"]);
    }

    #[test]
    fn read_line_reuses_the_string() {
        let mut lines = lines(&b"first\r\nsecond"[..]);
        let mut line = String::with_capacity(64);
        assert!(lines.read_line(&mut line).unwrap());
        assert_eq!(line, "first");
        assert!(lines.read_line(&mut line).unwrap());
        assert_eq!(line, "second");
        assert!(line.capacity() >= 64);
        assert!(!lines.read_line(&mut line).unwrap());
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut lines = lines(&b"ok\n\xff\n"[..]);
        assert_eq!(lines.next().unwrap().unwrap(), "ok");
        let error = lines.next().unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(
            error.to_string().starts_with("line 2 is not valid UTF-8"),
            "{error}"
        );
    }
}
