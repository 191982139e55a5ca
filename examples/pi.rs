//! Estimates pi by drawing random points in parallel.
//!
//! ```text
//! cargo run --release --example pi -- [--tasks N] [--samples N]
//! ```
//!
//! Each of the N tasks draws its samples from its own seeded stream and
//! counts those inside the quarter circle (`cloudbutton::pi::COUNT_INSIDE`);
//! the counts are added up here. Prints the estimate and the number of
//! points inside to standard output, the job summary to standard error.
//! The seeds are fixed, so every run on any backend prints the same.

use std::process::ExitCode;

use clap::Parser;
use cloudbutton::pi::{COUNT_INSIDE, draws, estimate};
use cloudbutton::report::to_stderr;
use cloudbutton::{FunctionExecutor, Wait};

/// Estimates pi by drawing random points in parallel.
#[derive(Parser)]
struct Args {
    /// How many tasks.
    #[arg(long, default_value_t = 100)]
    tasks: u64,
    /// How many points each task draws.
    #[arg(long, default_value_t = 10_000_000)]
    samples: u64,
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
    let job = executor.map(&COUNT_INSIDE, draws(args.tasks, args.samples))?;
    job.wait(Wait::All, None);
    let summary = job.summary();
    let hits: u64 = job.get_result()?.iter().sum();
    let total = args.tasks * args.samples;
    println!(
        "pi is about {:.6} ({hits} of {total} points inside)",
        estimate(hits, total)
    );
    to_stderr(&format!("{summary}\n"));
    Ok(())
}
