//! Record formats: how the bytes of an object split into records, where an
//! object can be cut into chunks, and the key each record sorts by.
//!
//! | format | a record | its key |
//! |---|---|---|
//! | `gensort` | 100 bytes (binary or ASCII gensort records alike) | bytes 0..10 |
//! | `lines` | up to and with a `\n`; the last may lack it | the line without its `\n` |
//! | `csv` | a row of RFC 4180 CSV: ends at a `\n` outside quotes | one column, as a string, an int or a float |
//!
//! A CSV object begins with a header, the names of its columns. A sort
//! writes it once, at the top of its first output part: [`Format::read_header`]
//! reads it from an object and [`Format::bind`] finds the key column in it.
//!
//! # Sort keys
//!
//! [`Bound::sort_key`] turns a record into a byte string whose byte order
//! (`memcmp`, `<[u8]>::cmp`) is the order the records sort in, so that a
//! sort compares plain bytes whatever the format:
//!
//! - `gensort`: the 10 key bytes;
//! - `lines`: the line, without its `\n` (a `\r` before it stays);
//! - `csv`: a tag byte, `0x00` for a key that is there and parses, `0x01`
//!   for one that is empty or does not parse, then:
//!   - `string`: the field's bytes, unquoted;
//!   - `int` (`i64`, ASCII spaces around it ignored): 8 bytes, big-endian,
//!     with the sign bit flipped, so that negative numbers come first;
//!   - `float` (`f64` as Rust parses it: `1e3`, `-inf`, ...): 8 bytes,
//!     big-endian, of the IEEE 754 total order: the sign bit flipped for
//!     positive numbers and every bit flipped for negative ones. `-0.0`
//!     is first made `0.0`, so that the two are one key; `NaN` counts as a
//!     key that does not parse;
//!   - for a missing key, the field's raw bytes (so that those rows sort
//!     among themselves by their text).
//!
//! Keys are compared whole: a key that is a prefix of another sorts first.
//! Appending bytes to a variable-length key (a string or a line) would
//! change its order, so a tie-breaker belongs beside the key, not after it.
//!
//! # Records and chunks
//!
//! [`Format::records`] splits a buffer that holds whole records, and
//! [`RecordReader`] streams an object (or a chunk of it) as buffers of
//! whole records. [`Format::split_points`] cuts an object into chunks of
//! about a given size that each start at a record start: gensort computes
//! them, lines and csv read the object once.
//!
//! ```
//! use cloudbutton_shuffle::format::Format;
//!
//! let format = Format::parse("csv", Some("delay:int")).unwrap();
//! let object: &[u8] = b"name,delay\n\"b, late\",12\na,-3\nc,NA\n";
//! let header = format.read_header(&mut &object[..]).unwrap().unwrap();
//! assert_eq!(header, b"name,delay\n");
//!
//! let bound = format.bind(Some(&header)).unwrap();
//! let mut rows: Vec<&[u8]> = format.records(&object[header.len()..]).collect();
//! rows.sort_by_cached_key(|row| {
//!     let mut key = Vec::new();
//!     bound.sort_key(row, &mut key);
//!     key
//! });
//! assert_eq!(rows, [&b"a,-3\n"[..], b"\"b, late\",12\n", b"c,NA\n"]);
//! ```

mod csv;
mod error;
mod gensort;
mod lines;
mod reader;

/// What the formats' tests share.
#[cfg(test)]
pub(crate) mod testing {
    use std::io::{self, Read};

    /// A reader that hands out at most `step` bytes at a time.
    pub(crate) struct Trickle<'a> {
        pub(crate) data: &'a [u8],
        pub(crate) step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.len().min(buf.len()).min(self.step);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }
}

use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

pub use self::csv::{CsvKey, KeyType};
pub use self::error::FormatError;
pub use self::reader::RecordReader;

/// A record format, as `--format NAME [--key SPEC]` names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// sortbenchmark.org records: 100 bytes, the first 10 the key.
    Gensort,
    /// Lines of text, each its own key.
    Lines,
    /// CSV with a header, sorted by one column.
    Csv(CsvKey),
}

impl Format {
    /// The format named `name` (`gensort`, `lines` or `csv`) with the key
    /// `key`: `COLUMN:TYPE` for csv, with TYPE one of `string`, `int`,
    /// `float`, and nothing for the others, whose key is fixed.
    pub fn parse(name: &str, key: Option<&str>) -> Result<Format, FormatError> {
        let format = match name {
            "gensort" => Format::Gensort,
            "lines" => Format::Lines,
            "csv" => {
                let key = key.ok_or(FormatError::KeyRequired)?;
                return Ok(Format::Csv(CsvKey::parse(key)?));
            }
            _ => {
                return Err(FormatError::UnknownFormat {
                    name: name.to_owned(),
                });
            }
        };
        match key {
            Some(_) => Err(FormatError::KeyNotAllowed {
                format: format.name(),
            }),
            None => Ok(format),
        }
    }

    /// The format's name: `gensort`, `lines` or `csv`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Gensort => "gensort",
            Format::Lines => "lines",
            Format::Csv(_) => "csv",
        }
    }

    /// Whether every object begins with a header record (csv), which is
    /// not data: it is read with [`Format::read_header`], given to
    /// [`Format::bind`], and written once at the top of a sort's output.
    pub fn has_header(&self) -> bool {
        matches!(self, Format::Csv(_))
    }

    /// Whether [`Format::split_points`] reads the object. Gensort's points
    /// follow from the object's length alone: for it, any reader will do,
    /// even an empty one.
    pub fn needs_scan(&self) -> bool {
        !matches!(self, Format::Gensort)
    }

    /// The format bound to an object's header, ready to make sort keys.
    ///
    /// Csv needs the header (as [`Format::read_header`] returns it) to find
    /// its key column, and fails if the column is not there or there is no
    /// header; the other formats ignore `header`. Objects whose headers
    /// differ (another column order) each need a binding of their own.
    pub fn bind(&self, header: Option<&[u8]>) -> Result<Bound, FormatError> {
        let key = match self {
            Format::Gensort => BoundKey::Gensort,
            Format::Lines => BoundKey::Lines,
            Format::Csv(key) => {
                let header = header.ok_or(FormatError::NoHeader)?;
                BoundKey::Csv {
                    column: key.column_in(header)?,
                    kind: key.kind,
                }
            }
        };
        Ok(Bound {
            format: self.clone(),
            key,
        })
    }

    /// The records of `data`, which starts at a record start and holds
    /// whole records, each with its terminator (`\n`, or `\r\n`, kept as
    /// they are); the last may lack its terminator, as the last record of
    /// an object may. For gensort, a last piece shorter than 100 bytes
    /// comes out as it is: [`Format::check_len`] tells about it.
    pub fn records<'a>(&self, data: &'a [u8]) -> Records<'a> {
        Records {
            data,
            kind: match self {
                Format::Gensort => RecordKind::Fixed,
                Format::Lines => RecordKind::Lines,
                Format::Csv(_) => RecordKind::Csv,
            },
        }
    }

    /// Checks that an object of `object_len` bytes can hold whole records:
    /// a gensort object's length must be a multiple of 100.
    pub fn check_len(&self, object_len: u64) -> Result<(), FormatError> {
        match self {
            Format::Gensort => gensort::check_len(object_len),
            Format::Lines | Format::Csv(_) => Ok(()),
        }
    }

    /// Where to cut an object of `object_len` bytes into chunks of about
    /// `target_chunk` bytes, each starting at a record start: the offsets of
    /// the chunks' first bytes, ascending, each below `object_len`. Chunk
    /// `i` is `points[i]..points[i + 1]`, and the last one ends at
    /// `object_len`.
    ///
    /// - The first point is 0, or for csv the end of the header: the
    ///   header is in no chunk. An object without records (empty, or a csv
    ///   object with only a header) has no points.
    /// - Every later point is the first record start at least
    ///   `target_chunk` bytes after the point before it, so a record longer
    ///   than that makes a longer chunk. A `target_chunk` of 0 counts as 1.
    /// - Gensort chunks are a whole number of records: `target_chunk`
    ///   rounded down to a multiple of 100, and at least 100. The object is
    ///   not read ([`Format::needs_scan`]), but its length must be a
    ///   multiple of 100.
    /// - Lines and csv read `object` from the object's first byte, once,
    ///   up to `object_len` bytes. Csv follows the quotes, so that no point
    ///   falls inside a quoted field, and fails on a field still open at
    ///   the end of the object.
    ///
    /// Errors of the format are `InvalidData` errors that carry a
    /// [`FormatError`] naming the offset.
    pub fn split_points(
        &self,
        object: &mut dyn Read,
        object_len: u64,
        target_chunk: u64,
    ) -> io::Result<Vec<u64>> {
        let target = target_chunk.max(1);
        let object = &mut object.take(object_len);
        match self {
            Format::Gensort => {
                gensort::check_len(object_len).map_err(FormatError::into_io)?;
                Ok(gensort::split_points(object_len, target))
            }
            Format::Lines => lines::split_points(object, object_len, target),
            Format::Csv(_) => csv::split_points(object, object_len, target),
        }
    }

    /// Reads the header of an object from its first byte: for csv, its
    /// first record with its terminator, or `None` if the object is empty;
    /// `None` without reading for the formats that have no header.
    ///
    /// Reads no further than the header (in small reads): the same reader
    /// then yields the first data record. The header of an object that
    /// holds nothing else may lack its terminator; [`Format::write_record`]
    /// adds it.
    pub fn read_header(&self, object: &mut dyn Read) -> Result<Option<Vec<u8>>, FormatError> {
        if !self.has_header() {
            return Ok(None);
        }
        let mut scanner = csv::Scanner::default();
        let mut header = Vec::new();
        let mut byte = [0; 1];
        loop {
            match object.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(FormatError::Io {
                        offset: header.len() as u64,
                        error,
                    });
                }
            }
            header.push(byte[0]);
            if scanner.first_end(&byte, header.len() as u64 - 1).is_some() {
                return Ok(Some(header));
            }
        }
        scanner.finish()?;
        Ok((!header.is_empty()).then_some(header))
    }

    /// What follows `record` in an output: nothing if it ends as records
    /// of its format end, else the `\n` it lacks (the last record of an
    /// object without a final newline). Gensort records need nothing.
    pub fn terminator(&self, record: &[u8]) -> &'static [u8] {
        match self {
            Format::Gensort => b"",
            Format::Lines | Format::Csv(_) if record.ends_with(b"\n") => b"",
            Format::Lines | Format::Csv(_) => b"\n",
        }
    }

    /// Writes `record` and, if it lacks one, its terminator
    /// ([`Format::terminator`]), so that every record of an output ends
    /// as it should.
    pub fn write_record(&self, record: &[u8], out: &mut impl Write) -> io::Result<()> {
        out.write_all(record)?;
        out.write_all(self.terminator(record))
    }
}

impl fmt::Display for Format {
    /// `gensort`, `lines`, or `csv (key dep_delay:float)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Csv(key) => write!(f, "csv (key {key})"),
            other => f.write_str(other.name()),
        }
    }
}

/// A [`Format`] bound to the header of the objects it reads, by
/// [`Format::bind`]: it makes the sort keys of their records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    format: Format,
    key: BoundKey,
}

/// Where a record's key is, once the header is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum BoundKey {
    Gensort,
    Lines,
    Csv { column: usize, kind: KeyType },
}

impl Bound {
    /// The format bound.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Appends the sort key of `record` (as [`Format::records`] yields it)
    /// to `out`: byte strings that compare as the records sort (see the
    /// [module documentation](self)). `out` is not cleared first, so that
    /// many keys can share one buffer.
    pub fn sort_key(&self, record: &[u8], out: &mut Vec<u8>) {
        match &self.key {
            BoundKey::Gensort | BoundKey::Lines => {
                out.extend_from_slice(self.key_slice(record).expect("the key is in the record"))
            }
            BoundKey::Csv { column, kind } => csv::sort_key(record, *column, *kind, out),
        }
    }

    /// The sort key of `record` as a slice of it, when it is one: the 10
    /// key bytes of a gensort record (fewer if the record is short), the
    /// line of a lines record; `None` for csv, whose keys must be made by
    /// [`Bound::sort_key`]. It spares a copy.
    pub fn key_slice<'a>(&self, record: &'a [u8]) -> Option<&'a [u8]> {
        match &self.key {
            BoundKey::Gensort => Some(&record[..record.len().min(crate::gensort::KEY_LEN)]),
            BoundKey::Lines => Some(record.strip_suffix(b"\n").unwrap_or(record)),
            BoundKey::Csv { .. } => None,
        }
    }
}

/// The records of a buffer: [`Format::records`].
#[derive(Clone, Debug)]
pub struct Records<'a> {
    data: &'a [u8],
    kind: RecordKind,
}

#[derive(Clone, Copy, Debug)]
enum RecordKind {
    Fixed,
    Lines,
    Csv,
}

impl<'a> Iterator for Records<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let len = match self.kind {
            RecordKind::Fixed => self.data.len().min(crate::gensort::RECORD_LEN),
            RecordKind::Lines => lines::record_len(self.data),
            RecordKind::Csv => csv::record_len(self.data),
        };
        let (record, rest) = self.data.split_at(len);
        self.data = rest;
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_with_their_keys() {
        assert_eq!(Format::parse("gensort", None).unwrap(), Format::Gensort);
        assert_eq!(Format::parse("lines", None).unwrap(), Format::Lines);
        let csv = Format::parse("csv", Some("dep_delay:float")).unwrap();
        assert_eq!(
            csv,
            Format::Csv(CsvKey {
                column: "dep_delay".into(),
                kind: KeyType::Float
            })
        );
        assert_eq!(csv.to_string(), "csv (key dep_delay:float)");

        let refused = [
            ("gensort", Some("a:int"), "fixed key"),
            ("lines", Some("a:int"), "fixed key"),
            ("csv", None, "needs a key"),
            ("csv", Some("delay"), "COLUMN:TYPE"),
            ("csv", Some("delay:decimal"), "string, int or float"),
            ("csv", Some(":int"), "column"),
            ("tsv", None, "unknown record format `tsv`"),
        ];
        for (name, key, message) in refused {
            let error = Format::parse(name, key).unwrap_err().to_string();
            assert!(error.contains(message), "{name} {key:?}: {error}");
        }
    }

    #[test]
    fn a_column_name_may_hold_colons() {
        let format = Format::parse("csv", Some("time:utc:int")).unwrap();
        assert_eq!(
            format,
            Format::Csv(CsvKey {
                column: "time:utc".into(),
                kind: KeyType::Int
            })
        );
    }

    #[test]
    fn gensort_keys_are_the_first_ten_bytes() {
        let bound = Format::Gensort.bind(None).unwrap();
        let record: Vec<u8> = (0..100).collect();
        let mut key = vec![0xAA];
        bound.sort_key(&record, &mut key);
        assert_eq!(key, [0xAA, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(bound.key_slice(&record), Some(&record[..10]));
    }

    #[test]
    fn lines_end_at_newlines_and_keys_drop_them() {
        let format = Format::Lines;
        let records: Vec<&[u8]> = format.records(b"b\r\n\nab\nlast").collect();
        assert_eq!(records, [&b"b\r\n"[..], b"\n", b"ab\n", b"last"]);
        let bound = format.bind(None).unwrap();
        let keys: Vec<&[u8]> = records
            .iter()
            .map(|record| bound.key_slice(record).unwrap())
            .collect();
        assert_eq!(keys, [&b"b\r"[..], b"", b"ab", b"last"]);
        assert_eq!(format.terminator(b"last"), b"\n");
        assert_eq!(format.terminator(b"ab\n"), b"");
        let mut out = Vec::new();
        for record in records {
            format.write_record(record, &mut out).unwrap();
        }
        assert_eq!(out, b"b\r\n\nab\nlast\n");
    }

    #[test]
    fn gensort_records_are_100_bytes() {
        let data = vec![7; 250];
        let lens: Vec<usize> = Format::Gensort.records(&data).map(<[u8]>::len).collect();
        assert_eq!(lens, [100, 100, 50]);
        assert_eq!(Format::Gensort.terminator(&data[..100]), b"");
    }

    #[test]
    fn gensort_split_points_need_no_reading() {
        let mut nothing = io::empty();
        let points = Format::Gensort
            .split_points(&mut nothing, 1000, 250)
            .unwrap();
        assert_eq!(points, [0, 200, 400, 600, 800]);
        let points = Format::Gensort.split_points(&mut nothing, 300, 1).unwrap();
        assert_eq!(points, [0, 100, 200]);
        assert!(
            Format::Gensort
                .split_points(&mut nothing, 0, 100)
                .unwrap()
                .is_empty()
        );

        let error = Format::Gensort
            .split_points(&mut nothing, 101, 100)
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let inner = error.get_ref().unwrap().downcast_ref::<FormatError>();
        assert!(
            matches!(
                inner,
                Some(FormatError::PartialRecord {
                    offset: 100,
                    len: 1
                })
            ),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_object() {
        let error = Format::Gensort
            .check_len(250)
            .unwrap_err()
            .in_object("file:///data/in.dat");
        assert_eq!(
            error.to_string(),
            "file:///data/in.dat: 50 byte(s) at offset 200 are not a whole 100-byte gensort \
             record: the object's length is not a multiple of 100"
        );
    }

    #[test]
    fn only_csv_has_a_header() {
        let mut object: &[u8] = b"a\nb\n";
        assert_eq!(Format::Lines.read_header(&mut object).unwrap(), None);
        assert_eq!(object, b"a\nb\n", "nothing was read");
        assert!(Format::Lines.bind(None).is_ok());
        let csv = Format::parse("csv", Some("a:string")).unwrap();
        assert!(matches!(csv.bind(None), Err(FormatError::NoHeader)));
        assert_eq!(csv.read_header(&mut &b""[..]).unwrap(), None);
    }
}
