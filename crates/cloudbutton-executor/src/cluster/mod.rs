//! The `redis` backend: tasks run on workers on any number of hosts, which
//! take them from the task queue in Redis (`cloudbutton-cluster`).
//!
//! - `driver`: the driver's side. A job's ready tasks go to the queue; a
//!   collector thread per job turns committed results into finished tasks.
//! - `worker`: [`run_worker`], a worker process: slots that take, run and
//!   commit tasks, and a renewer that keeps their leases.
//! - `execute`: running one task in this process, with the job's timeout
//!   and retries.
//! - `host` and `serve`: a worker runs the tasks of a published program by
//!   starting that program as a task server and talking to it over a Unix
//!   socket.
//! - `role`: how a program learns, when it builds its executor, that it was
//!   started as a task server or as a worker rather than as a driver.

mod driver;
mod execute;
mod host;
mod objects;
mod role;
mod serve;
mod worker;

pub(crate) use driver::{ClusterBackend, RemoteJob, RemoteSlot};
pub(crate) use objects::RedisObjects;
pub use role::WORKER_VAR;
pub(crate) use role::take_role;
pub use worker::{ProgramPolicy, WorkerError, WorkerOptions, default_name, run_worker};
