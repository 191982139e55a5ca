//! The host calls of import module `cloudbutton` on the job's shared
//! objects: counters, sums, maps, lists, blobs, barriers, futures, latches
//! and semaphores, the same objects that the job's other tasks, native or
//! WebAssembly, and its driver see through `cloudbutton_state::State`.
//!
//! Every call names its object by the UTF-8 name at `(name, name_len)`, in
//! the job's scope. Map keys and map, list, future and blob values are the
//! guest's own bytes, stored as they are; counters and sums are numbers
//! that typed handles share directly. A call that hands a value back
//! writes it to the guest's buffer `(out, cap)` only if it fits, and
//! returns its length either way (-1 when there is none), so that a guest
//! can retry with a larger buffer.
//!
//! A failure of the operation (a counter that would overflow, a barrier
//! joined with another number of parties), a range outside the guest's
//! memory and a name that is not UTF-8 all trap, with a message that names
//! the call and the object: these are bugs that must not pass silently.
//!
//! The waiting calls (`barrier_wait`, `future_get`, `latch_wait`,
//! `semaphore_acquire`) block the task's thread, where epoch interruption
//! cannot reach it. So they hand the store the task's remaining time as
//! their timeout, and fail the task with its time limit when it runs out;
//! and they wake every [`STOP_CHECK`] to see whether the job was
//! cancelled.

mod call;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudbutton_executor::StopSignal;
use cloudbutton_state::{Kind, Op, State};
use wasmtime::{Caller, Linker};

use crate::abi::MODULE;
use crate::run::TaskState;

use call::Call;

/// How long a waiting call sleeps before it checks again whether its job
/// was cancelled or the task overran the executor's timeout. The wait
/// itself ends when the operation that releases it happens, not at a
/// check; the check is the only way to reach a thread blocked in the store.
/// Each check costs a Redis store a withdrawal and a new arrival (two
/// script calls), so it is rare: a cancelled job's waiting tasks notice
/// within a second.
const STOP_CHECK: Duration = Duration::from_secs(1);

/// What the state calls of one task work on.
pub(crate) struct TaskObjects {
    /// The job's objects.
    state: State,
    /// The job's scope, which every key of the task's calls shares.
    scope: Arc<str>,
    stop: StopSignal,
    /// When the task's time limit passes, and the limit.
    time_limit: Option<(Instant, Duration)>,
}

impl TaskObjects {
    pub(crate) fn new(
        state: State,
        stop: StopSignal,
        time_limit: Option<(Instant, Duration)>,
    ) -> Self {
        let scope = Arc::from(state.scope());
        Self {
            state,
            scope,
            stop,
            time_limit,
        }
    }
}

/// Adds the state calls to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    add_counters_and_sums(linker)?;
    add_maps(linker)?;
    add_lists_and_blobs(linker)?;
    add_synchronization(linker)?;
    Ok(())
}

/// The caller of a host function.
type Host<'a> = Caller<'a, TaskState>;

/// Every host function's result: an error traps.
type Result<T> = wasmtime::Result<T>;

fn add_counters_and_sums(linker: &mut Linker<TaskState>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "counter_get",
        |mut caller: Host<'_>, name: i32, name_len: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "counter_get", Kind::Counter, name, name_len)?;
            call.int(Op::CounterGet)
        },
    )?;

    linker.func_wrap(
        MODULE,
        "counter_add",
        |mut caller: Host<'_>, name: i32, name_len: i32, delta: i64| -> Result<i64> {
            let call = Call::new(&mut caller, "counter_add", Kind::Counter, name, name_len)?;
            call.int(Op::CounterAdd(delta))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "counter_compare_and_set",
        |mut caller: Host<'_>, name: i32, name_len: i32, expected: i64, new: i64| -> Result<i32> {
            let call = Call::new(
                &mut caller,
                "counter_compare_and_set",
                Kind::Counter,
                name,
                name_len,
            )?;
            let before = call.int(Op::CounterCompareAndSet { expected, new })?;
            Ok(i32::from(before == expected))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "sum_get",
        |mut caller: Host<'_>, name: i32, name_len: i32| -> Result<f64> {
            let call = Call::new(&mut caller, "sum_get", Kind::Sum, name, name_len)?;
            call.float(Op::SumGet)
        },
    )?;

    linker.func_wrap(
        MODULE,
        "sum_add",
        |mut caller: Host<'_>, name: i32, name_len: i32, delta: f64| -> Result<f64> {
            let call = Call::new(&mut caller, "sum_add", Kind::Sum, name, name_len)?;
            call.float(Op::SumAdd(delta))
        },
    )?;
    Ok(())
}

fn add_maps(linker: &mut Linker<TaskState>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "map_get",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         key: i32,
         key_len: i32,
         out: i32,
         cap: i32|
         -> Result<i64> {
            let call = Call::new(&mut caller, "map_get", Kind::Map, name, name_len)?;
            let field = call.bytes(&mut caller, key, key_len)?;
            call.check_buffer(&mut caller, out, cap)?;
            let value = call.value(Op::MapGet(field))?;
            call.hand_back(&mut caller, out, cap, value.as_deref())
        },
    )?;

    linker.func_wrap(
        MODULE,
        "map_put",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         key: i32,
         key_len: i32,
         value: i32,
         value_len: i32|
         -> Result<i32> {
            let call = Call::new(&mut caller, "map_put", Kind::Map, name, name_len)?;
            let field = call.bytes(&mut caller, key, key_len)?;
            let value = call.bytes(&mut caller, value, value_len)?;
            let before = call.value(Op::MapPut(field, value))?;
            Ok(i32::from(before.is_some()))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "map_remove",
        |mut caller: Host<'_>, name: i32, name_len: i32, key: i32, key_len: i32| -> Result<i32> {
            let call = Call::new(&mut caller, "map_remove", Kind::Map, name, name_len)?;
            let field = call.bytes(&mut caller, key, key_len)?;
            let removed = call.value(Op::MapRemove(field))?;
            Ok(i32::from(removed.is_some()))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "map_len",
        |mut caller: Host<'_>, name: i32, name_len: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "map_len", Kind::Map, name, name_len)?;
            call.int(Op::MapLen)
        },
    )?;

    linker.func_wrap(
        MODULE,
        "map_add_f64s",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         key: i32,
         key_len: i32,
         values: i32,
         count: i32|
         -> Result<()> {
            let call = Call::new(&mut caller, "map_add_f64s", Kind::Map, name, name_len)?;
            let field = call.bytes(&mut caller, key, key_len)?;
            let count = call.count("count", count)?;
            let len = count
                .checked_mul(8)
                .and_then(|len| i32::try_from(len).ok())
                .ok_or_else(|| call.refuse(&format!("{count} f64s are more than memory holds")))?;
            let values = call.bytes(&mut caller, values, len)?;
            call.add_f64s(&field, &values)
        },
    )?;
    Ok(())
}

fn add_lists_and_blobs(linker: &mut Linker<TaskState>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "list_append",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         value: i32,
         value_len: i32|
         -> Result<i64> {
            let call = Call::new(&mut caller, "list_append", Kind::List, name, name_len)?;
            let value = call.bytes(&mut caller, value, value_len)?;
            call.int(Op::ListAppend(vec![value]))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "list_len",
        |mut caller: Host<'_>, name: i32, name_len: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "list_len", Kind::List, name, name_len)?;
            call.int(Op::ListLen)
        },
    )?;

    linker.func_wrap(
        MODULE,
        "list_get",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         index: i64,
         out: i32,
         cap: i32|
         -> Result<i64> {
            let call = Call::new(&mut caller, "list_get", Kind::List, name, name_len)?;
            let index = call.unsigned("index", index)?;
            call.check_buffer(&mut caller, out, cap)?;
            let values = call.values(Op::ListRange {
                start: index,
                end: index.saturating_add(1),
            })?;
            call.hand_back(&mut caller, out, cap, values.first().map(Vec::as_slice))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "blob_read",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         offset: i64,
         out: i32,
         len: i32|
         -> Result<i64> {
            let call = Call::new(&mut caller, "blob_read", Kind::Blob, name, name_len)?;
            let offset = call.unsigned("offset", offset)?;
            call.check_buffer(&mut caller, out, len)?;
            let bytes = call
                .value(Op::BlobRead {
                    offset,
                    len: u64::try_from(len).unwrap_or_default(),
                })?
                .unwrap_or_default();
            call.hand_back(&mut caller, out, len, Some(&bytes))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "blob_write",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         offset: i64,
         data: i32,
         len: i32|
         -> Result<i64> {
            let call = Call::new(&mut caller, "blob_write", Kind::Blob, name, name_len)?;
            let offset = call.unsigned("offset", offset)?;
            let data = call.bytes(&mut caller, data, len)?;
            call.int(Op::BlobWrite { offset, data })
        },
    )?;

    linker.func_wrap(
        MODULE,
        "blob_len",
        |mut caller: Host<'_>, name: i32, name_len: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "blob_len", Kind::Blob, name, name_len)?;
            call.int(Op::BlobLen)
        },
    )?;
    Ok(())
}

fn add_synchronization(linker: &mut Linker<TaskState>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "barrier_wait",
        |mut caller: Host<'_>, name: i32, name_len: i32, parties: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "barrier_wait", Kind::Barrier, name, name_len)?;
            let parties = call.count("parties", parties)?;
            if parties == 0 {
                return Err(call.refuse("a barrier needs at least 1 party"));
            }
            let reply = call.wait(&mut caller, |timeout| Op::BarrierWait {
                parties,
                timeout: Some(timeout),
            })?;
            call.expect_int(reply)
        },
    )?;

    linker.func_wrap(
        MODULE,
        "future_set",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         value: i32,
         value_len: i32|
         -> Result<i32> {
            let call = Call::new(&mut caller, "future_set", Kind::Future, name, name_len)?;
            let value = call.bytes(&mut caller, value, value_len)?;
            Ok(i32::from(call.boolean(Op::FutureSet(value))?))
        },
    )?;

    linker.func_wrap(
        MODULE,
        "future_get",
        |mut caller: Host<'_>, name: i32, name_len: i32, out: i32, cap: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "future_get", Kind::Future, name, name_len)?;
            call.check_buffer(&mut caller, out, cap)?;
            let reply = call.wait(&mut caller, |timeout| Op::FutureGet {
                timeout: Some(timeout),
            })?;
            let value = call.expect_value(reply)?;
            call.hand_back(&mut caller, out, cap, value.as_deref())
        },
    )?;

    linker.func_wrap(
        MODULE,
        "future_try_get",
        |mut caller: Host<'_>, name: i32, name_len: i32, out: i32, cap: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "future_try_get", Kind::Future, name, name_len)?;
            call.check_buffer(&mut caller, out, cap)?;
            let value = call.value(Op::FutureTryGet)?;
            call.hand_back(&mut caller, out, cap, value.as_deref())
        },
    )?;

    linker.func_wrap(
        MODULE,
        "latch_count_down",
        |mut caller: Host<'_>, name: i32, name_len: i32, count: i32| -> Result<i64> {
            let call = Call::new(&mut caller, "latch_count_down", Kind::Latch, name, name_len)?;
            let count = call.count("count", count)?;
            call.int(Op::LatchCountDown { count })
        },
    )?;

    linker.func_wrap(
        MODULE,
        "latch_wait",
        |mut caller: Host<'_>, name: i32, name_len: i32, count: i32| -> Result<()> {
            let call = Call::new(&mut caller, "latch_wait", Kind::Latch, name, name_len)?;
            let count = call.count("count", count)?;
            let reply = call.wait(&mut caller, |timeout| Op::LatchWait {
                count,
                timeout: Some(timeout),
            })?;
            call.expect_unit(reply)
        },
    )?;

    linker.func_wrap(
        MODULE,
        "semaphore_acquire",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         initial: i32,
         permits: i32|
         -> Result<()> {
            let call = Call::new(
                &mut caller,
                "semaphore_acquire",
                Kind::Semaphore,
                name,
                name_len,
            )?;
            let initial = call.count("initial", initial)?;
            let permits = call.count("permits", permits)?;
            let reply = call.wait(&mut caller, |timeout| Op::SemaphoreAcquire {
                permits,
                initial,
                timeout: Some(timeout),
            })?;
            call.expect_unit(reply)
        },
    )?;

    linker.func_wrap(
        MODULE,
        "semaphore_release",
        |mut caller: Host<'_>,
         name: i32,
         name_len: i32,
         initial: i32,
         permits: i32|
         -> Result<()> {
            let call = Call::new(
                &mut caller,
                "semaphore_release",
                Kind::Semaphore,
                name,
                name_len,
            )?;
            let initial = call.count("initial", initial)?;
            let permits = call.count("permits", permits)?;
            call.unit(Op::SemaphoreRelease { permits, initial })
        },
    )?;
    Ok(())
}
