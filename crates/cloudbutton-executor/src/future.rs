//! A handle to one task and its eventual result.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{FailureKind, TaskError};
use crate::job_state::{JobControl, JobOutputs};
use crate::progress::ProgressMode;
use crate::task::{TaskState, TaskStats};
use crate::wait::{Wait, wait_for};

/// One task of a job: its state, its statistics and, once it has finished,
/// its result. Clones refer to the same task; its result can be taken once.
pub struct TaskFuture<O> {
    pub(crate) job: Arc<dyn JobOutputs<O>>,
    pub(crate) index: usize,
    pub(crate) progress: ProgressMode,
}

impl<O> TaskFuture<O> {
    /// The task's index in its job, which is its input's position.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The task's state now.
    pub fn state(&self) -> TaskState {
        self.job.state(self.index)
    }

    /// True once the task has finished, with or without a result.
    pub fn is_finished(&self) -> bool {
        self.state().is_finished()
    }

    /// The task's statistics so far.
    pub fn stats(&self) -> TaskStats {
        self.job.stats(self.index)
    }

    /// Blocks until the task finishes or the timeout passes; returns
    /// whether it finished.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let job: &dyn JobControl = &*self.job;
        !wait_for(&[(job, self.index)], Wait::All, timeout, self.progress).is_empty()
    }

    /// Blocks until the task finishes, then takes its result.
    pub fn get_result(self) -> Result<O, TaskError> {
        self.wait(None);
        self.job
            .take_result(self.index)
            .unwrap_or_else(|| Err(self.job.error_for(self.index, FailureKind::ResultTaken)))
    }
}

impl<O> Clone for TaskFuture<O> {
    fn clone(&self) -> Self {
        Self {
            job: self.job.clone(),
            index: self.index,
            progress: self.progress,
        }
    }
}

impl<O> std::fmt::Debug for TaskFuture<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskFuture")
            .field("index", &self.index)
            .field("state", &self.state())
            .finish()
    }
}
