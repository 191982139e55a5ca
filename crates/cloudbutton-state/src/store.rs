//! The interface every backend implements.

use std::fmt;

use crate::error::StateError;
use crate::op::{Key, Op, Reply};

/// A function that computes a map field's next value from its current one:
/// `Ok(None)` removes the field.
pub type Update<'a> = &'a mut dyn FnMut(Option<&[u8]>) -> Result<Option<Vec<u8>>, StateError>;

/// Where shared objects live. Implementations must make every
/// [`apply`](Store::apply) atomic and linearizable, and must wake waiting
/// operations by notification, not by polling.
pub trait Store: Send + Sync + fmt::Debug {
    /// Applies one operation to one object, creating the object if needed.
    /// Waiting operations block the calling thread.
    fn apply(&self, key: &Key, op: Op) -> Result<Reply, StateError>;

    /// Replaces a map field with `update(current)`, atomically, and
    /// returns the new value. `update` may be called more than once (the
    /// default implementation retries a compare-and-set until no other
    /// writer came in between), so it must not have side effects.
    fn update(
        &self,
        key: &Key,
        field: &[u8],
        update: Update<'_>,
    ) -> Result<Option<Vec<u8>>, StateError> {
        loop {
            let current = expect_value(key, self.apply(key, Op::MapGet(field.to_vec()))?)?;
            let new = update(current.as_deref())?;
            let before = expect_value(
                key,
                self.apply(
                    key,
                    Op::MapCompareAndSet {
                        field: field.to_vec(),
                        expected: current.clone(),
                        new: new.clone(),
                    },
                )?,
            )?;
            if before == current {
                return Ok(new);
            }
        }
    }

    /// Removes every object of a scope, returning how many there were.
    fn remove_scope(&self, scope: &str) -> Result<usize, StateError>;

    /// The backend for messages, such as `memory` or
    /// `redis://host:6379/0` (never with a password).
    fn describe(&self) -> String;
}

fn expect_value(key: &Key, reply: Reply) -> Result<Option<Vec<u8>>, StateError> {
    match reply {
        Reply::Value(value) => Ok(value),
        other => Err(unexpected(key, "a value", &other)),
    }
}

/// The error for a backend that answered with the wrong kind of reply.
pub(crate) fn unexpected(key: &Key, wanted: &str, reply: &Reply) -> StateError {
    StateError::Backend {
        backend: "store".to_owned(),
        message: format!("{key}: expected {wanted}, got {reply:?}"),
    }
}
