//! What the two Fashion-MNIST examples, `kmeans` and `logistic`, share: the
//! fetched files and their IDX reader, how the training images are split
//! among the tasks, how tasks learn that all of them have loaded their part,
//! and vectors of f64 kept in a shared blob.

mod idx;

use std::ops::Range;
use std::path::{Path, PathBuf};

use cloudbutton::FnResult;
use cloudbutton::state::{Barrier, Blob, List, StateError};

pub use idx::{Idx, IdxError, PIXELS};

/// Where `scripts/fetch-data.sh fashion-mnist` puts the four files.
pub const DEFAULT_DIR: &str = "data/fetched/fashion-mnist";

/// The longest a task waits for the others at a barrier or for task 0's
/// step: far more than an iteration takes, so reaching it means another
/// task failed (its error is in the job's result), and the waiting task
/// fails too rather than hang the job.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(600);

/// How many classes of garment there are; labels are `0..CLASSES`.
pub const CLASSES: usize = 10;

/// The name of each class, by label.
pub const CLASS_NAMES: [&str; CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// A split of Fashion-MNIST: its images and their labels, of equal number.
#[derive(Debug, Clone)]
pub struct Split {
    pub images: Idx,
    pub labels: Idx,
}

impl Split {
    /// The 60,000 training images in `dir`.
    pub fn train(dir: &Path) -> Result<Self, SplitError> {
        Self::open(dir, "train")
    }

    /// The 10,000 test images in `dir`.
    #[allow(dead_code)] // k-means learns from the training images only
    pub fn test(dir: &Path) -> Result<Self, SplitError> {
        Self::open(dir, "t10k")
    }

    fn open(dir: &Path, prefix: &str) -> Result<Self, SplitError> {
        let images = Idx::images(&dir.join(format!("{prefix}-images-idx3-ubyte")))?;
        let labels = Idx::labels(
            &dir.join(format!("{prefix}-labels-idx1-ubyte")),
            CLASSES as u8,
        )?;
        if images.len() != labels.len() {
            return Err(SplitError::Count {
                images: images.path().to_owned(),
                image_count: images.len(),
                labels: labels.path().to_owned(),
                label_count: labels.len(),
            });
        }
        Ok(Self { images, labels })
    }

    /// How many images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// The pixels (784 an image) and labels of the images in `range`.
    pub fn read(&self, range: Range<usize>) -> Result<(Vec<u8>, Vec<u8>), IdxError> {
        Ok((self.images.read(range.clone())?, self.labels.read(range)?))
    }
}

/// A split whose files do not go together.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Idx(#[from] IdxError),
    #[error(
        "{} holds {image_count} images but {} holds {label_count} labels",
        .images.display(),
        .labels.display()
    )]
    Count {
        images: PathBuf,
        image_count: usize,
        labels: PathBuf,
        label_count: usize,
    },
}

/// The images of task `task` of `tasks`: consecutive images in file order,
/// the same number for each task give or take one.
pub fn partition(images: usize, tasks: usize, task: usize) -> Range<usize> {
    images * task / tasks..images * (task + 1) / tasks
}

/// The pixels and labels of task `task` of `tasks` when the first `images`
/// training images in `dir` are split among them.
pub fn load_part(
    dir: &Path,
    images: usize,
    task: usize,
    tasks: usize,
) -> Result<(Vec<u8>, Vec<u8>), SplitError> {
    Ok(Split::train(dir)?.read(partition(images, tasks, task))?)
}

/// Refuses more tasks than can run at once: the tasks meet at barriers, so
/// a task left waiting for a free worker would never be reached.
pub fn check_tasks(tasks: usize, workers: usize) -> anyhow::Result<()> {
    if workers == 0 {
        anyhow::bail!(
            "no worker is running tasks for this executor: start workers (`cloudbutton worker`) \
             for its namespace, or use the local backend"
        );
    }
    if tasks == 0 {
        anyhow::bail!("--tasks must be at least 1");
    }
    if tasks > workers {
        anyhow::bail!(
            "{tasks} tasks cannot all run at once on {workers} workers, and they meet at \
             barriers: use --tasks {workers} or fewer, or more workers (CLOUDBUTTON_WORKERS)"
        );
    }
    Ok(())
}

/// Waits until every task has tried to load its part, and returns the part.
/// A task that failed says why in `errors` and still arrives at `barrier`,
/// so no task waits for it later; then every task fails, naming the first
/// task that could not load.
pub fn all_loaded<T>(
    barrier: &Barrier,
    errors: &List<String>,
    task: usize,
    loaded: Result<T, SplitError>,
) -> FnResult<T> {
    if let Err(error) = &loaded {
        errors.append(&format!("task {task}: {error}"))?;
    }
    barrier.wait_timeout(PATIENCE)?;
    match (loaded, errors.range(0..1)?.pop()) {
        (Ok(part), None) => Ok(part),
        (Err(error), _) => Err(error.into()),
        (Ok(_), Some(first)) => {
            Err(format!("another task could not load its images: {first}").into())
        }
    }
}

/// Stores `values` in `blob`, little-endian.
pub fn write_f64s(blob: &Blob, values: &[f64]) -> Result<(), StateError> {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    blob.set(&bytes)
}

/// The `len` values that [`write_f64s`] stored in `blob`, which is named
/// `name` in errors.
pub fn read_f64s(blob: &Blob, name: &str, len: usize) -> FnResult<Vec<f64>> {
    let bytes = blob.get()?.unwrap_or_default();
    if bytes.len() != len * 8 {
        let found = bytes.len();
        return Err(
            format!("the blob {name} holds {found} bytes, expected {len} f64 values").into(),
        );
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|value| f64::from_le_bytes(value.try_into().unwrap()))
        .collect())
}
