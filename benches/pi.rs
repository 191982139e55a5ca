//! Benchmark (d): Monte Carlo estimation of pi, compute-bound tasks.
//!
//! 100 tasks of 10 million samples each, run on one thread without the
//! executor and then through the executor, for ROUNDS rounds (default 3);
//! prints the best times, their speed-up against the ideal (the number of
//! worker threads), and the median of the rounds' own speed-ups.
//!
//! ```text
//! cargo bench --bench pi [-- TASKS SAMPLES ROUNDS]
//! ```

use std::time::Instant;

use cloudbutton::FunctionExecutor;
use cloudbutton::executor::{Config, ProgressMode};
use cloudbutton::pi::{COUNT_INSIDE, count_inside, draws, estimate};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let tasks: u64 = args.next().map_or(Ok(100), |arg| arg.parse())?;
    let samples: u64 = args.next().map_or(Ok(10_000_000), |arg| arg.parse())?;
    let rounds: u32 = args.next().map_or(Ok(3), |arg| arg.parse())?;

    let mut config = Config::load()?;
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config)?;
    let workers = executor.workers();
    println!("pi: {tasks} tasks of {samples} samples, {workers} worker threads");

    let inputs = draws(tasks, samples);
    let (mut serial_time, mut parallel_time) = (f64::INFINITY, f64::INFINITY);
    let mut ratios = Vec::new();
    let mut hits = 0;
    for round in 1..=rounds {
        let start = Instant::now();
        let serial: u64 = inputs.iter().map(|&draw| count_inside(draw)).sum();
        let one_thread = start.elapsed().as_secs_f64();

        let start = Instant::now();
        hits = executor
            .map(&COUNT_INSIDE, inputs.clone())?
            .get_result()?
            .iter()
            .sum();
        let through_executor = start.elapsed().as_secs_f64();

        anyhow::ensure!(serial == hits, "the same seeds must give the same hits");
        println!("  round {round}: one thread {one_thread:.3} s, executor {through_executor:.3} s");
        ratios.push(one_thread / through_executor);
        serial_time = serial_time.min(one_thread);
        parallel_time = parallel_time.min(through_executor);
    }

    let pi = estimate(hits, tasks * samples);
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let speedup = serial_time / parallel_time;
    println!("  estimate          {pi:.6}");
    println!("  best one thread   {serial_time:.3} s");
    println!("  best executor     {parallel_time:.3} s");
    println!(
        "pi speed-up: {speedup:.2}x of an ideal {workers}x ({:.2} of ideal; median of the \
         rounds {median:.2}x, {:.2} of ideal)",
        speedup / workers as f64,
        median / workers as f64
    );
    Ok(())
}
