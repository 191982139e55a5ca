//! Typed handles on shared objects, one file per kind. A handle is cheap
//! to make and to clone; it holds no value, only the object's key, so every
//! call goes to the store.

mod barrier;
mod blob;
mod counter;
mod latch;
mod list;
mod map;
mod promise;
mod semaphore;
mod sum;

pub use barrier::Barrier;
pub use blob::Blob;
pub use counter::Counter;
pub use latch::Latch;
pub use list::List;
pub use map::Map;
pub use promise::Promise;
pub use semaphore::Semaphore;
pub use sum::Sum;

/// How often a wait with an interrupt asks it whether to give up. On Redis
/// each slice costs the wait a new registration (a barrier party withdraws
/// and arrives again), so slices are long.
const INTERRUPT_CHECK: Duration = Duration::from_secs(1);

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StateError;
use crate::op::{Key, Op, Reply};
use crate::state::Handle;
use crate::store::unexpected;

impl Handle {
    pub(crate) fn apply(&self, op: Op) -> Result<Reply, StateError> {
        self.store.apply(&self.key, op)
    }

    pub(crate) fn int(&self, op: Op) -> Result<i64, StateError> {
        self.as_int(self.apply(op)?)
    }

    pub(crate) fn as_int(&self, reply: Reply) -> Result<i64, StateError> {
        match reply {
            Reply::Int(value) => Ok(value),
            other => Err(unexpected(&self.key, "an integer", &other)),
        }
    }

    pub(crate) fn float(&self, op: Op) -> Result<f64, StateError> {
        match self.apply(op)? {
            Reply::Float(value) => Ok(value),
            other => Err(unexpected(&self.key, "a float", &other)),
        }
    }

    pub(crate) fn boolean(&self, op: Op) -> Result<bool, StateError> {
        match self.apply(op)? {
            Reply::Bool(value) => Ok(value),
            other => Err(unexpected(&self.key, "a boolean", &other)),
        }
    }

    pub(crate) fn unit(&self, op: Op) -> Result<(), StateError> {
        self.as_unit(self.apply(op)?)
    }

    pub(crate) fn as_unit(&self, reply: Reply) -> Result<(), StateError> {
        match reply {
            Reply::Unit => Ok(()),
            other => Err(unexpected(&self.key, "nothing", &other)),
        }
    }

    pub(crate) fn value(&self, op: Op) -> Result<Option<Vec<u8>>, StateError> {
        self.as_value(self.apply(op)?)
    }

    pub(crate) fn as_value(&self, reply: Reply) -> Result<Option<Vec<u8>>, StateError> {
        match reply {
            Reply::Value(value) => Ok(value),
            other => Err(unexpected(&self.key, "a value", &other)),
        }
    }

    /// Applies the waiting operation `op(timeout)`. With an interrupt, the
    /// wait is cut into slices of at most [`INTERRUPT_CHECK`], asking the
    /// interrupt between them; each slice still ends the moment the store
    /// wakes it.
    pub(crate) fn wait(
        &self,
        timeout: Option<Duration>,
        op: impl Fn(Option<Duration>) -> Op,
    ) -> Result<Reply, StateError> {
        let Some(interrupt) = &self.interrupt else {
            return self.apply(op(timeout));
        };
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            let slice = left.map_or(INTERRUPT_CHECK, |left| left.min(INTERRUPT_CHECK));
            match self.apply(op(Some(slice))) {
                Err(StateError::Timeout { .. }) => {}
                done => return done,
            }
            if let Some(reason) = interrupt() {
                return Err(StateError::Interrupted {
                    object: self.key.to_string(),
                    reason,
                });
            }
            if left.is_some_and(|left| left <= slice) {
                return Err(StateError::Timeout {
                    object: self.key.to_string(),
                    after: timeout.unwrap_or_default(),
                });
            }
        }
    }

    /// Removes the object; true if it existed.
    pub(crate) fn delete(&self) -> Result<bool, StateError> {
        self.boolean(Op::Delete)
    }

    pub(crate) fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, StateError> {
        encode(&self.key, value)
    }

    pub(crate) fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, StateError> {
        decode(&self.key, bytes)
    }
}

pub(crate) fn encode<T: Serialize + ?Sized>(key: &Key, value: &T) -> Result<Vec<u8>, StateError> {
    rmp_serde::to_vec(value).map_err(|error| StateError::Encode {
        object: key.to_string(),
        message: error.to_string(),
    })
}

pub(crate) fn decode<T: DeserializeOwned>(key: &Key, bytes: &[u8]) -> Result<T, StateError> {
    rmp_serde::from_slice(bytes).map_err(|error| StateError::Decode {
        object: key.to_string(),
        expected: std::any::type_name::<T>(),
        message: error.to_string(),
    })
}
