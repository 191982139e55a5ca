use std::time::Duration;

use crate::error::StateError;
use crate::op::Op;
use crate::state::Handle;

/// A cyclic barrier: callers wait until `parties` of them have arrived,
/// then all go on together and the barrier is ready for the next round.
#[derive(Debug, Clone)]
pub struct Barrier {
    handle: Handle,
    parties: u32,
}

impl Barrier {
    pub(crate) fn new(handle: Handle, parties: u32) -> Self {
        Self { handle, parties }
    }

    /// The number of parties a round waits for.
    pub fn parties(&self) -> u32 {
        self.parties
    }

    /// Waits for the round to fill and returns its number, from 0.
    pub fn wait(&self) -> Result<u64, StateError> {
        self.wait_with(None)
    }

    /// Like [`wait`](Self::wait), for at most `timeout`. A caller that
    /// times out withdraws from the round, so the others still need as
    /// many parties as before.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u64, StateError> {
        self.wait_with(Some(timeout))
    }

    fn wait_with(&self, timeout: Option<Duration>) -> Result<u64, StateError> {
        if self.parties == 0 {
            return Err(StateError::Invalid {
                object: self.handle.key.to_string(),
                message: "a barrier needs at least 1 party".to_owned(),
            });
        }
        let parties = self.parties;
        let reply = self
            .handle
            .wait(timeout, |timeout| Op::BarrierWait { parties, timeout })?;
        let round = self.handle.as_int(reply)?;
        Ok(round.max(0) as u64)
    }

    /// Removes the barrier; true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }
}
