//! What can go wrong in preparing and running a module. Every message names
//! the module (its file name and short hash, or the path being read) and,
//! for a task, its input.

use std::fmt;
use std::time::Duration;

/// A failure of [`prepare`](crate::prepare) or of a WebAssembly task.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The module's bytes could not be read.
    #[error("cannot read the WebAssembly module {location}: {cause}")]
    Read {
        /// The path or URL being read.
        location: String,
        /// Why it failed.
        cause: String,
    },

    /// The bytes at the module's source are not the ones it was prepared
    /// from.
    #[error(
        "{module}: the bytes at {location} have SHA-256 {actual}, not the prepared one; the \
         file changed after it was prepared, so prepare it again"
    )]
    HashMismatch {
        /// The module, as in `name (short hash)`.
        module: String,
        /// Where the bytes came from.
        location: String,
        /// Their SHA-256.
        actual: String,
    },

    /// The bytes are not a valid WebAssembly module.
    #[error("{module} at {location} is not a valid WebAssembly module: {reason}")]
    Invalid {
        /// The module, as in `name (short hash)`.
        module: String,
        /// Where its bytes came from.
        location: String,
        /// What the validator or compiler said.
        reason: String,
    },

    /// A valid module that CloudButton cannot run: it has neither entry
    /// point, or imports something no host provides.
    #[error("{module} cannot run as a CloudButton function: {reason}")]
    Unsupported {
        /// The module, as in `name (short hash)`.
        module: String,
        /// What is missing, and what would do.
        reason: String,
    },

    /// A prepared module could not be published to the shared storage.
    #[error("cannot publish {module} to {url}: {cause}")]
    Publish {
        /// The module, as in `name (short hash)`.
        module: String,
        /// The object that could not be written.
        url: String,
        /// Why.
        cause: String,
    },

    /// The WebAssembly engine could not start: the message says why.
    #[error("{0}")]
    Engine(String),

    /// A task failed.
    #[error("{module} on {input}: {failure}{}", stderr_tail(stderr))]
    Task {
        /// The module, as in `name (short hash)`.
        module: String,
        /// The task's input, as its payload describes it.
        input: String,
        /// What happened.
        failure: TaskFailure,
        /// The end of what the guest wrote to stderr, if anything.
        stderr: Option<String>,
    },
}

fn stderr_tail(stderr: &Option<String>) -> String {
    match stderr {
        Some(tail) if !tail.trim().is_empty() => {
            format!("; its stderr ended with:\n{}", tail.trim_end())
        }
        _ => String::new(),
    }
}

/// Why a task failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskFailure {
    /// Its input could not be read.
    Input(String),
    /// The worker does not grant the directory the job asked for.
    Denied(String),
    /// The module could not be instantiated.
    Instantiate(String),
    /// It ran longer than the job's `timeout_ms`.
    TimeLimit(Duration),
    /// The job was cancelled, or the executor's own timeout passed.
    Stopped(&'static str),
    /// It used up its fuel.
    Fuel(u64),
    /// It tried to grow its memory past the limit, in bytes.
    Memory(u64),
    /// It wrote more than the output limit, in bytes.
    Output(u64),
    /// A command called `proc_exit` with a code other than 0.
    Exit(i32),
    /// The guest trapped: the trap's message, and its backtrace if short.
    Trap {
        /// Such as `wasm trap: wasm 'unreachable' instruction executed`.
        message: String,
        /// The guest's call stack, when it has few frames.
        backtrace: Option<String>,
    },
    /// `cloudbutton_run` returned a code other than 0.
    Guest {
        /// The code returned.
        code: i32,
        /// What the guest passed to `set_error`, if anything.
        message: Option<String>,
    },
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Input(cause) => write!(f, "cannot read the input: {cause}"),
            TaskFailure::Denied(reason) => write!(f, "cannot grant the directory: {reason}"),
            TaskFailure::Instantiate(cause) => write!(f, "cannot instantiate: {cause}"),
            TaskFailure::TimeLimit(limit) => write!(
                f,
                "ran past its time limit of {}",
                humantime::format_duration(*limit)
            ),
            TaskFailure::Stopped(reason) => write!(f, "stopped: {reason}"),
            TaskFailure::Fuel(budget) => write!(f, "used up its fuel budget of {budget}"),
            TaskFailure::Memory(limit) => {
                write!(f, "exceeded its memory limit of {}", mebibytes(*limit))
            }
            TaskFailure::Output(limit) => write!(
                f,
                "wrote more than its output limit of {}; raise the limit or write less",
                mebibytes(*limit)
            ),
            TaskFailure::Exit(code) => write!(f, "exited with code {code}"),
            TaskFailure::Trap { message, backtrace } => {
                write!(f, "{message}")?;
                if let Some(backtrace) = backtrace {
                    write!(f, "\n{}", backtrace.trim_end())?;
                }
                Ok(())
            }
            TaskFailure::Guest {
                code,
                message: Some(message),
            } => write!(f, "failed (code {code}): {message}"),
            TaskFailure::Guest {
                code,
                message: None,
            } => write!(f, "returned error code {code}"),
        }
    }
}

/// `64 MiB`, or the exact bytes when not a whole number of MiB.
fn mebibytes(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_in_units_a_user_chose() {
        assert_eq!(
            TaskFailure::Memory(64 << 20).to_string(),
            "exceeded its memory limit of 64 MiB"
        );
        assert_eq!(
            TaskFailure::TimeLimit(Duration::from_millis(2000)).to_string(),
            "ran past its time limit of 2s"
        );
        assert!(
            TaskFailure::Output(1000)
                .to_string()
                .contains("output limit of 1000 bytes")
        );
    }

    #[test]
    fn a_task_error_names_module_input_and_stderr() {
        let error = WasmError::Task {
            module: "x.wasm (0123456789ab)".to_owned(),
            input: "3 bytes of input".to_owned(),
            failure: TaskFailure::Exit(2),
            stderr: Some("bad line\n".to_owned()),
        };
        assert_eq!(
            error.to_string(),
            "x.wasm (0123456789ab) on 3 bytes of input: exited with code 2; its stderr ended \
             with:\nbad line"
        );
    }
}
