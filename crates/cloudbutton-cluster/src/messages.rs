//! What travels through the task queue: tasks, deliveries, results, and the
//! answers of the queue's operations.

use std::fmt;

use crate::keys::JobId;

/// A task as a driver submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskMessage {
    /// Position of the task in its job; unique within the job.
    pub index: u32,
    /// Registered name of the function to run.
    pub function: String,
    /// The serialized input.
    pub input: Vec<u8>,
}

/// A task handed to a worker by [`TaskQueue::take`](crate::TaskQueue::take).
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The job the task belongs to.
    pub job: JobId,
    /// Position of the task in its job.
    pub index: u32,
    /// Registered name of the function to run.
    pub function: String,
    /// The serialized input.
    pub input: Vec<u8>,
    /// How the job's tasks are to be run, as given to
    /// [`TaskQueue::describe`](crate::TaskQueue::describe); empty if never given.
    pub spec: Vec<u8>,
    /// 1 for the first delivery of this task, 2 for the next, and so on.
    pub attempt: u32,
    /// The consumer (worker) that holds the lease.
    pub consumer: String,
    /// The task's entry in the shared stream.
    pub(crate) entry: String,
}

impl fmt::Debug for Delivery {
    /// Shows the input's length, not its bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("job", &self.job)
            .field("index", &self.index)
            .field("function", &self.function)
            .field("input_len", &self.input.len())
            .field("attempt", &self.attempt)
            .field("consumer", &self.consumer)
            .field("entry", &self.entry)
            .finish()
    }
}

/// The committed result of one task, as
/// [`TaskQueue::results`](crate::TaskQueue::results) returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskResult {
    /// Position of the task in its job.
    pub index: u32,
    /// The delivery whose completion committed.
    pub attempt: u32,
    /// The consumer that ran it.
    pub worker: String,
    /// The serialized output, or why the task failed.
    pub outcome: Result<Vec<u8>, String>,
}

/// What became of a completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// It was the task's first completion: its result is the task's result.
    First,
    /// The task had already committed (another delivery of it finished
    /// first): this result was discarded and counted.
    Duplicate,
}

/// What a worker learns when it renews a lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// The lease is renewed: nobody else will be given the task for another
    /// lease period.
    Held,
    /// The job was cancelled: the worker should stop the task and complete
    /// it with an error (or drop it).
    Cancelled,
    /// The lease had expired and the task went to another worker, or the
    /// task already committed. Finishing it is harmless: if it commits
    /// first it still counts, otherwise it is a duplicate.
    Lost,
}

/// Counters of a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobStatus {
    /// Tasks submitted.
    pub submitted: u64,
    /// Tasks whose result committed.
    pub committed: u64,
    /// Completions discarded because the task had already committed.
    pub duplicates: u64,
    /// Whether the job was cancelled.
    pub cancelled: bool,
}
