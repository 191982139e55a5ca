//! The driver's side of the `redis` backend: jobs go to the task queue as
//! they become ready, and a collector thread per job turns committed
//! results into finished tasks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use cloudbutton_cluster::wire::{
    self, Failure, JobSpec, Outcome, ProgramRef, TaskInput, TaskReport,
};
use cloudbutton_cluster::{
    JobId, QueueConfig, QueueError, SharedStore, TaskMessage, TaskQueue, TaskResult, input_key,
    inputs_prefix, program, redact_url, results_prefix,
};

use crate::config::Config;
use crate::error::{ExecutorError, FailureKind};
use crate::job_state::TaskPolicy;
use crate::notify::Notifier;

/// How long the driver keeps trying to reach Redis again before it gives
/// up on a job's unfinished tasks.
const RECONNECT_FOR: Duration = Duration::from_secs(60);

/// How long a collector waits for results in one call.
const RESULTS_BLOCK: Duration = Duration::from_millis(250);

/// How often a collector checks that Redis still holds its job, keeps its
/// keys from expiring, and looks for live workers (more often if the keys'
/// time-to-live is short).
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// A job as the cluster backend sees it, whatever its types.
pub(crate) trait RemoteJob: Send + Sync {
    /// The job's identity in the queue.
    fn remote(&self) -> &RemoteSlot;
    fn function_name(&self) -> &'static str;
    fn policy(&self) -> &TaskPolicy;
    /// The scope of the job's shared objects.
    fn state_scope(&self) -> &str;
    /// True once every task has finished.
    fn is_settled(&self) -> bool;
    /// Finishes task `index` with the serialized output a worker committed,
    /// or with why it has none.
    fn complete(
        &self,
        index: usize,
        worker: String,
        report: &TaskReport,
        output: Result<Vec<u8>, FailureKind>,
    );
    /// Fails every submitted task that has not finished.
    fn abandon(&self, kind: FailureKind);
}

/// Where a job keeps its identity in the queue, once it has one.
#[derive(Default)]
pub(crate) struct RemoteSlot {
    id: Mutex<Option<JobId>>,
    /// Tasks that Redis accepted, to tell when Redis lost some.
    submitted: Arc<AtomicU64>,
    /// Whether some input went through the shared storage.
    stored_inputs: Arc<AtomicBool>,
}

/// The drivers' connection to the cluster: one per executor.
pub(crate) struct ClusterBackend {
    notifier: Notifier,
    url: String,
    queue_config: QueueConfig,
    submitter: Mutex<TaskQueue>,
    shared: Option<SharedStore>,
    program: Option<ProgramRef>,
    inline_limit: u64,
}

impl ClusterBackend {
    /// Connects to Redis and the shared storage, and publishes this program
    /// there, so that a misconfiguration shows before any job starts.
    pub(crate) fn connect(config: &Config) -> Result<ClusterBackend, ExecutorError> {
        let cluster = &config.cluster;
        let url = cluster.redis_url.clone().ok_or_else(|| {
            ExecutorError::Cluster(
                "no Redis URL: set CLOUDBUTTON_REDIS_URL (or `redis_url` in the [cluster] \
                 table of the configuration file), such as redis://:password@host:6379"
                    .to_owned(),
            )
        })?;
        let queue_config = QueueConfig {
            namespace: cluster.namespace.clone(),
            ttl: cluster.job_ttl,
            ..QueueConfig::default()
        };
        let submitter = TaskQueue::connect_with(&url, queue_config.clone())
            .map_err(|error| ExecutorError::Cluster(error.to_string()))?;
        let shared = match &cluster.storage {
            Some(storage) => Some(SharedStore::open(storage, &config.storage).map_err(
                |error| {
                    ExecutorError::Cluster(format!(
                        "the shared storage (CLOUDBUTTON_STORAGE): {error}"
                    ))
                },
            )?),
            None => None,
        };
        let program = match (&shared, cluster.publish_program) {
            (Some(shared), true) => {
                Some(program::publish_current(shared).map_err(ExecutorError::Cluster)?)
            }
            (None, true) => {
                tracing::info!(
                    "no shared storage (CLOUDBUTTON_STORAGE) to publish this program to: \
                     workers run the functions built into them"
                );
                None
            }
            (_, false) => None,
        };
        tracing::debug!(redis = %redact_url(&url), shared = ?shared, "connected to the cluster");
        Ok(ClusterBackend {
            notifier: Notifier::default(),
            url,
            queue_config,
            submitter: Mutex::new(submitter),
            shared,
            program,
            inline_limit: cluster.inline_limit.as_u64(),
        })
    }

    pub(crate) fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// The task slots of the workers alive now; 0 if Redis cannot say.
    pub(crate) fn worker_slots(&self) -> usize {
        let mut queue = self.submitter.lock().unwrap();
        match self.with_retry(&mut queue, |queue| queue.workers()) {
            Ok(workers) => workers.iter().map(|(_, slots)| slots).sum(),
            Err(error) => {
                tracing::warn!("cannot list the workers: {error}");
                0
            }
        }
    }

    /// Queues tasks of `job`, given as (index, serialized input). The first
    /// call for a job describes it to the workers and starts its collector.
    pub(crate) fn submit(&self, job: &Arc<dyn RemoteJob>, tasks: Vec<(usize, Vec<u8>)>) {
        let count = tasks.len() as u64;
        let mut slot = job.remote().id.lock().unwrap();
        let (id, first) = match &*slot {
            Some(id) => (id.clone(), false),
            None => (JobId::generate(), true),
        };
        let messages = match self.messages(job, &id, tasks) {
            Ok(messages) => messages,
            Err(message) => {
                drop(slot);
                return job.abandon(FailureKind::Worker(message));
            }
        };

        let mut queue = self.submitter.lock().unwrap();
        let spec = wire::encode(&self.spec(job.policy(), job.state_scope()));
        let result = self.with_retry(&mut queue, |queue| {
            if first {
                queue.describe(&id, &spec)?;
            }
            queue.submit(&id, messages.iter().cloned())
        });
        drop(queue);
        match result {
            Ok(_) => {
                job.remote().submitted.fetch_add(count, Ordering::AcqRel);
                if first {
                    tracing::debug!(job = %id, function = job.function_name(), "job submitted to the cluster");
                    *slot = Some(id.clone());
                    self.collect(Arc::downgrade(job), id, job.remote());
                }
            }
            Err(error) => {
                drop(slot);
                job.abandon(FailureKind::Worker(format!("cannot queue it: {error}")));
            }
        }
    }

    /// The queue's messages for these tasks. An input over the inline
    /// limit goes to the shared storage, if there is one, and its message
    /// carries the key: Redis holds only small values.
    fn messages(
        &self,
        job: &Arc<dyn RemoteJob>,
        id: &JobId,
        tasks: Vec<(usize, Vec<u8>)>,
    ) -> Result<Vec<TaskMessage>, String> {
        let mut messages = Vec::with_capacity(tasks.len());
        for (index, input) in tasks {
            let index = index as u32;
            let input = match &self.shared {
                Some(shared) if input.len() as u64 > self.inline_limit => {
                    let key = input_key(id.as_str(), index);
                    shared.put(&key, input).map_err(|error| {
                        format!("cannot store its input at {}: {error}", shared.url(&key))
                    })?;
                    job.remote().stored_inputs.store(true, Ordering::Relaxed);
                    TaskInput::Stored { key }
                }
                _ => TaskInput::Inline(input),
            };
            messages.push(TaskMessage {
                index,
                function: job.function_name().to_owned(),
                input: wire::encode(&input),
            });
        }
        Ok(messages)
    }

    /// Cancels the job in Redis, so that workers drop its tasks.
    pub(crate) fn cancel(&self, remote: &RemoteSlot) {
        let Some(id) = remote.id.lock().unwrap().clone() else {
            return;
        };
        let mut queue = self.submitter.lock().unwrap();
        if let Err(error) = self.with_retry(&mut queue, |queue| queue.cancel(&id)) {
            tracing::warn!(job = %id, "could not cancel the job in Redis: {error}");
        }
    }

    fn spec(&self, policy: &TaskPolicy, state_scope: &str) -> JobSpec {
        JobSpec {
            state_scope: state_scope.to_owned(),
            program: self.program.clone(),
            timeout_ms: policy.timeout.map(|timeout| timeout.as_millis() as u64),
            retries: policy.retries,
            backoff_ms: policy.backoff.as_millis() as u64,
            inline_limit: self.inline_limit,
        }
    }

    /// Runs `call`, and once more on a new connection if the first failed
    /// for a transient reason.
    fn with_retry<T>(
        &self,
        queue: &mut TaskQueue,
        mut call: impl FnMut(&mut TaskQueue) -> Result<T, QueueError>,
    ) -> Result<T, QueueError> {
        match call(queue) {
            Err(error) if error.is_transient() => {
                tracing::warn!("{error}; connecting again");
                *queue = TaskQueue::connect_with(&self.url, self.queue_config.clone())?;
                call(queue)
            }
            other => other,
        }
    }

    /// Starts the thread that gathers the results of job `id`.
    fn collect(&self, job: Weak<dyn RemoteJob>, id: JobId, remote: &RemoteSlot) {
        let collector = Collector {
            job,
            id,
            submitted: remote.submitted.clone(),
            stored_inputs: remote.stored_inputs.clone(),
            url: self.url.clone(),
            queue_config: self.queue_config.clone(),
            shared: self.shared.clone(),
            stored: false,
        };
        std::thread::Builder::new()
            .name("collector".to_owned())
            .spawn(move || collector.run())
            .expect("a collector thread starts");
    }
}

/// Gathers the committed results of one job until every task finished or
/// the job was dropped.
struct Collector {
    job: Weak<dyn RemoteJob>,
    id: JobId,
    submitted: Arc<AtomicU64>,
    /// Whether some input went through the shared storage.
    stored_inputs: Arc<AtomicBool>,
    url: String,
    queue_config: QueueConfig,
    shared: Option<SharedStore>,
    /// Whether some output came through the shared storage.
    stored: bool,
}

impl Collector {
    fn run(mut self) {
        let mut queue: Option<TaskQueue> = None;
        let mut lost: Option<(Instant, String)> = None;
        let check_every = CHECK_EVERY.min(self.queue_config.ttl / 3);
        let mut next_check = Instant::now() + check_every;
        let mut warned_idle = false;
        loop {
            let Some(job) = self.job.upgrade() else { break };
            if job.is_settled() {
                break;
            }
            if let Some((since, error)) = &lost
                && since.elapsed() > RECONNECT_FOR
            {
                job.abandon(FailureKind::Worker(format!(
                    "no connection to Redis for {}s ({error}); its result cannot be collected",
                    RECONNECT_FOR.as_secs()
                )));
                break;
            }
            drop(job);
            let con = match queue.as_mut() {
                Some(con) => con,
                None => match TaskQueue::connect_with(&self.url, self.queue_config.clone()) {
                    Ok(con) => queue.insert(con),
                    Err(error) => {
                        lost.get_or_insert_with(|| (Instant::now(), error.to_string()));
                        std::thread::sleep(Duration::from_millis(500));
                        continue;
                    }
                },
            };
            let read = con.results(&self.id, RESULTS_BLOCK).and_then(|results| {
                if Instant::now() < next_check {
                    return Ok((results, None));
                }
                next_check = Instant::now() + check_every;
                let status = con.status(&self.id)?;
                con.touch(&self.id)?;
                if !warned_idle && results.is_empty() && con.workers()?.is_empty() {
                    warned_idle = true;
                    tracing::warn!(
                        job = %self.id,
                        "no worker is taking tasks from namespace `{}` at {}; start one with \
                         `cloudbutton worker --redis URL`",
                        self.queue_config.namespace,
                        redact_url(&self.url)
                    );
                }
                Ok((results, Some(status)))
            });
            match read {
                Ok((results, status)) => {
                    if lost.take().is_some() {
                        tracing::info!(job = %self.id, "connected to Redis again");
                    }
                    let Some(job) = self.job.upgrade() else { break };
                    for result in results {
                        self.apply(&*job, result);
                    }
                    if let Some(status) = status
                        && status.submitted < self.submitted.load(Ordering::Acquire)
                        && !job.is_settled()
                    {
                        job.abandon(FailureKind::Worker(format!(
                            "Redis lost it: job {} has {} of its {} tasks there (Redis \
                             restarted without persistence, or the job's keys expired)",
                            self.id,
                            status.submitted,
                            self.submitted.load(Ordering::Acquire)
                        )));
                        break;
                    }
                }
                Err(error) if error.is_transient() => {
                    tracing::warn!(job = %self.id, "{error}; connecting again");
                    queue = None;
                    lost.get_or_insert_with(|| (Instant::now(), error.to_string()));
                }
                Err(error) => {
                    let why = match error {
                        QueueError::UnknownJob { .. } => format!(
                            "Redis lost it: job {} is gone from Redis (it restarted without \
                             persistence, or the job's keys expired)",
                            self.id
                        ),
                        error => format!("its result cannot be collected: {error}"),
                    };
                    if let Some(job) = self.job.upgrade() {
                        job.abandon(FailureKind::Worker(why));
                    }
                    break;
                }
            }
        }
        // Once every task is done (or the job dropped), what the job left
        // in the shared storage is of no use.
        let Some(shared) = &self.shared else { return };
        let mut left = Vec::new();
        if self.stored {
            left.push(results_prefix(self.id.as_str()));
        }
        if self.stored_inputs.load(Ordering::Relaxed) {
            left.push(inputs_prefix(self.id.as_str()));
        }
        for prefix in left {
            if let Err(error) = shared.delete_prefix(&prefix) {
                tracing::warn!(job = %self.id, "could not delete {}: {error}", shared.url(&prefix));
            }
        }
    }

    /// Finishes the task of one committed result.
    fn apply(&mut self, job: &dyn RemoteJob, result: TaskResult) {
        let report = match &result.outcome {
            Ok(bytes) => wire::decode::<TaskReport>(bytes, "task report").unwrap_or_else(|error| {
                TaskReport::failed(Failure::Worker(format!(
                    "worker {} sent a report that cannot be read: {error}",
                    result.worker
                )))
            }),
            Err(message) => TaskReport::failed(Failure::Worker(message.clone())),
        };
        let output = match &report.outcome {
            Outcome::Inline(bytes) => Ok(bytes.clone()),
            Outcome::Stored { key, .. } => {
                self.stored = true;
                match &self.shared {
                    Some(shared) => shared.get(key).map_err(|error| {
                        FailureKind::Worker(format!(
                            "its output cannot be read from {}: {error}",
                            shared.url(key)
                        ))
                    }),
                    None => Err(FailureKind::Worker(format!(
                        "worker {} left its output in the shared storage, but this driver has \
                         none (set CLOUDBUTTON_STORAGE to the workers' --storage)",
                        result.worker
                    ))),
                }
            }
            Outcome::Failed(failure) => Err(failure_kind(failure)),
        };
        job.complete(result.index as usize, result.worker, &report, output);
    }
}

fn failure_kind(failure: &Failure) -> FailureKind {
    match failure {
        Failure::Error(message) => FailureKind::Error(message.clone()),
        Failure::Panic(message) => FailureKind::Panic(message.clone()),
        Failure::Timeout(ms) => FailureKind::Timeout(Duration::from_millis(*ms)),
        Failure::Cancelled => FailureKind::Cancelled,
        Failure::Worker(message) => FailureKind::Worker(message.clone()),
    }
}
