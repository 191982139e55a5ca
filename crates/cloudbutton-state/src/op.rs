//! The operations a store applies: one enum for every object kind, so that
//! each backend implements a single `apply` and every caller (typed
//! handles, WebAssembly host calls) speaks the same language.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The longest a blob may grow, on every store: what one Redis string can
/// hold. A write past it is refused, so that a stray offset cannot make a
/// store allocate terabytes.
pub const MAX_BLOB_LEN: u64 = 512 * 1024 * 1024;

/// The kinds of shared object. An object is named by its scope, kind and
/// name together, so a counter and a map may share a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Counter,
    Sum,
    Map,
    List,
    Blob,
    Barrier,
    Future,
    Semaphore,
    Latch,
}

impl Kind {
    /// The kind's name, as it appears in errors and in Redis keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Sum => "sum",
            Kind::Map => "map",
            Kind::List => "list",
            Kind::Blob => "blob",
            Kind::Barrier => "barrier",
            Kind::Future => "future",
            Kind::Semaphore => "semaphore",
            Kind::Latch => "latch",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which object an operation is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// `job/<id>` for objects that live as long as their job, `ns/<name>`
    /// for named ones.
    pub scope: Arc<str>,
    pub kind: Kind,
    pub name: Arc<str>,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}` in {}", self.kind, self.name, self.scope)
    }
}

/// One operation on one object. An object that does not exist yet is
/// created by its first operation, from the parameters that operation
/// carries (a barrier's parties, a semaphore's permits, a latch's count),
/// and reads of an absent object see its empty value (0, an empty map, no
/// value).
///
/// Every operation is atomic and linearizable. The waiting ones (`*Wait`,
/// `FutureGet`, `SemaphoreAcquire`) block until they are woken by the
/// operation that lets them through, or until their timeout.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Counter: the value. Reply `Int`.
    CounterGet,
    /// Counter: add, reply `Int` with the new value.
    CounterAdd(i64),
    /// Counter: set, reply `Int` with the previous value.
    CounterSet(i64),
    /// Counter: set to `new` if the value is `expected`; reply `Int` with
    /// the value before, which equals `expected` exactly when it was set.
    CounterCompareAndSet { expected: i64, new: i64 },

    /// Sum: the value. Reply `Float`.
    SumGet,
    /// Sum: add (IEEE addition in the order applied), reply `Float` with
    /// the new value.
    SumAdd(f64),
    /// Sum: set, reply `Float` with the previous value.
    SumSet(f64),

    /// Map: the field's value. Reply `Value`.
    MapGet(Vec<u8>),
    /// Map: store a field, reply `Value` with the previous value.
    MapPut(Vec<u8>, Vec<u8>),
    /// Map: remove a field, reply `Value` with the removed value.
    MapRemove(Vec<u8>),
    /// Map: set the field to `new` (`None` removes it) if its value is
    /// `expected` (`None`: absent); reply `Value` with the value before,
    /// which equals `expected` exactly when it was changed.
    MapCompareAndSet {
        field: Vec<u8>,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    },
    /// Map: the number of fields. Reply `Int`.
    MapLen,
    /// Map: every field and value at one instant, sorted by field. Reply
    /// `Entries`.
    MapSnapshot,

    /// List: append values, reply `Int` with the new length.
    ListAppend(Vec<Vec<u8>>),
    /// List: the values at positions `start..end` (clamped to the length).
    /// Reply `Values`.
    ListRange { start: u64, end: u64 },
    /// List: the length. Reply `Int`.
    ListLen,

    /// Blob: the whole value, `None` if never written. Reply `Value`.
    BlobGet,
    /// Blob: replace the whole value. Reply `Unit`.
    BlobSet(Vec<u8>),
    /// Blob: up to `len` bytes from `offset` (fewer past the end). Reply
    /// `Value` (`Some`, possibly empty).
    BlobRead { offset: u64, len: u64 },
    /// Blob: write at `offset`, filling any gap before it with zeros;
    /// reply `Int` with the new length.
    BlobWrite { offset: u64, data: Vec<u8> },
    /// Blob: the length. Reply `Int`.
    BlobLen,

    /// Barrier: wait until `parties` callers have arrived, then release
    /// them all and start the next round. Reply `Int` with the round that
    /// was completed, from 0.
    BarrierWait {
        parties: u32,
        timeout: Option<Duration>,
    },

    /// Future: set the value if it has none. Reply `Bool`, true when this
    /// call set it.
    FutureSet(Vec<u8>),
    /// Future: wait for the value. Reply `Value` (always `Some`).
    FutureGet { timeout: Option<Duration> },
    /// Future: the value if set, without waiting. Reply `Value`.
    FutureTryGet,

    /// Semaphore created with `initial` permits: take `permits`, waiting
    /// until they are available. Reply `Unit`.
    SemaphoreAcquire {
        permits: u32,
        initial: u32,
        timeout: Option<Duration>,
    },
    /// Semaphore: take `permits` if available now. Reply `Bool`.
    SemaphoreTryAcquire { permits: u32, initial: u32 },
    /// Semaphore: give back `permits`. Reply `Unit`.
    SemaphoreRelease { permits: u32, initial: u32 },
    /// Semaphore: the permits available now. Reply `Int`.
    SemaphoreAvailable { initial: u32 },

    /// Latch created with `count`: count down by one (not below 0). Reply
    /// `Int` with the count left.
    LatchCountDown { count: u32 },
    /// Latch: wait until the count reaches 0. Reply `Unit`.
    LatchWait {
        count: u32,
        timeout: Option<Duration>,
    },
    /// Latch: the count left. Reply `Int`.
    LatchCount { count: u32 },

    /// Any kind: remove the object. Reply `Bool`, true if it existed.
    /// Callers waiting on it are not woken.
    Delete,
}

impl Op {
    /// The kind of object this operation applies to, or `None` for
    /// `Delete`, which applies to any.
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Op::CounterGet
            | Op::CounterAdd(_)
            | Op::CounterSet(_)
            | Op::CounterCompareAndSet { .. } => Kind::Counter,
            Op::SumGet | Op::SumAdd(_) | Op::SumSet(_) => Kind::Sum,
            Op::MapGet(_)
            | Op::MapPut(..)
            | Op::MapRemove(_)
            | Op::MapCompareAndSet { .. }
            | Op::MapLen
            | Op::MapSnapshot => Kind::Map,
            Op::ListAppend(_) | Op::ListRange { .. } | Op::ListLen => Kind::List,
            Op::BlobGet
            | Op::BlobSet(_)
            | Op::BlobRead { .. }
            | Op::BlobWrite { .. }
            | Op::BlobLen => Kind::Blob,
            Op::BarrierWait { .. } => Kind::Barrier,
            Op::FutureSet(_) | Op::FutureGet { .. } | Op::FutureTryGet => Kind::Future,
            Op::SemaphoreAcquire { .. }
            | Op::SemaphoreTryAcquire { .. }
            | Op::SemaphoreRelease { .. }
            | Op::SemaphoreAvailable { .. } => Kind::Semaphore,
            Op::LatchCountDown { .. } | Op::LatchWait { .. } | Op::LatchCount { .. } => Kind::Latch,
            Op::Delete => return None,
        })
    }
}

/// What an operation answers; each [`Op`] says which variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Value(Option<Vec<u8>>),
    Values(Vec<Vec<u8>>),
    Entries(Vec<(Vec<u8>, Vec<u8>)>),
}
