//! How command-line programs end: one `error: ...` line on failure, and a
//! quiet exit when the reader of their output has gone away.

use std::io::{self, Write};
use std::process::ExitCode;

/// The exit status for `result`, after reporting its error. A broken pipe
/// (`program | head`) is a normal end for a filter, so it exits quietly.
pub fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

/// Writes `error: ` and the message of `error` to standard error.
pub fn report(error: &anyhow::Error) {
    to_stderr(&format!("error: {}\n", message(error)));
}

/// Writes to standard error, ignoring a standard error that was closed.
pub fn to_stderr(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// The message of `error`: its contexts and causes joined by `: `, leaving
/// out any cause whose text the message already holds (our errors name their
/// cause in their own message, so the chain would repeat it).
pub fn message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// Whether `error` comes from writing to a pipe whose reader has gone.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read {path}: {source}")]
    struct Unreadable {
        path: String,
        source: io::Error,
    }

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let error = anyhow::Error::new(Unreadable {
            path: "/data/a.txt".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
        })
        .context("cannot upload /data/a.txt");
        assert_eq!(
            message(&error),
            "cannot upload /data/a.txt: cannot read /data/a.txt: no such file"
        );
    }

    #[test]
    fn causes_not_in_the_message_are_kept() {
        let error =
            anyhow::Error::new(io::Error::other("disk full")).context("cannot write out.tsv");
        assert_eq!(message(&error), "cannot write out.tsv: disk full");
    }

    #[test]
    fn broken_pipes_are_found_below_contexts() {
        let error =
            anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&error));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
