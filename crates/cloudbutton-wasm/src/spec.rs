//! What a job says about a WebAssembly task: which module, with which
//! arguments, environment, directory and limits, on which input.

use std::fmt;
use std::path::PathBuf;

use cloudbutton_executor::Payload;
use serde::{Deserialize, Serialize};

/// The default [`WasmSpec::memory_limit`]: 1 GiB of linear memory.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

/// The default [`WasmSpec::output_limit`]: 256 MiB of output.
pub const DEFAULT_OUTPUT_LIMIT: u64 = 256 << 20;

/// A prepared module: its content hash, a name for messages, and where its
/// bytes are. Made by [`prepare`](crate::prepare).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModuleRef {
    /// SHA-256 of the module's bytes, in lower-case hex.
    pub sha256: String,
    /// The file name, for messages, such as `wordcount.wasm`.
    pub name: String,
    /// A local path or storage URL of the module's bytes, readable where the
    /// task runs.
    pub source: String,
}

impl ModuleRef {
    /// The first 12 hex digits of the hash, enough to tell modules apart in
    /// a message.
    pub fn short_hash(&self) -> &str {
        self.sha256.get(..12).unwrap_or(&self.sha256)
    }
}

impl fmt::Display for ModuleRef {
    /// `wordcount.wasm (3f2a9c0d1e2b)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.short_hash())
    }
}

/// A host directory granted to the guest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Preopen {
    /// The directory on the host where the task runs.
    pub host: PathBuf,
    /// Its name in the guest, such as `/data` or `.`.
    pub guest: String,
    /// Whether the guest may create, change and delete files in it.
    pub writable: bool,
}

/// How a module runs on every task of a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WasmSpec {
    /// The module.
    pub module: ModuleRef,
    /// The arguments after `argv[0]`, which is the module's name.
    pub args: Vec<String>,
    /// The guest's whole environment: nothing is inherited from the host.
    pub env: Vec<(String, String)>,
    /// A host directory the guest may use; without one the guest has no
    /// file system.
    pub preopen: Option<Preopen>,
    /// Bytes of linear memory a task may use; growing past it fails the
    /// task.
    pub memory_limit: u64,
    /// The longest a task may run, in milliseconds of wall-clock time.
    pub timeout_ms: Option<u64>,
    /// A deterministic budget of executed WebAssembly, in wasmtime's fuel
    /// units (about one per instruction); `None` meters nothing.
    pub fuel: Option<u64>,
    /// Bytes of output a task may produce; more fails the task.
    pub output_limit: u64,
}

impl WasmSpec {
    /// Runs `module` with no arguments, an empty environment, no directory,
    /// no time limit or fuel budget, and the default memory and output
    /// limits.
    pub fn new(module: ModuleRef) -> Self {
        Self {
            module,
            args: Vec::new(),
            env: Vec::new(),
            preopen: None,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            timeout_ms: None,
            fuel: None,
            output_limit: DEFAULT_OUTPUT_LIMIT,
        }
    }
}

/// One task: a module run on one input.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WasmTask {
    /// How the module runs.
    pub spec: WasmSpec,
    /// The bytes it reads: its stdin, or what `input_read` returns.
    pub payload: Payload,
}
