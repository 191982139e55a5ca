//! Benchmark (d): Monte Carlo estimation of pi, compute-bound tasks.
//!
//! 100 tasks of 10 million samples each, run once on one thread without the
//! executor and once through the executor; prints both times and the
//! speed-up against the ideal (the number of worker threads).
//!
//! ```text
//! cargo bench --bench pi [-- TASKS SAMPLES]
//! ```

use std::time::Instant;

use cloudbutton::executor::{Config, ProgressMode};
use cloudbutton::{FnResult, Function, FunctionExecutor, TaskContext};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Counts the samples of a seeded stream that fall inside the unit circle.
fn inside(seed: u64, samples: u64) -> u64 {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut hits = 0;
    for _ in 0..samples {
        let (x, y): (f64, f64) = (rng.random(), rng.random());
        hits += u64::from(x * x + y * y <= 1.0);
    }
    hits
}

fn estimate(task: (u64, u64), _: &TaskContext) -> FnResult<u64> {
    Ok(inside(task.0, task.1))
}
static ESTIMATE: Function<(u64, u64), u64> = Function::new("bench::pi", estimate);
cloudbutton::register!(ESTIMATE);

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let tasks: u64 = args.next().map_or(Ok(100), |arg| arg.parse())?;
    let samples: u64 = args.next().map_or(Ok(10_000_000), |arg| arg.parse())?;

    let mut config = Config::load()?;
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config)?;
    let workers = executor.workers();
    println!("pi: {tasks} tasks of {samples} samples, {workers} worker threads");

    let start = Instant::now();
    let serial: u64 = (0..tasks).map(|seed| inside(seed, samples)).sum();
    let serial_time = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let inputs: Vec<(u64, u64)> = (0..tasks).map(|seed| (seed, samples)).collect();
    let parallel: u64 = executor.map(&ESTIMATE, inputs)?.get_result()?.iter().sum();
    let parallel_time = start.elapsed().as_secs_f64();

    assert_eq!(serial, parallel, "the same seeds must give the same hits");
    let pi = 4.0 * parallel as f64 / (tasks * samples) as f64;
    let speedup = serial_time / parallel_time;
    println!("  estimate     {pi:.6}");
    println!("  one thread   {serial_time:.3} s");
    println!("  executor     {parallel_time:.3} s");
    println!(
        "pi speed-up: {speedup:.2}x of an ideal {workers}x ({:.2} of ideal)",
        speedup / workers as f64
    );
    Ok(())
}
