//! WebAssembly tasks through a real executor: a runaway task fails alone,
//! and a cancelled job stops its running modules.

mod support;

use std::time::{Duration, Instant};

use cloudbutton_executor::Wait;
use cloudbutton_wasm::{RUN_WASM, WasmSpec};
use support::{CAT, MEMORY_BOMB, SPIN, UPPER, executor, module, task};

#[test]
fn a_runaway_task_fails_alone_and_the_others_succeed() {
    let upper = WasmSpec::new(module("upper.wasm", UPPER));
    let cat = WasmSpec::new(module("cat.wasm", CAT));
    let mut spin = WasmSpec::new(module("spin.wasm", SPIN));
    spin.timeout_ms = Some(300);
    let mut bomb = WasmSpec::new(module("bomb.wasm", MEMORY_BOMB));
    bomb.memory_limit = 32 << 20;

    let mut tasks = vec![task(&spin, b"spin"), task(&bomb, b"bomb")];
    for i in 0..12 {
        let input = format!("line {i}\n");
        tasks.push(task(
            if i % 2 == 0 { &upper } else { &cat },
            input.as_bytes(),
        ));
    }

    let started = Instant::now();
    let results = executor(4).map(&RUN_WASM, tasks).unwrap().into_results();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    let spun = results[0].as_ref().unwrap_err().to_string();
    assert!(
        spun.contains("spin.wasm (") && spun.contains("time limit of 300ms"),
        "{spun}"
    );
    let bombed = results[1].as_ref().unwrap_err().to_string();
    assert!(bombed.contains("memory limit of 32 MiB"), "{bombed}");
    for (i, result) in results[2..].iter().enumerate() {
        let expected = format!("line {i}\n");
        let expected = if i % 2 == 0 {
            expected.to_uppercase()
        } else {
            expected
        };
        assert_eq!(result.as_ref().unwrap().as_slice(), expected.as_bytes());
    }
}

#[test]
fn cancelling_a_job_stops_its_running_module() {
    // One worker thread: the next job can only run once the spinning
    // module has given its thread back.
    let executor = executor(1);
    let spin = WasmSpec::new(module("spin.wasm", SPIN));
    let job = executor.map(&RUN_WASM, vec![task(&spin, b"")]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        job.wait(Wait::All, Some(Duration::ZERO)),
        0,
        "the module should still spin"
    );

    let cancelled = Instant::now();
    job.cancel();
    let upper = WasmSpec::new(module("upper.wasm", UPPER));
    let next = executor
        .map(&RUN_WASM, vec![task(&upper, b"after")])
        .unwrap();
    assert_eq!(
        next.wait(Wait::All, Some(Duration::from_secs(5))),
        1,
        "the cancelled module still holds the only worker thread"
    );
    assert!(
        cancelled.elapsed() < Duration::from_secs(5),
        "{:?}",
        cancelled.elapsed()
    );
    assert_eq!(next.get_result().unwrap()[0].as_slice(), b"AFTER");
}
