//! `cloudbutton sort`: sort records far larger than one worker's memory
//! into sorted output parts.

use anyhow::{Context, Result};
use bytesize::ByteSize;
use clap::Args;
use cloudbutton::FunctionExecutor;
use cloudbutton::executor::config::parse_size;
use cloudbutton::report::to_stderr;
use cloudbutton::shuffle::format::Format;
use cloudbutton::shuffle::{DEFAULT_MEMORY_PER_WORKER, SortRequest, sort};

/// Sort records by key, in parallel and within a memory bound.
///
/// Writes OUTPUT/part-00000, part-00001, ...: each part sorted, the parts
/// in key order, records with equal keys in input order. The number of
/// parts (reducers) follows from the input size and the memory per worker,
/// unless --workers says. A csv header goes once, at the top of part-00000;
/// csv rows whose key is empty or does not parse come last.
///
/// Formats: gensort (100-byte sortbenchmark.org records, 10-byte keys),
/// lines (each line its own key), csv (with a header; --key COLUMN:TYPE,
/// TYPE one of string, int, float).
///
/// Examples:
///
///   cloudbutton sort --input data/sort-in.dat --output data/sorted/ --format gensort
///
///   cloudbutton sort --input flights.csv --output s3://bucket/by-delay/ --format csv --key dep_delay:float
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct SortArgs {
    /// What to sort: files, directories, prefixes ending in `/`, globs or
    /// URLs (repeat, or give several).
    #[arg(long, short, required = true, num_args = 1.., value_name = "URL")]
    input: Vec<String>,

    /// The directory or prefix of the sorted parts; it must hold nothing.
    #[arg(long, short, value_name = "URL")]
    output: String,

    /// The records' format.
    #[arg(long, short, value_name = "FORMAT", value_parser = ["gensort", "csv", "lines"])]
    format: String,

    /// The csv column to sort by and its type, as COLUMN:TYPE.
    #[arg(long, short, value_name = "COLUMN:TYPE")]
    key: Option<String>,

    /// The number of reducers, hence of output parts.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    workers: Option<u64>,

    /// The most memory one task may use, such as 512MiB [default: 256MiB].
    #[arg(long, short, value_parser = parse_size, value_name = "SIZE")]
    memory_per_worker: Option<ByteSize>,

    /// Print no summary.
    #[arg(long, short)]
    quiet: bool,
}

/// Sorts and prints the summary.
pub fn run(args: SortArgs) -> Result<()> {
    let format = Format::parse(&args.format, args.key.as_deref())?;
    let executor = FunctionExecutor::new()?;
    let mut request = SortRequest::new(args.input, args.output, format);
    request.workers = args.workers.map(|workers| workers as usize);
    request.memory_per_worker = args
        .memory_per_worker
        .map_or(DEFAULT_MEMORY_PER_WORKER, |size| size.as_u64());
    let report = sort(&executor, request).context("the sort failed")?;
    if !args.quiet {
        to_stderr(&format!("{report}\n"));
    }
    Ok(())
}
