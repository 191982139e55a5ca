//! Word counting, as the word count example and its benchmark do it: the
//! counter, and the map and reduce functions that run it over chunks.
//!
//! A word is a maximal run of ASCII letters and digits, lowercased; every
//! other byte separates words. Working on bytes makes the count independent
//! of the text's encoding and of where chunk edges fall inside multi-byte
//! characters.

use std::io::{self, BufRead};

use cloudbutton_executor::{Chunk, FnResult, Function, TaskContext};
use compact_str::CompactString;
use rustc_hash::FxHashMap;

/// A word: up to 24 bytes are held inline, so that most lookups in a large
/// table touch one cache line.
pub type Word = CompactString;

/// Word counts.
pub type WordCounts = FxHashMap<Word, u64>;

/// Counts words in a stream of byte slices; a word may span slices.
#[derive(Debug, Default)]
pub struct WordCounter {
    counts: WordCounts,
    /// The lowercased start of a word that the last slice ended inside.
    partial: Vec<u8>,
    /// Scratch space for lowercasing one word.
    word: Vec<u8>,
}

impl WordCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the words of the next slice of text.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut i = 0;
        // Finish a word that the previous slice ended inside.
        if !self.partial.is_empty() {
            let end = word_end(bytes, 0);
            self.partial
                .extend(bytes[..end].iter().map(u8::to_ascii_lowercase));
            if end == bytes.len() {
                return;
            }
            let word = std::mem::take(&mut self.partial);
            self.add(&word);
            i = end;
        }

        while i < bytes.len() {
            if !bytes[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let end = word_end(bytes, i);
            if end == bytes.len() {
                self.partial
                    .extend(bytes[i..].iter().map(u8::to_ascii_lowercase));
                return;
            }
            let mut word = std::mem::take(&mut self.word);
            word.clear();
            word.extend(bytes[i..end].iter().map(u8::to_ascii_lowercase));
            self.add(&word);
            self.word = word;
            i = end;
        }
    }

    fn add(&mut self, word: &[u8]) {
        // Words are ASCII letters and digits, so always valid UTF-8.
        let word = std::str::from_utf8(word).expect("ASCII word");
        match self.counts.get_mut(word) {
            Some(count) => *count += 1,
            None => {
                self.counts.insert(Word::from(word), 1);
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
            self.add(&word);
        }
        self.counts
    }
}

/// The end of the word that starts at `start`.
fn word_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|byte| !byte.is_ascii_alphanumeric())
        .map_or(bytes.len(), |length| start + length)
}

/// Counts the words of one chunk: the map function of a word count.
pub static COUNT_WORDS: Function<Chunk, WordCounts> =
    Function::new("text::count_words", count_words);
crate::register!(COUNT_WORDS);

/// Adds up word counts: the reduce function of a word count.
pub static MERGE_COUNTS: Function<Vec<WordCounts>, WordCounts> =
    Function::new("text::merge_counts", merge_all);
crate::register!(MERGE_COUNTS);

fn count_words(chunk: Chunk, ctx: &TaskContext) -> FnResult<WordCounts> {
    let mut counter = WordCounter::new();
    counter.feed_reader(chunk.open(ctx)?)?;
    Ok(counter.finish())
}

fn merge_all(parts: Vec<WordCounts>, _: &TaskContext) -> FnResult<WordCounts> {
    let mut total = WordCounts::default();
    for part in parts {
        merge_counts(&mut total, part);
    }
    Ok(total)
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
            pairs.iter().map(|&(w, c)| (Word::from(w), c)).collect()
        };
        let mut total = counts(&[("a", 1)]);
        merge_counts(&mut total, counts(&[("a", 2), ("b", 5)]));
        assert_eq!(total, counts(&[("a", 3), ("b", 5)]));
    }
}
