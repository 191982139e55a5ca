//! What runs a job's tasks: threads in this process, or workers reached
//! through Redis; and how a job's values cross to another process.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cluster::ClusterBackend;
use crate::local::LocalBackend;
use crate::notify::Notifier;

/// The backend of a job.
#[derive(Clone)]
pub(crate) enum Backend {
    /// A pool of threads in this process.
    Local(Arc<LocalBackend>),
    /// Workers that take tasks from a Redis queue.
    Cluster(Arc<ClusterBackend>),
}

impl Backend {
    /// Wakes those waiting for tasks of this backend.
    pub(crate) fn notifier(&self) -> &Notifier {
        match self {
            Backend::Local(local) => &local.notifier,
            Backend::Cluster(cluster) => cluster.notifier(),
        }
    }
}

/// How a job's inputs and outputs are serialized for a worker in another
/// process: JSON, the encoding of [`Function::call_serialized`](crate::Function::call_serialized).
pub(crate) struct Codec<I, O> {
    pub(crate) encode: fn(&I) -> Result<Vec<u8>, String>,
    pub(crate) decode: fn(&[u8]) -> Result<O, String>,
}

impl<I: Serialize, O: DeserializeOwned> Codec<I, O> {
    pub(crate) fn json() -> Self {
        Codec {
            encode: |input| serde_json::to_vec(input).map_err(|error| error.to_string()),
            decode: |bytes| serde_json::from_slice(bytes).map_err(|error| error.to_string()),
        }
    }
}

impl<I, O> Clone for Codec<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for Codec<I, O> {}
