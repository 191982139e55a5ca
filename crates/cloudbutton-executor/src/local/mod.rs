//! The local backend: tasks run on a pool of threads in this process.

mod pool;
mod timer;

pub(crate) use pool::{Disposition, Pool, Runnable};
pub(crate) use timer::Timer;

use crate::notify::Notifier;

/// The threads and clocks that tasks of the local backend share.
pub(crate) struct LocalBackend {
    pub(crate) pool: Pool,
    pub(crate) timer: Timer,
    pub(crate) notifier: Notifier,
}

impl LocalBackend {
    pub(crate) fn start(threads: usize) -> Self {
        Self {
            pool: Pool::start(threads.max(1)),
            timer: Timer::start(),
            notifier: Notifier::default(),
        }
    }
}
