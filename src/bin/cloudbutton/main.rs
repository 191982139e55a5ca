//! The `cloudbutton` command line.
//!
//! Results go to standard output and everything else (logs with `-v`, errors)
//! to standard error, so that the output of a command can be piped into the
//! next one. Every failure is reported as one `error: ...` line and makes the
//! command exit with status 1; a misuse of the command line itself (an unknown
//! flag, a missing argument) exits with status 2, as usual.

mod storage;

use std::io;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use cloudbutton::executor::config::ConfigError;
use cloudbutton::storage::StorageError;

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
    /// List, upload, download and delete objects.
    #[command(subcommand)]
    Storage(storage::StorageCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cloudbutton::logging::init(cli.verbose);

    let outcome = match cli.command {
        Command::Storage(command) => storage::run(command, cli.verbose > 0),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stops early (`| head`) is not a failure of ours.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.is::<AlreadyReported>() {
                report(&error);
            }
            ExitCode::FAILURE
        }
    }
}

/// The error of a command that went on past failures, each already reported
/// by [`report`], and so must only set the exit status.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} failed")]
pub struct AlreadyReported {
    /// How many items failed.
    pub failed: usize,
    /// How many items the command was given.
    pub total: usize,
}

/// Prints `error: ` and the message of `error` to standard error.
pub fn report(error: &anyhow::Error) {
    eprintln!("error: {}", message(error));
}

/// The message of `error`: its chain of contexts down to the first error of
/// our own libraries. Those already end with the innermost cause a user can
/// act on, and the layers below them would only repeat it.
fn message(error: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in error.chain() {
        parts.push(cause.to_string());
        if cause.is::<StorageError>() || cause.is::<ConfigError>() {
            break;
        }
    }
    parts.join(": ")
}

/// Whether `error` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn reports_stop_at_our_own_errors() {
        let unreadable = StorageError::Unreadable {
            what: "local file /data/a.txt".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
        };
        let error = anyhow::Error::new(unreadable).context("cannot upload /data/a.txt");
        assert_eq!(
            message(&error),
            "cannot upload /data/a.txt: cannot read local file /data/a.txt: no such file"
        );
    }
}
