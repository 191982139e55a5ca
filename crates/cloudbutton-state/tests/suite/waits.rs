//! Barriers, futures, semaphores and latches: who waits, who is let
//! through, and when.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread;
use std::time::Duration;

use cloudbutton_state::{State, StateError};

const PATIENCE: Duration = Duration::from_secs(30);

pub fn barrier_holds_every_round(state: &State) {
    const PARTIES: u32 = 6;
    const ROUNDS: u64 = 15;
    let threads: Vec<_> = (0..PARTIES)
        .map(|_| {
            let state = state.clone();
            thread::spawn(move || {
                let arrivals = state.counter("arrivals");
                let barrier = state.barrier("b", PARTIES);
                for round in 0..ROUNDS {
                    arrivals.increment().unwrap();
                    assert_eq!(barrier.wait_timeout(PATIENCE).unwrap(), round);
                    // Nobody leaves a round before every party arrived at it.
                    let seen = arrivals.get().unwrap();
                    assert!(
                        seen >= ((round + 1) * u64::from(PARTIES)) as i64,
                        "{seen} in round {round}"
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

pub fn barrier_timeout_withdraws(state: &State) {
    let barrier = state.barrier("lonely", 2);
    let error = barrier
        .wait_timeout(Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error:?}");
    assert!(error.to_string().contains("barrier `lonely`"), "{error}");

    // The caller that gave up is not counted: two more are needed, and
    // one alone still waits.
    let error = barrier
        .wait_timeout(Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error:?}");
    let other = {
        let barrier = barrier.clone();
        thread::spawn(move || barrier.wait_timeout(PATIENCE).unwrap())
    };
    assert_eq!(barrier.wait_timeout(PATIENCE).unwrap(), 0);
    assert_eq!(other.join().unwrap(), 0);
}

pub fn barrier_parties_must_agree(state: &State) {
    let first = state.barrier("b", 1);
    assert_eq!(first.wait().unwrap(), 0);
    assert_eq!(first.wait().unwrap(), 1);
    let error = state.barrier("b", 3).wait_timeout(PATIENCE).unwrap_err();
    assert!(matches!(error, StateError::Mismatch { .. }), "{error:?}");
    assert!(error.to_string().contains("barrier `b`"), "{error}");
}

pub fn future_wakes_every_waiter(state: &State) {
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let future = state.future::<Vec<String>>("result");
            thread::spawn(move || future.get_timeout(PATIENCE).unwrap())
        })
        .collect();
    let future = state.future::<Vec<String>>("result");
    assert_eq!(future.try_get().unwrap(), None);
    thread::sleep(Duration::from_millis(50));

    let value = vec!["done".to_owned()];
    assert!(future.set(&value).unwrap());
    assert!(!future.set(&vec!["again".to_owned()]).unwrap());
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), value);
    }
    assert_eq!(future.get().unwrap(), value);
    assert_eq!(future.try_get().unwrap(), Some(value));
}

pub fn future_timeout_names_it(state: &State) {
    let error = state
        .future::<u8>("never")
        .get_timeout(Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error:?}");
    assert!(error.to_string().contains("future `never`"), "{error}");
}

pub fn semaphore_bounds_concurrency(state: &State) {
    const PERMITS: u32 = 2;
    let inside = Arc::new(AtomicI64::new(0));
    let most = Arc::new(AtomicI64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let semaphore = state.semaphore("slots", PERMITS);
            let (inside, most) = (inside.clone(), most.clone());
            thread::spawn(move || {
                for _ in 0..5 {
                    semaphore.acquire_timeout(1, PATIENCE).unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(2));
                    inside.fetch_sub(1, Ordering::SeqCst);
                    semaphore.release(1).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), i64::from(PERMITS));
    assert_eq!(state.semaphore("slots", PERMITS).available().unwrap(), 2);
}

pub fn semaphore_try_and_timeout(state: &State) {
    let semaphore = state.semaphore("s", 3);
    assert!(semaphore.try_acquire(2).unwrap());
    assert!(!semaphore.try_acquire(2).unwrap());
    assert_eq!(semaphore.available().unwrap(), 1);
    let error = semaphore
        .acquire_timeout(2, Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(error, StateError::Timeout { .. }), "{error:?}");
    assert_eq!(
        semaphore.available().unwrap(),
        1,
        "a timed-out acquire takes nothing"
    );

    // A waiter for 3 is woken once enough come back.
    let waiter = {
        let semaphore = semaphore.clone();
        thread::spawn(move || semaphore.acquire_timeout(3, PATIENCE))
    };
    thread::sleep(Duration::from_millis(50));
    semaphore.release(2).unwrap();
    waiter.join().unwrap().unwrap();
    assert_eq!(semaphore.available().unwrap(), 0);

    let error = state.semaphore("s", 4).available().unwrap_err();
    assert!(matches!(error, StateError::Mismatch { .. }), "{error:?}");
}

pub fn latch_opens_at_zero(state: &State) {
    let latch = state.latch("ready", 3);
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let latch = latch.clone();
            thread::spawn(move || latch.wait_timeout(PATIENCE))
        })
        .collect();
    let error = latch.wait_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(error.to_string().contains("latch `ready`"), "{error}");

    assert_eq!(latch.count_down().unwrap(), 2);
    assert_eq!(latch.count_down().unwrap(), 1);
    assert_eq!(latch.count().unwrap(), 1);
    assert_eq!(latch.count_down().unwrap(), 0);
    assert_eq!(
        latch.count_down().unwrap(),
        0,
        "a latch does not count below 0"
    );
    for waiter in waiters {
        waiter.join().unwrap().unwrap();
    }
    latch.wait().unwrap();
}

pub fn interrupt_ends_every_wait(state: &State) {
    use std::sync::atomic::AtomicBool;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let state = state.with_interrupt(Arc::new(move || {
        flag.load(Ordering::SeqCst)
            .then_some("the job was cancelled")
    }));
    let waits: Vec<thread::JoinHandle<Result<(), StateError>>> = vec![
        {
            let barrier = state.barrier("never-full", 3);
            thread::spawn(move || barrier.wait().map(drop))
        },
        {
            let future = state.future::<u8>("never-set");
            thread::spawn(move || future.get().map(drop))
        },
        {
            let semaphore = state.semaphore("empty", 0);
            thread::spawn(move || semaphore.acquire(1))
        },
        {
            let latch = state.latch("closed", 1);
            thread::spawn(move || latch.wait_timeout(PATIENCE))
        },
    ];
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for wait in waits {
        let error = wait.join().unwrap().unwrap_err();
        assert!(matches!(error, StateError::Interrupted { .. }), "{error:?}");
        assert!(
            error.to_string().contains("the job was cancelled"),
            "{error}"
        );
    }
    // The barrier party that gave up is not counted.
    let barrier = state.barrier("never-full", 3);
    stop.store(false, Ordering::SeqCst);
    let others: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait_timeout(PATIENCE).unwrap())
        })
        .collect();
    // Had the interrupted party stayed, the two threads would fill round 0
    // without this call, which would then wait alone in round 1.
    assert_eq!(barrier.wait_timeout(PATIENCE).unwrap(), 0);
    for other in others {
        assert_eq!(other.join().unwrap(), 0);
    }
}
