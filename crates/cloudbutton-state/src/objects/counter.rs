use crate::error::StateError;
use crate::op::Op;
use crate::state::Handle;

/// An atomic 64-bit integer (the role of an atomic long): 0 until changed.
#[derive(Debug, Clone)]
pub struct Counter {
    handle: Handle,
}

impl Counter {
    pub(crate) fn new(handle: Handle) -> Self {
        Self { handle }
    }

    /// The value now.
    pub fn get(&self) -> Result<i64, StateError> {
        self.handle.int(Op::CounterGet)
    }

    /// Adds `delta` and returns the new value. Overflow is an error, and
    /// leaves the value as it was.
    pub fn add(&self, delta: i64) -> Result<i64, StateError> {
        self.handle.int(Op::CounterAdd(delta))
    }

    /// Adds 1 and returns the new value.
    pub fn increment(&self) -> Result<i64, StateError> {
        self.add(1)
    }

    /// Sets the value and returns the previous one.
    pub fn set(&self, value: i64) -> Result<i64, StateError> {
        self.handle.int(Op::CounterSet(value))
    }

    /// Sets the value to `new` if it is `expected`; true if it was set.
    pub fn compare_and_set(&self, expected: i64, new: i64) -> Result<bool, StateError> {
        Ok(self.compare_and_swap(expected, new)? == expected)
    }

    /// Like [`compare_and_set`](Self::compare_and_set), but returns the
    /// value found, which equals `expected` exactly when it was set.
    pub fn compare_and_swap(&self, expected: i64, new: i64) -> Result<i64, StateError> {
        self.handle.int(Op::CounterCompareAndSet { expected, new })
    }

    /// Removes the counter (it reads 0 again); true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }
}
