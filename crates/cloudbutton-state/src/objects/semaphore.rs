use std::time::Duration;

use crate::error::StateError;
use crate::op::Op;
use crate::state::Handle;

/// A counting semaphore, created with a number of permits. Releases may
/// raise the count above where it started.
#[derive(Debug, Clone)]
pub struct Semaphore {
    handle: Handle,
    initial: u32,
}

impl Semaphore {
    pub(crate) fn new(handle: Handle, initial: u32) -> Self {
        Self { handle, initial }
    }

    /// Takes `permits`, waiting until that many are available.
    pub fn acquire(&self, permits: u32) -> Result<(), StateError> {
        self.acquire_with(permits, None)
    }

    /// Like [`acquire`](Self::acquire), for at most `timeout`; on timeout
    /// nothing is taken.
    pub fn acquire_timeout(&self, permits: u32, timeout: Duration) -> Result<(), StateError> {
        self.acquire_with(permits, Some(timeout))
    }

    fn acquire_with(&self, permits: u32, timeout: Option<Duration>) -> Result<(), StateError> {
        let initial = self.initial;
        let reply = self.handle.wait(timeout, |timeout| Op::SemaphoreAcquire {
            permits,
            initial,
            timeout,
        })?;
        self.handle.as_unit(reply)
    }

    /// Takes `permits` if they are available now; true if taken.
    pub fn try_acquire(&self, permits: u32) -> Result<bool, StateError> {
        self.handle.boolean(Op::SemaphoreTryAcquire {
            permits,
            initial: self.initial,
        })
    }

    /// Gives back `permits`, waking waiters.
    pub fn release(&self, permits: u32) -> Result<(), StateError> {
        self.handle.unit(Op::SemaphoreRelease {
            permits,
            initial: self.initial,
        })
    }

    /// The permits available now.
    pub fn available(&self) -> Result<i64, StateError> {
        self.handle.int(Op::SemaphoreAvailable {
            initial: self.initial,
        })
    }

    /// Removes the semaphore; true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }
}
