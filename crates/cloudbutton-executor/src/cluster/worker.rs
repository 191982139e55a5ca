//! A worker: takes tasks of any job from the queue, runs them (here, or in
//! the program that the job's driver published), and commits their results.
//!
//! Each of the worker's slots is a thread with its own Redis connection
//! that takes one task at a time. A renewer thread renews the lease of every
//! running task a few times per lease period and tells a task when its job
//! is cancelled. A lost connection is made again, with backoff, and a
//! finished task's result is kept until it can be committed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudbutton_cluster::program::{ProgramCache, current_program};
use cloudbutton_cluster::wire::{self, Failure, JobSpec, Outcome, RunTask, TaskInput, TaskReport};
use cloudbutton_cluster::{
    Commit, Delivery, QueueConfig, QueueError, Renewal, SharedStore, TaskQueue, redact_url,
    result_key,
};
use cloudbutton_state::Store;
use cloudbutton_storage::{StorageError, StorageOptions};
use globset::{Glob, GlobSet, GlobSetBuilder};

use super::execute::execute;
use super::host::ProgramHosts;
use super::objects::RedisObjects;
use crate::config::Config;
use crate::permissions::{Permissions, set_permissions};

/// How long a slot waits for a task in one call.
const TAKE_BLOCK: Duration = Duration::from_millis(500);

/// The largest output sent through Redis by a worker without shared
/// storage; Redis refuses values over 512 MiB.
const REDIS_OUTPUT_LIMIT: u64 = 256 << 20;

/// How many times a task is taken before a worker gives up on it: each
/// earlier delivery's worker stopped (was killed, ran out of memory, lost
/// its connection) before committing it.
const MAX_DELIVERIES: u32 = 5;

/// Which published programs a worker runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProgramPolicy {
    /// None: only the functions built into the worker itself.
    #[default]
    BuiltIn,
    /// Any program published to the shared storage.
    Any,
    /// The programs with these SHA-256 hashes.
    Only(Vec<String>),
}

impl ProgramPolicy {
    fn allows(&self, hash: &str) -> bool {
        match self {
            ProgramPolicy::BuiltIn => false,
            ProgramPolicy::Any => true,
            ProgramPolicy::Only(hashes) => hashes.iter().any(|allowed| allowed == hash),
        }
    }
}

/// How a worker is set up.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The Redis server of the task queue.
    pub redis_url: String,
    /// The queue's key prefix; drivers and workers must agree on it.
    pub namespace: String,
    /// The storage shared with drivers: where programs are fetched from and
    /// large results left. Without it the worker runs only its own
    /// functions and sends every result through Redis (up to 256 MiB).
    pub storage: Option<String>,
    /// Credentials and endpoints for reading the tasks' inputs and the
    /// shared storage.
    pub storage_options: StorageOptions,
    /// How many tasks run at once.
    pub concurrency: usize,
    /// The worker's name in the queue and in task statistics.
    pub name: String,
    /// Glob patterns of the function names the worker runs.
    pub functions: Vec<String>,
    /// Which published programs the worker runs.
    pub programs: ProgramPolicy,
    /// Glob patterns of the command lines that command functions may run
    /// here; none by default.
    pub commands: Vec<String>,
    /// Host directories that WebAssembly functions may be granted; none by
    /// default.
    pub directories: Vec<PathBuf>,
    /// Where downloaded programs are kept.
    pub cache_dir: PathBuf,
    /// How long a task stays with this worker without a renewal; must be
    /// the same for every worker of the queue.
    pub lease: Duration,
}

impl WorkerOptions {
    /// Options from the configuration (`[cluster]` and `[storage]`), with a
    /// slot per core and the defaults of the rest.
    pub fn from_config(config: &Config) -> Result<WorkerOptions, WorkerError> {
        let redis_url = config.cluster.redis_url.clone().ok_or_else(|| {
            WorkerError::Invalid(
                "no Redis URL: pass --redis or set CLOUDBUTTON_REDIS_URL".to_owned(),
            )
        })?;
        Ok(WorkerOptions {
            redis_url,
            namespace: config.cluster.namespace.clone(),
            storage: config.cluster.storage.clone(),
            storage_options: config.storage.clone(),
            concurrency: config
                .executor
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            name: default_name(),
            functions: vec!["*".to_owned()],
            programs: ProgramPolicy::BuiltIn,
            commands: Vec::new(),
            directories: Vec::new(),
            cache_dir: ProgramCache::default_dir(),
            lease: Duration::from_secs(30),
        })
    }
}

/// `HOST-PID`, a name unique among the workers of a queue.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{host}-{}", std::process::id())
}

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Redis could not be reached or refused the worker.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The shared storage could not be opened, read or written.
    #[error("worker {worker} cannot use the shared storage {url}: {source}")]
    Storage {
        /// The worker's name.
        worker: String,
        /// The storage's URL.
        url: String,
        /// Why.
        source: Box<StorageError>,
    },
    /// The options do not make sense together.
    #[error("{0}")]
    Invalid(String),
}

/// Runs a worker until it is told to stop with SIGTERM or SIGINT: then it
/// takes no more tasks, finishes and commits those it runs, leaves the live
/// workers and returns. A second signal ends the process at once. Returns
/// an error only if it cannot start: Redis unreachable or refusing the
/// credentials, the shared storage out of reach, or options that
/// contradict each other.
pub fn run_worker(options: WorkerOptions) -> Result<(), WorkerError> {
    let granted = Permissions::only(
        format!("worker {}", options.name),
        &options.commands,
        options.directories.clone(),
    )
    .map_err(|error| WorkerError::Invalid(format!("--allow-command: {error}")))?;
    if !set_permissions(granted) {
        return Err(WorkerError::Invalid(
            "this program set its permissions before becoming a worker".to_owned(),
        ));
    }
    let worker = Arc::new(Worker::start(options)?);
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let stopping = worker.stopping.clone();
        signal_hook::flag::register_conditional_shutdown(signal, 1, stopping.clone())
            .and_then(|_| signal_hook::flag::register(signal, stopping))
            .map_err(|error| WorkerError::Invalid(format!("cannot handle signals: {error}")))?;
    }
    tracing::info!(
        worker = %worker.options.name,
        slots = worker.options.concurrency,
        redis = %redact_url(&worker.options.redis_url),
        storage = ?worker.shared,
        "worker ready"
    );
    let renewer = worker.clone();
    std::thread::Builder::new()
        .name("renewer".to_owned())
        .spawn(move || renewer.renew_leases())
        .map_err(|error| WorkerError::Invalid(format!("cannot start a thread: {error}")))?;
    let slots: Vec<_> = (0..worker.options.concurrency)
        .map(|slot| {
            let worker = worker.clone();
            std::thread::Builder::new()
                .name(format!("slot-{slot}"))
                .spawn(move || worker.take_tasks())
                .map_err(|error| WorkerError::Invalid(format!("cannot start a thread: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut said = false;
    while !slots.iter().all(|slot| slot.is_finished()) {
        if !said && worker.stopping.load(Ordering::Relaxed) {
            said = true;
            let running = worker.in_flight.lock().unwrap().len();
            tracing::info!(
                worker = %worker.options.name,
                "stopping: finishing {running} running task(s); a second signal stops at once"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    match TaskQueue::connect_with(&worker.options.redis_url, worker.queue_config.clone())
        .and_then(|mut queue| queue.leave(&worker.options.name))
    {
        Ok(()) => tracing::info!(worker = %worker.options.name, "worker stopped"),
        Err(error) => tracing::warn!(worker = %worker.options.name, "stopped, but {error}"),
    }
    Ok(())
}

/// A task this worker is running.
struct Flight {
    /// The delivery, without its input.
    delivery: Delivery,
    cancelled: Arc<AtomicBool>,
}

struct Worker {
    options: WorkerOptions,
    queue_config: QueueConfig,
    functions: GlobSet,
    shared: Option<SharedStore>,
    hosts: Option<ProgramHosts>,
    /// The hash of this worker's own executable: jobs published from it
    /// run here, without starting a program.
    own_program: Option<String>,
    storage: Arc<StorageOptions>,
    /// The jobs' shared objects, in the queue's Redis server.
    objects: Arc<dyn Store>,
    in_flight: Mutex<HashMap<(String, u32, u32), Flight>>,
    /// Set by SIGTERM or SIGINT: take no more tasks.
    stopping: Arc<AtomicBool>,
}

impl Worker {
    fn start(options: WorkerOptions) -> Result<Worker, WorkerError> {
        if options.concurrency == 0 {
            return Err(WorkerError::Invalid(
                "the concurrency must be at least 1".to_owned(),
            ));
        }
        let mut patterns = GlobSetBuilder::new();
        for pattern in &options.functions {
            let glob = Glob::new(pattern).map_err(|error| {
                WorkerError::Invalid(format!("invalid function pattern `{pattern}`: {error}"))
            })?;
            patterns.add(glob);
        }
        let functions = patterns
            .build()
            .map_err(|error| WorkerError::Invalid(format!("invalid function patterns: {error}")))?;
        let queue_config = QueueConfig {
            namespace: options.namespace.clone(),
            ..QueueConfig::default()
        };
        // Fail now, with a clear error, if Redis is out of reach.
        let mut queue = TaskQueue::connect_with(&options.redis_url, queue_config.clone())?;

        let storage_error = |url: &str, source: StorageError| WorkerError::Storage {
            worker: options.name.clone(),
            url: url.to_owned(),
            source: Box::new(source),
        };
        let shared = match &options.storage {
            Some(url) => {
                let shared = SharedStore::open(url, &options.storage_options)
                    .map_err(|source| storage_error(url, source))?;
                // A worker that cannot write there would fail every large
                // result; find out now.
                let probe = format!("workers/{}.probe", options.name);
                shared
                    .put(&probe, b"ok".to_vec())
                    .and_then(|()| shared.delete(&probe))
                    .map_err(|source| storage_error(url, source))?;
                Some(shared)
            }
            None => None,
        };
        let hosts = match (&shared, &options.programs) {
            (_, ProgramPolicy::BuiltIn) => None,
            (None, _) => {
                return Err(WorkerError::Invalid(
                    "running published programs needs the shared storage they are published \
                     to: pass --storage (or set CLOUDBUTTON_STORAGE)"
                        .to_owned(),
                ));
            }
            (Some(shared), _) => {
                let cache = ProgramCache::new(options.cache_dir.clone(), shared.clone());
                Some(
                    ProgramHosts::new(cache, options.redis_url.clone()).map_err(|error| {
                        WorkerError::Invalid(format!(
                            "cannot make a directory for program sockets: {error}"
                        ))
                    })?,
                )
            }
        };
        // Counted among the live workers from the start.
        queue.heartbeat(&options.name, options.concurrency, options.lease)?;
        Ok(Worker {
            own_program: current_program().ok().map(|(_, hash)| hash.clone()),
            storage: Arc::new(options.storage_options.clone()),
            objects: Arc::new(RedisObjects::new(Some(options.redis_url.clone()))),
            options,
            queue_config,
            functions,
            shared,
            hosts,
            in_flight: Mutex::default(),
            stopping: Arc::default(),
        })
    }

    /// A connection to the queue, made again after a loss with growing
    /// pauses; gives up never.
    fn connect(&self, queue: &mut Option<TaskQueue>) {
        let mut pause = Duration::from_millis(100);
        let mut warned = false;
        while queue.is_none() {
            match TaskQueue::connect_with(&self.options.redis_url, self.queue_config.clone()) {
                Ok(connection) => {
                    if warned {
                        tracing::info!(worker = %self.options.name, "connected to Redis again");
                    }
                    *queue = Some(connection);
                }
                Err(error) => {
                    if !warned {
                        tracing::warn!(worker = %self.options.name, "{error}; trying again");
                        warned = true;
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// One slot: take a task, run it, commit it, forever.
    fn take_tasks(&self) {
        let mut queue: Option<TaskQueue> = None;
        while !self.stopping.load(Ordering::Relaxed) {
            self.connect(&mut queue);
            let connection = queue.as_mut().expect("connected");
            match connection.take(&self.options.name, self.options.lease, TAKE_BLOCK) {
                Ok(Some(delivery)) => {
                    // Each commit brings the next task along while there is one.
                    let mut next = Some(delivery);
                    while let Some(delivery) = next {
                        next = self.handle(&mut queue, delivery);
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    if error.is_transient() {
                        tracing::warn!(worker = %self.options.name, "{error}; connecting again");
                    } else {
                        tracing::error!(worker = %self.options.name, "{error}");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                    queue = None;
                }
            }
        }
    }

    /// Runs and commits one task; returns the next task if the commit
    /// brought one.
    fn handle(&self, queue: &mut Option<TaskQueue>, mut delivery: Delivery) -> Option<Delivery> {
        let input = std::mem::take(&mut delivery.input);
        let key = (
            delivery.job.as_str().to_owned(),
            delivery.index,
            delivery.attempt,
        );
        let cancelled = Arc::new(AtomicBool::new(false));
        let flight = Flight {
            delivery: delivery.clone(),
            cancelled: cancelled.clone(),
        };
        self.in_flight.lock().unwrap().insert(key.clone(), flight);
        tracing::debug!(job = %delivery.job, task = delivery.index, attempt = delivery.attempt, "task taken");
        let report = self.run(&delivery, input, &cancelled);
        self.in_flight.lock().unwrap().remove(&key);

        // Commit, through lost connections if need be: the result is kept
        // until Redis takes it, and a duplicate is harmless.
        let payload = wire::encode(&report);
        let started = Instant::now();
        loop {
            self.connect(queue);
            let connection = queue.as_mut().expect("connected");
            let committed = if self.stopping.load(Ordering::Relaxed) {
                connection
                    .complete(&delivery, Ok(&payload))
                    .map(|commit| (commit, None))
            } else {
                connection.complete_and_take(&delivery, Ok(&payload))
            };
            match committed {
                Ok((Commit::First, next)) => return next,
                Ok((Commit::Duplicate, next)) => {
                    tracing::debug!(job = %delivery.job, task = delivery.index, "a duplicate result, discarded");
                    return next;
                }
                Err(error)
                    if error.is_transient() && started.elapsed() < self.options.lease * 4 =>
                {
                    tracing::warn!(worker = %self.options.name, "{error}; connecting again to commit");
                    *queue = None;
                }
                Err(error) => {
                    tracing::error!(
                        job = %delivery.job, task = delivery.index,
                        "cannot commit the result: {error}; the task runs again once its lease expires"
                    );
                    *queue = None;
                    return None;
                }
            }
        }
    }

    /// Runs a delivered task where it belongs, and stores a large output.
    fn run(&self, delivery: &Delivery, input: Vec<u8>, cancelled: &Arc<AtomicBool>) -> TaskReport {
        let name = &self.options.name;
        if delivery.attempt > MAX_DELIVERIES {
            return failed(format!(
                "was taken {} times, and each worker stopped before finishing it (killed, out \
                 of memory, or cut off from Redis); it is not tried again",
                delivery.attempt - 1
            ));
        }
        let spec: JobSpec = if delivery.spec.is_empty() {
            JobSpec::default()
        } else {
            match wire::decode(&delivery.spec, "job description") {
                Ok(spec) => spec,
                Err(error) => return failed(format!("worker {name} cannot run the task: {error}")),
            }
        };
        if !self.functions.is_match(&delivery.function) {
            return failed(format!(
                "worker {name} is not allowed to run function `{}` (it runs {})",
                delivery.function,
                self.options.functions.join(", ")
            ));
        }
        let input = match self.input(&input) {
            Ok(input) => input,
            Err(message) => return failed(message),
        };
        let task = RunTask {
            id: 0,
            index: delivery.index,
            delivery: delivery.attempt,
            worker: name.clone(),
            function: delivery.function.clone(),
            input,
            timeout_ms: spec.timeout_ms,
            retries: spec.retries,
            backoff_ms: spec.backoff_ms,
            state_scope: spec.state_scope.clone(),
        };
        let mut report = match &spec.program {
            Some(program) if self.own_program.as_ref() != Some(&program.hash) => {
                match &self.hosts {
                    Some(hosts) if self.options.programs.allows(&program.hash) => {
                        hosts.run(program, task, cancelled)
                    }
                    _ => {
                        return failed(format!(
                            "worker {name} does not run program {} ({}); start it with \
                             --allow-program any or --allow-program {}",
                            program.name, program.hash, program.hash
                        ));
                    }
                }
            }
            _ => execute(&task, cancelled, &self.storage, &self.objects),
        };
        report.outcome = self.place_output(delivery, &spec, report.outcome);
        report
    }

    /// The serialized input of a task, read from the shared storage if the
    /// driver left it there.
    fn input(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let name = &self.options.name;
        match wire::decode::<TaskInput>(message, "task input") {
            Ok(TaskInput::Inline(input)) => Ok(input),
            Ok(TaskInput::Stored { key }) => match &self.shared {
                Some(shared) => shared.get(&key).map_err(|error| {
                    format!(
                        "worker {name} cannot read the input at {}: {error}",
                        shared.url(&key)
                    )
                }),
                None => Err(format!(
                    "its input is in the driver's shared storage, and worker {name} has none \
                     (start it with --storage)"
                )),
            },
            Err(error) => Err(format!("worker {name} cannot read the task: {error}")),
        }
    }

    /// Moves an output larger than the job's inline limit to the shared
    /// storage. Without one, it goes through Redis all the same, up to
    /// [`REDIS_OUTPUT_LIMIT`].
    fn place_output(&self, delivery: &Delivery, spec: &JobSpec, outcome: Outcome) -> Outcome {
        let name = &self.options.name;
        let output = match outcome {
            Outcome::Inline(output)
                if spec.inline_limit > 0 && output.len() as u64 > spec.inline_limit =>
            {
                output
            }
            other => return other,
        };
        let size = output.len() as u64;
        let Some(shared) = &self.shared else {
            if size > REDIS_OUTPUT_LIMIT {
                return Outcome::Failed(Failure::Worker(format!(
                    "its output of {size} bytes is too large for Redis, and worker {name} has no \
                     shared storage to put it in (start it with --storage)"
                )));
            }
            return Outcome::Inline(output);
        };
        let key = result_key(delivery.job.as_str(), delivery.index, delivery.attempt);
        match shared.put(&key, output) {
            Ok(()) => Outcome::Stored { key, size },
            Err(error) => Outcome::Failed(Failure::Worker(format!(
                "worker {name} cannot store the output at {}: {error}",
                shared.url(&key)
            ))),
        }
    }

    /// Renews the lease of every running task a few times per lease
    /// period, and flags the tasks of cancelled jobs.
    fn renew_leases(&self) {
        let every = (self.options.lease / 4).max(Duration::from_millis(50));
        let mut queue: Option<TaskQueue> = None;
        loop {
            self.connect(&mut queue);
            let connection = queue.as_mut().expect("connected");
            // Drivers count the live workers' slots, and warn when there are none.
            let beat = connection.heartbeat(
                &self.options.name,
                self.options.concurrency,
                self.options.lease,
            );
            if let Err(error) = beat {
                tracing::warn!(worker = %self.options.name, "cannot reach Redis: {error}");
                queue = None;
                std::thread::sleep(every);
                continue;
            }
            let flights: Vec<(Delivery, Arc<AtomicBool>)> = self
                .in_flight
                .lock()
                .unwrap()
                .values()
                .map(|flight| (flight.delivery.clone(), flight.cancelled.clone()))
                .collect();
            for (delivery, cancelled) in flights {
                match connection.renew(&delivery) {
                    Ok(Renewal::Held) => {}
                    Ok(Renewal::Cancelled) => cancelled.store(true, Ordering::Relaxed),
                    Ok(Renewal::Lost) => {
                        tracing::debug!(job = %delivery.job, task = delivery.index, "lease lost");
                    }
                    Err(error) => {
                        tracing::warn!(worker = %self.options.name, "cannot renew a lease: {error}");
                        queue = None;
                        break;
                    }
                }
            }
            std::thread::sleep(every);
        }
    }
}

fn failed(message: String) -> TaskReport {
    TaskReport::failed(Failure::Worker(message))
}
