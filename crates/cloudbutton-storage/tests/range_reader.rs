//! Blocking windowed reads of a byte range.

use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use cloudbutton_storage::{RangeReader, Storage, StorageOptions, block_on};

/// An object of `size` bytes of numbered lines, in a memory store of its own.
fn lines(store: &str, size: usize) -> (Storage, Vec<u8>) {
    let storage =
        Storage::connect(&format!("memory://{store}"), &StorageOptions::default()).unwrap();
    let mut data = Vec::new();
    let mut line = 0;
    while data.len() < size {
        data.extend_from_slice(format!("line {line}\n").as_bytes());
        line += 1;
    }
    data.truncate(size);
    block_on(storage.put("lines", Bytes::from(data.clone()))).unwrap();
    (storage, data)
}

#[test]
fn reads_a_whole_range() {
    let (storage, data) = lines("range-whole", 3_000_000);
    let meter = Arc::new(AtomicU64::new(0));
    let mut reader = RangeReader::new(
        storage,
        "lines",
        1_000,
        2_500_000,
        4_096,
        Some(meter.clone()),
    );
    let mut read = Vec::new();
    reader.read_to_end(&mut read).unwrap();
    assert_eq!(read, &data[1_000..2_500_000]);
    assert_eq!(reader.position(), 2_500_000);
    assert_eq!(meter.load(Ordering::Relaxed), 2_499_000);
}

#[test]
fn stopping_early_fetches_little_more_than_was_read() {
    let (storage, data) = lines("range-early", 20_000_000);
    let meter = Arc::new(AtomicU64::new(0));

    // A chunk of nominal size 100,000 bytes starting at 500,000, read up to the
    // end of the record that straddles its end, on an object far larger.
    let (start, nominal_end) = (500_000u64, 600_000u64);
    let mut reader = RangeReader::new(
        storage,
        "lines",
        start,
        data.len() as u64,
        nominal_end - start,
        Some(meter.clone()),
    );
    let mut chunk = vec![0; (nominal_end - start) as usize];
    reader.read_exact(&mut chunk).unwrap();
    let mut tail = Vec::new();
    reader.read_until(b'\n', &mut tail).unwrap();

    let read_to = nominal_end + tail.len() as u64;
    assert_eq!(reader.position(), read_to);
    assert_eq!(tail.last(), Some(&b'\n'));
    assert_eq!(
        [chunk, tail].concat(),
        &data[start as usize..read_to as usize]
    );

    let fetched = meter.load(Ordering::Relaxed);
    assert!(fetched >= read_to - start);
    assert!(
        fetched <= nominal_end - start + 64 * 1024,
        "fetched {fetched} bytes"
    );
}

#[test]
fn empty_and_missing() {
    let (storage, _) = lines("range-edges", 100);
    let mut empty = RangeReader::new(storage.clone(), "lines", 50, 50, 0, None);
    assert_eq!(empty.fill_buf().unwrap(), b"");

    let mut missing = RangeReader::new(storage, "absent", 0, 10, 0, None);
    let error = missing.read(&mut [0; 4]).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(
        error.to_string().contains("memory://range-edges/absent"),
        "{error}"
    );
}
