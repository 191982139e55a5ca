//! Running one command: a shell in its own process group, fed and drained
//! by threads while the calling thread watches the clock.
//!
//! Four threads serve a command, all scoped to the call: one writes the
//! input to its stdin, one reads its stdout up to the output limit, one
//! reads its stderr, and one waits for the shell to exit. The calling
//! thread waits for that exit, checking the time limit and the task's stop
//! signal every [`TICK`] meanwhile, and kills the whole group when either
//! says so.
//!
//! The command ends when its shell ends. Whatever it left running in the
//! background is killed then, before its exit is reaped: background
//! children would otherwise hold stdout open, so that the output never
//! ends, and outlive the task on a worker that runs many.

use std::env;
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use cloudbutton_executor::StopSignal;
use cloudbutton_executor::permissions::permissions;
use nix::sys::signal::Signal;

use crate::error::CommandError;
use crate::group::{Group, wait_for_exit};
use crate::spec::{CommandSpec, TaskInfo, environment, valid_variable_name};
use crate::stderr::StderrTail;

/// How often the time limit and the stop signal are checked while a
/// command runs.
const TICK: Duration = Duration::from_millis(10);

/// The size of the writes to a command's stdin.
const FEED_BUFFER: usize = 64 * 1024;

/// Runs `spec`'s command with `input` on its stdin and returns its stdout.
///
/// The command must be allowed by this process's
/// [`permissions`](cloudbutton_executor::permissions::permissions), which is
/// checked before anything starts. It runs as `/bin/sh -c COMMAND` in a new
/// process group, with the environment of [`environment`]. It succeeds if
/// the shell exits with status 0 and writes at most
/// [`output_limit`](CommandSpec::output_limit) bytes on stdout. A command
/// that exits without reading all of its input, such as `head -n 1`, is not
/// an error.
///
/// The whole process group is killed when the command runs past its time
/// limit, writes too much, when `stop` is set (the job was cancelled or the
/// task ran past its timeout), and when the shell exits, so that nothing it
/// left in the background lingers.
///
/// ```
/// use cloudbutton_command::{CommandSpec, TaskInfo, run};
///
/// let spec = CommandSpec::new("tr a-z A-Z");
/// let output = run(&spec, &b"shout\n"[..], None, &TaskInfo::new(0, "a greeting"))?;
/// assert_eq!(output, b"SHOUT\n");
/// # Ok::<(), cloudbutton_command::CommandError>(())
/// ```
pub fn run(
    spec: &CommandSpec,
    input: impl Read + Send,
    stop: Option<StopSignal>,
    task: &TaskInfo,
) -> Result<Vec<u8>, CommandError> {
    check_allowed(spec)?;
    run_allowed(spec, input, stop, task)
}

/// Fails unless this process may run `spec`: what to check before even
/// opening a command's input.
pub(crate) fn check_allowed(spec: &CommandSpec) -> Result<(), CommandError> {
    permissions()
        .check_command(&spec.command)
        .map_err(CommandError::NotAllowed)?;
    match spec.env.iter().find(|(name, _)| !valid_variable_name(name)) {
        Some((name, _)) => Err(CommandError::InvalidVariable {
            command: spec.command.clone(),
            name: name.clone(),
        }),
        None => Ok(()),
    }
}

/// [`run`], once [`check_allowed`] said yes.
pub(crate) fn run_allowed(
    spec: &CommandSpec,
    input: impl Read + Send,
    stop: Option<StopSignal>,
    task: &TaskInfo,
) -> Result<Vec<u8>, CommandError> {
    let failure = Failure { spec, task };
    if let Some(reason) = stop.as_ref().and_then(StopSignal::reason) {
        return Err(failure.stopped(reason));
    }
    let started = Instant::now();
    let deadline = spec
        .time_limit()
        .and_then(|limit| started.checked_add(limit));

    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&spec.command)
        .env_clear()
        .envs(environment(spec, task, env::var_os("PATH")))
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| failure.spawn(source))?;
    let group = Group::led_by(&child);
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    tracing::debug!(
        task = task.index,
        command = spec.command,
        "started a command"
    );

    let ended = thread::scope(|scope| {
        let feeder = scope.spawn(|| feed(input, stdin, stop.as_ref()));
        let reader = scope.spawn(|| read_output(stdout, spec.output_limit, group));
        let logger = scope.spawn(|| read_stderr(stderr, task.index));
        let (exited, exit) = mpsc::channel();
        let child = &mut child;
        scope.spawn(move || {
            wait_for_exit(child);
            // The receiver only goes away once the shell has exited.
            let _ = exited.send(());
        });

        let kill = watch(&exit, deadline, stop.as_ref(), group);
        group.kill();
        Ended {
            kill,
            output: reader.join().expect("the stdout reader does not panic"),
            stderr: logger.join().expect("the stderr reader does not panic"),
            fed: feeder.join().expect("the stdin writer does not panic"),
        }
    });
    group.ended();
    let status = child.wait().map_err(|source| failure.pipe(source))?;
    tracing::debug!(
        task = task.index,
        command = spec.command,
        %status,
        elapsed = ?started.elapsed(),
        "a command ended"
    );
    ended.result(status, stop.as_ref(), &failure)
}

/// Why the watch killed a command.
#[derive(Debug)]
enum Kill {
    TimedOut,
    Stopped(&'static str),
}

/// Waits until the shell exits, killing its group once the deadline passes
/// or `stop` is set; says why it killed, if it did.
fn watch(
    exit: &mpsc::Receiver<()>,
    deadline: Option<Instant>,
    stop: Option<&StopSignal>,
    group: Group,
) -> Option<Kill> {
    if deadline.is_none() && stop.is_none() {
        let _ = exit.recv();
        return None;
    }

    let mut kill = None;
    loop {
        let tick = match (&kill, deadline) {
            (None, Some(deadline)) => deadline.saturating_duration_since(Instant::now()).min(TICK),
            _ => TICK,
        };
        match exit.recv_timeout(tick) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return kill,
            Err(RecvTimeoutError::Timeout) if kill.is_some() => {}
            Err(RecvTimeoutError::Timeout) => {
                if let Some(reason) = stop.and_then(StopSignal::reason) {
                    kill = Some(Kill::Stopped(reason));
                } else if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    kill = Some(Kill::TimedOut);
                }
                if kill.is_some() {
                    group.kill();
                }
            }
        }
    }
}

/// Why feeding the input ended early.
#[derive(Debug)]
enum FeedError {
    /// The input could not be read.
    Read(io::Error),
    /// The command's stdin could not be written, for a reason other than
    /// the command no longer reading it.
    Write(io::Error),
}

/// Copies `input` to the command's stdin, then closes it. A command that
/// stops reading (its stdin closed, `EPIPE`) ends the copy without error.
fn feed(
    mut input: impl Read,
    mut stdin: ChildStdin,
    stop: Option<&StopSignal>,
) -> Result<(), FeedError> {
    let mut buffer = vec![0; FEED_BUFFER];
    loop {
        let length = match input.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(length) => length,
            // Chunk readers fail with `Interrupted` once the task is told to
            // stop; anything else interrupted is worth another try.
            Err(error)
                if error.kind() == ErrorKind::Interrupted
                    && !stop.is_some_and(StopSignal::is_set) =>
            {
                continue;
            }
            Err(error) => return Err(FeedError::Read(error)),
        };
        match stdin.write_all(&buffer[..length]) {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::BrokenPipe => return Ok(()),
            Err(error) => return Err(FeedError::Write(error)),
        }
    }
}

/// Why reading stdout failed.
#[derive(Debug)]
enum OutputError {
    /// The command wrote more than the limit; its group was killed.
    OverLimit,
    /// The pipe could not be read.
    Read(io::Error),
}

/// Reads stdout to its end, or kills the group as soon as it passes `limit`.
fn read_output(stdout: ChildStdout, limit: u64, group: Group) -> Result<Vec<u8>, OutputError> {
    let mut output = Vec::new();
    stdout
        .take(limit.saturating_add(1))
        .read_to_end(&mut output)
        .map_err(OutputError::Read)?;
    if output.len() as u64 > limit {
        group.kill();
        return Err(OutputError::OverLimit);
    }
    Ok(output)
}

/// Reads stderr to its end, logging its lines, and returns its last lines.
fn read_stderr(mut stderr: ChildStderr, task: usize) -> String {
    let log = |line: &[u8]| tracing::info!(task, "{}", String::from_utf8_lossy(line));
    let mut tail = StderrTail::default();
    let mut buffer = [0; 8192];
    loop {
        match stderr.read(&mut buffer) {
            Ok(0) => break,
            Ok(length) => tail.feed(&buffer[..length], log),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::debug!(task, %error, "cannot read the stderr of a command");
                break;
            }
        }
    }
    tail.finish(log)
}

/// What the threads serving a command saw.
struct Ended {
    kill: Option<Kill>,
    output: Result<Vec<u8>, OutputError>,
    stderr: String,
    fed: Result<(), FeedError>,
}

impl Ended {
    /// The command's result: its stdout if all went well, else the first
    /// cause of its failure. A kill explains everything after it, and a
    /// failed read of the input explains an exit status.
    fn result(
        self,
        status: ExitStatus,
        stop: Option<&StopSignal>,
        failure: &Failure,
    ) -> Result<Vec<u8>, CommandError> {
        match self.kill {
            Some(Kill::TimedOut) => return Err(failure.timed_out()),
            Some(Kill::Stopped(reason)) => return Err(failure.stopped(reason)),
            None => {}
        }
        let output = match self.output {
            Ok(output) => output,
            Err(OutputError::OverLimit) => return Err(failure.over_limit()),
            Err(OutputError::Read(source)) => return Err(failure.pipe(source)),
        };
        // A stop that came as the command ended may have cut its input short.
        if let Some(reason) = stop.and_then(StopSignal::reason) {
            return Err(failure.stopped(reason));
        }
        match self.fed {
            Ok(()) => {}
            Err(FeedError::Read(source)) => return Err(failure.input(source)),
            Err(FeedError::Write(source)) => return Err(failure.pipe(source)),
        }

        match (status.code(), status.signal()) {
            (Some(code), _) if failure.spec.succeeded(code) => Ok(output),
            (Some(code), _) => Err(failure.exit(code, self.stderr)),
            (None, Some(signal)) => Err(failure.signal(signal, self.stderr)),
            (None, None) => Err(failure.exit(-1, self.stderr)),
        }
    }
}

/// Builds the errors of one command on one input.
struct Failure<'a> {
    spec: &'a CommandSpec,
    task: &'a TaskInfo,
}

impl Failure<'_> {
    fn command(&self) -> String {
        self.spec.command.clone()
    }

    fn input_name(&self) -> String {
        self.task.input.clone()
    }

    fn spawn(&self, source: io::Error) -> CommandError {
        CommandError::Spawn {
            command: self.command(),
            input: self.input_name(),
            source,
        }
    }

    fn input(&self, source: io::Error) -> CommandError {
        CommandError::Input {
            command: self.command(),
            input: self.input_name(),
            source,
        }
    }

    fn pipe(&self, source: io::Error) -> CommandError {
        CommandError::Pipe {
            command: self.command(),
            input: self.input_name(),
            source,
        }
    }

    fn exit(&self, code: i32, stderr: String) -> CommandError {
        CommandError::Exit {
            command: self.command(),
            input: self.input_name(),
            code,
            stderr,
        }
    }

    fn signal(&self, signal: i32, stderr: String) -> CommandError {
        let signal = match Signal::try_from(signal) {
            Ok(name) => format!("{signal} ({})", name.as_str()),
            Err(_) => signal.to_string(),
        };
        CommandError::Signal {
            command: self.command(),
            input: self.input_name(),
            signal,
            stderr,
        }
    }

    fn over_limit(&self) -> CommandError {
        CommandError::OutputLimit {
            command: self.command(),
            input: self.input_name(),
            limit: self.spec.output_limit,
        }
    }

    fn timed_out(&self) -> CommandError {
        CommandError::TimedOut {
            command: self.command(),
            input: self.input_name(),
            limit: self.spec.time_limit().unwrap_or_default(),
        }
    }

    fn stopped(&self, reason: &str) -> CommandError {
        CommandError::Stopped {
            command: self.command(),
            input: self.input_name(),
            reason: reason.to_owned(),
        }
    }
}
