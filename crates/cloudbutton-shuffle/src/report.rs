//! [`SortReport`]: what a sort did, for its summary and for tests.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// What a finished sort read, wrote and how.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SortReport {
    /// Records sorted.
    pub records: u64,
    /// The input objects' total size.
    pub input_bytes: u64,
    /// The input objects.
    pub input_objects: usize,
    /// The output objects' total size.
    pub output_bytes: u64,
    /// The output objects, in key order.
    pub outputs: Vec<String>,
    /// Map tasks: one per chunk of input.
    pub map_tasks: usize,
    /// Reducers: one per output object.
    pub reducers: usize,
    /// Sorted runs the map tasks wrote: more than the map tasks when some
    /// chunk did not fit its task's memory at once.
    pub runs: usize,
    /// Bytes written to intermediate objects (and removed at the end).
    pub intermediate_bytes: u64,
    /// Keys sampled to choose the reducers' boundaries.
    pub samples: usize,
    /// Backup copies of stragglers started, over every stage.
    pub backups: usize,
    /// Tasks whose backup copy finished first.
    pub backups_won: usize,
    /// The memory bound of each task.
    pub memory_per_worker: u64,
    /// The most bytes any task's buffers held at once.
    pub peak_task_memory: u64,
    /// Records written by each reducer.
    pub reducer_records: Vec<u64>,
    /// Bytes each reducer merged: its share of the data.
    pub reducer_bytes: Vec<u64>,
    /// How long each step took.
    pub timings: Timings,
}

/// How long each step of a sort took.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    /// Listing the inputs and finding their chunks.
    pub plan: Duration,
    /// Sampling keys and choosing boundaries.
    pub sample: Duration,
    /// The map tasks.
    pub map: Duration,
    /// The reducers.
    pub reduce: Duration,
    /// Removing the intermediate objects.
    pub cleanup: Duration,
    /// All of it.
    pub total: Duration,
}

impl fmt::Display for SortReport {
    /// The summary a user reads, one fact per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.timings.total.as_secs_f64();
        let rate = if seconds > 0.0 {
            self.input_bytes as f64 / seconds / (1024.0 * 1024.0)
        } else {
            0.0
        };
        writeln!(f, "sort summary")?;
        writeln!(
            f,
            "  records    {} from {} object(s), {}",
            self.records,
            self.input_objects,
            size(self.input_bytes)
        )?;
        writeln!(
            f,
            "  output     {} part(s), {}",
            self.outputs.len(),
            size(self.output_bytes)
        )?;
        writeln!(
            f,
            "  tasks      {} map, {} reduce, {} samples",
            self.map_tasks, self.reducers, self.samples
        )?;
        writeln!(
            f,
            "  spill      {} run(s), {} intermediate",
            self.runs,
            size(self.intermediate_bytes)
        )?;
        writeln!(
            f,
            "  memory     {} per task, {} at most",
            size(self.memory_per_worker),
            size(self.peak_task_memory)
        )?;
        writeln!(
            f,
            "  backups    {} started, {} won",
            self.backups, self.backups_won
        )?;
        let timings = &self.timings;
        write!(
            f,
            "  wall time  {seconds:.3} s ({rate:.1} MiB/s): plan {:.3}, sample {:.3}, map {:.3}, \
             reduce {:.3}, cleanup {:.3}",
            timings.plan.as_secs_f64(),
            timings.sample.as_secs_f64(),
            timings.map.as_secs_f64(),
            timings.reduce.as_secs_f64(),
            timings.cleanup.as_secs_f64()
        )
    }
}

/// A size in binary units, as the rest of the command line writes them.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_binary_units() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(1_000_000_000), "953.7 MiB");
    }

    #[test]
    fn the_summary_names_every_step() {
        let report = SortReport {
            records: 10,
            outputs: vec!["file:///out/part-00000".into()],
            ..SortReport::default()
        };
        let text = report.to_string();
        for word in [
            "records    10",
            "1 part(s)",
            "spill",
            "backups",
            "wall time",
        ] {
            assert!(text.contains(word), "{text}");
        }
    }
}
