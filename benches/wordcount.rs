//! Benchmark (b): word count through the executor against a plain
//! single-threaded loop doing the same counting, in the same run.
//!
//! ```text
//! cargo bench --bench wordcount -- [INPUT] [CHUNK_SIZE] [ROUNDS]
//! ```
//!
//! INPUT defaults to `data/fetched/corpus-1g/` (made by
//! `scripts/fetch-data.sh corpus-1g`), CHUNK_SIZE to 64MiB. The files are read
//! once before timing so that both runs find them in the page cache. Each of
//! ROUNDS (default 3) runs the loop and then the executor. On a shared
//! machine, which only ever makes runs slower, two figures say the most: the
//! best time of each, and the median of the rounds' own ratios, whose two
//! runs were close in time.

use std::fs::File;
use std::io::{BufReader, Read};
use std::time::Instant;

use cloudbutton::executor::config::parse_size;
use cloudbutton::executor::{Config, ProgressMode};
use cloudbutton::storage::StorageOptions;
use cloudbutton::text::{COUNT_WORDS, MERGE_COUNTS, WordCounter};
use cloudbutton::{FunctionExecutor, ObjectInput, ReduceBy, Wait};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let input = args
        .next()
        .unwrap_or_else(|| "data/fetched/corpus-1g/".to_owned());
    let chunk_size = parse_size(&args.next().unwrap_or_else(|| "64MiB".to_owned()))
        .map_err(anyhow::Error::msg)?;
    let rounds: u32 = args.next().map_or(Ok(3), |arg| arg.parse())?;

    let objects = ObjectInput::new([input.clone()]).objects(&StorageOptions::default())?;
    anyhow::ensure!(!objects.is_empty(), "{input} holds no files");
    let paths: Vec<String> = objects
        .iter()
        .map(|object| format!("/{}", object.key))
        .collect();
    let bytes: u64 = objects.iter().map(|object| object.size).sum();

    // Warm the page cache.
    let mut buffer = vec![0; 1 << 20];
    for path in &paths {
        let mut file = File::open(path)?;
        while file.read(&mut buffer)? > 0 {}
    }

    let mut config = Config::load()?;
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config)?;
    let gib = bytes as f64 / f64::from(1 << 30);
    println!(
        "wordcount: {} files, {gib:.2} GiB, chunks of {chunk_size}, {} worker threads",
        paths.len(),
        executor.workers()
    );

    let (mut reference_time, mut executor_time) = (f64::INFINITY, f64::INFINITY);
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let start = Instant::now();
        let mut counter = WordCounter::new();
        for path in &paths {
            counter.feed_reader(BufReader::with_capacity(1 << 20, File::open(path)?))?;
        }
        let reference = counter.finish();
        let loop_time = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let objects = ObjectInput::new([input.clone()]).chunk_size(chunk_size.as_u64());
        let job = executor.map_reduce(&COUNT_WORDS, objects, &MERGE_COUNTS, ReduceBy::All)?;
        job.wait(Wait::All, None);
        let reduce_time = job.stats()[0].run_time().unwrap_or_default().as_secs_f64();
        let counts = job.get_result()?.pop().unwrap_or_default();
        let job_time = start.elapsed().as_secs_f64();

        anyhow::ensure!(
            counts == reference,
            "the executor's counts differ from the loop's"
        );
        println!(
            "  round {round}: loop {loop_time:.3} s, executor {job_time:.3} s \
             (of which the reducer {reduce_time:.3} s)"
        );
        ratios.push(loop_time / job_time);
        reference_time = reference_time.min(loop_time);
        executor_time = executor_time.min(job_time);
    }
    println!(
        "  best one-thread loop  {reference_time:.3} s  ({:.0} MiB/s)",
        bytes as f64 / reference_time / 1048576.0
    );
    println!(
        "  best executor         {executor_time:.3} s  ({:.0} MiB/s)",
        bytes as f64 / executor_time / 1048576.0
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "wordcount speed-up: {:.2}x the one-thread loop (best against best); \
         median of the rounds {:.2}x",
        reference_time / executor_time,
        ratios[ratios.len() / 2]
    );
    Ok(())
}
