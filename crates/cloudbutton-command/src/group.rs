//! The process group a command runs in: how to learn that its shell ended,
//! and how to kill everything it started.

use std::process::Child;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The process group of a command's shell, which leads it: the shell and
/// everything it starts, unless a program leaves the group on purpose.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Group(Pid);

impl Group {
    /// The group that `child`, started with `process_group(0)`, leads.
    pub(crate) fn led_by(child: &Child) -> Self {
        let pid = i32::try_from(child.id()).expect("a process id fits in pid_t");
        Self(Pid::from_raw(pid))
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
