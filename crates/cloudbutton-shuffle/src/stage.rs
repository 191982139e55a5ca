//! Running one stage of a sort (its samplers, map tasks or reducers) on the
//! executor, with backup copies of its stragglers.
//!
//! Each copy of a task is a job of its own, so that the losing copy can be
//! cancelled alone once the other has won. The driver waits for any copy
//! to finish, takes the first result of each task, and asks the
//! [`BackupPolicy`] every tick whether a running task is straggling. A
//! task fails only when every copy of it has failed.

use std::time::{Duration, SystemTime};

use cloudbutton_executor::{Function, FunctionExecutor, Job, TaskError, TaskState, Wait};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backup::BackupPolicy;
use crate::error::SortError;

/// How often the driver looks for stragglers while it waits.
const TICK: Duration = Duration::from_millis(20);

/// The input of a task that can run in several copies.
pub(crate) trait StageTask: Clone + Serialize + DeserializeOwned + Send + 'static {
    /// The same task as copy number `copy` (0 for the first).
    fn with_copy(&self, copy: u32) -> Self;

    /// What the task works on, for messages.
    fn describe(&self) -> String;
}

/// What a stage produced.
pub(crate) struct StageOutcome<O> {
    /// The first result of each task, in task order.
    pub results: Vec<O>,
    /// Backup copies started.
    pub backups: usize,
    /// Tasks whose backup copy finished first.
    pub backups_won: usize,
}

/// One task of the stage: its copies and, once one has succeeded, its
/// result.
struct Task<I, O> {
    input: I,
    copies: Vec<TaskCopy<O>>,
    result: Option<O>,
    run_time: Option<Duration>,
    last_error: Option<TaskError>,
}

struct TaskCopy<O> {
    job: Job<O>,
    finished: bool,
}

impl<O> TaskCopy<O> {
    fn start<I: StageTask>(
        executor: &FunctionExecutor,
        function: &Function<I, O>,
        input: I,
    ) -> Result<Self, SortError>
    where
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        Ok(TaskCopy {
            job: executor.map(function, vec![input])?,
            finished: false,
        })
    }
}

/// Runs `function` once per input and returns the results in input order,
/// starting backup copies of stragglers as `policy` says.
pub(crate) fn run<I, O>(
    executor: &FunctionExecutor,
    stage: &'static str,
    function: &Function<I, O>,
    inputs: Vec<I>,
    policy: &BackupPolicy,
) -> Result<StageOutcome<O>, SortError>
where
    I: StageTask,
    O: Serialize + DeserializeOwned + Send + 'static,
{
    let _span = tracing::debug_span!("stage", stage, tasks = inputs.len()).entered();
    let total = inputs.len();
    let mut tasks = Vec::with_capacity(total);
    for input in inputs {
        let first = TaskCopy::start(executor, function, input.with_copy(0))?;
        tasks.push(Task {
            input,
            copies: vec![first],
            result: None,
            run_time: None,
            last_error: None,
        });
    }

    let mut outcome = StageOutcome {
        results: Vec::new(),
        backups: 0,
        backups_won: 0,
    };
    let mut left = total;
    while left > 0 {
        let futures: Vec<_> = tasks
            .iter()
            .filter(|task| task.result.is_none())
            .flat_map(|task| task.copies.iter())
            .filter(|copy| !copy.finished)
            .map(|copy| copy.job.future(0))
            .collect();
        executor.wait(&futures, Wait::Any, Some(TICK));

        for (index, task) in tasks.iter_mut().enumerate() {
            if task.result.is_some() {
                continue;
            }
            collect(task, &mut outcome);
            if task.result.is_some() {
                left -= 1;
                continue;
            }
            if task.copies.iter().all(|copy| copy.finished) {
                let error = task
                    .last_error
                    .take()
                    .expect("a finished copy without a result");
                let error = SortError::Task {
                    stage,
                    task: index,
                    input: task.input.describe(),
                    kind: error.kind,
                    attempts: error.attempts,
                };
                cancel_all(&tasks);
                return Err(error);
            }
        }

        if left > 0 {
            for index in stragglers(&tasks, policy) {
                let task = &mut tasks[index];
                let copy = task.copies.len() as u32;
                tracing::info!(stage, task = index, input = %task.input.describe(), "starting a backup copy of a straggler");
                let backup = TaskCopy::start(executor, function, task.input.with_copy(copy))?;
                task.copies.push(backup);
                outcome.backups += 1;
            }
        }
    }

    outcome.results = tasks
        .into_iter()
        .map(|task| task.result.expect("every task has a result"))
        .collect();
    Ok(outcome)
}

/// Takes the result of the first copy of `task` that succeeded, if one
/// has, and cancels the others.
fn collect<I, O>(task: &mut Task<I, O>, outcome: &mut StageOutcome<O>) {
    for (number, copy) in task.copies.iter_mut().enumerate() {
        if copy.finished || !copy.job.future(0).is_finished() {
            continue;
        }
        copy.finished = true;
        let future = copy.job.future(0);
        let stats = future.stats();
        match future.get_result() {
            Ok(output) => {
                task.result = Some(output);
                task.run_time = stats.run_time();
                if number > 0 {
                    outcome.backups_won += 1;
                }
                break;
            }
            Err(error) => task.last_error = Some(error),
        }
    }
    if task.result.is_some() {
        for copy in task.copies.iter_mut().filter(|copy| !copy.finished) {
            copy.job.cancel();
            copy.finished = true;
        }
    }
}

/// The tasks that the policy says to back up now: those running in their
/// first copy only.
fn stragglers<I, O>(tasks: &[Task<I, O>], policy: &BackupPolicy) -> Vec<usize> {
    if !policy.enabled {
        return Vec::new();
    }
    let finished: Vec<Duration> = tasks.iter().filter_map(|task| task.run_time).collect();
    let now = SystemTime::now();
    let running: Vec<(usize, Duration)> = tasks
        .iter()
        .enumerate()
        .filter(|(_, task)| task.result.is_none() && task.copies.len() == 1)
        .filter_map(|(index, task)| {
            let future = task.copies[0].job.future(0);
            if future.state() != TaskState::Running {
                return None;
            }
            let started = future.stats().started?;
            Some((index, now.duration_since(started).unwrap_or_default()))
        })
        .collect();
    policy.stragglers(tasks.len(), &finished, &running)
}

/// Cancels every copy still running, when the stage has failed.
fn cancel_all<I, O>(tasks: &[Task<I, O>]) {
    for copy in tasks.iter().flat_map(|task| task.copies.iter()) {
        if !copy.finished {
            copy.job.cancel();
        }
    }
}
