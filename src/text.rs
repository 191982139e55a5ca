//! Word counting, as the word count example and its benchmark do it.
//!
//! A word is a maximal run of ASCII letters and digits, lowercased; every
//! other byte separates words. Working on bytes makes the count independent
//! of the text's encoding and of where chunk edges fall inside multi-byte
//! characters.

use std::io::{self, BufRead};

use rustc_hash::FxHashMap;

/// Word counts.
pub type WordCounts = FxHashMap<String, u64>;

/// Counts words in a stream of byte slices; a word may span slices.
#[derive(Debug, Default)]
pub struct WordCounter {
    counts: FxHashMap<Vec<u8>, u64>,
    partial: Vec<u8>,
}

impl WordCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the words of the next slice of text.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        // Finish a word that the previous slice ended inside.
        if !self.partial.is_empty() {
            let end = rest
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            self.partial
                .extend(rest[..end].iter().map(u8::to_ascii_lowercase));
            if end == rest.len() {
                return;
            }
            let word = std::mem::take(&mut self.partial);
            *self.counts.entry(word).or_insert(0) += 1;
            rest = &rest[end..];
        }

        let mut word = Vec::with_capacity(32);
        let mut start = None;
        for (i, byte) in rest.iter().enumerate() {
            match (byte.is_ascii_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    word.clear();
                    word.extend(rest[s..i].iter().map(u8::to_ascii_lowercase));
                    self.add(&word);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            self.partial
                .extend(rest[s..].iter().map(u8::to_ascii_lowercase));
        }
    }

    fn add(&mut self, word: &[u8]) {
        match self.counts.get_mut(word) {
            Some(count) => *count += 1,
            None => {
                self.counts.insert(word.to_vec(), 1);
            }
        }
    }

    /// Counts every word a reader yields.
    pub fn feed_reader(&mut self, mut reader: impl BufRead) -> io::Result<()> {
        loop {
            let buffer = reader.fill_buf()?;
            if buffer.is_empty() {
                return Ok(());
            }
            let length = buffer.len();
            self.feed(buffer);
            reader.consume(length);
        }
    }

    /// Ends the text and returns the counts.
    pub fn finish(mut self) -> WordCounts {
        if !self.partial.is_empty() {
            let word = std::mem::take(&mut self.partial);
            *self.counts.entry(word).or_insert(0) += 1;
        }
        self.counts
            .into_iter()
            // Words are ASCII by construction.
            .map(|(word, count)| (String::from_utf8(word).expect("ASCII word"), count))
            .collect()
    }
}

/// Adds `more` into `total`.
pub fn merge_counts(total: &mut WordCounts, more: WordCounts) {
    if total.len() < more.len() {
        merge_counts_into_larger(total, more);
        return;
    }
    for (word, count) in more {
        *total.entry(word).or_insert(0) += count;
    }
}

fn merge_counts_into_larger(total: &mut WordCounts, mut more: WordCounts) {
    for (word, count) in total.drain() {
        *more.entry(word).or_insert(0) += count;
    }
    *total = more;
}

/// The counts, count descending then word ascending.
pub fn ranked(counts: &WordCounts) -> Vec<(&str, u64)> {
    let mut ranked: Vec<(&str, u64)> = counts.iter().map(|(w, &c)| (w.as_str(), c)).collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(pieces: &[&[u8]]) -> Vec<(String, u64)> {
        let mut counter = WordCounter::new();
        for piece in pieces {
            counter.feed(piece);
        }
        let counts = counter.finish();
        ranked(&counts)
            .into_iter()
            .map(|(w, c)| (w.to_owned(), c))
            .collect()
    }

    #[test]
    fn words_are_lowercased_runs_of_ascii_letters_and_digits() {
        let counts = count(&[b"The cat's 2nd cat, THE end\xc3\xa9the"]);
        assert_eq!(
            counts,
            [("the", 3), ("cat", 2), ("2nd", 1), ("end", 1), ("s", 1)]
                .map(|(w, c)| (w.to_owned(), c))
        );
    }

    #[test]
    fn a_word_split_across_slices_counts_once() {
        assert_eq!(
            count(&[b"hel", b"lo wor", b"", b"ld"]),
            count(&[b"hello world"])
        );
        assert_eq!(count(&[b"ab", b"c", b" "]), [("abc".to_owned(), 1)]);
    }

    #[test]
    fn merging_adds_counts() {
        let counts = |pairs: &[(&str, u64)]| -> WordCounts {
            pairs.iter().map(|&(w, c)| (w.to_owned(), c)).collect()
        };
        let mut total = counts(&[("a", 1)]);
        merge_counts(&mut total, counts(&[("a", 2), ("b", 5)]));
        assert_eq!(total, counts(&[("a", 3), ("b", 5)]));
    }
}
