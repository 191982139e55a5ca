//! What the tasks of a sort share: the object they read or write, reads
//! from storage as a [`Source`], and the test hook that makes one task
//! slow.

use std::io;
use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cloudbutton_executor::TaskContext;
use cloudbutton_storage::{Storage, block_on};
use serde::{Deserialize, Serialize};

use crate::error::SortError;
use crate::merge::Source;

/// An object in storage, as a task receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Object {
    /// The URL of its store, as [`Storage::connect`] takes it.
    pub store_url: String,
    /// Its key in the store.
    pub key: String,
}

impl Object {
    /// Connects to the object's store with the task's storage options.
    pub fn connect(&self, ctx: &TaskContext) -> Result<Storage, SortError> {
        Ok(Storage::connect(&self.store_url, ctx.storage())?)
    }

    /// The object's URL, for messages.
    pub fn url(&self) -> String {
        cloudbutton_storage::ObjectInfo {
            store_url: self.store_url.clone(),
            key: self.key.clone(),
            size: 0,
        }
        .url()
    }
}

/// Ranged reads of one object, counted in the task's statistics.
pub(crate) struct ObjectSource<'a> {
    pub storage: Storage,
    pub key: String,
    pub ctx: &'a TaskContext,
}

impl Source for ObjectSource<'_> {
    fn fetch(&mut self, range: Range<u64>) -> io::Result<Bytes> {
        if self.ctx.is_cancelled() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the task was cancelled",
            ));
        }
        block_on(self.storage.get_range(&self.key, range))
            .map_err(|error| io::Error::new(error.io_kind(), error))
    }
}

/// Which stage of a sort a task belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// The tasks that find where csv and lines objects can be cut.
    Scan,
    /// The tasks that sample keys.
    Sample,
    /// The map tasks.
    Map,
    /// The reducers.
    Reduce,
}

/// A test hook: the first copy of one task sleeps before it works, as a
/// straggler on a slow machine would, unless it is cancelled first.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Straggler {
    /// The stage of the slow task.
    pub stage: Stage,
    /// Its number in the stage.
    pub task: usize,
    /// How long it sleeps.
    pub delay: Duration,
}

impl Straggler {
    /// Sleeps if this is the straggler's first copy.
    pub(crate) fn hold(
        hook: &Option<Straggler>,
        stage: Stage,
        task: usize,
        copy: u32,
        ctx: &TaskContext,
    ) -> Result<(), SortError> {
        let Some(straggler) = hook else {
            return Ok(());
        };
        if straggler.stage != stage || straggler.task != task || copy != 0 {
            return Ok(());
        }
        let until = Instant::now() + straggler.delay;
        while Instant::now() < until {
            if ctx.is_cancelled() {
                return Err(SortError::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

/// Fails with [`SortError::Cancelled`] once the task should stop.
pub(crate) fn check_cancelled(ctx: &TaskContext) -> Result<(), SortError> {
    if ctx.is_cancelled() {
        Err(SortError::Cancelled)
    } else {
        Ok(())
    }
}
