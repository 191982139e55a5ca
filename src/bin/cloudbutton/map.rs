//! `cloudbutton map`: run a WebAssembly module or a shell command on every
//! chunk of the input, in parallel, and optionally reduce the outputs with
//! another one.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytesize::ByteSize;
use clap::Args;
use cloudbutton::command::{CommandSpec, CommandTask};
use cloudbutton::executor::config::{BackendKind, Config, parse_duration, parse_size};
use cloudbutton::executor::{FunctionExecutor, Job, ObjectInput, Payload, Wait, wrap};
use cloudbutton::report::to_stderr;
use cloudbutton::storage::{Location, Selector, Storage, block_on};
use cloudbutton::wasm::{Preopen, WasmSpec, WasmTask};
use serde_bytes::ByteBuf;

/// Run a function on every chunk of the input, in parallel.
///
/// The function is a WebAssembly module (a `.wasm` file or its URL in
/// storage) or, with --cmd, a shell command. Either one reads its chunk on
/// standard input and writes its output to standard output. Without a
/// reducer, the outputs are written in input order: to standard output, or
/// with --output PREFIX one object per chunk (`PREFIX/part-00000`, ...).
/// With --reduce or --reduce-cmd, the map outputs, concatenated in input
/// order, are the reducer's standard input, and its output is the result.
///
/// Examples:
///
///   cloudbutton map --cmd 'grep -c ERROR' --input s3://logs/ --reduce-cmd "awk '{s+=$1} END {print s}'"
///
///   cloudbutton map wordcount.wasm --input corpus/ --chunk-size 16MiB --reduce merge.wasm
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct MapArgs {
    /// The WebAssembly module to run on each chunk: a path or a URL.
    #[arg(
        value_name = "FUNCTION",
        required_unless_present = "cmd",
        conflicts_with = "cmd"
    )]
    function: Option<String>,

    /// Run this shell command on each chunk instead (with /bin/sh -c).
    #[arg(long, value_name = "COMMAND")]
    cmd: Option<String>,

    /// What to read: files, directories, prefixes ending in `/`, globs or
    /// URLs (repeat, or give several).
    #[arg(long, short, required = true, num_args = 1.., value_name = "URL")]
    input: Vec<String>,

    /// Size of each chunk, such as 16MiB [default: 64MiB, or
    /// `[partition] chunk_size`].
    #[arg(long, value_parser = parse_size, value_name = "SIZE", conflicts_with = "chunk_number")]
    chunk_size: Option<ByteSize>,

    /// Split each object into this many chunks instead.
    #[arg(long, value_name = "N")]
    chunk_number: Option<u64>,

    /// Reduce the map outputs with this WebAssembly module.
    #[arg(long, value_name = "FUNCTION", conflicts_with = "reduce_cmd")]
    reduce: Option<String>,

    /// Reduce the map outputs with this shell command.
    #[arg(long, value_name = "COMMAND")]
    reduce_cmd: Option<String>,

    /// Where to write: with a reducer, the object (or file) of the result;
    /// without, the prefix (or directory) of one object per chunk
    /// [default: standard output].
    #[arg(long, short, value_name = "URL")]
    output: Option<String>,

    /// Stop a task that runs longer than this, such as 30s.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    timeout: Option<Duration>,

    /// The most linear memory a WebAssembly task may use [default: 1GiB].
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    memory_limit: Option<ByteSize>,

    /// The most output a task may write before it fails [default: 256MiB].
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    output_limit: Option<ByteSize>,

    /// Count this exit status of a command as a success too, as grep's 1
    /// for "no match" (repeat for several).
    #[arg(long, value_name = "CODE", allow_negative_numbers = true)]
    ok_exit: Vec<i32>,

    /// Run a failed task again, up to this many times.
    #[arg(long, value_name = "N")]
    retries: Option<u32>,

    /// An argument for the WebAssembly modules (repeat for several).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    args: Vec<String>,

    /// An environment variable for the functions, NAME=VALUE (repeat for
    /// several). Nothing else of this environment reaches them, but PATH for
    /// commands.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,

    /// Grant WebAssembly modules this host directory, as HOST or
    /// HOST:GUEST, read-only unless --dir-writable.
    #[arg(long, value_name = "HOST[:GUEST]")]
    dir: Option<String>,

    /// Let the modules write to the --dir directory.
    #[arg(long, requires = "dir")]
    dir_writable: bool,

    /// Give each WebAssembly task this much fuel, a deterministic budget of
    /// work, instead of only a time limit.
    #[arg(long, value_name = "UNITS")]
    fuel: Option<u64>,

    /// Print no summary.
    #[arg(long, short)]
    quiet: bool,
}

/// A program-like function and the settings of its tasks.
#[derive(Clone)]
enum Program {
    Wasm(WasmSpec),
    Command(CommandSpec),
}

/// The signal that interrupted this program, once one has.
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// Runs the map (and reduce) job and writes its output.
pub fn run(args: MapArgs) -> Result<()> {
    check_kinds(&args)?;
    stop_commands_on_signals()?;
    let outcome = run_job(args);
    // Killing the commands fails their tasks: that failure is the signal's
    // doing, so exit as the signal would have, not with the job's error.
    let signal = INTERRUPTED.load(Ordering::SeqCst);
    if signal != 0 {
        std::process::exit(128 + signal);
    }
    outcome
}

fn run_job(args: MapArgs) -> Result<()> {
    let mut config = Config::load()?;
    if let Some(retries) = args.retries {
        config.executor.retries = retries;
    }
    if let Some(timeout) = args.timeout {
        // The runtimes stop a task at its time limit with an error of
        // their own; the executor's timeout is only a backstop.
        config.executor.timeout = Some(timeout + Duration::from_secs(1));
    }
    let executor = FunctionExecutor::with_config(config)?;
    let mapper = program(
        &args,
        args.function.as_deref(),
        args.cmd.as_deref(),
        &executor,
    )?
    .expect("clap requires a function or --cmd");
    let reducer = program(
        &args,
        args.reduce.as_deref(),
        args.reduce_cmd.as_deref(),
        &executor,
    )?;

    // Find out about a wrong output, or input (below), before running
    // anything.
    if let Some(output) = &args.output {
        check_output(output, reducer.is_some(), executor.config())?;
    }
    let mut input = ObjectInput::new(args.input.iter().cloned()).must_match();
    if let Some(size) = args.chunk_size {
        input = input.chunk_size(size.as_u64());
    }
    if let Some(chunks) = args.chunk_number {
        input = input.chunk_number(chunks);
    }
    let outputs = map(&executor, &mapper, input, reducer.is_none(), &args)?;

    match reducer {
        None => Ok(()),
        Some(reducer) => {
            let job = start(&executor, &reducer, vec![Payload::Parts(outputs.clone())])?;
            job.wait(Wait::All, None);
            let summary = job.summary();
            let result = match job.get_result() {
                Ok(mut results) => results.pop().unwrap_or_default(),
                Err(error) => {
                    // The map outputs were computed: keep them for another
                    // try at the reduction.
                    let kept = keep_outputs(&outputs)?;
                    return Err(anyhow::Error::new(error).context(format!(
                        "the reducer failed; the map outputs are kept in {}",
                        kept.display()
                    )));
                }
            };
            write_result(args.output.as_deref(), &result, executor.config())?;
            if !args.quiet {
                to_stderr(&format!("reduce: {summary}\n"));
            }
            Ok(())
        }
    }
}

/// Refuses options that no function of the job would use.
fn check_kinds(args: &MapArgs) -> Result<()> {
    let modules = args.function.is_some() || args.reduce.is_some();
    let commands = args.cmd.is_some() || args.reduce_cmd.is_some();
    let module_only = [
        ("--arg", !args.args.is_empty()),
        ("--dir", args.dir.is_some()),
        ("--fuel", args.fuel.is_some()),
        ("--memory-limit", args.memory_limit.is_some()),
    ];
    if !modules && let Some((flag, _)) = module_only.iter().find(|(_, given)| *given) {
        bail!("{flag} applies to WebAssembly modules, and this job runs none");
    }
    if !commands && !args.ok_exit.is_empty() {
        bail!("--ok-exit applies to commands, and this job runs none");
    }
    Ok(())
}

/// Kills the process groups of the running commands when this program is
/// interrupted (they do not get the terminal's Ctrl-C), then exits as the
/// signal would have.
fn stop_commands_on_signals() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("cannot handle signals")?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                INTERRUPTED.store(signal, Ordering::SeqCst);
                cloudbutton::command::kill_running();
                std::process::exit(128 + signal);
            }
        })
        .context("cannot start a thread")?;
    Ok(())
}

/// Checks that the output can be written, and that the outputs of this run
/// will not mix with those of an earlier one.
fn check_output(output: &str, reduced: bool, config: &Config) -> Result<()> {
    let (storage, key) = destination(output, !reduced, config)?;
    if reduced {
        let local = std::path::Path::new(output.strip_prefix("file://").unwrap_or(output));
        if local.is_dir() || output.ends_with('/') {
            bail!("the output {output} is a directory; name the file of the result");
        }
        // Reaches the store: wrong credentials show here.
        block_on(storage.list(&Selector::Prefix(key)))?;
        return Ok(());
    }
    let earlier = block_on(storage.list(&Selector::Prefix(key)))?;
    if let Some(first) = earlier.first() {
        bail!(
            "the output {output} already holds {} object(s), such as {}; remove them or choose \
             another place, so that the parts of two runs do not mix",
            earlier.len(),
            first.url()
        );
    }
    Ok(())
}

/// Writes the map outputs to a new directory, one file per chunk in input
/// order, and returns it.
fn keep_outputs(outputs: &[ByteBuf]) -> Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix("cloudbutton-map-")
        .tempdir()
        .context("cannot make a directory for the map outputs")?
        .keep();
    let width = outputs.len().saturating_sub(1).to_string().len().max(5);
    for (index, output) in outputs.iter().enumerate() {
        let path = dir.join(format!("part-{index:0width$}"));
        std::fs::write(&path, output)
            .with_context(|| format!("cannot keep a map output in {}", path.display()))?;
    }
    Ok(dir)
}

/// The program named by a module (path or URL) or a command, with the
/// settings of the command line; `None` if neither is given.
fn program(
    args: &MapArgs,
    module: Option<&str>,
    command: Option<&str>,
    executor: &FunctionExecutor,
) -> Result<Option<Program>> {
    let timeout_ms = args.timeout.map(|timeout| timeout.as_millis() as u64);
    if let Some(command) = command {
        let mut spec = CommandSpec::new(command);
        spec.env = args.env.clone();
        spec.timeout_ms = timeout_ms;
        spec.ok_exit = args.ok_exit.clone();
        if let Some(limit) = args.output_limit {
            spec.output_limit = limit.as_u64();
        }
        return Ok(Some(Program::Command(spec)));
    }
    let Some(module) = module else {
        return Ok(None);
    };
    let config = executor.config();
    let shared = match config.executor.backend {
        BackendKind::Redis => config.cluster.storage.as_deref(),
        BackendKind::Local => None,
    };
    let module = cloudbutton::wasm::prepare(module, &config.storage, shared, args.fuel.is_some())?;
    let mut spec = WasmSpec::new(module);
    spec.args = args.args.clone();
    spec.env = args.env.clone();
    spec.timeout_ms = timeout_ms;
    spec.fuel = args.fuel;
    if let Some(limit) = args.memory_limit {
        spec.memory_limit = limit.as_u64();
    }
    if let Some(limit) = args.output_limit {
        spec.output_limit = limit.as_u64();
    }
    if let Some(dir) = &args.dir {
        let (host, guest) = match dir.split_once(':') {
            Some((host, guest)) => (host, guest),
            None => (dir.as_str(), dir.as_str()),
        };
        let host = PathBuf::from(host)
            .canonicalize()
            .with_context(|| format!("cannot grant the directory {host}"))?;
        spec.preopen = Some(Preopen {
            host,
            guest: guest.to_owned(),
            writable: args.dir_writable,
        });
    }
    Ok(Some(Program::Wasm(spec)))
}

/// Starts one task of `program` per payload.
fn start<P>(executor: &FunctionExecutor, program: &Program, payloads: P) -> Result<Job<ByteBuf>>
where
    P: cloudbutton::executor::TaskInputs<Payload>,
{
    Ok(match program {
        Program::Wasm(spec) => {
            let spec = spec.clone();
            executor.map(
                &cloudbutton::wasm::RUN_WASM,
                wrap(payloads, move |payload| WasmTask {
                    spec: spec.clone(),
                    payload,
                }),
            )?
        }
        Program::Command(spec) => {
            let spec = spec.clone();
            executor.map(
                &cloudbutton::command::RUN_COMMAND,
                wrap(payloads, move |payload| CommandTask {
                    spec: spec.clone(),
                    payload,
                }),
            )?
        }
    })
}

/// Runs the map job over the chunks of `input`; writes each output in
/// input order if `write` (the last step), else returns them.
fn map(
    executor: &FunctionExecutor,
    program: &Program,
    input: ObjectInput,
    write: bool,
    args: &MapArgs,
) -> Result<Vec<ByteBuf>> {
    let job = start(executor, program, wrap(input, Payload::Chunk))?;
    if !write {
        job.wait(Wait::All, None);
        let summary = job.summary();
        let outputs = job.get_result()?;
        if !args.quiet {
            to_stderr(&format!("map: {summary}\n"));
        }
        return Ok(outputs);
    }
    // Write each output as soon as it and those before it are done, and
    // what succeeded even if some tasks failed; then report those. If the
    // output cannot be written (a reader that went away), stop the job.
    let futures = job.futures();
    let mut sink = Sink::new(args.output.as_deref(), futures.len(), executor.config())?;
    let mut errors = Vec::new();
    for (index, future) in futures.into_iter().enumerate() {
        match future.get_result() {
            Ok(output) => {
                if let Err(error) = sink.part(index, &output) {
                    job.cancel();
                    return Err(error);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    job.wait(Wait::All, None);
    let summary = job.summary();
    sink.finish()?;
    if !args.quiet {
        to_stderr(&format!("{summary}\n"));
    }
    if let Some(first) = errors.first() {
        let total = summary.tasks;
        let failed = errors.len();
        let written = if failed < total {
            " (the outputs of the others were written)"
        } else {
            ""
        };
        bail!("{failed} of {total} tasks failed{written}; the first: {first}");
    }
    Ok(Vec::new())
}

/// Where the map outputs go when there is no reducer.
enum Sink {
    Stdout(std::io::StdoutLock<'static>),
    Objects {
        storage: Storage,
        prefix: String,
        width: usize,
    },
}

impl Sink {
    fn new(output: Option<&str>, parts: usize, config: &Config) -> Result<Sink> {
        let Some(output) = output else {
            return Ok(Sink::Stdout(std::io::stdout().lock()));
        };
        let (storage, prefix) = destination(output, true, config)?;
        Ok(Sink::Objects {
            storage,
            prefix,
            width: parts.saturating_sub(1).to_string().len().max(5),
        })
    }

    fn part(&mut self, index: usize, output: &[u8]) -> Result<()> {
        match self {
            Sink::Stdout(out) => out
                .write_all(output)
                .context("cannot write to standard output"),
            Sink::Objects {
                storage,
                prefix,
                width,
            } => put(
                storage,
                &format!("{prefix}part-{index:0width$}", width = *width),
                output,
            ),
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Stdout(mut out) => out.flush().context("cannot write to standard output"),
            Sink::Objects { .. } => Ok(()),
        }
    }
}

/// Writes the reducer's result to standard output or to one object.
fn write_result(output: Option<&str>, result: &[u8], config: &Config) -> Result<()> {
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(result)
                .and_then(|()| out.flush())
                .context("cannot write to standard output")
        }
        Some(output) => {
            let (storage, key) = destination(output, false, config)?;
            put(&storage, &key, result)
        }
    }
}

/// Writes `bytes` as the object `key`.
fn put(storage: &Storage, key: &str, bytes: &[u8]) -> Result<()> {
    block_on(storage.put(key, bytes.to_vec().into()))
        .with_context(|| format!("cannot write {}", storage.url(key)))
}

/// The store and the key (or key prefix, if `prefix`) that `output` names.
/// A local path need not exist yet.
fn destination(output: &str, prefix: bool, config: &Config) -> Result<(Storage, String)> {
    let is_url = output.contains("://");
    let text = if is_url {
        output.to_owned()
    } else {
        let path = PathBuf::from(output);
        let path = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .context("cannot find the current directory")?
                .join(path)
        };
        let (dir, name) = if prefix {
            (path.clone(), String::new())
        } else {
            let name = path
                .file_name()
                .with_context(|| format!("{output} names no file"))?
                .to_string_lossy()
                .into_owned();
            (path.parent().unwrap_or(&path).to_owned(), name)
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        format!("{}/{name}", dir.display())
    };
    let text = if prefix && !text.ends_with('/') {
        format!("{text}/")
    } else {
        text
    };
    let location = Location::parse(&text)?;
    let storage = Storage::connect(location.store_url(), &config.storage)?;
    let key = match location.selector() {
        // A directory's objects go below it, not beside it.
        Selector::Prefix(key) if prefix && !key.is_empty() && !key.ends_with('/') => {
            format!("{key}/")
        }
        Selector::Object(key) | Selector::Prefix(key) => key.clone(),
        Selector::Glob(pattern) => {
            bail!("the output {output} is a pattern ({pattern}), not a place")
        }
    };
    Ok((storage, key))
}

/// Parses NAME=VALUE.
fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}
