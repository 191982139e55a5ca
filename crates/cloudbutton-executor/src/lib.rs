//! The executor: runs functions over inputs in parallel and hands back
//! futures and results.
//!
//! A [`FunctionExecutor`] takes a registered [`Function`] and its inputs
//! (a list of values, or an [`ObjectInput`] of objects in storage split into
//! [`Chunk`]s), runs one task per input on a backend, and returns a [`Job`]
//! whose results come back in input order. Failed tasks say which input,
//! which function and why ([`TaskError`]); the other results stay available.

mod backend;
mod chunk;
mod cluster;
pub mod codec;
pub mod config;
mod context;
mod error;
mod executor;
mod function;
mod future;
mod group_by;
mod input;
mod job;
mod job_state;
mod local;
mod notify;
mod payload;
pub mod permissions;
mod progress;
mod summary;
mod task;
mod wait;

pub use chunk::{Chunk, ChunkReader};
pub use cluster::{
    ProgramPolicy, WORKER_VAR, WorkerError, WorkerOptions, default_name, run_worker,
};
pub use config::Config;
pub use context::{StopSignal, TaskContext};
pub use error::{ExecutorError, FailureKind, InputDescription, JobError, TaskError};
pub use executor::{FunctionExecutor, ReduceBy};
pub use function::{FnError, FnResult, Function, Registration, lookup, registered_names};
pub use future::TaskFuture;
pub use group_by::Groups;
pub use input::{InputSettings, ObjectInput, TaskInputs, Wrapped, wrap};
pub use job::Job;
pub use payload::Payload;
pub use progress::ProgressMode;
pub use summary::JobSummary;
pub use task::{TaskState, TaskStats};
pub use wait::Wait;

/// Shared objects for the tasks of a job; see [`TaskContext::state`].
pub use cloudbutton_state as state;

#[doc(hidden)]
pub use inventory;
