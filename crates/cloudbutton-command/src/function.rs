//! The command function as the executor sees it: registered under a
//! stable name, so that workers on other machines find it.

use cloudbutton_executor::{FnResult, Function, TaskContext};
use serde_bytes::ByteBuf;

use crate::error::CommandError;
use crate::process::{check_allowed, run_allowed};
use crate::spec::{CommandTask, TaskInfo};

/// Runs a [`CommandTask`]: its command with its payload on stdin; the
/// result is the command's stdout. Stopping the task (a cancelled job, a
/// task timeout) kills the command's process group.
///
/// ```no_run
/// use cloudbutton_command::{CommandInputs, CommandSpec, RUN_COMMAND};
/// use cloudbutton_executor::{FunctionExecutor, ObjectInput};
///
/// let executor = FunctionExecutor::new()?;
/// let spec = CommandSpec::new("grep -c ERROR || true");
/// let input = CommandInputs::new(spec, ObjectInput::new(["s3://logs/"]));
/// let counts = executor.get_result(executor.map(&RUN_COMMAND, input)?)?;
/// let total: u64 = counts
///     .iter()
///     .map(|count| String::from_utf8_lossy(count).trim().parse::<u64>().unwrap())
///     .sum();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub static RUN_COMMAND: Function<CommandTask, ByteBuf> =
    Function::new("cloudbutton::command", run_command);
cloudbutton_executor::register!(RUN_COMMAND);

fn run_command(task: CommandTask, ctx: &TaskContext) -> FnResult<ByteBuf> {
    let info = TaskInfo::of_payload(ctx.index(), &task.payload);
    // Refuse a command before reading anything on its behalf.
    check_allowed(&task.spec)?;
    let input = task
        .payload
        .reader(ctx)
        .map_err(|source| CommandError::Input {
            command: task.spec.command.clone(),
            input: info.input.clone(),
            source,
        })?;
    let output = run_allowed(&task.spec, input, Some(ctx.stop_signal()), &info)?;
    Ok(ByteBuf::from(output))
}
