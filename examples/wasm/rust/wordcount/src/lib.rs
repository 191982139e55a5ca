//! Counts the words of the task's input: the map function of a word count,
//! as a reactor on CloudButton's host interface.
//!
//! A word is a maximal run of ASCII letters and digits, lowercased; every
//! other byte separates words. This is the rule of CloudButton's native word
//! count, and the output is that of `examples/wasm/c/wordcount.c`: one
//! `word<TAB>count` line per distinct word, in no particular order, to be
//! reduced by `merge.wasm`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use cloudbutton_guest::{log, run, Level, Output};

run!(count_words);

fn count_words(input: &[u8], output: &mut Output) -> Result<(), String> {
    let mut counts: HashMap<Vec<u8>, u64, BuildHasherDefault<Fnv>> = HashMap::default();
    let mut word = Vec::new();

    // The whole chunk is in memory, so no word is cut between two reads.
    for run in input.split(|byte| !byte.is_ascii_alphanumeric()) {
        if run.is_empty() {
            continue;
        }
        word.clear();
        word.extend(run.iter().map(u8::to_ascii_lowercase));
        match counts.get_mut(&word) {
            Some(count) => *count += 1,
            None => {
                counts.insert(word.clone(), 1);
            }
        }
    }

    log(
        Level::Debug,
        &format!("{} distinct words in {} bytes", counts.len(), input.len()),
    );

    let mut line = Vec::new();
    for (word, count) in &counts {
        line.clear();
        line.extend_from_slice(word);
        line.push(b'\t');
        line.extend_from_slice(count.to_string().as_bytes());
        line.push(b'\n');
        output.write(&line)?;
    }
    Ok(())
}

/// FNV-1a: short words hash faster than with the standard library's
/// SipHash. SipHash guards a table against inputs made to collide; here such
/// an input would slow down only its own sandboxed task.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
