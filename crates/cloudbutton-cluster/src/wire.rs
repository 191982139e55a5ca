//! What drivers and workers tell each other beyond the queue's own fields:
//! how to run a job's tasks ([`JobSpec`]) and how a task went
//! ([`TaskReport`]). Both travel as compact binary (postcard).

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
    fn inline_bytes_are_one_run() {
        let bytes = encode(&Outcome::Inline(vec![7; 1000]));
        assert!(bytes.len() < 1010, "{}", bytes.len());
    }
}
