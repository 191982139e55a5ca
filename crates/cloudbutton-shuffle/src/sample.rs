//! The sampling task: reads a few windows of one chunk at evenly spaced
//! offsets and returns the sort keys and positions of some records in
//! them, each weighted with the share of the chunk it stands for.
//!
//! A window that does not start the chunk starts within some record: it
//! skips to the byte after its first newline (gensort windows start on
//! records). In a csv object that newline may lie inside a quoted field,
//! which gives a wrong key; a wrong sample moves a boundary, never a
//! record, so the output is right anyway.

use std::ops::Range;

use cloudbutton_executor::{FnResult, Function, TaskContext};
use cloudbutton_storage::block_on;
use serde::{Deserialize, Serialize};

use crate::boundaries::{Boundary, Position, Sample};
use crate::error::SortError;
use crate::format::{Bound, Format};
use crate::gensort::RECORD_LEN;
use crate::plan::SampleWindows;
use crate::stage::StageTask;
use crate::task::{Object, Stage, Straggler, check_cancelled};

/// The bytes read per sampled record of a variable-length format, and at
/// least per window.
const BYTES_PER_SAMPLE: u64 = 256;
const MIN_WINDOW: u64 = 4096;

/// What one sampling task does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SampleTask {
    /// The map task whose chunk this samples.
    pub task: u32,
    /// Which copy of the task this is.
    pub copy: u32,
    /// The object to read.
    pub input: Object,
    /// The chunk.
    pub range: Range<u64>,
    /// Where to read.
    pub windows: SampleWindows,
    /// The format, bound to the inputs' header.
    pub bound: Bound,
    /// The test hook.
    pub straggler: Option<Straggler>,
}

impl StageTask for SampleTask {
    fn with_copy(&self, copy: u32) -> Self {
        SampleTask {
            copy,
            ..self.clone()
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} bytes {}..{}",
            self.input.url(),
            self.range.start,
            self.range.end
        )
    }
}

/// The sampling function.
pub(crate) static SAMPLE: Function<SampleTask, Vec<Sample>> =
    Function::new("cloudbutton_shuffle::sample", sample);
cloudbutton_executor::register!(SAMPLE);

fn sample(task: SampleTask, ctx: &TaskContext) -> FnResult<Vec<Sample>> {
    Ok(run(&task, ctx)?)
}

fn run(task: &SampleTask, ctx: &TaskContext) -> Result<Vec<Sample>, SortError> {
    let _span = tracing::debug_span!("sample", task = task.task).entered();
    Straggler::hold(
        &task.straggler,
        Stage::Sample,
        task.task as usize,
        task.copy,
        ctx,
    )?;
    let storage = task.input.connect(ctx)?;
    let format = task.bound.format();
    let per_window = task.windows.per_window;
    let window_len = match format {
        Format::Gensort => per_window * RECORD_LEN as u64,
        _ => (per_window * BYTES_PER_SAMPLE).max(MIN_WINDOW),
    };

    let mut samples = Vec::new();
    for &start in &task.windows.offsets {
        check_cancelled(ctx)?;
        let end = task.range.end.min(start + window_len);
        let data = block_on(storage.get_range(&task.input.key, start..end)).map_err(|error| {
            SortError::Read {
                url: task.input.url(),
                start,
                end,
                source: std::io::Error::new(error.io_kind(), error),
            }
        })?;
        let skip = if start == task.range.start || *format == Format::Gensort {
            0
        } else {
            match memchr::memchr(b'\n', &data) {
                Some(newline) => newline + 1,
                None => continue,
            }
        };
        let mut records: Vec<&[u8]> = format
            .records(&data[skip..])
            .take(per_window as usize + 1)
            .collect();
        // The last record of a window that stops short may be cut.
        if records.len() <= per_window as usize && end < task.range.end {
            records.pop();
        }
        records.truncate(per_window as usize);

        let mut offset = start + skip as u64;
        for record in records {
            let mut key = Vec::new();
            task.bound.sort_key(record, &mut key);
            samples.push(Sample {
                point: Boundary {
                    key,
                    position: Position {
                        task: task.task,
                        offset,
                    },
                },
                weight: 0,
            });
            offset += record.len() as u64;
        }
    }

    let bytes = task.range.end - task.range.start;
    let weight = (bytes / samples.len().max(1) as u64).max(1);
    for sample in &mut samples {
        sample.weight = weight;
    }
    Ok(samples)
}
