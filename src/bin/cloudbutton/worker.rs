//! `cloudbutton worker`: take tasks from the Redis queue and run them, on
//! any host, for any number of jobs and drivers.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use cloudbutton::executor::config::{Config, parse_duration};
use cloudbutton::executor::{ProgramPolicy, WorkerOptions, run_worker};

/// Run tasks from the Redis queue until stopped.
///
/// Each of the worker's slots takes one task at a time, of any job, and
/// commits its result; a task whose worker dies runs again elsewhere once
/// its lease expires. The worker runs the functions built into this
/// program; with --allow-program it also runs the programs that drivers
/// publish to the shared storage, so that their own functions run here.
/// Settings not given here come from cloudbutton.toml and the CLOUDBUTTON_*
/// environment variables, as for a driver.
#[derive(Args)]
pub struct WorkerArgs {
    /// The Redis server: redis://[user:password@]host:port[/db], or
    /// rediss:// for TLS [default: CLOUDBUTTON_REDIS_URL].
    #[arg(long, value_name = "URL")]
    redis: Option<String>,

    /// How many tasks run at once [default: one per core].
    #[arg(long, short = 'c', value_name = "N")]
    concurrency: Option<usize>,

    /// The storage shared with drivers (a directory every host mounts, or
    /// s3://bucket/prefix/): published programs come from there and large
    /// results go there [default: CLOUDBUTTON_STORAGE].
    #[arg(long, value_name = "URL")]
    storage: Option<String>,

    /// Run the programs that drivers publish: `any`, or a program's SHA-256
    /// (repeat for several). Without it only built-in functions run.
    #[arg(long, value_name = "any|SHA256")]
    allow_program: Vec<String>,

    /// Run only functions whose names match this glob, such as `text::*`
    /// (repeat for several) [default: every function].
    #[arg(long, value_name = "GLOB")]
    allow_function: Vec<String>,

    /// Let command functions run command lines that match this glob, such
    /// as `grep *` (`*` matches spaces too; repeat for several). Without
    /// it, no command runs here.
    #[arg(long, value_name = "GLOB")]
    allow_command: Vec<String>,

    /// Let WebAssembly functions be granted this host directory, or one
    /// below it (repeat for several). Without it, none is granted here.
    #[arg(long, value_name = "DIR")]
    allow_dir: Vec<PathBuf>,

    /// The prefix of the queue's Redis keys; drivers and workers that share
    /// it share tasks [default: CLOUDBUTTON_NAMESPACE, else cloudbutton].
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,

    /// The worker's name in the queue and in task statistics; unique among
    /// the workers [default: HOST-PID].
    #[arg(long)]
    name: Option<String>,

    /// How long a task stays with this worker without a renewal before
    /// another worker may take it; the same for every worker of the queue.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    lease: Duration,

    /// Where downloaded programs are kept [default: ~/.cache/cloudbutton/programs].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

/// Runs the worker; returns only if it cannot start.
pub fn run(args: WorkerArgs) -> Result<()> {
    let mut config = Config::load()?;
    if let Some(url) = args.redis {
        config.cluster.redis_url = Some(url);
    }
    if let Some(storage) = args.storage {
        config.cluster.storage = Some(storage);
    }
    if let Some(namespace) = args.namespace {
        config.cluster.namespace = namespace;
    }
    let mut options = WorkerOptions::from_config(&config)?;
    if let Some(concurrency) = args.concurrency {
        options.concurrency = concurrency;
    }
    if let Some(name) = args.name {
        options.name = name;
    }
    if !args.allow_function.is_empty() {
        options.functions = args.allow_function;
    }
    if let Some(dir) = args.cache_dir {
        options.cache_dir = dir;
    }
    options.lease = args.lease;
    options.commands = args.allow_command;
    options.directories = args.allow_dir;
    options.programs = program_policy(&args.allow_program)?;
    run_worker(options)?;
    Ok(())
}

/// The programs that `--allow-program` values allow.
fn program_policy(values: &[String]) -> Result<ProgramPolicy> {
    if values.is_empty() {
        return Ok(ProgramPolicy::BuiltIn);
    }
    if values.iter().any(|value| value == "any") {
        return Ok(ProgramPolicy::Any);
    }
    let mut hashes = Vec::new();
    for value in values {
        let hash = value.to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("--allow-program takes `any` or a SHA-256 of 64 hex digits, not `{value}`");
        }
        hashes.push(hash);
    }
    Ok(ProgramPolicy::Only(hashes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_programs_are_any_or_hashes() {
        assert_eq!(program_policy(&[]).unwrap(), ProgramPolicy::BuiltIn);
        let any = ["a".repeat(64), "any".to_owned()];
        assert_eq!(program_policy(&any).unwrap(), ProgramPolicy::Any);
        let hash = "AB".repeat(32);
        assert_eq!(
            program_policy(std::slice::from_ref(&hash)).unwrap(),
            ProgramPolicy::Only(vec!["ab".repeat(32)])
        );
        let error = program_policy(&["abc".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("`abc`"), "{error}");
    }
}
