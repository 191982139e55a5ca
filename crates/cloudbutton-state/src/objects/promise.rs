use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StateError;
use crate::op::Op;
use crate::state::Handle;

/// A future: a value set once and awaited by many.
pub struct Promise<T> {
    handle: Handle,
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            value: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl<T> Promise<T>
where
    T: Serialize + DeserializeOwned,
{
    pub(crate) fn new(handle: Handle) -> Self {
        Self {
            handle,
            value: PhantomData,
        }
    }

    /// Sets the value if it has none, waking every waiter. True if this
    /// call set it; false if it was already set (the value stays).
    pub fn set(&self, value: &T) -> Result<bool, StateError> {
        let bytes = self.handle.encode(value)?;
        self.handle.boolean(Op::FutureSet(bytes))
    }

    /// Waits for the value.
    pub fn get(&self) -> Result<T, StateError> {
        self.get_with(None)
    }

    /// Waits for the value, for at most `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, StateError> {
        self.get_with(Some(timeout))
    }

    /// The value if it is set, without waiting.
    pub fn try_get(&self) -> Result<Option<T>, StateError> {
        self.handle
            .value(Op::FutureTryGet)?
            .map(|bytes| self.handle.decode(&bytes))
            .transpose()
    }

    /// Removes the future; true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }

    fn get_with(&self, timeout: Option<Duration>) -> Result<T, StateError> {
        let reply = self
            .handle
            .wait(timeout, |timeout| Op::FutureGet { timeout })?;
        let bytes = self.handle.as_value(reply)?.unwrap_or_default();
        self.handle.decode(&bytes)
    }
}
