//! The host interface of import module `cloudbutton`: how a module reads
//! its input, writes its output, logs and reports an error, without WASI.
//!
//! | import | meaning |
//! |---|---|
//! | `input_size() -> i64` | total bytes of input |
//! | `input_read(ptr: i32, len: i32) -> i32` | copies the next up to `len` input bytes to `ptr`; the count, 0 at the end, -1 on a bad pointer |
//! | `output_write(ptr: i32, len: i32) -> i32` | appends to the output; 0, or -1 past the output limit (the task then fails) |
//! | `log(level: i32, ptr: i32, len: i32)` | 0 error, 1 warn, 2 info, 3 debug |
//! | `set_error(ptr: i32, len: i32)` | the message of the failure about to be returned |
//!
//! A module exporting `cloudbutton_run() -> i32` is a reactor: it runs once
//! per task (after `_initialize`, if exported), and 0 means success. The
//! functions are linked for WASI commands too. A range outside the guest's
//! memory traps in `output_write`, `log` and `set_error`: those are bugs
//! that must not pass silently.
//!
//! The same module holds the calls on the job's shared objects (counters,
//! maps, barriers and the rest), in `state_abi/`.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use wasmtime::{Caller, Extern, Linker};

use crate::run::TaskState;

/// The import module of the host functions.
pub const MODULE: &str = "cloudbutton";

/// The longest message `log` and `set_error` keep.
const MAX_MESSAGE: usize = 64 << 10;

/// What the host functions work on, for one task.
pub(crate) struct HostIo {
    /// The task's index, for logs.
    pub(crate) task: usize,
    /// The module's label, for logs.
    pub(crate) module: Arc<str>,
    pub(crate) input: Bytes,
    /// How much of `input` `input_read` has handed out.
    pub(crate) read: usize,
    pub(crate) output: SharedOutput,
    /// What the guest passed to `set_error`.
    pub(crate) error: Option<String>,
}

/// The output of a task, bounded, shared by `output_write` and a command's
/// stdout.
#[derive(Clone)]
pub(crate) struct SharedOutput(Arc<Mutex<Output>>);

pub(crate) struct Output {
    pub(crate) bytes: Vec<u8>,
    limit: u64,
    /// Set when a write did not fit: the task fails, whatever the guest does
    /// next.
    pub(crate) exceeded: bool,
}

impl SharedOutput {
    pub(crate) fn new(limit: u64) -> Self {
        Self(Arc::new(Mutex::new(Output {
            bytes: Vec::new(),
            limit,
            exceeded: false,
        })))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Output> {
        // A panic while holding this lock cannot leave the bytes half
        // written in a way that matters: the task fails anyway.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Output {
    /// Appends `data`, or marks the output as exceeded and keeps nothing of
    /// it: a partial write would truncate the result silently.
    pub(crate) fn append(&mut self, data: &[u8]) -> bool {
        if self.exceeded || (self.bytes.len() + data.len()) as u64 > self.limit {
            self.exceeded = true;
            return false;
        }
        self.bytes.extend_from_slice(data);
        true
    }
}

/// Adds the host functions to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "input_size", |caller: Caller<'_, TaskState>| {
        caller.data().io.input.len() as i64
    })?;

    linker.func_wrap(
        MODULE,
        "input_read",
        |mut caller: Caller<'_, TaskState>, ptr: i32, len: i32| -> i32 {
            let Some(memory) = memory(&mut caller) else {
                return -1;
            };
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let Some(target) = guest_range_mut(data, ptr, len) else {
                return -1;
            };
            let io = &mut state.io;
            let rest = &io.input[io.read..];
            let count = rest.len().min(target.len());
            target[..count].copy_from_slice(&rest[..count]);
            io.read += count;
            count as i32
        },
    )?;

    linker.func_wrap(
        MODULE,
        "output_write",
        |mut caller: Caller<'_, TaskState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let memory = memory(&mut caller).ok_or_else(no_memory)?;
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let bytes = guest_range(data, ptr, len)
                .ok_or_else(|| bad_range("output_write", ptr, len, data.len()))?;
            Ok(if state.io.output.lock().append(bytes) {
                0
            } else {
                -1
            })
        },
    )?;

    linker.func_wrap(
        MODULE,
        "log",
        |mut caller: Caller<'_, TaskState>,
         level: i32,
         ptr: i32,
         len: i32|
         -> wasmtime::Result<()> {
            let message = read_message(&mut caller, "log", ptr, len)?;
            let io = &caller.data().io;
            let (task, module) = (io.task, &*io.module);
            match level {
                0 => tracing::error!(task, module, "{message}"),
                1 => tracing::warn!(task, module, "{message}"),
                2 => tracing::info!(task, module, "{message}"),
                _ => tracing::debug!(task, module, "{message}"),
            }
            Ok(())
        },
    )?;

    linker.func_wrap(
        MODULE,
        "set_error",
        |mut caller: Caller<'_, TaskState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let message = read_message(&mut caller, "set_error", ptr, len)?;
            caller.data_mut().io.error = Some(message);
            Ok(())
        },
    )?;
    Ok(())
}

pub(crate) fn memory(caller: &mut Caller<'_, TaskState>) -> Option<wasmtime::Memory> {
    caller.get_export("memory").and_then(Extern::into_memory)
}

pub(crate) fn no_memory() -> wasmtime::Error {
    wasmtime::Error::msg("the module exports no `memory` for the cloudbutton host functions")
}

pub(crate) fn bad_range(function: &str, ptr: i32, len: i32, size: usize) -> wasmtime::Error {
    wasmtime::Error::msg(format!(
        "{function} was given {len} bytes at {ptr}, outside the guest's {size} bytes of memory",
        ptr = ptr as u32,
    ))
}

/// The bytes `ptr..ptr + len` of guest memory, if they lie within it; a
/// pointer is an unsigned 32-bit address.
pub(crate) fn guest_range(data: &[u8], ptr: i32, len: i32) -> Option<&[u8]> {
    let (start, end) = bounds(ptr, len)?;
    data.get(start..end)
}

pub(crate) fn guest_range_mut(data: &mut [u8], ptr: i32, len: i32) -> Option<&mut [u8]> {
    let (start, end) = bounds(ptr, len)?;
    data.get_mut(start..end)
}

fn bounds(ptr: i32, len: i32) -> Option<(usize, usize)> {
    let len = usize::try_from(len).ok()?;
    let start = ptr as u32 as usize;
    Some((start, start.checked_add(len)?))
}

/// A message from guest memory, as UTF-8 with replacements, cut at
/// [`MAX_MESSAGE`] bytes.
fn read_message(
    caller: &mut Caller<'_, TaskState>,
    function: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<String> {
    let memory = memory(caller).ok_or_else(no_memory)?;
    let data = memory.data(&*caller);
    let bytes =
        guest_range(data, ptr, len).ok_or_else(|| bad_range(function, ptr, len, data.len()))?;
    let bytes = &bytes[..bytes.len().min(MAX_MESSAGE)];
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_stay_inside_memory() {
        let data = [0u8; 16];
        assert_eq!(guest_range(&data, 4, 12).map(<[u8]>::len), Some(12));
        assert_eq!(guest_range(&data, 16, 0).map(<[u8]>::len), Some(0));
        assert!(guest_range(&data, 4, 13).is_none());
        assert!(guest_range(&data, 0, -1).is_none());
        // A negative pointer is a high address, not an index from the end.
        assert!(guest_range(&data, -4, 2).is_none());
    }

    #[test]
    fn output_past_the_limit_keeps_nothing_of_the_write_and_stays_exceeded() {
        let output = SharedOutput::new(4);
        let mut output = output.lock();
        assert!(output.append(b"abc"));
        assert!(!output.append(b"de"));
        assert!(!output.append(b""));
        assert_eq!(output.bytes, b"abc");
        assert!(output.exceeded);
    }
}
