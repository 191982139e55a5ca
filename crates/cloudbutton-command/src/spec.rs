//! What a command task runs, and the environment it runs in.

use std::ffi::OsString;
use std::time::Duration;

use cloudbutton_executor::Payload;
use serde::{Deserialize, Serialize};

/// The stdout a command may write before its task fails: 256 MiB.
pub const DEFAULT_OUTPUT_LIMIT: u64 = 256 << 20;

/// The `PATH` of a command when the process running it has none.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A command line and how to run it: the same for every task of a job.
///
/// The command runs as `/bin/sh -c COMMAND`, so pipelines, redirections and
/// `&&` work as in a terminal. Its input is the task's chunk on stdin; its
/// result is what it writes on stdout.
///
/// A command succeeds when the shell exits with status 0, or with one of
/// the statuses in `ok_exit`. Mind the programs that use other statuses
/// for answers rather than failures: `grep -c ERROR` prints `0` and exits
/// with 1 on a chunk without a match, which fails the task unless 1 is in
/// `ok_exit` (`cloudbutton map --ok-exit 1`) or the command line says
/// `grep -c ERROR || true`.
///
/// ```
/// use std::time::Duration;
/// use cloudbutton_command::CommandSpec;
///
/// let spec = CommandSpec::new("grep -c ERROR || true")
///     .env("LC_ALL", "C")
///     .timeout(Duration::from_secs(60));
/// assert_eq!(spec.timeout_ms, Some(60_000));
/// ```
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command line, run with `/bin/sh -c`.
    pub command: String,
    /// Variables set on top of the base environment (see
    /// [`environment`]); a job's value wins over a base one of the same name.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// The most bytes the command may write on stdout. A command that
    /// writes more is killed and its task fails: output is never truncated
    /// silently.
    #[serde(default = "default_output_limit")]
    pub output_limit: u64,
    /// The longest the command may run, in milliseconds of wall-clock time;
    /// past it, its whole process group is killed and its task fails.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Exit statuses besides 0 that mean success, such as grep's 1 for
    /// "no match".
    #[serde(default)]
    pub ok_exit: Vec<i32>,
}

fn default_output_limit() -> u64 {
    DEFAULT_OUTPUT_LIMIT
}

impl CommandSpec {
    /// Runs `command` with the default environment, an output limit of
    /// 256 MiB and no time limit of its own (the job's task timeout still
    /// applies).
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            env: Vec::new(),
            output_limit: DEFAULT_OUTPUT_LIMIT,
            timeout_ms: None,
            ok_exit: Vec::new(),
        }
    }

    /// Counts the exit status `code` as a success too.
    pub fn ok_exit(mut self, code: i32) -> Self {
        self.ok_exit.push(code);
        self
    }

    /// Whether the exit status `code` is a success.
    pub fn succeeded(&self, code: i32) -> bool {
        code == 0 || self.ok_exit.contains(&code)
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets the most bytes the command may write on stdout.
    pub fn output_limit(mut self, bytes: u64) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Sets the longest the command may run.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout_ms = Some(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// The time limit, if there is one.
    pub fn time_limit(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }
}

/// One task of a command job: the command and the bytes it reads.
///
/// Map tasks read a chunk of an object (see
/// [`CommandInputs`](crate::CommandInputs)); a reducer gets the map outputs
/// as [`Payload::Parts`], which its command reads one after another.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CommandTask {
    /// What to run.
    pub spec: CommandSpec,
    /// What it reads on stdin.
    pub payload: Payload,
}

impl CommandTask {
    /// A task that runs `spec` on `payload`.
    pub fn new(spec: CommandSpec, payload: Payload) -> Self {
        Self { spec, payload }
    }
}

/// Which task a command runs for: what its environment tells it, and what
/// its errors name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's position in its job.
    pub index: usize,
    /// The input as errors show it, such as `file:///logs/a.log bytes 0..1024`.
    pub input: String,
    /// Where the input comes from, when it is a chunk of an object.
    pub chunk: Option<ChunkPosition>,
}

/// Where a chunk lies: its object and its place among the object's chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPosition {
    /// The object's URL.
    pub object: String,
    /// The chunk's number within the object, from 0.
    pub part: u32,
    /// How many chunks the object was split into.
    pub parts: u32,
}

impl TaskInfo {
    /// A task at `index` whose input errors call `input`.
    pub fn new(index: usize, input: impl Into<String>) -> Self {
        Self {
            index,
            input: input.into(),
            chunk: None,
        }
    }

    /// The task at `index` that reads `payload`.
    pub fn of_payload(index: usize, payload: &Payload) -> Self {
        let chunk = match payload {
            Payload::Chunk(chunk) => Some(ChunkPosition {
                object: chunk.url().to_owned(),
                part: chunk.part(),
                parts: chunk.parts(),
            }),
            Payload::Bytes(_) | Payload::Parts(_) => None,
        };
        Self {
            index,
            input: payload.describe(),
            chunk,
        }
    }
}

/// The whole environment of a command; nothing else of the host's reaches
/// it, so that no credential of the worker leaks into a job's commands.
///
/// In order, later names replacing earlier ones:
/// - `PATH`: `host_path` (the running process's own `PATH`), else
///   [`DEFAULT_PATH`];
/// - `CLOUDBUTTON_TASK_INDEX`: the task's position in its job;
/// - for a chunk of an object, `CLOUDBUTTON_OBJECT` (its URL),
///   `CLOUDBUTTON_PART` (the chunk's number in the object, from 0) and
///   `CLOUDBUTTON_PARTS` (how many chunks the object has);
/// - the job's own [`CommandSpec::env`].
///
/// `HOME`, `USER`, `LANG` and the like are not passed on: programs run in
/// the C locale, which sorts and matches bytes the same on every machine.
/// A job that wants them sets them in its `env`.
pub fn environment(
    spec: &CommandSpec,
    task: &TaskInfo,
    host_path: Option<OsString>,
) -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = Vec::new();
    let mut set = |name: &str, value: OsString| {
        vars.retain(|(existing, _)| existing != name);
        vars.push((name.into(), value));
    };

    set(
        "PATH",
        host_path
            .filter(|path| !path.is_empty())
            .unwrap_or_else(|| DEFAULT_PATH.into()),
    );
    set("CLOUDBUTTON_TASK_INDEX", task.index.to_string().into());
    if let Some(chunk) = &task.chunk {
        set("CLOUDBUTTON_OBJECT", chunk.object.clone().into());
        set("CLOUDBUTTON_PART", chunk.part.to_string().into());
        set("CLOUDBUTTON_PARTS", chunk.parts.to_string().into());
    }
    for (name, value) in &spec.env {
        set(name, value.into());
    }
    vars
}

/// Whether `name` can be an environment variable's name: not empty, and
/// without `=` or NUL.
pub(crate) fn valid_variable_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(vars: &[(OsString, OsString)]) -> Vec<&str> {
        vars.iter()
            .map(|(name, _)| name.to_str().unwrap())
            .collect()
    }

    #[test]
    fn the_base_is_path_and_the_task_index() {
        let spec = CommandSpec::new("env");
        let vars = environment(&spec, &TaskInfo::new(7, "x"), Some("/opt/bin:/bin".into()));
        assert_eq!(
            vars,
            [
                ("PATH".into(), "/opt/bin:/bin".into()),
                ("CLOUDBUTTON_TASK_INDEX".into(), "7".into()),
            ]
        );
        let vars = environment(&spec, &TaskInfo::new(0, "x"), None);
        assert_eq!(vars[0].1, DEFAULT_PATH);
        let vars = environment(&spec, &TaskInfo::new(0, "x"), Some("".into()));
        assert_eq!(vars[0].1, DEFAULT_PATH);
    }

    #[test]
    fn a_chunk_adds_its_object_and_part_and_the_job_has_the_last_word() {
        let spec = CommandSpec::new("env")
            .env("LC_ALL", "C")
            .env("PATH", "/only/here");
        let task = TaskInfo {
            index: 3,
            input: "file:///a bytes 0..10".into(),
            chunk: Some(ChunkPosition {
                object: "file:///a".into(),
                part: 1,
                parts: 4,
            }),
        };
        let vars = environment(&spec, &task, Some("/bin".into()));
        assert_eq!(
            names(&vars),
            [
                "CLOUDBUTTON_TASK_INDEX",
                "CLOUDBUTTON_OBJECT",
                "CLOUDBUTTON_PART",
                "CLOUDBUTTON_PARTS",
                "LC_ALL",
                "PATH"
            ]
        );
        assert!(vars.contains(&("PATH".into(), "/only/here".into())));
        assert!(vars.contains(&("CLOUDBUTTON_PARTS".into(), "4".into())));
    }

    #[test]
    fn a_spec_survives_json_with_defaults_for_what_is_left_out() {
        let spec: CommandSpec = serde_json::from_str(r#"{"command": "wc -l"}"#).unwrap();
        assert_eq!(spec, CommandSpec::new("wc -l"));
        let spec = CommandSpec::new("sort")
            .env("LC_ALL", "C")
            .output_limit(10)
            .timeout(Duration::from_millis(1500));
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<CommandSpec>(&json).unwrap(), spec);
        assert_eq!(spec.time_limit(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn variable_names_without_equals_or_nul() {
        assert!(valid_variable_name("LC_ALL"));
        assert!(!valid_variable_name(""));
        assert!(!valid_variable_name("A=B"));
        assert!(!valid_variable_name("A\0"));
    }
}
