//! Shared objects seen through the executor: tasks and the driver share
//! the job's objects, the job's go away with its executor, and a
//! namespace's stay.

use std::time::Duration;

use cloudbutton::executor::Config;
use cloudbutton::executor::ProgressMode;
use cloudbutton::{FnResult, Function, FunctionExecutor, TaskContext};

fn executor() -> FunctionExecutor {
    let mut config = Config::default();
    config.executor.progress = ProgressMode::Never;
    FunctionExecutor::with_config(config).unwrap()
}

/// The README's example.
fn step((part, parties): (u32, u32), ctx: &TaskContext) -> FnResult<u64> {
    let state = ctx.state();
    state.counter("points").add(1000)?;
    state
        .map::<u32, f64>("loss")
        .merge(part % 2, 0.5, |a, b| a + b)?;
    let round = state.barrier("epoch", parties).wait()?;
    Ok(round)
}
static STEP: Function<(u32, u32), u64> = Function::new("state-tests::step", step);
cloudbutton::register!(STEP);

#[test]
fn tasks_and_the_driver_share_the_job_objects() {
    let executor = executor();
    let parties = executor.workers() as u32;
    let inputs: Vec<_> = (0..parties).map(|part| (part, parties)).collect();
    let rounds = executor
        .map(&STEP, inputs.clone())
        .unwrap()
        .get_result()
        .unwrap();
    assert_eq!(rounds, vec![0; parties as usize]);
    let rounds = executor.map(&STEP, inputs).unwrap().get_result().unwrap();
    assert_eq!(rounds, vec![1; parties as usize], "the barrier is cyclic");

    let state = executor.state();
    assert_eq!(
        state.counter("points").get().unwrap(),
        2000 * i64::from(parties)
    );
    let loss: f64 = state
        .map::<u32, f64>("loss")
        .snapshot()
        .unwrap()
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(loss, f64::from(parties));
}

fn publish(limit: u64, ctx: &TaskContext) -> FnResult<u64> {
    let state = ctx.state();
    if ctx.index() == 0 {
        state.future::<u64>("limit").set(&limit)?;
    }
    // Everyone else waits for task 0's value.
    let limit = state
        .future::<u64>("limit")
        .get_timeout(Duration::from_secs(30))?;
    state
        .namespace("state-tests-kept")?
        .counter("runs")
        .increment()?;
    Ok(limit)
}
static PUBLISH: Function<u64, u64> = Function::new("state-tests::publish", publish);
cloudbutton::register!(PUBLISH);

#[test]
fn job_objects_go_with_the_executor_and_namespaces_stay() {
    let kept = {
        let executor = executor();
        executor
            .state()
            .namespace("state-tests-kept")
            .unwrap()
            .clear()
            .unwrap();
        let job = executor.map(&PUBLISH, vec![7, 8, 9]).unwrap();
        assert_eq!(job.get_result().unwrap(), [7, 7, 7]);
        assert_eq!(
            executor.state().future::<u64>("limit").try_get().unwrap(),
            Some(7)
        );
        executor.state().clone()
    };
    // The executor is gone: its job's objects with it.
    assert_eq!(kept.future::<u64>("limit").try_get().unwrap(), None);
    let named = kept.namespace("state-tests-kept").unwrap();
    assert_eq!(named.counter("runs").get().unwrap(), 3);
    named.clear().unwrap();
}

fn misuse(_: (), ctx: &TaskContext) -> FnResult<u64> {
    ctx.state()
        .barrier("meet", 2)
        .wait_timeout(Duration::from_millis(200))?;
    Ok(0)
}
static MISUSE: Function<(), u64> = Function::new("state-tests::misuse", misuse);
cloudbutton::register!(MISUSE);

#[test]
fn a_state_error_fails_the_task_and_names_the_object() {
    let executor = executor();
    let error = executor
        .map(&MISUSE, vec![()])
        .unwrap()
        .get_result()
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("barrier `meet`"), "{message}");
    assert!(message.contains("still waiting"), "{message}");
}

fn wait_forever(_: (), ctx: &TaskContext) -> FnResult<u64> {
    Ok(ctx.state().barrier("nobody-else", 2).wait()?)
}
static WAIT_FOREVER: Function<(), u64> = Function::new("state-tests::wait-forever", wait_forever);
cloudbutton::register!(WAIT_FOREVER);

#[test]
fn a_task_waiting_at_a_barrier_ends_with_its_job() {
    // Past its timeout, the waiting task fails instead of holding its
    // thread at the barrier for good.
    let mut executor = executor();
    executor.set_timeout(Some(Duration::from_millis(300)));
    let error = executor
        .map(&WAIT_FOREVER, vec![()])
        .unwrap()
        .get_result()
        .unwrap_err();
    assert!(
        error.to_string().contains("timeout") || error.to_string().contains("timed out"),
        "{error}"
    );

    // Cancelled, it stops waiting within about a second and leaves the
    // barrier: a party arriving later waits alone.
    let executor = self::executor();
    let job = executor.map(&WAIT_FOREVER, vec![()]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    job.cancel();
    std::thread::sleep(Duration::from_millis(2500));
    let alone = executor
        .state()
        .barrier("nobody-else", 2)
        .wait_timeout(Duration::from_millis(100))
        .unwrap_err();
    assert!(alone.to_string().contains("still waiting"), "{alone}");
}
