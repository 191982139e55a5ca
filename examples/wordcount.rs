//! Counts the words of text files in parallel.
//!
//! ```text
//! cargo run --release --example wordcount -- INPUT... [--chunk-size SIZE] [--output FILE]
//!     [--stats FILE]
//! ```
//!
//! Each chunk's words are counted by a map task and one reducer merges the
//! counts: the functions `cloudbutton::text::{COUNT_WORDS, MERGE_COUNTS}`.
//! Every word and its count go to FILE (or to standard output) as
//! `word<TAB>count` lines, count descending then word ascending; the top ten
//! words and the job summary go to the terminal. `--stats FILE` writes every
//! task's statistics as JSON, for plotting.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use cloudbutton::executor::config::parse_size;
use cloudbutton::report::to_stderr;
use cloudbutton::text::{COUNT_WORDS, MERGE_COUNTS, ranked};
use cloudbutton::{FunctionExecutor, ObjectInput, ReduceBy, Wait};

/// Counts the words of text files in parallel.
#[derive(Parser)]
struct Args {
    /// Files, directories, prefixes ending in `/`, globs or URLs to read.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Size of the chunk each task reads, such as 4KiB or 16MiB.
    #[arg(long, value_parser = parse_size)]
    chunk_size: Option<bytesize::ByteSize>,
    /// Write every word and its count here instead of to standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Write every task's statistics here, as JSON.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Log more (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cloudbutton::logging::init(args.verbose);
    cloudbutton::report::exit(run(&args))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let executor = FunctionExecutor::new()?;
    let mut input = ObjectInput::new(args.inputs.iter().cloned());
    if let Some(size) = args.chunk_size {
        input = input.chunk_size(size.as_u64());
    }
    let job = executor.map_reduce(&COUNT_WORDS, input, &MERGE_COUNTS, ReduceBy::All)?;
    job.wait(Wait::All, None);
    let summary = job.summary();
    if let Some(path) = &args.stats {
        let stats = serde_json::json!({ "map": job.map_stats(), "reduce": job.stats() });
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(file), &stats)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let counts = job.get_result()?.pop().unwrap_or_default();
    let ranked = ranked(&counts);

    let mut top = String::new();
    for (word, count) in ranked.iter().take(10) {
        top.push_str(&format!("{count:>10}  {word}\n"));
    }
    match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            write_counts(BufWriter::new(file), &ranked)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut stdout = io::stdout().lock();
            write!(stdout, "top words:\n{top}").and_then(|()| stdout.flush())?;
            to_stderr(&format!(
                "{} distinct words written to {}\n",
                ranked.len(),
                path.display()
            ));
        }
        None => {
            write_counts(io::stdout().lock(), &ranked)
                .context("cannot write to standard output")?;
            to_stderr(&format!("top words:\n{top}"));
        }
    }
    to_stderr(&format!("{summary}\n"));
    Ok(())
}

fn write_counts(mut out: impl Write, ranked: &[(&str, u64)]) -> io::Result<()> {
    for (word, count) in ranked {
        writeln!(out, "{word}\t{count}")?;
    }
    out.flush()
}
