//! What a running task knows about itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use cloudbutton_state::State;
use cloudbutton_storage::StorageOptions;

/// Handed to every function call: which task this is, whether it should
/// stop, and where to count the bytes it reads.
#[derive(Debug)]
pub struct TaskContext {
    index: usize,
    attempt: u32,
    worker: String,
    cancelled: Arc<AtomicBool>,
    overrun: Arc<AtomicBool>,
    bytes_read: Arc<AtomicU64>,
    storage: Arc<StorageOptions>,
    state: State,
}

impl TaskContext {
    pub(crate) fn new(
        index: usize,
        attempt: u32,
        worker: String,
        cancelled: Arc<AtomicBool>,
        overrun: Arc<AtomicBool>,
        storage: Arc<StorageOptions>,
        state: State,
    ) -> Self {
        // Waits on shared objects end with the task: a cancelled job or a
        // task past its timeout does not leave a thread at a barrier.
        let stop = StopSignal {
            cancelled: cancelled.clone(),
            overrun: overrun.clone(),
        };
        let state = state.with_interrupt(Arc::new(move || stop.reason()));
        Self {
            index,
            attempt,
            worker,
            cancelled,
            overrun,
            bytes_read: Arc::new(AtomicU64::new(0)),
            storage,
            state,
        }
    }

    /// A context that belongs to no job, for calling a function directly
    /// (in tests, or from a worker's own loop).
    pub fn detached(index: usize) -> Self {
        Self::new(
            index,
            1,
            "detached".to_owned(),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
            Arc::new(StorageOptions::default()),
            State::in_memory(),
        )
    }

    /// The task's position in its job's input.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Which attempt this is, starting at 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The worker running the task, such as `local-1`.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// True once the job was cancelled or the task ran past its timeout.
    /// Long functions should check it now and then and return early; chunk
    /// readers check it on every read.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.overrun.load(Ordering::Relaxed)
    }

    /// Bytes the task has read from storage so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// A handle that tells, from any thread and after the call returns,
    /// whether the task should stop: for runtimes that interrupt code they
    /// do not control, such as a WebAssembly engine or a child process.
    pub fn stop_signal(&self) -> StopSignal {
        StopSignal {
            cancelled: self.cancelled.clone(),
            overrun: self.overrun.clone(),
        }
    }

    /// Credentials and endpoints for the stores the task reads.
    pub fn storage(&self) -> &StorageOptions {
        &self.storage
    }

    /// The job's shared objects: counters, maps, barriers and the rest,
    /// the same ones every other task of the job and the driver see (see
    /// [`FunctionExecutor::state`](crate::FunctionExecutor::state)). Its
    /// waits end with `StateError::Interrupted` within a second of the job
    /// being cancelled or the task passing its timeout.
    pub fn state(&self) -> &State {
        &self.state
    }

    pub(crate) fn cancel_flags(&self) -> [Arc<AtomicBool>; 2] {
        [self.cancelled.clone(), self.overrun.clone()]
    }

    pub(crate) fn read_meter(&self) -> &Arc<AtomicU64> {
        &self.bytes_read
    }
}

/// Whether a task was cancelled or ran past its timeout; see
/// [`TaskContext::stop_signal`].
#[derive(Clone, Debug)]
pub struct StopSignal {
    cancelled: Arc<AtomicBool>,
    overrun: Arc<AtomicBool>,
}

impl StopSignal {
    /// True once the task should stop.
    pub fn is_set(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.overrun.load(Ordering::Relaxed)
    }

    /// Why the task should stop, if it should.
    pub fn reason(&self) -> Option<&'static str> {
        if self.overrun.load(Ordering::Relaxed) {
            Some("the task ran past its timeout")
        } else if self.cancelled.load(Ordering::Relaxed) {
            Some("the job was cancelled")
        } else {
            None
        }
    }
}
