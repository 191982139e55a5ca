//! The validator of a sorted output, after the published `valsort`: every
//! record in order by its key, the number of records, the number of
//! duplicate keys, and a checksum of the records that does not depend on
//! their order, so that a sort's input and output can be compared.
//!
//! The checksum is the sum, wrapping at 2^128, of the CRC-32 (IEEE, as
//! zlib's `crc32`) of every record: for gensort records, the number that
//! `gensort -c` and `valsort` print, written the same way (lowercase
//! hexadecimal, see [`Summary::checksum_hex`]). A lines or csv record counts
//! with its terminator, the one a sort adds to a last record without it
//! ([`Format::terminator`](crate::format::Format::terminator)), so that the
//! output's checksum equals the input's.
//!
//! An output of many objects (or an object of many chunks) is checked
//! piece by piece, in parallel if one likes, and the [`Summary`] of each is
//! combined in order with [`Summary::combine`], which also checks the
//! order where one piece meets the next.
//!
//! ```
//! use cloudbutton_shuffle::format::{Format, RecordReader};
//! use cloudbutton_shuffle::valsort;
//!
//! let bound = Format::Lines.bind(None).unwrap();
//! let part = |index, text: &'static [u8]| {
//!     valsort::summarize(&bound, &mut RecordReader::new(bound.format(), text), index, 0)
//! };
//! let first = part(0, b"apple\nbanana\n")?;
//! let second = part(1, b"banana\napricot\n")?;
//! let whole = first.combine(second);
//! assert_eq!(whole.records, 4);
//! assert_eq!(whole.duplicates, 1);
//! let unordered = whole.first_unordered.unwrap();
//! assert_eq!((unordered.object, unordered.record, unordered.overall), (1, 1, 3));
//! # Ok::<(), cloudbutton_shuffle::format::FormatError>(())
//! ```

use std::cmp::Ordering;
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::format::{Bound, FormatError, RecordReader};

/// Where a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPosition {
    /// The index of its object in the list checked.
    pub object: usize,
    /// Its index among the records of its object, from 0 (a header is no
    /// record).
    pub record: u64,
    /// Its index among all the records summarized, from 0.
    pub overall: u64,
}

/// What [`summarize`] found in a sequence of records, and what
/// [`Summary::combine`] needs to join it to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// How many records there are.
    pub records: u64,
    /// The sum of the CRC-32 of the records, wrapping at 2^128.
    pub checksum: u128,
    /// How many records have the same key as the record before them.
    pub duplicates: u64,
    /// How many records have a smaller key than the record before them.
    pub unordered: u64,
    /// The first of those.
    pub first_unordered: Option<RecordPosition>,
    /// The first and last records' keys and positions, for the order
    /// where this sequence meets the next.
    first: Option<Edge>,
    last: Option<Edge>,
}

/// A record at an end of a summarized sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Edge {
    key: Vec<u8>,
    position: RecordPosition,
}

impl Summary {
    /// Whether every record is in order.
    pub fn is_sorted(&self) -> bool {
        self.unordered == 0
    }

    /// The checksum as `valsort` prints it: lowercase hexadecimal, without
    /// leading zeros.
    pub fn checksum_hex(&self) -> String {
        format!("{:x}", self.checksum)
    }

    /// The summary of this sequence followed by `next`: totals added, and
    /// the first record of `next` checked against the last of this one.
    /// The positions of `next`'s records count on from this one's in
    /// [`RecordPosition::overall`].
    pub fn combine(self, next: Summary) -> Summary {
        let (Some(last), Some(next_first)) = (&self.last, &next.first) else {
            return if self.records == 0 { next } else { self };
        };

        let mut duplicates = self.duplicates + next.duplicates;
        let mut unordered = self.unordered + next.unordered;
        let mut first_unordered = self.first_unordered;
        match last.key.cmp(&next_first.key) {
            Ordering::Equal => duplicates += 1,
            Ordering::Greater => {
                unordered += 1;
                first_unordered.get_or_insert(RecordPosition {
                    overall: self.records,
                    ..next_first.position
                });
            }
            Ordering::Less => {}
        }
        if first_unordered.is_none() {
            first_unordered = next.first_unordered.map(|position| RecordPosition {
                overall: position.overall + self.records,
                ..position
            });
        }

        Summary {
            records: self.records + next.records,
            checksum: self.checksum.wrapping_add(next.checksum),
            duplicates,
            unordered,
            first_unordered,
            first: self.first,
            last: next.last,
        }
    }
}

/// The CRC-32 of `record` as the checksum counts it, with the terminator
/// an output would give it (see the [module documentation](self)).
pub fn record_checksum(bound: &Bound, record: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(record);
    hasher.update(bound.format().terminator(record));
    hasher.finalize()
}

/// Summarizes the records that `reader` yields, those of the object at
/// index `object` from its record number `first_record` on (0 for a whole
/// object, after its header if it has one; more for a later chunk of it).
/// Keys are made by `bound` and compared as bytes.
pub fn summarize<R: Read>(
    bound: &Bound,
    reader: &mut RecordReader<R>,
    object: usize,
    first_record: u64,
) -> Result<Summary, FormatError> {
    let mut summary = Summary::default();
    let mut previous = Vec::new();
    let mut key = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        for record in bound.format().records(batch) {
            let position = RecordPosition {
                object,
                record: first_record + summary.records,
                overall: summary.records,
            };
            key.clear();
            bound.sort_key(record, &mut key);
            summary.checksum = summary
                .checksum
                .wrapping_add(u128::from(record_checksum(bound, record)));

            if summary.records == 0 {
                summary.first = Some(Edge {
                    key: key.clone(),
                    position,
                });
            } else {
                match previous.cmp(&key) {
                    Ordering::Equal => summary.duplicates += 1,
                    Ordering::Greater => {
                        summary.unordered += 1;
                        summary.first_unordered.get_or_insert(position);
                    }
                    Ordering::Less => {}
                }
            }
            summary.records += 1;
            std::mem::swap(&mut previous, &mut key);
        }
    }

    if summary.records > 0 {
        summary.last = Some(Edge {
            key: previous,
            position: RecordPosition {
                object,
                record: first_record + summary.records - 1,
                overall: summary.records - 1,
            },
        });
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;
    use crate::gensort::{self, RECORD_LEN};

    fn summary_of(bound: &Bound, object: usize, data: &[u8]) -> Summary {
        summarize(
            bound,
            &mut RecordReader::new(bound.format(), data),
            object,
            0,
        )
        .unwrap()
    }

    fn gensort_records(start: u128, rows: u64) -> Vec<u8> {
        let mut data = Vec::new();
        gensort::generate(start, rows, false, &mut data).unwrap();
        data
    }

    /// The records of `data` sorted by their 10-byte keys.
    fn sorted(data: &[u8]) -> Vec<u8> {
        let mut records: Vec<&[u8]> = data.chunks(RECORD_LEN).collect();
        records.sort_by_key(|record| &record[..10]);
        records.concat()
    }

    #[test]
    fn a_sorted_output_has_the_checksum_of_its_input() {
        let bound = Format::Gensort.bind(None).unwrap();
        let input = gensort_records(0, 1000);
        let output = sorted(&input);

        let before = summary_of(&bound, 0, &input);
        let after = summary_of(&bound, 0, &output);
        assert_eq!(before.records, 1000);
        assert!(!before.is_sorted());
        assert!(after.is_sorted());
        assert_eq!(after.first_unordered, None);
        assert_eq!(after.checksum, before.checksum);
        assert_eq!(after.duplicates, 0);

        let mut generator = gensort::Generator::new(0, 1000, false);
        while generator.next_record().is_some() {}
        assert_eq!(generator.checksum(), after.checksum);
    }

    #[test]
    fn the_first_unordered_record_is_named() {
        let bound = Format::Gensort.bind(None).unwrap();
        let mut output = sorted(&gensort_records(0, 100));
        // Swap records 40 and 41: 41 is then the first out of order.
        let (a, b) = output.split_at_mut(41 * RECORD_LEN);
        a[40 * RECORD_LEN..].swap_with_slice(&mut b[..RECORD_LEN]);
        let summary = summary_of(&bound, 3, &output);
        assert_eq!(summary.unordered, 1);
        assert_eq!(
            summary.first_unordered,
            Some(RecordPosition {
                object: 3,
                record: 41,
                overall: 41
            })
        );
    }

    #[test]
    fn pieces_combine_to_the_whole() {
        let bound = Format::Gensort.bind(None).unwrap();
        let mut output = sorted(&gensort_records(0, 300));
        // A duplicate key, and an unordered record, each where two pieces
        // meet.
        output.copy_within(99 * RECORD_LEN..99 * RECORD_LEN + 10, 100 * RECORD_LEN);
        output.copy_within(250 * RECORD_LEN..250 * RECORD_LEN + 10, 199 * RECORD_LEN);
        let whole = summary_of(&bound, 0, &output);

        let cuts = [0, 100, 100, 200, 300];
        let mut combined = Summary::default();
        for (index, range) in cuts.windows(2).enumerate() {
            let piece = &output[range[0] * RECORD_LEN..range[1] * RECORD_LEN];
            let summary = summarize(
                &bound,
                &mut RecordReader::new(&Format::Gensort, piece),
                index,
                0,
            )
            .unwrap();
            combined = combined.combine(summary);
        }
        assert_eq!(combined.records, whole.records);
        assert_eq!(combined.checksum, whole.checksum);
        assert_eq!(combined.duplicates, whole.duplicates);
        assert_eq!(combined.unordered, whole.unordered);
        assert_eq!(combined.duplicates, 1);
        assert_eq!(combined.unordered, 1);
        assert_eq!(
            combined.first_unordered,
            Some(RecordPosition {
                object: 3,
                record: 0,
                overall: 200
            })
        );
        assert_eq!(whole.first_unordered.unwrap().overall, 200);
    }

    #[test]
    fn a_missing_final_newline_does_not_change_the_checksum() {
        let bound = Format::Lines.bind(None).unwrap();
        let input = summary_of(&bound, 0, b"b\na");
        let output = summary_of(&bound, 0, b"a\nb\n");
        assert_eq!(input.checksum, output.checksum);
        assert!(output.is_sorted());
        assert!(!input.is_sorted());
    }

    #[test]
    fn csv_rows_are_checked_by_their_key() {
        let format = Format::parse("csv", Some("n:int")).unwrap();
        let bound = format.bind(Some(b"n,name\n")).unwrap();
        let sorted = summary_of(&bound, 0, b"-5,a\n3,b\n3,\"c\nd\"\n10,e\nNA,f\n");
        assert!(sorted.is_sorted());
        assert_eq!((sorted.records, sorted.duplicates), (5, 1));
        let unsorted = summary_of(&bound, 0, b"10,e\nNA,f\n3,b\n");
        assert_eq!(unsorted.first_unordered.unwrap().record, 2);
    }

    #[test]
    fn the_checksum_prints_as_valsort_does() {
        let summary = Summary {
            checksum: 0x7a0e0d4868cd4,
            ..Summary::default()
        };
        assert_eq!(summary.checksum_hex(), "7a0e0d4868cd4");
    }
}
