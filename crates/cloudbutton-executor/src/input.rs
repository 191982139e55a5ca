//! What a job iterates over: a list of values, or objects in storage.

use std::collections::HashSet;
use std::marker::PhantomData;

use cloudbutton_partition::{Boundary, ChunkSpec, Delimiter, plan};
use cloudbutton_storage::{Location, ObjectInfo, Storage, StorageOptions, block_on};

use crate::chunk::Chunk;
use crate::error::{ExecutorError, InputDescription};

/// The inputs of a job's tasks, one per task, each with a description that
/// errors show.
pub trait TaskInputs<I> {
    /// Resolves the inputs: lists storage and plans chunks where needed.
    fn into_tasks(
        self,
        settings: &InputSettings,
    ) -> Result<Vec<(I, InputDescription)>, ExecutorError>;
}

/// Inputs whose every item is turned into another by a function, such as
/// chunks wrapped with the settings of a WebAssembly or command function;
/// see [`wrap`].
pub struct Wrapped<S, F, A> {
    inner: S,
    wrap: F,
    item: PhantomData<fn(A)>,
}

/// Turns each of the inputs `inner` into `wrap(input)`; descriptions (and
/// so error messages) stay those of the inner inputs.
///
/// ```
/// use cloudbutton_executor::{ObjectInput, TaskInputs, wrap};
///
/// let numbered = wrap(vec![10, 20], |value: i32| (value, "tag"));
/// # let _ = numbered;
/// let chunks = wrap(ObjectInput::new(["data/"]), |chunk| (chunk, 3));
/// # let _ = chunks;
/// ```
pub fn wrap<S, F, A, B>(inner: S, wrap: F) -> Wrapped<S, F, A>
where
    S: TaskInputs<A>,
    F: FnMut(A) -> B,
{
    Wrapped {
        inner,
        wrap,
        item: PhantomData,
    }
}

impl<S, F, A, B> TaskInputs<B> for Wrapped<S, F, A>
where
    S: TaskInputs<A>,
    F: FnMut(A) -> B,
{
    fn into_tasks(
        self,
        settings: &InputSettings,
    ) -> Result<Vec<(B, InputDescription)>, ExecutorError> {
        let mut wrap = self.wrap;
        Ok(self
            .inner
            .into_tasks(settings)?
            .into_iter()
            .map(|(input, description)| (wrap(input), description))
            .collect())
    }
}

/// What resolving inputs needs from the executor.
#[derive(Clone, Debug)]
pub struct InputSettings {
    /// The chunk size used when an [`ObjectInput`] sets none.
    pub default_chunk_size: u64,
    /// Credentials and endpoints of remote stores.
    pub storage: StorageOptions,
}

impl<I> TaskInputs<I> for Vec<I> {
    fn into_tasks(self, _: &InputSettings) -> Result<Vec<(I, InputDescription)>, ExecutorError> {
        Ok(self
            .into_iter()
            .enumerate()
            .map(|(position, value)| (value, InputDescription::Value { position }))
            .collect())
    }
}

impl<I: Clone> TaskInputs<I> for &[I] {
    fn into_tasks(
        self,
        settings: &InputSettings,
    ) -> Result<Vec<(I, InputDescription)>, ExecutorError> {
        self.to_vec().into_tasks(settings)
    }
}

impl<I, const N: usize> TaskInputs<I> for [I; N] {
    fn into_tasks(
        self,
        settings: &InputSettings,
    ) -> Result<Vec<(I, InputDescription)>, ExecutorError> {
        Vec::from(self).into_tasks(settings)
    }
}

/// Objects in storage, split into chunks: one task per chunk.
///
/// Each location is one object (`data/a.txt`), a prefix (`data/`, or a
/// local directory), or a glob (`data/*.csv`). An object named by several
/// locations is read once.
///
/// ```no_run
/// use cloudbutton_executor::ObjectInput;
///
/// let input = ObjectInput::new(["s3://logs/2026/", "file:///data/extra.log"])
///     .chunk_size(16 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct ObjectInput {
    locations: Vec<String>,
    chunking: Option<ChunkSpec>,
    boundary: Boundary,
    must_match: bool,
}

impl ObjectInput {
    /// Reads these locations, split by the configured chunk size at newlines.
    pub fn new<S: Into<String>>(locations: impl IntoIterator<Item = S>) -> Self {
        Self {
            locations: locations.into_iter().map(Into::into).collect(),
            chunking: None,
            boundary: Boundary::Records(Delimiter::newline()),
            must_match: false,
        }
    }

    /// Splits each object into chunks of about this many bytes.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunking = Some(ChunkSpec::Size(bytes));
        self
    }

    /// Splits each object into this many chunks (fewer for tiny objects).
    pub fn chunk_number(mut self, chunks: u64) -> Self {
        self.chunking = Some(ChunkSpec::Count(chunks));
        self
    }

    /// Aligns chunks to this record delimiter instead of newlines.
    pub fn delimiter(mut self, delimiter: Delimiter) -> Self {
        self.boundary = Boundary::Records(delimiter);
        self
    }

    /// Splits at exact byte offsets, with no record alignment.
    pub fn exact_ranges(mut self) -> Self {
        self.boundary = Boundary::Exact;
        self
    }

    /// Fails, naming the location, when one of the locations matches no
    /// object (a typo, a missing directory), instead of adding no chunks.
    pub fn must_match(mut self) -> Self {
        self.must_match = true;
        self
    }

    /// Lists the objects, each once, in the order of the locations and then
    /// of their keys.
    pub fn objects(&self, storage: &StorageOptions) -> Result<Vec<ObjectInfo>, ExecutorError> {
        let mut seen = HashSet::new();
        let mut objects = Vec::new();
        for text in &self.locations {
            let location = Location::parse(text)?;
            let store = Storage::connect(location.store_url(), storage)?;
            let listed = block_on(store.list(location.selector()))?;
            tracing::debug!(%location, objects = listed.len(), "listed input");
            if self.must_match && listed.is_empty() {
                return Err(ExecutorError::NoMatch(text.clone()));
            }
            for object in listed {
                if seen.insert((object.store_url.clone(), object.key.clone())) {
                    objects.push(object);
                }
            }
        }
        Ok(objects)
    }
}

impl TaskInputs<Chunk> for ObjectInput {
    fn into_tasks(
        self,
        settings: &InputSettings,
    ) -> Result<Vec<(Chunk, InputDescription)>, ExecutorError> {
        let objects = self.objects(&settings.storage)?;
        let sizes: Vec<u64> = objects.iter().map(|object| object.size).collect();
        let spec = self
            .chunking
            .unwrap_or(ChunkSpec::Size(settings.default_chunk_size));
        let delimiter = self.boundary.delimiter().map(|d| d.as_bytes().to_vec());
        let urls: Vec<String> = objects.iter().map(ObjectInfo::url).collect();

        let chunks = plan(&sizes, spec)?
            .into_iter()
            .map(|planned| {
                let object = &objects[planned.object];
                let url = urls[planned.object].clone();
                let description = InputDescription::Chunk {
                    url: url.clone(),
                    range: planned.range.clone(),
                };
                let chunk = Chunk {
                    store_url: object.store_url.clone(),
                    key: object.key.clone(),
                    url,
                    object_size: object.size,
                    object_index: planned.object,
                    range: planned.range,
                    part: planned.part,
                    parts: planned.parts,
                    delimiter: delimiter.clone(),
                };
                (chunk, description)
            })
            .collect();
        Ok(chunks)
    }
}
