//! CloudButton: serverless data analytics.
//!
//! Point it at data in object storage and at a function: it splits the data
//! into chunks, runs the function on every chunk in parallel and reduces the
//! results, on this machine's threads by default.
//!
//! ```no_run
//! use std::io::BufRead;
//! use cloudbutton::{FnResult, Function, FunctionExecutor, ObjectInput, ReduceBy, TaskContext};
//! use cloudbutton::executor::Chunk;
//!
//! fn count_lines(chunk: Chunk, ctx: &TaskContext) -> FnResult<u64> {
//!     Ok(chunk.open(ctx)?.lines().count() as u64)
//! }
//! fn add(counts: Vec<u64>, _: &TaskContext) -> FnResult<u64> {
//!     Ok(counts.iter().sum())
//! }
//! static COUNT_LINES: Function<Chunk, u64> = Function::new("doc::count_lines", count_lines);
//! static ADD: Function<Vec<u64>, u64> = Function::new("doc::add", add);
//! cloudbutton::register!(COUNT_LINES);
//! cloudbutton::register!(ADD);
//!
//! let executor = FunctionExecutor::new()?;
//! let input = ObjectInput::new(["data/text/"]).chunk_size(1 << 20);
//! let job = executor.map_reduce(&COUNT_LINES, input, &ADD, ReduceBy::All)?;
//! println!("{} lines", job.get_result()?[0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The parts live in their own crates, re-exported here: [`executor`],
//! [`storage`] and [`partition`]; [`wasm`] and [`command`] run WebAssembly
//! modules and commands as functions; [`shuffle`] holds the record formats
//! of sorting and the sort benchmark's generator and validator.

pub mod logging;
pub mod pi;
pub mod report;
pub mod text;

pub use cloudbutton_command as command;
pub use cloudbutton_executor as executor;
pub use cloudbutton_partition as partition;
pub use cloudbutton_shuffle as shuffle;
pub use cloudbutton_state as state;
pub use cloudbutton_storage as storage;
pub use cloudbutton_wasm as wasm;

pub use cloudbutton_executor::{
    FnResult, Function, FunctionExecutor, Job, JobSummary, ObjectInput, ReduceBy, TaskContext,
    Wait, register,
};
