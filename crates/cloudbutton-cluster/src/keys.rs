//! How the queue names its Redis keys, and how it turns durations into the
//! milliseconds Redis wants. Pure: nothing here talks to Redis.
//!
//! Every key starts with the queue's namespace, so that several deployments
//! (or several test runs) can share one Redis without seeing each other's
//! tasks:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `NS:tasks` | stream, group `workers` | one entry per task to run, of every job |
//! | `NS:workers` | hash | worker name → `SLOTS EXPIRES_MS`, refreshed while it runs |
//! | `NS:job:ID:meta` | hash | `submitted`, `committed`, `duplicates`, `cancelled` |
//! | `NS:job:ID:input` | hash | task index → input bytes, until the task commits |
//! | `NS:job:ID:attempts` | hash | task index → number of deliveries so far |
//! | `NS:job:ID:done` | hash | task index → attempt that committed first |
//! | `NS:job:ID:results` | stream | one entry per committed task, in commit order |
//!
//! The five `job` keys carry a time-to-live; `NS:tasks` is shared by all jobs
//! and lives on, but its entries are deleted as their tasks commit, and
//! entries of expired or cancelled jobs are dropped by the first worker that
//! receives them. `NS:workers` holds one small field per live worker; a field
//! past its expiry is removed by the next reader.

use std::fmt;
use std::time::Duration;

use crate::error::QueueError;

/// The consumer group of the task stream that every worker joins.
pub(crate) const GROUP: &str = "workers";

/// The longest job id or namespace accepted.
const MAX_NAME_LEN: usize = 128;

/// The identifier of a job, unique within a queue's namespace.
///
/// One to 128 characters among ASCII letters, digits, `-`, `_` and `.`, so
/// that it can go into a key name, a log line or a file name unquoted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    /// Checks `id` and wraps it.
    ///
    /// ```
    /// use cloudbutton_cluster::JobId;
    ///
    /// assert_eq!(JobId::new("wordcount-1").unwrap().as_str(), "wordcount-1");
    /// assert!(JobId::new("two words").is_err());
    /// ```
    pub fn new(id: impl Into<String>) -> Result<JobId, QueueError> {
        let id = id.into();
        match check_name(&id) {
            Ok(()) => Ok(JobId(id)),
            Err(reason) => Err(QueueError::InvalidJobId { id, reason }),
        }
    }

    /// A fresh id, unique with overwhelming probability: the time in
    /// milliseconds and 64 random bits, e.g. `j1764790000000-9f3a...`.
    pub fn generate() -> JobId {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        JobId(format!("j{millis}-{:016x}", rand::random::<u64>()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why `name` cannot be a job id or namespace, if it cannot.
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("it is longer than 128 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("only ASCII letters, digits, `-`, `_` and `.` are allowed");
    }
    Ok(())
}

/// The key names of one queue namespace.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    namespace: String,
}

impl Keys {
    /// Key names under `namespace`, which [`check_name`] must accept.
    pub(crate) fn new(namespace: &str) -> Keys {
        Keys {
            namespace: namespace.to_owned(),
        }
    }

    /// The stream of tasks shared by every job of the namespace.
    pub(crate) fn tasks(&self) -> String {
        format!("{}:tasks", self.namespace)
    }

    /// The hash of live workers.
    pub(crate) fn workers(&self) -> String {
        format!("{}:workers", self.namespace)
    }

    /// What every job key starts with: `NS:job:`. The Lua scripts that
    /// find a job in a stream entry add the id and the suffixes of
    /// [`JobKeys`] themselves.
    pub(crate) fn job_prefix(&self) -> String {
        format!("{}:job:", self.namespace)
    }

    /// The keys of one job.
    pub(crate) fn job(&self, job: &JobId) -> JobKeys {
        let prefix = format!("{}{}", self.job_prefix(), job);
        JobKeys {
            meta: format!("{prefix}:meta"),
            input: format!("{prefix}:input"),
            attempts: format!("{prefix}:attempts"),
            done: format!("{prefix}:done"),
            results: format!("{prefix}:results"),
        }
    }
}

/// The keys of one job; see the module doc for what each holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JobKeys {
    pub(crate) meta: String,
    pub(crate) input: String,
    pub(crate) attempts: String,
    pub(crate) done: String,
    pub(crate) results: String,
}

impl JobKeys {
    /// Every key, in the order the Lua scripts expect them as `KEYS`.
    pub(crate) fn all(&self) -> [&str; 5] {
        [
            &self.meta,
            &self.input,
            &self.attempts,
            &self.done,
            &self.results,
        ]
    }
}

/// A duration in whole milliseconds, rounded up so that a nonzero duration
/// never becomes zero (which Redis reads as "no limit" for `BLOCK`).
pub(crate) fn millis(duration: Duration) -> u64 {
    let nanos = duration.as_nanos();
    u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// The `BLOCK` argument for waiting up to `block`: `None` for zero, which
/// means "do not wait" here but "wait forever" to Redis.
pub(crate) fn block_millis(block: Duration) -> Option<u64> {
    (!block.is_zero()).then(|| millis(block))
}

/// Checks a time-to-live: keys must expire, and Redis counts in milliseconds.
pub(crate) fn ttl_millis(ttl: Duration) -> Result<u64, QueueError> {
    if ttl < Duration::from_millis(1) {
        return Err(QueueError::InvalidConfig(format!(
            "the time-to-live of job keys must be at least 1 ms, not {ttl:?}"
        )));
    }
    Ok(millis(ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_checked() {
        for good in ["a", "job-1", "wordcount_2026.12.03", &"x".repeat(128)] {
            assert_eq!(JobId::new(good).unwrap().as_str(), good);
        }
        for (bad, why) in [
            ("", "empty"),
            ("a b", "only ASCII"),
            ("a:b", "only ASCII"),
            ("a*", "only ASCII"),
            ("é", "only ASCII"),
            (&"x".repeat(129), "longer than 128"),
        ] {
            let error = JobId::new(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn generated_job_ids_are_valid_and_distinct() {
        let a = JobId::generate();
        let b = JobId::generate();
        assert_ne!(a, b);
        assert_eq!(JobId::new(a.as_str()).unwrap(), a);
    }

    #[test]
    fn keys_are_namespaced_per_job() {
        let keys = Keys::new("cb");
        assert_eq!(keys.tasks(), "cb:tasks");
        assert_eq!(keys.workers(), "cb:workers");
        let job = keys.job(&JobId::new("j7").unwrap());
        assert_eq!(
            job.all(),
            [
                "cb:job:j7:meta",
                "cb:job:j7:input",
                "cb:job:j7:attempts",
                "cb:job:j7:done",
                "cb:job:j7:results",
            ]
        );
        let other = Keys::new("cb").job(&JobId::new("j70").unwrap());
        assert!(job.all().iter().all(|key| !other.all().contains(key)));
    }

    #[test]
    fn durations_round_up_to_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_nanos(1)), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 2);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }

    #[test]
    fn zero_block_means_no_wait() {
        assert_eq!(block_millis(Duration::ZERO), None);
        assert_eq!(block_millis(Duration::from_micros(10)), Some(1));
        assert_eq!(block_millis(Duration::from_millis(250)), Some(250));
    }

    #[test]
    fn ttls_must_be_positive() {
        assert_eq!(ttl_millis(Duration::from_secs(86_400)).unwrap(), 86_400_000);
        assert!(ttl_millis(Duration::ZERO).is_err());
        assert!(ttl_millis(Duration::from_micros(999)).is_err());
    }
}
