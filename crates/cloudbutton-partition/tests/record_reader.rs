//! Edge cases of reading the records a chunk owns.

mod common;

use std::io::{self, BufRead, Read};

use cloudbutton_partition::{
    Boundary, ChunkSpec, Delimiter, PartitionError, RecordReader, fetch_start, lines, plan, records,
};
use common::{owned_of, read_chunk, record_spans};

/// Reads every chunk of `object` cut into chunks of `size` bytes.
fn chunks(object: &[u8], size: u64, boundary: &Boundary) -> Vec<Vec<u8>> {
    plan(&[object.len() as u64], ChunkSpec::Size(size))
        .unwrap()
        .into_iter()
        .map(|chunk| read_chunk(object, chunk.range, boundary))
        .collect()
}

fn strings(chunks: Vec<Vec<u8>>) -> Vec<String> {
    chunks
        .into_iter()
        .map(|c| String::from_utf8(c).unwrap())
        .collect()
}

#[test]
fn object_without_trailing_delimiter_keeps_its_last_record() {
    let object = b"one\ntwo\nthree";
    for size in 1..=object.len() as u64 + 1 {
        let all = chunks(object, size, &Boundary::lines());
        assert_eq!(all.concat(), object, "chunk size {size}");
    }
    assert_eq!(
        strings(chunks(object, 8, &Boundary::lines())),
        ["one\ntwo\n", "three"]
    );
    // "three" starts at 8, inside the first chunk 0..9, which reads it to the end.
    assert_eq!(
        strings(chunks(object, 9, &Boundary::lines())),
        ["one\ntwo\nthree", ""]
    );
}

#[test]
fn records_longer_than_a_chunk_leave_some_chunks_empty() {
    let object = b"short\na record much longer than a chunk\nend\n";
    assert_eq!(
        strings(chunks(object, 8, &Boundary::lines())),
        [
            "short\na record much longer than a chunk\n",
            "",
            "",
            "",
            "",
            "end\n"
        ]
    );
}

#[test]
fn empty_object_has_one_chunk_that_reads_nothing() {
    for spec in [ChunkSpec::Size(10), ChunkSpec::Count(4)] {
        let planned = plan(&[0], spec).unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].range, 0..0);
        for boundary in [Boundary::lines(), Boundary::Exact] {
            let mut reader = RecordReader::new(&b""[..], planned[0].range.clone(), boundary);
            assert!(reader.fill_buf().unwrap().is_empty());
            assert_eq!(reader.bytes_consumed(), 0);
        }
    }
}

#[test]
fn crlf_lines_read_cleanly_with_either_delimiter() {
    let object = b"alpha\r\nbeta\r\n\r\ngamma\r\n";
    for size in 1..=object.len() as u64 {
        let mut via_newline = Vec::new();
        let mut via_crlf = Vec::new();
        for chunk in plan(&[object.len() as u64], ChunkSpec::Size(size)).unwrap() {
            let bytes = read_chunk(object, chunk.range.clone(), &Boundary::lines());
            via_newline.extend(lines(&bytes[..]).map(Result::unwrap));

            let crlf = Delimiter::new("\r\n").unwrap();
            let bytes = read_chunk(object, chunk.range, &Boundary::Records(crlf.clone()));
            via_crlf.extend(records(&bytes[..], &crlf).map(Result::unwrap));
        }
        assert_eq!(
            via_newline,
            ["alpha", "beta", "", "gamma"],
            "chunk size {size}"
        );
        assert_eq!(
            via_crlf,
            [&b"alpha"[..], b"beta", b"", b"gamma"],
            "chunk size {size}"
        );
    }
}

#[test]
fn multibyte_utf8_at_chunk_edges_decodes_cleanly() {
    let text = "été\n日本語のテキスト\n\u{1F600}\nñ\n\n末尾";
    let object = text.as_bytes();
    for size in 1..=object.len() as u64 {
        let mut seen = Vec::new();
        for chunk in plan(&[object.len() as u64], ChunkSpec::Size(size)).unwrap() {
            let from = fetch_start(&chunk.range, &Boundary::lines()) as usize;
            let reader = RecordReader::new(&object[from..], chunk.range, Boundary::lines());
            seen.extend(lines(reader).map(Result::unwrap));
        }
        assert_eq!(seen, text.lines().collect::<Vec<_>>(), "chunk size {size}");
    }
}

#[test]
fn chunk_size_one_gives_each_record_to_its_first_byte() {
    let object = b"a\n\nbc\nd";
    assert_eq!(
        strings(chunks(object, 1, &Boundary::lines())),
        ["a\n", "", "\n", "bc\n", "", "", "d"]
    );
    let crlf = Boundary::Records(Delimiter::new("\r\n").unwrap());
    assert_eq!(
        strings(chunks(b"a\r\n\r\nb", 1, &crlf)),
        ["a\r\n", "", "", "\r\n", "", "b"]
    );
}

#[test]
fn delimiter_ending_exactly_at_a_chunk_edge_starts_the_next_chunk() {
    assert_eq!(
        strings(chunks(b"ab\ncd\n", 3, &Boundary::lines())),
        ["ab\n", "cd\n"]
    );

    let end = Boundary::Records(Delimiter::new("END").unwrap());
    assert_eq!(strings(chunks(b"abEND12END", 5, &end)), ["abEND", "12END"]);
    // The delimiter straddles the edge: the first chunk finishes its record.
    assert_eq!(
        strings(chunks(b"abcEND12END", 5, &end)),
        ["abcEND", "12END", ""]
    );
    // The delimiter starts exactly at the edge.
    assert_eq!(strings(chunks(b"abcdeEND12", 5, &end)), ["abcdeEND", "12"]);
}

#[test]
fn self_overlapping_delimiter_is_rejected() {
    for bad in ["aa", "||", "abab", "xyx"] {
        let error = Delimiter::new(bad).unwrap_err();
        assert!(
            matches!(error, PartitionError::SelfOverlappingDelimiter { .. }),
            "{bad:?}: {error}"
        );
    }
}

#[test]
fn exact_boundary_reads_the_nominal_range() {
    let object = b"0123456789";
    let all = chunks(object, 4, &Boundary::Exact);
    assert_eq!(strings(all), ["0123", "4567", "89"]);
}

#[test]
fn stops_reading_after_the_last_owned_record() {
    // The inner reader never ends: the reader must stop by itself.
    let endless = |prefix: &'static [u8]| prefix.chain(io::repeat(b'x'));

    let mut reader = RecordReader::new(endless(b"a\nbb\n"), 0..3, Boundary::lines());
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"a\nbb\n");
    assert!(
        reader.bytes_consumed() < 16 * 1024,
        "{}",
        reader.bytes_consumed()
    );

    // A chunk that owns nothing stops at the delimiter that proves it, or at
    // its range end.
    let mut reader = RecordReader::new(endless(b"aaa\nb"), 1..4, Boundary::lines());
    assert!(reader.fill_buf().unwrap().is_empty());
    assert_eq!(reader.bytes_consumed(), 4);
    let mut reader = RecordReader::new(io::repeat(b'x'), 10..20, Boundary::lines());
    assert!(reader.fill_buf().unwrap().is_empty());
    assert_eq!(reader.bytes_consumed(), 11);

    // Exact chunks read their range and not one byte more.
    let mut reader = RecordReader::new(io::repeat(b'x'), 100..1_000_100, Boundary::Exact);
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out.len(), 1_000_000);
    assert_eq!(reader.bytes_consumed(), 1_000_000);
}

#[test]
fn truncated_object_is_an_error_not_a_short_chunk() {
    for (boundary, range) in [
        (Boundary::lines(), 0..10),
        (Boundary::lines(), 2..10),
        (Boundary::lines(), 6..10),
        (Boundary::Exact, 2..10),
    ] {
        let object = b"ab\ncd";
        let from = fetch_start(&range, &boundary) as usize;
        let mut reader = RecordReader::new(&object[from.min(5)..], range.clone(), boundary);
        let error = reader.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        let inner = error
            .into_inner()
            .unwrap()
            .downcast::<PartitionError>()
            .unwrap();
        assert!(
            matches!(*inner, PartitionError::ObjectTruncated { ended_at: 5, .. }),
            "{inner}"
        );
    }
}

#[test]
fn large_object_with_default_buffer_matches_the_model() {
    // Deterministic pseudo-random lines, some far longer than the buffer.
    let mut object = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    while object.len() < 3 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = match state % 100 {
            0 => 100_000 + (state >> 8) as usize % 100_000,
            1..=9 => 0,
            _ => (state >> 8) as usize % 200,
        };
        object.extend(std::iter::repeat_n(b'w', len));
        object.push(b'\n');
    }
    object.extend_from_slice(b"no newline at the end");

    let boundary = Boundary::lines();
    let spans = record_spans(&object, &Delimiter::newline());
    for spec in [
        ChunkSpec::Size(64 * 1024),
        ChunkSpec::Size(64 * 1024 + 1),
        ChunkSpec::Size(1 << 20),
        ChunkSpec::Count(7),
    ] {
        let mut all = Vec::new();
        for chunk in plan(&[object.len() as u64], spec).unwrap() {
            let bytes = read_chunk(&object, chunk.range.clone(), &boundary);
            assert_eq!(bytes, &object[owned_of(&spans, &chunk.range)], "{chunk:?}");
            all.extend(bytes);
        }
        assert_eq!(all, object, "{spec:?}");
    }
}
