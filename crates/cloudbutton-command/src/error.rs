//! Why a command task failed, naming the command and its input.

use std::io;
use std::time::Duration;

/// A command that did not produce a result. Each message names the command
/// and the task's input; the executor adds the task's index.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// This process's permissions do not allow the command; the message
    /// says who refused it and how to allow it.
    #[error("{0}")]
    NotAllowed(String),
    /// The job set an environment variable whose name cannot be one.
    #[error("command `{command}`: `{name}` cannot be the name of an environment variable")]
    InvalidVariable {
        /// The command line.
        command: String,
        /// The name.
        name: String,
    },
    /// The shell could not be started.
    #[error("cannot start command `{command}` on {input}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// Why.
        source: io::Error,
    },
    /// Reading the task's input failed, such as a missing object.
    #[error("command `{command}` cannot read its input {input}: {source}")]
    Input {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// Why.
        source: io::Error,
    },
    /// Talking to the command through its pipes failed.
    #[error("command `{command}` on {input}: {source}")]
    Pipe {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// Why.
        source: io::Error,
    },
    /// The command exited with a status other than 0.
    #[error("command `{command}` on {input} exited with code {code}: {}", exit_detail(*.code, .stderr))]
    Exit {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// The exit status.
        code: i32,
        /// The end of what it wrote on stderr.
        stderr: String,
    },
    /// The command was killed by a signal it did not get from us.
    #[error("command `{command}` on {input} was killed by signal {signal}: {}", stderr_or_nothing(.stderr))]
    Signal {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// The signal, such as `9 (SIGKILL)`.
        signal: String,
        /// The end of what it wrote on stderr.
        stderr: String,
    },
    /// The command wrote more on stdout than its output limit; it was
    /// killed.
    #[error(
        "command `{command}` on {input} was killed: its output exceeds the limit of {}; \
         raise the limit or write less",
        show_size(*.limit)
    )]
    OutputLimit {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The command ran past its own time limit; its process group was
    /// killed.
    #[error(
        "command `{command}` on {input} ran past its time limit of {}",
        humantime::format_duration(*.limit)
    )]
    TimedOut {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// The limit.
        limit: Duration,
    },
    /// The task was told to stop (the job was cancelled, or the task ran
    /// past the job's timeout); the command's process group was killed.
    #[error("command `{command}` on {input} was stopped: {reason}")]
    Stopped {
        /// The command line.
        command: String,
        /// The task's input.
        input: String,
        /// Why, from the executor.
        reason: String,
    },
}

/// The stderr tail of a failed exit; with none, a hint that the status may
/// be an answer rather than a failure.
fn exit_detail(code: i32, stderr: &str) -> String {
    if stderr.is_empty() {
        format!(
            "(nothing on stderr; if status {code} is an answer, as grep's 1 is for no match, \
             count it as a success with --ok-exit {code})"
        )
    } else {
        stderr.to_owned()
    }
}

fn stderr_or_nothing(stderr: &str) -> &str {
    if stderr.is_empty() {
        "(nothing on stderr)"
    } else {
        stderr
    }
}

/// A size in the largest binary unit that divides it, such as `256 MiB`.
fn show_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
        .map_or_else(
            || format!("{bytes} bytes"),
            |(unit, name)| format!("{} {name}", bytes / unit),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_the_largest_unit_that_fits_exactly() {
        assert_eq!(show_size(256 << 20), "256 MiB");
        assert_eq!(show_size(3 << 30), "3 GiB");
        assert_eq!(show_size(1536), "1536 bytes");
        assert_eq!(show_size(4096), "4 KiB");
        assert_eq!(show_size(0), "0 bytes");
        assert_eq!(show_size(100), "100 bytes");
    }

    #[test]
    fn an_exit_names_the_command_the_input_the_code_and_the_stderr() {
        let error = CommandError::Exit {
            command: "grep -c ERROR".into(),
            input: "file:///logs/a.log bytes 0..100".into(),
            code: 2,
            stderr: "grep: bad regex".into(),
        };
        assert_eq!(
            error.to_string(),
            "command `grep -c ERROR` on file:///logs/a.log bytes 0..100 exited with code 2: \
             grep: bad regex"
        );
        let error = CommandError::TimedOut {
            command: "sleep 9".into(),
            input: "3 bytes of input".into(),
            limit: Duration::from_secs(2),
        };
        assert_eq!(
            error.to_string(),
            "command `sleep 9` on 3 bytes of input ran past its time limit of 2s"
        );
    }
}
