//! The runner on its own: real processes, fed and drained through pipes.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cloudbutton_command::{CommandError, CommandSpec, TaskInfo, run};
use cloudbutton_executor::{Payload, TaskContext};
use support::{dies_within, numbered_lines, read_pid};

fn task() -> TaskInfo {
    TaskInfo::new(4, "test input")
}

fn run_on(spec: &CommandSpec, input: &[u8]) -> Result<Vec<u8>, CommandError> {
    run(spec, input, None, &task())
}

#[test]
fn cat_round_trips_more_than_the_pipes_hold_both_ways() {
    // Bytes of every value, in a pattern that a lost or repeated block breaks.
    let input: Vec<u8> = (0..20u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let output = run_on(&CommandSpec::new("cat"), &input).unwrap();
    assert!(output == input, "cat changed {} bytes", input.len());
}

#[test]
fn empty_input_gives_empty_output() {
    assert_eq!(run_on(&CommandSpec::new("cat"), b"").unwrap(), b"");
}

#[test]
fn wc_counts_the_lines_of_all_parts() {
    let payload = Payload::Parts(vec![
        numbered_lines(3).into(),
        serde_bytes::ByteBuf::new(),
        numbered_lines(4).into(),
    ]);
    let ctx = TaskContext::detached(0);
    let input = payload.reader(&ctx).unwrap();
    let output = run(&CommandSpec::new("wc -l"), input, None, &task()).unwrap();
    assert_eq!(String::from_utf8(output).unwrap().trim(), "7");
}

#[test]
fn a_command_that_stops_reading_early_succeeds() {
    let input = numbered_lines(1_000_000);
    let output = run_on(&CommandSpec::new("head -n 1"), &input).unwrap();
    assert_eq!(output, b"line 0\n");
    let output = run_on(&CommandSpec::new("true"), &input).unwrap();
    assert_eq!(output, b"");
}

#[test]
fn a_pipeline_runs_in_the_shell() {
    let spec = CommandSpec::new("grep 7 | sort -r | head -n 2");
    let output = run_on(&spec, &numbered_lines(20)).unwrap();
    assert_eq!(output, b"line 7\nline 17\n");
}

#[test]
fn a_failing_command_reports_its_code_and_the_end_of_its_stderr() {
    let spec = CommandSpec::new("echo boom >&2; exit 3");
    let error = run_on(&spec, b"").unwrap_err();
    assert!(
        matches!(error, CommandError::Exit { code: 3, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "command `echo boom >&2; exit 3` on test input exited with code 3: boom"
    );

    // A long stderr: only its end, from a line start.
    let spec = CommandSpec::new("seq 1 100000 >&2; echo 'the last words' >&2; exit 1");
    let error = run_on(&spec, b"").unwrap_err().to_string();
    assert!(
        error.ends_with("\n99999\n100000\nthe last words"),
        "{error}"
    );
    assert!(error.contains("exited with code 1: ...9"), "{error}");
    assert!(error.len() < 4096 + 200, "{}", error.len());
}

#[test]
fn grep_without_a_match_fails_unless_told_otherwise() {
    let error = run_on(&CommandSpec::new("grep -c ERROR"), b"fine\n").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("exited with code 1"), "{message}");
    assert!(message.contains("--ok-exit 1"), "{message}");
    let output = run_on(&CommandSpec::new("grep -c ERROR || true"), b"fine\n").unwrap();
    assert_eq!(output, b"0\n");
    // Status 1 as an answer; status 2 (a bad pattern) still fails.
    let output = run_on(&CommandSpec::new("grep -c ERROR").ok_exit(1), b"fine\n").unwrap();
    assert_eq!(output, b"0\n");
    let error = run_on(&CommandSpec::new("grep -c '['").ok_exit(1), b"fine\n").unwrap_err();
    assert!(error.to_string().contains("exited with code 2"), "{error}");
}

#[test]
fn a_command_killed_by_a_signal_says_which() {
    let error = run_on(&CommandSpec::new("echo dying >&2; kill -9 $$"), b"").unwrap_err();
    assert_eq!(
        error.to_string(),
        "command `echo dying >&2; kill -9 $$` on test input was killed by signal 9 (SIGKILL): dying"
    );
}

#[test]
fn too_much_output_kills_the_command_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let spec = CommandSpec::new(format!("echo $$ > {}; exec yes", pidfile.display()))
        .output_limit(1 << 20);
    let error = run_on(&spec, b"").unwrap_err();
    assert!(
        matches!(error, CommandError::OutputLimit { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("exceeds the limit of 1 MiB"),
        "{error}"
    );
    let pid = read_pid(&pidfile, Duration::from_secs(1));
    assert!(dies_within(pid, Duration::from_secs(1)), "yes still runs");

    // Exactly the limit is fine.
    let spec = CommandSpec::new("head -c 1000").output_limit(1000);
    assert_eq!(run_on(&spec, &[b'x'; 5000]).unwrap().len(), 1000);
}

#[test]
fn the_time_limit_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let spec = CommandSpec::new(format!(
        "sleep 1000 & echo $! > {}; sleep 1000",
        pidfile.display()
    ))
    .timeout(Duration::from_millis(300));
    let start = Instant::now();
    let error = run_on(&spec, b"").unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(error, CommandError::TimedOut { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("ran past its time limit of 300ms"),
        "{error}"
    );
    let background = read_pid(&pidfile, Duration::from_secs(1));
    assert!(
        dies_within(background, Duration::from_secs(1)),
        "the background sleep survived"
    );
}

#[test]
fn what_a_command_leaves_in_the_background_is_killed_when_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // The background sleep holds stdout open: without the kill, the output
    // would not end for 1000 seconds.
    let spec = CommandSpec::new(format!(
        "sleep 1000 & echo $! > {}; echo done",
        pidfile.display()
    ));
    let start = Instant::now();
    assert_eq!(run_on(&spec, b"").unwrap(), b"done\n");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let background = read_pid(&pidfile, Duration::from_secs(1));
    assert!(dies_within(background, Duration::from_secs(1)));
}

#[test]
fn the_environment_is_path_the_task_and_the_job_only() {
    let spec = CommandSpec::new("env").env("MARKER", "a value with = and spaces");
    let output = String::from_utf8(run_on(&spec, b"").unwrap()).unwrap();

    // Variables the shell sets for itself do not come from the host.
    let shell_own = ["PWD", "OLDPWD", "SHLVL", "_"];
    let names: BTreeSet<&str> = output
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| !shell_own.contains(name))
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["CLOUDBUTTON_TASK_INDEX", "MARKER", "PATH"]),
        "{output}"
    );
    assert!(output.contains("CLOUDBUTTON_TASK_INDEX=4\n"), "{output}");
    assert!(
        output.contains("MARKER=a value with = and spaces\n"),
        "{output}"
    );
    // Cargo sets this for every test process; it must not leak.
    assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
    assert!(!output.contains("CARGO_PKG_NAME"), "{output}");
}

#[test]
fn a_bad_variable_name_fails_before_running() {
    let spec = CommandSpec::new("true").env("A=B", "x");
    let error = run_on(&spec, b"").unwrap_err();
    assert!(
        matches!(error, CommandError::InvalidVariable { ref name, .. } if name == "A=B"),
        "{error:?}"
    );
}

#[test]
fn an_input_that_cannot_be_read_fails_the_command() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("the disk is on fire"))
        }
    }
    let error = run(&CommandSpec::new("cat"), Broken, None, &task()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "command `cat` cannot read its input test input: the disk is on fire"
    );
}
