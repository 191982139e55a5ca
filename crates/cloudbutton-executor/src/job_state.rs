//! The shared state of a job: one slot per task, and how tasks move through it.
//!
//! Each task has a slot. A slot's state moves forward only: `Waiting` (a
//! reducer whose inputs are not ready) or `Pending`, then `Running`, then one
//! of `Done`, `Failed` or `Cancelled`; a failed attempt with retries left
//! goes back to `Pending`. Every move happens under the slot's lock, and the
//! attempt number tells a late finisher (a task that overran its timeout)
//! that its result no longer counts. So each task finishes exactly once.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use cloudbutton_state::State;
use cloudbutton_storage::StorageOptions;
use serde::Serialize;

use cloudbutton_cluster::wire::TaskReport;

use crate::backend::Backend;
use crate::cluster::{RemoteJob, RemoteSlot};
use crate::codec::Codec;
use crate::context::TaskContext;
use crate::error::{FailureKind, InputDescription, TaskError};
use crate::function::Function;
use crate::local::{Disposition, LocalBackend, Runnable};
use crate::notify::Notifier;
use crate::summary::JobSummary;
use crate::task::{TaskState, TaskStats};

/// How each task of a job is run.
#[derive(Clone, Debug)]
pub(crate) struct TaskPolicy {
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
    pub(crate) timeout: Option<Duration>,
}

struct Slot<I, O> {
    state: AtomicU8,
    inner: Mutex<SlotInner<I, O>>,
}

struct SlotInner<I, O> {
    input: Option<I>,
    /// The input already serialized, for a reducer of a cluster job whose
    /// map outputs were never decoded here.
    encoded_input: Option<Vec<u8>>,
    output: Option<O>,
    /// The output as a worker committed it, decoded when it is taken.
    encoded_output: Option<Vec<u8>>,
    error: Option<TaskError>,
    stats: TaskStats,
    /// Set when the running attempt overran its timeout.
    overrun: Arc<AtomicBool>,
}

/// Called with a task's index once it has finished.
type FinishHook = Box<dyn Fn(usize) + Send + Sync>;

/// Numbers jobs within this process, for logs.
static NEXT_JOB: AtomicU64 = AtomicU64::new(1);

/// The shared state of one job.
pub(crate) struct JobShared<I, O> {
    id: u64,
    function: Function<I, O>,
    slots: Box<[Slot<I, O>]>,
    inputs: Box<[InputDescription]>,
    policy: TaskPolicy,
    backend: Backend,
    codec: Codec<I, O>,
    /// The job's identity in the cluster's queue, once it has one.
    remote: RemoteSlot,
    storage: Arc<StorageOptions>,
    /// The shared objects its tasks see.
    objects: State,
    cancelled: Arc<AtomicBool>,
    finished: AtomicUsize,
    failed: AtomicUsize,
    retried: AtomicUsize,
    on_finish: OnceLock<FinishHook>,
    created: Instant,
    last_end: Mutex<Option<Instant>>,
}

impl<I, O> JobShared<I, O>
where
    I: Clone + Send + 'static,
    O: Serialize + Send + 'static,
{
    /// A job of one task per input. A task given no input yet waits for
    /// [`release`](Self::release); the others are queued by [`start`](Self::start).
    pub(crate) fn new(
        function: Function<I, O>,
        inputs: Vec<(Option<I>, InputDescription)>,
        policy: TaskPolicy,
        backend: Backend,
        codec: Codec<I, O>,
        storage: Arc<StorageOptions>,
        objects: State,
    ) -> Arc<Self> {
        let now = SystemTime::now();
        let mut descriptions = Vec::with_capacity(inputs.len());
        let slots = inputs
            .into_iter()
            .enumerate()
            .map(|(index, (input, description))| {
                descriptions.push(description);
                let ready = input.is_some();
                let mut stats = TaskStats::new(index);
                stats.submitted = ready.then_some(now);
                let state = if ready {
                    TaskState::Pending
                } else {
                    TaskState::Waiting
                };
                Slot {
                    state: AtomicU8::new(state.to_u8()),
                    inner: Mutex::new(SlotInner {
                        input,
                        encoded_input: None,
                        output: None,
                        encoded_output: None,
                        error: None,
                        stats,
                        overrun: Arc::new(AtomicBool::new(false)),
                    }),
                }
            })
            .collect();
        Arc::new(Self {
            id: NEXT_JOB.fetch_add(1, Ordering::Relaxed),
            function,
            slots,
            inputs: descriptions.into_boxed_slice(),
            policy,
            backend,
            codec,
            remote: RemoteSlot::default(),
            storage,
            objects,
            cancelled: Arc::new(AtomicBool::new(false)),
            finished: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            retried: AtomicUsize::new(0),
            on_finish: OnceLock::new(),
            created: Instant::now(),
            last_end: Mutex::new(None),
        })
    }

    /// Queues every task that is ready.
    pub(crate) fn start(self: &Arc<Self>) {
        tracing::debug!(
            job = self.id,
            function = self.function.name(),
            tasks = self.slots.len(),
            "job started"
        );
        let ready = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.state() == TaskState::Pending)
            .map(|(index, _)| index);
        match &self.backend {
            Backend::Local(local) => {
                for index in ready {
                    local.pool.submit(self.clone(), index);
                }
            }
            Backend::Cluster(_) => self.submit_remote(ready.collect()),
        }
    }

    /// Sends ready tasks to the cluster's queue. Their inputs leave this
    /// process: retries happen on the workers.
    fn submit_remote(self: &Arc<Self>, indices: Vec<usize>) {
        let Backend::Cluster(cluster) = &self.backend else {
            unreachable!("only cluster jobs submit remotely")
        };
        let mut tasks = Vec::with_capacity(indices.len());
        for index in indices {
            let slot = &self.slots[index];
            let mut inner = slot.inner.lock().unwrap();
            let encoded = match inner.encoded_input.take() {
                Some(bytes) => Ok(bytes),
                None => {
                    let input = inner.input.take().expect("a pending task has its input");
                    (self.codec.encode)(&input)
                }
            };
            match encoded {
                Ok(bytes) => tasks.push((index, bytes)),
                Err(error) => {
                    let kind = FailureKind::Error(format!("cannot serialize the input: {error}"));
                    inner.error = Some(self.task_error(index, kind, 0));
                    slot.set_state(TaskState::Failed);
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    drop(inner);
                    self.finish(index);
                }
            }
        }
        if !tasks.is_empty() {
            let job: Arc<dyn RemoteJob> = self.clone();
            cluster.submit(&job, tasks);
        }
    }

    /// Sets a hook called once per task, after it finished.
    pub(crate) fn on_finish(&self, hook: FinishHook) {
        let _ = self.on_finish.set(hook);
    }

    /// Gives a waiting task its input and queues it.
    pub(crate) fn release(self: &Arc<Self>, index: usize, input: I) {
        self.release_with(index, |inner| inner.input = Some(input));
    }

    /// Gives a waiting task of a cluster job its input, serialized as the
    /// codec would, and queues it.
    pub(crate) fn release_encoded(self: &Arc<Self>, index: usize, input: Vec<u8>) {
        self.release_with(index, |inner| inner.encoded_input = Some(input));
    }

    fn release_with(self: &Arc<Self>, index: usize, give: impl FnOnce(&mut SlotInner<I, O>)) {
        let slot = &self.slots[index];
        let mut inner = slot.inner.lock().unwrap();
        if slot.state() != TaskState::Waiting {
            return;
        }
        give(&mut inner);
        inner.stats.submitted = Some(SystemTime::now());
        slot.set_state(TaskState::Pending);
        drop(inner);
        match &self.backend {
            Backend::Local(local) => local.pool.submit(self.clone(), index),
            Backend::Cluster(_) => self.submit_remote(vec![index]),
        }
    }

    /// Fails a waiting task without running it.
    pub(crate) fn fail_waiting(&self, index: usize, kind: FailureKind) {
        let slot = &self.slots[index];
        let mut inner = slot.inner.lock().unwrap();
        if slot.state() != TaskState::Waiting {
            return;
        }
        inner.error = Some(self.task_error(index, kind, 0));
        slot.set_state(TaskState::Failed);
        self.failed.fetch_add(1, Ordering::Relaxed);
        drop(inner);
        self.finish(index);
    }

    /// Takes the result of a finished task out of its slot.
    pub(crate) fn take_result(&self, index: usize) -> Option<Result<O, TaskError>> {
        let slot = &self.slots[index];
        let mut inner = slot.inner.lock().unwrap();
        match slot.state() {
            TaskState::Done => {
                if let Some(output) = inner.output.take() {
                    return Some(Ok(output));
                }
                let bytes = inner.encoded_output.take()?;
                let attempts = inner.stats.attempts;
                Some((self.codec.decode)(&bytes).map_err(|error| {
                    let kind =
                        FailureKind::Error(format!("cannot deserialize the output: {error}"));
                    self.task_error(index, kind, attempts)
                }))
            }
            TaskState::Failed | TaskState::Cancelled => inner.error.clone().map(Err),
            _ => None,
        }
    }

    /// Takes the output of a finished cluster task out of its slot as the
    /// worker serialized it, or its error; `None` if there is neither (a
    /// local task, or a result taken already).
    pub(crate) fn take_encoded(&self, index: usize) -> Option<Result<Vec<u8>, TaskError>> {
        let slot = &self.slots[index];
        let mut inner = slot.inner.lock().unwrap();
        match slot.state() {
            TaskState::Done => inner.encoded_output.take().map(Ok),
            TaskState::Failed | TaskState::Cancelled => inner.error.clone().map(Err),
            _ => None,
        }
    }

    /// Whether the job's tasks run in the cluster.
    pub(crate) fn is_remote(&self) -> bool {
        matches!(self.backend, Backend::Cluster(_))
    }

    fn task_error(&self, index: usize, kind: FailureKind, attempts: u32) -> TaskError {
        TaskError {
            index,
            function: self.function.name(),
            input: self.inputs[index].clone(),
            kind,
            attempts,
        }
    }

    /// Records that a task finished: counts it, wakes waiters, runs the hook.
    fn finish(&self, index: usize) {
        self.finished.fetch_add(1, Ordering::AcqRel);
        *self.last_end.lock().unwrap() = Some(Instant::now());
        self.backend.notifier().notify();
        if let Some(hook) = self.on_finish.get() {
            hook(index);
        }
    }

    /// Ends an attempt that did not succeed: retries it after a backoff if
    /// attempts are left, else fails the task. Called with the slot locked;
    /// returns true if the task finished.
    fn settle_failure(
        self: &Arc<Self>,
        index: usize,
        inner: &mut SlotInner<I, O>,
        kind: FailureKind,
    ) -> bool {
        let slot = &self.slots[index];
        let attempt = inner.stats.attempts;
        if attempt <= self.policy.retries && !self.cancelled.load(Ordering::Relaxed) {
            tracing::debug!(task = index, attempt, %kind, "retrying task");
            self.retried.fetch_add(1, Ordering::Relaxed);
            slot.set_state(TaskState::Pending);
            let delay = self.policy.backoff * 2u32.saturating_pow(attempt - 1).min(64);
            let job = self.clone();
            self.local()
                .timer
                .schedule(Instant::now() + delay, move || {
                    job.local().pool.submit(job.clone(), index);
                });
            return false;
        }
        tracing::debug!(task = index, attempt, %kind, "task failed");
        inner.error = Some(self.task_error(index, kind, attempt));
        slot.set_state(TaskState::Failed);
        self.failed.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The local backend; only local jobs retry and time out here.
    fn local(&self) -> &LocalBackend {
        match &self.backend {
            Backend::Local(local) => local,
            Backend::Cluster(_) => unreachable!("cluster tasks retry and time out on the workers"),
        }
    }

    /// Called by the timer when an attempt's deadline passes.
    fn expire(self: &Arc<Self>, index: usize, attempt: u32) {
        let slot = &self.slots[index];
        let mut inner = slot.inner.lock().unwrap();
        if slot.state() != TaskState::Running || inner.stats.attempts != attempt {
            return;
        }
        inner.overrun.store(true, Ordering::Relaxed);
        inner.stats.ended = Some(SystemTime::now());
        let limit = self.policy.timeout.unwrap_or_default();
        let finished = self.settle_failure(index, &mut inner, FailureKind::Timeout(limit));
        drop(inner);
        // The overrunning thread cannot be stopped; keep the pool's capacity.
        self.local().pool.add_thread();
        if finished {
            self.finish(index);
        }
    }
}

impl<I, O> Runnable for JobShared<I, O>
where
    I: Clone + Send + 'static,
    O: Serialize + Send + 'static,
{
    fn run(self: Arc<Self>, index: usize, worker: &str) -> Disposition {
        let slot = &self.slots[index];

        // Claim the task, unless it was cancelled while queued.
        let mut inner = slot.inner.lock().unwrap();
        if slot.state() != TaskState::Pending {
            return Disposition::Continue;
        }
        slot.set_state(TaskState::Running);
        let attempt = inner.stats.attempts + 1;
        inner.stats.attempts = attempt;
        inner.stats.started = Some(SystemTime::now());
        inner.stats.ended = None;
        inner.stats.worker = Some(worker.to_owned());
        let overrun = Arc::new(AtomicBool::new(false));
        inner.overrun = overrun.clone();
        // Keep the input while a retry may need it.
        let input = if attempt <= self.policy.retries {
            inner.input.clone()
        } else {
            inner.input.take()
        }
        .expect("a pending task has its input");
        drop(inner);

        if let Some(timeout) = self.policy.timeout {
            let job = Arc::downgrade(&self);
            self.local()
                .timer
                .schedule(Instant::now() + timeout, move || {
                    if let Some(job) = Weak::upgrade(&job) {
                        job.expire(index, attempt);
                    }
                });
        }

        let ctx = TaskContext::new(
            index,
            attempt,
            worker.to_owned(),
            self.cancelled.clone(),
            overrun.clone(),
            self.storage.clone(),
            self.objects.clone(),
        );
        let span = tracing::debug_span!("task", job = self.id, index, attempt, worker);
        let outcome = span.in_scope(|| {
            tracing::trace!(function = self.function.name(), "task started");
            panic::catch_unwind(AssertUnwindSafe(|| self.function.call(input, &ctx)))
        });

        // Commit, unless the attempt was given up on in the meantime.
        let mut inner = slot.inner.lock().unwrap();
        if overrun.load(Ordering::Relaxed) {
            return Disposition::Retire;
        }
        if slot.state() != TaskState::Running || inner.stats.attempts != attempt {
            return Disposition::Continue;
        }
        inner.stats.ended = Some(SystemTime::now());
        inner.stats.bytes_read = ctx.bytes_read();
        let finished = match outcome {
            Ok(Ok(output)) => {
                inner.stats.result_size = serialized_size(&output);
                inner.output = Some(output);
                inner.input = None;
                slot.set_state(TaskState::Done);
                true
            }
            Ok(Err(error)) => {
                self.settle_failure(index, &mut inner, FailureKind::Error(error_chain(&*error)))
            }
            Err(payload) => self.settle_failure(
                index,
                &mut inner,
                FailureKind::Panic(panic_message(&*payload)),
            ),
        };
        drop(inner);
        if finished {
            self.finish(index);
        }
        Disposition::Continue
    }
}

impl<I, O> Slot<I, O> {
    fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Acquire))
    }

    fn set_state(&self, state: TaskState) {
        self.state.store(state.to_u8(), Ordering::Release);
    }
}

/// The size of a value in a compact binary encoding.
fn serialized_size<T: Serialize>(value: &T) -> u64 {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_or(0, |size: usize| size as u64)
}

/// An error and its sources, as one line.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// What every job can do whatever its types: the part of a job that
/// progress bars, summaries and cancellation need.
pub(crate) trait JobControl: Send + Sync {
    fn len(&self) -> usize;
    fn finished(&self) -> usize;
    fn state(&self, index: usize) -> TaskState;
    fn stats(&self, index: usize) -> TaskStats;
    fn error(&self, index: usize) -> Option<TaskError>;
    fn error_for(&self, index: usize, kind: FailureKind) -> TaskError;
    fn cancel(&self);
    fn summary(&self) -> JobSummary;
    fn notifier(&self) -> &Notifier;
}

impl<I, O> JobControl for JobShared<I, O>
where
    I: Clone + Send + 'static,
    O: Serialize + Send + 'static,
{
    fn len(&self) -> usize {
        self.slots.len()
    }

    fn finished(&self) -> usize {
        self.finished.load(Ordering::Acquire)
    }

    fn state(&self, index: usize) -> TaskState {
        self.slots[index].state()
    }

    fn stats(&self, index: usize) -> TaskStats {
        self.slots[index].inner.lock().unwrap().stats.clone()
    }

    fn error(&self, index: usize) -> Option<TaskError> {
        self.slots[index].inner.lock().unwrap().error.clone()
    }

    fn error_for(&self, index: usize, kind: FailureKind) -> TaskError {
        let attempts = self.slots[index].inner.lock().unwrap().stats.attempts;
        TaskError {
            index,
            function: self.function.name(),
            input: self.inputs[index].clone(),
            kind,
            attempts,
        }
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        for (index, slot) in self.slots.iter().enumerate() {
            let mut inner = slot.inner.lock().unwrap();
            if slot.state().is_finished() {
                continue;
            }
            let attempts = inner.stats.attempts;
            inner.error = Some(self.task_error(index, FailureKind::Cancelled, attempts));
            inner.input = None;
            slot.set_state(TaskState::Cancelled);
            drop(inner);
            self.finished.fetch_add(1, Ordering::AcqRel);
            if let Some(hook) = self.on_finish.get() {
                hook(index);
            }
        }
        if let Backend::Cluster(cluster) = &self.backend {
            cluster.cancel(&self.remote);
        }
        self.backend.notifier().notify();
    }

    fn summary(&self) -> JobSummary {
        let mut summary = JobSummary {
            function: self.function.name().to_owned(),
            tasks: self.slots.len(),
            retries: self.retried.load(Ordering::Relaxed),
            ..JobSummary::default()
        };
        for slot in self.slots.iter() {
            let inner = slot.inner.lock().unwrap();
            match slot.state() {
                TaskState::Done => summary.done += 1,
                TaskState::Failed => summary.failed += 1,
                TaskState::Cancelled => summary.cancelled += 1,
                _ => {}
            }
            summary.bytes_read += inner.stats.bytes_read;
            summary.result_bytes += inner.stats.result_size;
        }
        let end = self.last_end.lock().unwrap().unwrap_or_else(Instant::now);
        summary.wall_time = end.saturating_duration_since(self.created);
        summary
    }

    fn notifier(&self) -> &Notifier {
        self.backend.notifier()
    }
}

impl<I, O> RemoteJob for JobShared<I, O>
where
    I: Clone + Send + 'static,
    O: Serialize + Send + 'static,
{
    fn remote(&self) -> &RemoteSlot {
        &self.remote
    }

    fn function_name(&self) -> &'static str {
        self.function.name()
    }

    fn policy(&self) -> &TaskPolicy {
        &self.policy
    }

    fn state_scope(&self) -> &str {
        self.objects.scope()
    }

    fn is_settled(&self) -> bool {
        self.finished.load(Ordering::Acquire) == self.slots.len()
    }

    fn complete(
        &self,
        index: usize,
        worker: String,
        report: &TaskReport,
        output: Result<Vec<u8>, FailureKind>,
    ) {
        let Some(slot) = self.slots.get(index) else {
            tracing::warn!(
                job = self.id,
                index,
                "a result for a task this job does not have"
            );
            return;
        };
        let mut inner = slot.inner.lock().unwrap();
        if slot.state().is_finished() {
            return;
        }
        let at = |ms: u64| Some(SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
        let stats = &mut inner.stats;
        stats.started = at(report.started_ms);
        stats.ended = at(report.ended_ms);
        stats.attempts = report.attempts;
        stats.bytes_read = report.bytes_read;
        stats.worker = Some(worker);
        let retries = report.attempts.saturating_sub(1) as usize;
        self.retried.fetch_add(retries, Ordering::Relaxed);
        // The output is decoded only when it is taken: the outputs of map
        // tasks go to their reducer as they are.
        match output {
            Ok(bytes) => {
                inner.stats.result_size = bytes.len() as u64;
                inner.encoded_output = Some(bytes);
                slot.set_state(TaskState::Done);
            }
            Err(kind) => {
                inner.error = Some(self.task_error(index, kind, report.attempts));
                slot.set_state(TaskState::Failed);
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(inner);
        self.finish(index);
    }

    fn abandon(&self, kind: FailureKind) {
        for (index, slot) in self.slots.iter().enumerate() {
            let mut inner = slot.inner.lock().unwrap();
            if slot.state().is_finished() || slot.state() == TaskState::Waiting {
                continue;
            }
            let attempts = inner.stats.attempts;
            inner.error = Some(self.task_error(index, kind.clone(), attempts));
            slot.set_state(TaskState::Failed);
            self.failed.fetch_add(1, Ordering::Relaxed);
            drop(inner);
            self.finish(index);
        }
    }
}

/// The typed side of a job: taking results out.
pub(crate) trait JobOutputs<O>: JobControl {
    fn take_result(&self, index: usize) -> Option<Result<O, TaskError>>;
}

impl<I, O> JobOutputs<O> for JobShared<I, O>
where
    I: Clone + Send + 'static,
    O: Serialize + Send + 'static,
{
    fn take_result(&self, index: usize) -> Option<Result<O, TaskError>> {
        JobShared::take_result(self, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn error_chains_join_their_sources() {
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&error), "outer: inner");
    }

    #[test]
    fn panic_messages_come_from_str_and_string_payloads() {
        let payload: Box<dyn Any + Send> = Box::new("static");
        assert_eq!(panic_message(&*payload), "static");
        let payload: Box<dyn Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(&*payload), "owned");
        let payload: Box<dyn Any + Send> = Box::new(7);
        assert_eq!(
            panic_message(&*payload),
            "a panic with a non-string payload"
        );
    }

    #[test]
    fn sizes_are_measured_compactly() {
        assert_eq!(serialized_size(&()), 0);
        assert_eq!(serialized_size(&vec![1u8, 2, 3]), 4);
    }
}
