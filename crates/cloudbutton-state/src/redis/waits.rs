//! The objects callers wait on: barriers, futures, semaphores and latches,
//! and the wait itself: block on a wake list until a token comes, then
//! look at the object again.

use std::time::{Duration, Instant};

use ::redis::{RedisError, Value, cmd};

use super::{Call, keys};
use crate::error::StateError;
use crate::op::{Op, Reply};

/// The longest a waiter blocks on a wake list before it looks at the
/// object again; a look each time bounds what a lost token can cost.
const MAX_BLOCK: Duration = Duration::from_secs(30);

/// How long the wake list of a round lives after its tokens were pushed:
/// much longer than any waiter of the round takes to get to it. Waiters
/// take their tokens, so the list is gone as soon as they all have; this
/// only clears the tokens of waiters that gave up or died.
const WAKE_TTL: Duration = Duration::from_secs(10 * 60);

/// What a look at a waiting object found.
enum Poll<T> {
    /// The wait is over.
    Ready(T),
    /// Not yet: block on this wake list.
    Wait(WakeList),
}

/// A list whose tokens wake waiters.
#[derive(Clone)]
enum WakeList {
    /// The list of a future or a latch, which gets one token when the
    /// object opens and keeps it: each waiter moves it from one end to
    /// the other, so it wakes every waiter, now and later.
    Open(String),
    /// The list of a barrier's round or a semaphore's release, which gets
    /// a token for each caller waiting then: each waiter takes one.
    Round(String),
}

/// Applies an operation on a barrier, a future, a semaphore or a latch.
pub(super) fn apply(call: &mut Call<'_>, op: Op) -> Result<Reply, StateError> {
    match op {
        Op::BarrierWait { parties, timeout } => barrier_wait(call, parties, timeout),

        Op::FutureSet(value) => {
            let mut invocation = call.prepare(&call.scripts.future_set);
            invocation.key(keys::wake(call.key)).arg(value);
            let set: i64 = call.invoke(&invocation)?;
            Ok(Reply::Bool(set == 1))
        }
        Op::FutureTryGet => Ok(Reply::Value(future_value(call)?)),
        Op::FutureGet { timeout } => {
            let look = |call: &mut Call<'_>| {
                Ok(match future_value(call)? {
                    Some(value) => Poll::Ready(value),
                    None => Poll::Wait(WakeList::Open(keys::wake(call.key))),
                })
            };
            let first = look(call)?;
            let value = wait(call, timeout, first, look)?;
            Ok(Reply::Value(Some(value)))
        }

        Op::SemaphoreAvailable { initial } => {
            let (available, _) = semaphore(call, initial, "available", 0, "")?;
            Ok(Reply::Int(available))
        }
        Op::SemaphoreRelease { permits, initial } => {
            semaphore(call, initial, "release", permits, "")?;
            Ok(Reply::Unit)
        }
        Op::SemaphoreTryAcquire { permits, initial } => {
            let (taken, _) = semaphore(call, initial, "try", permits, "")?;
            Ok(Reply::Bool(taken == 1))
        }
        Op::SemaphoreAcquire {
            permits,
            initial,
            timeout,
        } => semaphore_acquire(call, permits, initial, timeout),

        Op::LatchCount { count } => Ok(Reply::Int(latch(call, count, "count")?)),
        Op::LatchCountDown { count } => Ok(Reply::Int(latch(call, count, "down")?)),
        Op::LatchWait { count, timeout } => {
            // Only the first look may create the latch.
            let look = |call: &mut Call<'_>, op: &str| {
                Ok(match latch(call, count, op)? {
                    0 => Poll::Ready(()),
                    _ => Poll::Wait(WakeList::Open(keys::wake(call.key))),
                })
            };
            let first = look(call, "count")?;
            wait(call, timeout, first, |call| look(call, "retry"))?;
            Ok(Reply::Unit)
        }

        other => Err(StateError::Invalid {
            object: call.key.to_string(),
            message: format!("{other:?} is not an operation on a {}", call.key.kind),
        }),
    }
}

/// Arrives at the barrier and waits for its round to complete. A caller
/// that times out withdraws its arrival, unless the round completed in
/// the meantime: then it made it.
fn barrier_wait(
    call: &mut Call<'_>,
    parties: u32,
    timeout: Option<Duration>,
) -> Result<Reply, StateError> {
    let (prefix, suffix) = keys::wake_round_parts(call.key);
    let mut invocation = call.prepare(&call.scripts.barrier_wait);
    invocation
        .arg(parties)
        .arg(prefix)
        .arg(suffix)
        .arg(WAKE_TTL.as_millis() as u64);
    let arrival = call.invoke_raw(&invocation);
    let (completed, round): (i64, String) = created_with(call, "parties", parties, arrival)?;
    let mine = round
        .parse::<u64>()
        .map_err(|_| call.malformed("round number", round.as_bytes()))?;
    let mine = Reply::Int(i64::try_from(mine).unwrap_or(i64::MAX));
    if completed == 1 {
        return Ok(mine);
    }

    let wake_key = keys::wake_round(call.key, &round);
    let wake = WakeList::Round(wake_key.clone());
    let object = call.object.clone();
    let look = |call: &mut Call<'_>| {
        let now: Option<String> = call.query(cmd("HGET").arg(&object).arg("round"))?;
        // A barrier that is gone (deleted) never completes the round.
        Ok(match now {
            Some(now) if now != round => Poll::Ready(()),
            _ => Poll::Wait(wake.clone()),
        })
    };
    let waited = wait(call, timeout, Poll::Wait(wake.clone()), look);
    match waited {
        Ok(()) => Ok(mine),
        Err(timeout @ StateError::Timeout { .. }) => {
            let mut invocation = call.prepare(&call.scripts.barrier_withdraw);
            invocation.key(wake_key).arg(&round);
            let completed: i64 = call.invoke(&invocation)?;
            if completed == 1 {
                Ok(mine)
            } else {
                Err(timeout)
            }
        }
        Err(other) => Err(other),
    }
}

/// Takes `permits`, waiting for releases until they are there. A caller
/// that times out stops counting among the waiters.
fn semaphore_acquire(
    call: &mut Call<'_>,
    permits: u32,
    initial: u32,
    timeout: Option<Duration>,
) -> Result<Reply, StateError> {
    // The release this caller waits for, once it waits. Only the first
    // look may create the semaphore: a waiter on one that was deleted
    // waits on, as it would in memory.
    let mut waiting_for = String::new();
    let mut look = |call: &mut Call<'_>, op: &str| {
        let (taken, release) = semaphore(call, initial, op, permits, &waiting_for)?;
        if taken == 1 {
            return Ok(Poll::Ready(()));
        }
        if !release.is_empty() {
            waiting_for = release;
        }
        Ok(Poll::Wait(WakeList::Round(keys::wake_round(
            call.key,
            &waiting_for,
        ))))
    };
    let first = look(call, "acquire")?;
    let waited = wait(call, timeout, first, |call| look(call, "retry"));
    match waited {
        Ok(()) => Ok(Reply::Unit),
        Err(timeout @ StateError::Timeout { .. }) => {
            let mut invocation = call.prepare(&call.scripts.semaphore_withdraw);
            invocation
                .key(keys::wake_round(call.key, &waiting_for))
                .arg(&waiting_for);
            call.invoke::<i64>(&invocation)?;
            Err(timeout)
        }
        Err(other) => Err(other),
    }
}

/// Runs a semaphore operation; see the `SEMAPHORE` script for what it
/// answers.
fn semaphore(
    call: &mut Call<'_>,
    initial: u32,
    op: &str,
    permits: u32,
    waiting_for: &str,
) -> Result<(i64, String), StateError> {
    let (prefix, suffix) = keys::wake_round_parts(call.key);
    let mut invocation = call.prepare(&call.scripts.semaphore);
    invocation
        .arg(initial)
        .arg(op)
        .arg(permits)
        .arg(prefix)
        .arg(suffix)
        .arg(WAKE_TTL.as_millis() as u64)
        .arg(waiting_for);
    let answer = call.invoke_raw(&invocation);
    created_with(call, "permits", initial, answer)
}

/// Runs a latch operation (`down` counts down, anything else only reads)
/// and returns the count left.
fn latch(call: &mut Call<'_>, count: u32, op: &str) -> Result<i64, StateError> {
    let mut invocation = call.prepare(&call.scripts.latch);
    invocation.key(keys::wake(call.key)).arg(count).arg(op);
    let answer = call.invoke_raw(&invocation);
    created_with(call, "count", count, answer)
}

/// The future's value, if set.
fn future_value(call: &mut Call<'_>) -> Result<Option<Vec<u8>>, StateError> {
    let object = call.object.clone();
    call.query(cmd("GET").arg(object))
}

/// The answer of a script that checks the parameter the object was
/// created with, `what`, against the one this handle gives, `asked`.
fn created_with<T>(
    call: &Call<'_>,
    what: &str,
    asked: u32,
    answer: Result<T, RedisError>,
) -> Result<T, StateError> {
    answer.map_err(|error| match (error.code(), error.detail()) {
        (Some("MISMATCH"), Some(existing)) => StateError::Mismatch {
            object: call.key.to_string(),
            message: format!(
                "it was created with {existing} {what}, and this handle asks for {asked}"
            ),
        },
        _ => call.error(error),
    })
}

/// Waits, starting from `first`, until `look` finds the wait over or the
/// timeout passes. Between looks it blocks on the wake list the last look
/// named, for at most [`MAX_BLOCK`].
fn wait<T>(
    call: &mut Call<'_>,
    timeout: Option<Duration>,
    first: Poll<T>,
    mut look: impl FnMut(&mut Call<'_>) -> Result<Poll<T>, StateError>,
) -> Result<T, StateError> {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let mut poll = first;
    loop {
        let wake = match poll {
            Poll::Ready(value) => return Ok(value),
            Poll::Wait(wake) => wake,
        };
        let block = match deadline {
            None => MAX_BLOCK,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(StateError::Timeout {
                        object: call.key.to_string(),
                        after: timeout.unwrap_or_default(),
                    });
                }
                left.min(MAX_BLOCK)
            }
        };
        block_on(call, &wake, block)?;
        poll = look(call)?;
    }
}

/// Blocks until the wake list `wake` holds a token, or for `block`.
fn block_on(call: &mut Call<'_>, wake: &WakeList, block: Duration) -> Result<(), StateError> {
    // Blocking commands take seconds, to the millisecond; 0 would block
    // forever.
    let millis = block.as_millis().max(1);
    let seconds = format!("{}.{:03}", millis / 1000, millis % 1000);
    let mut command = match wake {
        WakeList::Open(list) => {
            let mut command = cmd("BLMOVE");
            command.arg(list).arg(list).arg("LEFT").arg("RIGHT");
            command
        }
        WakeList::Round(list) => {
            let mut command = cmd("BLPOP");
            command.arg(list);
            command
        }
    };
    command.arg(seconds);
    call.lease
        .run_blocking(block, |con| command.query::<Value>(con))
        .map_err(|error| call.error(error))?;
    Ok(())
}
