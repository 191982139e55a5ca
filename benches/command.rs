//! Benchmark (i): the overhead of a command task: starting a process per
//! task, feeding it and reading it, measured with `cat` on tiny inputs.
//! The reference is the same `sh -c cat` started, fed and read by a plain
//! loop on one thread, with nothing else around it.
//!
//! ```text
//! cargo bench --bench command [-- TASKS ROUNDS]
//! ```

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use cloudbutton::FunctionExecutor;
use cloudbutton::command::{CommandSpec, CommandTask, RUN_COMMAND};
use cloudbutton::executor::{Config, Payload, ProgressMode, wrap};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let tasks: usize = args.next().map_or(Ok(2_000), |arg| arg.parse())?;
    let rounds: u32 = args.next().map_or(Ok(3), |arg| arg.parse())?;

    let mut config = Config::load()?;
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config)?;
    println!(
        "command overhead: {tasks} tasks of `cat` on {} worker threads",
        executor.workers()
    );
    let spec = CommandSpec::new("cat");
    let mut best = f64::INFINITY;
    for round in 1..=rounds {
        let inputs: Vec<Payload> = (0..tasks)
            .map(|task| Payload::Bytes(format!("{task}\n").into_bytes()))
            .collect();
        let spec = spec.clone();
        let start = Instant::now();
        let job = executor.map(
            &RUN_COMMAND,
            wrap(inputs, move |payload| CommandTask {
                spec: spec.clone(),
                payload,
            }),
        )?;
        let results = job.get_result()?;
        let elapsed = start.elapsed().as_secs_f64();
        for (task, output) in results.iter().enumerate() {
            anyhow::ensure!(
                **output == *format!("{task}\n").as_bytes(),
                "task {task}: wrong output"
            );
        }
        let per_task = elapsed / tasks as f64 * 1e6;
        best = best.min(per_task);
        println!(
            "  round {round}: {:.1} ms total, {per_task:.0} us per task",
            elapsed * 1e3
        );
    }
    println!("command overhead best: {best:.0} us per task");

    let mut reference = f64::INFINITY;
    for _ in 1..=rounds {
        let start = Instant::now();
        for task in 0..tasks {
            let mut child = Command::new("/bin/sh")
                .args(["-c", "cat"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()?;
            let mut stdin = child.stdin.take().expect("piped");
            stdin.write_all(format!("{task}\n").as_bytes())?;
            drop(stdin);
            let output = child.wait_with_output()?;
            anyhow::ensure!(output.status.success(), "sh -c cat failed");
        }
        reference = reference.min(start.elapsed().as_secs_f64() / tasks as f64 * 1e6);
    }
    println!("plain spawn loop, one thread, best: {reference:.0} us per process");
    Ok(())
}
