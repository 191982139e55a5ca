//! The runtime that drives storage I/O for callers on plain threads.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// The process-wide tokio runtime for storage I/O, created on first use.
///
/// Two worker threads are plenty: requests spend their time waiting on the
/// network, and local file I/O runs on tokio's blocking pool.
///
/// # Panics
///
/// If the operating system refuses to start its threads.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cloudbutton-storage")
            .enable_all()
            .build()
            .expect("cannot start the storage I/O runtime")
    })
}

/// Runs `future` on the storage [`runtime`] and waits for its output: how
/// plain threads (executor workers, the command line) call the async API.
///
/// # Panics
///
/// When called from within an async context, where the future should be
/// awaited instead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}
