use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StateError;
use crate::op::{Op, Reply};
use crate::state::Handle;
use crate::store::unexpected;

/// A map from `K` to `V`. Keys and values are stored as MessagePack, so two
/// handles with different types on the same map see each other's bytes
/// and fail to decode them.
pub struct Map<K, V> {
    handle: Handle,
    types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Map<K, V> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            types: PhantomData,
        }
    }
}

impl<K, V> std::fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl<K, V> Map<K, V>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    pub(crate) fn new(handle: Handle) -> Self {
        Self {
            handle,
            types: PhantomData,
        }
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &K) -> Result<Option<V>, StateError> {
        let field = self.handle.encode(key)?;
        self.decode_option(self.handle.value(Op::MapGet(field))?)
    }

    /// Stores `value` under `key` and returns the previous value.
    pub fn put(&self, key: &K, value: &V) -> Result<Option<V>, StateError> {
        let field = self.handle.encode(key)?;
        let value = self.handle.encode(value)?;
        self.decode_option(self.handle.value(Op::MapPut(field, value))?)
    }

    /// Removes `key` and returns its value.
    pub fn remove(&self, key: &K) -> Result<Option<V>, StateError> {
        let field = self.handle.encode(key)?;
        self.decode_option(self.handle.value(Op::MapRemove(field))?)
    }

    /// Stores `value` under `key` if absent, or else `combine(old, value)`,
    /// atomically, and returns what was stored. With the Redis store,
    /// `combine` runs in this process and may run more than once when
    /// other writers change the key at the same moment.
    pub fn merge(&self, key: K, value: V, combine: impl Fn(V, V) -> V) -> Result<V, StateError>
    where
        V: Clone,
    {
        let stored = self.update(&key, |old| {
            Some(match old {
                Some(old) => combine(old, value.clone()),
                None => value.clone(),
            })
        })?;
        stored.ok_or_else(|| StateError::Backend {
            backend: self.handle.store.describe(),
            message: format!("{}: a merge removed its key", self.handle.key),
        })
    }

    /// Replaces the value of `key` with `update(current)` atomically
    /// (`None` removes it) and returns the new value. `update` may run
    /// more than once, so it must not have side effects.
    pub fn update(
        &self,
        key: &K,
        mut update: impl FnMut(Option<V>) -> Option<V>,
    ) -> Result<Option<V>, StateError> {
        let field = self.handle.encode(key)?;
        let handle = &self.handle;
        let mut step = |current: Option<&[u8]>| -> Result<Option<Vec<u8>>, StateError> {
            let current = current.map(|bytes| handle.decode::<V>(bytes)).transpose()?;
            update(current).map(|new| handle.encode(&new)).transpose()
        };
        let new = self
            .handle
            .store
            .update(&self.handle.key, &field, &mut step)?;
        self.decode_option(new)
    }

    /// Sets `key` to `new` (`None` removes it) if its value is `expected`
    /// (`None`: absent), comparing the encoded bytes; true if it was set.
    pub fn compare_and_set(
        &self,
        key: &K,
        expected: Option<&V>,
        new: Option<&V>,
    ) -> Result<bool, StateError> {
        let field = self.handle.encode(key)?;
        let expected = expected
            .map(|value| self.handle.encode(value))
            .transpose()?;
        let new = new.map(|value| self.handle.encode(value)).transpose()?;
        let before = self.handle.value(Op::MapCompareAndSet {
            field,
            expected: expected.clone(),
            new,
        })?;
        Ok(before == expected)
    }

    /// The number of keys.
    pub fn len(&self) -> Result<usize, StateError> {
        Ok(usize::try_from(self.handle.int(Op::MapLen)?).unwrap_or(0))
    }

    /// True if the map has no keys.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        Ok(self.len()? == 0)
    }

    /// Every key and value at one instant, in the order of their encoded
    /// keys.
    pub fn snapshot(&self) -> Result<Vec<(K, V)>, StateError> {
        match self.handle.apply(Op::MapSnapshot)? {
            Reply::Entries(entries) => entries
                .iter()
                .map(|(key, value)| Ok((self.handle.decode(key)?, self.handle.decode(value)?)))
                .collect(),
            other => Err(unexpected(&self.handle.key, "entries", &other)),
        }
    }

    /// Removes the map; true if it existed.
    pub fn delete(&self) -> Result<bool, StateError> {
        self.handle.delete()
    }

    fn decode_option(&self, bytes: Option<Vec<u8>>) -> Result<Option<V>, StateError> {
        bytes.map(|bytes| self.handle.decode(&bytes)).transpose()
    }
}
