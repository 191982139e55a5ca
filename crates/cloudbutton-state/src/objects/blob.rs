use crate::error::StateError;
use crate::op::Op;
use crate::state::Handle;

/// Bytes, read and written whole or by range: model weights, a bitmap, a
/// buffer that tasks fill at their own offsets.
#[derive(Debug, Clone)]
pub struct Blob {
    handle: Handle,
}

impl Blob {
    pub(crate) fn new(handle: Handle) -> Self {
        Self { handle }
    }

    /// The whole value, `None` if never written.
    pub fn get(&self) -> Result<Option<Vec<u8>>, StateError> {
        self.handle.value(Op::BlobGet)
    }

    /// Replaces the whole value.
    pub fn set(&self, bytes: &[u8]) -> Result<(), StateError> {
        self.handle.unit(Op::BlobSet(bytes.to_vec()))
    }

    /// Up to `len` bytes from `offset`; fewer past the end, none past it.
    pub fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, StateError> {
        Ok(self
            .handle
            .value(Op::BlobRead { offset, len })?
            .unwrap_or_default())
    }

    /// Writes `bytes` at `offset`, filling any gap before it with zeros,
    /// and returns the new length.
    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<u64, StateError> {
        let len = self.handle.int(Op::BlobWrite {
            offset,
            data: bytes.to_vec(),
        })?;
        Ok(len.max(0) as u64)
    }

    /// The length in bytes.
    pub fn len(&self) -> Result<u64, StateError> {
        Ok(self.handle.int(Op::BlobLen)?.max(0) as u64)
    }

    /// True if empty or never written.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        Ok(self.len()? == 0)
    }

    /// Removes the blob; true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }
}
