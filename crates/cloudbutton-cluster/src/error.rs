//! The error type of the task queue, and the redaction of Redis URLs.

/// What went wrong with the task queue, and against which Redis server or job.
///
/// Messages name the server as `host:port` and never contain a password:
/// URLs are redacted with [`redact_url`] before they are stored here, and
/// the Redis errors kept as sources carry the server's reply, not the URL.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The Redis URL could not be understood.
    #[error("invalid Redis URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL, its password replaced by `***`.
        url: String,
        /// Why it was rejected, and what would be accepted.
        reason: String,
    },

    /// No connection could be made to the server.
    #[error(
        "cannot reach Redis at {addr}: {source}; check that redis-server runs there and \
         accepts connections from this host"
    )]
    Unreachable {
        /// `host:port` of the server.
        addr: String,
        /// The connection error.
        source: redis::RedisError,
    },

    /// The server refused the user name or password given in the URL.
    #[error(
        "Redis at {addr} refused user `{user}`: the password is wrong or missing, or the user \
         is disabled or lacks a permission; check the user and password in the Redis URL"
    )]
    Auth {
        /// `host:port` of the server.
        addr: String,
        /// The user name from the URL (`default` if it gave none).
        user: String,
        /// The server's reply.
        source: redis::RedisError,
    },

    /// A command failed after the connection was made.
    #[error("Redis at {addr} failed to {operation}: {source}")]
    Redis {
        /// `host:port` of the server.
        addr: String,
        /// What the queue was doing, e.g. `submit the tasks of job j1`.
        operation: String,
        /// The error reported by the client or the server.
        source: redis::RedisError,
    },

    /// The server answered something the queue did not write.
    #[error("unexpected data from Redis at {addr}: {what}")]
    Malformed {
        /// `host:port` of the server.
        addr: String,
        /// What was wrong, and in which key.
        what: String,
    },

    /// The job has no keys in Redis.
    #[error("no job {job} in Redis: it was never submitted, or its keys expired")]
    UnknownJob {
        /// The job id.
        job: String,
    },

    /// A job id was refused.
    #[error("invalid job id `{id}`: {reason}")]
    InvalidJobId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A queue setting was refused.
    #[error("invalid task queue setting: {0}")]
    InvalidConfig(String),
}

impl QueueError {
    /// Whether the same call may succeed later on a new connection: the
    /// server could not be reached or dropped the connection, or it is
    /// still loading its data after a restart, or it lost the consumer
    /// group (a restart without persistence; connecting creates it again).
    pub fn is_transient(&self) -> bool {
        match self {
            QueueError::Unreachable { .. } => true,
            QueueError::Redis { source, .. } => {
                source.kind() == redis::ErrorKind::BusyLoadingError
                    || matches!(
                        source.code(),
                        Some("LOADING" | "MASTERDOWN" | "TRYAGAIN" | "NOGROUP")
                    )
            }
            _ => false,
        }
    }
}

/// `url` with its password, if any, replaced by `***`; safe to show.
///
/// ```
/// use cloudbutton_cluster::redact_url;
///
/// assert_eq!(redact_url("redis://app:s3cret@db:6379/0"), "redis://app:***@db:6379/0");
/// assert_eq!(redact_url("redis://db"), "redis://db");
/// ```
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("***")).is_ok() {
                return parsed.to_string();
            }
            if parsed.password().is_none() {
                return parsed.to_string();
            }
            hide_userinfo(url)
        }
        Err(_) => hide_userinfo(url),
    }
}

/// Replaces everything before the last `@` of the authority by `***`, for
/// URLs too broken to parse.
fn hide_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        for (url, expected) in [
            (
                "redis://:hunter2@127.0.0.1:6379",
                "redis://:***@127.0.0.1:6379",
            ),
            (
                "rediss://ops:hunter2@cache.example:6380/2",
                "rediss://ops:***@cache.example:6380/2",
            ),
            ("redis://ops@127.0.0.1", "redis://ops@127.0.0.1"),
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://ops:hunter2@[bad", "redis://***@[bad"),
            ("not a url:hunter2@x", "***@x"),
        ] {
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }

    #[test]
    fn errors_never_show_the_password() {
        let error = QueueError::InvalidUrl {
            url: redact_url("redis://ops:hunter2@[bad"),
            reason: "it does not parse".to_owned(),
        };
        assert!(!error.to_string().contains("hunter2"));
        assert!(!format!("{error:?}").contains("hunter2"));
    }
}
