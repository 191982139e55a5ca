use std::time::Duration;

use crate::error::StateError;
use crate::op::Op;
use crate::state::Handle;

/// A count-down latch: waiters go on once it was counted down `count`
/// times. It does not reset.
#[derive(Debug, Clone)]
pub struct Latch {
    handle: Handle,
    count: u32,
}

impl Latch {
    pub(crate) fn new(handle: Handle, count: u32) -> Self {
        Self { handle, count }
    }

    /// Counts down by one (not below 0) and returns the count left.
    pub fn count_down(&self) -> Result<u32, StateError> {
        let left = self.handle.int(Op::LatchCountDown { count: self.count })?;
        Ok(left.clamp(0, i64::from(u32::MAX)) as u32)
    }

    /// The count left.
    pub fn count(&self) -> Result<u32, StateError> {
        let left = self.handle.int(Op::LatchCount { count: self.count })?;
        Ok(left.clamp(0, i64::from(u32::MAX)) as u32)
    }

    /// Waits until the count reaches 0.
    pub fn wait(&self) -> Result<(), StateError> {
        self.wait_with(None)
    }

    /// Like [`wait`](Self::wait), for at most `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), StateError> {
        self.wait_with(Some(timeout))
    }

    fn wait_with(&self, timeout: Option<Duration>) -> Result<(), StateError> {
        let count = self.count;
        let reply = self
            .handle
            .wait(timeout, |timeout| Op::LatchWait { count, timeout })?;
        self.handle.as_unit(reply)
    }

    /// Removes the latch; true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }
}
