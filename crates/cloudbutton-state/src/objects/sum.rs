use crate::error::StateError;
use crate::op::Op;
use crate::state::Handle;

/// An atomic f64 sum: 0.0 until changed. Additions are applied one at a
/// time in the order the store receives them, with IEEE f64 arithmetic on
/// every backend.
#[derive(Debug, Clone)]
pub struct Sum {
    handle: Handle,
}

impl Sum {
    pub(crate) fn new(handle: Handle) -> Self {
        Self { handle }
    }

    /// The value now.
    pub fn get(&self) -> Result<f64, StateError> {
        self.handle.float(Op::SumGet)
    }

    /// Adds `delta` and returns the new value.
    pub fn add(&self, delta: f64) -> Result<f64, StateError> {
        self.handle.float(Op::SumAdd(delta))
    }

    /// Sets the value and returns the previous one.
    pub fn set(&self, value: f64) -> Result<f64, StateError> {
        self.handle.float(Op::SumSet(value))
    }

    /// Removes the sum (it reads 0.0 again); true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }
}
