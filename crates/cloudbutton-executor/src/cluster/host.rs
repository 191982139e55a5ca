//! The worker's side of published programs: each program a job names is
//! fetched once, started once as a task server on a Unix socket, and kept
//! running for the tasks that follow. A program that dies fails the tasks
//! it was running, and the next task starts it again.

use std::collections::HashMap;
use std::io::BufReader;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudbutton_cluster::program::ProgramCache;
use cloudbutton_cluster::wire::{
    Failure, FromProgram, ProgramRef, RunTask, TaskReport, ToProgram, read_frame, write_frame,
};

use super::objects::STATE_URL_VAR;
use super::role::{TASK_SERVER_VAR, WORKER_VAR};
use crate::permissions::{PERMISSIONS_VAR, permissions};

/// How long a started program may take to reach its task server.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The programs a worker runs tasks in.
pub(crate) struct ProgramHosts {
    cache: ProgramCache,
    /// The worker's Redis URL, passed to the programs it starts so that
    /// their tasks reach the job's shared objects.
    redis_url: String,
    sockets: tempfile::TempDir,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    next_id: AtomicU64,
}

/// One running program.
struct Host {
    /// The program, for messages: `wordcount (3f2a9c1e)`.
    name: String,
    writer: Mutex<UnixStream>,
    waiting: Arc<Mutex<HashMap<u64, mpsc::Sender<TaskReport>>>>,
    /// Why the program stopped serving, once it has.
    ended: Arc<Mutex<Option<String>>>,
    child: Arc<Mutex<Child>>,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.lock().unwrap().kill();
    }
}

impl ProgramHosts {
    pub(crate) fn new(cache: ProgramCache, redis_url: String) -> std::io::Result<ProgramHosts> {
        Ok(ProgramHosts {
            cache,
            redis_url,
            sockets: tempfile::Builder::new()
                .prefix("cloudbutton-worker")
                .tempdir()?,
            hosts: Mutex::default(),
            next_id: AtomicU64::new(1),
        })
    }

    /// Runs `task` in `program`, telling it if `cancelled` turns true.
    pub(crate) fn run(
        &self,
        program: &ProgramRef,
        mut task: RunTask,
        cancelled: &AtomicBool,
    ) -> TaskReport {
        let host = match self.host(program) {
            Ok(host) => host,
            Err(message) => return failed_to_run(message),
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        task.id = id;
        let (sender, receiver) = mpsc::channel();
        host.waiting.lock().unwrap().insert(id, sender);
        if write_frame(&mut *host.writer.lock().unwrap(), &ToProgram::Run(task)).is_err() {
            host.waiting.lock().unwrap().remove(&id);
            return failed_to_run(host.died());
        }
        let mut cancel_sent = false;
        loop {
            match receiver.recv_timeout(Duration::from_millis(100)) {
                Ok(report) => return report,
                Err(RecvTimeoutError::Timeout) => {
                    if !cancel_sent && cancelled.load(Ordering::Relaxed) {
                        cancel_sent = true;
                        let _ =
                            write_frame(&mut *host.writer.lock().unwrap(), &ToProgram::Cancel(id));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return failed_to_run(host.died()),
            }
        }
    }

    /// The running host of `program`, started if needed.
    fn host(&self, program: &ProgramRef) -> Result<Arc<Host>, String> {
        let mut hosts = self.hosts.lock().unwrap();
        if let Some(host) = hosts.get(&program.hash)
            && host.ended.lock().unwrap().is_none()
        {
            return Ok(host.clone());
        }
        let host = Arc::new(self.start(program)?);
        hosts.insert(program.hash.clone(), host.clone());
        Ok(host)
    }

    fn start(&self, program: &ProgramRef) -> Result<Host, String> {
        let name = format!(
            "{} ({})",
            program.name,
            &program.hash[..8.min(program.hash.len())]
        );
        let path = self.cache.fetch(&program.hash)?;
        let socket = self.sockets.path().join(format!("{}.sock", program.hash));
        let _ = std::fs::remove_file(&socket);
        let cannot = |error: std::io::Error| format!("cannot start program {name}: {error}");
        let listener = UnixListener::bind(&socket).map_err(cannot)?;
        listener.set_nonblocking(true).map_err(cannot)?;
        // What the program prints goes to the worker's standard error, not
        // into its socket.
        let output = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(cannot)?;
        let mut command = Command::new(&path);
        command
            .args(&program.args)
            .env(TASK_SERVER_VAR, &socket)
            .env_remove(WORKER_VAR)
            .env(PERMISSIONS_VAR, permissions().to_env())
            .env(STATE_URL_VAR, &self.redis_url)
            .stdin(Stdio::null())
            .stdout(Stdio::from(output));
        let mut child = spawn_executable(&mut command).map_err(cannot)?;
        tracing::info!(program = %name, pid = child.id(), "program started");

        let deadline = Instant::now() + START_TIMEOUT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => {
                    let _ = child.kill();
                    return Err(cannot(error));
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "program {name} exited ({status}) before it served tasks: a program that workers \
                     run must build its FunctionExecutor before doing anything it cannot do \
                     on a worker (it becomes a task server there)"
                ));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!(
                    "program {name} did not build its FunctionExecutor within {}s of starting",
                    START_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        stream.set_nonblocking(false).map_err(cannot)?;
        let _ = std::fs::remove_file(&socket);

        let host = Host {
            name: name.clone(),
            writer: Mutex::new(stream.try_clone().map_err(cannot)?),
            waiting: Arc::default(),
            ended: Arc::default(),
            child: Arc::new(Mutex::new(child)),
        };
        let (waiting, ended, child) =
            (host.waiting.clone(), host.ended.clone(), host.child.clone());
        let reader_name = name.clone();
        std::thread::Builder::new()
            .name("program-reader".to_owned())
            .spawn(move || {
                let mut reader = BufReader::new(stream);
                let why = loop {
                    match read_frame::<FromProgram>(&mut reader) {
                        Ok(Some(FromProgram::Finished { id, report })) => {
                            if let Some(sender) = waiting.lock().unwrap().remove(&id) {
                                let _ = sender.send(report);
                            }
                        }
                        Ok(None) => break None,
                        Err(error) => break Some(error),
                    }
                };
                let status = child.lock().unwrap().wait();
                let mut message = match status {
                    Ok(status) => format!("exited ({status})"),
                    Err(error) => format!("ended ({error})"),
                };
                if let Some(error) = why {
                    message.push_str(&format!(" after a broken message: {error}"));
                }
                tracing::warn!(program = %reader_name, "program {message}");
                *ended.lock().unwrap() = Some(message);
                waiting.lock().unwrap().clear();
            })
            .map_err(|error| format!("cannot start program {name}: {error}"))?;
        Ok(host)
    }
}

impl Host {
    /// Why the program stopped, for a task that was running in it.
    fn died(&self) -> String {
        // The reader thread records the exit status just after the socket closes.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if let Some(why) = &*self.ended.lock().unwrap() {
                return format!("program {} {why} while running the task", self.name);
            }
            if Instant::now() > deadline {
                return format!(
                    "program {} stopped answering while running the task",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Starts `command`, waiting out the moments when its executable is still
/// open for writing somewhere (`ETXTBSY`): just after it was downloaded, a
/// child forked meanwhile by another thread may hold the download's file
/// until it execs its own program.
fn spawn_executable(command: &mut Command) -> std::io::Result<Child> {
    const TEXT_FILE_BUSY: i32 = 26;
    let mut pause = Duration::from_millis(5);
    loop {
        match command.spawn() {
            Err(error)
                if error.raw_os_error() == Some(TEXT_FILE_BUSY)
                    && pause < Duration::from_secs(1) =>
            {
                std::thread::sleep(pause);
                pause *= 2;
            }
            other => return other,
        }
    }
}

fn failed_to_run(message: String) -> TaskReport {
    TaskReport::failed(Failure::Worker(message))
}
