//! Waking drivers that wait for tasks to finish, whatever runs the tasks.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Wakes drivers waiting for tasks to finish. Every finished task bumps an
/// epoch, so a waiter can tell a real change from a spurious wake-up.
#[derive(Default)]
pub(crate) struct Notifier {
    epoch: Mutex<u64>,
    changed: Condvar,
}

impl Notifier {
    /// Tells every waiter that some task finished.
    pub(crate) fn notify(&self) {
        *self.epoch.lock().unwrap() += 1;
        self.changed.notify_all();
    }

    /// The current epoch.
    pub(crate) fn epoch(&self) -> u64 {
        *self.epoch.lock().unwrap()
    }

    /// Waits until the epoch moves past `seen` or `limit` passes; returns
    /// the epoch then.
    pub(crate) fn wait_past(&self, seen: u64, limit: Duration) -> u64 {
        let epoch = self.epoch.lock().unwrap();
        let (epoch, _) = self
            .changed
            .wait_timeout_while(epoch, limit, |epoch| *epoch == seen)
            .unwrap();
        *epoch
    }
}
