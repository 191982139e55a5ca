//! Write CloudButton WebAssembly functions in Rust.
//!
//! A function is a module that imports CloudButton's host interface (module
//! `cloudbutton`, ABI version 2, described in `docs/wasm-abi.md`) and exports
//! `cloudbutton_run`. This crate wraps the imports in safe functions and
//! defines the export with [`run!`]:
//!
//! ```ignore
//! fn upper(input: &[u8], output: &mut cloudbutton_guest::Output) -> Result<(), String> {
//!     output.write(&input.to_ascii_uppercase())?;
//!     Ok(())
//! }
//! cloudbutton_guest::run!(upper);
//! ```
//!
//! Build it as a `cdylib` for `wasm32-wasip1` (`wasm32-wasi` before Rust
//! 1.78). The example is `examples/wasm/rust/wordcount`.
//!
//! The host interface is small on purpose: the task's input, its output, a
//! log, a failure message, and the job's shared state ([`state`]: counters,
//! maps, barriers and the rest). The run function can also use the parts of
//! the standard library that WASI preview 1 supports (clocks, random
//! numbers, environment variables and arguments, standard error); files
//! only inside a directory the job grants, and no network.

use std::fmt;
use std::io;

pub mod state;

/// The version of the host interface this crate speaks.
pub const ABI_VERSION: u32 = 2;

/// The host's functions, as imported. Every pointer is an offset into the
/// module's own memory; the host checks each range before it touches it.
mod sys {
    #[link(wasm_import_module = "cloudbutton")]
    extern "C" {
        pub fn input_size() -> i64;
        pub fn input_read(ptr: *mut u8, len: i32) -> i32;
        pub fn output_write(ptr: *const u8, len: i32) -> i32;
        pub fn log(level: i32, ptr: *const u8, len: i32);
        pub fn set_error(ptr: *const u8, len: i32);
    }
}

/// What the host refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The host refused to copy input into the given buffer.
    InputRefused,
    /// Writing would take the task's output past the job's output limit.
    OutputLimit,
    /// The input does not fit in the module's memory.
    OutOfMemory,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::InputRefused => "the host refused to read the input",
            Error::OutputLimit => "the output would exceed the job's output limit",
            Error::OutOfMemory => "the input does not fit in memory: raise the job's memory limit",
        })
    }
}

impl std::error::Error for Error {}

/// So that a run function, which fails with a `String`, can use `?` on the
/// calls of this crate.
impl From<Error> for String {
    fn from(error: Error) -> String {
        error.to_string()
    }
}

/// The longest piece one host call moves: lengths are 32-bit signed.
const MAX_PIECE: usize = i32::MAX as usize;

/// The total size of the task's input in bytes, however much has been read.
pub fn input_size() -> u64 {
    // SAFETY: takes no arguments and touches no guest memory.
    let size = unsafe { sys::input_size() };
    u64::try_from(size).unwrap_or(0)
}

/// Reads the next input bytes into `buffer`, returning how many: 0 only at
/// the end of the input or for an empty buffer. It may read fewer bytes than
/// the buffer holds before the end.
pub fn read(buffer: &mut [u8]) -> Result<usize, Error> {
    let len = buffer.len().min(MAX_PIECE) as i32;
    // SAFETY: the host writes at most `len` bytes at the buffer's start,
    // which the exclusive borrow makes ours alone.
    let got = unsafe { sys::input_read(buffer.as_mut_ptr(), len) };
    usize::try_from(got).map_err(|_| Error::InputRefused)
}

/// Reads the rest of the input into one vector.
pub fn input() -> Result<Vec<u8>, Error> {
    let size = usize::try_from(input_size()).unwrap_or(usize::MAX);
    let mut input = Vec::new();
    input
        .try_reserve_exact(size)
        .map_err(|_| Error::OutOfMemory)?;
    input.resize(size, 0);

    let mut filled = 0;
    while filled < input.len() {
        match read(&mut input[filled..])? {
            0 => break,
            got => filled += got,
        }
    }
    input.truncate(filled);
    Ok(input)
}

/// Appends bytes to the task's output, unbuffered. [`Output`] buffers.
pub fn write(mut bytes: &[u8]) -> Result<(), Error> {
    while !bytes.is_empty() {
        let piece = bytes.len().min(MAX_PIECE);
        // SAFETY: the host reads `piece` bytes of a live slice.
        let status = unsafe { sys::output_write(bytes.as_ptr(), piece as i32) };
        if status != 0 {
            return Err(Error::OutputLimit);
        }
        bytes = &bytes[piece..];
    }
    Ok(())
}

/// How much a log message matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

/// Writes a message to the task's log.
pub fn log(level: Level, message: &str) {
    let len = message.len().min(MAX_PIECE);
    // SAFETY: the host reads `len` bytes of a live string.
    unsafe { sys::log(level as i32, message.as_ptr(), len as i32) }
}

/// Sets the message of the failure that the run function is about to
/// return. [`run!`] calls it with the function's error; call it directly only
/// from a hand-written `cloudbutton_run`.
pub fn set_error(message: &str) {
    let len = message.len().min(MAX_PIECE);
    // SAFETY: the host reads `len` bytes of a live string.
    unsafe { sys::set_error(message.as_ptr(), len as i32) }
}

/// The task's output, buffered so that many small writes cost few host
/// calls. It also implements [`io::Write`], for `write!`.
#[derive(Debug)]
pub struct Output {
    buffer: Vec<u8>,
}

impl Output {
    const CAPACITY: usize = 64 * 1024;

    fn new() -> Self {
        Output {
            buffer: Vec::with_capacity(Self::CAPACITY),
        }
    }

    /// Appends bytes to the output.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.buffer.len() + bytes.len() > Self::CAPACITY {
            self.flush()?;
        }
        if bytes.len() >= Self::CAPACITY {
            return write(bytes);
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    /// Hands the buffered bytes to the host.
    pub fn flush(&mut self) -> Result<(), Error> {
        let result = write(&self.buffer);
        self.buffer.clear();
        result
    }
}

impl io::Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        Output::write(self, bytes).map_err(|e| io::Error::new(io::ErrorKind::Other, e))?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Output::flush(self).map_err(|e| io::Error::new(io::ErrorKind::Other, e))
    }
}

/// The exit codes of [`run!`]'s `cloudbutton_run`. Any non-zero code fails
/// the task; they tell apart where.
pub mod status {
    /// The function succeeded and its output was written.
    pub const OK: i32 = 0;
    /// The function returned an error.
    pub const FAILED: i32 = 1;
    /// The input could not be read into memory.
    pub const INPUT: i32 = 2;
    /// The output would exceed the job's output limit.
    pub const OUTPUT_LIMIT: i32 = 3;
}

/// The body of [`run!`]'s `cloudbutton_run`: reads the input, calls the
/// function, flushes the output and reports a failure. Not for direct use.
#[doc(hidden)]
pub fn __run(function: fn(&[u8], &mut Output) -> Result<(), String>) -> i32 {
    let input = match input() {
        Ok(input) => input,
        Err(error) => {
            set_error(&error.to_string());
            return status::INPUT;
        }
    };

    let mut output = Output::new();
    if let Err(message) = function(&input, &mut output) {
        set_error(&message);
        return status::FAILED;
    }
    if let Err(error) = output.flush() {
        set_error(&error.to_string());
        return status::OUTPUT_LIMIT;
    }
    status::OK
}

/// Exports `cloudbutton_run`, which runs `$function` on the whole input:
/// a `fn(&[u8], &mut Output) -> Result<(), String>`. An `Err` fails the task
/// with its message; a panic traps, which fails it too.
#[macro_export]
macro_rules! run {
    ($function:path) => {
        #[no_mangle]
        pub extern "C" fn cloudbutton_run() -> i32 {
            $crate::__run($function)
        }
    };
}
