//! The connections of a Redis store. An operation takes one for as long as
//! it runs, a waiting one too, so callers on many threads never queue
//! behind each other's waits; a connection that failed is dropped rather
//! than given back, and one that sat idle for a while is pinged before it
//! is used again, in case the server closed it or restarted meanwhile.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ::redis::{Connection, ConnectionLike, RedisError, RedisResult};
use cloudbutton_cluster::{COMMAND_TIMEOUT, QueueError, RedisServer};

/// How long to wait for a new connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most idle connections kept open; more are closed when given back.
const MAX_IDLE: usize = 16;

/// How long a connection may sit idle before it is pinged on its next use.
const STALE_AFTER: Duration = Duration::from_secs(30);

/// Idle connections to one server, and the server to open more.
pub(super) struct Pool {
    server: RedisServer,
    /// Connections given back, and when.
    idle: Mutex<Vec<(Connection, Instant)>>,
}

impl Pool {
    pub(super) fn new(server: RedisServer) -> Self {
        Pool {
            server,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The server the connections go to.
    pub(super) fn server(&self) -> &RedisServer {
        &self.server
    }

    /// An idle connection that still works, or a new one.
    pub(super) fn get(&self) -> Result<Lease<'_>, QueueError> {
        let con = loop {
            let idle = self.idle.lock().unwrap().pop();
            let Some((mut con, since)) = idle else {
                break self.server.connect(CONNECT_TIMEOUT)?;
            };
            if since.elapsed() < STALE_AFTER || ::redis::cmd("PING").exec(&mut con).is_ok() {
                break con;
            }
        };
        Ok(Lease {
            pool: self,
            con: Some(con),
            broken: false,
        })
    }
}

/// A connection taken from the pool, given back when dropped unless a
/// command on it failed for a reason that may have left it unusable.
pub(super) struct Lease<'a> {
    pool: &'a Pool,
    con: Option<Connection>,
    broken: bool,
}

impl Lease<'_> {
    /// Runs commands on the connection.
    pub(super) fn run<T>(
        &mut self,
        commands: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let con = self.con.as_mut().expect("a lease holds its connection");
        let result = commands(con);
        if let Err(error) = &result {
            self.broken |= is_fatal(error);
        }
        result
    }

    /// Runs a command that may block on the server for up to `block`,
    /// with a read timeout that covers it.
    pub(super) fn run_blocking<T>(
        &mut self,
        block: Duration,
        commands: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> RedisResult<T> {
        self.run(|con| {
            con.set_read_timeout(Some(block.saturating_add(COMMAND_TIMEOUT)))?;
            let result = commands(con);
            con.set_read_timeout(Some(COMMAND_TIMEOUT))?;
            result
        })
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(con) = self.con.take() else { return };
        if self.broken || !con.is_open() {
            return;
        }
        let mut idle = self.pool.idle.lock().unwrap();
        if idle.len() < MAX_IDLE {
            idle.push((con, Instant::now()));
        }
    }
}

/// Whether an error may have left the connection out of step with the
/// server (a reply still to come) or closed.
fn is_fatal(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
}
