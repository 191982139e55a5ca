//! `cloudbutton gensort`: write sortbenchmark.org input records to storage,
//! one object or many parts generated in parallel.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::{Result, bail};
use clap::Args;
use cloudbutton::executor::config::Config;
use cloudbutton::report::to_stderr;
use cloudbutton::shuffle::gensort::Generator;
use cloudbutton::storage::{Location, Selector, Storage, block_on};
use cloudbutton::{FnResult, Function, FunctionExecutor, TaskContext, Wait};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, ReadBuf};

/// Generate sort benchmark input: N records of 100 bytes, as the published
/// gensort program writes them.
///
/// Records are binary (random bytes, a 10-byte key) or, with -a, ASCII
/// (printable keys, lines ending in CRLF). Record i is the same whichever
/// run or part writes it, so parts generated apart equal one whole run.
///
/// Examples:
///
///   cloudbutton gensort 10000000 data/sort-in.dat
///
///   cloudbutton gensort 10000000 s3://bucket/sort-in/ --parts 16
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct GensortArgs {
    /// How many records to write.
    #[arg(value_name = "N")]
    records: u64,

    /// Where to write: a file or an object, or with --parts the directory
    /// or prefix of the parts.
    #[arg(value_name = "URL")]
    url: String,

    /// Write ASCII records, as gensort -a does.
    #[arg(short, long)]
    ascii: bool,

    /// The number of the first record, as gensort -bSTART.
    #[arg(short = 'b', long, value_name = "START", default_value_t = 0)]
    begin: u128,

    /// Write P objects, URL/part-00000 and on, in parallel: the records in
    /// order, split as evenly as whole records allow.
    #[arg(long, value_name = "P", value_parser = clap::value_parser!(u64).range(1..))]
    parts: Option<u64>,

    /// Print the record count and the checksum (the sum of the records'
    /// CRC-32), as gensort -c and valsort print them.
    #[arg(short, long)]
    checksum: bool,

    /// Print no summary.
    #[arg(long, short)]
    quiet: bool,
}

/// One object to generate.
#[derive(Clone, Serialize, Deserialize)]
struct Part {
    store_url: String,
    key: String,
    first_row: u128,
    rows: u64,
    ascii: bool,
}

/// Generates one part and writes it, streaming; returns its checksum.
fn write_part(part: Part, ctx: &TaskContext) -> FnResult<u128> {
    let storage = Storage::connect(&part.store_url, ctx.storage())?;
    let mut records = Records(Generator::new(part.first_row, part.rows, part.ascii));
    block_on(storage.put_reader(&part.key, &mut records))?;
    Ok(records.0.checksum())
}

static WRITE_PART: Function<Part, u128> =
    Function::new("cloudbutton::gensort::write_part", write_part);
cloudbutton::register!(WRITE_PART);

/// The generator as the asynchronous reader that uploads take. Records are
/// made on the thread that polls, which is the task's own.
struct Records(Generator);

impl AsyncRead for Records {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let read = self.0.read(buf.initialize_unfilled())?;
        buf.advance(read);
        Poll::Ready(Ok(()))
    }
}

/// Generates the records and writes them.
pub fn run(args: GensortArgs) -> Result<()> {
    let executor = FunctionExecutor::new()?;
    let parts = destinations(&args, executor.config())?;

    let job = executor.map(&WRITE_PART, parts)?;
    job.wait(Wait::All, None);
    let summary = job.summary();
    let checksums = job.get_result()?;
    if !args.quiet {
        to_stderr(&format!("{summary}\n"));
    }
    if args.checksum {
        let checksum = checksums
            .into_iter()
            .fold(0u128, |sum, part| sum.wrapping_add(part));
        println!("Records: {}", args.records);
        println!("Checksum: {checksum:x}");
    }
    Ok(())
}

/// The objects to write, with their rows: the one object `args.url`
/// names, or with --parts that many below it, which must hold none yet so
/// that the parts of two runs do not mix.
fn destinations(args: &GensortArgs, config: &Config) -> Result<Vec<Part>> {
    let location = Location::parse(&args.url)?;
    let storage = Storage::connect(location.store_url(), &config.storage)?;
    let (prefix, count) = match (location.selector(), args.parts) {
        (Selector::Glob(_), _) => bail!("{} is a pattern, not a place to write", args.url),
        (Selector::Prefix(_), None) => bail!(
            "{} is a directory: name the file to write, or give --parts to write parts in it",
            args.url
        ),
        (Selector::Object(key), None) => (key.clone(), 1),
        (Selector::Object(prefix) | Selector::Prefix(prefix), Some(parts)) => {
            let earlier = block_on(storage.list(&Selector::Prefix(prefix.clone())))?;
            if let Some(first) = earlier.first() {
                bail!(
                    "{} already holds {} object(s), such as {}; remove them or choose another \
                     place, so that the parts of two runs do not mix",
                    args.url,
                    earlier.len(),
                    first.url()
                );
            }
            (prefix.clone(), parts)
        }
    };

    let width = (count - 1).to_string().len().max(5);
    let split = |part: u64| u128::from(args.records) * u128::from(part) / u128::from(count);
    Ok((0..count)
        .map(|part| {
            let key = match args.parts {
                None => prefix.clone(),
                Some(_) if prefix.is_empty() => format!("part-{part:0width$}"),
                Some(_) => format!("{prefix}/part-{part:0width$}"),
            };
            let (first, end) = (split(part), split(part + 1));
            Part {
                store_url: storage.store_url().to_owned(),
                key,
                first_row: args.begin.wrapping_add(first),
                rows: (end - first) as u64,
                ascii: args.ascii,
            }
        })
        .collect())
}
