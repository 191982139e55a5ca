//! The Redis store: shared objects that tasks on many machines see, kept
//! in the Redis server that already holds the cluster's task queue.
//!
//! # Objects
//!
//! Each object is one Redis value under `cb:state:SCOPE:KIND:NAME` (the
//! layout, and the auxiliary keys beside it, are in `keys.rs`):
//!
//! | kind | Redis value |
//! |---|---|
//! | counter | string, changed with `INCRBY` |
//! | sum | string with 17 significant digits, added to in Lua (IEEE doubles) |
//! | map | hash, binary fields; snapshots with `HGETALL`, sorted by field |
//! | list | list, `RPUSH` and `LRANGE` |
//! | blob | string, `GETRANGE` and `SETRANGE` |
//! | barrier | hash: parties, arrived, round |
//! | future | string, set with `SET NX` |
//! | semaphore | hash: initial, available permits, and who waits |
//! | latch | hash: count, remaining |
//!
//! An operation that is not a single command is a Lua script (`scripts.rs`),
//! so every operation is atomic. Scripts build the keys of a barrier's
//! rounds and a semaphore's releases themselves, so the store needs a
//! single Redis server (or a primary with replicas), not Redis Cluster;
//! and Redis 6.2 or later, for `BLMOVE` and `SET ... GET`, which
//! connecting checks.
//!
//! # Waiting
//!
//! Waits are woken by the operation that releases them, through wake
//! lists that waiters block on. The script that releases waiters pushes
//! tokens on the list in the same step as it changes the object, so a
//! token pushed before its waiter blocks is never lost:
//!
//! - A future or a latch has one wake list, which gets one token when the
//!   object opens and keeps it. Waiters block with `BLMOVE list list`,
//!   which moves the token from one end of the list to the other: it
//!   wakes every waiter, and any that comes later.
//! - A barrier has a wake list per round, and a semaphore one per release
//!   that found waiters. The script that completes the round (or
//!   releases) pushes a token for each caller waiting then, and each
//!   waiter takes one with `BLPOP`, so the list is gone once all are
//!   awake. Tokens left by waiters that gave up or died expire with their
//!   list, 10 minutes later.
//!
//! A woken waiter looks at the object again before it returns, so a stale
//! token costs it one more look and nothing else. A waiter also looks
//! again after blocking for 30 seconds without a token, which bounds the
//! cost of a token that expired before its waiter got to it.
//!
//! Each wait blocks a connection: the store keeps a pool, and an operation
//! takes a connection of its own for as long as it runs.
//!
//! # Lifetime
//!
//! Keys of a job's scope (`job/...`) expire 24 hours after the last write
//! to them, so that the objects of a driver that died without clearing
//! its scope do not stay forever; a job that runs longer must write to an
//! object within every 24 hours to keep it. Keys of a named namespace
//! (`ns/...`) never expire.
//!
//! # Differences from the memory store
//!
//! - Reading an object that was never written (a counter's value, a
//!   map's field, a future awaited but not set) creates nothing, and a map
//!   whose last field was removed is gone: such objects do not count in
//!   [`Store::remove_scope`], and deleting them answers false. Barriers,
//!   semaphores and latches are created by any operation, as in memory.
//! - Objects of a job's scope that nothing wrote to for 24 hours are gone.
//! - A blob holds at most 512 MiB, Redis's limit for a string.
//! - Removing a scope is not atomic: an object created in the scope while
//!   it is being removed may stay.
//! - A waiter blocked on an object that is deleted and then created again
//!   is woken by the new object.

mod keys;
mod pool;
mod scripts;
mod values;
mod waits;

use std::fmt;

use ::redis::{
    Cmd, Connection, FromRedisValue, Pipeline, RedisError, RedisResult, Script, ScriptInvocation,
};
use cloudbutton_cluster::{QueueError, RedisServer, redact_url};
use tracing::debug;

use crate::error::StateError;
use crate::op::{Key, Kind, Op, Reply};
use crate::store::Store;
use pool::{Lease, Pool};
use scripts::Scripts;

/// The oldest Redis this store works with: `BLMOVE` and `SET ... GET` came
/// in 6.2.
const MIN_VERSION: (u32, u32) = (6, 2);

/// How many keys `remove_scope` asks `SCAN` for at a time.
const SCAN_COUNT: usize = 1000;

/// Shared objects in a Redis server, for tasks that run on many machines.
///
/// Objects live under `cb:state:SCOPE:KIND:NAME`. Those of a job's scope
/// expire 24 hours after their last write, so that a driver that dies
/// leaves nothing behind for long; those of a named namespace never
/// expire. Every operation is a single command or a Lua script, so it is
/// atomic; waits block on lists that the releasing operation pushes to,
/// and each waiting call holds a pooled connection of its own. Needs
/// Redis 6.2 or later, as a single server (or a primary with replicas),
/// not Redis Cluster.
///
/// ```no_run
/// use std::sync::Arc;
/// use cloudbutton_state::{RedisStore, State};
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379")?;
/// let state = State::for_job(Arc::new(store));
/// assert_eq!(state.counter("hits").add(1)?, 1);
/// # Ok::<(), cloudbutton_state::StateError>(())
/// ```
pub struct RedisStore {
    pool: Pool,
    scripts: Scripts,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.pool.server().url())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url`:
    /// `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for
    /// TLS. Fails at once, with an error that names the URL without its
    /// password, if the server cannot be reached, refuses the credentials,
    /// or is older than Redis 6.2.
    pub fn connect(url: &str) -> Result<RedisStore, StateError> {
        let unusable = |error: QueueError| StateError::Backend {
            backend: redact_url(url),
            message: error.to_string(),
        };
        let server = RedisServer::new(url).map_err(unusable)?;
        let store = RedisStore {
            pool: Pool::new(server),
            scripts: Scripts::new(),
        };
        store.check_server()?;
        debug!(url = %store.pool.server().url(), "connected to the Redis state store");
        Ok(store)
    }

    /// Pings the server, so that wrong credentials show now rather than at
    /// the first operation, and checks its version.
    fn check_server(&self) -> Result<(), StateError> {
        let server = self.pool.server();
        let unusable = |message: String| StateError::Backend {
            backend: server.url().to_owned(),
            message,
        };
        let mut lease = self
            .pool
            .get()
            .map_err(|error| unusable(error.to_string()))?;
        let info: String = lease
            .run(|con| {
                ::redis::cmd("PING").query::<()>(con)?;
                ::redis::cmd("INFO").arg("server").query(con)
            })
            .map_err(|error| unusable(server.connect_error(error).to_string()))?;

        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map(str::trim);
        if let Some((major, minor)) = version.and_then(parse_version)
            && (major, minor) < MIN_VERSION
        {
            return Err(unusable(format!(
                "Redis at {} is version {}, and the state store needs {}.{} or later",
                server.addr(),
                version.unwrap_or_default(),
                MIN_VERSION.0,
                MIN_VERSION.1,
            )));
        }
        Ok(())
    }

    /// An operation on `key`, with a connection of its own.
    fn call<'a>(&'a self, key: &'a Key) -> Result<Call<'a>, StateError> {
        let lease = self.pool.get().map_err(|error| StateError::Backend {
            backend: self.pool.server().url().to_owned(),
            message: format!("{key}: {error}"),
        })?;
        Ok(Call {
            key,
            object: keys::object(key),
            ttl: keys::ttl_millis(&key.scope),
            scripts: &self.scripts,
            lease,
            backend: self.pool.server().url(),
        })
    }
}

impl Store for RedisStore {
    fn apply(&self, key: &Key, op: Op) -> Result<Reply, StateError> {
        if !matches!(op, Op::Delete) && op.kind() != Some(key.kind) {
            return Err(StateError::Invalid {
                object: key.to_string(),
                message: format!("{op:?} is not an operation on a {}", key.kind),
            });
        }
        let mut call = self.call(key)?;
        if matches!(op, Op::Delete) {
            return delete(&mut call);
        }
        match key.kind {
            Kind::Counter | Kind::Sum | Kind::Map | Kind::List | Kind::Blob => {
                values::apply(&mut call, op)
            }
            Kind::Barrier | Kind::Future | Kind::Semaphore | Kind::Latch => {
                waits::apply(&mut call, op)
            }
        }
    }

    fn remove_scope(&self, scope: &str) -> Result<usize, StateError> {
        let server = self.pool.server();
        let failed = |error: String| StateError::Backend {
            backend: server.url().to_owned(),
            message: format!("cannot remove scope {scope}: {error}"),
        };
        let mut lease = self.pool.get().map_err(|error| failed(error.to_string()))?;

        // SCAN may return a key twice: count what UNLINK removed, not what
        // SCAN found.
        let pattern = keys::scope_pattern(scope);
        let mut cursor = 0_u64;
        let mut removed = 0;
        loop {
            let (next, found): (u64, Vec<Vec<u8>>) = lease
                .run(|con| {
                    ::redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query(con)
                })
                .map_err(|error| failed(error.to_string()))?;
            let (objects, auxiliary): (Vec<_>, Vec<_>) = found
                .into_iter()
                .partition(|redis_key| keys::is_object(scope, redis_key));
            for (batch, counted) in [(objects, true), (auxiliary, false)] {
                if batch.is_empty() {
                    continue;
                }
                let unlinked: usize = lease
                    .run(|con| ::redis::cmd("UNLINK").arg(&batch).query(con))
                    .map_err(|error| failed(error.to_string()))?;
                if counted {
                    removed += unlinked;
                }
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    fn describe(&self) -> String {
        self.pool.server().url().to_owned()
    }
}

/// One operation in progress: the object, its Redis key, and the
/// connection it runs on.
struct Call<'a> {
    key: &'a Key,
    /// The object's own Redis key.
    object: String,
    /// How long the keys written live, in milliseconds; `None`: forever.
    ttl: Option<u64>,
    scripts: &'a Scripts,
    lease: Lease<'a>,
    /// The server's URL without its password, for errors.
    backend: &'a str,
}

impl Call<'_> {
    /// Runs commands on the connection.
    fn run<T>(
        &mut self,
        commands: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StateError> {
        self.lease.run(commands).map_err(|error| self.error(error))
    }

    /// Runs one command.
    fn query<T: FromRedisValue>(&mut self, command: &Cmd) -> Result<T, StateError> {
        self.run(|con| command.query(con))
    }

    /// Runs the command that `command` adds, one that writes the object,
    /// and refreshes the object's time-to-live.
    fn write<T: FromRedisValue>(&mut self, command: impl FnOnce(&mut Pipeline)) -> RedisResult<T> {
        let mut pipe = ::redis::pipe();
        command(&mut pipe);
        if let Some(ttl) = self.ttl {
            pipe.pexpire(&self.object, ttl as i64).ignore();
        }
        let (value,): (T,) = self.lease.run(|con| pipe.query(con))?;
        Ok(value)
    }

    /// `script` with the object's key as `KEYS[1]` and the time-to-live
    /// as `ARGV[1]`, as every script expects; the caller adds the rest.
    fn prepare<'s>(&self, script: &'s Script) -> ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        invocation.key(&self.object).arg(self.ttl.unwrap_or(0));
        invocation
    }

    /// Runs a script, leaving its errors to the caller.
    fn invoke_raw<T: FromRedisValue>(
        &mut self,
        invocation: &ScriptInvocation<'_>,
    ) -> RedisResult<T> {
        self.lease.run(|con| invocation.invoke(con))
    }

    /// Runs a script.
    fn invoke<T: FromRedisValue>(
        &mut self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StateError> {
        self.invoke_raw(invocation)
            .map_err(|error| self.error(error))
    }

    /// The error for a command on this object that failed.
    fn error(&self, source: RedisError) -> StateError {
        StateError::Backend {
            backend: self.backend.to_owned(),
            message: format!("{}: {source}", self.key),
        }
    }

    /// The error for a stored value that is not what this store writes.
    fn malformed(&self, expected: &'static str, found: &[u8]) -> StateError {
        StateError::Decode {
            object: self.key.to_string(),
            expected,
            message: format!("Redis holds {:?}", String::from_utf8_lossy(found)),
        }
    }
}

/// Deletes the object and its wake lists.
fn delete(call: &mut Call<'_>) -> Result<Reply, StateError> {
    let (prefix, suffix) = keys::wake_round_parts(call.key);
    let mut invocation = call.prepare(&call.scripts.delete);
    match call.key.kind {
        Kind::Future | Kind::Latch => {
            invocation.key(keys::wake(call.key)).arg("");
        }
        Kind::Barrier => {
            invocation.arg("round");
        }
        Kind::Semaphore => {
            invocation.arg("gen");
        }
        Kind::Counter | Kind::Sum | Kind::Map | Kind::List | Kind::Blob => {
            invocation.arg("");
        }
    }
    invocation.arg(prefix).arg(suffix);
    let existed: i64 = call.invoke(&invocation)?;
    Ok(Reply::Bool(existed == 1))
}

/// `major.minor` of a version such as `7.0.15`.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert_eq!(parse_version("7.0.15"), Some((7, 0)));
        assert!(parse_version("6.0.16").unwrap() < MIN_VERSION);
        assert!(parse_version("6.2.0").unwrap() >= MIN_VERSION);
        assert_eq!(parse_version("unknown"), None);
    }
}
