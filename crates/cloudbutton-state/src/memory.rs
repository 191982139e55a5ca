//! The in-memory store: the default for the local backend, where every task
//! is a thread of the driver's process. Each object has its own lock, and
//! waiting operations sleep on the object's condition variable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::StateError;
use crate::op::{Key, Kind, MAX_BLOB_LEN, Op, Reply};
use crate::store::{Store, Update};

/// Shared objects in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<HashMap<Key, Arc<Slot>>>,
}

#[derive(Debug)]
struct Slot {
    object: Mutex<Object>,
    changed: Condvar,
}

#[derive(Debug)]
enum Object {
    Counter(i64),
    Sum(f64),
    Map(BTreeMap<Vec<u8>, Vec<u8>>),
    List(Vec<Vec<u8>>),
    Blob(Option<Vec<u8>>),
    Barrier {
        parties: u32,
        arrived: u32,
        round: u64,
    },
    Future(Option<Vec<u8>>),
    Semaphore {
        initial: u32,
        available: i64,
    },
    Latch {
        count: u32,
        remaining: u32,
    },
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The object's slot, made from `op` if the object does not exist.
    fn slot(&self, key: &Key, op: &Op) -> Arc<Slot> {
        let mut objects = self.objects.lock().unwrap();
        if let Some(slot) = objects.get(key) {
            return slot.clone();
        }
        let slot = Arc::new(Slot {
            object: Mutex::new(Object::new(key.kind, op)),
            changed: Condvar::new(),
        });
        objects.insert(key.clone(), slot.clone());
        slot
    }
}

impl Object {
    fn new(kind: Kind, op: &Op) -> Self {
        match kind {
            Kind::Counter => Object::Counter(0),
            Kind::Sum => Object::Sum(0.0),
            Kind::Map => Object::Map(BTreeMap::new()),
            Kind::List => Object::List(Vec::new()),
            Kind::Blob => Object::Blob(None),
            Kind::Barrier => Object::Barrier {
                parties: match op {
                    Op::BarrierWait { parties, .. } => *parties,
                    _ => 0,
                },
                arrived: 0,
                round: 0,
            },
            Kind::Future => Object::Future(None),
            Kind::Semaphore => {
                let initial = match op {
                    Op::SemaphoreAcquire { initial, .. }
                    | Op::SemaphoreTryAcquire { initial, .. }
                    | Op::SemaphoreRelease { initial, .. }
                    | Op::SemaphoreAvailable { initial } => *initial,
                    _ => 0,
                };
                Object::Semaphore {
                    initial,
                    available: i64::from(initial),
                }
            }
            Kind::Latch => {
                let count = match op {
                    Op::LatchCountDown { count }
                    | Op::LatchWait { count, .. }
                    | Op::LatchCount { count } => *count,
                    _ => 0,
                };
                Object::Latch {
                    count,
                    remaining: count,
                }
            }
        }
    }
}

impl Store for MemoryStore {
    fn apply(&self, key: &Key, op: Op) -> Result<Reply, StateError> {
        if op == Op::Delete {
            let removed = self.objects.lock().unwrap().remove(key);
            return Ok(Reply::Bool(removed.is_some()));
        }
        if op.kind() != Some(key.kind) {
            return Err(StateError::Invalid {
                object: key.to_string(),
                message: format!("{op:?} is not an operation on a {}", key.kind),
            });
        }
        let slot = self.slot(key, &op);
        let object = slot.object.lock().unwrap();
        apply(key, &slot, object, op)
    }

    fn update(
        &self,
        key: &Key,
        field: &[u8],
        update: Update<'_>,
    ) -> Result<Option<Vec<u8>>, StateError> {
        let slot = self.slot(key, &Op::MapLen);
        let mut object = slot.object.lock().unwrap();
        let Object::Map(map) = &mut *object else {
            return Err(wrong_object(key));
        };
        let new = update(map.get(field).map(Vec::as_slice))?;
        match &new {
            Some(value) => map.insert(field.to_vec(), value.clone()),
            None => map.remove(field),
        };
        Ok(new)
    }

    fn remove_scope(&self, scope: &str) -> Result<usize, StateError> {
        let mut objects = self.objects.lock().unwrap();
        let before = objects.len();
        objects.retain(|key, _| &*key.scope != scope);
        Ok(before - objects.len())
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }
}

fn apply(
    key: &Key,
    slot: &Slot,
    mut object: MutexGuard<'_, Object>,
    op: Op,
) -> Result<Reply, StateError> {
    let reply = match (&mut *object, op) {
        (Object::Counter(value), Op::CounterGet) => Reply::Int(*value),
        (Object::Counter(value), Op::CounterAdd(delta)) => {
            *value = value
                .checked_add(delta)
                .ok_or_else(|| StateError::Invalid {
                    object: key.to_string(),
                    message: format!("adding {delta} to {value} overflows a 64-bit counter"),
                })?;
            Reply::Int(*value)
        }
        (Object::Counter(value), Op::CounterSet(new)) => Reply::Int(std::mem::replace(value, new)),
        (Object::Counter(value), Op::CounterCompareAndSet { expected, new }) => {
            let before = *value;
            if before == expected {
                *value = new;
            }
            Reply::Int(before)
        }

        (Object::Sum(value), Op::SumGet) => Reply::Float(*value),
        (Object::Sum(value), Op::SumAdd(delta)) => {
            *value += delta;
            Reply::Float(*value)
        }
        (Object::Sum(value), Op::SumSet(new)) => Reply::Float(std::mem::replace(value, new)),

        (Object::Map(map), Op::MapGet(field)) => Reply::Value(map.get(&field).cloned()),
        (Object::Map(map), Op::MapPut(field, value)) => Reply::Value(map.insert(field, value)),
        (Object::Map(map), Op::MapRemove(field)) => Reply::Value(map.remove(&field)),
        (
            Object::Map(map),
            Op::MapCompareAndSet {
                field,
                expected,
                new,
            },
        ) => {
            let before = map.get(&field).cloned();
            if before == expected {
                match new {
                    Some(value) => map.insert(field, value),
                    None => map.remove(&field),
                };
            }
            Reply::Value(before)
        }
        (Object::Map(map), Op::MapLen) => Reply::Int(len(map.len())),
        (Object::Map(map), Op::MapSnapshot) => {
            Reply::Entries(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }

        (Object::List(list), Op::ListAppend(values)) => {
            list.extend(values);
            Reply::Int(len(list.len()))
        }
        (Object::List(list), Op::ListRange { start, end }) => {
            let end = usize::try_from(end).unwrap_or(usize::MAX).min(list.len());
            let start = usize::try_from(start).unwrap_or(usize::MAX).min(end);
            Reply::Values(list[start..end].to_vec())
        }
        (Object::List(list), Op::ListLen) => Reply::Int(len(list.len())),

        (Object::Blob(blob), Op::BlobGet) => Reply::Value(blob.clone()),
        (Object::Blob(_), Op::BlobSet(data)) if data.len() as u64 > MAX_BLOB_LEN => {
            return Err(too_long(key, 0, data.len() as u64));
        }
        (Object::Blob(_), Op::BlobWrite { offset, data })
            if offset.saturating_add(data.len() as u64) > MAX_BLOB_LEN =>
        {
            return Err(too_long(key, offset, data.len() as u64));
        }
        (Object::Blob(blob), Op::BlobSet(data)) => {
            *blob = Some(data);
            Reply::Unit
        }
        (Object::Blob(blob), Op::BlobRead { offset, len }) => {
            let bytes = blob.as_deref().unwrap_or_default();
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let end = start
                .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                .min(bytes.len());
            Reply::Value(Some(bytes[start..end].to_vec()))
        }
        (Object::Blob(blob), Op::BlobWrite { offset, data }) => {
            let start = usize::try_from(offset).map_err(|_| too_far(key, offset))?;
            let end = start
                .checked_add(data.len())
                .ok_or_else(|| too_far(key, offset))?;
            let bytes = blob.get_or_insert_with(Vec::new);
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[start..end].copy_from_slice(&data);
            Reply::Int(len(bytes.len()))
        }
        (Object::Blob(blob), Op::BlobLen) => Reply::Int(len(blob.as_ref().map_or(0, Vec::len))),

        (
            Object::Barrier { parties, .. },
            Op::BarrierWait {
                parties: asked,
                timeout,
            },
        ) => {
            if *parties != asked {
                return Err(mismatch(key, "parties", *parties, asked));
            }
            return barrier_wait(key, slot, object, timeout);
        }

        (Object::Future(value), Op::FutureSet(data)) => {
            if value.is_some() {
                Reply::Bool(false)
            } else {
                *value = Some(data);
                slot.changed.notify_all();
                Reply::Bool(true)
            }
        }
        (Object::Future(value), Op::FutureTryGet) => Reply::Value(value.clone()),
        (Object::Future(_), Op::FutureGet { timeout }) => {
            let value = wait_for(key, slot, object, timeout, |object| match object {
                Object::Future(Some(value)) => Some(value.clone()),
                _ => None,
            })?;
            Reply::Value(Some(value))
        }

        (
            Object::Semaphore { initial, .. },
            op @ (Op::SemaphoreAcquire { .. }
            | Op::SemaphoreTryAcquire { .. }
            | Op::SemaphoreRelease { .. }
            | Op::SemaphoreAvailable { .. }),
        ) => {
            let asked = match op {
                Op::SemaphoreAcquire { initial, .. }
                | Op::SemaphoreTryAcquire { initial, .. }
                | Op::SemaphoreRelease { initial, .. }
                | Op::SemaphoreAvailable { initial } => initial,
                _ => unreachable!("matched above"),
            };
            if *initial != asked {
                return Err(mismatch(key, "permits", *initial, asked));
            }
            return semaphore(key, slot, object, op);
        }

        (
            Object::Latch { count, .. },
            op @ (Op::LatchCountDown { .. } | Op::LatchWait { .. } | Op::LatchCount { .. }),
        ) => {
            let asked = match op {
                Op::LatchCountDown { count }
                | Op::LatchWait { count, .. }
                | Op::LatchCount { count } => count,
                _ => unreachable!("matched above"),
            };
            if *count != asked {
                return Err(mismatch(key, "count", *count, asked));
            }
            return latch(key, slot, object, op);
        }

        _ => return Err(wrong_object(key)),
    };
    Ok(reply)
}

fn barrier_wait(
    key: &Key,
    slot: &Slot,
    mut object: MutexGuard<'_, Object>,
    timeout: Option<Duration>,
) -> Result<Reply, StateError> {
    let Object::Barrier {
        parties,
        arrived,
        round,
    } = &mut *object
    else {
        return Err(wrong_object(key));
    };
    let mine = *round;
    *arrived += 1;
    if *arrived >= *parties {
        *arrived = 0;
        *round += 1;
        slot.changed.notify_all();
        return Ok(Reply::Int(round_number(mine)));
    }
    let waited = wait_for(key, slot, object, timeout, |object| match object {
        Object::Barrier { round, .. } if *round != mine => Some(()),
        _ => None,
    });
    match waited {
        Ok(()) => Ok(Reply::Int(round_number(mine))),
        Err(timeout) => {
            // Withdraw, so that the parties still waiting are not released
            // one short. The guard was given up with the timeout, so the
            // round may have completed in between: then this caller made it.
            let mut object = slot.object.lock().unwrap();
            if let Object::Barrier { arrived, round, .. } = &mut *object {
                if *round != mine {
                    return Ok(Reply::Int(round_number(mine)));
                }
                *arrived -= 1;
            }
            Err(timeout)
        }
    }
}

fn semaphore(
    key: &Key,
    slot: &Slot,
    mut object: MutexGuard<'_, Object>,
    op: Op,
) -> Result<Reply, StateError> {
    let Object::Semaphore { available, .. } = &mut *object else {
        return Err(wrong_object(key));
    };
    match op {
        Op::SemaphoreAvailable { .. } => Ok(Reply::Int(*available)),
        Op::SemaphoreRelease { permits, .. } => {
            *available += i64::from(permits);
            slot.changed.notify_all();
            Ok(Reply::Unit)
        }
        Op::SemaphoreTryAcquire { permits, .. } => {
            let taken = *available >= i64::from(permits);
            if taken {
                *available -= i64::from(permits);
            }
            Ok(Reply::Bool(taken))
        }
        Op::SemaphoreAcquire {
            permits, timeout, ..
        } => {
            let wanted = i64::from(permits);
            wait_for(key, slot, object, timeout, |object| match object {
                Object::Semaphore { available, .. } if *available >= wanted => {
                    *available -= wanted;
                    Some(())
                }
                _ => None,
            })?;
            Ok(Reply::Unit)
        }
        _ => Err(wrong_object(key)),
    }
}

fn latch(
    key: &Key,
    slot: &Slot,
    mut object: MutexGuard<'_, Object>,
    op: Op,
) -> Result<Reply, StateError> {
    let Object::Latch { remaining, .. } = &mut *object else {
        return Err(wrong_object(key));
    };
    match op {
        Op::LatchCount { .. } => Ok(Reply::Int(i64::from(*remaining))),
        Op::LatchCountDown { .. } => {
            if *remaining > 0 {
                *remaining -= 1;
                if *remaining == 0 {
                    slot.changed.notify_all();
                }
            }
            Ok(Reply::Int(i64::from(*remaining)))
        }
        Op::LatchWait { timeout, .. } => {
            wait_for(key, slot, object, timeout, |object| match object {
                Object::Latch { remaining: 0, .. } => Some(()),
                _ => None,
            })?;
            Ok(Reply::Unit)
        }
        _ => Err(wrong_object(key)),
    }
}

/// Sleeps on the object's condition variable until `ready` gives a value
/// or the timeout passes. `ready` runs under the object's lock, so it may
/// change the object (a semaphore takes its permits there).
fn wait_for<T>(
    key: &Key,
    slot: &Slot,
    mut object: MutexGuard<'_, Object>,
    timeout: Option<Duration>,
    mut ready: impl FnMut(&mut Object) -> Option<T>,
) -> Result<T, StateError> {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    loop {
        if let Some(value) = ready(&mut object) {
            return Ok(value);
        }
        object = match deadline {
            None => slot.changed.wait(object).unwrap(),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(StateError::Timeout {
                        object: key.to_string(),
                        after: timeout.unwrap_or_default(),
                    });
                }
                slot.changed.wait_timeout(object, left).unwrap().0
            }
        };
    }
}

fn round_number(round: u64) -> i64 {
    i64::try_from(round).unwrap_or(i64::MAX)
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn too_long(key: &Key, offset: u64, len: u64) -> StateError {
    StateError::Invalid {
        object: key.to_string(),
        message: format!(
            "writing {len} bytes at offset {offset} would pass the {MAX_BLOB_LEN} bytes (512 MiB) \
             a blob may hold; split the data over several blobs"
        ),
    }
}

fn too_far(key: &Key, offset: u64) -> StateError {
    StateError::Invalid {
        object: key.to_string(),
        message: format!("offset {offset} is past what this machine can address"),
    }
}

fn mismatch(key: &Key, what: &str, existing: u32, asked: u32) -> StateError {
    StateError::Mismatch {
        object: key.to_string(),
        message: format!("it was created with {existing} {what}, and this handle asks for {asked}"),
    }
}

fn wrong_object(key: &Key) -> StateError {
    StateError::Backend {
        backend: "memory".to_owned(),
        message: format!("{key} holds an object of another kind"),
    }
}
