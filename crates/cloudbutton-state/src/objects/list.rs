use std::marker::PhantomData;
use std::ops::Range;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StateError;
use crate::op::{Op, Reply};
use crate::state::Handle;
use crate::store::unexpected;

/// An append-only list of `T`, stored as MessagePack.
pub struct List<T> {
    handle: Handle,
    item: PhantomData<fn() -> T>,
}

impl<T> Clone for List<T> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            item: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl<T> List<T>
where
    T: Serialize + DeserializeOwned,
{
    pub(crate) fn new(handle: Handle) -> Self {
        Self {
            handle,
            item: PhantomData,
        }
    }

    /// Appends one value and returns the new length.
    pub fn append(&self, value: &T) -> Result<u64, StateError> {
        self.extend(std::slice::from_ref(value))
    }

    /// Appends values in order, all at once: no other append comes between
    /// them. Returns the new length.
    pub fn extend(&self, values: &[T]) -> Result<u64, StateError> {
        let values = values
            .iter()
            .map(|value| self.handle.encode(value))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.handle.int(Op::ListAppend(values))?.max(0) as u64)
    }

    /// The values at positions `range`, clamped to the length.
    pub fn range(&self, range: Range<u64>) -> Result<Vec<T>, StateError> {
        if range.start > range.end {
            return Err(StateError::Invalid {
                object: self.handle.key.to_string(),
                message: format!("the range {range:?} ends before it starts"),
            });
        }
        match self.handle.apply(Op::ListRange {
            start: range.start,
            end: range.end,
        })? {
            Reply::Values(values) => values
                .iter()
                .map(|bytes| self.handle.decode(bytes))
                .collect(),
            other => Err(unexpected(&self.handle.key, "values", &other)),
        }
    }

    /// Every value.
    pub fn to_vec(&self) -> Result<Vec<T>, StateError> {
        self.range(0..u64::MAX)
    }

    /// The length.
    pub fn len(&self) -> Result<u64, StateError> {
        Ok(self.handle.int(Op::ListLen)?.max(0) as u64)
    }

    /// True if nothing was appended.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        Ok(self.len()? == 0)
    }

    /// Removes the list; true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }
}
