//! The process group a command runs in: how to learn that its shell ended,
//! and how to kill everything it started.

use std::collections::HashSet;
use std::process::Child;
use std::sync::{Mutex, PoisonError};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The process group of a command's shell, which leads it: the shell and
/// everything it starts, unless a program leaves the group on purpose.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Group(Pid);

/// The groups of the commands that this process runs now, whose leaders
/// are not reaped yet: what [`kill_running`] kills.
static RUNNING: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

impl Group {
    /// The group that `child`, started with `process_group(0)`, leads,
    /// counted among the running ones until [`ended`](Self::ended).
    pub(crate) fn led_by(child: &Child) -> Self {
        let pid = i32::try_from(child.id()).expect("a process id fits in pid_t");
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(HashSet::new)
            .insert(pid);
        Self(Pid::from_raw(pid))
    }

    /// Forgets the group, before its leader is reaped and its id can be
    /// reused.
    pub(crate) fn ended(self) {
        if let Some(running) = RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            running.remove(&self.0.as_raw());
        }
    }

    /// Kills every process of the group with SIGKILL. A group that has no
    /// process left is not an error.
    pub(crate) fn kill(self) {
        match killpg(self.0, Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(error) => tracing::warn!(group = self.0.as_raw(), %error, "cannot kill a command"),
        }
    }
}

/// Blocks until the shell has exited, without reaping it on Linux: while
/// the exited leader is not reaped, its pid cannot be reused, so that
/// killing its group afterwards cannot reach an unrelated process.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) fn wait_for_exit(child: &mut Child) {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};

    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a process id fits in pid_t"));
    loop {
        match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
            Err(Errno::EINTR) => continue,
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(pid = pid.as_raw(), %error, "cannot wait for a command");
                return;
            }
        }
    }
}

/// Blocks until the shell has exited. Without `waitid`, this reaps it, so
/// that killing its group afterwards could, in a very unlucky moment,
/// reach a new group that reused the number.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub(crate) fn wait_for_exit(child: &mut Child) {
    if let Err(error) = child.wait() {
        tracing::warn!(pid = child.id(), %error, "cannot wait for a command");
    }
}

/// Kills the process group of every command that this process is running,
/// for a program that is about to exit on a signal: the commands run in
/// groups of their own, so the terminal's Ctrl-C does not reach them.
pub fn kill_running() {
    let running = RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    for pid in running {
        Group(Pid::from_raw(pid)).kill();
    }
}
