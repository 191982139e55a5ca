//! The reducer: merges its partition of every map task's runs, read
//! through bounded windows, into one output object (see [`crate::merge`]).

use std::io::Write;
use std::ops::Range;

use cloudbutton_executor::{FnResult, Function, TaskContext};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::SortError;
use crate::layout::Layout;
use crate::merge::{Cursor, Meter, merge};
use crate::plan::MemoryPlan;
use crate::stage::StageTask;
use crate::task::{Object, ObjectSource, Stage, Straggler, check_cancelled};

/// One sorted run of a reducer's partition: a range of an intermediate
/// object.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Run {
    /// The intermediate object's key.
    pub key: String,
    /// The partition's bytes in it.
    pub range: Range<u64>,
}

/// What one reducer does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ReduceTask {
    /// The reducer's number.
    pub reducer: usize,
    /// How many reducers there are.
    pub reducers: usize,
    /// Which copy of the task this is.
    pub copy: u32,
    /// How the runs' entries are laid out.
    pub layout: Layout,
    /// Bytes to write before the records: the csv header, for reducer 0.
    pub header: Option<ByteBuf>,
    /// The store of the intermediate objects.
    pub store_url: String,
    /// The runs, in input order.
    pub runs: Vec<Run>,
    /// The output object.
    pub output: Object,
    /// How the task divides its memory.
    pub memory: MemoryPlan,
    /// The test hook.
    pub straggler: Option<Straggler>,
}

/// What a reducer wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ReduceOutput {
    /// Records written.
    pub records: u64,
    /// Bytes written, the header too.
    pub written: u64,
    /// Bytes of entries read from the runs.
    pub bytes_read: u64,
    /// The most bytes its buffers held at once.
    pub peak_memory: u64,
}

impl StageTask for ReduceTask {
    fn with_copy(&self, copy: u32) -> Self {
        ReduceTask {
            copy,
            ..self.clone()
        }
    }

    fn describe(&self) -> String {
        format!(
            "reducer {} of {}, {} runs, writing {}",
            self.reducer,
            self.reducers,
            self.runs.len(),
            self.output.url()
        )
    }
}

/// The reduce function.
pub(crate) static REDUCE: Function<ReduceTask, ReduceOutput> =
    Function::new("cloudbutton_shuffle::reduce", reduce);
cloudbutton_executor::register!(REDUCE);

fn reduce(task: ReduceTask, ctx: &TaskContext) -> FnResult<ReduceOutput> {
    Ok(run(&task, ctx)?)
}

fn run(task: &ReduceTask, ctx: &TaskContext) -> Result<ReduceOutput, SortError> {
    let _span = tracing::debug_span!("reduce", reducer = task.reducer).entered();
    Straggler::hold(&task.straggler, Stage::Reduce, task.reducer, task.copy, ctx)?;
    let intermediate = Object {
        store_url: task.store_url.clone(),
        key: String::new(),
    }
    .connect(ctx)?;
    let output = task.output.connect(ctx)?;
    let mut writer = output.writer(&task.output.key, task.memory.part_size as usize);
    let url = writer.url();
    let mut meter = Meter::holding(writer.memory_bound() as u64);

    if let Some(header) = &task.header {
        writer
            .write_all(header)
            .map_err(|source| SortError::Write {
                url: url.clone(),
                source,
            })?;
    }

    let window = window(task.layout, task.memory.buffer_per_stream(task.runs.len()));
    let cursors = task
        .runs
        .iter()
        .map(|run| {
            let source = ObjectSource {
                storage: intermediate.clone(),
                key: run.key.clone(),
                ctx,
            };
            Cursor::new(source, task.layout, run.range.clone(), window)
        })
        .collect();
    let records = merge(cursors, task.layout, &mut meter, &mut writer, || {
        ctx.is_cancelled()
    })
    .map_err(|source| SortError::Merge {
        url: url.clone(),
        source,
    })?;

    // A losing copy must not write once the sort has moved on.
    check_cancelled(ctx)?;
    let written = writer.finish()?;
    tracing::debug!(reducer = task.reducer, records, written, "reducer done");
    Ok(ReduceOutput {
        records,
        written,
        bytes_read: task
            .runs
            .iter()
            .map(|run| run.range.end - run.range.start)
            .sum(),
        peak_memory: meter.peak(),
    })
}

/// The window of each run from its share of the read buffers: whole
/// records for a fixed layout, whose runs then never need a carry; half
/// the share otherwise, leaving the other half for an entry that straddles
/// two windows.
fn window(layout: Layout, share: u64) -> u64 {
    match layout {
        Layout::Fixed { record, .. } => {
            let record = u64::from(record);
            (share / record).max(1) * record
        }
        Layout::Prefixed | Layout::Keyed => (share / 2).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;

    #[test]
    fn windows_fit_the_share() {
        let gensort = Layout::of(&Format::Gensort);
        assert_eq!(window(gensort, 16_666), 16_600);
        assert_eq!(window(gensort, 10), 100);
        assert_eq!(window(Layout::Keyed, 1000), 500);
        assert_eq!(window(Layout::Prefixed, 1), 1);
    }
}
