//! Command functions: any program, with a task's input on its stdin and its
//! result on its stdout, so that shell pipelines and scripts in any
//! language scale out like native functions.
//!
//! ```text
//! cloudbutton map --cmd 'grep -c ERROR || true' --input s3://logs/ \
//!     --reduce-cmd "awk '{s+=\$1} END {print s}'"
//! ```
//!
//! A job runs [`RUN_COMMAND`] over [`CommandTask`]s: a [`CommandSpec`] (the
//! command line, extra environment, output limit, time limit) and a
//! [`Payload`](cloudbutton_executor::Payload). [`CommandInputs`] makes one
//! task per chunk of objects in storage; a reducer is one more task whose
//! payload is the map outputs as `Payload::Parts`, read one after another.
//!
//! Each task starts one process, `/bin/sh -c COMMAND`, in a process group
//! of its own:
//!
//! - The input is streamed to stdin from a thread; a command that stops
//!   reading early (`head -n 1`) is not an error, but an input that cannot
//!   be read (a missing object) fails the task and names it.
//! - Stdout is kept in memory up to [`CommandSpec::output_limit`]
//!   (256 MiB unless set); a command that writes more is killed and fails.
//! - Stderr lines go to the log at info level with the task's index, and
//!   its last 4 KiB into the error of a command that exits with a status
//!   other than 0 or dies of a signal.
//! - The time limit, a cancelled job and a task timeout kill the whole
//!   process group with SIGKILL. When the shell exits, the rest of its
//!   group is killed too: what a command leaves in the background does
//!   not outlive its task.
//! - The environment is [`environment`]: `PATH`, the task's index and
//!   chunk, and the job's own variables. Nothing else of the host's, so no
//!   credential of a worker reaches a job's commands.
//! - A process that runs tasks for others sets
//!   [`permissions`](cloudbutton_executor::permissions): a command they do
//!   not allow fails its task before anything starts.
//!
//! [`run`] is the runner itself, for use without the executor.
//!
//! Limits: a program that leaves the process group on purpose (`setsid`)
//! escapes the kill, and a task then waits for it if it keeps stdout or
//! stderr open. Memory and CPU are not limited beyond what the host's own
//! limits impose. The working directory is the one of the process that
//! runs the task.

mod error;
mod function;
mod group;
mod inputs;
mod process;
mod spec;
mod stderr;

pub use error::CommandError;
pub use function::RUN_COMMAND;
pub use group::kill_running;
pub use inputs::CommandInputs;
pub use process::run;
pub use spec::{
    ChunkPosition, CommandSpec, CommandTask, DEFAULT_OUTPUT_LIMIT, DEFAULT_PATH, TaskInfo,
    environment,
};
