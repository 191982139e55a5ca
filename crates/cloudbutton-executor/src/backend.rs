//! What runs a job's tasks: threads in this process, or workers reached
//! through Redis.

use std::sync::Arc;

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
