//! What only the Redis store has to get right: connecting, the key layout
//! and its lifetimes, waits woken across connections, and sums that add up
//! exactly as in memory. Against the server whose URL is in
//! `CLOUDBUTTON_TEST_REDIS_URL`, which `scripts/test.sh` starts.
//!
//! Every test works in scopes of its own, so the tests can run in parallel
//! on one server.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use cloudbutton_state::{Key, Kind, MemoryStore, Op, RedisStore, Reply, State, StateError, Store};

fn redis_url() -> String {
    std::env::var("CLOUDBUTTON_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "CLOUDBUTTON_TEST_REDIS_URL is not set: run the tests with scripts/test.sh, or start \
             a server first with `eval \"$(scripts/redis-test-server.sh start)\"`"
        )
    })
}

fn store() -> Arc<RedisStore> {
    Arc::new(RedisStore::connect(&redis_url()).unwrap())
}

/// A fresh job scope on its own store (and so its own connections).
fn job() -> State {
    State::for_job(store())
}

/// The same scope as `state`, on another store: another client, as a task
/// on another machine would be.
fn elsewhere(state: &State) -> State {
    State::attach(store(), state.scope()).unwrap()
}

/// A connection of the test's own, to look at the keys.
fn raw() -> redis::Connection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn keys_of(scope: &str) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("cb:state:{scope}:*"))
        .query(&mut raw())
        .unwrap();
    keys.sort();
    keys
}

/// How long a woken waiter may take to notice: far less than the 30 s a
/// waiter blocks before it looks again by itself.
const PROMPTLY: Duration = Duration::from_secs(2);

#[test]
fn connecting_to_nowhere_fails_fast_and_names_the_url_without_the_password() {
    let started = Instant::now();
    let error = RedisStore::connect("redis://app:hunter2@127.0.0.1:1/0").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));

    let message = error.to_string();
    assert!(matches!(error, StateError::Backend { .. }), "{error:?}");
    assert!(
        message.contains("redis://app:***@127.0.0.1:1/0"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{error:?}").contains("hunter2"));

    let error = RedisStore::connect("http://app:hunter2@127.0.0.1").unwrap_err();
    assert!(error.to_string().contains("redis://"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn a_wrong_password_is_refused_at_connect() {
    let user = format!("cb-state-test-{}", std::process::id());
    let mut admin = raw();
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(">right-password")
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .exec(&mut admin)
        .unwrap();

    let url = redis_url();
    let (scheme, host) = url.split_once("://").unwrap();
    let wrong = format!("{scheme}://{user}:wrong-password@{host}");
    let right = format!("{scheme}://{user}:right-password@{host}");
    let error = RedisStore::connect(&wrong).unwrap_err();
    let message = error.to_string();
    let store = RedisStore::connect(&right);
    redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .exec(&mut admin)
        .unwrap();

    assert!(message.contains(&format!("{user}:***@")), "{message}");
    assert!(message.contains("refused user"), "{message}");
    assert!(!message.contains("wrong-password"), "{message}");
    let store = store.unwrap();
    assert!(!store.describe().contains("right-password"));
    assert!(!format!("{store:?}").contains("right-password"));
}

#[test]
fn removing_a_scope_removes_its_keys_and_only_those() {
    let state = job();
    let kept = state.namespace(&format!("kept-{}", rand_id())).unwrap();
    // Names with glob characters and colons in a scope that must survive.
    let tricky = kept.counter("job:*[x]?");
    tricky.add(1).unwrap();

    state.counter("c").add(1).unwrap();
    state.sum("s").add(0.5).unwrap();
    state.map::<u8, u8>("m").put(&1, &2).unwrap();
    state.list::<u8>("l").append(&1).unwrap();
    state.blob("b").set(b"x").unwrap();
    state.barrier("one", 1).wait().unwrap();
    state.future::<u8>("f").set(&7).unwrap();
    state.latch("open", 1).count_down().unwrap();
    state.semaphore("sem", 2).acquire(1).unwrap();
    assert!(
        keys_of(state.scope()).len() > 9,
        "{:?}",
        keys_of(state.scope())
    );

    assert_eq!(state.clear().unwrap(), 9);
    assert_eq!(keys_of(state.scope()), Vec::<String>::new());
    assert_eq!(state.clear().unwrap(), 0);
    assert_eq!(tricky.get().unwrap(), 1);
    assert_eq!(kept.clear().unwrap(), 1);
}

#[test]
fn names_may_hold_anything() {
    let state = job();
    let names = ["a:b", "counter:x", "x.wake:y", "*", "[a-z]", "é ü\n", ""];
    for (i, name) in names.iter().enumerate() {
        state.counter(name).add(i as i64 + 1).unwrap();
        state.latch(name, 1).count_down().unwrap();
    }
    for (i, name) in names.iter().enumerate() {
        assert_eq!(state.counter(name).get().unwrap(), i as i64 + 1, "{name:?}");
        state.latch(name, 1).wait().unwrap();
    }
    assert_eq!(state.clear().unwrap(), 2 * names.len());
}

#[test]
fn job_keys_expire_and_namespace_keys_do_not() {
    let state = job();
    let named = state.namespace(&format!("ttl-{}", rand_id())).unwrap();
    for scope in [&state, &named] {
        scope.counter("c").add(1).unwrap();
        scope.map::<u8, u8>("m").put(&1, &1).unwrap();
        scope
            .barrier("b", 2)
            .wait_timeout(Duration::ZERO)
            .unwrap_err();
        scope.future::<u8>("f").set(&1).unwrap();
        scope.latch("l", 0).count().unwrap();
    }

    let day = 24 * 60 * 60 * 1000;
    let mut con = raw();
    for key in keys_of(state.scope()) {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut con).unwrap();
        assert!(ttl > day - 60_000 && ttl <= day, "{key}: {ttl} ms");
    }
    for key in keys_of(named.scope()) {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut con).unwrap();
        assert_eq!(ttl, -1, "{key}");
    }
    assert_eq!(
        keys_of(state.scope()).len(),
        6,
        "{:?}",
        keys_of(state.scope())
    );
    named.clear().unwrap();
    state.clear().unwrap();
}

#[test]
fn a_barrier_releases_parties_on_other_connections() {
    let state = job();
    let other = elsewhere(&state);
    let waiter = thread::spawn(move || other.barrier("b", 2).wait());
    thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    assert_eq!(state.barrier("b", 2).wait().unwrap(), 0);
    assert_eq!(waiter.join().unwrap().unwrap(), 0);
    assert!(started.elapsed() < PROMPTLY);

    // The next round starts afresh, whoever comes first.
    let other = elsewhere(&state);
    let waiter = thread::spawn(move || other.barrier("b", 2).wait());
    assert_eq!(state.barrier("b", 2).wait().unwrap(), 1);
    assert_eq!(waiter.join().unwrap().unwrap(), 1);
    assert!(matches!(
        state.barrier("b", 3).wait(),
        Err(StateError::Mismatch { .. })
    ));
    state.clear().unwrap();
}

#[test]
fn many_waiters_on_one_barrier_all_go_through() {
    let state = job();
    let parties = 8;
    let waiters: Vec<_> = (0..parties - 1)
        .map(|_| {
            let other = elsewhere(&state);
            thread::spawn(move || {
                let barrier = other.barrier("b", parties);
                (barrier.wait().unwrap(), barrier.wait().unwrap())
            })
        })
        .collect();
    let barrier = state.barrier("b", parties);
    assert_eq!((barrier.wait().unwrap(), barrier.wait().unwrap()), (0, 1));
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), (0, 1));
    }
    state.clear().unwrap();
}

#[test]
fn a_barrier_waiter_that_times_out_withdraws() {
    let state = job();
    let barrier = state.barrier("b", 2);
    let error = barrier
        .wait_timeout(Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error}");

    // Had it stayed, this caller would complete the round alone.
    let error = barrier
        .wait_timeout(Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error}");

    let other = elsewhere(&state);
    let waiter = thread::spawn(move || other.barrier("b", 2).wait_timeout(Duration::from_secs(10)));
    assert_eq!(barrier.wait().unwrap(), 0);
    assert_eq!(waiter.join().unwrap().unwrap(), 0);
    state.clear().unwrap();
}

#[test]
fn a_future_wakes_its_waiters_on_other_connections() {
    let state = job();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let other = elsewhere(&state);
            thread::spawn(move || {
                let value = other.future::<String>("f").get();
                (value, Instant::now())
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));

    let future = state.future::<String>("f");
    let set_at = Instant::now();
    assert!(future.set(&"done".to_owned()).unwrap());
    assert!(!future.set(&"again".to_owned()).unwrap());
    for waiter in waiters {
        let (value, woken_at) = waiter.join().unwrap();
        assert_eq!(value.unwrap(), "done");
        assert!(woken_at.duration_since(set_at) < PROMPTLY);
    }
    // Later waiters see it at once.
    assert_eq!(
        elsewhere(&state)
            .future::<String>("f")
            .get_timeout(Duration::ZERO)
            .unwrap(),
        "done"
    );

    let error = state
        .future::<u8>("never")
        .get_timeout(Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error}");
    state.clear().unwrap();
}

#[test]
fn a_latch_opens_for_waiters_on_other_connections() {
    let state = job();
    let other = elsewhere(&state);
    let waiter = thread::spawn(move || {
        other.latch("l", 2).wait()?;
        Ok::<_, StateError>(Instant::now())
    });
    thread::sleep(Duration::from_millis(200));

    let latch = state.latch("l", 2);
    assert_eq!(latch.count_down().unwrap(), 1);
    thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished());
    assert_eq!(latch.count_down().unwrap(), 0);
    let opened_at = Instant::now();
    assert!(waiter.join().unwrap().unwrap().duration_since(opened_at) < PROMPTLY);
    assert_eq!(latch.count_down().unwrap(), 0);
    assert!(matches!(
        state.latch("l", 3).count(),
        Err(StateError::Mismatch { .. })
    ));
    state.clear().unwrap();
}

#[test]
fn a_semaphore_release_wakes_an_acquirer_on_another_connection() {
    let state = job();
    let semaphore = state.semaphore("s", 1);
    semaphore.acquire(1).unwrap();

    let other = elsewhere(&state);
    let waiter = thread::spawn(move || {
        other.semaphore("s", 1).acquire(2)?;
        Ok::<_, StateError>(Instant::now())
    });
    thread::sleep(Duration::from_millis(200));
    semaphore.release(1).unwrap();
    thread::sleep(Duration::from_millis(200));
    assert!(!waiter.is_finished(), "2 permits taken while 1 was free");

    semaphore.release(1).unwrap();
    let released_at = Instant::now();
    assert!(waiter.join().unwrap().unwrap().duration_since(released_at) < PROMPTLY);
    assert_eq!(semaphore.available().unwrap(), 0);

    let error = semaphore
        .acquire_timeout(1, Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error}");
    assert_eq!(semaphore.available().unwrap(), 0);
    assert!(matches!(
        state.semaphore("s", 2).available(),
        Err(StateError::Mismatch { .. })
    ));
    state.clear().unwrap();
}

#[test]
fn contended_semaphore_never_lends_more_than_it_has() {
    let state = job();
    let permits = 2;
    let inside = state.counter("inside");
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let other = elsewhere(&state);
            thread::spawn(move || {
                let semaphore = other.semaphore("s", permits);
                let inside = other.counter("inside");
                let mut most = 0;
                for _ in 0..20 {
                    semaphore.acquire(1).unwrap();
                    most = most.max(inside.add(1).unwrap());
                    inside.add(-1).unwrap();
                    semaphore.release(1).unwrap();
                }
                most
            })
        })
        .collect();
    for worker in workers {
        assert!(worker.join().unwrap() <= i64::from(permits));
    }
    assert_eq!(inside.get().unwrap(), 0);
    assert_eq!(
        state.semaphore("s", permits).available().unwrap(),
        i64::from(permits)
    );
    state.clear().unwrap();
}

#[test]
fn a_waiter_does_not_bring_back_what_was_deleted() {
    let state = job();
    let other = elsewhere(&state);
    let semaphore = state.semaphore("s", 0);
    let latch = state.latch("l", 1);
    assert_eq!(semaphore.available().unwrap(), 0);
    assert_eq!(latch.count().unwrap(), 1);

    let patience = Duration::from_millis(300);
    let acquirer = {
        let other = other.clone();
        thread::spawn(move || other.semaphore("s", 0).acquire_timeout(1, patience))
    };
    let opener = thread::spawn(move || other.latch("l", 1).wait_timeout(patience));
    thread::sleep(Duration::from_millis(100));
    assert!(semaphore.delete().unwrap());
    assert!(latch.delete().unwrap());

    let (acquired, opened) = (acquirer.join().unwrap(), opener.join().unwrap());
    assert!(
        matches!(acquired, Err(StateError::Timeout { .. })),
        "{acquired:?}"
    );
    assert!(
        matches!(opened, Err(StateError::Timeout { .. })),
        "{opened:?}"
    );
    assert_eq!(keys_of(state.scope()), Vec::<String>::new());
}

#[test]
fn sums_add_up_bit_for_bit_as_in_memory() {
    let redis = store();
    let memory = MemoryStore::new();
    let key = Key {
        scope: Arc::from(format!("job/{}", rand_id())),
        kind: Kind::Sum,
        name: Arc::from("total"),
    };

    // Values whose sum depends on the order and rounding of every step.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut deltas = vec![
        0.1, 0.2, 0.3, 1e16, 1.0, -1e16, 5e-324, -0.0, 1e-300, 3.0e10,
    ];
    for _ in 0..500 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let magnitude = 10_f64.powi((seed % 40) as i32 - 20);
        let fraction = (seed >> 11) as f64 / (1_u64 << 53) as f64;
        let sign = if seed & 1 == 0 { 1.0 } else { -1.0 };
        deltas.push(sign * fraction * magnitude);
    }

    for delta in deltas {
        let op = Op::SumAdd(delta);
        let (Reply::Float(in_memory), Reply::Float(in_redis)) = (
            memory.apply(&key, op.clone()).unwrap(),
            redis.apply(&key, op).unwrap(),
        ) else {
            panic!("a sum answers a float")
        };
        assert_eq!(
            in_redis.to_bits(),
            in_memory.to_bits(),
            "after adding {delta:e}"
        );
    }
    assert_eq!(
        redis.apply(&key, Op::SumGet).unwrap(),
        memory.apply(&key, Op::SumGet).unwrap()
    );

    // Values that are not finite go through too.
    for op in [
        Op::SumSet(-0.0),
        Op::SumAdd(f64::INFINITY),
        Op::SumAdd(1.0),
        Op::SumSet(f64::MIN_POSITIVE),
        Op::SumAdd(f64::MAX),
        Op::SumAdd(f64::MAX),
    ] {
        assert_eq!(
            redis.apply(&key, op.clone()).unwrap(),
            memory.apply(&key, op).unwrap()
        );
    }
    let Reply::Float(nan) = redis.apply(&key, Op::SumAdd(f64::NEG_INFINITY)).unwrap() else {
        panic!("a sum answers a float")
    };
    assert!(nan.is_nan());
    redis.remove_scope(&key.scope).unwrap();
}

#[test]
fn a_counter_that_would_overflow_is_an_error_naming_it() {
    let state = job();
    let counter = state.counter("big");
    counter.set(i64::MAX - 1).unwrap();
    assert_eq!(counter.add(1).unwrap(), i64::MAX);
    let error = counter.add(1).unwrap_err();
    assert!(matches!(error, StateError::Invalid { .. }), "{error:?}");
    assert!(error.to_string().contains("`big`"), "{error}");
    assert_eq!(counter.get().unwrap(), i64::MAX);
    assert!(counter.compare_and_set(i64::MAX, i64::MIN).unwrap());
    assert_eq!(counter.get().unwrap(), i64::MIN);
    state.clear().unwrap();
}

#[test]
fn the_store_describes_itself_by_its_url() {
    let store = store();
    assert_eq!(store.describe(), redis_url().trim_end_matches('/'));
}

/// An id no other test run uses.
fn rand_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}
