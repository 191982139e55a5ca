//! Benchmark (g): the overhead of a WebAssembly task, with a module that
//! does nothing but answer.
//!
//! Runs 10,000 tasks of a trivial reactor module over 8-byte inputs through
//! `map` on the local backend, several times, and prints the time per task
//! of each round. The first round includes compiling the module and filling
//! the instance pool; the later ones are the steady state.
//!
//! ```text
//! cargo bench --bench wasm_overhead [-- TASKS ROUNDS]
//! ```

use std::time::Instant;

use cloudbutton::FunctionExecutor;
use cloudbutton::executor::{Config, Payload, ProgressMode, wrap};
use cloudbutton::storage::StorageOptions;
use cloudbutton::wasm::{RUN_WASM, WasmSpec, WasmTask, prepare};

/// A reactor that copies nothing and succeeds.
const TRIVIAL: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "cloudbutton_run") (result i32) i32.const 0))"#;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let tasks: usize = args.next().map_or(Ok(10_000), |arg| arg.parse())?;
    let rounds: u32 = args.next().map_or(Ok(5), |arg| arg.parse())?;

    let dir = tempfile::tempdir()?;
    // The text format is accepted wherever a module is.
    let path = dir.path().join("trivial.wat");
    std::fs::write(&path, TRIVIAL)?;
    let module = prepare(
        path.to_str().expect("a UTF-8 temporary path"),
        &StorageOptions::default(),
        None,
        false,
    )?;
    let spec = WasmSpec::new(module);

    let mut config = Config::load()?;
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config)?;
    println!(
        "wasm overhead: {tasks} tasks of a trivial module on {} worker threads",
        executor.workers()
    );
    let mut best = f64::INFINITY;
    for round in 1..=rounds {
        let inputs: Vec<Payload> = (0..tasks)
            .map(|task| Payload::Bytes((task as u64).to_le_bytes().to_vec()))
            .collect();
        let spec = spec.clone();
        let start = Instant::now();
        let job = executor.map(
            &RUN_WASM,
            wrap(inputs, move |payload| WasmTask {
                spec: spec.clone(),
                payload,
            }),
        )?;
        let results = job.get_result()?;
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(results.len(), tasks);
        let per_task = elapsed / tasks as f64 * 1e6;
        best = best.min(per_task);
        println!(
            "  round {round}: {:.1} ms total, {per_task:.2} us per task",
            elapsed * 1e3
        );
    }
    println!("wasm overhead best: {best:.2} us per task");
    Ok(())
}
