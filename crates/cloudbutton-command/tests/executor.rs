//! Command tasks run by the executor: chunks of real files, reducers over
//! map outputs, cancellation.

mod support;

use std::time::{Duration, Instant};

use cloudbutton_command::{CommandInputs, CommandSpec, CommandTask, RUN_COMMAND};
use cloudbutton_executor::{
    FailureKind, InputSettings, ObjectInput, Payload, TaskContext, TaskInputs, TaskState, lookup,
};
use support::{dies_within, executor, read_pid};

/// Log lines, about one in seven an error.
fn log_lines(lines: usize, seed: usize) -> String {
    (0..lines)
        .map(|i| {
            let level = if (i * 31 + seed).is_multiple_of(7) {
                "ERROR"
            } else {
                "INFO"
            };
            format!("{level} request {i} took {}ms\n", (i * 17 + seed) % 900)
        })
        .collect()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn chunks_of_files_run_in_parallel_and_come_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let files = [log_lines(3000, 1), log_lines(1, 2), log_lines(5000, 3)];
    for (i, contents) in files.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.log")), contents).unwrap();
    }
    let location = dir.path().to_str().unwrap();
    let objects = ObjectInput::new([location]).chunk_size(16 << 10);
    let executor = executor(2);

    // Every record read exactly once, in object and chunk order.
    let job = executor
        .map(
            &RUN_COMMAND,
            CommandInputs::new(CommandSpec::new("cat"), objects.clone()),
        )
        .unwrap();
    let chunks = executor.get_result(job).unwrap();
    assert!(chunks.len() > 10, "{} chunks", chunks.len());
    let whole: Vec<u8> = chunks
        .iter()
        .flat_map(|chunk| chunk.iter().copied())
        .collect();
    assert_eq!(text(&whole), files.concat());

    // Counts per chunk add up to the count of the whole.
    let spec = CommandSpec::new("grep -c ERROR || true");
    let job = executor
        .map(&RUN_COMMAND, CommandInputs::new(spec, objects.clone()))
        .unwrap();
    let counts = executor.get_result(job).unwrap();
    let total: usize = counts
        .iter()
        .map(|count| text(count).trim().parse::<usize>().unwrap())
        .sum();
    let expected = files
        .concat()
        .lines()
        .filter(|l| l.contains("ERROR"))
        .count();
    assert!(expected > 1000, "{expected}");
    assert_eq!(total, expected);

    // Each command knows its chunk.
    let spec = CommandSpec::new(
        "echo \"$CLOUDBUTTON_TASK_INDEX $CLOUDBUTTON_OBJECT $CLOUDBUTTON_PART/$CLOUDBUTTON_PARTS\"",
    );
    let job = executor
        .map(&RUN_COMMAND, CommandInputs::new(spec, objects))
        .unwrap();
    let positions = executor.get_result(job).unwrap();
    let first = format!("0 file://{}/0.log 0/", dir.path().display());
    assert!(
        text(&positions[0]).starts_with(&first),
        "{}",
        text(&positions[0])
    );
    let last = text(positions.last().unwrap()).trim().to_owned();
    let (index, rest) = last.split_once(' ').unwrap();
    assert_eq!(index, (positions.len() - 1).to_string());
    let (_, part) = rest.rsplit_once(' ').unwrap();
    let (part, parts) = part.split_once('/').unwrap();
    assert_eq!(
        part.parse::<u32>().unwrap() + 1,
        parts.parse::<u32>().unwrap()
    );
}

#[test]
fn a_reducer_command_reads_the_map_outputs_one_after_another() {
    let executor = executor(2);
    let tasks: Vec<CommandTask> = ["a\nb\n", "c\n", "d\ne\nf\n"]
        .into_iter()
        .map(|text| CommandTask::new(CommandSpec::new("wc -l"), Payload::Bytes(text.into())))
        .collect();
    let counts = executor
        .get_result(executor.map(&RUN_COMMAND, tasks).unwrap())
        .unwrap();
    let reduce = CommandTask::new(
        CommandSpec::new("awk '{s+=$1} END {print s}'"),
        Payload::Parts(counts),
    );
    let total = executor
        .call_async(&RUN_COMMAND, reduce)
        .get_result()
        .unwrap();
    assert_eq!(text(&total), "6\n");
}

#[test]
fn a_missing_object_fails_its_task_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.log");
    std::fs::write(&path, log_lines(100, 0)).unwrap();
    let objects = ObjectInput::new([path.to_str().unwrap()]);
    let settings = InputSettings {
        default_chunk_size: 1 << 20,
        storage: Default::default(),
    };
    let tasks = CommandInputs::new(CommandSpec::new("cat"), objects)
        .into_tasks(&settings)
        .unwrap();
    std::fs::remove_file(&path).unwrap();

    let (task, _) = tasks.into_iter().next().unwrap();
    let error = RUN_COMMAND
        .call(task, &TaskContext::detached(0))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("command `cat` cannot read its input"),
        "{error}"
    );
    assert!(error.contains("gone.log"), "{error}");
}

#[test]
fn cancelling_the_job_kills_a_running_command() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let executor = executor(1);
    let spec = CommandSpec::new(format!(
        "sleep 1000 & echo $! > {}; wait",
        pidfile.display()
    ));
    let task = CommandTask::new(spec, Payload::Bytes(Vec::new()));
    let job = executor.map(&RUN_COMMAND, vec![task]).unwrap();

    let sleeper = read_pid(&pidfile, Duration::from_secs(5));
    assert_eq!(job.states(), [TaskState::Running]);
    let start = Instant::now();
    job.cancel();
    assert!(
        dies_within(sleeper, Duration::from_secs(1)),
        "the command survived its job"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    let failure = job.into_results().pop().unwrap().unwrap_err();
    assert_eq!(failure.kind, FailureKind::Cancelled);
}

#[test]
fn a_task_timeout_kills_the_command_too() {
    let mut executor = executor(1);
    executor.set_timeout(Some(Duration::from_millis(200)));
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let spec = CommandSpec::new(format!("echo $$ > {}; exec sleep 1000", pidfile.display()));
    let task = CommandTask::new(spec, Payload::Bytes(Vec::new()));
    let job = executor.map(&RUN_COMMAND, vec![task]).unwrap();
    let failure = job.into_results().pop().unwrap().unwrap_err();
    assert!(matches!(failure.kind, FailureKind::Timeout(_)), "{failure}");
    let sleeper = read_pid(&pidfile, Duration::from_secs(1));
    assert!(dies_within(sleeper, Duration::from_secs(1)));
}

#[test]
fn the_function_is_registered_under_its_stable_name() {
    assert_eq!(RUN_COMMAND.name(), "cloudbutton::command");
    assert!(lookup("cloudbutton::command").is_some());
    let task = CommandTask::new(
        CommandSpec::new("tr a-z A-Z"),
        Payload::Bytes(b"ok".to_vec()),
    );
    let output = RUN_COMMAND.call(task, &TaskContext::detached(0)).unwrap();
    assert_eq!(text(&output), "OK");
}
