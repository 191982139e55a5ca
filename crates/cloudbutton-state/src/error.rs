//! What can go wrong with a shared object.

use std::time::Duration;

/// An operation on a shared object that did not happen. Every variant names
/// the object, as `kind `name` in scope`.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A waiting operation (a barrier, a future, a semaphore, a latch) ran
    /// out of time. Nothing it would have changed was changed.
    #[error("{object}: still waiting after {}", humanize(*after))]
    Timeout { object: String, after: Duration },

    /// A wait given up because the task should stop: its job was
    /// cancelled or it ran past its timeout (see `State::with_interrupt`).
    #[error("{object}: stopped waiting: {reason}")]
    Interrupted {
        object: String,
        reason: &'static str,
    },

    /// Two handles disagree on how the object was made: a barrier opened
    /// for 4 parties and then for 3, a latch created with two counts.
    #[error("{object}: {message}")]
    Mismatch { object: String, message: String },

    /// A stored value that does not decode as the type the handle asked for.
    #[error("{object}: the stored value is not a {expected}: {message}")]
    Decode {
        object: String,
        expected: &'static str,
        message: String,
    },

    /// A value that could not be encoded for storage.
    #[error("{object}: cannot encode the value: {message}")]
    Encode { object: String, message: String },

    /// An argument that the operation cannot take, such as a range that
    /// ends before it starts or a counter that would overflow.
    #[error("{object}: {message}")]
    Invalid { object: String, message: String },

    /// A scope or object name that cannot be used.
    #[error("invalid {what} `{name}`: {message}")]
    Name {
        what: &'static str,
        name: String,
        message: String,
    },

    /// The backend itself failed: the server is unreachable, refused the
    /// credentials, or answered something unexpected. `backend` never
    /// holds a password.
    #[error("state backend {backend}: {message}")]
    Backend { backend: String, message: String },
}

fn humanize(after: Duration) -> String {
    if after.as_secs() >= 1 {
        format!("{:.1} s", after.as_secs_f64())
    } else {
        format!("{} ms", after.as_millis())
    }
}
