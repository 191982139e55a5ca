//! Shared state for stateful functions: named objects that every task of
//! a job sees, with the same API whichever backend runs the tasks.
//!
//! A [`State`] is a store and a scope. The scope is the job's own
//! (`job/<id>`, removed when the job's executor is dropped) or a named
//! namespace ([`State::namespace`], kept until cleared). From it come
//! typed handles:
//!
//! | handle | what it is |
//! |---|---|
//! | [`Counter`] | atomic i64: add-and-get, compare-and-set |
//! | [`Sum`] | atomic f64 sum |
//! | [`Map`] | map: get, put, remove, merge with a function, snapshot |
//! | [`List`] | append-only list with range reads |
//! | [`Blob`] | bytes, read and written whole or by range |
//! | [`Barrier`] | cyclic barrier for N parties |
//! | [`Promise`] | a future: set once, awaited by many |
//! | [`Semaphore`] | counting semaphore |
//! | [`Latch`] | count-down latch |
//!
//! Every operation is linearizable. Waits (barrier, future, semaphore,
//! latch) are woken by the operation that releases them, never by a
//! polling loop.
//!
//! Backends implement [`Store`]: [`MemoryStore`], the default of the local
//! backend, and [`RedisStore`] for cluster mode. Both pass the same test
//! suite (`tests/suite`).

mod error;
mod memory;
mod objects;
mod op;
mod redis;
mod state;
mod store;

pub use crate::redis::RedisStore;
pub use error::StateError;
pub use memory::MemoryStore;
pub use objects::{Barrier, Blob, Counter, Latch, List, Map, Promise, Semaphore, Sum};
pub use op::{Key, Kind, MAX_BLOB_LEN, Op, Reply};
pub use state::{Interrupt, State};
pub use store::{Store, Update};
