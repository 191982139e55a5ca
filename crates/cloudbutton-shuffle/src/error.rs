//! [`SortError`]: why a sort failed, naming the object or the task.

use cloudbutton_executor::{ExecutorError, FailureKind};
use cloudbutton_storage::StorageError;

use crate::format::FormatError;

/// A sort that could not run or did not finish. Messages name the object
/// and, for a failed task, its stage, number and input.
#[derive(Debug, thiserror::Error)]
pub enum SortError {
    /// The request cannot be carried out as given.
    #[error("invalid sort request: {0}")]
    Invalid(String),

    /// A location of the input matches no object.
    #[error("the input {0} matches no object")]
    NoMatch(String),

    /// The output prefix holds objects already.
    #[error(
        "the output {output} already holds {count} object(s), such as {first}; remove them or \
         choose another place, so that the outputs of two sorts do not mix"
    )]
    OutputNotEmpty {
        /// The output prefix, as a URL.
        output: String,
        /// How many objects it holds.
        count: usize,
        /// One of them.
        first: String,
    },

    /// Two csv inputs whose headers differ, so that one key column cannot
    /// serve both.
    #[error(
        "the header of {object} differs from that of {first}: every csv input of a sort must \
         have the same columns"
    )]
    HeaderMismatch {
        /// The object whose header differs.
        object: String,
        /// The first input object.
        first: String,
    },

    /// The records of an object do not fit the format, or its key.
    #[error(transparent)]
    Format(#[from] FormatError),

    /// Listing, reading, writing or deleting an object failed.
    #[error(transparent)]
    Storage(#[from] StorageError),

    /// Reading an object failed midway.
    #[error("cannot read {url} bytes {start}..{end}: {source}")]
    Read {
        /// The object.
        url: String,
        /// Where the read started.
        start: u64,
        /// Where it was to end.
        end: u64,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },

    /// Writing an object failed midway.
    #[error("cannot write {url}: {source}")]
    Write {
        /// The object.
        url: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },

    /// A reducer could not read its runs or write its output.
    #[error("the reducer writing {url} failed: {source}")]
    Merge {
        /// The output object.
        url: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },

    /// The task was cancelled, as the losing copy of a backed-up task is.
    #[error("cancelled")]
    Cancelled,

    /// A job could not be started.
    #[error(transparent)]
    Executor(#[from] ExecutorError),

    /// A task failed, and no copy of it succeeded.
    #[error("{stage} task {task} ({input}) {kind} [attempt {attempts}]")]
    Task {
        /// `sample`, `map` or `reduce`.
        stage: &'static str,
        /// The task's number in its stage.
        task: usize,
        /// What it was working on.
        input: String,
        /// Why it failed.
        kind: FailureKind,
        /// How many attempts its last copy made.
        attempts: u32,
    },
}
