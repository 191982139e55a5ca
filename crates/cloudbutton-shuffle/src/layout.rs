//! The intermediate objects of a sort: how a map task writes its sorted
//! runs, and how a reducer reads them back.
//!
//! Each map task writes one object: its sorted runs one after another
//! (usually one run; more when its chunk did not fit its memory at once),
//! each run cut into one partition per reducer, back to back, then an
//! index ([`MapIndex`]) of where every partition starts. So a sort makes
//! as many intermediate objects as map tasks, however many reducers
//! there are, and a reducer reads its partition of each run with one
//! ranged read per window.
//!
//! ```text
//! run 0: partition 0 | partition 1 | ... | partition R-1
//! run 1: partition 0 | ...
//! index: (R + 1) offsets per run, u64 LE | runs u32 LE | reducers u32 LE | "CBSHUF01"
//! ```
//!
//! A partition is a sequence of entries in sort order, each a record and
//! its sort key ([`Layout`]). The records already end as the output needs
//! them (a last line without its newline has one added), so a reducer
//! copies them through.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::format::Format;
use crate::gensort::{KEY_LEN, RECORD_LEN};

/// The bytes that end an intermediate object, after its index.
const MAGIC: &[u8; 8] = b"CBSHUF01";

/// The header of an entry of a variable layout: two u32 lengths.
pub(crate) const ENTRY_HEADER: usize = 8;

/// How the entries of a run are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Records of one size whose key is their first bytes: an entry is the
    /// record alone (gensort).
    Fixed {
        /// The size of every record.
        record: u32,
        /// The length of the key at its start.
        key: u32,
    },
    /// The key is the start of the record (a line without its newline):
    /// key length and record length (u32 LE each), then the record.
    Prefixed,
    /// A key made from the record (a csv column): key length and record
    /// length (u32 LE each), the key, then the record.
    Keyed,
}

impl Layout {
    /// The layout of a format's runs.
    pub fn of(format: &Format) -> Layout {
        match format {
            Format::Gensort => Layout::Fixed {
                record: RECORD_LEN as u32,
                key: KEY_LEN as u32,
            },
            Format::Lines => Layout::Prefixed,
            Format::Csv(_) => Layout::Keyed,
        }
    }

    /// The length of the entry at the start of `data`, if `data` holds its
    /// header; the entry itself may not be all there.
    pub fn entry_len(self, data: &[u8]) -> Option<usize> {
        match self {
            Layout::Fixed { record, .. } => Some(record as usize),
            Layout::Prefixed | Layout::Keyed => {
                let (key, record) = lengths(data)?;
                Some(match self {
                    Layout::Prefixed => ENTRY_HEADER + record,
                    _ => ENTRY_HEADER + key + record,
                })
            }
        }
    }

    /// The bytes an entry must have before [`Layout::entry_len`] can say
    /// how long it is.
    pub fn header_len(self) -> usize {
        match self {
            Layout::Fixed { .. } => 0,
            Layout::Prefixed | Layout::Keyed => ENTRY_HEADER,
        }
    }

    /// The sort key of a whole entry.
    pub fn key(self, entry: &[u8]) -> &[u8] {
        match self {
            Layout::Fixed { key, .. } => &entry[..key as usize],
            Layout::Prefixed => {
                let (key, _) = lengths(entry).expect("a whole entry");
                &entry[ENTRY_HEADER..ENTRY_HEADER + key]
            }
            Layout::Keyed => {
                let (key, _) = lengths(entry).expect("a whole entry");
                &entry[ENTRY_HEADER..ENTRY_HEADER + key]
            }
        }
    }

    /// The record of a whole entry, as the output holds it.
    pub fn record(self, entry: &[u8]) -> &[u8] {
        match self {
            Layout::Fixed { .. } => entry,
            Layout::Prefixed => &entry[ENTRY_HEADER..],
            Layout::Keyed => {
                let (key, _) = lengths(entry).expect("a whole entry");
                &entry[ENTRY_HEADER + key..]
            }
        }
    }

    /// Whether the first 16 bytes of keys, zero-padded, order them
    /// exactly: keys of one length up to 16 bytes.
    pub fn prefix_is_exact(self) -> bool {
        matches!(self, Layout::Fixed { key, .. } if key <= 16)
    }

    /// Writes one entry: `record` then `terminator` make the output
    /// record; for [`Layout::Prefixed`] the key must be the record's start.
    pub fn write_entry(
        self,
        key: &[u8],
        record: &[u8],
        terminator: &[u8],
        out: &mut impl Write,
    ) -> io::Result<()> {
        let record_len = record.len() + terminator.len();
        let header = |out: &mut dyn Write| {
            out.write_all(&len32(key.len())?.to_le_bytes())?;
            out.write_all(&len32(record_len)?.to_le_bytes())
        };
        match self {
            Layout::Fixed { .. } => {}
            Layout::Prefixed => {
                debug_assert!(record.starts_with(key));
                header(out)?;
            }
            Layout::Keyed => {
                header(out)?;
                out.write_all(key)?;
            }
        }
        out.write_all(record)?;
        out.write_all(terminator)
    }

    /// The size of the entry [`Layout::write_entry`] writes.
    pub fn entry_size(self, key: usize, record: usize) -> usize {
        match self {
            Layout::Fixed { .. } => record,
            Layout::Prefixed => ENTRY_HEADER + record,
            Layout::Keyed => ENTRY_HEADER + key + record,
        }
    }
}

/// The key and record lengths of a variable entry's header.
fn lengths(data: &[u8]) -> Option<(usize, usize)> {
    let header: &[u8; ENTRY_HEADER] = data.get(..ENTRY_HEADER)?.try_into().ok()?;
    let key = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    let record = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    Some((key as usize, record as usize))
}

fn len32(len: usize) -> io::Result<u32> {
    u32::try_from(len).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a record or key of {len} bytes is over the 4 GiB limit of a sort"),
        )
    })
}

/// The zero-padded first 16 bytes of a key, as a number that orders as the
/// keys do up to their 16th byte.
pub fn key_prefix(key: &[u8]) -> u128 {
    let mut bytes = [0; 16];
    let len = key.len().min(16);
    bytes[..len].copy_from_slice(&key[..len]);
    u128::from_be_bytes(bytes)
}

/// Where the partitions of a map task's runs lie in its intermediate
/// object: for each run, the offset where each reducer's partition starts,
/// and where the run ends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapIndex {
    /// `runs[run][reducer]..runs[run][reducer + 1]` is a partition.
    pub runs: Vec<Vec<u64>>,
}

impl MapIndex {
    /// The byte range of `reducer`'s partition of each run, in run order;
    /// empty ranges left out.
    pub fn partition(&self, reducer: usize) -> impl Iterator<Item = std::ops::Range<u64>> + '_ {
        self.runs
            .iter()
            .map(move |offsets| offsets[reducer]..offsets[reducer + 1])
            .filter(|range| !range.is_empty())
    }

    /// The index as the end of an intermediate object holds it.
    pub fn encode(&self, reducers: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.runs.len() * (reducers + 1) * 8 + 16);
        for offsets in &self.runs {
            debug_assert_eq!(offsets.len(), reducers + 1);
            for offset in offsets {
                bytes.extend_from_slice(&offset.to_le_bytes());
            }
        }
        bytes.extend_from_slice(&(self.runs.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(reducers as u32).to_le_bytes());
        bytes.extend_from_slice(MAGIC);
        bytes
    }

    /// Reads back the index at the end of a whole intermediate object.
    pub fn decode(object: &[u8]) -> Result<MapIndex, String> {
        let trailer = object
            .len()
            .checked_sub(16)
            .ok_or("shorter than its trailer")?;
        if &object[trailer + 8..] != MAGIC {
            return Err("no intermediate-object trailer at its end".into());
        }
        let number = |at: usize| u32::from_le_bytes(object[at..at + 4].try_into().unwrap());
        let runs = number(trailer) as usize;
        let width = number(trailer + 4) as usize + 1;
        let start = trailer
            .checked_sub(runs * width * 8)
            .ok_or("an index longer than the object")?;
        let offsets: Vec<u64> = object[start..trailer]
            .chunks_exact(8)
            .map(|bytes| u64::from_le_bytes(bytes.try_into().unwrap()))
            .collect();
        Ok(MapIndex {
            runs: offsets.chunks(width).map(<[u64]>::to_vec).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(layout: Layout, key: &[u8], record: &[u8], terminator: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        layout
            .write_entry(key, record, terminator, &mut out)
            .unwrap();
        assert_eq!(
            out.len(),
            layout.entry_size(key.len(), record.len() + terminator.len())
        );
        out
    }

    #[test]
    fn entries_give_back_their_key_and_record() {
        let keyed = entry(Layout::Keyed, b"\x00key", b"a,b,c", b"\n");
        assert_eq!(Layout::Keyed.entry_len(&keyed), Some(keyed.len()));
        assert_eq!(Layout::Keyed.entry_len(&keyed[..7]), None);
        assert_eq!(Layout::Keyed.key(&keyed), b"\x00key");
        assert_eq!(Layout::Keyed.record(&keyed), b"a,b,c\n");

        let line = entry(Layout::Prefixed, b"last", b"last", b"\n");
        assert_eq!(Layout::Prefixed.entry_len(&line), Some(line.len()));
        assert_eq!(Layout::Prefixed.key(&line), b"last");
        assert_eq!(Layout::Prefixed.record(&line), b"last\n");

        let gensort = Layout::of(&Format::Gensort);
        let record: Vec<u8> = (0..100).collect();
        let fixed = entry(gensort, &record[..10], &record, b"");
        assert_eq!(fixed, record);
        assert_eq!(gensort.entry_len(&[]), Some(100));
        assert_eq!(gensort.key(&fixed), &record[..10]);
        assert!(gensort.prefix_is_exact());
        assert!(!Layout::Keyed.prefix_is_exact());
    }

    #[test]
    fn prefixes_order_as_keys_do() {
        assert!(key_prefix(b"a") < key_prefix(b"b"));
        assert!(key_prefix(b"ab") > key_prefix(b"a"));
        assert_eq!(key_prefix(b"a"), key_prefix(b"a\0"));
        assert_eq!(key_prefix(&[7; 20]), key_prefix(&[7; 16]));
    }

    #[test]
    fn the_index_reads_back_from_the_end_of_the_object() {
        let index = MapIndex {
            runs: vec![vec![0, 10, 10, 30], vec![30, 31, 40, 40]],
        };
        let mut object = vec![9; 40];
        object.extend(index.encode(3));
        assert_eq!(MapIndex::decode(&object).unwrap(), index);
        assert_eq!(index.partition(1).collect::<Vec<_>>(), vec![31..40_u64]);
        assert_eq!(index.partition(0).collect::<Vec<_>>(), [0..10, 30..31]);
        assert!(MapIndex::decode(&object[..30]).is_err());
        assert_eq!(
            MapIndex::decode(&MapIndex::default().encode(4)).unwrap(),
            MapIndex::default()
        );
    }
}
