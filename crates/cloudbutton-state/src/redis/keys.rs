//! Where shared objects live in Redis, and for how long.
//!
//! An object's own key is `cb:state:SCOPE:KIND:NAME`. Its auxiliary keys,
//! the wake lists its waiters block on, put their tag in the kind segment:
//! `cb:state:SCOPE:KIND.wake:NAME` for a future's or a latch's, and
//! `cb:state:SCOPE:KIND.wake.N:NAME` for round (or release) `N` of a
//! barrier or a semaphore. A scope holds no `:` (its names are letters,
//! digits and `._-/`), so the first two colons after `cb:state:` always
//! end the scope and the kind: a name, which may hold anything, can never
//! make one object's key equal to another's, nor to an auxiliary key.
//! Every key of a scope starts with `cb:state:SCOPE:`, which is what
//! removing a scope scans for.

use std::time::Duration;

use crate::op::Key;

/// What every key of the shared state starts with.
const PREFIX: &str = "cb:state:";

/// How long the keys of a job scope outlive their last write, so that the
/// objects of a driver that died without removing its scope go away.
pub(super) const JOB_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The key of the object itself.
pub(super) fn object(key: &Key) -> String {
    format!("{PREFIX}{}:{}:{}", key.scope, key.kind, key.name)
}

/// The wake list of a future or a latch, which holds a token from the
/// moment the object opens.
pub(super) fn wake(key: &Key) -> String {
    format!("{PREFIX}{}:{}.wake:{}", key.scope, key.kind, key.name)
}

/// The wake list of round (or release) `round` of a barrier or a
/// semaphore, split around the round number, so that a script can build
/// the key of the round it is in: `prefix .. round .. suffix`.
pub(super) fn wake_round_parts(key: &Key) -> (String, String) {
    (
        format!("{PREFIX}{}:{}.wake.", key.scope, key.kind),
        format!(":{}", key.name),
    )
}

/// The wake list of round (or release) `round` of a barrier or a
/// semaphore, as [`wake_round_parts`] makes it.
pub(super) fn wake_round(key: &Key, round: &str) -> String {
    let (prefix, suffix) = wake_round_parts(key);
    format!("{prefix}{round}{suffix}")
}

/// The `SCAN MATCH` pattern for every key of `scope`.
pub(super) fn scope_pattern(scope: &str) -> String {
    let mut pattern = String::with_capacity(PREFIX.len() + scope.len() + 2);
    for c in PREFIX.chars().chain(scope.chars()) {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(":*");
    pattern
}

/// Whether `redis_key`, a key of `scope`, is an object's own key rather
/// than an auxiliary one: its kind segment holds no `.`.
pub(super) fn is_object(scope: &str, redis_key: &[u8]) -> bool {
    let start = PREFIX.len() + scope.len() + 1;
    let rest = redis_key.get(start..).unwrap_or_default();
    let kind = rest.split(|&b| b == b':').next().unwrap_or_default();
    !kind.is_empty() && !kind.contains(&b'.')
}

/// How long the keys of `scope` live after a write, in milliseconds:
/// [`JOB_TTL`] for a job's scope, forever for a named namespace.
pub(super) fn ttl_millis(scope: &str) -> Option<u64> {
    scope
        .starts_with("job/")
        .then(|| JOB_TTL.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::op::Kind;

    fn key(kind: Kind, name: &str) -> Key {
        Key {
            scope: Arc::from("job/00ff"),
            kind,
            name: Arc::from(name),
        }
    }

    #[test]
    fn names_cannot_collide_with_auxiliary_keys() {
        let latch = key(Kind::Latch, "x");
        let tricky = key(Kind::Latch, "x.wake:x");
        assert_eq!(object(&latch), "cb:state:job/00ff:latch:x");
        assert_eq!(wake(&latch), "cb:state:job/00ff:latch.wake:x");
        assert_ne!(object(&tricky), wake(&latch));

        let barrier = key(Kind::Barrier, "b:wake:3");
        assert_eq!(
            wake_round(&barrier, "3"),
            "cb:state:job/00ff:barrier.wake.3:b:wake:3"
        );
        assert!(is_object("job/00ff", object(&barrier).as_bytes()));
        assert!(!is_object("job/00ff", wake_round(&barrier, "3").as_bytes()));
        assert!(!is_object("job/00ff", wake(&latch).as_bytes()));
        assert!(is_object("job/00ff", object(&tricky).as_bytes()));
    }

    #[test]
    fn scope_patterns_escape_glob_characters() {
        assert_eq!(scope_pattern("ns/a.b"), "cb:state:ns/a.b:*");
        assert_eq!(
            scope_pattern("ns/a*[b]?\\"),
            "cb:state:ns/a\\*\\[b\\]\\?\\\\:*"
        );
    }

    #[test]
    fn only_job_scopes_expire() {
        assert_eq!(ttl_millis("job/1"), Some(86_400_000));
        assert_eq!(ttl_millis("ns/job/1"), None);
    }
}
