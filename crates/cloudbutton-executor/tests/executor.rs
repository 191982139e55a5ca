//! The executor API over lists of values: results, order, waits, futures.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cloudbutton_executor::{FnResult, Function, ReduceBy, TaskContext, TaskState, Wait};

mod support;
use support::executor;

fn square(x: u64, _: &TaskContext) -> FnResult<u64> {
    Ok(x * x)
}
static SQUARE: Function<u64, u64> = Function::new("tests::square", square);
cloudbutton_executor::register!(SQUARE);

/// Sleeps for the given milliseconds, then returns them.
fn sleep_ms(ms: u64, _: &TaskContext) -> FnResult<u64> {
    thread::sleep(Duration::from_millis(ms));
    Ok(ms)
}
static SLEEP: Function<u64, u64> = Function::new("tests::sleep", sleep_ms);

fn sum(values: Vec<u64>, _: &TaskContext) -> FnResult<u64> {
    Ok(values.iter().sum())
}
static SUM: Function<Vec<u64>, u64> = Function::new("tests::sum", sum);

fn whoami(_: (), ctx: &TaskContext) -> FnResult<String> {
    Ok(ctx.worker().to_owned())
}
static WHOAMI: Function<(), String> = Function::new("tests::whoami", whoami);

#[test]
fn map_returns_results_in_input_order() {
    let executor = executor(4);
    // Later inputs finish first, so order must come from the input, not from completion.
    let inputs: Vec<u64> = (0..40).rev().collect();
    let job = executor.map(&SLEEP, inputs.clone()).unwrap();
    assert_eq!(executor.get_result(job).unwrap(), inputs);

    let job = executor
        .map(&SQUARE, (0..1000).collect::<Vec<_>>())
        .unwrap();
    let expected: Vec<u64> = (0..1000).map(|x| x * x).collect();
    assert_eq!(job.get_result().unwrap(), expected);
}

#[test]
fn an_empty_input_is_an_empty_result() {
    let executor = executor(2);
    let job = executor.map(&SQUARE, Vec::new()).unwrap();
    assert!(job.is_empty());
    assert_eq!(job.get_result().unwrap(), Vec::<u64>::new());
}

#[test]
fn call_async_runs_in_the_background() {
    let executor = executor(2);
    let future = executor.call_async(&SLEEP, 100);
    assert!(!future.is_finished());
    assert_eq!(future.get_result().unwrap(), 100);
}

#[test]
fn tasks_run_in_parallel_on_the_configured_threads() {
    let executor = executor(4);
    assert_eq!(executor.workers(), 4);
    // One after another they would take 2 s; a loaded machine still stays well under.
    let start = Instant::now();
    let job = executor.map(&SLEEP, vec![500; 4]).unwrap();
    job.get_result().unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_millis(1_500),
        "4 sleeps of 500 ms took {elapsed:?}"
    );

    let job = executor.map(&WHOAMI, vec![(); 64]).unwrap();
    for worker in job.get_result().unwrap() {
        assert!(worker.starts_with("local-"), "{worker}");
    }
}

#[test]
fn wait_any_and_fraction_return_early_and_a_timeout_bounds_the_wait() {
    let executor = executor(3);
    let job = executor.map(&SLEEP, vec![10, 3_000, 3_000]).unwrap();
    let futures = job.futures();

    let (done, not_done) = executor.wait(&futures, Wait::Any, None);
    assert_eq!(done.iter().map(|f| f.index()).collect::<Vec<_>>(), [0]);
    assert_eq!(not_done.len(), 2);

    let start = Instant::now();
    let (done, _) = executor.wait(&futures, Wait::All, Some(Duration::from_millis(100)));
    assert!(start.elapsed() < Duration::from_millis(1_000));
    assert_eq!(done.len(), 1);

    let finished = job.wait(Wait::Fraction(0.3), None);
    assert!(finished >= 1);
    job.cancel();
}

#[test]
fn futures_report_state_and_statistics() {
    let executor = executor(1);
    let job = executor.map(&SLEEP, vec![300, 1]).unwrap();
    let futures = job.futures();
    let deadline = Instant::now() + Duration::from_secs(5);
    while futures[0].state() == TaskState::Pending && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    // The only worker is busy with the first task, so the second waits.
    assert_eq!(futures[0].state(), TaskState::Running);
    assert_eq!(futures[1].state(), TaskState::Pending);
    job.wait(Wait::All, None);

    let stats = job.stats();
    assert!(
        stats
            .iter()
            .all(|s| s.attempts == 1 && s.worker.as_deref() == Some("local-0"))
    );
    assert!(stats[0].run_time().unwrap() >= Duration::from_millis(300));
    // The second task waited in the queue for the first.
    assert!(stats[1].queue_time().unwrap() >= Duration::from_millis(250));
    assert_eq!(stats[0].result_size, 2, "300 as a varint");
    let summary = job.summary();
    assert_eq!((summary.tasks, summary.done, summary.failed), (2, 2, 0));
}

#[test]
fn map_reduce_with_one_reducer() {
    let executor = executor(2);
    let job = executor
        .map_reduce(&SQUARE, (1..=100).collect::<Vec<_>>(), &SUM, ReduceBy::All)
        .unwrap();
    assert_eq!(job.get_result().unwrap(), [338_350]);
}

#[test]
fn map_reduce_over_nothing_reduces_nothing() {
    let executor = executor(2);
    let job = executor
        .map_reduce(&SQUARE, Vec::new(), &SUM, ReduceBy::All)
        .unwrap();
    assert_eq!(job.get_result().unwrap(), [0]);
}

#[test]
fn reduce_by_object_needs_objects() {
    let executor = executor(2);
    let error = executor
        .map_reduce(&SQUARE, vec![1, 2], &SUM, ReduceBy::Object)
        .unwrap_err();
    assert!(error.to_string().contains("storage locations"), "{error}");
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

fn flaky(x: u64, ctx: &TaskContext) -> FnResult<u64> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    if ctx.attempt() < 3 {
        return Err(format!("attempt {} of input {x} failed", ctx.attempt()).into());
    }
    Ok(x)
}
static FLAKY: Function<u64, u64> = Function::new("tests::flaky", flaky);

#[test]
fn retries_run_failed_tasks_again_with_backoff() {
    let mut executor = executor(2);
    executor.set_retries(2);
    let start = Instant::now();
    let job = executor.map(&FLAKY, vec![7, 8]).unwrap();
    let summary_job = job.get_result().unwrap();
    assert_eq!(summary_job, [7, 8]);
    assert_eq!(CALLS.load(Ordering::SeqCst), 6);
    // Backoff of 100 ms, then 200 ms.
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_function_can_be_found_by_name_and_run_on_serialized_input() {
    let registration = cloudbutton_executor::lookup("tests::square").unwrap();
    let input = cloudbutton_executor::codec::encode(&12u64).unwrap();
    let output = (registration.invoke)(&input, &TaskContext::detached(0)).unwrap();
    assert_eq!(
        cloudbutton_executor::codec::decode::<u64>(&output).unwrap(),
        144
    );
}

#[test]
fn a_result_can_be_taken_once() {
    let executor = executor(2);
    let job = executor.map(&SQUARE, vec![3, 4]).unwrap();
    assert_eq!(job.future(1).get_result().unwrap(), 16);
    let taken = job.future(1).get_result().unwrap_err();
    assert!(
        taken.to_string().contains("had its result taken already"),
        "{taken}"
    );
    let error = job.get_result().unwrap_err();
    assert_eq!(error.failures.len(), 1);
    assert_eq!(error.failures[0].index, 1);
}
