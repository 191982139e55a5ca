//! The `FunctionExecutor`: the one entry point for running functions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use cloudbutton_state::{MemoryStore, State, Store};

use crate::backend::Backend;
use crate::cluster::{ClusterBackend, RedisObjects, take_role};
use crate::codec::{Codec, join_encoded};
use crate::config::{BackendKind, Config};
use crate::error::{ExecutorError, InputDescription, JobError};
use crate::function::Function;
use crate::future::TaskFuture;
use crate::input::{InputSettings, TaskInputs};
use crate::job::Job;
use crate::job_state::{JobControl, JobShared, TaskPolicy};
use crate::local::LocalBackend;
use crate::wait::{Wait, wait_for};

/// How a map-reduce groups map results for its reducers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceBy {
    /// One reducer over every map result.
    All,
    /// One reducer per input object, over the results of its chunks; the
    /// reducers' results come in object order.
    Object,
}

/// Runs functions over inputs on a backend, and hands back futures and
/// results.
///
/// ```
/// use cloudbutton_executor::{FnResult, Function, FunctionExecutor, TaskContext};
///
/// fn square(x: u64, _: &TaskContext) -> FnResult<u64> {
///     Ok(x * x)
/// }
/// static SQUARE: Function<u64, u64> = Function::new("doc::executor::square", square);
/// cloudbutton_executor::register!(SQUARE);
///
/// let executor = FunctionExecutor::new()?;
/// let job = executor.map(&SQUARE, vec![1, 2, 3])?;
/// assert_eq!(executor.get_result(job)?, [1, 4, 9]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FunctionExecutor {
    config: Config,
    backend: Backend,
    storage: Arc<cloudbutton_storage::StorageOptions>,
    objects: State,
}

impl FunctionExecutor {
    /// An executor configured from the configuration file and environment
    /// (see [`Config::load`]); with neither, threads on this machine.
    ///
    /// A program started by a worker to run its own functions becomes a
    /// task server here, and one started with `CLOUDBUTTON_WORKER=1` a
    /// worker: neither returns from this call (see the README's cluster
    /// section).
    pub fn new() -> Result<Self, ExecutorError> {
        Self::with_config(Config::load()?)
    }

    /// An executor with this configuration: threads in this process for the
    /// `local` backend, the workers behind a Redis queue for `redis`. Like
    /// [`new`](Self::new), it does not return in a program started as a
    /// task server or a worker.
    pub fn with_config(config: Config) -> Result<Self, ExecutorError> {
        take_role(&config);
        let backend = match config.executor.backend {
            BackendKind::Local => {
                let threads = config
                    .executor
                    .workers
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                tracing::debug!(threads, "starting the local backend");
                Backend::Local(Arc::new(LocalBackend::start(threads)))
            }
            BackendKind::Redis => Backend::Cluster(Arc::new(ClusterBackend::connect(&config)?)),
        };
        let store: Arc<dyn Store> = match &backend {
            Backend::Local(_) => Arc::new(MemoryStore::new()),
            Backend::Cluster(_) => Arc::new(RedisObjects::new(config.cluster.redis_url.clone())),
        };
        let objects = State::for_job(store);
        Ok(Self {
            backend,
            storage: Arc::new(config.storage.clone()),
            objects,
            config,
        })
    }

    /// The job's shared objects (counters, maps, barriers and the rest),
    /// which every task of this executor sees through
    /// [`TaskContext::state`](crate::TaskContext::state). They live in this
    /// process's memory with the local backend and in Redis with the
    /// `redis` backend, and are removed when the executor is dropped;
    /// objects of a [namespace](State::namespace) are kept.
    ///
    /// ```
    /// use cloudbutton_executor::{FnResult, Function, FunctionExecutor, TaskContext};
    ///
    /// fn count(_: u32, ctx: &TaskContext) -> FnResult<i64> {
    ///     Ok(ctx.state().counter("calls").increment()?)
    /// }
    /// static COUNT: Function<u32, i64> = Function::new("doc::executor::count", count);
    /// cloudbutton_executor::register!(COUNT);
    ///
    /// let executor = FunctionExecutor::new()?;
    /// let job = executor.map(&COUNT, vec![0; 8])?;
    /// let mut seen = executor.get_result(job)?;
    /// seen.sort();
    /// assert_eq!(seen, (1..=8).collect::<Vec<_>>());
    /// assert_eq!(executor.state().counter("calls").get()?, 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state(&self) -> &State {
        &self.objects
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many tasks run at once: the local backend's threads, or the
    /// task slots of the workers connected to the queue now.
    pub fn workers(&self) -> usize {
        match &self.backend {
            Backend::Local(local) => local.pool.threads(),
            Backend::Cluster(cluster) => cluster.worker_slots(),
        }
    }

    /// Sets how many times later jobs retry a failed task.
    pub fn set_retries(&mut self, retries: u32) {
        self.config.executor.retries = retries;
    }

    /// Sets the longest a task of a later job may run.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.config.executor.timeout = timeout;
    }

    /// Runs one function call in the background.
    pub fn call_async<I, O>(&self, function: &Function<I, O>, input: I) -> TaskFuture<O>
    where
        I: Clone + Serialize + DeserializeOwned + Send + 'static,
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        let input = vec![(Some(input), InputDescription::Value { position: 0 })];
        let job = self.start(*function, input);
        Job::new(job, None, self.config.executor.progress).future(0)
    }

    /// Runs the function once per input, in parallel. Inputs are a list of
    /// values, or an [`ObjectInput`](crate::ObjectInput) whose chunks each
    /// become a task.
    pub fn map<I, O>(
        &self,
        function: &Function<I, O>,
        inputs: impl TaskInputs<I>,
    ) -> Result<Job<O>, ExecutorError>
    where
        I: Clone + Serialize + DeserializeOwned + Send + 'static,
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        let tasks = inputs.into_tasks(&self.input_settings())?;
        let tasks = tasks
            .into_iter()
            .map(|(input, description)| (Some(input), description));
        let job = self.start(*function, tasks.collect());
        Ok(Job::new(job, None, self.config.executor.progress))
    }

    /// Maps, then reduces the map results: with one reducer for all, or one
    /// per input object. A reducer starts as soon as its map tasks are done
    /// and receives their results in input order.
    pub fn map_reduce<I, O, R>(
        &self,
        map: &Function<I, O>,
        inputs: impl TaskInputs<I>,
        reduce: &Function<Vec<O>, R>,
        by: ReduceBy,
    ) -> Result<Job<R>, ExecutorError>
    where
        I: Clone + Serialize + DeserializeOwned + Send + 'static,
        O: Clone + Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let tasks = inputs.into_tasks(&self.input_settings())?;
        let groups = group(&tasks, by)?;
        let mut group_of = vec![0; tasks.len()];
        for (group, (_, members)) in groups.iter().enumerate() {
            for &member in members {
                group_of[member] = group;
            }
        }

        let reducers = groups
            .iter()
            .map(|(name, members)| {
                let description = InputDescription::Group {
                    name: name.clone(),
                    inputs: members.len(),
                };
                (None, description)
            })
            .collect();
        let reduce_job = self.job(*reduce, reducers);
        let map_inputs = tasks
            .into_iter()
            .map(|(input, description)| (Some(input), description));
        let map_job = self.job(*map, map_inputs.collect());

        // Release each reducer once the last map task of its group finishes.
        let remaining: Vec<AtomicUsize> = groups
            .iter()
            .map(|(_, members)| AtomicUsize::new(members.len()))
            .collect();
        let members: Vec<Vec<usize>> = groups.into_iter().map(|(_, members)| members).collect();
        let empty_groups: Vec<usize> = (0..members.len())
            .filter(|&group| members[group].is_empty())
            .collect();
        let maps = Arc::downgrade(&map_job);
        let reducers = reduce_job.clone();
        map_job.on_finish(Box::new(move |index| {
            let group = group_of[index];
            if remaining[group].fetch_sub(1, Ordering::AcqRel) != 1 {
                return;
            }
            let Some(maps) = maps.upgrade() else { return };
            if maps.is_remote() {
                // The outputs stay as the workers serialized them.
                let mut outputs = Vec::with_capacity(members[group].len());
                for &member in &members[group] {
                    match maps.take_encoded(member) {
                        Some(Ok(output)) => outputs.push(output),
                        _ => {
                            let kind = crate::error::FailureKind::Upstream { task: member };
                            return reducers.fail_waiting(group, kind);
                        }
                    }
                }
                return reducers.release_encoded(group, join_encoded(outputs));
            }
            let mut outputs = Vec::with_capacity(members[group].len());
            for &member in &members[group] {
                match maps.take_result(member) {
                    Some(Ok(output)) => outputs.push(output),
                    _ => {
                        let kind = crate::error::FailureKind::Upstream { task: member };
                        return reducers.fail_waiting(group, kind);
                    }
                }
            }
            reducers.release(group, outputs);
        }));

        // A group with no map tasks (a reducer over an empty input) is ready now.
        for group in empty_groups {
            reduce_job.release(group, Vec::new());
        }
        map_job.start();
        let upstream: Arc<dyn JobControl> = map_job;
        Ok(Job::new(
            reduce_job,
            Some(upstream),
            self.config.executor.progress,
        ))
    }

    /// Blocks until the policy is met for these futures or the timeout
    /// passes; returns the finished futures and the others.
    pub fn wait<O>(
        &self,
        futures: &[TaskFuture<O>],
        policy: Wait,
        timeout: Option<Duration>,
    ) -> (Vec<TaskFuture<O>>, Vec<TaskFuture<O>>) {
        let tasks: Vec<(&dyn JobControl, usize)> = futures
            .iter()
            .map(|future| {
                let job: &dyn JobControl = &*future.job;
                (job, future.index)
            })
            .collect();
        let finished = wait_for(&tasks, policy, timeout, self.config.executor.progress);
        let mut done = Vec::with_capacity(finished.len());
        let mut not_done = Vec::new();
        let mut finished = finished.into_iter().peekable();
        for (position, future) in futures.iter().enumerate() {
            if finished.next_if_eq(&position).is_some() {
                done.push(future.clone());
            } else {
                not_done.push(future.clone());
            }
        }
        (done, not_done)
    }

    /// Waits for every task of the job and returns the results in input
    /// order, or an error that lists each failed task.
    pub fn get_result<O>(&self, job: Job<O>) -> Result<Vec<O>, JobError> {
        job.get_result()
    }

    pub(crate) fn input_settings(&self) -> InputSettings {
        InputSettings {
            default_chunk_size: self.config.partition.chunk_size.as_u64(),
            storage: (*self.storage).clone(),
        }
    }

    fn policy(&self) -> TaskPolicy {
        TaskPolicy {
            retries: self.config.executor.retries,
            backoff: self.config.executor.retry_backoff,
            timeout: self.config.executor.timeout,
        }
    }

    pub(crate) fn job<I, O>(
        &self,
        function: Function<I, O>,
        inputs: Vec<(Option<I>, InputDescription)>,
    ) -> Arc<JobShared<I, O>>
    where
        I: Clone + Serialize + Send + 'static,
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        JobShared::new(
            function,
            inputs,
            self.policy(),
            self.backend.clone(),
            Codec::new(),
            self.storage.clone(),
            self.objects.clone(),
        )
    }

    fn start<I, O>(
        &self,
        function: Function<I, O>,
        inputs: Vec<(Option<I>, InputDescription)>,
    ) -> Arc<JobShared<I, O>>
    where
        I: Clone + Serialize + Send + 'static,
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        let job = self.job(function, inputs);
        job.start();
        job
    }
}

impl Drop for FunctionExecutor {
    /// Removes the job's shared objects; a namespace's stay.
    fn drop(&mut self) {
        if let Err(error) = self.objects.clear() {
            tracing::warn!(scope = self.objects.scope(), %error, "could not remove the job's shared objects");
        }
    }
}

/// The reducer groups: a name and the indices of their map tasks.
fn group<I>(
    tasks: &[(I, InputDescription)],
    by: ReduceBy,
) -> Result<Vec<(String, Vec<usize>)>, ExecutorError> {
    match by {
        ReduceBy::All => Ok(vec![("all".to_owned(), (0..tasks.len()).collect())]),
        ReduceBy::Object => {
            let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
            for (index, (_, description)) in tasks.iter().enumerate() {
                let InputDescription::Chunk { url, .. } = description else {
                    return Err(ExecutorError::ReduceByObjectNeedsObjects);
                };
                // Chunks of one object are adjacent, in part order.
                match groups.last_mut() {
                    Some((name, members)) if name == url => members.push(index),
                    _ => groups.push((url.clone(), vec![index])),
                }
            }
            Ok(groups)
        }
    }
}
