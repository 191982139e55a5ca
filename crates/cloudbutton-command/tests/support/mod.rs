//! Helpers shared by the integration tests.

// Every test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use cloudbutton_executor::{Config, FunctionExecutor, ProgressMode};

/// A quiet executor with `workers` local threads.
pub fn executor(workers: usize) -> FunctionExecutor {
    let mut config = Config::default();
    config.executor.workers = Some(workers);
    config.executor.progress = ProgressMode::Never;
    FunctionExecutor::with_config(config).unwrap()
}

/// Whether the process `pid` is gone (or only a zombie waiting for a parent
/// that does not reap) within `limit`.
pub fn dies_within(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !alive(pid) {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to `limit` for a command to write its pid into `path`.
pub fn read_pid(path: &Path, limit: Duration) -> u32 {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(start.elapsed() < limit, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `lines` numbered lines: `line 0\nline 1\n...`.
pub fn numbered_lines(lines: usize) -> Vec<u8> {
    (0..lines)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect()
}
