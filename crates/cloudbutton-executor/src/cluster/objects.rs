//! The shared objects of cluster jobs live in the Redis server that holds
//! the queue. Drivers, workers and the programs workers start all reach it
//! through a [`RedisObjects`], which connects on first use: a job that
//! never touches a shared object costs no connection.

use std::sync::{Arc, Mutex};

use cloudbutton_cluster::redact_url;
use cloudbutton_state::{Key, Op, RedisStore, Reply, StateError, Store, Update};

/// Set by a worker, to its Redis URL, in the environment of a program it
/// starts, so that the program's tasks reach the same shared objects.
pub(crate) const STATE_URL_VAR: &str = "CLOUDBUTTON_STATE_URL";

/// A [`RedisStore`] opened on first use, and again after a failed attempt.
pub(crate) struct RedisObjects {
    url: Option<String>,
    store: Mutex<Option<Arc<RedisStore>>>,
}

impl RedisObjects {
    /// Objects in the server at `url`; with `None`, every use fails and
    /// says why.
    pub(crate) fn new(url: Option<String>) -> Self {
        Self {
            url,
            store: Mutex::new(None),
        }
    }

    fn store(&self) -> Result<Arc<RedisStore>, StateError> {
        let mut store = self.store.lock().unwrap();
        if let Some(store) = &*store {
            return Ok(store.clone());
        }
        let Some(url) = &self.url else {
            return Err(StateError::Backend {
                backend: "redis".to_owned(),
                message: "no Redis URL is known here, so shared objects are out of reach"
                    .to_owned(),
            });
        };
        let connected = Arc::new(RedisStore::connect(url)?);
        *store = Some(connected.clone());
        Ok(connected)
    }
}

impl std::fmt::Debug for RedisObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Store for RedisObjects {
    fn apply(&self, key: &Key, op: Op) -> Result<Reply, StateError> {
        self.store()?.apply(key, op)
    }

    fn update(
        &self,
        key: &Key,
        field: &[u8],
        update: Update<'_>,
    ) -> Result<Option<Vec<u8>>, StateError> {
        self.store()?.update(key, field, update)
    }

    fn remove_scope(&self, scope: &str) -> Result<usize, StateError> {
        // Workers may have made objects even if this process never did.
        self.store()?.remove_scope(scope)
    }

    fn describe(&self) -> String {
        self.url
            .as_deref()
            .map_or_else(|| "redis (no URL)".to_owned(), redact_url)
    }
}
