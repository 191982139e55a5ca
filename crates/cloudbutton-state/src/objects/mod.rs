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
        match self.apply(op)? {
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
        match self.apply(op)? {
            Reply::Unit => Ok(()),
            other => Err(unexpected(&self.key, "nothing", &other)),
        }
    }

    pub(crate) fn value(&self, op: Op) -> Result<Option<Vec<u8>>, StateError> {
        match self.apply(op)? {
            Reply::Value(value) => Ok(value),
            other => Err(unexpected(&self.key, "a value", &other)),
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
