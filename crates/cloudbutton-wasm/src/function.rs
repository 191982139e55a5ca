//! The registered function that runs a [`WasmTask`].

use cloudbutton_executor::{FnResult, Function, TaskContext};
use serde_bytes::ByteBuf;

use crate::spec::WasmTask;

/// Runs a WebAssembly task: the module's output, or an error naming the
/// module, the input and what happened. Registered as
/// `cloudbutton::wasm`, so workers running the same program find it.
pub static RUN_WASM: Function<WasmTask, ByteBuf> = Function::new("cloudbutton::wasm", run_wasm);
cloudbutton_executor::register!(RUN_WASM);

fn run_wasm(task: WasmTask, ctx: &TaskContext) -> FnResult<ByteBuf> {
    Ok(ByteBuf::from(crate::run::run(task, ctx)?))
}
