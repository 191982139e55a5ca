//! `cloudbutton valsort`: check a sorted output, object by object in
//! parallel, as the published valsort program does.

use anyhow::{Context, Result, bail};
use clap::Args;
use cloudbutton::executor::config::Config;
use cloudbutton::report::to_stderr;
use cloudbutton::shuffle::format::{Format, RecordReader};
use cloudbutton::shuffle::valsort::{self, Summary};
use cloudbutton::storage::{Location, RangeReader, Storage, block_on};
use cloudbutton::{FnResult, Function, FunctionExecutor, TaskContext, Wait};
use serde::{Deserialize, Serialize};

/// The most of a gensort object that one task checks.
const GENSORT_CHUNK: u64 = 64 << 20;

/// Check that records are sorted, and count and checksum them.
///
/// The objects are read in the order given, a directory or prefix as its
/// objects in name order. It prints the number of records, their checksum
/// (the sum of the records' CRC-32, which does not depend on their order:
/// a sort's output has its input's checksum), and the number of duplicate
/// keys; it fails, naming the first record out of order, if any is.
///
/// Examples:
///
///   cloudbutton valsort sorted/
///
///   cloudbutton valsort --checksum-only unsorted.dat
///
///   cloudbutton valsort --format csv --key dep_delay:float out/
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct ValsortArgs {
    /// What to check, in order: files, objects, directories, prefixes or
    /// globs.
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,

    /// The record format: gensort, lines or csv.
    #[arg(long, default_value = "gensort")]
    format: String,

    /// For csv, the key column and its type: COLUMN:TYPE, with TYPE one of
    /// string, int, float.
    #[arg(long, value_name = "COLUMN:TYPE")]
    key: Option<String>,

    /// For csv: every object begins with a header, as a sort's inputs do
    /// [default: only the first, as a sort's output].
    #[arg(long)]
    header_in_every_object: bool,

    /// Only count the records and sum their checksum, without checking
    /// their order: for a sort's input.
    #[arg(long)]
    checksum_only: bool,

    /// Fail unless the checksum is this, in hexadecimal as printed.
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    expect_checksum: Option<u128>,

    /// Fail unless there are this many records.
    #[arg(long, value_name = "N")]
    expect_records: Option<u64>,

    /// Print no job summary.
    #[arg(long, short)]
    quiet: bool,
}

/// A range of one object to summarize.
#[derive(Clone, Serialize, Deserialize)]
struct Piece {
    store_url: String,
    key: String,
    /// The object's index in the list checked.
    object: usize,
    /// The bytes of the object to read: whole records.
    start: u64,
    end: u64,
    /// The index in the object of the first record read.
    first_record: u64,
    format: Format,
    /// The header to bind to; `None` to read the object's own, which
    /// begins the range.
    header: Option<Vec<u8>>,
}

/// Summarizes one piece.
fn summarize(piece: Piece, ctx: &TaskContext) -> FnResult<Summary> {
    let storage = Storage::connect(&piece.store_url, ctx.storage())?;
    let url = storage.url(&piece.key);
    let length = piece.end - piece.start;
    let reader = RangeReader::new(storage, &piece.key, piece.start, piece.end, length, None);
    let mut records = RecordReader::starting_at(&piece.format, reader, piece.start);

    let header = match piece.header {
        Some(header) => Some(header),
        None => records
            .read_header()
            .map_err(|error| error.in_object(&url))?,
    };
    let summary = piece
        .format
        .bind(header.as_deref())
        .and_then(|bound| {
            valsort::summarize(&bound, &mut records, piece.object, piece.first_record)
        })
        .map_err(|error| error.in_object(&url))?;
    Ok(summary)
}

static SUMMARIZE: Function<Piece, Summary> =
    Function::new("cloudbutton::valsort::summarize", summarize);
cloudbutton::register!(SUMMARIZE);

/// Checks the objects and prints what it found.
pub fn run(args: ValsortArgs) -> Result<()> {
    let format = Format::parse(&args.format, args.key.as_deref())?;
    if args.header_in_every_object && !format.has_header() {
        bail!("--header-in-every-object applies to csv, whose objects have headers");
    }
    let executor = FunctionExecutor::new()?;
    let objects = list(&args.urls, executor.config())?;
    let pieces = pieces(&format, &objects, args.header_in_every_object)?;

    let job = executor.map(&SUMMARIZE, pieces)?;
    job.wait(Wait::All, None);
    let job_summary = job.summary();
    let summary = job
        .get_result()?
        .into_iter()
        .fold(Summary::default(), Summary::combine);
    if !args.quiet {
        to_stderr(&format!("{job_summary}\n"));
    }

    println!("Records: {}", summary.records);
    println!("Checksum: {}", summary.checksum_hex());
    if !args.checksum_only {
        println!("Duplicate keys: {}", summary.duplicates);
        if let Some(first) = summary.first_unordered {
            bail!(
                "{} record(s) out of order; the first is record {} ({}, record {})",
                summary.unordered,
                first.overall,
                objects[first.object].url,
                first.record
            );
        }
        println!("SUCCESS - all records are in order");
    }
    if let Some(expected) = args.expect_records
        && expected != summary.records
    {
        bail!("{} records, not the {expected} expected", summary.records);
    }
    if let Some(expected) = args.expect_checksum
        && expected != summary.checksum
    {
        bail!(
            "the checksum is {}, not the {expected:x} expected",
            summary.checksum_hex()
        );
    }
    Ok(())
}

/// One object to check.
struct Object {
    storage: Storage,
    key: String,
    size: u64,
    url: String,
}

/// The objects that `urls` name, in order.
fn list(urls: &[String], config: &Config) -> Result<Vec<Object>> {
    let mut objects = Vec::new();
    for url in urls {
        let location = Location::parse(url)?;
        let storage = Storage::connect(location.store_url(), &config.storage)?;
        let found = block_on(storage.list(location.selector()))?;
        if found.is_empty() {
            bail!("{url} holds no object");
        }
        objects.extend(found.into_iter().map(|object| Object {
            storage: storage.clone(),
            url: object.url(),
            key: object.key,
            size: object.size,
        }));
    }
    Ok(objects)
}

/// The pieces to summarize, in order: each object whole, or gensort
/// objects in chunks. A csv output has one header, at the top of its first
/// object, unless `header_in_every_object`.
fn pieces(format: &Format, objects: &[Object], header_in_every_object: bool) -> Result<Vec<Piece>> {
    let header = match objects.first() {
        Some(first) if format.has_header() && !header_in_every_object => {
            let mut reader =
                RangeReader::new(first.storage.clone(), &first.key, 0, first.size, 0, None);
            let header = format
                .read_header(&mut reader)
                .map_err(|error| error.in_object(&first.url))?
                .with_context(|| {
                    format!(
                        "{} is empty: a csv output begins with its header",
                        first.url
                    )
                })?;
            format
                .bind(Some(&header))
                .map_err(|error| error.in_object(&first.url))?;
            Some(header)
        }
        _ => None,
    };

    let mut pieces = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        format
            .check_len(object.size)
            .map_err(|error| error.in_object(&object.url))?;
        if object.size == 0 {
            continue;
        }
        let piece = |start, end, first_record| Piece {
            store_url: object.storage.store_url().to_owned(),
            key: object.key.clone(),
            object: index,
            start,
            end,
            first_record,
            format: format.clone(),
            header: header.clone(),
        };
        match format {
            Format::Gensort => {
                let starts =
                    format.split_points(&mut std::io::empty(), object.size, GENSORT_CHUNK)?;
                for (i, start) in starts.iter().enumerate() {
                    let end = starts.get(i + 1).copied().unwrap_or(object.size);
                    let record = start / cloudbutton::shuffle::gensort::RECORD_LEN as u64;
                    pieces.push(piece(*start, end, record));
                }
            }
            // The first object's header is known: its records start after it.
            _ if index == 0 && header.is_some() => {
                let start = header.as_ref().map_or(0, |header| header.len() as u64);
                pieces.push(piece(start, object.size, 0));
            }
            _ => pieces.push(piece(0, object.size, 0)),
        }
    }
    Ok(pieces)
}

/// Parses a checksum in hexadecimal, with or without `0x`.
fn parse_hex(text: &str) -> Result<u128, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    u128::from_str_radix(digits, 16).map_err(|_| format!("`{text}` is not a hexadecimal number"))
}
