//! Benchmark (a): the executor's own overhead, with tasks that do nothing.
//!
//! Runs 10,000 no-op tasks through `map` on the local backend, several
//! times, and prints the total time and the time per task of each run.
//!
//! ```text
//! cargo bench --bench noop [-- TASKS ROUNDS]
//! ```

use std::time::Instant;

use cloudbutton::executor::{Config, ProgressMode};
use cloudbutton::{FnResult, Function, FunctionExecutor, TaskContext};

fn noop(_: u32, _: &TaskContext) -> FnResult<()> {
    Ok(())
}
static NOOP: Function<u32, ()> = Function::new("bench::noop", noop);
cloudbutton::register!(NOOP);

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let tasks: u32 = args.next().map_or(Ok(10_000), |arg| arg.parse())?;
    let rounds: u32 = args.next().map_or(Ok(5), |arg| arg.parse())?;

    let mut config = Config::load()?;
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config)?;
    println!(
        "noop: {tasks} tasks on {} worker threads",
        executor.workers()
    );

    let mut best = f64::INFINITY;
    for round in 1..=rounds {
        let start = Instant::now();
        let job = executor.map(&NOOP, (0..tasks).collect::<Vec<_>>())?;
        let results = job.get_result()?;
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(results.len(), tasks as usize);
        let per_task = elapsed / f64::from(tasks) * 1e6;
        best = best.min(per_task);
        println!(
            "  round {round}: {:.1} ms total, {per_task:.2} us per task",
            elapsed * 1e3
        );
    }
    println!("noop best: {best:.2} us per task");
    Ok(())
}
