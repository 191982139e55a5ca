//! A program that builds a [`FunctionExecutor`](crate::FunctionExecutor) is
//! a driver, unless its environment asks it to be something else:
//!
//! - with [`TASK_SERVER_VAR`] set to a socket path, it was started by a
//!   worker to run the tasks of a job it published: it serves them there
//!   and exits when the worker hangs up;
//! - with [`WORKER_VAR`] set, it is a worker itself, taking tasks from the
//!   queue named by its configuration, running the functions built into it.
//!
//! Either way the program never gets past building its executor, so the
//! code before that point must be able to run on a worker's host.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;

use super::objects::{RedisObjects, STATE_URL_VAR};
use super::serve::serve;
use super::worker::{WorkerOptions, run_worker};

/// Set by a worker, to the socket it listens on, in the environment of a
/// program it starts to serve tasks.
pub(crate) const TASK_SERVER_VAR: &str = "CLOUDBUTTON_TASK_SERVER";

/// Set (to anything but `0` or nothing) in a program's environment, makes
/// it a worker when it builds its executor.
pub const WORKER_VAR: &str = "CLOUDBUTTON_WORKER";

/// Serves tasks or works, and then exits the process, if the environment
/// asks for it; returns otherwise.
pub(crate) fn take_role(config: &Config) {
    if let Some(socket) = std::env::var_os(TASK_SERVER_VAR) {
        let socket = Path::new(&socket);
        // The worker names its Redis server, where the job's shared
        // objects are; this program's own configuration may not.
        let url = std::env::var(STATE_URL_VAR)
            .ok()
            .or_else(|| config.cluster.redis_url.clone());
        let objects = Arc::new(RedisObjects::new(url));
        let code = match serve(socket, config.storage.clone(), objects) {
            Ok(()) => 0,
            Err(error) => {
                eprintln!(
                    "error: cannot serve tasks to the worker at {}: {error}",
                    socket.display()
                );
                1
            }
        };
        std::process::exit(code);
    }
    let asked = std::env::var(WORKER_VAR).is_ok_and(|value| !matches!(value.trim(), "" | "0"));
    if asked {
        let outcome = WorkerOptions::from_config(config).and_then(run_worker);
        if let Err(error) = outcome {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
        std::process::exit(0);
    }
}
