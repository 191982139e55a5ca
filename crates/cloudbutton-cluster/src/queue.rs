//! The task queue: drivers submit tasks and read results, workers take tasks
//! and commit results, all through Redis.
//!
//! # Design
//!
//! - **One shared task stream per namespace** (`NS:tasks`), read by one
//!   consumer group, `workers`. A worker takes tasks of any job with a single
//!   `XREADGROUP`, in submission order across jobs. A stream entry is small
//!   (job id, task index, function name); the input bytes sit in the job's
//!   `input` hash, which expires with the job.
//! - **At-least-once delivery with leases.** A taken task stays in the group's
//!   pending list until it commits. Its lease is the time since it was last
//!   delivered or renewed (the entry's idle time): [`TaskQueue::renew`] resets
//!   it, and [`TaskQueue::take`] first claims (`XAUTOCLAIM`) any task idle for
//!   longer than the lease, so the task of a dead worker runs again.
//! - **Exactly-once commit.** [`TaskQueue::complete`] is one Lua script: the
//!   first completion of a task index wins (`HSETNX` on the job's `done` hash),
//!   is appended to the job's `results` stream and counted as committed; any
//!   later completion is discarded and counted as a duplicate. Either way the
//!   stream entry is acknowledged and deleted.
//! - **Drivers block, never poll.** [`TaskQueue::results`] waits on the job's
//!   results stream with `XREAD BLOCK`; [`TaskQueue::status`] reads the job's
//!   counters; [`TaskQueue::cancel`] sets a flag that workers see when they
//!   renew a lease, and that makes them drop the job's remaining tasks.
//! - **Nothing leaks.** Every key of a job has a time-to-live
//!   ([`QueueConfig::ttl`]), refreshed whenever the job is touched. Entries of
//!   the shared stream are deleted when their task commits, and an entry whose
//!   job has expired or been cancelled is dropped by the worker that gets it.
//!
//! The key layout is in [`crate::keys`], the Lua scripts in `scripts.rs`. Scripts touch the shared stream and a
//! job's keys together, so the queue needs a single Redis server (or a
//! primary with replicas), not Redis Cluster.
//!
//! A `TaskQueue` holds one connection and is used from one thread at a time;
//! open one per thread. A blocking call ([`take`](TaskQueue::take),
//! [`results`](TaskQueue::results)) holds the connection while it waits.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use redis::{Connection, RedisError, Script, ScriptInvocation};
use tracing::{debug, warn};

use crate::error::QueueError;
use crate::keys::{self, GROUP, JobId, Keys};
use crate::messages::{Commit, Delivery, JobStatus, Renewal, TaskMessage, TaskResult};
use crate::scripts::Scripts;
use crate::server::{COMMAND_TIMEOUT, RedisServer};

/// The most tasks sent to Redis in one transaction by [`TaskQueue::submit`].
const SUBMIT_BATCH: usize = 1000;

/// The most results returned by one call of [`TaskQueue::results`].
const RESULTS_BATCH: usize = 4096;

/// Settings of a [`TaskQueue`].
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// Prefix of every key. Drivers and workers that share a namespace share
    /// tasks; distinct namespaces on one Redis do not see each other. Same
    /// rules as a [`JobId`].
    pub namespace: String,
    /// How long the keys of a job live after the job was last touched (a
    /// submission, a task taken, a result committed, a cancellation).
    pub ttl: Duration,
    /// How long to wait for the connection to the server.
    pub connect_timeout: Duration,
}

impl Default for QueueConfig {
    /// Namespace `cloudbutton`, keys kept 24 hours, 5 seconds to connect.
    fn default() -> Self {
        QueueConfig {
            namespace: "cloudbutton".to_owned(),
            ttl: Duration::from_secs(24 * 60 * 60),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A connection to the task queue in Redis; see the module doc.
pub struct TaskQueue {
    con: Connection,
    /// `host:port`, for error messages.
    addr: String,
    /// The URL without its password, for `Debug`.
    url: String,
    keys: Keys,
    ttl_ms: u64,
    /// Where the next `XAUTOCLAIM` scan of the pending list starts.
    claim_cursor: String,
    /// When [`TaskQueue::take`] next looks for expired leases.
    next_reclaim: Instant,
    /// The last result entry returned per job.
    result_cursors: HashMap<JobId, String>,
    scripts: Scripts,
}

impl fmt::Debug for TaskQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskQueue")
            .field("url", &self.url)
            .field("namespace", &self.keys)
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl TaskQueue {
    /// Connects to the queue at `url` with the default [`QueueConfig`].
    ///
    /// `url` is `redis://[user[:password]@]host[:port][/db]`, or `rediss://`
    /// for TLS. Errors name the server as `host:port`, never the password.
    pub fn connect(url: &str) -> Result<TaskQueue, QueueError> {
        TaskQueue::connect_with(url, QueueConfig::default())
    }

    /// Connects to the queue at `url` with the given settings.
    pub fn connect_with(url: &str, config: QueueConfig) -> Result<TaskQueue, QueueError> {
        keys::check_name(&config.namespace).map_err(|reason| {
            QueueError::InvalidConfig(format!(
                "invalid namespace `{}`: {reason}",
                config.namespace
            ))
        })?;
        let ttl_ms = keys::ttl_millis(config.ttl)?;

        let server = RedisServer::new(url)?;
        let mut con = server.connect(config.connect_timeout)?;

        // The group starts at the beginning of the stream, so that tasks
        // submitted before any worker connected are delivered too.
        let keys = Keys::new(&config.namespace);
        let created: Result<(), RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(keys.tasks())
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query(&mut con);
        match created {
            Ok(()) => {}
            Err(error) if error.code() == Some("BUSYGROUP") => {}
            Err(error) => return Err(server.connect_error(error)),
        }

        debug!(url = %server.url(), namespace = %config.namespace, "connected to the task queue");
        Ok(TaskQueue {
            con,
            addr: server.addr().to_owned(),
            url: server.url().to_owned(),
            keys,
            ttl_ms,
            claim_cursor: "0-0".to_owned(),
            next_reclaim: Instant::now(),
            result_cursors: HashMap::new(),
            scripts: Scripts::new(),
        })
    }

    /// Adds tasks to `job`, creating it if needed, and returns how many.
    ///
    /// Task indexes must be unique within a job. Tasks go to Redis in
    /// transactions of up to 1,000, each of which workers see whole or not
    /// at all.
    pub fn submit(
        &mut self,
        job: &JobId,
        tasks: impl IntoIterator<Item = TaskMessage>,
    ) -> Result<usize, QueueError> {
        let keys = self.keys.job(job);
        let stream = self.keys.tasks();
        let mut tasks = tasks.into_iter().peekable();
        let mut submitted = 0;

        // Even an empty job gets its `meta` key, so that it has a status.
        let mut first = true;
        while first || tasks.peek().is_some() {
            first = false;
            let mut pipe = redis::pipe();
            pipe.atomic();
            let mut batch = 0;
            for task in tasks.by_ref().take(SUBMIT_BATCH) {
                pipe.hset(&keys.input, task.index, task.input).ignore();
                pipe.cmd("XADD")
                    .arg(&stream)
                    .arg("*")
                    .arg("job")
                    .arg(job.as_str())
                    .arg("index")
                    .arg(task.index)
                    .arg("function")
                    .arg(task.function)
                    .ignore();
                batch += 1;
            }
            pipe.hincr(&keys.meta, "submitted", batch).ignore();
            for key in keys.all() {
                pipe.pexpire(key, self.ttl_ms as i64).ignore();
            }
            pipe.query::<()>(&mut self.con)
                .map_err(|source| self.error(format!("submit the tasks of job {job}"), source))?;
            submitted += batch;
        }

        debug!(%job, tasks = submitted, "submitted");
        Ok(submitted)
    }

    /// Stores how the tasks of `job` are to be run (an opaque blob, such as
    /// an encoded [`JobSpec`](crate::JobSpec)); every [`Delivery`] of the
    /// job carries it. Call it before [`submit`](Self::submit).
    pub fn describe(&mut self, job: &JobId, spec: &[u8]) -> Result<(), QueueError> {
        let keys = self.keys.job(job);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.hset(&keys.meta, "spec", spec).ignore();
        pipe.hset_nx(&keys.meta, "submitted", 0).ignore();
        pipe.pexpire(&keys.meta, self.ttl_ms as i64).ignore();
        pipe.query::<()>(&mut self.con)
            .map_err(|source| self.error(format!("describe job {job}"), source))
    }

    /// Returns the results of `job` committed since the previous call (at
    /// most 4,096), in commit order, waiting up to `block` for the first one.
    /// An empty list means none came in time.
    pub fn results(&mut self, job: &JobId, block: Duration) -> Result<Vec<TaskResult>, QueueError> {
        let keys = self.keys.job(job);
        let cursor = self
            .result_cursors
            .get(job)
            .cloned()
            .unwrap_or_else(|| "0-0".to_owned());

        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(RESULTS_BATCH);
        if let Some(ms) = keys::block_millis(block) {
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS").arg(&keys.results).arg(&cursor);
        let reply: Option<StreamReadReply> = self
            .blocking(block, |con| cmd.query(con))
            .map_err(|source| self.error(format!("read the results of job {job}"), source))?;

        let entries = reply
            .into_iter()
            .flat_map(|reply| reply.keys)
            .flat_map(|key| key.ids);
        let mut results = Vec::new();
        let mut last = None;
        for entry in entries {
            results.push(self.parse_result(&keys.results, &entry)?);
            last = Some(entry.id);
        }
        if let Some(last) = last {
            self.result_cursors.insert(job.clone(), last);
        }
        Ok(results)
    }

    /// Cancels `job`: workers drop its tasks not yet started, and learn of
    /// the cancellation at their next [`renew`](TaskQueue::renew).
    pub fn cancel(&mut self, job: &JobId) -> Result<(), QueueError> {
        let keys = self.keys.job(job);
        let found: i64 = self
            .scripts
            .cancel
            .key(&keys.meta)
            .arg(self.ttl_ms)
            .invoke(&mut self.con)
            .map_err(|source| self.error(format!("cancel job {job}"), source))?;
        if found == 0 {
            return Err(QueueError::UnknownJob {
                job: job.to_string(),
            });
        }
        debug!(%job, "cancelled");
        Ok(())
    }

    /// Refreshes the time-to-live of every key of `job`, as a driver that
    /// is still waiting for it does, so that only an abandoned job expires.
    pub fn touch(&mut self, job: &JobId) -> Result<(), QueueError> {
        let keys = self.keys.job(job);
        let mut pipe = redis::pipe();
        for key in keys.all() {
            pipe.pexpire(key, self.ttl_ms as i64).ignore();
        }
        pipe.query::<()>(&mut self.con)
            .map_err(|source| self.error(format!("keep job {job}"), source))
    }

    /// Whether `job` was cancelled; `false` for a job that does not exist.
    pub fn is_cancelled(&mut self, job: &JobId) -> Result<bool, QueueError> {
        let keys = self.keys.job(job);
        let flag: Option<String> = redis::cmd("HGET")
            .arg(&keys.meta)
            .arg("cancelled")
            .query(&mut self.con)
            .map_err(|source| self.error(format!("read the status of job {job}"), source))?;
        Ok(flag.as_deref() == Some("1"))
    }

    /// The counters of `job`.
    pub fn status(&mut self, job: &JobId) -> Result<JobStatus, QueueError> {
        let keys = self.keys.job(job);
        let (submitted, committed, duplicates, cancelled): (
            Option<u64>,
            Option<u64>,
            Option<u64>,
            Option<String>,
        ) = redis::cmd("HMGET")
            .arg(&keys.meta)
            .arg("submitted")
            .arg("committed")
            .arg("duplicates")
            .arg("cancelled")
            .query(&mut self.con)
            .map_err(|source| self.error(format!("read the status of job {job}"), source))?;
        let Some(submitted) = submitted else {
            return Err(QueueError::UnknownJob {
                job: job.to_string(),
            });
        };
        Ok(JobStatus {
            submitted,
            committed: committed.unwrap_or(0),
            duplicates: duplicates.unwrap_or(0),
            cancelled: cancelled.as_deref() == Some("1"),
        })
    }

    /// Takes a task for `consumer` (a name unique among the workers, with
    /// the rules of a [`JobId`]), waiting up to `block` for one.
    ///
    /// A task whose lease expired (idle for longer than `lease`, which should
    /// be the same for every worker) comes first; otherwise a task never
    /// delivered. Tasks of cancelled or expired jobs are dropped on the way.
    ///
    /// Expired leases are looked for at most every quarter of a lease, after
    /// a look found none, and not while waiting for a new task: a task whose
    /// worker died runs again within about `lease * 1.25 + block`, so keep
    /// `block` short next to `lease`.
    pub fn take(
        &mut self,
        consumer: &str,
        lease: Duration,
        block: Duration,
    ) -> Result<Option<Delivery>, QueueError> {
        keys::check_name(consumer).map_err(|reason| {
            QueueError::InvalidConfig(format!("invalid consumer name `{consumer}`: {reason}"))
        })?;
        if lease < Duration::from_millis(1) {
            return Err(QueueError::InvalidConfig(format!(
                "a task lease must be at least 1 ms, not {lease:?}"
            )));
        }
        let deadline = Instant::now() + block;

        loop {
            let reclaimed = if Instant::now() >= self.next_reclaim {
                let entry = self.reclaim(consumer, lease)?;
                if entry.is_none() {
                    self.next_reclaim = Instant::now() + lease / 4;
                }
                entry
            } else {
                None
            };
            let entry = match reclaimed {
                Some(entry) => entry,
                None => {
                    // One round trip when a task is waiting; a blocking
                    // read only when none is.
                    if let Some(delivery) = self.take_next(consumer)? {
                        return Ok(Some(delivery));
                    }
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    match self.read_new(consumer, remaining)? {
                        Some(entry) => entry,
                        None => return Ok(None),
                    }
                }
            };
            if let Some(delivery) = self.open(consumer, entry)? {
                return Ok(Some(delivery));
            }
        }
    }

    /// Completes `delivery` as [`complete`](Self::complete) does and, in the
    /// same round trip, takes the next task never delivered for the same
    /// consumer, without waiting. The next task is `None` when there is
    /// none, or when it is time to look for expired leases: then call
    /// [`take`](Self::take).
    pub fn complete_and_take(
        &mut self,
        delivery: &Delivery,
        outcome: Result<&[u8], &str>,
    ) -> Result<(Commit, Option<Delivery>), QueueError> {
        if Instant::now() >= self.next_reclaim {
            return Ok((self.complete(delivery, outcome)?, None));
        }
        let (first, next): (i64, Option<OpenedTask>) = commit_call(
            &self.scripts.complete_and_take,
            &self.keys,
            self.ttl_ms,
            delivery,
            outcome,
        )
        .arg(self.keys.job_prefix())
        .invoke(&mut self.con)
        .map_err(|source| {
            self.error(
                format!("commit task {} of job {}", delivery.index, delivery.job),
                source,
            )
        })?;
        let commit = commit_of(first);
        debug!(job = %delivery.job, index = delivery.index, attempt = delivery.attempt, ?commit, "task completed");
        let next = next
            .map(|task| self.delivery(&delivery.consumer, task))
            .transpose()?;
        Ok((commit, next))
    }

    /// Takes a task never delivered, without waiting, in one round trip.
    fn take_next(&mut self, consumer: &str) -> Result<Option<Delivery>, QueueError> {
        let task: Option<OpenedTask> = self
            .scripts
            .take_next
            .key(self.keys.tasks())
            .arg(GROUP)
            .arg(consumer)
            .arg(self.keys.job_prefix())
            .arg(self.ttl_ms)
            .invoke(&mut self.con)
            .map_err(|source| self.error("take a new task", source))?;
        task.map(|task| self.delivery(consumer, task)).transpose()
    }

    /// A task opened by a script, as a [`Delivery`].
    fn delivery(&self, consumer: &str, task: OpenedTask) -> Result<Delivery, QueueError> {
        let (entry, job, index, function, attempt, input, spec) = task;
        let job = JobId::new(job).map_err(|_| QueueError::Malformed {
            addr: self.addr.clone(),
            what: format!(
                "task entry {entry} of {} names no valid job",
                self.keys.tasks()
            ),
        })?;
        debug!(%job, index, attempt, consumer, "task taken");
        Ok(Delivery {
            job,
            index,
            function,
            input,
            spec,
            attempt,
            consumer: consumer.to_owned(),
            entry,
        })
    }

    /// Renews the lease of `delivery`, and tells whether the job was
    /// cancelled or the task went to another worker.
    ///
    /// Call it well within every lease period while the task runs.
    pub fn renew(&mut self, delivery: &Delivery) -> Result<Renewal, QueueError> {
        let keys = self.keys.job(&delivery.job);
        let state: i64 = self
            .scripts
            .renew
            .key(self.keys.tasks())
            .key(&keys.meta)
            .arg(GROUP)
            .arg(&delivery.entry)
            .arg(&delivery.consumer)
            .invoke(&mut self.con)
            .map_err(|source| {
                self.error(
                    format!(
                        "renew the lease of task {} of job {}",
                        delivery.index, delivery.job
                    ),
                    source,
                )
            })?;
        Ok(match state {
            1 => Renewal::Held,
            2 => Renewal::Cancelled,
            _ => Renewal::Lost,
        })
    }

    /// Completes `delivery` with `outcome` (the serialized output, or why the
    /// task failed). The first completion of a task commits; later ones are
    /// discarded and counted.
    pub fn complete(
        &mut self,
        delivery: &Delivery,
        outcome: Result<&[u8], &str>,
    ) -> Result<Commit, QueueError> {
        let first: i64 = commit_call(
            &self.scripts.complete,
            &self.keys,
            self.ttl_ms,
            delivery,
            outcome,
        )
        .invoke(&mut self.con)
        .map_err(|source| {
            self.error(
                format!("commit task {} of job {}", delivery.index, delivery.job),
                source,
            )
        })?;
        let commit = commit_of(first);
        debug!(
            job = %delivery.job,
            index = delivery.index,
            attempt = delivery.attempt,
            ?commit,
            "task completed"
        );
        Ok(commit)
    }

    /// Tells drivers that worker `name` is alive with `slots` task slots,
    /// for `valid` from now. Call it well within every `valid` period.
    pub fn heartbeat(
        &mut self,
        name: &str,
        slots: usize,
        valid: Duration,
    ) -> Result<(), QueueError> {
        let _: i64 = self
            .scripts
            .heartbeat
            .key(self.keys.workers())
            .arg(name)
            .arg(slots)
            .arg(keys::millis(valid))
            .invoke(&mut self.con)
            .map_err(|source| self.error("record the worker's heartbeat", source))?;
        Ok(())
    }

    /// Removes worker `name` from the live workers, as it stops.
    pub fn leave(&mut self, name: &str) -> Result<(), QueueError> {
        redis::cmd("HDEL")
            .arg(self.keys.workers())
            .arg(name)
            .query::<()>(&mut self.con)
            .map_err(|source| self.error("remove the worker from the live workers", source))
    }

    /// The live workers of the namespace, by name, with their task slots.
    pub fn workers(&mut self) -> Result<Vec<(String, usize)>, QueueError> {
        let flat: Vec<String> = self
            .scripts
            .workers
            .key(self.keys.workers())
            .invoke(&mut self.con)
            .map_err(|source| self.error("list the live workers", source))?;
        let mut workers: Vec<(String, usize)> = flat
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].parse().unwrap_or(0)))
            .collect();
        workers.sort();
        Ok(workers)
    }

    /// Claims one task whose lease expired, if there is one.
    fn reclaim(&mut self, consumer: &str, lease: Duration) -> Result<Option<StreamId>, QueueError> {
        // One scan of the pending list can end without a claim but with a
        // cursor to go on from; follow it until the scan wraps around.
        loop {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(self.keys.tasks())
                .arg(GROUP)
                .arg(consumer)
                .arg(keys::millis(lease))
                .arg(&self.claim_cursor)
                .arg("COUNT")
                .arg(1)
                .query(&mut self.con)
                .map_err(|source| self.error("claim tasks whose lease expired", source))?;
            let wrapped = reply.next_stream_id == "0-0";
            self.claim_cursor = reply.next_stream_id;
            if let Some(entry) = reply.claimed.into_iter().next() {
                return Ok(Some(entry));
            }
            if wrapped {
                return Ok(None);
            }
        }
    }

    /// Reads one task never delivered before, waiting up to `block`.
    fn read_new(
        &mut self,
        consumer: &str,
        block: Duration,
    ) -> Result<Option<StreamId>, QueueError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(1);
        if let Some(ms) = keys::block_millis(block) {
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS").arg(self.keys.tasks()).arg(">");
        let reply: Option<StreamReadReply> = self
            .blocking(block, |con| cmd.query(con))
            .map_err(|source| self.error("read new tasks", source))?;
        Ok(reply
            .into_iter()
            .flat_map(|reply| reply.keys)
            .flat_map(|key| key.ids)
            .next())
    }

    /// Turns a delivered stream entry into a [`Delivery`], or drops it (and
    /// returns `None`) if its job is gone, cancelled, or the task committed.
    fn open(&mut self, consumer: &str, entry: StreamId) -> Result<Option<Delivery>, QueueError> {
        let job = entry.get::<String>("job").map(JobId::new);
        let index = entry.get::<u32>("index");
        let function = entry.get::<String>("function");
        let (Some(Ok(job)), Some(index), Some(function)) = (job, index, function) else {
            // Not written by this queue: drop it rather than have it delivered
            // again forever.
            warn!(entry = %entry.id, stream = %self.keys.tasks(), "dropping a malformed task entry");
            self.drop_entry(&entry.id)?;
            return Ok(None);
        };

        let keys = self.keys.job(&job);
        let opened: Option<OpenedTask> = self
            .scripts
            .open
            .key(self.keys.tasks())
            .key(keys.all().as_slice())
            .arg(GROUP)
            .arg(&entry.id)
            .arg(job.as_str())
            .arg(index)
            .arg(&function)
            .arg(self.ttl_ms)
            .invoke(&mut self.con)
            .map_err(|source| self.error(format!("take task {index} of job {job}"), source))?;
        match opened {
            Some(task) => self.delivery(consumer, task).map(Some),
            None => {
                debug!(%job, index, "dropped a task of a cancelled, expired or finished job");
                Ok(None)
            }
        }
    }

    /// Acknowledges and deletes an entry of the task stream.
    fn drop_entry(&mut self, id: &str) -> Result<(), QueueError> {
        let tasks = self.keys.tasks();
        redis::pipe()
            .cmd("XACK")
            .arg(&tasks)
            .arg(GROUP)
            .arg(id)
            .ignore()
            .cmd("XDEL")
            .arg(&tasks)
            .arg(id)
            .ignore()
            .query::<()>(&mut self.con)
            .map_err(|source| self.error("drop a malformed task entry", source))
    }

    /// Parses an entry of a job's results stream.
    fn parse_result(&self, stream: &str, entry: &StreamId) -> Result<TaskResult, QueueError> {
        let parsed = (|| {
            let index = entry.get::<u32>("index")?;
            let attempt = entry.get::<u32>("attempt")?;
            let worker = entry.get::<String>("worker")?;
            let payload = entry.get::<Vec<u8>>("payload")?;
            let outcome = match entry.get::<String>("ok")?.as_str() {
                "1" => Ok(payload),
                _ => Err(String::from_utf8_lossy(&payload).into_owned()),
            };
            Some(TaskResult {
                index,
                attempt,
                worker,
                outcome,
            })
        })();
        parsed.ok_or_else(|| QueueError::Malformed {
            addr: self.addr.clone(),
            what: format!("result entry {} of {stream} lacks a field", entry.id),
        })
    }

    /// Runs a blocking read with a read timeout that covers `block`.
    fn blocking<T>(
        &mut self,
        block: Duration,
        read: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, RedisError> {
        self.con
            .set_read_timeout(Some(block.saturating_add(COMMAND_TIMEOUT)))?;
        let result = read(&mut self.con);
        self.con.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        result
    }

    /// The error for a failed `operation`.
    fn error(&self, operation: impl Into<String>, source: RedisError) -> QueueError {
        if source.is_io_error() || source.is_timeout() || source.is_connection_dropped() {
            QueueError::Unreachable {
                addr: self.addr.clone(),
                source,
            }
        } else {
            QueueError::Redis {
                addr: self.addr.clone(),
                operation: operation.into(),
                source,
            }
        }
    }
}

/// A task as the scripts return it: entry id, job, index, function,
/// attempt, input, spec.
type OpenedTask = (String, String, u32, String, u32, Vec<u8>, Vec<u8>);

/// A call of a commit script (`COMPLETE` or `COMPLETE_AND_TAKE`) with the
/// keys and arguments they share.
fn commit_call<'a>(
    script: &'a Script,
    keys: &Keys,
    ttl_ms: u64,
    delivery: &Delivery,
    outcome: Result<&[u8], &str>,
) -> ScriptInvocation<'a> {
    let (ok, payload) = match outcome {
        Ok(output) => ("1", output),
        Err(message) => ("0", message.as_bytes()),
    };
    let mut call = script.prepare_invoke();
    call.key(keys.tasks())
        .key(keys.job(&delivery.job).all().as_slice())
        .arg(GROUP)
        .arg(&delivery.entry)
        .arg(delivery.index)
        .arg(delivery.attempt)
        .arg(&delivery.consumer)
        .arg(ok)
        .arg(payload)
        .arg(ttl_ms);
    call
}

/// What the commit scripts' answer means.
fn commit_of(first: i64) -> Commit {
    if first == 1 {
        Commit::First
    } else {
        Commit::Duplicate
    }
}
