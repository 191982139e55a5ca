//! Property tests: however objects are cut, every record is read exactly once.

mod common;

use std::ops::Range;

use cloudbutton_partition::{
    Boundary, ChunkSpec, Delimiter, RecordReader, fetch_start, plan, records,
};
use common::{Drain, Trickle, drain, needed, owned_of, record_spans};
use proptest::prelude::*;

/// The largest piece the trickling inner reader hands out.
const MAX_PIECE: usize = 7;

/// Bytes that delimiters and objects are made of: ASCII, CR, LF and the two
/// bytes of "é", so that delimiters and text share bytes often.
const ALPHABET: &[u8] = b"ab|\r\n\xc3\xa9";

fn delimiter() -> impl Strategy<Value = Delimiter> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..=3)
        .prop_filter_map("self-overlapping delimiter", |bytes| {
            Delimiter::new(bytes).ok()
        })
}

/// An object biased towards many delimiters, empty and long records, CRLF
/// and multi-byte UTF-8.
fn object(delimiter: &Delimiter) -> impl Strategy<Value = Vec<u8>> + use<> {
    let piece = prop_oneof![
        4 => Just(delimiter.as_bytes().to_vec()),
        4 => prop::sample::select(ALPHABET).prop_map(|byte| vec![byte]),
        2 => Just(b"\r\n".to_vec()),
        2 => Just("é日".as_bytes().to_vec()),
        1 => (10..60_usize).prop_map(|len| vec![b'x'; len]),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn spec(len: usize) -> impl Strategy<Value = ChunkSpec> {
    prop_oneof![
        (1..=len as u64 + 3).prop_map(ChunkSpec::Size),
        (1..=12_u64).prop_map(ChunkSpec::Count),
    ]
}

fn drain_mode() -> impl Strategy<Value = Drain> {
    let sizes = || prop::collection::vec(1..20_usize, 1..5);
    prop_oneof![
        Just(Drain::ToEnd),
        sizes().prop_map(Drain::Reads),
        sizes().prop_map(Drain::Consumes),
    ]
}

/// Everything one property run needs.
#[derive(Debug, Clone)]
struct Case {
    delimiter: Delimiter,
    object: Vec<u8>,
    spec: ChunkSpec,
    pieces: Vec<usize>,
    capacity: usize,
    drain: Drain,
}

fn case() -> impl Strategy<Value = Case> {
    delimiter()
        .prop_flat_map(|delimiter| (Just(delimiter.clone()), object(&delimiter)))
        .prop_flat_map(|(delimiter, object)| {
            let spec = spec(object.len());
            (
                Just(delimiter),
                Just(object),
                spec,
                prop::collection::vec(1..=MAX_PIECE, 1..6),
                prop_oneof![1..=16_usize, Just(64 * 1024)],
                drain_mode(),
            )
        })
        .prop_map(|(delimiter, object, spec, pieces, capacity, drain)| Case {
            delimiter,
            object,
            spec,
            pieces,
            capacity,
            drain,
        })
}

/// Reads one chunk through a trickling inner reader; returns its bytes and
/// how many bytes it pulled from the inner reader.
fn read(case: &Case, range: Range<u64>, boundary: &Boundary, how: &Drain) -> (Vec<u8>, u64) {
    let from = fetch_start(&range, boundary) as usize;
    let inner = Trickle::new(&case.object[from..], &case.pieces);
    let mut reader = RecordReader::with_capacity(case.capacity, inner, range, boundary.clone());
    let bytes = drain(&mut reader, how).unwrap();
    (bytes, reader.bytes_consumed())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn every_record_is_read_exactly_once(case in case()) {
        let boundary = Boundary::Records(case.delimiter.clone());
        let spans = record_spans(&case.object, &case.delimiter);

        let mut all_bytes = Vec::new();
        let mut all_records = Vec::new();
        for chunk in plan(&[case.object.len() as u64], case.spec).unwrap() {
            let (bytes, consumed) = read(&case, chunk.range.clone(), &boundary, &case.drain);

            // The chunk yields exactly the records whose first byte it holds.
            let owned = owned_of(&spans, &chunk.range);
            prop_assert_eq!(&bytes, &case.object[owned], "{:?}", chunk);

            // It reads what it must, and stops within one inner read after.
            let needed = needed(&case.object, &boundary, &chunk.range) as u64;
            prop_assert!(consumed >= needed, "{chunk:?}: consumed {consumed} < {needed}");
            prop_assert!(
                consumed < needed + MAX_PIECE as u64,
                "{chunk:?}: consumed {consumed}, needed {needed}"
            );

            let (again, _) = read(&case, chunk.range.clone(), &boundary, &Drain::ToEnd);
            prop_assert_eq!(&again, &bytes);
            all_records.extend(records(&again[..], &case.delimiter).map(Result::unwrap));
            all_bytes.extend(bytes);
        }

        prop_assert_eq!(all_bytes, case.object.clone());
        let expected: Vec<_> =
            records(&case.object[..], &case.delimiter).map(Result::unwrap).collect();
        prop_assert_eq!(all_records, expected);
    }

    #[test]
    fn records_through_a_chunk_reader_match_the_object(case in case()) {
        // `records` pulls through `fill_buf`/`consume` in its own pattern.
        let boundary = Boundary::Records(case.delimiter.clone());
        let mut all_records = Vec::new();
        for chunk in plan(&[case.object.len() as u64], case.spec).unwrap() {
            let from = fetch_start(&chunk.range, &boundary) as usize;
            let inner = Trickle::new(&case.object[from..], &case.pieces);
            let reader =
                RecordReader::with_capacity(case.capacity, inner, chunk.range, boundary.clone());
            all_records.extend(records(reader, &case.delimiter).map(Result::unwrap));
        }
        let expected: Vec<_> =
            records(&case.object[..], &case.delimiter).map(Result::unwrap).collect();
        prop_assert_eq!(all_records, expected);
    }

    #[test]
    fn exact_chunks_are_their_ranges(case in case()) {
        let mut all = Vec::new();
        for chunk in plan(&[case.object.len() as u64], case.spec).unwrap() {
            let (bytes, consumed) = read(&case, chunk.range.clone(), &Boundary::Exact, &case.drain);
            let range = chunk.range.start as usize..chunk.range.end as usize;
            prop_assert_eq!(&bytes, &case.object[range.clone()]);
            prop_assert_eq!(consumed, range.len() as u64);
            all.extend(bytes);
        }
        prop_assert_eq!(all, case.object);
    }

    #[test]
    fn plan_covers_each_object_with_contiguous_chunks(
        sizes in prop::collection::vec(prop_oneof![0..50_u64, 0..u64::MAX / 2], 0..6),
        spec in prop_oneof![
            (1..20_u64).prop_map(ChunkSpec::Size),
            (u64::MAX / 8..u64::MAX).prop_map(ChunkSpec::Size),
            (1..20_u64).prop_map(ChunkSpec::Count),
        ],
    ) {
        let chunks = match plan(&sizes, spec) {
            Ok(chunks) => chunks,
            Err(error) => {
                // Only tiny chunk sizes over huge objects may be refused.
                prop_assert!(matches!(spec, ChunkSpec::Size(s) if s < 20), "{error}");
                return Ok(());
            }
        };

        let mut at = 0;
        for (object, &size) in sizes.iter().enumerate() {
            let mine: Vec<_> = chunks[at..].iter().take_while(|c| c.object == object).collect();
            at += mine.len();

            let expected_parts = match spec {
                ChunkSpec::Size(s) => size.div_ceil(s).max(1),
                ChunkSpec::Count(n) => n.min(size).max(1),
            };
            prop_assert_eq!(mine.len() as u64, expected_parts);

            let mut end = 0;
            for (part, chunk) in mine.iter().enumerate() {
                prop_assert_eq!(chunk.part as usize, part);
                prop_assert_eq!(u64::from(chunk.parts), expected_parts);
                prop_assert_eq!(chunk.range.start, end);
                prop_assert!(size == 0 || !chunk.range.is_empty(), "{chunk:?}");
                if let ChunkSpec::Size(s) = spec {
                    prop_assert!(chunk.range.end - chunk.range.start <= s);
                }
                end = chunk.range.end;
            }
            prop_assert_eq!(end, size);

            if let ChunkSpec::Count(_) = spec {
                let lens = mine.iter().map(|c| c.range.end - c.range.start);
                let (min, max) = (lens.clone().min().unwrap(), lens.max().unwrap());
                prop_assert!(max - min <= 1, "uneven chunks {min}..{max}");
            }
        }
        prop_assert_eq!(at, chunks.len());
    }
}
