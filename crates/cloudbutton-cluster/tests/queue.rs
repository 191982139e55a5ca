//! The task queue against a real Redis server: the one whose URL is in
//! `CLOUDBUTTON_TEST_REDIS_URL`, which `scripts/test.sh` starts.
//!
//! Every test works in a namespace of its own, so that the tests can run in
//! parallel on one server without taking each other's tasks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cloudbutton_cluster::{
    Commit, JobId, JobStatus, QueueConfig, QueueError, Renewal, TaskMessage, TaskQueue,
};

const LEASE: Duration = Duration::from_millis(400);

fn redis_url() -> String {
    std::env::var("CLOUDBUTTON_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "CLOUDBUTTON_TEST_REDIS_URL is not set: run the tests with scripts/test.sh, or start \
             a server first with `eval \"$(scripts/redis-test-server.sh start)\"`"
        )
    })
}

/// A namespace no other test uses, and its settings.
fn config(ttl: Duration) -> QueueConfig {
    QueueConfig {
        namespace: format!("test-{}", JobId::generate()),
        ttl,
        ..QueueConfig::default()
    }
}

fn connect(config: &QueueConfig) -> TaskQueue {
    TaskQueue::connect_with(&redis_url(), config.clone()).unwrap()
}

fn tasks(count: u32) -> impl Iterator<Item = TaskMessage> {
    (0..count).map(|index| TaskMessage {
        index,
        function: "tests::echo".to_owned(),
        input: format!("input {index}").into_bytes(),
    })
}

/// Reads results until `count` have come, or fails after `timeout`.
fn collect(driver: &mut TaskQueue, job: &JobId, count: usize, timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    let mut indexes = Vec::new();
    while indexes.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} results came",
            indexes.len()
        );
        let results = driver.results(job, Duration::from_millis(500)).unwrap();
        indexes.extend(results.iter().map(|result| result.index));
    }
    indexes
}

#[test]
fn round_trip_commits_every_task_once_in_commit_order() {
    let config = config(Duration::from_secs(3600));
    let (mut driver, mut worker) = (connect(&config), connect(&config));
    let job = JobId::generate();
    assert_eq!(driver.submit(&job, tasks(20)).unwrap(), 20);

    let mut committed = Vec::new();
    while let Some(task) = worker.take("w1", LEASE, Duration::ZERO).unwrap() {
        assert_eq!(task.job, job);
        assert_eq!(task.function, "tests::echo");
        assert_eq!(task.attempt, 1);
        assert_eq!(task.input, format!("input {}", task.index).into_bytes());
        let outcome = if task.index % 7 == 3 {
            Err("bad record")
        } else {
            Ok(&task.input[..])
        };
        assert_eq!(worker.complete(&task, outcome).unwrap(), Commit::First);
        committed.push(task.index);
    }

    let results = driver.results(&job, Duration::from_secs(1)).unwrap();
    let order: Vec<u32> = results.iter().map(|result| result.index).collect();
    assert_eq!(order, committed, "results come in commit order");
    assert_eq!(
        order.iter().copied().collect::<BTreeSet<_>>(),
        (0..20).collect()
    );
    for result in &results {
        assert_eq!((result.attempt, result.worker.as_str()), (1, "w1"));
        let expected = if result.index % 7 == 3 {
            Err("bad record".to_owned())
        } else {
            Ok(format!("input {}", result.index).into_bytes())
        };
        assert_eq!(result.outcome, expected);
    }

    assert!(
        driver.results(&job, Duration::ZERO).unwrap().is_empty(),
        "each result comes once"
    );
    let status = driver.status(&job).unwrap();
    let expected = JobStatus {
        submitted: 20,
        committed: 20,
        duplicates: 0,
        cancelled: false,
    };
    assert_eq!(status, expected);
}

#[test]
fn jobs_share_the_workers_and_keep_their_results_apart() {
    let config = config(Duration::from_secs(3600));
    let (mut driver, mut worker) = (connect(&config), connect(&config));
    let (first, second) = (JobId::generate(), JobId::generate());
    driver.submit(&first, tasks(3)).unwrap();
    driver.submit(&second, tasks(2)).unwrap();

    while let Some(task) = worker.take("w1", LEASE, Duration::ZERO).unwrap() {
        let output = format!("{} {}", task.job, task.index);
        worker.complete(&task, Ok(output.as_bytes())).unwrap();
    }

    for (job, count) in [(&first, 3), (&second, 2)] {
        let results = driver.results(job, Duration::from_secs(1)).unwrap();
        assert_eq!(results.len(), count);
        for result in results {
            assert_eq!(
                result.outcome.unwrap(),
                format!("{job} {}", result.index).into_bytes()
            );
        }
    }
}

#[test]
fn two_consumers_share_tasks_without_duplication() {
    let config = config(Duration::from_secs(3600));
    let mut driver = connect(&config);
    let mut consumers = [connect(&config), connect(&config)];
    let job = JobId::generate();
    driver.submit(&job, tasks(50)).unwrap();

    let mut taken: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    'outer: loop {
        for (number, consumer) in consumers.iter_mut().enumerate() {
            let name = format!("w{number}");
            let Some(task) = consumer.take(&name, LEASE, Duration::ZERO).unwrap() else {
                break 'outer;
            };
            assert_eq!(consumer.complete(&task, Ok(b"")).unwrap(), Commit::First);
            taken[number].push(task.index);
        }
    }

    assert!(!taken[0].is_empty() && !taken[1].is_empty());
    let all: Vec<u32> = taken.concat();
    assert_eq!(all.len(), 50, "no task delivered twice");
    assert_eq!(all.into_iter().collect::<BTreeSet<_>>(), (0..50).collect());
    assert_eq!(
        collect(&mut driver, &job, 50, Duration::from_secs(5)).len(),
        50
    );
}

#[test]
fn task_of_a_dead_consumer_is_delivered_again_and_committed_once() {
    let config = config(Duration::from_secs(3600));
    let (mut driver, mut alive, mut dead) = (connect(&config), connect(&config), connect(&config));
    let job = JobId::generate();
    driver.submit(&job, tasks(1)).unwrap();

    let stale = dead.take("dead", LEASE, Duration::ZERO).unwrap().unwrap();
    assert!(
        alive
            .take("alive", LEASE, Duration::ZERO)
            .unwrap()
            .is_none(),
        "a task is not delivered again within its lease"
    );

    thread::sleep(LEASE + Duration::from_millis(100));
    let retry = alive.take("alive", LEASE, Duration::ZERO).unwrap().unwrap();
    assert_eq!((retry.index, retry.attempt), (stale.index, 2));
    assert_eq!(dead.renew(&stale).unwrap(), Renewal::Lost);

    assert_eq!(
        alive.complete(&retry, Ok(b"second")).unwrap(),
        Commit::First
    );
    assert_eq!(
        dead.complete(&stale, Ok(b"first")).unwrap(),
        Commit::Duplicate
    );

    let results = driver.results(&job, Duration::from_secs(1)).unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        (results[0].attempt, results[0].worker.as_str()),
        (2, "alive")
    );
    assert_eq!(results[0].outcome.as_deref(), Ok(&b"second"[..]));
    let status = driver.status(&job).unwrap();
    assert_eq!((status.committed, status.duplicates), (1, 1));
    assert!(
        alive
            .take("alive", LEASE, Duration::ZERO)
            .unwrap()
            .is_none()
    );
}

#[test]
fn renewing_keeps_a_task_from_being_delivered_again() {
    let config = config(Duration::from_secs(3600));
    let (mut driver, mut holder, mut other) =
        (connect(&config), connect(&config), connect(&config));
    let job = JobId::generate();
    driver.submit(&job, tasks(1)).unwrap();

    let task = holder
        .take("holder", LEASE, Duration::ZERO)
        .unwrap()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < LEASE * 3 {
        thread::sleep(LEASE / 4);
        assert_eq!(holder.renew(&task).unwrap(), Renewal::Held);
        assert!(
            other
                .take("other", LEASE, Duration::ZERO)
                .unwrap()
                .is_none()
        );
    }

    assert_eq!(holder.complete(&task, Ok(b"done")).unwrap(), Commit::First);
    assert_eq!(
        holder.renew(&task).unwrap(),
        Renewal::Lost,
        "a committed task has no lease"
    );
    assert_eq!(driver.status(&job).unwrap().duplicates, 0);
}

#[test]
fn results_block_until_a_result_arrives() {
    let config = config(Duration::from_secs(3600));
    let mut driver = connect(&config);
    let job = JobId::generate();
    driver.submit(&job, tasks(1)).unwrap();

    // Nothing to read: the wait is bounded.
    let started = Instant::now();
    assert!(
        driver
            .results(&job, Duration::from_millis(200))
            .unwrap()
            .is_empty()
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < Duration::from_secs(2),
        "{waited:?}"
    );

    let worker_config = config.clone();
    let worker = thread::spawn(move || {
        let mut worker = connect(&worker_config);
        let task = worker
            .take("w1", LEASE, Duration::from_secs(5))
            .unwrap()
            .unwrap();
        thread::sleep(Duration::from_millis(300));
        worker.complete(&task, Ok(b"late")).unwrap();
    });

    let started = Instant::now();
    let results = driver.results(&job, Duration::from_secs(10)).unwrap();
    let waited = started.elapsed();
    assert_eq!(results.len(), 1);
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    worker.join().unwrap();
}

#[test]
fn cancel_is_visible_to_workers() {
    let config = config(Duration::from_secs(3600));
    let (mut driver, mut worker) = (connect(&config), connect(&config));
    let job = JobId::generate();
    driver.submit(&job, tasks(3)).unwrap();

    let running = worker.take("w1", LEASE, Duration::ZERO).unwrap().unwrap();
    assert!(!worker.is_cancelled(&job).unwrap());
    driver.cancel(&job).unwrap();

    assert!(worker.is_cancelled(&job).unwrap());
    assert_eq!(worker.renew(&running).unwrap(), Renewal::Cancelled);
    assert!(
        worker.take("w1", LEASE, Duration::ZERO).unwrap().is_none(),
        "the tasks not started are dropped"
    );
    worker.complete(&running, Err("cancelled")).unwrap();
    let status = driver.status(&job).unwrap();
    assert!(status.cancelled);
    assert_eq!((status.submitted, status.committed), (3, 1));

    let unknown = JobId::generate();
    assert!(matches!(
        driver.cancel(&unknown),
        Err(QueueError::UnknownJob { .. })
    ));
}

#[test]
fn each_commit_brings_the_next_task_once() {
    let config = config(Duration::from_secs(3600));
    let (mut driver, mut worker) = (connect(&config), connect(&config));
    let (job, other) = (JobId::generate(), JobId::generate());
    driver.submit(&job, tasks(10)).unwrap();
    driver.submit(&other, tasks(4)).unwrap();
    driver.cancel(&other).unwrap();

    // The first take looks for expired leases; the commits that follow
    // take the next task in the same round trip, skipping the cancelled job.
    let mut next = worker.take("w1", LEASE, Duration::ZERO).unwrap();
    let mut taken = Vec::new();
    while let Some(task) = next {
        assert_eq!(task.job, job);
        assert_eq!(task.input, format!("input {}", task.index).into_bytes());
        taken.push(task.index);
        let (commit, following) = worker.complete_and_take(&task, Ok(&task.input)).unwrap();
        assert_eq!(commit, Commit::First);
        next = following;
    }
    assert_eq!(taken, (0..10).collect::<Vec<_>>());
    assert!(worker.take("w1", LEASE, Duration::ZERO).unwrap().is_none());

    let results = driver.results(&job, Duration::from_secs(1)).unwrap();
    let committed: Vec<u32> = results.iter().map(|result| result.index).collect();
    assert_eq!(committed, taken);
    assert!(
        results
            .iter()
            .all(|result| result.outcome == Ok(format!("input {}", result.index).into_bytes()))
    );
    let status = driver.status(&job).unwrap();
    assert_eq!((status.committed, status.duplicates), (10, 0));
}

/// The keys of `job` in `namespace`, each with its time-to-live in ms.
fn job_keys(namespace: &str, job: &JobId) -> Vec<(String, i64)> {
    let mut con = redis::Client::open(redis_url())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}:job:{job}:*"))
        .query(&mut con)
        .unwrap();
    keys.into_iter()
        .map(|key| {
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut con).unwrap();
            (key, ttl)
        })
        .collect()
}

#[test]
fn every_job_key_has_a_ttl() {
    let ttl = Duration::from_secs(3600);
    let config = config(ttl);
    let (mut driver, mut worker) = (connect(&config), connect(&config));
    let job = JobId::generate();
    driver.submit(&job, tasks(3)).unwrap();
    for _ in 0..2 {
        let task = worker.take("w1", LEASE, Duration::ZERO).unwrap().unwrap();
        worker.complete(&task, Ok(b"x")).unwrap();
    }
    let _running = worker.take("w1", LEASE, Duration::ZERO).unwrap().unwrap();
    driver.cancel(&job).unwrap();

    let keys = job_keys(&config.namespace, &job);
    let names: BTreeSet<&str> = keys
        .iter()
        .map(|(key, _)| key.rsplit(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["attempts", "done", "input", "meta", "results"])
    );
    for (key, pttl) in keys {
        assert!(
            pttl > 0 && pttl <= 3_600_000,
            "{key} has time-to-live {pttl} ms"
        );
    }
}

#[test]
fn keys_of_an_abandoned_job_expire() {
    let config = config(Duration::from_millis(300));
    let (mut driver, mut worker) = (connect(&config), connect(&config));
    let job = JobId::generate();
    driver.submit(&job, tasks(2)).unwrap();
    assert!(!job_keys(&config.namespace, &job).is_empty());

    thread::sleep(Duration::from_millis(600));
    assert!(job_keys(&config.namespace, &job).is_empty());
    assert!(matches!(
        driver.status(&job),
        Err(QueueError::UnknownJob { .. })
    ));
    assert!(
        worker.take("w1", LEASE, Duration::ZERO).unwrap().is_none(),
        "the tasks of an expired job are dropped"
    );
}

#[test]
fn wrong_password_gives_a_clear_error_without_the_password() {
    let url = redis_url();
    let user = format!("test-{}", JobId::generate());
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(">right-horse-battery")
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .query::<()>(&mut admin)
        .unwrap();
    let with_password =
        |password: &str| url.replacen("redis://", &format!("redis://{user}:{password}@"), 1);
    let addr = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();

    let error = TaskQueue::connect(&with_password("wrong-staple")).unwrap_err();
    let (message, debug) = (error.to_string(), format!("{error:?}"));
    assert!(matches!(error, QueueError::Auth { .. }), "{debug}");
    assert!(
        message.contains(&addr) && message.contains(&user),
        "{message}"
    );
    assert!(
        !message.contains("wrong-staple") && !debug.contains("wrong-staple"),
        "{debug}"
    );

    let queue = TaskQueue::connect(&with_password("right-horse-battery")).unwrap();
    assert!(!format!("{queue:?}").contains("right-horse-battery"));

    redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query::<()>(&mut admin)
        .unwrap();
}

#[test]
fn unreachable_server_gives_a_clear_error_quickly() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let error = TaskQueue::connect(&format!("redis://ops:hunter2@127.0.0.1:{port}")).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(6));

    let (message, debug) = (error.to_string(), format!("{error:?}"));
    assert!(matches!(error, QueueError::Unreachable { .. }), "{debug}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(
        !message.contains("hunter2") && !debug.contains("hunter2"),
        "{debug}"
    );
}

#[test]
fn bad_urls_and_settings_are_refused() {
    for url in [
        "http://127.0.0.1:6379",
        "redis://",
        "127.0.0.1:6379",
        "redis://:pw@[::1",
    ] {
        let error = TaskQueue::connect(url).unwrap_err();
        assert!(
            matches!(error, QueueError::InvalidUrl { .. }),
            "{url}: {error:?}"
        );
        assert!(!error.to_string().contains(":pw@"), "{error}");
    }
    let config = QueueConfig {
        ttl: Duration::ZERO,
        ..QueueConfig::default()
    };
    assert!(matches!(
        TaskQueue::connect_with(&redis_url(), config),
        Err(QueueError::InvalidConfig(_))
    ));
    let mut queue = connect(&self::config(Duration::from_secs(60)));
    assert!(queue.take("bad name", LEASE, Duration::ZERO).is_err());
    assert!(queue.take("w1", Duration::ZERO, Duration::ZERO).is_err());
}

/// Four consumers on 2,000 tasks; one of them dies holding its 21st task, which
/// another takes over after the lease. Every index commits exactly once, and
/// the late completion of the dead consumer is counted as a duplicate.
#[test]
fn stress_four_consumers_one_dies() {
    const TASKS: u32 = 2000;
    let config = config(Duration::from_secs(3600));
    let mut driver = connect(&config);
    let job = JobId::generate();
    driver.submit(&job, tasks(TASKS)).unwrap();

    let finished = Arc::new(AtomicBool::new(false));
    let consumers: Vec<_> = (0..4)
        .map(|number| {
            let (config, finished) = (config.clone(), Arc::clone(&finished));
            thread::spawn(move || {
                let mut queue = connect(&config);
                let name = format!("w{number}");
                let mut completed = 0;
                while !finished.load(Ordering::Relaxed) {
                    let Some(task) = queue.take(&name, LEASE, Duration::from_millis(50)).unwrap()
                    else {
                        continue;
                    };
                    if number == 0 && completed == 20 {
                        return Some((queue, task));
                    }
                    queue.complete(&task, Ok(&task.input)).unwrap();
                    completed += 1;
                }
                None
            })
        })
        .collect();

    let indexes = collect(&mut driver, &job, TASKS as usize, Duration::from_secs(60));
    finished.store(true, Ordering::Relaxed);
    let mut dead = None;
    for consumer in consumers {
        if let Some(held) = consumer.join().unwrap() {
            dead = Some(held);
        }
    }

    assert_eq!(indexes.len(), TASKS as usize);
    assert_eq!(
        indexes.into_iter().collect::<BTreeSet<_>>(),
        (0..TASKS).collect()
    );
    let (mut queue, task) = dead.expect("consumer w0 died holding a task");
    assert_eq!(
        queue.complete(&task, Ok(b"late")).unwrap(),
        Commit::Duplicate
    );
    let status = driver.status(&job).unwrap();
    assert_eq!(
        (status.submitted, status.committed, status.duplicates),
        (2000, 2000, 1)
    );
}

#[test]
fn live_workers_are_listed_until_they_leave_or_fall_silent() {
    let config = config(Duration::from_secs(3600));
    let mut queue = connect(&config);
    assert_eq!(queue.workers().unwrap(), []);

    queue.heartbeat("w1", 4, Duration::from_secs(60)).unwrap();
    queue
        .heartbeat("w2", 2, Duration::from_millis(200))
        .unwrap();
    assert_eq!(
        queue.workers().unwrap(),
        [("w1".to_owned(), 4), ("w2".to_owned(), 2)]
    );

    // w2 says nothing more: its word expires. w1 leaves on its own.
    thread::sleep(Duration::from_millis(300));
    assert_eq!(queue.workers().unwrap(), [("w1".to_owned(), 4)]);
    queue.leave("w1").unwrap();
    assert_eq!(queue.workers().unwrap(), []);
}
