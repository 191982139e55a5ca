//! The csv format (RFC 4180): rows end at a `\n` outside quotes, a field
//! that starts with `"` runs to the next lone `"` (a doubled `""` inside
//! stands for one), and may hold commas and newlines.
//!
//! The same rules decide where records end ([`Scanner`], which also cuts
//! objects into chunks) and what a field holds ([`field`]), so that the
//! two always agree. Like most readers, these are lenient: a `"` that does
//! not start a field is an ordinary character, and characters between a
//! closing quote and the next comma stay in the field.

use std::fmt;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::FormatError;

/// The key of a csv format: a column, by its name in the header, and how
/// its values compare.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CsvKey {
    /// The column's name, as in the header (unquoted).
    pub column: String,
    /// How its values compare.
    pub kind: KeyType,
}

/// How the values of a csv key column compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    /// As bytes.
    String,
    /// As 64-bit signed integers.
    Int,
    /// As 64-bit floating-point numbers.
    Float,
}

impl CsvKey {
    /// Parses `COLUMN:TYPE`; the column is what comes before the last `:`,
    /// so that a column name may hold colons.
    pub fn parse(spec: &str) -> Result<CsvKey, FormatError> {
        let bad = |reason| FormatError::BadKey {
            spec: spec.to_owned(),
            reason,
        };
        let (column, kind) = spec
            .rsplit_once(':')
            .ok_or_else(|| bad("give it as COLUMN:TYPE, with TYPE one of string, int, float"))?;
        let kind = match kind {
            "string" => KeyType::String,
            "int" => KeyType::Int,
            "float" => KeyType::Float,
            _ => return Err(bad("its TYPE must be string, int or float")),
        };
        if column.is_empty() {
            return Err(bad("the column name is empty"));
        }
        Ok(CsvKey {
            column: column.to_owned(),
            kind,
        })
    }

    /// The index of the key column in `header`, a header record.
    pub(super) fn column_in(&self, header: &[u8]) -> Result<usize, FormatError> {
        let mut names = fields(header);
        // A byte-order mark is no part of the first column's name.
        if let Some(first) = names.first_mut()
            && first.starts_with("\u{feff}".as_bytes())
        {
            first.drain(..3);
        }
        names
            .iter()
            .position(|name| name == self.column.as_bytes())
            .ok_or_else(|| FormatError::NoSuchColumn {
                column: self.column.clone(),
                columns: names
                    .iter()
                    .map(|name| String::from_utf8_lossy(name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl fmt::Display for CsvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            KeyType::String => "string",
            KeyType::Int => "int",
            KeyType::Float => "float",
        };
        write!(f, "{}:{kind}", self.column)
    }
}

/// Where a [`Scanner`] is with respect to quotes.
#[derive(Clone, Copy, Debug)]
enum Quote {
    /// Outside any quoted field.
    Out,
    /// In a quoted field opened at this offset.
    In { opened: u64 },
    /// In a quoted field, just after a `"` at offset `at`: the field closed
    /// there, unless the next byte is a `"` too.
    Closing { opened: u64, at: u64 },
}

/// Finds where records end in a stream of csv bytes fed in any pieces, by
/// following the quotes.
///
/// Offsets are positions in the object, as the caller counts them. The
/// stream must start at a record start. Only newlines and quotes need a
/// look: a `"` outside quotes opens a quoted field if the byte before it
/// ends a field (`,` or `\n`, necessarily outside quotes then) or it is
/// the stream's first.
#[derive(Clone, Debug)]
pub(super) struct Scanner {
    quote: Quote,
    /// The last byte fed, which is the byte before the next piece.
    last: u8,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner {
            quote: Quote::Out,
            // As if after a record: the stream's first byte starts a field.
            last: b'\n',
        }
    }
}

impl Scanner {
    /// Feeds `data`, which starts at `offset` and follows what was fed
    /// before; calls `on_end` with the offset after each record's `\n`.
    pub(super) fn scan(&mut self, data: &[u8], offset: u64, mut on_end: impl FnMut(u64)) {
        for at in memchr::memchr2_iter(b'\n', b'"', data) {
            if self.ends_record(data, at, offset) {
                on_end(offset + at as u64 + 1);
            }
        }
        if let Some(last) = data.last() {
            self.last = *last;
        }
    }

    /// Feeds `data` as [`Scanner::scan`] does, but only up to the end of
    /// the first record, and returns that end.
    pub(super) fn first_end(&mut self, data: &[u8], offset: u64) -> Option<u64> {
        let end = memchr::memchr2_iter(b'\n', b'"', data)
            .find(|&at| self.ends_record(data, at, offset))
            .map(|at| at + 1);
        if let Some(last) = data[..end.unwrap_or(data.len())].last() {
            self.last = *last;
        }
        end.map(|end| offset + end as u64)
    }

    /// Takes in the `\n` or `"` at `data[at]`; true if it ends a record.
    fn ends_record(&mut self, data: &[u8], at: usize, offset: u64) -> bool {
        let position = offset + at as u64;
        let byte = data[at];
        match self.quote {
            Quote::In { opened } => {
                if byte == b'"' {
                    self.quote = Quote::Closing {
                        opened,
                        at: position,
                    };
                }
            }
            Quote::Closing { opened, at } if byte == b'"' && position == at + 1 => {
                self.quote = Quote::In { opened };
            }
            Quote::Closing { .. } | Quote::Out => {
                self.quote = Quote::Out;
                if byte == b'\n' {
                    return true;
                }
                let before = at.checked_sub(1).map_or(self.last, |before| data[before]);
                if before == b',' || before == b'\n' {
                    self.quote = Quote::In { opened: position };
                }
            }
        }
        false
    }

    /// Checks the end of the stream: no quoted field may be open.
    pub(super) fn finish(&self) -> Result<(), FormatError> {
        match self.quote {
            Quote::In { opened } => Err(FormatError::UnterminatedQuote { offset: opened }),
            Quote::Out | Quote::Closing { .. } => Ok(()),
        }
    }
}

/// The length of the first record of `data`, with its `\n`; all of `data`
/// if it does not end.
pub(super) fn record_len(data: &[u8]) -> usize {
    Scanner::default()
        .first_end(data, 0)
        .map_or(data.len(), |end| end as usize)
}

/// The chunk starts of an object read from its start (see
/// [`Format::split_points`](super::Format::split_points)): the end of the
/// header, then the first record end at least `target` bytes after each.
pub(super) fn split_points(object: &mut dyn Read, len: u64, target: u64) -> io::Result<Vec<u64>> {
    let mut points = Vec::new();
    let mut scanner = Scanner::default();
    // Where the next point may be; `None` until the header ends, which is
    // the first point.
    let mut next: Option<u64> = None;
    let mut buffer = vec![0; 1 << 20];
    let mut offset = 0u64;
    loop {
        let read = match object.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(FormatError::Io { offset, error }.into_io()),
        };
        scanner.scan(&buffer[..read], offset, |end| {
            if next.is_none_or(|next| end >= next) {
                if end < len {
                    points.push(end);
                }
                next = Some(end + target);
            }
        });
        offset += read as u64;
    }
    scanner.finish().map_err(FormatError::into_io)?;
    Ok(points)
}

/// Appends the sort key of `record` by its field `column` (see the
/// [module documentation](super)) to `out`.
pub(super) fn sort_key(record: &[u8], column: usize, kind: KeyType, out: &mut Vec<u8>) {
    const PRESENT: u8 = 0x00;
    const MISSING: u8 = 0x01;

    let tag = out.len();
    out.push(PRESENT);
    let value = out.len();
    if !field(record, column, out) {
        out[tag] = MISSING;
        return;
    }
    let number = match kind {
        KeyType::String => {
            if out.len() == value {
                out[tag] = MISSING;
            }
            return;
        }
        KeyType::Int => parse::<i64>(&out[value..]).map(|int| (int as u64) ^ (1 << 63)),
        KeyType::Float => parse::<f64>(&out[value..])
            .filter(|float| !float.is_nan())
            .map(|float| {
                // `+ 0.0` turns -0.0 into 0.0 and leaves every other number.
                let bits = (float + 0.0).to_bits();
                if bits >> 63 == 1 {
                    !bits
                } else {
                    bits | (1 << 63)
                }
            }),
    };
    match number {
        Some(number) => {
            out.truncate(value);
            out.extend_from_slice(&number.to_be_bytes());
        }
        None => out[tag] = MISSING,
    }
}

/// Parses a number with ASCII spaces around it.
fn parse<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    std::str::from_utf8(text.trim_ascii()).ok()?.parse().ok()
}

/// The fields of a record, unquoted.
fn fields(record: &[u8]) -> Vec<Vec<u8>> {
    let mut fields = Vec::new();
    loop {
        let mut value = Vec::new();
        if !field(record, fields.len(), &mut value) {
            return fields;
        }
        fields.push(value);
    }
}

/// Appends the value of field `index` of `record` (unquoted, with doubled
/// quotes made single) to `out`; false, with nothing appended, if the
/// record has fewer fields.
fn field(record: &[u8], index: usize, out: &mut Vec<u8>) -> bool {
    let record = record.strip_suffix(b"\n").unwrap_or(record);
    let record = record.strip_suffix(b"\r").unwrap_or(record);

    let mut start = 0;
    for _ in 0..index {
        match next_comma(record, start) {
            Some(comma) => start = comma + 1,
            None => return false,
        }
    }
    let rest = &record[start..];
    let Some(quoted) = rest.strip_prefix(b"\"") else {
        out.extend_from_slice(&rest[..memchr::memchr(b',', rest).unwrap_or(rest.len())]);
        return true;
    };

    let mut at = 0;
    while let Some(quote) = memchr::memchr(b'"', &quoted[at..]) {
        out.extend_from_slice(&quoted[at..at + quote]);
        at += quote + 1;
        if quoted.get(at) == Some(&b'"') {
            out.push(b'"');
            at += 1;
        } else {
            let after = &quoted[at..];
            out.extend_from_slice(&after[..memchr::memchr(b',', after).unwrap_or(after.len())]);
            return true;
        }
    }
    // Unterminated: the rest of the record is the field.
    out.extend_from_slice(&quoted[at..]);
    true
}

/// The offset of the comma that ends the field starting at `start`.
fn next_comma(record: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    if record.get(start) == Some(&b'"') {
        at += 1;
        loop {
            at += memchr::memchr(b'"', &record[at..])? + 1;
            if record.get(at) == Some(&b'"') {
                at += 1;
            } else {
                break;
            }
        }
    }
    memchr::memchr(b',', &record[at..]).map(|comma| at + comma)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::format::testing::Trickle;
    use crate::format::{Format, RecordReader};

    fn csv(key: &str) -> Format {
        Format::parse("csv", Some(key)).unwrap()
    }

    fn values(record: &[u8]) -> Vec<String> {
        fields(record)
            .into_iter()
            .map(|field| String::from_utf8(field).unwrap())
            .collect()
    }

    #[test]
    fn quoted_fields_hold_commas_newlines_and_doubled_quotes() {
        let data = b"id,text\n1,\"a, b\"\n2,\"line\nbreak\"\n3,\"say \"\"hi\"\"\"\n4,plain";
        let records: Vec<&[u8]> = csv("id:int").records(data).collect();
        assert_eq!(
            records,
            [
                &b"id,text\n"[..],
                b"1,\"a, b\"\n",
                b"2,\"line\nbreak\"\n",
                b"3,\"say \"\"hi\"\"\"\n",
                b"4,plain"
            ]
        );
        assert_eq!(values(records[1]), ["1", "a, b"]);
        assert_eq!(values(records[2]), ["2", "line\nbreak"]);
        assert_eq!(values(records[3]), ["3", "say \"hi\""]);
        assert_eq!(
            values(b"\"\",\"\"\"\",x\"y,\"q\"tail\n"),
            ["", "\"", "x\"y", "qtail"]
        );
        assert_eq!(values(b"a,,\n"), ["a", "", ""]);
    }

    #[test]
    fn crlf_ends_a_record_and_stays_in_it() {
        let data = b"k,v\r\nb,\"x\r\ny\"\r\na,1\r\n";
        let records: Vec<&[u8]> = csv("k:string").records(data).collect();
        assert_eq!(records, [&b"k,v\r\n"[..], b"b,\"x\r\ny\"\r\n", b"a,1\r\n"]);
        assert_eq!(values(records[1]), ["b", "x\r\ny"]);
        assert_eq!(values(records[2]), ["a", "1"]);
        let bound = csv("v:int").bind(Some(records[0])).unwrap();
        let mut key = Vec::new();
        bound.sort_key(records[2], &mut key);
        assert_eq!(key[0], 0x00, "1\\r parses as an int: {key:?}");
    }

    #[test]
    fn the_key_column_is_found_by_name() {
        let header = b"\xEF\xBB\xBFyear,\"dep delay\",\"a,b\"\n";
        assert_eq!(
            CsvKey::parse("year:int")
                .unwrap()
                .column_in(header)
                .unwrap(),
            0
        );
        assert_eq!(
            CsvKey::parse("dep delay:float")
                .unwrap()
                .column_in(header)
                .unwrap(),
            1
        );
        assert_eq!(
            CsvKey::parse("a,b:string")
                .unwrap()
                .column_in(header)
                .unwrap(),
            2
        );
        let error = csv("arr_delay:int").bind(Some(header)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the header has no column `arr_delay`; its columns are: year, dep delay, a,b"
        );
    }

    /// The rows of `data` (after its header) in the order of their keys,
    /// as the second field of each.
    fn sorted(key: &str, data: &[u8]) -> Vec<String> {
        let format = csv(key);
        let header_len = record_len(data);
        let bound = format.bind(Some(&data[..header_len])).unwrap();
        let mut rows: Vec<&[u8]> = format.records(&data[header_len..]).collect();
        rows.sort_by_cached_key(|row| {
            let mut key = Vec::new();
            bound.sort_key(row, &mut key);
            key
        });
        rows.iter().map(|row| values(row)[1].clone()).collect()
    }

    #[test]
    fn ints_sort_by_value_and_the_unparsed_come_last() {
        let data = b"n,name\n10,ten\n-3,minus three\n,empty\nNA,na\n 7 ,seven\n\
                     -9223372036854775808,min\n9223372036854775807,max\n0,zero\n1.5,one and a half\n\
                     99999999999999999999,too big\n-10,minus ten\n";
        assert_eq!(
            sorted("n:int", data),
            [
                "min",
                "minus ten",
                "minus three",
                "zero",
                "seven",
                "ten",
                "max",
                // Missing: by their raw bytes.
                "empty",
                "one and a half",
                "too big",
                "na"
            ]
        );
    }

    #[test]
    fn floats_sort_by_value_and_nan_comes_last() {
        let data = b"x,name\n1.5,one and a half\n-0.0,minus zero\nNaN,nan\n-inf,minus infinity\n\
                     inf,infinity\n-2.25,minus two\n1e-300,tiny\n0,zero\n-1e-300,minus tiny\n\
                     ,empty\n3,three\n";
        assert_eq!(
            sorted("x:float", data),
            [
                "minus infinity",
                "minus two",
                "minus tiny",
                "minus zero",
                "zero",
                "tiny",
                "one and a half",
                "three",
                "infinity",
                // Missing: by their raw bytes.
                "empty",
                "nan"
            ]
        );
    }

    #[test]
    fn minus_zero_and_zero_are_one_key() {
        let bound = csv("x:float").bind(Some(b"x\n")).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        bound.sort_key(b"-0.0\n", &mut a);
        bound.sort_key(b"0\n", &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn strings_sort_by_bytes_and_empty_ones_come_last() {
        let data = b"s,name\nb,b\n\"\",quoted empty\nab,ab\n,empty\n\"a\"\"\",a quote\na,a\n";
        assert_eq!(
            sorted("s:string", data),
            ["a", "a quote", "ab", "b", "quoted empty", "empty"]
        );
    }

    #[test]
    fn rows_without_the_key_column_come_last() {
        let bound = csv("n:int").bind(Some(b"name,n\n")).unwrap();
        let (mut short, mut three) = (Vec::new(), Vec::new());
        bound.sort_key(b"short\n", &mut short);
        bound.sort_key(b"three,3\n", &mut three);
        assert_eq!(short, [0x01]);
        assert!(three < short);
    }

    #[test]
    fn split_points_skip_the_header_and_never_fall_in_quotes() {
        let data = b"h1,h2\n1,\"a\nb\nc\"\n2,x\n3,\"\"\"\n\"\n";
        let points =
            Format::split_points(&csv("h1:int"), &mut &data[..], data.len() as u64, 1).unwrap();
        assert_eq!(points, [6, 16, 20]);
        let header_only = b"h1,h2\n";
        assert!(
            csv("h1:int")
                .split_points(&mut &header_only[..], 6, 1)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_unterminated_quote_is_an_error_that_names_its_offset() {
        let data = b"h\n\"open\nstill open\n";
        let error = csv("h:string")
            .split_points(&mut &data[..], data.len() as u64, 4)
            .unwrap_err();
        let inner = error.get_ref().unwrap().downcast_ref::<FormatError>();
        assert!(
            matches!(inner, Some(FormatError::UnterminatedQuote { offset: 2 })),
            "{error}"
        );
        let mut reader = RecordReader::new(&csv("h:string"), &data[..]);
        assert_eq!(reader.read_header().unwrap().unwrap(), b"h\n");
        assert!(matches!(
            reader.next_batch(),
            Err(FormatError::UnterminatedQuote { offset: 2 })
        ));
    }

    #[test]
    fn the_header_is_read_alone() {
        let data = b"\"a\nb\",c\r\nrow\n";
        let mut reader = &data[..];
        let header = csv("c:string").read_header(&mut reader).unwrap().unwrap();
        assert_eq!(header, b"\"a\nb\",c\r\n");
        assert_eq!(reader, b"row\n");
    }

    /// A field: plain (maybe with a quote inside, which is an ordinary
    /// character there), or quoted with commas, quotes, newlines and CRs.
    fn field_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9 ][a-z0-9 \"]{0,5}",
            "[a-z,\"\n\r ]{0,8}".prop_map(|text| format!("\"{}\"", text.replace('"', "\"\""))),
        ]
    }

    /// A csv object: a header, rows, CRLF or LF, maybe no final newline.
    fn object_strategy() -> impl Strategy<Value = (Vec<u8>, Vec<Vec<String>>)> {
        (
            prop::collection::vec(prop::collection::vec(field_strategy(), 1..4), 1..30),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(rows, crlf, final_newline)| {
                let end = if crlf { "\r\n" } else { "\n" };
                let lines: Vec<String> = rows.iter().map(|row| row.join(",")).collect();
                let mut text = lines.join(end);
                if final_newline {
                    text.push_str(end);
                }
                (text.into_bytes(), rows)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Cut anywhere, by any target, read in any pieces: the chunks
        /// hold exactly the records of the object after its header, and
        /// each record's fields are the ones written.
        #[test]
        fn chunks_concatenate_to_the_records(
            (data, rows) in object_strategy(),
            target in 1u64..64,
            step in 1usize..50,
        ) {
            let format = csv("x:string");
            let len = data.len() as u64;
            let points = format
                .split_points(&mut Trickle { data: &data, step }, len, target)
                .unwrap();

            let whole: Vec<&[u8]> = format.records(&data).collect();
            prop_assert_eq!(whole.len(), rows.len());
            for (record, row) in whole.iter().zip(&rows) {
                let expected: Vec<String> = row
                    .iter()
                    .map(|field| match field.strip_prefix('"') {
                        Some(quoted) => quoted[..quoted.len() - 1].replace("\"\"", "\""),
                        None => field.clone(),
                    })
                    .collect();
                prop_assert_eq!(values(record), expected);
            }

            let mut from_chunks = Vec::new();
            for (i, start) in points.iter().enumerate() {
                let end = points.get(i + 1).copied().unwrap_or(len);
                prop_assert!(end - start >= target || end == len);
                let chunk = &data[*start as usize..end as usize];
                let mut reader = RecordReader::starting_at(&format, chunk, *start);
                while let Some(batch) = reader.next_batch().unwrap() {
                    from_chunks.extend(format.records(batch).map(<[u8]>::to_vec));
                }
            }
            let expected: Vec<Vec<u8>> = whole[1..].iter().map(|record| record.to_vec()).collect();
            prop_assert_eq!(from_chunks, expected);
        }
    }
}
