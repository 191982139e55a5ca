//! The summary printed at the end of a job.

use std::fmt;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Serialize;

/// Totals over a job's tasks.
#[derive(Clone, Debug, Default, Serialize)]
pub struct JobSummary {
    /// The function the tasks ran (for a map-reduce: both, joined by `+`).
    pub function: String,
    /// Number of tasks.
    pub tasks: usize,
    /// Tasks finished with a result.
    pub done: usize,
    /// Tasks failed after their last attempt.
    pub failed: usize,
    /// Tasks cancelled.
    pub cancelled: usize,
    /// Attempts that were retried.
    pub retries: usize,
    /// Bytes read from storage by all tasks.
    pub bytes_read: u64,
    /// Total size of the results.
    pub result_bytes: u64,
    /// From submission of the job to the end of its last task.
    #[serde(with = "seconds")]
    pub wall_time: Duration,
}

impl JobSummary {
    /// Bytes read per second of wall time.
    pub fn throughput(&self) -> f64 {
        per_second(self.bytes_read as f64, self.wall_time)
    }

    /// Tasks finished per second of wall time.
    pub fn tasks_per_second(&self) -> f64 {
        per_second(self.tasks as f64, self.wall_time)
    }

    /// Adds another job's totals to these, as for the two stages of a
    /// map-reduce; their wall times overlap, so the longer one counts.
    pub fn merge(&mut self, other: &JobSummary) {
        self.function = format!("{}+{}", self.function, other.function);
        self.tasks += other.tasks;
        self.done += other.done;
        self.failed += other.failed;
        self.cancelled += other.cancelled;
        self.retries += other.retries;
        self.bytes_read += other.bytes_read;
        self.result_bytes += other.result_bytes;
        self.wall_time = self.wall_time.max(other.wall_time);
    }
}

fn per_second(amount: f64, time: Duration) -> f64 {
    let seconds = time.as_secs_f64();
    if seconds > 0.0 { amount / seconds } else { 0.0 }
}

impl fmt::Display for JobSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "job summary ({})", self.function)?;
        write!(f, "  tasks      {} done", self.done)?;
        if self.failed > 0 {
            write!(f, ", {} failed", self.failed)?;
        }
        if self.cancelled > 0 {
            write!(f, ", {} cancelled", self.cancelled)?;
        }
        writeln!(f, " of {} ({} retries)", self.tasks, self.retries)?;
        writeln!(
            f,
            "  read       {} ({}/s)",
            ByteSize(self.bytes_read).display().iec(),
            ByteSize(self.throughput() as u64).display().iec()
        )?;
        writeln!(
            f,
            "  results    {}",
            ByteSize(self.result_bytes).display().iec()
        )?;
        write!(
            f,
            "  wall time  {:.3} s ({:.0} tasks/s)",
            self.wall_time.as_secs_f64(),
            self.tasks_per_second()
        )
    }
}

/// Serializes durations as fractional seconds.
mod seconds {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(value.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_shows_counts_bytes_and_rates() {
        let summary = JobSummary {
            function: "wordcount::count".into(),
            tasks: 4,
            done: 3,
            failed: 1,
            retries: 2,
            bytes_read: 4 << 20,
            result_bytes: 1024,
            wall_time: Duration::from_secs(2),
            ..JobSummary::default()
        };
        let text = summary.to_string();
        assert!(text.contains("3 done, 1 failed of 4 (2 retries)"), "{text}");
        assert!(text.contains("4.0 MiB (2.0 MiB/s)"), "{text}");
        assert!(text.contains("wall time  2.000 s (2 tasks/s)"), "{text}");
    }

    #[test]
    fn merging_adds_counts_and_keeps_the_longer_wall_time() {
        let mut map = JobSummary {
            function: "map".into(),
            tasks: 10,
            done: 10,
            wall_time: Duration::from_secs(3),
            ..JobSummary::default()
        };
        let reduce = JobSummary {
            function: "reduce".into(),
            tasks: 1,
            done: 1,
            wall_time: Duration::from_secs(4),
            ..JobSummary::default()
        };
        map.merge(&reduce);
        assert_eq!((map.tasks, map.done), (11, 11));
        assert_eq!(map.wall_time, Duration::from_secs(4));
        assert_eq!(map.function, "map+reduce");
    }
}
