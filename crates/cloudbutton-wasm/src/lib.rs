//! WebAssembly functions on CloudButton tasks, run by wasmtime.
//!
//! A job names a module and how to run it ([`WasmSpec`]); each task
//! ([`WasmTask`]) runs it on one input through the registered function
//! [`RUN_WASM`], and the module's output is the task's result.
//!
//! - **Two kinds of module.** A WASI preview-1 command (exports `_start`)
//!   reads the input on stdin and writes the result to stdout; stderr goes
//!   to the log, and `proc_exit` with a code other than 0 fails the task.
//!   A reactor (exports `cloudbutton_run`) uses the small host interface
//!   of [`abi`] instead, and need not import WASI at all.
//! - **Shared state.** Host calls of the same interface reach the job's
//!   shared objects ([`TaskContext::state`](cloudbutton_executor::TaskContext::state)):
//!   counters, sums, maps, lists, blobs, barriers, futures, latches and
//!   semaphores. Map, list and future values are the guest's raw bytes;
//!   `docs/wasm-abi.md` says how a driver reads them.
//! - **A sandbox.** The guest sees only the job's arguments and
//!   environment, no file system unless the job grants a directory (which
//!   the worker's [permissions](cloudbutton_executor::permissions) must
//!   allow), and no network.
//! - **Limits per task.** Linear memory ([`WasmSpec::memory_limit`]),
//!   wall-clock time by epoch interruption ([`WasmSpec::timeout_ms`]), an
//!   optional fuel budget for deterministic CPU limits ([`WasmSpec::fuel`]),
//!   and output ([`WasmSpec::output_limit`]). A task past a limit, trapped,
//!   or stopped because its job was cancelled fails alone, with a message
//!   that says which; the worker goes on serving other tasks.
//! - **Compiled once.** [`prepare`] hashes and compiles a module on the
//!   driver and can publish the compiled artifact to the storage shared
//!   with workers. A task finds the compiled module in this process's
//!   memory, else the disk cache (`$CLOUDBUTTON_WASM_CACHE`, by default
//!   the user's cache directory under `cloudbutton/wasm`), else beside the
//!   module's source in storage, and compiles only as a last resort.
//!   Instances come from a pooling allocator through a cached
//!   `InstancePre`, so a task costs microseconds.
//!
//! ```no_run
//! use cloudbutton_executor::{FunctionExecutor, Payload};
//! use cloudbutton_storage::StorageOptions;
//! use cloudbutton_wasm::{RUN_WASM, WasmSpec, WasmTask, prepare};
//!
//! let module = prepare("upper.wasm", &StorageOptions::default(), None, false)?;
//! let spec = WasmSpec::new(module);
//! let tasks: Vec<WasmTask> = ["one", "two"]
//!     .iter()
//!     .map(|text| WasmTask {
//!         spec: spec.clone(),
//!         payload: Payload::Bytes(text.as_bytes().to_vec()),
//!     })
//!     .collect();
//! let executor = FunctionExecutor::new()?;
//! let outputs = executor.map(&RUN_WASM, tasks)?.get_result()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Limits: a task's input is read whole into memory before the module
//! starts, and its output is held whole until it ends. A guest blocked in
//! a host call (such as a long WASI `poll_oneoff` sleep) is interrupted
//! only when it returns to WebAssembly; the state calls that wait (a
//! barrier, a future, a latch, a semaphore) are the exception, as they
//! wait at most the task's remaining time and notice a cancelled job
//! within 100 ms.

pub mod abi;
mod cache;
mod engine;
mod error;
mod function;
mod module;
mod prepare;
mod run;
mod spec;
mod state_abi;
mod wasi;

pub use cache::CACHE_DIR_VAR;
pub use error::{TaskFailure, WasmError};
pub use function::RUN_WASM;
pub use prepare::prepare;
pub use spec::{
    DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, ModuleRef, Preopen, WasmSpec, WasmTask,
};

/// Hooks for tests of the caches; not part of the API.
#[doc(hidden)]
pub mod testing {
    pub use crate::cache::{clear_memory_cache, compilations_on_this_thread, use_cache_dir};
}
