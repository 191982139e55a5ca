//! Group-by with many reducers over real text: a word count whose words are
//! split among reducers by key equals the independent reference count, and
//! no word is reduced twice.

mod support;

use std::collections::HashSet;
use std::process::Command;

use cloudbutton::executor::Chunk;
use cloudbutton::executor::{Config, Groups, ProgressMode};
use cloudbutton::text::WordCounter;
use cloudbutton::{FnResult, Function, FunctionExecutor, ObjectInput, TaskContext};
use support::{root, run};

fn words(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<(String, u64)>> {
    let mut counter = WordCounter::new();
    counter.feed_reader(chunk.open(ctx)?)?;
    Ok(counter
        .finish()
        .into_iter()
        .map(|(word, n)| (word.to_string(), n))
        .collect())
}
static WORDS: Function<Chunk, Vec<(String, u64)>> = Function::new("group-by-tests::words", words);
cloudbutton::register!(WORDS);

fn add(groups: Groups<String, u64>, _: &TaskContext) -> FnResult<Vec<(String, u64)>> {
    Ok(groups
        .into_iter()
        .map(|(word, counts)| (word, counts.iter().sum()))
        .collect())
}
static ADD: Function<Groups<String, u64>, Vec<(String, u64)>> =
    Function::new("group-by-tests::add", add);
cloudbutton::register!(ADD);

#[test]
fn a_word_count_by_key_on_five_reducers_equals_the_reference() {
    let mut config = Config::default();
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config).unwrap();
    let corpus = root().join("data/text");
    let input = ObjectInput::new([corpus.to_str().unwrap()]).chunk_size(256 << 10);
    let job = executor.map_reduce_by_key(&WORDS, input, &ADD, 5).unwrap();
    let reducers = job.get_result().unwrap();
    assert_eq!(reducers.len(), 5);

    let mut seen = HashSet::new();
    let mut counts = Vec::new();
    for reducer in &reducers {
        assert!(!reducer.is_empty(), "a reducer got no words");
        for (word, count) in reducer {
            assert!(seen.insert(word.clone()), "`{word}` was reduced twice");
            counts.push((word.clone(), *count));
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let ours: String = counts
        .iter()
        .map(|(word, count)| format!("{word}\t{count}\n"))
        .collect();

    let reference = run(Command::new("python3")
        .arg(root().join("scripts/reference-wordcount.py"))
        .arg(&corpus));
    assert!(
        ours.as_bytes() == reference.stdout,
        "the count by key differs from the reference ({} against {} bytes)",
        ours.len(),
        reference.stdout.len()
    );
}
