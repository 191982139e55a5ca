//! Flights and mean departure delay per carrier, from the NYC flights 2013
//! table.
//!
//! ```text
//! cargo run --release --example flights -- FLIGHTS_CSV [--chunk-size SIZE]
//! ```
//!
//! Each chunk of the CSV is parsed by a map task, which counts per carrier
//! the rows whose `dep_delay` is a number and sums those delays; one reducer
//! adds the partial sums. Prints `carrier<TAB>flights<TAB>mean_dep_delay`,
//! one line per carrier, sorted by carrier, the mean with three decimals.
//!
//! Every task reads the header from the object's first line, so columns are
//! found by name in every chunk; the first chunk skips that line. Rows are
//! split at newlines, so quoted fields must not contain line breaks (the
//! flights table has none).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use cloudbutton::executor::Chunk;
use cloudbutton::executor::config::parse_size;
use cloudbutton::report::to_stderr;
use cloudbutton::{FnResult, Function, FunctionExecutor, ObjectInput, ReduceBy, TaskContext, Wait};
use serde::{Deserialize, Serialize};

/// The running totals of one carrier.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Delays {
    flights: u64,
    total_delay: f64,
}

type DelaysByCarrier = BTreeMap<String, Delays>;

fn carrier_delays(chunk: Chunk, ctx: &TaskContext) -> FnResult<DelaysByCarrier> {
    let header = csv::ReaderBuilder::new()
        .from_reader(chunk.header(ctx)?.as_slice())
        .headers()?
        .clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|field| field == name)
            .ok_or_else(|| format!("{} has no column `{name}`", chunk.url()))
    };
    let (carrier_column, delay_column) = (column("carrier")?, column("dep_delay")?);

    let mut rows = csv::ReaderBuilder::new()
        .has_headers(chunk.range().start == 0)
        .flexible(true)
        .from_reader(chunk.open(ctx)?);
    let mut delays = DelaysByCarrier::new();
    let mut row = csv::ByteRecord::new();
    while rows.read_byte_record(&mut row)? {
        let (Some(carrier), Some(delay)) = (row.get(carrier_column), row.get(delay_column)) else {
            continue;
        };
        let Some(delay) = std::str::from_utf8(delay)
            .ok()
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|delay| delay.is_finite())
        else {
            continue;
        };
        let carrier = String::from_utf8_lossy(carrier);
        let entry = match delays.get_mut(carrier.as_ref()) {
            Some(entry) => entry,
            None => delays.entry(carrier.into_owned()).or_default(),
        };
        entry.flights += 1;
        entry.total_delay += delay;
    }
    Ok(delays)
}

fn add_delays(parts: Vec<DelaysByCarrier>, _: &TaskContext) -> FnResult<DelaysByCarrier> {
    let mut total = DelaysByCarrier::new();
    for part in parts {
        for (carrier, delays) in part {
            let entry = total.entry(carrier).or_default();
            entry.flights += delays.flights;
            entry.total_delay += delays.total_delay;
        }
    }
    Ok(total)
}

static CARRIER_DELAYS: Function<Chunk, DelaysByCarrier> =
    Function::new("flights::carrier_delays", carrier_delays);
static ADD_DELAYS: Function<Vec<DelaysByCarrier>, DelaysByCarrier> =
    Function::new("flights::add_delays", add_delays);
cloudbutton::register!(CARRIER_DELAYS);
cloudbutton::register!(ADD_DELAYS);

/// Flights and mean departure delay per carrier.
#[derive(Parser)]
struct Args {
    /// The flights CSV: a path or URL (scripts/fetch-data.sh flights fetches it).
    input: String,
    /// Size of the chunk each task reads, such as 1MiB.
    #[arg(long, value_parser = parse_size)]
    chunk_size: Option<bytesize::ByteSize>,
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
    let mut input = ObjectInput::new([args.input.clone()]);
    if let Some(size) = args.chunk_size {
        input = input.chunk_size(size.as_u64());
    }
    let job = executor.map_reduce(&CARRIER_DELAYS, input, &ADD_DELAYS, ReduceBy::All)?;
    job.wait(Wait::All, None);
    let summary = job.summary();
    let delays = job
        .get_result()?
        .pop()
        .context("the reducer returned nothing")?;
    let mut stdout = io::stdout().lock();
    for (carrier, delays) in delays {
        let mean = delays.total_delay / delays.flights as f64;
        writeln!(stdout, "{carrier}\t{}\t{mean:.3}", delays.flights)?;
    }
    stdout.flush()?;
    to_stderr(&format!("{summary}\n"));
    Ok(())
}
