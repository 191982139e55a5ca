//! The `cloudbutton` command line.
//!
//! Results go to standard output and everything else (logs with `-v`, errors)
//! to standard error, so that the output of a command can be piped into the
//! next one. Every failure is reported as one `error: ...` line and makes the
//! command exit with status 1; a misuse of the command line itself (an unknown
//! flag, a missing argument) exits with status 2, as usual.

mod gensort;
mod map;
mod sort;
mod storage;
mod valsort;
mod worker;

use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use cloudbutton::report;

/// Serverless data analytics: split data in object storage, run a function
/// on every piece in parallel, reduce the results.
///
/// Locations are local paths (`data/`, `logs/*.gz`), `file:///` URLs or
/// `s3://bucket/key` URLs. S3 credentials come from `[storage.s3]` in
/// cloudbutton.toml or from the usual AWS_* environment variables.
#[derive(Parser)]
#[command(name = "cloudbutton", version)]
struct Cli {
    /// Log more to standard error (-v for debug, -vv for traces).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate sort benchmark records (sortbenchmark.org's gensort).
    Gensort(gensort::GensortArgs),
    /// Run a WebAssembly module or a command on every chunk of the input.
    Map(map::MapArgs),
    /// Sort records by key, in parallel and within a memory bound.
    Sort(sort::SortArgs),
    /// List, upload, download and delete objects.
    #[command(subcommand)]
    Storage(storage::StorageCommand),
    /// Check that records are sorted, and count and checksum them.
    Valsort(valsort::ValsortArgs),
    /// Run tasks from a Redis queue, for drivers on any host.
    Worker(worker::WorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Worker(_) => cloudbutton::logging::init_service(cli.verbose),
        _ => cloudbutton::logging::init(cli.verbose),
    }

    let outcome = match cli.command {
        Command::Gensort(args) => gensort::run(args),
        Command::Map(args) => map::run(args),
        Command::Sort(args) => sort::run(args),
        Command::Storage(command) => storage::run(command, cli.verbose > 0),
        Command::Valsort(args) => valsort::run(args),
        Command::Worker(args) => worker::run(args),
    };
    match outcome {
        // Each failure was reported as it happened; only the status is left.
        Err(error) if error.is::<AlreadyReported>() => ExitCode::FAILURE,
        outcome => report::exit(outcome),
    }
}

/// The error of a command that went on past failures, each already reported
/// by [`report::report`], and so must only set the exit status.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} failed")]
pub struct AlreadyReported {
    /// How many items failed.
    pub failed: usize,
    /// How many items the command was given.
    pub total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
