//! [`State`]: a store and a scope, from which typed handles are made.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StateError;
use crate::memory::MemoryStore;
use crate::objects::{Barrier, Blob, Counter, Latch, List, Map, Promise, Semaphore, Sum};
use crate::op::{Key, Kind};
use crate::store::Store;

/// The shared objects of one scope: a job's own (removed with the job), or
/// a named namespace's (kept until removed).
///
/// Cloning is cheap; clones see the same objects.
///
/// ```
/// use cloudbutton_state::State;
///
/// let state = State::in_memory();
/// let hits = state.counter("hits");
/// assert_eq!(hits.add(2)?, 2);
/// let totals = state.map::<String, u64>("totals");
/// totals.merge("a".to_owned(), 3, |old, new| old + new)?;
/// totals.merge("a".to_owned(), 4, |old, new| old + new)?;
/// assert_eq!(totals.get(&"a".to_owned())?, Some(7));
/// # Ok::<(), cloudbutton_state::StateError>(())
/// ```
#[derive(Clone)]
pub struct State {
    store: Arc<dyn Store>,
    scope: Arc<str>,
    interrupt: Option<Interrupt>,
}

/// Tells a waiting handle why it should give up, if it should: see
/// [`State::with_interrupt`].
pub type Interrupt = Arc<dyn Fn() -> Option<&'static str> + Send + Sync>;

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("store", &self.store.describe())
            .field("scope", &self.scope)
            .finish()
    }
}

impl State {
    /// A fresh job scope in a fresh in-memory store: for tests and for
    /// programs that run every task in this process.
    pub fn in_memory() -> Self {
        Self::for_job(Arc::new(MemoryStore::new()))
    }

    /// A new job scope, `job/<random id>`, in `store`.
    pub fn for_job(store: Arc<dyn Store>) -> Self {
        let id: u64 = rand::random();
        Self {
            store,
            scope: format!("job/{id:016x}").into(),
            interrupt: None,
        }
    }

    /// The scope `scope` in `store`, as another process named it (a worker
    /// joins its driver's job scope this way).
    pub fn attach(store: Arc<dyn Store>, scope: &str) -> Result<Self, StateError> {
        let valid = scope
            .strip_prefix("job/")
            .or_else(|| scope.strip_prefix("ns/"))
            .is_some_and(|rest| check_name("scope", rest).is_ok());
        if !valid {
            return Err(StateError::Name {
                what: "scope",
                name: scope.to_owned(),
                message: "a scope is `job/ID` or `ns/NAME`".to_owned(),
            });
        }
        Ok(Self {
            store,
            scope: scope.into(),
            interrupt: None,
        })
    }

    /// The named namespace `name` in the same store. Its objects outlive
    /// the job: they stay until [`clear`](Self::clear) is called on it.
    /// Names are letters, digits and `._-/`.
    pub fn namespace(&self, name: &str) -> Result<Self, StateError> {
        check_name("namespace", name)?;
        Ok(Self {
            store: self.store.clone(),
            scope: format!("ns/{name}").into(),
            interrupt: self.interrupt.clone(),
        })
    }

    /// The same scope, whose handles' waits also end when `interrupt`
    /// gives a reason: they wake at least once a second to ask it, and
    /// then fail with [`StateError::Interrupted`]. A task's state has one
    /// that reports a cancelled job or a task past its timeout, so that a
    /// task waiting at a barrier for a party that will never come ends with
    /// its job.
    pub fn with_interrupt(&self, interrupt: Interrupt) -> Self {
        Self {
            interrupt: Some(interrupt),
            ..self.clone()
        }
    }

    /// The scope, such as `job/3f0c9a1e52b7d804` or `ns/models`.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The store behind this scope.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Removes every object of this scope and returns how many there were.
    /// Callers waiting on them are not woken.
    pub fn clear(&self) -> Result<usize, StateError> {
        self.store.remove_scope(&self.scope)
    }

    /// An atomic 64-bit integer, 0 until changed.
    pub fn counter(&self, name: &str) -> Counter {
        Counter::new(self.key(Kind::Counter, name))
    }

    /// An atomic f64 sum, 0.0 until changed.
    pub fn sum(&self, name: &str) -> Sum {
        Sum::new(self.key(Kind::Sum, name))
    }

    /// A map from `K` to `V`, both stored as MessagePack.
    pub fn map<K, V>(&self, name: &str) -> Map<K, V>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        Map::new(self.key(Kind::Map, name))
    }

    /// An append-only list of `T`, stored as MessagePack.
    pub fn list<T>(&self, name: &str) -> List<T>
    where
        T: Serialize + DeserializeOwned,
    {
        List::new(self.key(Kind::List, name))
    }

    /// Bytes, read and written whole or by range.
    pub fn blob(&self, name: &str) -> Blob {
        Blob::new(self.key(Kind::Blob, name))
    }

    /// A cyclic barrier for `parties` callers. Every handle on the same
    /// barrier must give the same number.
    pub fn barrier(&self, name: &str, parties: u32) -> Barrier {
        Barrier::new(self.key(Kind::Barrier, name), parties)
    }

    /// A value set once and awaited by many.
    pub fn future<T>(&self, name: &str) -> Promise<T>
    where
        T: Serialize + DeserializeOwned,
    {
        Promise::new(self.key(Kind::Future, name))
    }

    /// A counting semaphore that starts with `permits`.
    pub fn semaphore(&self, name: &str, permits: u32) -> Semaphore {
        Semaphore::new(self.key(Kind::Semaphore, name), permits)
    }

    /// A count-down latch that opens once counted down `count` times.
    pub fn latch(&self, name: &str, count: u32) -> Latch {
        Latch::new(self.key(Kind::Latch, name), count)
    }

    fn key(&self, kind: Kind, name: &str) -> Handle {
        Handle {
            store: self.store.clone(),
            interrupt: self.interrupt.clone(),
            key: Key {
                scope: self.scope.clone(),
                kind,
                name: name.into(),
            },
        }
    }
}

/// What every typed handle holds: the store and the object's key.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: Key,
    pub(crate) interrupt: Option<Interrupt>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), StateError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(StateError::Name {
            what,
            name: name.to_owned(),
            message: "use letters, digits and `._-/`".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_take_only_plain_names() {
        let state = State::in_memory();
        assert_eq!(
            state.namespace("models/v1").unwrap().scope(),
            "ns/models/v1"
        );
        for bad in ["", "a:b", "a*", "a b", "a[1]"] {
            let error = state.namespace(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn attach_accepts_only_job_and_namespace_scopes() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        assert!(State::attach(store.clone(), "job/0011").is_ok());
        assert!(State::attach(store.clone(), "ns/x").is_ok());
        assert!(State::attach(store.clone(), "other/x").is_err());
        assert!(State::attach(store, "job/a:b").is_err());
    }

    #[test]
    fn clearing_a_scope_leaves_the_others() {
        let job = State::in_memory();
        let named = job.namespace("kept").unwrap();
        job.counter("c").add(1).unwrap();
        job.map::<u8, u8>("m").put(&1, &2).unwrap();
        named.counter("c").add(5).unwrap();

        assert_eq!(job.clear().unwrap(), 2);
        assert_eq!(job.counter("c").get().unwrap(), 0);
        assert_eq!(named.counter("c").get().unwrap(), 5);
    }
}
