//! [`sort`]: the driver of a sort, which plans it and runs its stages on
//! the executor.
//!
//! 1. **Plan.** List the inputs, find their chunks (a scanning task per
//!    lines or csv object; gensort chunks follow from the sizes) and the
//!    csv header, and size the sort ([`crate::plan`]).
//! 2. **Sample.** With more than one reducer, a sampling task per chunk
//!    reads a few windows of keys; the driver chooses the boundaries
//!    ([`crate::boundaries`]).
//! 3. **Map.** A task per chunk sorts it and writes one intermediate
//!    object under `OUTPUT/.shuffle/JOB/` ([`crate::layout`]).
//! 4. **Reduce.** A task per reducer merges its partition of every run into
//!    `OUTPUT/part-NNNNN`; part names sort as their keys do, and the csv
//!    header tops `part-00000` only.
//! 5. **Clean up.** The intermediate objects go; so do the outputs of a
//!    sort that failed.
//!
//! Every stage starts backup copies of its stragglers ([`crate::stage`]).

use std::time::Instant;

use cloudbutton_executor::{ExecutorError, FunctionExecutor, ObjectInput};
use cloudbutton_storage::{Location, ObjectInfo, Selector, Storage, block_on};
use serde_bytes::ByteBuf;

use crate::boundaries::{self, Boundary};
use crate::error::SortError;
use crate::format::{Bound, Format};
use crate::gensort::RECORD_LEN;
use crate::layout::Layout;
use crate::map::{MAP, MapOutput, MapTask};
use crate::plan::{self, PlanInput, SortPlan};
use crate::reduce::{REDUCE, ReduceOutput, ReduceTask, Run};
use crate::report::SortReport;
use crate::request::SortRequest;
use crate::sample::{SAMPLE, SampleTask};
use crate::scan::{SCAN, ScanTask};
use crate::stage;
use crate::task::Object;

/// Sorts the records of the input objects into output objects
/// `part-00000`, `part-00001`, ... under the output prefix, each sorted,
/// the parts in key order; records with equal keys keep their input order.
///
/// ```
/// use cloudbutton_executor::FunctionExecutor;
/// use cloudbutton_shuffle::format::Format;
/// use cloudbutton_shuffle::{SortRequest, sort};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("in.txt"), "pear\napple\nfig\n")?;
/// let output = dir.path().join("sorted");
///
/// let executor = FunctionExecutor::new()?;
/// let mut request = SortRequest::new(
///     [dir.path().join("in.txt").to_str().unwrap()],
///     output.to_str().unwrap(),
///     Format::Lines,
/// );
/// request.workers = Some(1);
/// let report = sort(&executor, request)?;
/// assert_eq!(report.records, 3);
/// assert_eq!(std::fs::read_to_string(output.join("part-00000"))?, "apple\nfig\npear\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sort(executor: &FunctionExecutor, request: SortRequest) -> Result<SortReport, SortError> {
    let started = Instant::now();
    if request.memory_per_worker == 0 {
        return Err(SortError::Invalid(
            "the memory per worker must be above 0".into(),
        ));
    }
    if request.inputs.is_empty() {
        return Err(SortError::Invalid("give at least one input".into()));
    }
    let _span = tracing::info_span!("sort", format = %request.format).entered();
    let options = &executor.config().storage;
    let (output, prefix) = output_prefix(&request.output, options)?;
    let earlier =
        block_on(output.list(&Selector::Prefix(prefix.trim_end_matches('/').to_owned())))?;
    if let Some(first) = earlier.first() {
        return Err(SortError::OutputNotEmpty {
            output: output.url(&prefix),
            count: earlier.len(),
            first: first.url(),
        });
    }

    let job = format!("{:016x}", rand::random::<u64>());
    let shuffle = Shuffle {
        executor,
        request: &request,
        output,
        intermediate_prefix: format!("{prefix}.shuffle/{job}/"),
        prefix,
    };
    let mut report = SortReport {
        memory_per_worker: request.memory_per_worker,
        ..SortReport::default()
    };
    let outcome = shuffle.run(&mut report);

    let cleanup = Instant::now();
    shuffle.remove_intermediates();
    if outcome.is_err() {
        shuffle.remove_outputs(report.reducers);
    }
    outcome?;
    report.timings.cleanup = cleanup.elapsed();
    report.timings.total = started.elapsed();
    Ok(report)
}

/// One sort under way.
struct Shuffle<'a> {
    executor: &'a FunctionExecutor,
    request: &'a SortRequest,
    /// The output store and prefix (empty or ending in `/`).
    output: Storage,
    prefix: String,
    /// Where the intermediate objects go.
    intermediate_prefix: String,
}

/// A csv header, and the input object it was read from.
type Header = (usize, Vec<u8>);

/// A chunk of the input: an object and whole records of it.
struct Chunk {
    object: usize,
    range: std::ops::Range<u64>,
}

impl Shuffle<'_> {
    fn run(&self, report: &mut SortReport) -> Result<(), SortError> {
        let request = self.request;
        let format = &request.format;
        let step = Instant::now();

        // Plan.
        let objects = self.inputs()?;
        report.input_objects = objects.len();
        report.input_bytes = objects.iter().map(|object| object.size).sum();
        let record_size = matches!(format, Format::Gensort).then_some(RECORD_LEN as u64);
        let mut sizes = PlanInput {
            total_bytes: report.input_bytes,
            memory_per_worker: request.memory_per_worker,
            executor_workers: self.executor.workers(),
            requested_reducers: request.workers,
            record_size,
        };
        let mut plan = plan::plan(&sizes);
        if let Some(chunk_size) = request.chunk_size {
            plan.chunk_size = match record_size {
                Some(record) => (chunk_size / record).max(1) * record,
                None => chunk_size.max(1),
            };
        }
        let (chunks, header) = self.chunks(&objects, &plan, report)?;
        // Without their headers, csv objects may hold no records at all.
        sizes.total_bytes = chunks
            .iter()
            .map(|chunk| chunk.range.end - chunk.range.start)
            .sum();
        plan.reducers = plan::reducers(&sizes);
        tracing::debug!(chunks = chunks.len(), reducers = plan.reducers, "planned");
        report.map_tasks = chunks.len();
        report.reducers = plan.reducers;
        report.timings.plan = step.elapsed();

        // Sample.
        let step = Instant::now();
        let bound = if chunks.is_empty() {
            None
        } else {
            let header = header.as_ref();
            let bound = format.bind(header.map(|(_, header)| header.as_slice()));
            let url = header.map_or_else(|| objects[0].url(), |(at, _)| objects[*at].url());
            Some(bound.map_err(|error| error.in_object(url))?)
        };
        let boundaries = match &bound {
            Some(bound) if plan.reducers > 1 => {
                self.boundaries(&objects, &chunks, bound, &plan, report)?
            }
            _ => Vec::new(),
        };
        report.timings.sample = step.elapsed();

        // Map.
        let step = Instant::now();
        let maps = match &bound {
            Some(bound) => self.map(&objects, &chunks, bound, boundaries, &plan, report)?,
            None => Vec::new(),
        };
        report.timings.map = step.elapsed();

        // Reduce.
        let step = Instant::now();
        let header = header.map(|(_, mut header)| {
            header.extend_from_slice(format.terminator(&header));
            header
        });
        self.reduce(&maps, header, &plan, report)?;
        report.timings.reduce = step.elapsed();
        Ok(())
    }

    /// Lists the inputs, each object once, and checks their lengths.
    fn inputs(&self) -> Result<Vec<ObjectInfo>, SortError> {
        let options = &self.executor.config().storage;
        let objects = ObjectInput::new(self.request.inputs.iter().cloned())
            .must_match()
            .objects(options)
            .map_err(|error| match error {
                ExecutorError::NoMatch(input) => SortError::NoMatch(input),
                ExecutorError::Storage(error) => SortError::Storage(error),
                other => SortError::Executor(other),
            })?;
        for object in &objects {
            self.request
                .format
                .check_len(object.size)
                .map_err(|error| error.in_object(object.url()))?;
        }
        Ok(objects)
    }

    /// The chunks of every object, in input order, and the csv header with
    /// the object it was read from.
    fn chunks(
        &self,
        objects: &[ObjectInfo],
        plan: &SortPlan,
        report: &mut SortReport,
    ) -> Result<(Vec<Chunk>, Option<Header>), SortError> {
        let format = &self.request.format;
        if !format.needs_scan() {
            let points = objects
                .iter()
                .map(|object| {
                    format
                        .split_points(&mut std::io::empty(), object.size, plan.chunk_size)
                        .map_err(|source| SortError::Read {
                            url: object.url(),
                            start: 0,
                            end: object.size,
                            source,
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok((chunks_of(objects, &points), None));
        }

        let scans: Vec<ScanTask> = objects
            .iter()
            .enumerate()
            .map(|(index, object)| ScanTask {
                object: index,
                copy: 0,
                input: object_of(object),
                size: object.size,
                format: format.clone(),
                target: plan.chunk_size,
                straggler: self.request.straggler.clone(),
            })
            .collect();
        let outcome = stage::run(self.executor, "scan", &SCAN, scans, &self.request.backups)?;
        count_backups(report, &outcome);
        let mut header: Option<(usize, ByteBuf)> = None;
        let mut points = Vec::with_capacity(objects.len());
        for (index, scan) in outcome.results.into_iter().enumerate() {
            if let Some(found) = scan.header {
                match &header {
                    None => header = Some((index, found)),
                    Some((first, first_header)) if first_header != &found => {
                        return Err(SortError::HeaderMismatch {
                            object: objects[index].url(),
                            first: objects[*first].url(),
                        });
                    }
                    Some(_) => {}
                }
            }
            points.push(scan.points);
        }
        let header = header.map(|(at, header)| (at, header.into_vec()));
        Ok((chunks_of(objects, &points), header))
    }

    /// Samples every chunk and chooses the reducers' boundaries.
    fn boundaries(
        &self,
        objects: &[ObjectInfo],
        chunks: &[Chunk],
        bound: &Bound,
        plan: &SortPlan,
        report: &mut SortReport,
    ) -> Result<Vec<Boundary>, SortError> {
        let sizes: Vec<u64> = chunks
            .iter()
            .map(|chunk| chunk.range.end - chunk.range.start)
            .collect();
        let counts = plan::samples_per_chunk(&sizes, plan.reducers);
        let record_size = matches!(bound.format(), Format::Gensort).then_some(RECORD_LEN as u64);
        let tasks = chunks
            .iter()
            .zip(counts)
            .enumerate()
            .map(|(task, (chunk, count))| SampleTask {
                task: task as u32,
                copy: 0,
                input: object_of(&objects[chunk.object]),
                range: chunk.range.clone(),
                windows: plan::sample_windows(chunk.range.clone(), count, record_size),
                bound: bound.clone(),
                straggler: self.request.straggler.clone(),
            })
            .collect();
        let outcome = stage::run(
            self.executor,
            "sample",
            &SAMPLE,
            tasks,
            &self.request.backups,
        )?;
        count_backups(report, &outcome);
        let samples: Vec<_> = outcome.results.into_iter().flatten().collect();
        report.samples = samples.len();
        Ok(boundaries::choose(samples, plan.reducers))
    }

    /// Runs the map tasks.
    fn map(
        &self,
        objects: &[ObjectInfo],
        chunks: &[Chunk],
        bound: &Bound,
        boundaries: Vec<Boundary>,
        plan: &SortPlan,
        report: &mut SortReport,
    ) -> Result<Vec<(String, MapOutput)>, SortError> {
        let width = digits(chunks.len());
        let tasks: Vec<MapTask> = chunks
            .iter()
            .enumerate()
            .map(|(task, chunk)| MapTask {
                task: task as u32,
                copy: 0,
                input: object_of(&objects[chunk.object]),
                range: chunk.range.clone(),
                bound: bound.clone(),
                boundaries: boundaries.clone(),
                reducers: plan.reducers,
                memory: plan.memory.clone(),
                output: Object {
                    store_url: self.output.store_url().to_owned(),
                    key: format!("{}map-{task:0width$}", self.intermediate_prefix),
                },
                straggler: self.request.straggler.clone(),
            })
            .collect();
        let keys: Vec<String> = tasks.iter().map(|task| task.output.key.clone()).collect();
        let outcome = stage::run(self.executor, "map", &MAP, tasks, &self.request.backups)?;
        count_backups(report, &outcome);
        for output in &outcome.results {
            report.records += output.records;
            report.runs += output.index.runs.len();
            report.intermediate_bytes += output.written;
            report.peak_task_memory = report.peak_task_memory.max(output.peak_memory);
        }
        Ok(keys.into_iter().zip(outcome.results).collect())
    }

    /// Runs the reducers.
    fn reduce(
        &self,
        maps: &[(String, MapOutput)],
        header: Option<Vec<u8>>,
        plan: &SortPlan,
        report: &mut SortReport,
    ) -> Result<(), SortError> {
        let width = digits(plan.reducers);
        let tasks: Vec<ReduceTask> = (0..plan.reducers)
            .map(|reducer| ReduceTask {
                reducer,
                reducers: plan.reducers,
                copy: 0,
                layout: Layout::of(&self.request.format),
                header: (reducer == 0)
                    .then(|| header.clone().map(ByteBuf::from))
                    .flatten(),
                store_url: self.output.store_url().to_owned(),
                runs: maps
                    .iter()
                    .flat_map(|(key, output)| {
                        output.index.partition(reducer).map(|range| Run {
                            key: key.clone(),
                            range,
                        })
                    })
                    .collect(),
                output: Object {
                    store_url: self.output.store_url().to_owned(),
                    key: self.part_key(reducer, width),
                },
                memory: plan.memory.clone(),
                straggler: self.request.straggler.clone(),
            })
            .collect();
        report.outputs = tasks.iter().map(|task| task.output.url()).collect();
        let outcome = stage::run(
            self.executor,
            "reduce",
            &REDUCE,
            tasks,
            &self.request.backups,
        )?;
        count_backups(report, &outcome);
        for output in &outcome.results {
            let ReduceOutput {
                records,
                written,
                bytes_read,
                peak_memory,
            } = output;
            report.output_bytes += written;
            report.reducer_records.push(*records);
            report.reducer_bytes.push(*bytes_read);
            report.peak_task_memory = report.peak_task_memory.max(*peak_memory);
        }
        Ok(())
    }

    /// The key of reducer `reducer`'s output.
    fn part_key(&self, reducer: usize, width: usize) -> String {
        format!("{}part-{reducer:0width$}", self.prefix)
    }

    /// Removes the intermediate objects, and on the local filesystem the
    /// directories that held them. Failures are logged: the sort's result
    /// does not depend on them.
    fn remove_intermediates(&self) {
        let listed = block_on(self.output.list(&Selector::Prefix(
            self.intermediate_prefix.trim_end_matches('/').to_owned(),
        )));
        let keys = listed.map(|objects| objects.into_iter().map(|object| object.key).collect());
        self.remove(keys);
        if self.output.store_url() == "file:///" {
            let job = format!("/{}", self.intermediate_prefix.trim_end_matches('/'));
            let shuffle = format!("/{}.shuffle", self.prefix);
            for dir in [job, shuffle] {
                // Only empty directories go: another sort's may remain.
                let _ = std::fs::remove_dir(dir);
            }
        }
    }

    /// Removes what a failed sort wrote to its output, which was empty.
    fn remove_outputs(&self, reducers: usize) {
        let width = digits(reducers);
        self.remove(Ok((0..reducers)
            .map(|reducer| self.part_key(reducer, width))
            .collect()));
    }

    fn remove(&self, keys: Result<Vec<String>, cloudbutton_storage::StorageError>) {
        let removed = keys.and_then(|keys| {
            block_on(async {
                for key in keys {
                    self.output.delete(&key).await?;
                }
                Ok(())
            })
        });
        if let Err(error) = removed {
            tracing::warn!(%error, "cannot remove the objects of the sort below {}", self.output.url(&self.prefix));
        }
    }
}

/// The chunks of every object from their start points, in input order.
fn chunks_of(objects: &[ObjectInfo], points: &[Vec<u64>]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    for (index, (object, points)) in objects.iter().zip(points).enumerate() {
        for (at, &start) in points.iter().enumerate() {
            let end = points.get(at + 1).copied().unwrap_or(object.size);
            chunks.push(Chunk {
                object: index,
                range: start..end,
            });
        }
    }
    chunks
}

/// A listed object as a task receives it.
fn object_of(object: &ObjectInfo) -> Object {
    Object {
        store_url: object.store_url.clone(),
        key: object.key.clone(),
    }
}

fn count_backups<O>(report: &mut SortReport, outcome: &stage::StageOutcome<O>) {
    report.backups += outcome.backups;
    report.backups_won += outcome.backups_won;
}

/// The width of zero-padded numbers below `count`: 5 digits at least.
fn digits(count: usize) -> usize {
    count.saturating_sub(1).to_string().len().max(5)
}

/// The store and key prefix (empty or ending in `/`) of the output.
fn output_prefix(
    output: &str,
    options: &cloudbutton_storage::StorageOptions,
) -> Result<(Storage, String), SortError> {
    let location = Location::parse(output)?;
    let key = match location.selector() {
        Selector::Object(key) | Selector::Prefix(key) => key.clone(),
        Selector::Glob(pattern) => {
            return Err(SortError::Invalid(format!(
                "the output {output} is a pattern ({pattern}), not a place"
            )));
        }
    };
    let storage = Storage::connect(location.store_url(), options)?;
    if storage.store_url() == "file:///" && std::path::Path::new(&format!("/{key}")).is_file() {
        return Err(SortError::Invalid(format!(
            "the output {output} is a file; name a directory for the sorted parts"
        )));
    }
    let prefix = if key.is_empty() || key.ends_with('/') {
        key
    } else {
        format!("{key}/")
    };
    Ok((storage, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(size: u64) -> ObjectInfo {
        ObjectInfo {
            store_url: "memory://t".into(),
            key: "k".into(),
            size,
        }
    }

    #[test]
    fn chunks_run_from_point_to_point_and_the_last_to_the_end() {
        let chunks = chunks_of(
            &[info(100), info(0), info(50)],
            &[vec![0, 40], vec![], vec![10]],
        );
        let ranges: Vec<_> = chunks
            .iter()
            .map(|chunk| (chunk.object, chunk.range.clone()))
            .collect();
        assert_eq!(ranges, [(0, 0..40), (0, 40..100), (2, 10..50)]);
    }

    #[test]
    fn part_names_sort_as_their_numbers() {
        assert_eq!(digits(1), 5);
        assert_eq!(digits(100_000), 5);
        assert_eq!(digits(100_001), 6);
    }
}
