//! A task's state and statistics.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Waiting for the tasks it depends on (a reducer waiting for its maps).
    Waiting,
    /// Queued for a worker, or waiting to be retried.
    Pending,
    /// Running on a worker.
    Running,
    /// Finished with a result.
    Done,
    /// Finished without a result, after its last attempt.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl TaskState {
    /// True for the states a task never leaves.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }

    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Waiting,
            1 => Self::Pending,
            2 => Self::Running,
            3 => Self::Done,
            4 => Self::Failed,
            _ => Self::Cancelled,
        }
    }
}

/// What is known about one task's run. Times are wall-clock, so that the
/// statistics of tasks on different machines can be plotted together; they
/// serialize as seconds since the Unix epoch.
#[derive(Clone, Debug, Serialize)]
pub struct TaskStats {
    /// The task's index in its job.
    pub index: usize,
    /// When the task was submitted (for a reducer: when its inputs were ready).
    #[serde(serialize_with = "epoch_seconds")]
    pub submitted: Option<SystemTime>,
    /// When its last attempt started.
    #[serde(serialize_with = "epoch_seconds")]
    pub started: Option<SystemTime>,
    /// When it finished.
    #[serde(serialize_with = "epoch_seconds")]
    pub ended: Option<SystemTime>,
    /// The number of the last attempt, from 1; 0 if it never started.
    pub attempts: u32,
    /// Bytes read from storage by the last attempt.
    pub bytes_read: u64,
    /// Size of the result, serialized compactly.
    pub result_size: u64,
    /// The worker that ran the last attempt.
    pub worker: Option<String>,
}

impl TaskStats {
    pub(crate) fn new(index: usize) -> Self {
        Self {
            index,
            submitted: None,
            started: None,
            ended: None,
            attempts: 0,
            bytes_read: 0,
            result_size: 0,
            worker: None,
        }
    }

    /// Time from submission to the start of the last attempt.
    pub fn queue_time(&self) -> Option<Duration> {
        self.started?.duration_since(self.submitted?).ok()
    }

    /// Time from the start of the last attempt to the end.
    pub fn run_time(&self) -> Option<Duration> {
        self.ended?.duration_since(self.started?).ok()
    }
}

fn epoch_seconds<S: serde::Serializer>(
    time: &Option<SystemTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let seconds = time
        .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|since| since.as_secs_f64());
    serializer.serialize_some(&seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_byte() {
        for state in [
            TaskState::Waiting,
            TaskState::Pending,
            TaskState::Running,
            TaskState::Done,
            TaskState::Failed,
            TaskState::Cancelled,
        ] {
            assert_eq!(TaskState::from_u8(state.to_u8()), state);
        }
    }

    #[test]
    fn statistics_serialize_times_as_epoch_seconds() {
        let mut stats = TaskStats::new(3);
        stats.started = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1500));
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["started"], 1.5);
        assert!(json["ended"].is_null());
        assert_eq!(json["index"], 3);
    }

    #[test]
    fn times_derive_from_the_timestamps() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut stats = TaskStats::new(0);
        assert_eq!(stats.queue_time(), None);
        stats.submitted = Some(t0);
        stats.started = Some(t0 + Duration::from_millis(5));
        stats.ended = Some(t0 + Duration::from_millis(12));
        assert_eq!(stats.queue_time(), Some(Duration::from_millis(5)));
        assert_eq!(stats.run_time(), Some(Duration::from_millis(7)));
    }
}
