//! Bad input and failing functions: clear errors, and the other results kept.

use std::thread;
use std::time::{Duration, Instant};

use cloudbutton_executor::{
    FailureKind, FnResult, Function, InputDescription, ReduceBy, TaskContext, TaskState, Wait,
};

mod support;
use support::executor;

fn picky(x: i64, _: &TaskContext) -> FnResult<i64> {
    match x {
        3 => panic!("three is not allowed"),
        5 => Err(format!("{x} is odd and large").into()),
        _ => Ok(x * 10),
    }
}
static PICKY: Function<i64, i64> = Function::new("tests::picky", picky);

/// Sleeps for the given milliseconds unless cancelled first.
fn patient(ms: u64, ctx: &TaskContext) -> FnResult<u64> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(ms) {
        if ctx.is_cancelled() {
            return Err("cancelled".into());
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(ms)
}
static PATIENT: Function<u64, u64> = Function::new("tests::patient", patient);

/// Ignores cancellation: a function stuck in a loop it never leaves early.
fn stubborn(ms: u64, _: &TaskContext) -> FnResult<u64> {
    thread::sleep(Duration::from_millis(ms));
    Ok(ms)
}
static STUBBORN: Function<u64, u64> = Function::new("tests::stubborn", stubborn);

fn total(values: Vec<i64>, _: &TaskContext) -> FnResult<i64> {
    Ok(values.iter().sum())
}
static TOTAL: Function<Vec<i64>, i64> = Function::new("tests::total", total);

#[test]
fn a_panic_and_an_error_name_task_input_and_function_and_spare_the_rest() {
    let executor = executor(2);
    let job = executor.map(&PICKY, (0..8).collect::<Vec<_>>()).unwrap();
    let error = job.get_result().unwrap_err();
    assert_eq!(error.failures.len(), 2);
    let message = error.to_string();
    assert!(message.starts_with("2 of 8 tasks failed"), "{message}");
    assert!(
        message.contains("task 3 (tests::picky on input value #3) panicked: three is not allowed"),
        "{message}"
    );
    assert!(
        message.contains(
            "task 5 (tests::picky on input value #5) returned an error: 5 is odd and large"
        ),
        "{message}"
    );

    let job = executor.map(&PICKY, (0..8).collect::<Vec<_>>()).unwrap();
    let results = job.into_results();
    let ok: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(ok, [0, 10, 20, 40, 60, 70]);
    let panic = results[3].as_ref().unwrap_err();
    assert_eq!(panic.input, InputDescription::Value { position: 3 });
    assert!(matches!(panic.kind, FailureKind::Panic(_)));
}

#[test]
fn a_task_past_its_timeout_fails_alone_and_the_pool_keeps_its_capacity() {
    let mut executor = executor(1);
    executor.set_timeout(Some(Duration::from_millis(200)));
    let start = Instant::now();
    // The first task never looks at its context; the others are quick.
    let job = executor.map(&STUBBORN, vec![3_000, 1, 2, 3]).unwrap();
    let results = job.into_results();
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_millis(2_000),
        "the driver waited {elapsed:?}"
    );
    let timeout = results[0].as_ref().unwrap_err();
    assert_eq!(
        timeout.kind,
        FailureKind::Timeout(Duration::from_millis(200))
    );
    assert!(
        timeout.to_string().contains("timed out after 200ms"),
        "{timeout}"
    );
    assert_eq!(
        results[1..]
            .iter()
            .map(|r| *r.as_ref().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn a_timed_out_task_is_retried_when_retries_are_allowed() {
    let mut executor = executor(2);
    executor.set_timeout(Some(Duration::from_millis(100)));
    executor.set_retries(1);
    let job = executor.map(&PATIENT, vec![1_000]).unwrap();
    let error = job.get_result().unwrap_err();
    assert_eq!(error.failures[0].attempts, 2);
    assert_eq!(
        error.failures[0].kind,
        FailureKind::Timeout(Duration::from_millis(100))
    );
}

#[test]
fn cancelling_a_job_stops_pending_and_running_tasks() {
    let executor = executor(2);
    let job = executor.map(&PATIENT, vec![5_000; 10]).unwrap();
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    job.cancel();
    job.wait(Wait::All, None);
    assert!(start.elapsed() < Duration::from_millis(500));
    assert!(
        job.states()
            .iter()
            .all(|&state| state == TaskState::Cancelled)
    );
    let summary = job.summary();
    assert_eq!((summary.cancelled, summary.done), (10, 0));
    let error = job.get_result().unwrap_err();
    assert!(error.to_string().contains("was cancelled"), "{error}");

    // The threads are free again for the next job.
    let job = executor.map(&PATIENT, vec![1, 2]).unwrap();
    assert_eq!(job.get_result().unwrap(), [1, 2]);
}

#[test]
fn a_failed_map_task_is_reported_once_and_its_reducer_does_not_run() {
    let executor = executor(2);
    let job = executor
        .map_reduce(&PICKY, vec![1, 2, 5], &TOTAL, ReduceBy::All)
        .unwrap();
    let error = job.get_result().unwrap_err();
    assert_eq!(error.failures.len(), 1, "{error}");
    assert!(
        error
            .to_string()
            .contains("task 2 (tests::picky on input value #2)"),
        "{error}"
    );
}
