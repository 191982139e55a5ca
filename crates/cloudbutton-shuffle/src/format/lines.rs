//! The lines format: records end at `\n`.

use std::io::{self, Read};

/// The length of the first record of `data`, with its `\n`; all of `data`
/// if it has none.
pub(super) fn record_len(data: &[u8]) -> usize {
    memchr::memchr(b'\n', data).map_or(data.len(), |end| end + 1)
}

/// The chunk starts of an object read from its start (see
/// [`Format::split_points`](super::Format::split_points)): each the first
/// line start at least `target` bytes after the one before.
pub(super) fn split_points(object: &mut dyn Read, len: u64, target: u64) -> io::Result<Vec<u64>> {
    let mut points = Vec::new();
    if len == 0 {
        return Ok(points);
    }
    points.push(0);

    // The next point is the first line start at or after `next`: the byte
    // after the first `\n` at or after `next - 1`.
    let mut next = target;
    let mut buffer = vec![0; 1 << 20];
    let mut offset = 0u64;
    while next < len {
        let read = match object.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let data = &buffer[..read];
        let end = offset + read as u64;
        while next - 1 < end {
            let from = (next - 1).saturating_sub(offset) as usize;
            match memchr::memchr(b'\n', &data[from..]) {
                Some(at) => {
                    let start = offset + (from + at) as u64 + 1;
                    if start >= len {
                        return Ok(points);
                    }
                    points.push(start);
                    next = start + target;
                }
                None => break,
            }
        }
        offset = end;
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(data: &[u8], target: u64) -> Vec<u64> {
        split_points(&mut &data[..], data.len() as u64, target).unwrap()
    }

    #[test]
    fn points_are_line_starts_past_the_target() {
        let data = b"aaaa\nbb\ncccccc\nd\n";
        assert_eq!(points(data, 1), [0, 5, 8, 15]);
        assert_eq!(points(data, 5), [0, 5, 15]);
        assert_eq!(points(data, 6), [0, 8, 15]);
        assert_eq!(points(data, 100), [0]);
        assert_eq!(points(b"", 4), Vec::<u64>::new());
        assert_eq!(points(b"no newline at all", 2), [0]);
    }

    #[test]
    fn points_match_a_naive_cut_for_every_target() {
        let data: Vec<u8> = (0..3000u32)
            .map(|i| {
                if i % 7 == 0 || i % 13 == 0 {
                    b'\n'
                } else {
                    b'x'
                }
            })
            .collect();
        for target in 1..60 {
            let mut naive = vec![0u64];
            let mut next = target;
            for (i, byte) in data.iter().enumerate() {
                let start = i as u64 + 1;
                if *byte == b'\n' && start >= next && start < data.len() as u64 {
                    naive.push(start);
                    next = start + target;
                }
            }
            assert_eq!(points(&data, target), naive, "target {target}");
        }
    }
}
