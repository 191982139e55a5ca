//! One state call: its object's name and its arguments read from guest
//! memory, its operation applied to the store (or waited for, within the
//! task's limits), its reply checked and any value handed back to the
//! guest; and the traps for all that can go wrong.

use std::time::{Duration, Instant};

use cloudbutton_state::{Key, Kind, Op, Reply, State, StateError};

use super::{Host, Result, STOP_CHECK};
use crate::abi;
use crate::error::TaskFailure;

/// The most bytes of a map key shown in an error message.
const MAX_FIELD_SHOWN: usize = 64;

/// One state call: which host function, on which object. It holds its
/// own handle on the store, so that it borrows nothing of the guest while
/// the operation runs or waits.
pub(super) struct Call {
    function: &'static str,
    key: Key,
    state: State,
}

impl Call {
    /// Reads the object's name from guest memory.
    pub(super) fn new(
        caller: &mut Host<'_>,
        function: &'static str,
        kind: Kind,
        name: i32,
        name_len: i32,
    ) -> Result<Call> {
        let bytes = read(caller, function, name, name_len)?;
        let name = String::from_utf8(bytes).map_err(|error| {
            wasmtime::Error::msg(format!(
                "{function}: the {kind} name `{}` is not UTF-8",
                error.as_bytes().escape_ascii()
            ))
        })?;
        let objects = &caller.data().objects;
        Ok(Call {
            function,
            key: Key {
                scope: objects.scope.clone(),
                kind,
                name: name.into(),
            },
            state: objects.state.clone(),
        })
    }

    /// The bytes at `(ptr, len)` in guest memory.
    pub(super) fn bytes(&self, caller: &mut Host<'_>, ptr: i32, len: i32) -> Result<Vec<u8>> {
        read(caller, self.function, ptr, len)
    }

    /// Traps unless `(out, cap)` lies inside guest memory; checked before
    /// the operation, so that a bad buffer changes nothing and waits for
    /// nothing.
    pub(super) fn check_buffer(&self, caller: &mut Host<'_>, out: i32, cap: i32) -> Result<()> {
        let memory = abi::memory(caller).ok_or_else(abi::no_memory)?;
        let data = memory.data(&*caller);
        abi::guest_range(data, out, cap)
            .map(|_| ())
            .ok_or_else(|| abi::bad_range(self.function, out, cap, data.len()))
    }

    /// Copies `value` to the guest's buffer `(out, cap)` if it fits, and
    /// returns its length, or -1 for no value.
    pub(super) fn hand_back(
        &self,
        caller: &mut Host<'_>,
        out: i32,
        cap: i32,
        value: Option<&[u8]>,
    ) -> Result<i64> {
        let memory = abi::memory(caller).ok_or_else(abi::no_memory)?;
        let data = memory.data_mut(&mut *caller);
        let size = data.len();
        let buffer = abi::guest_range_mut(data, out, cap)
            .ok_or_else(|| abi::bad_range(self.function, out, cap, size))?;
        let Some(value) = value else {
            return Ok(-1);
        };
        if let Some(target) = buffer.get_mut(..value.len()) {
            target.copy_from_slice(value);
        }
        Ok(i64::try_from(value.len()).unwrap_or(i64::MAX))
    }

    /// A count argument (parties, permits), which must not be negative.
    pub(super) fn count(&self, what: &str, value: i32) -> Result<u32> {
        u32::try_from(value)
            .map_err(|_| self.refuse(&format!("{what} is {value}; it must not be negative")))
    }

    /// A position argument (an index, an offset), which must not be
    /// negative.
    pub(super) fn unsigned(&self, what: &str, value: i64) -> Result<u64> {
        u64::try_from(value)
            .map_err(|_| self.refuse(&format!("{what} is {value}; it must not be negative")))
    }

    fn apply(&self, op: Op) -> Result<Reply> {
        self.state
            .store()
            .apply(&self.key, op)
            .map_err(|error| self.fail(error))
    }

    pub(super) fn int(&self, op: Op) -> Result<i64> {
        self.expect_int(self.apply(op)?)
    }

    pub(super) fn float(&self, op: Op) -> Result<f64> {
        match self.apply(op)? {
            Reply::Float(value) => Ok(value),
            other => Err(self.unexpected("a float", &other)),
        }
    }

    pub(super) fn boolean(&self, op: Op) -> Result<bool> {
        match self.apply(op)? {
            Reply::Bool(value) => Ok(value),
            other => Err(self.unexpected("a boolean", &other)),
        }
    }

    pub(super) fn unit(&self, op: Op) -> Result<()> {
        self.expect_unit(self.apply(op)?)
    }

    pub(super) fn value(&self, op: Op) -> Result<Option<Vec<u8>>> {
        self.expect_value(self.apply(op)?)
    }

    pub(super) fn values(&self, op: Op) -> Result<Vec<Vec<u8>>> {
        match self.apply(op)? {
            Reply::Values(values) => Ok(values),
            other => Err(self.unexpected("values", &other)),
        }
    }

    pub(super) fn expect_int(&self, reply: Reply) -> Result<i64> {
        match reply {
            Reply::Int(value) => Ok(value),
            other => Err(self.unexpected("an integer", &other)),
        }
    }

    pub(super) fn expect_unit(&self, reply: Reply) -> Result<()> {
        match reply {
            Reply::Unit => Ok(()),
            other => Err(self.unexpected("nothing", &other)),
        }
    }

    pub(super) fn expect_value(&self, reply: Reply) -> Result<Option<Vec<u8>>> {
        match reply {
            Reply::Value(value) => Ok(value),
            other => Err(self.unexpected("a value", &other)),
        }
    }

    /// Applies a waiting operation, made by `op` for a timeout, within
    /// the task's remaining time, in slices of [`STOP_CHECK`] between
    /// which it checks whether the task should stop. A task whose time
    /// runs out, or that should stop, fails as if interrupted in
    /// WebAssembly.
    pub(super) fn wait(&self, caller: &mut Host<'_>, op: impl Fn(Duration) -> Op) -> Result<Reply> {
        loop {
            let objects = &caller.data().objects;
            let mut slice = STOP_CHECK;
            let stopped = if let Some(reason) = objects.stop.reason() {
                Some(TaskFailure::Stopped(reason))
            } else if let Some((deadline, limit)) = objects.time_limit {
                let left = deadline.saturating_duration_since(Instant::now());
                slice = slice.min(left);
                left.is_zero().then_some(TaskFailure::TimeLimit(limit))
            } else {
                None
            };
            if let Some(stopped) = stopped {
                caller.data_mut().stopped = Some(stopped);
                return Err(wasmtime::Error::msg(format!(
                    "{}: interrupted while waiting on {}",
                    self.function, self.key
                )));
            }

            // A timeout is this loop's own slice: the guest gives none.
            match self.state.store().apply(&self.key, op(slice)) {
                Err(StateError::Timeout { .. }) => continue,
                result => return result.map_err(|error| self.fail(error)),
            }
        }
    }

    /// Adds `values`, little-endian f64s, to those of the map's field
    /// `field` elementwise, in one atomic update; an absent field takes
    /// them as they are.
    pub(super) fn add_f64s(&self, field: &[u8], values: &[u8]) -> Result<()> {
        let key = &self.key;
        let mut merge = |current: Option<&[u8]>| -> std::result::Result<_, StateError> {
            let Some(current) = current else {
                return Ok(Some(values.to_vec()));
            };
            if current.len() != values.len() {
                return Err(StateError::Invalid {
                    object: key.to_string(),
                    message: format!(
                        "the value of key `{}` is {} bytes long, and {} f64s ({} bytes) \
                         cannot be added to it elementwise",
                        shown(field),
                        current.len(),
                        values.len() / 8,
                        values.len()
                    ),
                });
            }
            let sum = current
                .chunks_exact(8)
                .zip(values.chunks_exact(8))
                .flat_map(|(old, new)| (f64_le(old) + f64_le(new)).to_le_bytes())
                .collect();
            Ok(Some(sum))
        };
        self.state
            .store()
            .update(key, field, &mut merge)
            .map(drop)
            .map_err(|error| self.fail(error))
    }

    /// The trap for a failed operation: the call, then the error, which
    /// names the object.
    fn fail(&self, error: StateError) -> wasmtime::Error {
        match error {
            StateError::Backend { .. } | StateError::Name { .. } => {
                wasmtime::Error::msg(format!("{} on {}: {error}", self.function, self.key))
            }
            error => wasmtime::Error::msg(format!("{}: {error}", self.function)),
        }
    }

    /// The trap for an argument the call cannot take.
    pub(super) fn refuse(&self, message: &str) -> wasmtime::Error {
        wasmtime::Error::msg(format!("{}: {}: {message}", self.function, self.key))
    }

    fn unexpected(&self, wanted: &str, reply: &Reply) -> wasmtime::Error {
        wasmtime::Error::msg(format!(
            "{}: {}: the state store answered {reply:?}, not {wanted}",
            self.function, self.key
        ))
    }
}

/// The bytes at `(ptr, len)` in guest memory, or a trap naming `function`.
fn read(caller: &mut Host<'_>, function: &str, ptr: i32, len: i32) -> Result<Vec<u8>> {
    let memory = abi::memory(caller).ok_or_else(abi::no_memory)?;
    let data = memory.data(&*caller);
    abi::guest_range(data, ptr, len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| abi::bad_range(function, ptr, len, data.len()))
}

fn f64_le(bytes: &[u8]) -> f64 {
    let mut array = [0; 8];
    array.copy_from_slice(bytes);
    f64::from_le_bytes(array)
}

/// A map key for a message: printable ASCII as it is, other bytes escaped,
/// cut at [`MAX_FIELD_SHOWN`] bytes.
fn shown(field: &[u8]) -> String {
    let cut = &field[..field.len().min(MAX_FIELD_SHOWN)];
    let mut text = cut.escape_ascii().to_string();
    if cut.len() < field.len() {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_messages_are_escaped_and_cut() {
        assert_eq!(shown(b"centroid\x001"), "centroid\\x001");
        let long = vec![b'k'; 100];
        assert_eq!(shown(&long), format!("{}...", "k".repeat(64)));
    }

    #[test]
    fn f64s_are_little_endian() {
        assert_eq!(f64_le(&1.5f64.to_le_bytes()), 1.5);
    }
}
