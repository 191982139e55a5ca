//! What CloudButton drivers and workers share when a job's tasks run on
//! many machines.
//!
//! - [`TaskQueue`]: the task queue in Redis, with at-least-once delivery
//!   under leases, exactly-once commit of each task's result, cancellation,
//!   and keys that expire with an abandoned job (see the [`queue`] module).
//! - [`wire`]: the messages beyond the queue's own fields: how to run a
//!   job's tasks and how a task went.
//! - [`SharedStore`]: the object storage both sides reach, holding published
//!   programs and results too large for Redis.
//! - [`RedisServer`]: a Redis URL, checked, and connections to it, for the
//!   queue and for anything else kept in the same Redis.
//! - [`program`]: publishing an executable under its content hash, and the
//!   workers' cache of downloaded programs.
//!
//! ```no_run
//! use std::time::Duration;
//! use cloudbutton_cluster::{JobId, TaskMessage, TaskQueue};
//!
//! # fn main() -> Result<(), cloudbutton_cluster::QueueError> {
//! // The driver submits tasks ...
//! let mut driver = TaskQueue::connect("redis://127.0.0.1:6379")?;
//! let job = JobId::generate();
//! let tasks = (0..3).map(|index| TaskMessage {
//!     index,
//!     function: "wordcount::count".to_owned(),
//!     input: format!("chunk {index}").into_bytes(),
//! });
//! driver.submit(&job, tasks)?;
//!
//! // ... a worker, on any host, runs them ...
//! let mut worker = TaskQueue::connect("redis://127.0.0.1:6379")?;
//! let lease = Duration::from_secs(30);
//! while let Some(task) = worker.take("worker-1", lease, Duration::from_millis(100))? {
//!     let output = task.input.to_ascii_uppercase();
//!     worker.complete(&task, Ok(&output))?;
//! }
//!
//! // ... and the driver gathers the results as they commit.
//! let results = driver.results(&job, Duration::from_secs(1))?;
//! assert_eq!(results.len(), 3);
//! # Ok(())
//! # }
//! ```

mod error;
pub mod keys;
mod messages;
pub mod program;
pub mod queue;
mod scripts;
mod server;
mod shared_store;
pub mod wire;

pub use error::{QueueError, redact_url};
pub use keys::JobId;
pub use messages::{Commit, Delivery, JobStatus, Renewal, TaskMessage, TaskResult};
pub use queue::{QueueConfig, TaskQueue};
pub use server::{COMMAND_TIMEOUT, RedisServer};
pub use shared_store::{
    SharedStore, input_key, inputs_prefix, program_key, result_key, results_prefix,
};
