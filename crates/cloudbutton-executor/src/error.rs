//! Errors: what failed, on which task and input, and why.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use cloudbutton_storage::StorageError;

/// Which input a task was given, as the user would recognise it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputDescription {
    /// The value at this position of the input list.
    Value {
        /// Position in the input list, from 0.
        position: usize,
    },
    /// A byte range of an object in storage.
    Chunk {
        /// Full URL of the object.
        url: String,
        /// Nominal byte range of the chunk.
        range: Range<u64>,
    },
    /// The map results of one reducer's group.
    Group {
        /// The object key of the group, or `all` for a single reducer.
        name: String,
        /// How many map results it reduces.
        inputs: usize,
    },
}

impl fmt::Display for InputDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value { position } => write!(f, "input value #{position}"),
            Self::Chunk { url, range } => write!(f, "{url} bytes {}..{}", range.start, range.end),
            Self::Group { name, inputs } => write!(f, "{inputs} map results of {name}"),
        }
    }
}

/// Why a task failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The function returned an error.
    Error(String),
    /// The function panicked.
    Panic(String),
    /// The function ran past the task timeout.
    Timeout(Duration),
    /// The job was cancelled before the task finished.
    Cancelled,
    /// The result was already taken through another handle to the task.
    ResultTaken,
    /// A map task this reducer depends on did not succeed.
    Upstream {
        /// Index of the first failed map task.
        task: usize,
    },
    /// A worker of the cluster could not or would not run the task, or the
    /// driver lost track of it; the message says which and why.
    Worker(String),
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(message) => write!(f, "returned an error: {message}"),
            Self::Panic(message) => write!(f, "panicked: {message}"),
            Self::Timeout(limit) => {
                write!(f, "timed out after {}", humantime::format_duration(*limit))
            }
            Self::Cancelled => f.write_str("was cancelled"),
            Self::ResultTaken => f.write_str("had its result taken already"),
            Self::Upstream { task } => write!(f, "was not run because map task {task} failed"),
            Self::Worker(message) => write!(f, "failed in the cluster: {message}"),
        }
    }
}

/// A task that did not produce a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("task {index} ({function} on {input}) {kind} [attempt {attempts}]")]
pub struct TaskError {
    /// The task's index in its job.
    pub index: usize,
    /// The function's registered name.
    pub function: &'static str,
    /// The task's input.
    pub input: InputDescription,
    /// What went wrong.
    pub kind: FailureKind,
    /// How many attempts were made.
    pub attempts: u32,
}

/// A job with at least one failed task. Every failure is listed; the
/// results of the other tasks stay available through
/// [`Job::into_results`](crate::Job::into_results).
#[derive(Clone, Debug, thiserror::Error)]
pub struct JobError {
    /// The failed tasks, in index order.
    pub failures: Vec<TaskError>,
    /// How many tasks the job had.
    pub tasks: usize,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} tasks failed", self.failures.len(), self.tasks)?;
        const SHOWN: usize = 5;
        for failure in self.failures.iter().take(SHOWN) {
            write!(f, "\n  {failure}")?;
        }
        if self.failures.len() > SHOWN {
            write!(f, "\n  ... and {} more", self.failures.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// A job that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// Listing or reading the input failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The input cannot be split as asked.
    #[error("cannot partition the input: {0}")]
    Partition(#[from] cloudbutton_partition::PartitionError),
    /// A location of an input that must match matched no object.
    #[error("the input {0} matches no object")]
    NoMatch(String),
    /// A reducer per object was asked for an input that has no objects.
    #[error("a reducer per object needs storage locations as input, not a list of values")]
    ReduceByObjectNeedsObjects,
    /// A reduce by key was asked for no reducers.
    #[error("a reduce by key needs at least one reducer")]
    NoReducers,
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The cluster backend could not be reached or set up.
    #[error("cannot use the redis backend: {0}")]
    Cluster(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_error_names_task_function_input_and_cause() {
        let error = TaskError {
            index: 7,
            function: "wordcount::count",
            input: InputDescription::Chunk {
                url: "file:///data/a b.txt".into(),
                range: 1024..2048,
            },
            kind: FailureKind::Panic("index out of bounds".into()),
            attempts: 2,
        };
        assert_eq!(
            error.to_string(),
            "task 7 (wordcount::count on file:///data/a b.txt bytes 1024..2048) \
             panicked: index out of bounds [attempt 2]"
        );
    }

    #[test]
    fn a_job_error_lists_a_few_failures_and_counts_the_rest() {
        let failure = |index| TaskError {
            index,
            function: "f",
            input: InputDescription::Value { position: index },
            kind: FailureKind::Error("boom".into()),
            attempts: 1,
        };
        let error = JobError {
            failures: (0..7).map(failure).collect(),
            tasks: 10,
        };
        let text = error.to_string();
        assert!(text.starts_with("7 of 10 tasks failed"), "{text}");
        assert!(text.contains("task 4 (f on input value #4) returned an error: boom"));
        assert!(text.ends_with("... and 2 more"), "{text}");
    }
}
