//! The sortbenchmark.org input generator, after the published `gensort`
//! (version 1.5): 100-byte records whose first 10 bytes are the key.
//!
//! Record `n` (counting from 0) is made from the numbers `x(n+1)`,
//! `x(n+2)`, ... of one 128-bit linear congruential generator that starts
//! from `x(0) = 0`:
//!
//! ```text
//! x(i+1) = (A * x(i) + C) mod 2^128
//! A = 0x2360ed051fc65da44385df649fccf645
//! C = 0x4a696d47726179524950202020202001
//! ```
//!
//! - **Binary** records (the default) are random in every byte: byte group
//!   `k` (bytes `10k..10k+10`, k = 0..9) is the top 80 bits of `x(n+1+k)`
//!   XOR a constant of group `k` (zero for the key, group 0). Record `n+1`
//!   reuses nine of record `n`'s numbers, so each record costs one step of
//!   the generator.
//! - **ASCII** records (`-a`, for PennySort and JouleSort) use only
//!   `x(n+1)`: a 10-character key of printable characters (' ' to '~',
//!   base-95 digits of the high and low 64 bits), two spaces, the row
//!   number as 32 uppercase hexadecimal digits, two spaces, 52 filler
//!   characters (13 hexadecimal digits of the low 64 bits, each four
//!   times), and `"\r\n"`. They sort the same way as lines under
//!   `LC_ALL=C sort`.
//!
//! Going forward `n` steps is a composition of the generator with itself,
//! so `x(n)` comes from the powers `2^i` of the generator in 128
//! multiplications at most ([`skip_ahead`]): any range of rows can be
//! generated on its own, in parallel, and equals the same rows of one
//! sequential run.
//!
//! (Versions of gensort before 1.3 wrote binary records of another layout:
//! the same key, then the row number in hexadecimal and fixed filler. The
//! key and the ASCII records are the same in every version.)
//!
//! ```
//! use cloudbutton_shuffle::gensort::{self, Generator, RECORD_LEN};
//!
//! // Rows 0..10 in one go, and rows 5..10 on their own: the same bytes.
//! let mut all = Vec::new();
//! gensort::generate(0, 10, false, &mut all).unwrap();
//! let mut tail = Vec::new();
//! gensort::generate(5, 5, false, &mut tail).unwrap();
//! assert_eq!(&all[5 * RECORD_LEN..], &tail[..]);
//!
//! // One record, on its own.
//! assert_eq!(gensort::record(7, false), all[7 * RECORD_LEN..8 * RECORD_LEN]);
//! let mut generator = Generator::new(3, 1, true);
//! assert!(generator.next_record().unwrap().ends_with(b"\r\n"));
//! ```

use std::io::{self, Read, Write};

/// The length of every gensort record, binary or ASCII.
pub const RECORD_LEN: usize = 100;

/// The length of the key at the start of every record.
pub const KEY_LEN: usize = 10;

/// The multiplier of the generator.
const MULTIPLIER: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// The increment of the generator.
const INCREMENT: u128 = 0x4a69_6d47_7261_7952_4950_2020_2020_2001;

/// The numbers that each binary record is made from.
const WINDOW: usize = RECORD_LEN / KEY_LEN;

/// What the top 80 bits of each number of a binary record are XORed with,
/// so that the ten byte groups differ: the specification's constants.
const GROUP_MASKS: [[u8; KEY_LEN]; WINDOW] = [
    [0; KEY_LEN],
    [0xF0, 0xE8, 0xE4, 0xE2, 0xE1, 0xD8, 0xD4, 0xD2, 0xD1, 0xCC],
    [0xCA, 0xC9, 0xC6, 0xC5, 0xC3, 0xB8, 0xB4, 0xB2, 0xB1, 0xAC],
    [0xAA, 0xA9, 0xA6, 0xA5, 0xA3, 0x9C, 0x9A, 0x99, 0x96, 0x95],
    [0x93, 0x8E, 0x8D, 0x8B, 0x87, 0x78, 0x74, 0x72, 0x71, 0x6C],
    [0x6A, 0x69, 0x66, 0x65, 0x63, 0x5C, 0x5A, 0x59, 0x56, 0x55],
    [0x53, 0x4E, 0x4D, 0x4B, 0x47, 0x3C, 0x3A, 0x39, 0x36, 0x35],
    [0x33, 0x2E, 0x2D, 0x2B, 0x27, 0x1E, 0x1D, 0x1B, 0x17, 0x0F],
    [0xC8, 0xC4, 0xC2, 0xC1, 0x98, 0x94, 0x92, 0x91, 0x8C, 0xE0],
    [0x17, 0x0F, 0x33, 0x2E, 0x2D, 0x2B, 0x27, 0x1E, 0x1D, 0x1B],
];

/// Uppercase hexadecimal digits.
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// One step of the generator.
fn step(x: u128) -> u128 {
    x.wrapping_mul(MULTIPLIER).wrapping_add(INCREMENT)
}

/// The generator's number `steps` steps after 0, `x(steps)`, in at most 128
/// multiplications rather than `steps`.
///
/// The generator is `f(x) = a*x + c`; applying it twice is
/// `f(f(x)) = a*a*x + (a*c + c)`, again of that form. Squaring this way
/// gives `f` applied `2^i` times for every bit `i`, and the bits set in
/// `steps` pick which of them to apply.
pub fn skip_ahead(steps: u128) -> u128 {
    let (mut multiplier, mut increment) = (MULTIPLIER, INCREMENT);
    let mut x = 0u128;
    let mut rest = steps;
    while rest != 0 {
        if rest & 1 == 1 {
            x = x.wrapping_mul(multiplier).wrapping_add(increment);
        }
        increment = multiplier.wrapping_mul(increment).wrapping_add(increment);
        multiplier = multiplier.wrapping_mul(multiplier);
        rest >>= 1;
    }
    x
}

/// Record `row`, on its own: binary, or ASCII if `ascii`.
///
/// To generate many consecutive rows, a [`Generator`] is faster: it steps
/// from one row to the next instead of skipping ahead for each.
pub fn record(row: u128, ascii: bool) -> [u8; RECORD_LEN] {
    Generator::new(row, 1, ascii)
        .next_record()
        .expect("one record asked for")
}

/// Writes records `start_row..start_row + rows` to `out`: binary, or ASCII if
/// `ascii`. Any split of a range into parts gives the same bytes as the
/// whole range.
pub fn generate(start_row: u128, rows: u64, ascii: bool, out: &mut impl Write) -> io::Result<()> {
    let mut generator = Generator::new(start_row, rows, ascii);
    let mut buffer = Vec::with_capacity(1024 * RECORD_LEN);
    while let Some(record) = generator.next_record() {
        buffer.extend_from_slice(&record);
        if buffer.len() == buffer.capacity() {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)
}

/// Consecutive gensort records, one at a time ([`Generator::next_record`])
/// or as a byte stream ([`Read`]).
///
/// It keeps the sum of the CRC-32 of the records it has made, the checksum
/// that `valsort` prints, so that a writer learns its output's checksum
/// without reading it back.
#[derive(Clone, Debug)]
pub struct Generator {
    /// The row of the next record.
    row: u128,
    /// Records still to make.
    remaining: u64,
    ascii: bool,
    /// `x(row+1)`, ... `x(row+10)`: the numbers of the next binary record
    /// (an ASCII record uses the first only).
    window: [u128; WINDOW],
    /// The sum of the CRC-32 of the records made so far.
    checksum: u128,
    /// The record being read through [`Read`], and how much of it was.
    pending: [u8; RECORD_LEN],
    pending_at: usize,
}

impl Generator {
    /// A generator of `rows` records starting at row `start_row`: binary,
    /// or ASCII if `ascii`.
    pub fn new(start_row: u128, rows: u64, ascii: bool) -> Generator {
        let mut window = [0; WINDOW];
        window[0] = skip_ahead(start_row.wrapping_add(1));
        for k in 1..WINDOW {
            window[k] = step(window[k - 1]);
        }
        Generator {
            row: start_row,
            remaining: rows,
            ascii,
            window,
            checksum: 0,
            pending: [0; RECORD_LEN],
            pending_at: RECORD_LEN,
        }
    }

    /// The row of the next record.
    pub fn row(&self) -> u128 {
        self.row
    }

    /// How many records are still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The sum, wrapping at 2^128, of the CRC-32 of every record made so
    /// far: `valsort`'s checksum.
    pub fn checksum(&self) -> u128 {
        self.checksum
    }

    /// The next record, or `None` when all were made.
    pub fn next_record(&mut self) -> Option<[u8; RECORD_LEN]> {
        if self.remaining == 0 {
            return None;
        }
        let mut record = [0; RECORD_LEN];
        if self.ascii {
            self.fill_ascii(&mut record);
        } else {
            self.fill_binary(&mut record);
        }
        self.checksum = self
            .checksum
            .wrapping_add(u128::from(crc32fast::hash(&record)));

        self.remaining -= 1;
        self.row = self.row.wrapping_add(1);
        self.window.copy_within(1.., 0);
        self.window[WINDOW - 1] = step(self.window[WINDOW - 2]);
        Some(record)
    }

    fn fill_binary(&self, record: &mut [u8; RECORD_LEN]) {
        for (k, group) in record.chunks_exact_mut(KEY_LEN).enumerate() {
            let top = self.window[k].to_be_bytes();
            for ((byte, random), mask) in group.iter_mut().zip(&top).zip(&GROUP_MASKS[k]) {
                *byte = random ^ mask;
            }
        }
    }

    fn fill_ascii(&self, record: &mut [u8; RECORD_LEN]) {
        let x = self.window[0];
        let (high, low) = ((x >> 64) as u64, x as u64);

        // The key: eight base-95 digits of the high half and two of the
        // low half, least significant first, as printable characters.
        let mut digits = high;
        for byte in &mut record[..8] {
            *byte = b' ' + (digits % 95) as u8;
            digits /= 95;
        }
        let mut digits = low;
        for byte in &mut record[8..KEY_LEN] {
            *byte = b' ' + (digits % 95) as u8;
            digits /= 95;
        }

        record[10..12].fill(b' ');
        for (i, byte) in record[12..44].iter_mut().enumerate() {
            *byte = HEX[((self.row >> (124 - 4 * i)) & 0xF) as usize];
        }
        record[44..46].fill(b' ');
        for (i, run) in record[46..98].chunks_exact_mut(4).enumerate() {
            run.fill(HEX[((low >> (48 - 4 * i)) & 0xF) as usize]);
        }
        record[98..].copy_from_slice(b"\r\n");
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.pending_at == RECORD_LEN {
                match self.next_record() {
                    Some(record) => {
                        self.pending = record;
                        self.pending_at = 0;
                    }
                    None => break,
                }
            }
            let take = (RECORD_LEN - self.pending_at).min(buf.len() - written);
            buf[written..written + take]
                .copy_from_slice(&self.pending[self.pending_at..self.pending_at + take]);
            self.pending_at += take;
            written += take;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum of records `0..rows`, as `gensort -c` prints it.
    fn checksum(rows: u64, ascii: bool) -> u128 {
        let mut generator = Generator::new(0, rows, ascii);
        while generator.next_record().is_some() {}
        generator.checksum()
    }

    /// Known answers: the checksums that the original `valsort` printed
    /// for files made by the original `gensort`, as published with two
    /// sort projects (`gensort 1000000` and `gensort -a 163840`). Every
    /// byte of every record goes into them.
    #[test]
    fn checksums_match_the_published_valsort_outputs() {
        assert_eq!(checksum(1_000_000, false), 0x7a0e0d4868cd4);
        assert_eq!(checksum(163_840, true), 0x1400fed7bb2c2);
    }

    #[test]
    fn skipping_ahead_equals_stepping() {
        let mut x = 0u128;
        for steps in 0..300u128 {
            assert_eq!(skip_ahead(steps), x, "after {steps} steps");
            x = step(x);
        }
    }

    #[test]
    fn the_first_number_is_the_increment() {
        // x(1) = A * 0 + C: the key of record 0 is C's top 10 bytes.
        assert_eq!(skip_ahead(1), INCREMENT);
        assert_eq!(
            &record(0, false)[..KEY_LEN],
            &INCREMENT.to_be_bytes()[..KEY_LEN]
        );
    }

    #[test]
    fn every_split_of_a_range_equals_the_whole() {
        for ascii in [false, true] {
            let mut whole = Vec::new();
            generate(1000, 57, ascii, &mut whole).unwrap();
            for cut in [0u64, 1, 9, 10, 11, 56, 57] {
                let mut parts = Vec::new();
                generate(1000, cut, ascii, &mut parts).unwrap();
                generate(1000 + u128::from(cut), 57 - cut, ascii, &mut parts).unwrap();
                assert_eq!(parts, whole, "ascii {ascii}, cut at {cut}");
            }
            for row in [0usize, 13, 56] {
                assert_eq!(
                    record(1000 + row as u128, ascii),
                    whole[row * RECORD_LEN..(row + 1) * RECORD_LEN]
                );
            }
        }
    }

    #[test]
    fn binary_records_are_made_of_ten_consecutive_numbers() {
        // Group k of record n is group 0 of record n+k, XOR its constant.
        let records: Vec<[u8; RECORD_LEN]> = (0..20).map(|row| record(row, false)).collect();
        for n in 0..10 {
            for k in 1..WINDOW {
                let group = &records[n][KEY_LEN * k..KEY_LEN * (k + 1)];
                let unmasked: Vec<u8> = group
                    .iter()
                    .zip(&GROUP_MASKS[k])
                    .map(|(byte, mask)| byte ^ mask)
                    .collect();
                assert_eq!(unmasked, records[n + k][..KEY_LEN]);
            }
        }
    }

    #[test]
    fn ascii_records_have_the_published_layout() {
        let row = 0x1234_5678_9ABC_DEF0_u128;
        let record = record(row, true);
        assert!(
            record[..KEY_LEN]
                .iter()
                .all(|byte| (b' '..=b'~').contains(byte))
        );
        assert_eq!(&record[10..12], b"  ");
        assert_eq!(&record[12..44], b"0000000000000000123456789ABCDEF0");
        assert_eq!(&record[44..46], b"  ");
        for run in record[46..98].chunks_exact(4) {
            assert!(run.iter().all(|byte| *byte == run[0] && HEX.contains(byte)));
        }
        assert_eq!(&record[98..], b"\r\n");
    }

    #[test]
    fn reading_in_odd_pieces_gives_the_records() {
        let mut whole = Vec::new();
        generate(5, 30, false, &mut whole).unwrap();
        let mut generator = Generator::new(5, 30, false);
        let mut read = Vec::new();
        let mut piece = [0; 37];
        loop {
            let n = generator.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            read.extend_from_slice(&piece[..n]);
        }
        assert_eq!(read, whole);
        let sum: u128 = whole
            .chunks(RECORD_LEN)
            .map(|record| u128::from(crc32fast::hash(record)))
            .sum();
        assert_eq!(generator.checksum(), sum);
    }
}
