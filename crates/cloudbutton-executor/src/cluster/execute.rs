//! Running one task of the cluster in this process: find the function by
//! name, run it on the serialized input with the job's timeout and
//! retries, and report how it went.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cloudbutton_cluster::wire::{Failure, Outcome, RunTask, TaskReport, now_ms};
use cloudbutton_state::{State, Store};
use cloudbutton_storage::StorageOptions;

use crate::context::TaskContext;
use crate::function::{FnResult, lookup};
use crate::job_state::{error_chain, panic_message};

/// Runs `task` here, trying again after a failure while retries are left
/// and the job is not cancelled. The output, if any, is inline.
pub(crate) fn execute(
    task: &RunTask,
    cancelled: &Arc<AtomicBool>,
    storage: &Arc<StorageOptions>,
    objects: &Arc<dyn Store>,
) -> TaskReport {
    let Some(registration) = lookup(&task.function) else {
        let program = std::env::current_exe()
            .ok()
            .and_then(|path| {
                path.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "this program".to_owned());
        return TaskReport::failed(Failure::Worker(format!(
            "function `{}` is not registered in {program} on worker {}",
            task.function, task.worker
        )));
    };
    let state = match State::attach(objects.clone(), &task.state_scope) {
        Ok(state) => state,
        Err(error) => return TaskReport::failed(Failure::Worker(error.to_string())),
    };
    let timeout = task.timeout_ms.map(Duration::from_millis);
    let mut attempt = 1;
    loop {
        let ctx = Arc::new(TaskContext::new(
            task.index as usize,
            attempt,
            task.worker.clone(),
            cancelled.clone(),
            Arc::new(AtomicBool::new(false)),
            storage.clone(),
            state.clone(),
        ));
        let started_ms = now_ms();
        let outcome = run_once(registration.invoke, &task.input, &ctx, timeout);
        let report = TaskReport {
            started_ms,
            ended_ms: now_ms(),
            bytes_read: ctx.bytes_read(),
            attempts: attempt,
            outcome,
        };
        let failed = matches!(report.outcome, Outcome::Failed(_));
        if !failed || attempt > task.retries || cancelled.load(Ordering::Relaxed) {
            return report;
        }
        let delay =
            Duration::from_millis(task.backoff_ms) * 2u32.saturating_pow(attempt - 1).min(64);
        tracing::debug!(task = task.index, attempt, "retrying task");
        std::thread::sleep(delay);
        attempt += 1;
    }
}

type Invoke = fn(&[u8], &TaskContext) -> FnResult<Vec<u8>>;

/// One attempt. With a timeout the function runs on a thread of its own,
/// which is abandoned (its context marked overrun) if it runs too long.
fn run_once(
    invoke: Invoke,
    input: &[u8],
    ctx: &Arc<TaskContext>,
    timeout: Option<Duration>,
) -> Outcome {
    let Some(timeout) = timeout else {
        return outcome(panic::catch_unwind(AssertUnwindSafe(|| invoke(input, ctx))));
    };
    let (sender, receiver) = mpsc::channel();
    let input = input.to_vec();
    let thread_ctx = ctx.clone();
    let spawned = std::thread::Builder::new()
        .name("task".to_owned())
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(|| invoke(&input, &thread_ctx)));
            let _ = sender.send(result);
        });
    if let Err(error) = spawned {
        return Outcome::Failed(Failure::Worker(format!(
            "cannot start a thread for the task: {error}"
        )));
    }
    match receiver.recv_timeout(timeout) {
        Ok(result) => outcome(result),
        Err(_) => {
            ctx.cancel_flags()[1].store(true, Ordering::Relaxed);
            Outcome::Failed(Failure::Timeout(timeout.as_millis() as u64))
        }
    }
}

fn outcome(result: std::thread::Result<FnResult<Vec<u8>>>) -> Outcome {
    match result {
        Ok(Ok(output)) => Outcome::Inline(output),
        Ok(Err(error)) => Outcome::Failed(Failure::Error(error_chain(&*error))),
        Err(payload) => Outcome::Failed(Failure::Panic(panic_message(&*payload))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::codec;
    use crate::function::Function;

    fn flaky(attempts_to_fail: u32, ctx: &TaskContext) -> FnResult<u32> {
        if ctx.attempt() <= attempts_to_fail {
            return Err(format!("attempt {} fails", ctx.attempt()).into());
        }
        Ok(ctx.attempt())
    }
    static FLAKY: Function<u32, u32> = Function::new("execute-tests::flaky", flaky);
    crate::register!(FLAKY);

    fn sleepy(millis: u64, _: &TaskContext) -> FnResult<u64> {
        std::thread::sleep(Duration::from_millis(millis));
        Ok(millis)
    }
    static SLEEPY: Function<u64, u64> = Function::new("execute-tests::sleepy", sleepy);
    crate::register!(SLEEPY);

    fn boom(_: (), _: &TaskContext) -> FnResult<()> {
        panic!("boom")
    }
    static BOOM: Function<(), ()> = Function::new("execute-tests::boom", boom);
    crate::register!(BOOM);

    fn task(
        function: &str,
        input: impl Serialize,
        retries: u32,
        timeout_ms: Option<u64>,
    ) -> RunTask {
        RunTask {
            id: 1,
            index: 4,
            delivery: 1,
            worker: "w1".into(),
            function: function.into(),
            input: codec::encode(&input).unwrap(),
            timeout_ms,
            retries,
            backoff_ms: 1,
            state_scope: "job/0001".into(),
        }
    }

    fn run(task: &RunTask) -> TaskReport {
        let objects: Arc<dyn cloudbutton_state::Store> =
            Arc::new(cloudbutton_state::MemoryStore::new());
        execute(
            task,
            &Arc::new(AtomicBool::new(false)),
            &Arc::default(),
            &objects,
        )
    }

    #[test]
    fn retries_until_an_attempt_succeeds() {
        let report = run(&task("execute-tests::flaky", 2, 2, None));
        assert_eq!(report.outcome, Outcome::Inline(codec::encode(&3).unwrap()));
        assert_eq!(report.attempts, 3);

        let report = run(&task("execute-tests::flaky", 2, 1, None));
        assert_eq!(
            report.outcome,
            Outcome::Failed(Failure::Error("attempt 2 fails".into()))
        );
        assert_eq!(report.attempts, 2);
    }

    #[test]
    fn panics_timeouts_and_unknown_functions_are_reported() {
        let report = run(&task("execute-tests::boom", (), 0, None));
        assert_eq!(
            report.outcome,
            Outcome::Failed(Failure::Panic("boom".into()))
        );

        let report = run(&task("execute-tests::sleepy", 2000, 0, Some(20)));
        assert_eq!(report.outcome, Outcome::Failed(Failure::Timeout(20)));
        let report = run(&task("execute-tests::sleepy", 1, 0, Some(5000)));
        assert_eq!(report.outcome, Outcome::Inline(codec::encode(&1).unwrap()));

        let report = run(&task("execute-tests::missing", 1, 3, None));
        let Outcome::Failed(Failure::Worker(message)) = report.outcome else {
            panic!("{report:?}")
        };
        assert!(
            message.contains("`execute-tests::missing` is not registered"),
            "{message}"
        );
        assert!(message.contains("worker w1"), "{message}");
    }
}
