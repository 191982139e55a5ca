//! The Redis server a URL names, and how to connect to it: shared by the
//! task queue and by anything else that keeps its data in the same Redis
//! (the shared state of stateful functions).

use std::fmt;
use std::time::Duration;

use redis::{Connection, ErrorKind, RedisError};

use crate::error::{QueueError, redact_url};

/// How long a command other than a blocking read may take before the
/// connection is considered lost.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A Redis server as a URL names it, checked but not yet connected to.
///
/// The URL is `redis://[user[:password]@]host[:port][/db]`, or `rediss://`
/// for TLS. Errors name the server as `host:port`, and [`url`](Self::url)
/// and `Debug` show the URL with its password replaced by `***`.
pub struct RedisServer {
    client: redis::Client,
    /// `host:port`, for error messages.
    addr: String,
    /// The user the URL logs in as, for error messages.
    user: String,
    /// The URL without its password.
    url: String,
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl RedisServer {
    /// Checks `url` and makes a client for it, without connecting.
    pub fn new(url: &str) -> Result<RedisServer, QueueError> {
        let redacted = redact_url(url);
        let invalid = |reason: &str| QueueError::InvalidUrl {
            url: redacted.clone(),
            reason: reason.to_owned(),
        };
        let parsed = url::Url::parse(url).map_err(|_| {
            invalid("expected redis://[user[:password]@]host[:port][/db] or rediss://...")
        })?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err(invalid("the scheme must be redis:// or rediss:// (TLS)"));
        }
        let host = parsed
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| invalid("it names no host"))?;
        let addr = format!("{host}:{}", parsed.port().unwrap_or(6379));
        let user = match parsed.username() {
            "" => "default".to_owned(),
            user => user.to_owned(),
        };
        let client = redis::Client::open(url)
            .map_err(|_| invalid("the Redis client does not accept it (check the port and db)"))?;
        Ok(RedisServer {
            client,
            addr,
            user,
            url: redacted,
        })
    }

    /// Opens a connection, waiting at most `timeout` for the server to
    /// answer and to accept the credentials. Every command on it then times
    /// out after [`COMMAND_TIMEOUT`].
    pub fn connect(&self, timeout: Duration) -> Result<Connection, QueueError> {
        let con = self
            .client
            .get_connection_with_timeout(timeout)
            .map_err(|source| self.connect_error(source))?;
        con.set_read_timeout(Some(COMMAND_TIMEOUT))
            .and_then(|()| con.set_write_timeout(Some(COMMAND_TIMEOUT)))
            .map_err(|source| self.connect_error(source))?;
        Ok(con)
    }

    /// The error for a connection that failed, or for the first command on
    /// a new connection: refused credentials, an unreachable server, or
    /// another failure to connect.
    pub fn connect_error(&self, source: RedisError) -> QueueError {
        if is_auth_error(&source) {
            QueueError::Auth {
                addr: self.addr.clone(),
                user: self.user.clone(),
                source,
            }
        } else if source.is_io_error() || source.is_timeout() {
            QueueError::Unreachable {
                addr: self.addr.clone(),
                source,
            }
        } else {
            QueueError::Redis {
                addr: self.addr.clone(),
                operation: "connect".to_owned(),
                source,
            }
        }
    }

    /// `host:port` of the server.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The URL, its password (if any) replaced by `***`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Whether the server refused the credentials, at connection or at the
/// first command (a server with a password, a URL without one).
fn is_auth_error(error: &RedisError) -> bool {
    error.kind() == ErrorKind::AuthenticationFailed
        || matches!(error.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
}
