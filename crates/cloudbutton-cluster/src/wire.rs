//! What drivers and workers tell each other beyond the queue's own fields:
//! how to run a job's tasks ([`JobSpec`]) and how a task went
//! ([`TaskReport`]); and what a worker and a program it started tell each
//! other over their socket ([`ToProgram`], [`FromProgram`]). All travel as
//! compact binary (postcard).

use serde::{Deserialize, Serialize};

/// How to run the tasks of one job; written once per job by the driver.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The program that defines the job's functions, or `None` for
    /// functions built into the worker itself.
    pub program: Option<ProgramRef>,
    /// The longest one attempt may run, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// How many times the worker tries a failed task again.
    pub retries: u32,
    /// The wait before the first retry, doubling for each later one, in
    /// milliseconds.
    pub backoff_ms: u64,
    /// Outputs larger than this many bytes go to the shared storage; smaller
    /// ones travel through Redis.
    pub inline_limit: u64,
    /// The scope of the job's shared objects in Redis, such as
    /// `job/3f0c9a1e52b7d804`.
    pub state_scope: String,
}

/// The input of a task, as it travels in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskInput {
    /// The serialized input, carried here.
    Inline(#[serde(with = "serde_bytes_vec")] Vec<u8>),
    /// The serialized input was written to the shared storage under this
    /// key, relative to the storage's root.
    Stored {
        /// The key below the shared storage's root.
        key: String,
    },
}

/// A program published to the shared storage under its content hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProgramRef {
    /// SHA-256 of the executable, in lowercase hex.
    pub hash: String,
    /// The executable's file name, for messages.
    pub name: String,
    /// The arguments the driver was started with (without the program
    /// name). A worker starts the program with them, so that it reaches the
    /// point where it builds its executor and turns into a task server.
    pub args: Vec<String>,
}

/// How one task went, as its worker commits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReport {
    /// When the last attempt started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// When it ended.
    pub ended_ms: u64,
    /// Bytes the task read from storage.
    pub bytes_read: u64,
    /// Attempts made on the worker that committed (1 without retries).
    pub attempts: u32,
    /// The output, or why there is none.
    pub outcome: Outcome,
}

impl TaskReport {
    /// The report of a task that failed before it ran, now.
    pub fn failed(failure: Failure) -> TaskReport {
        let now = now_ms();
        TaskReport {
            started_ms: now,
            ended_ms: now,
            bytes_read: 0,
            attempts: 1,
            outcome: Outcome::Failed(failure),
        }
    }
}

/// Milliseconds since the Unix epoch, the clock of [`TaskReport`]s.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// The result of a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The serialized output, carried here.
    Inline(#[serde(with = "serde_bytes_vec")] Vec<u8>),
    /// The serialized output was written to the shared storage under this
    /// key, relative to the storage's root.
    Stored {
        /// The key below the shared storage's root.
        key: String,
        /// The output's size.
        size: u64,
    },
    /// The task failed.
    Failed(Failure),
}

/// Why a task failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// The function returned an error.
    Error(String),
    /// The function panicked.
    Panic(String),
    /// The attempt ran past the job's timeout, in milliseconds.
    Timeout(u64),
    /// The job was cancelled while the task ran.
    Cancelled,
    /// The worker could not or would not run the task: the function is not
    /// allowed or not found, the program could not be fetched or started,
    /// or the program died.
    Worker(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Error(message) => write!(f, "returned an error: {message}"),
            Failure::Panic(message) => write!(f, "panicked: {message}"),
            Failure::Timeout(ms) => write!(f, "timed out after {ms} ms"),
            Failure::Cancelled => f.write_str("was cancelled"),
            Failure::Worker(message) => f.write_str(message),
        }
    }
}

/// A task that a worker hands to a program it started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTask {
    /// Tells the reply apart from those of other tasks in flight.
    pub id: u64,
    /// The task's index in its job.
    pub index: u32,
    /// The queue's delivery number of the task, from 1.
    pub delivery: u32,
    /// The worker that took the task, for the task's context.
    pub worker: String,
    /// The function's registered name.
    pub function: String,
    /// The serialized input.
    #[serde(with = "serde_bytes_vec")]
    pub input: Vec<u8>,
    /// The longest one attempt may run, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// How many times to try again after a failure.
    pub retries: u32,
    /// The wait before the first retry.
    pub backoff_ms: u64,
    /// The scope of the job's shared objects, from [`JobSpec::state_scope`].
    pub state_scope: String,
}

/// What a worker says to a program it started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToProgram {
    /// Run a task and answer with [`FromProgram::Finished`].
    Run(RunTask),
    /// The job of task `id` was cancelled: tell the function.
    Cancel(u64),
}

/// What a program started by a worker says back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FromProgram {
    /// Task `id` finished.
    Finished {
        /// The [`RunTask::id`].
        id: u64,
        /// How it went; an output is always [`Outcome::Inline`] here.
        report: TaskReport,
    },
}

/// Writes one length-prefixed message.
pub fn write_frame<T: Serialize>(
    writer: &mut impl std::io::Write,
    message: &T,
) -> std::io::Result<()> {
    let body = encode(message);
    let length = u32::try_from(body.len())
        .map_err(|_| std::io::Error::other("a message of 4 GiB or more"))?;
    writer.write_all(&length.to_le_bytes())?;
    writer.write_all(&body)?;
    writer.flush()
}

/// Reads one length-prefixed message; `None` at a clean end of stream.
pub fn read_frame<T: for<'a> Deserialize<'a>>(
    reader: &mut impl std::io::Read,
) -> std::io::Result<Option<T>> {
    let mut length = [0; 4];
    match reader.read_exact(&mut length) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let mut body = vec![0; u32::from_le_bytes(length) as usize];
    reader.read_exact(&mut body)?;
    decode(&body, "message")
        .map(Some)
        .map_err(std::io::Error::other)
}

/// Encodes a message.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("wire messages always serialize")
}

/// Decodes a message, naming `what` it was meant to be on failure.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|error| format!("malformed {what}: {error}"))
}

/// Encodes a byte vector as one length-prefixed run rather than a sequence
/// of numbers.
mod serde_bytes_vec {
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
                Ok(bytes.to_vec())
            }
            fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(bytes)
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let report = TaskReport {
            started_ms: 1,
            ended_ms: 2,
            bytes_read: 3,
            attempts: 1,
            outcome: Outcome::Inline(b"[1,2]".to_vec()),
        };
        let bytes = encode(&report);
        assert_eq!(decode::<TaskReport>(&bytes, "report").unwrap(), report);
        assert!(
            decode::<TaskReport>(&bytes[..3], "report")
                .unwrap_err()
                .contains("report")
        );
    }

    #[test]
    fn frames_round_trip_and_end_cleanly() {
        let message = ToProgram::Run(RunTask {
            id: 9,
            index: 3,
            delivery: 1,
            worker: "w".into(),
            function: "f".into(),
            input: b"[1]".to_vec(),
            timeout_ms: Some(5),
            retries: 2,
            backoff_ms: 10,
            state_scope: "job/0001".into(),
        });
        let mut buffer = Vec::new();
        write_frame(&mut buffer, &message).unwrap();
        write_frame(&mut buffer, &ToProgram::Cancel(9)).unwrap();
        let mut reader = &buffer[..];
        assert_eq!(read_frame::<ToProgram>(&mut reader).unwrap(), Some(message));
        assert_eq!(
            read_frame::<ToProgram>(&mut reader).unwrap(),
            Some(ToProgram::Cancel(9))
        );
        assert_eq!(read_frame::<ToProgram>(&mut reader).unwrap(), None);
        // A frame cut short is an error, not a clean end.
        let mut cut = &buffer[..buffer.len() - 1];
        read_frame::<ToProgram>(&mut cut).unwrap();
        assert!(read_frame::<ToProgram>(&mut cut).is_err());
    }

    #[test]
    fn inline_bytes_are_one_run() {
        let bytes = encode(&Outcome::Inline(vec![7; 1000]));
        assert!(bytes.len() < 1010, "{}", bytes.len());
    }
}
