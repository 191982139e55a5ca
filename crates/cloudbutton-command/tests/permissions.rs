//! A worker's permissions decide which commands run. Permissions are set
//! once per process, so this file is its own test binary.

use cloudbutton_command::{CommandError, CommandSpec, CommandTask, RUN_COMMAND, TaskInfo, run};
use cloudbutton_executor::permissions::{Permissions, set_permissions};
use cloudbutton_executor::{Payload, TaskContext};

#[test]
fn only_allowed_commands_run() {
    let only_grep = Permissions::only("worker w1", &["grep *".to_owned()], Vec::new()).unwrap();
    assert!(set_permissions(only_grep));

    let task = CommandTask::new(CommandSpec::new("cat"), Payload::Bytes(b"x\n".to_vec()));
    let error = RUN_COMMAND
        .call(task, &TaskContext::detached(0))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("worker w1 does not allow the command `cat`"),
        "{error}"
    );

    let error = run(
        &CommandSpec::new("cat"),
        &b""[..],
        None,
        &TaskInfo::new(0, "x"),
    )
    .unwrap_err();
    assert!(matches!(error, CommandError::NotAllowed(_)), "{error:?}");

    let task = CommandTask::new(
        CommandSpec::new("grep -c x"),
        Payload::Bytes(b"x\ny\nx\n".to_vec()),
    );
    let output = RUN_COMMAND.call(task, &TaskContext::detached(0)).unwrap();
    assert_eq!(output.as_slice(), b"2\n");
}
