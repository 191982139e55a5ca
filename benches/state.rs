//! Benchmark (j): shared objects under load, on both stores, with peers.
//!
//! For 2 to 64 tasks at once (each a thread holding the job's `State`, as
//! a task does), measures:
//!
//! - counter increments per second, every task incrementing one counter;
//! - barrier round-trip latency: the time for all tasks to pass a cyclic
//!   barrier once, averaged over many rounds.
//!
//! The in-memory store is compared with `std::sync::atomic::AtomicI64` and
//! `std::sync::Barrier` in the same run; the Redis store (when a URL is
//! given) with `redis-benchmark -t incr` on the same server and the same
//! number of clients.
//!
//! ```text
//! cargo bench --bench state [-- REDIS_URL]
//! ```

use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use cloudbutton::state::{MemoryStore, RedisStore, State, Store};

const TASKS: [u32; 6] = [2, 4, 8, 16, 32, 64];
const COUNT_FOR: Duration = Duration::from_secs(2);

fn main() -> anyhow::Result<()> {
    let redis_url = std::env::args().skip(1).find(|arg| arg != "--bench");

    println!("memory store ({} cores)", thread::available_parallelism()?);
    println!("  tasks   incr/s   std AtomicI64 incr/s   barrier us   std Barrier us");
    for tasks in TASKS {
        let state = State::for_job(Arc::new(MemoryStore::new()));
        let ours = increments(&state, tasks);
        let atomic = atomic_increments(tasks);
        let (rounds, barrier) = (
            rounds_for(tasks, 2000),
            barrier_latency(&state, tasks, 2000),
        );
        let std_barrier = std_barrier_latency(tasks, rounds);
        println!("  {tasks:>5} {ours:>9.0} {atomic:>22.0} {barrier:>12.1} {std_barrier:>16.1}");
    }

    let Some(url) = redis_url else {
        println!("redis store: skipped (pass a redis:// URL to measure it)");
        return Ok(());
    };
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&url)?);
    println!("redis store ({})", store.describe());
    println!("  tasks   incr/s   redis-benchmark INCR/s   barrier us");
    for tasks in TASKS {
        let state = State::for_job(store.clone());
        let ours = increments(&state, tasks);
        let peer = redis_benchmark_incr(&url, tasks)
            .map_or_else(|| "n/a".to_owned(), |rate| format!("{rate:.0}"));
        let barrier = barrier_latency(&state, tasks, 200);
        println!("  {tasks:>5} {ours:>9.0} {peer:>24} {barrier:>12.1}");
        state.clear()?;
    }
    Ok(())
}

/// Increments per second of one shared counter, `tasks` threads at once.
fn increments(state: &State, tasks: u32) -> f64 {
    let start = Arc::new(Barrier::new(tasks as usize + 1));
    let threads: Vec<_> = (0..tasks)
        .map(|_| {
            let (counter, start) = (state.counter("hits"), start.clone());
            thread::spawn(move || {
                start.wait();
                let begun = Instant::now();
                let mut done = 0u64;
                while begun.elapsed() < COUNT_FOR {
                    for _ in 0..64 {
                        counter.increment().unwrap();
                    }
                    done += 64;
                }
                done
            })
        })
        .collect();
    start.wait();
    let begun = Instant::now();
    let done: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let elapsed = begun.elapsed().as_secs_f64();
    assert_eq!(state.counter("hits").get().unwrap(), done as i64);
    done as f64 / elapsed
}

fn atomic_increments(tasks: u32) -> f64 {
    let counter = Arc::new(AtomicI64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..tasks)
        .map(|_| {
            let counter = counter.clone();
            thread::spawn(move || {
                let begun = Instant::now();
                while begun.elapsed() < COUNT_FOR {
                    for _ in 0..4096 {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    counter.load(Ordering::SeqCst) as f64 / start.elapsed().as_secs_f64()
}

/// Fewer rounds for many tasks, so each measurement takes similar time.
fn rounds_for(tasks: u32, base: u32) -> u32 {
    (base * 8 / tasks).max(50)
}

/// Microseconds for `tasks` threads to pass the barrier once.
fn barrier_latency(state: &State, tasks: u32, base: u32) -> f64 {
    let rounds = rounds_for(tasks, base);
    let name = format!("meet-{tasks}");
    let start = Instant::now();
    let threads: Vec<_> = (0..tasks)
        .map(|_| {
            let barrier = state.barrier(&name, tasks);
            thread::spawn(move || {
                for round in 0..u64::from(rounds) {
                    assert_eq!(barrier.wait().unwrap(), round);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

fn std_barrier_latency(tasks: u32, rounds: u32) -> f64 {
    let barrier = Arc::new(Barrier::new(tasks as usize));
    let start = Instant::now();
    let threads: Vec<_> = (0..tasks)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                for _ in 0..rounds {
                    barrier.wait();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

/// INCR requests per second from `redis-benchmark` with `clients`
/// connections, one request in flight each; `None` if it cannot run.
fn redis_benchmark_incr(url: &str, clients: u32) -> Option<f64> {
    let output = Command::new("redis-benchmark")
        .args(["-u", url, "-t", "incr", "-n", "200000", "-q", "-c"])
        .arg(clients.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    // "INCR: 98814.23 requests per second, p50=0.263 msec"
    // Progress lines before it end in carriage returns.
    let line = text.lines().rev().find(|line| line.contains("INCR"))?;
    let last = line.rsplit('\r').next()?;
    let after = last.split(':').nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}
