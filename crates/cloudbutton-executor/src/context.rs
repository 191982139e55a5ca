//! What a running task knows about itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
}

impl TaskContext {
    pub(crate) fn new(
        index: usize,
        attempt: u32,
        worker: String,
        cancelled: Arc<AtomicBool>,
        overrun: Arc<AtomicBool>,
        storage: Arc<StorageOptions>,
    ) -> Self {
        Self {
            index,
            attempt,
            worker,
            cancelled,
            overrun,
            bytes_read: Arc::new(AtomicU64::new(0)),
            storage,
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

    pub(crate) fn cancel_flags(&self) -> [Arc<AtomicBool>; 2] {
        [self.cancelled.clone(), self.overrun.clone()]
    }

    pub(crate) fn read_meter(&self) -> &Arc<AtomicU64> {
        &self.bytes_read
    }

    pub(crate) fn storage_options(&self) -> &StorageOptions {
        &self.storage
    }
}
