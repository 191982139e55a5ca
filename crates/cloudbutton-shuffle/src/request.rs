//! [`SortRequest`]: what a sort is asked to do.

use crate::backup::BackupPolicy;
use crate::format::Format;
use crate::task::Straggler;

/// The memory bound of a task when none is given.
pub const DEFAULT_MEMORY_PER_WORKER: u64 = 256 * 1024 * 1024;

/// What to sort, where to, and within which memory.
#[derive(Clone, Debug)]
pub struct SortRequest {
    /// The input: objects, prefixes or globs, as `ObjectInput` reads them.
    /// Each must match an object.
    pub inputs: Vec<String>,
    /// The output prefix (a directory, or `s3://bucket/prefix/`), which
    /// must hold no object yet.
    pub output: String,
    /// The records' format and key.
    pub format: Format,
    /// The number of reducers, hence of output parts; by default, from
    /// the input size and the memory (see [`crate::plan`]).
    pub workers: Option<usize>,
    /// The memory bound of each task, in bytes.
    pub memory_per_worker: u64,
    /// The chunk size of the map tasks; by default half the memory. Smaller
    /// chunks make more map tasks; larger ones, more runs per task.
    pub chunk_size: Option<u64>,
    /// When to start backup copies of stragglers.
    pub backups: BackupPolicy,
    /// A test hook that makes one task slow.
    #[doc(hidden)]
    pub straggler: Option<Straggler>,
}

impl SortRequest {
    /// Sorts `inputs` into `output` with the default memory and reducers.
    pub fn new<S: Into<String>>(
        inputs: impl IntoIterator<Item = S>,
        output: impl Into<String>,
        format: Format,
    ) -> SortRequest {
        SortRequest {
            inputs: inputs.into_iter().map(Into::into).collect(),
            output: output.into(),
            format,
            workers: None,
            memory_per_worker: DEFAULT_MEMORY_PER_WORKER,
            chunk_size: None,
            backups: BackupPolicy::default(),
            straggler: None,
        }
    }
}
