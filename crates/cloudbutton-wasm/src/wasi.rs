//! The WASI preview-1 context of a task: the input on stdin, stdout into
//! the task's bounded output, stderr to the log, the job's arguments and
//! environment, and a directory only if the job grants one.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::abi::SharedOutput;
use crate::spec::WasmSpec;

/// How much of stderr a task keeps for its error message.
pub(crate) const STDERR_TAIL: usize = 8 << 10;

/// The longest stderr line logged whole; longer ones are logged in pieces.
const MAX_LINE: usize = 4 << 10;

/// Builds the context. `stdin` is empty for reactors.
pub(crate) fn context(
    spec: &WasmSpec,
    stdin: Bytes,
    stdout: SharedOutput,
    stderr: StderrLog,
) -> Result<WasiP1Ctx, String> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .allow_blocking_current_thread(true)
        .stdin(MemoryInputPipe::new(stdin))
        .stdout(stdout)
        .stderr(stderr)
        .arg(&spec.module.name)
        .args(&spec.args)
        .envs(&spec.env);

    if let Some(preopen) = &spec.preopen {
        cloudbutton_executor::permissions::permissions().check_directory(&preopen.host)?;
        let perms = if preopen.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        builder
            .preopened_dir(&preopen.host, &preopen.guest, perms)
            .map_err(|error| format!("cannot open {}: {error:#}", preopen.host.display()))?;
    }
    Ok(builder.build_p1())
}

impl IsTerminal for SharedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for SharedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for SharedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for SharedOutput {
    /// Appends the bytes, or traps: a guest that ignores a failed write
    /// must not end with a truncated result.
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if self.lock().append(&bytes) {
            Ok(())
        } else {
            Err(StreamError::trap("stdout went past the output limit"))
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Any size: the limit is checked by `write`, which fails the task,
        // rather than announced, which would let the guest stop short.
        Ok(usize::MAX)
    }
}

impl AsyncWrite for SharedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(if self.lock().append(buf) {
            Ok(buf.len())
        } else {
            Err(io::Error::other("stdout went past the output limit"))
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A task's stderr: each line goes to the log, and the last
/// [`STDERR_TAIL`] bytes are kept for the error of a failed task.
#[derive(Clone)]
pub(crate) struct StderrLog(Arc<Mutex<Stderr>>);

struct Stderr {
    task: usize,
    module: Arc<str>,
    tail: VecDeque<u8>,
    line: Vec<u8>,
}

impl StderrLog {
    pub(crate) fn new(task: usize, module: Arc<str>) -> Self {
        Self(Arc::new(Mutex::new(Stderr {
            task,
            module,
            tail: VecDeque::new(),
            line: Vec::new(),
        })))
    }

    fn write(&self, bytes: &[u8]) {
        let mut stderr = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        stderr.write(bytes);
    }

    /// Logs an unfinished last line and returns the tail, if the guest
    /// wrote anything.
    pub(crate) fn finish(&self) -> Option<String> {
        let mut stderr = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        stderr.log_line();
        if stderr.tail.is_empty() {
            return None;
        }
        let tail: Vec<u8> = stderr.tail.iter().copied().collect();
        Some(String::from_utf8_lossy(&tail).into_owned())
    }
}

impl Stderr {
    fn write(&mut self, bytes: &[u8]) {
        let skip = bytes.len().saturating_sub(STDERR_TAIL);
        self.tail.extend(&bytes[skip..]);
        let excess = self.tail.len().saturating_sub(STDERR_TAIL);
        self.tail.drain(..excess);

        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&byte| byte == b'\n') {
            self.line.extend_from_slice(&rest[..newline]);
            self.log_line();
            rest = &rest[newline + 1..];
        }
        self.line.extend_from_slice(rest);
        if self.line.len() >= MAX_LINE {
            self.log_line();
        }
    }

    fn log_line(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let line = String::from_utf8_lossy(&self.line);
        tracing::info!(
            task = self.task,
            module = &*self.module,
            "stderr: {}",
            line.trim_end()
        );
        self.line.clear();
    }
}

impl IsTerminal for StderrLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrLog {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrLog {
    async fn ready(&mut self) {}
}

impl OutputStream for StderrLog {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        StderrLog::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(usize::MAX)
    }
}

impl AsyncWrite for StderrLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        StderrLog::write(&self, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_keeps_only_its_tail() {
        let stderr = StderrLog::new(0, Arc::from("t.wasm"));
        stderr.write(&vec![b'a'; STDERR_TAIL]);
        stderr.write(b"\nlast words\n");
        let tail = stderr.finish().unwrap();
        assert_eq!(tail.len(), STDERR_TAIL);
        assert!(tail.ends_with("a\nlast words\n"), "{tail:?}");
    }

    #[test]
    fn silent_stderr_has_no_tail() {
        assert_eq!(StderrLog::new(0, Arc::from("t.wasm")).finish(), None);
    }
}
