//! The worker threads of the local backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crossbeam_channel::{Receiver, Sender};

/// What a worker thread does after a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Take the next task.
    Continue,
    /// Exit: the task overran its timeout and a replacement thread was
    /// started in its place while it kept running.
    Retire,
}

/// A job's tasks, runnable by index on any worker thread.
pub(crate) trait Runnable: Send + Sync {
    /// Runs one attempt of task `index` on the named worker.
    fn run(self: Arc<Self>, index: usize, worker: &str) -> Disposition;
}

type Work = (Arc<dyn Runnable>, usize);

/// A fixed number of threads taking tasks from one queue. A thread stuck in
/// a task past its timeout is replaced, so the pool keeps its capacity.
pub(crate) struct Pool {
    sender: Sender<Work>,
    receiver: Receiver<Work>,
    next_worker: AtomicUsize,
    threads: usize,
}

impl Pool {
    pub(crate) fn start(threads: usize) -> Self {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let pool = Self {
            sender,
            receiver,
            next_worker: AtomicUsize::new(0),
            threads,
        };
        for _ in 0..threads {
            pool.add_thread();
        }
        pool
    }

    /// The number of threads the pool keeps busy.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Queues one task.
    pub(crate) fn submit(&self, job: Arc<dyn Runnable>, index: usize) {
        // The receiver lives as long as the pool, so sending cannot fail.
        let _ = self.sender.send((job, index));
    }

    /// Starts one more worker thread.
    pub(crate) fn add_thread(&self) {
        let id = self.next_worker.fetch_add(1, Ordering::Relaxed);
        let name = format!("local-{id}");
        let receiver = self.receiver.clone();
        thread::Builder::new()
            .name(format!("cloudbutton-{name}"))
            .spawn(move || {
                while let Ok((job, index)) = receiver.recv() {
                    if job.run(index, &name) == Disposition::Retire {
                        tracing::debug!(worker = %name, "worker retired after an overrun");
                        return;
                    }
                }
            })
            .expect("cannot start a worker thread");
    }
}
