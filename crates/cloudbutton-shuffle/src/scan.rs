//! The scanning task: reads one lines or csv object from its start to find
//! its header and where it can be cut into chunks that start at record
//! starts (a csv record may hold newlines in quotes, so only a reading
//! from the start can tell).

use cloudbutton_executor::{FnResult, Function, TaskContext};
use cloudbutton_storage::RangeReader;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::SortError;
use crate::format::{Format, FormatError};
use crate::stage::StageTask;
use crate::task::{Object, Stage, Straggler};

/// The first fetch of a scan.
const FIRST_WINDOW: u64 = 8 << 20;

/// What one scanning task does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ScanTask {
    /// The object's place among the inputs.
    pub object: usize,
    /// Which copy of the task this is.
    pub copy: u32,
    /// The object.
    pub input: Object,
    /// Its size.
    pub size: u64,
    /// Its format.
    pub format: Format,
    /// The chunk size to cut it into.
    pub target: u64,
    /// The test hook.
    pub straggler: Option<Straggler>,
}

/// What a scan found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ScanOutput {
    /// The object's header, for csv.
    pub header: Option<ByteBuf>,
    /// Where its chunks start (see [`Format::split_points`]).
    pub points: Vec<u64>,
}

impl StageTask for ScanTask {
    fn with_copy(&self, copy: u32) -> Self {
        ScanTask {
            copy,
            ..self.clone()
        }
    }

    fn describe(&self) -> String {
        self.input.url()
    }
}

/// The scanning function.
pub(crate) static SCAN: Function<ScanTask, ScanOutput> =
    Function::new("cloudbutton_shuffle::scan", scan);
cloudbutton_executor::register!(SCAN);

fn scan(task: ScanTask, ctx: &TaskContext) -> FnResult<ScanOutput> {
    Ok(run(&task, ctx)?)
}

fn run(task: &ScanTask, ctx: &TaskContext) -> Result<ScanOutput, SortError> {
    let _span = tracing::debug_span!("scan", url = %task.input.url()).entered();
    Straggler::hold(&task.straggler, Stage::Scan, task.object, task.copy, ctx)?;
    let storage = task.input.connect(ctx)?;
    let url = task.input.url();
    let reader = || {
        RangeReader::new(
            storage.clone(),
            task.input.key.clone(),
            0,
            task.size,
            task.size.min(FIRST_WINDOW),
            None,
        )
    };
    let header = task
        .format
        .read_header(&mut reader())
        .map_err(|error| error.in_object(url.clone()))?;
    let points = task
        .format
        .split_points(&mut reader(), task.size, task.target)
        .map_err(|source| {
            match source
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<FormatError>())
            {
                Some(_) => {
                    let error = source
                        .into_inner()
                        .expect("checked above")
                        .downcast::<FormatError>()
                        .expect("checked above");
                    SortError::Format(error.in_object(url.clone()))
                }
                None => SortError::Read {
                    url: url.clone(),
                    start: 0,
                    end: task.size,
                    source,
                },
            }
        })?;
    Ok(ScanOutput {
        header: header.map(ByteBuf::from),
        points,
    })
}
