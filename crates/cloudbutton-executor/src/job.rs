//! A handle to a running job and its results.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{FailureKind, JobError, TaskError};
use crate::future::TaskFuture;
use crate::job_state::{JobControl, JobOutputs};
use crate::progress::ProgressMode;
use crate::summary::JobSummary;
use crate::task::{TaskState, TaskStats};
use crate::wait::{Wait, wait_for};

/// The tasks of one `map`, `call_async` or `map_reduce`, with results in
/// input order.
///
/// For a map-reduce, the job's tasks are the reducers and the map tasks
/// are its upstream stage: waiting for all tasks, cancelling and the
/// summary cover both stages.
pub struct Job<O> {
    tasks: Arc<dyn JobOutputs<O>>,
    upstream: Option<Arc<dyn JobControl>>,
    progress: ProgressMode,
}

impl<O> Job<O> {
    pub(crate) fn new(
        tasks: Arc<dyn JobOutputs<O>>,
        upstream: Option<Arc<dyn JobControl>>,
        progress: ProgressMode,
    ) -> Self {
        Self {
            tasks,
            upstream,
            progress,
        }
    }

    /// The number of tasks (for a map-reduce, of reducers).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if the job has no tasks, as for an empty input.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The future of task `index`.
    pub fn future(&self, index: usize) -> TaskFuture<O> {
        assert!(
            index < self.len(),
            "task {index} of a job of {}",
            self.len()
        );
        TaskFuture {
            job: self.tasks.clone(),
            index,
            progress: self.progress,
        }
    }

    /// The futures of every task, in input order.
    pub fn futures(&self) -> Vec<TaskFuture<O>> {
        (0..self.len()).map(|index| self.future(index)).collect()
    }

    /// The state of every task, in input order.
    pub fn states(&self) -> Vec<TaskState> {
        (0..self.len())
            .map(|index| self.tasks.state(index))
            .collect()
    }

    /// Blocks until the policy is met or the timeout passes, drawing a
    /// progress bar on a terminal if it takes long. Returns how many tasks
    /// have finished. `Wait::All` also waits for a map-reduce's map tasks.
    pub fn wait(&self, policy: Wait, timeout: Option<Duration>) -> usize {
        let own: &dyn JobControl = &*self.tasks;
        let mut tasks: Vec<(&dyn JobControl, usize)> = Vec::new();
        if policy == Wait::All
            && let Some(upstream) = &self.upstream
        {
            tasks.extend((0..upstream.len()).map(|index| (&**upstream, index)));
        }
        let upstream_len = tasks.len();
        tasks.extend((0..own.len()).map(|index| (own, index)));
        let finished = wait_for(&tasks, policy, timeout, self.progress);
        finished
            .iter()
            .filter(|&&position| position >= upstream_len)
            .count()
    }

    /// Cancels every task that has not finished. Queued tasks never start;
    /// running ones see [`TaskContext::is_cancelled`](crate::TaskContext::is_cancelled)
    /// and their results are discarded.
    pub fn cancel(&self) {
        self.tasks.cancel();
        if let Some(upstream) = &self.upstream {
            upstream.cancel();
        }
    }

    /// The statistics of every task, in input order.
    pub fn stats(&self) -> Vec<TaskStats> {
        stats_of(&*self.tasks)
    }

    /// The statistics of a map-reduce's map tasks; empty for other jobs.
    pub fn map_stats(&self) -> Vec<TaskStats> {
        self.upstream.as_deref().map(stats_of).unwrap_or_default()
    }

    /// Totals over the job's tasks, so far.
    pub fn summary(&self) -> JobSummary {
        match &self.upstream {
            Some(upstream) => {
                let mut summary = upstream.summary();
                summary.merge(&self.tasks.summary());
                summary
            }
            None => self.tasks.summary(),
        }
    }

    /// The tasks that failed or were cancelled, map tasks first. A reducer
    /// that did not run because a map task failed is not listed again.
    pub fn failures(&self) -> Vec<TaskError> {
        let mut failures = self.upstream.as_deref().map(errors_of).unwrap_or_default();
        failures.extend(
            errors_of(&*self.tasks)
                .into_iter()
                .filter(|error| !matches!(error.kind, FailureKind::Upstream { .. })),
        );
        failures
    }

    /// Waits for every task and returns the results in input order, or an
    /// error listing every failed task.
    pub fn get_result(self) -> Result<Vec<O>, JobError> {
        self.wait(Wait::All, None);
        let tasks = self.len() + self.upstream.as_ref().map_or(0, |up| up.len());
        let failures = self.failures();
        if !failures.is_empty() {
            return Err(JobError { failures, tasks });
        }
        // Results taken earlier through a future are failures here too.
        let (results, taken): (Vec<_>, Vec<_>) =
            self.into_results().into_iter().partition(Result::is_ok);
        if taken.is_empty() {
            Ok(results.into_iter().flatten().collect())
        } else {
            let failures = taken.into_iter().filter_map(Result::err).collect();
            Err(JobError { failures, tasks })
        }
    }

    /// Waits for every task and returns each one's outcome in input order:
    /// the results of the tasks that succeeded stay available when others
    /// failed.
    pub fn into_results(self) -> Vec<Result<O, TaskError>> {
        self.wait(Wait::All, None);
        (0..self.len())
            .map(|index| {
                self.tasks
                    .take_result(index)
                    .unwrap_or_else(|| Err(self.tasks.error_for(index, FailureKind::ResultTaken)))
            })
            .collect()
    }
}

fn stats_of(job: &dyn JobControl) -> Vec<TaskStats> {
    (0..job.len()).map(|index| job.stats(index)).collect()
}

fn errors_of(job: &dyn JobControl) -> Vec<TaskError> {
    (0..job.len())
        .filter_map(|index| job.error(index))
        .collect()
}

impl<O> std::fmt::Debug for Job<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("tasks", &self.len())
            .field("finished", &self.tasks.finished())
            .finish()
    }
}
