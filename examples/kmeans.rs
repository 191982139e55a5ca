//! k-means clustering of the 60,000 Fashion-MNIST training images, by tasks
//! that meet in shared state.
//!
//! ```text
//! scripts/fetch-data.sh fashion-mnist
//! cargo run --release --example kmeans -- [--data DIR] [--clusters K] [--tasks N]
//!     [--max-iterations N] [--tolerance T] [--reference] [--json]
//! ```
//!
//! An image is a point of 784 coordinates, its raw pixel values 0 to 255.
//! The initial centroids are K evenly spaced images, image `i * n / K` for
//! `i` in `0..K`: the driver reads them and stores them in the shared blob
//! `kmeans/centroids`, then maps one task per part of the images (one per
//! worker by default). Each task reads its own images from the IDX file; then,
//! every iteration, it
//!
//! 1. reads the centroids and assigns each of its images to the nearest one
//!    (the lowest index wins a tie);
//! 2. merges, for each cluster, the sums of its images' pixels, their number
//!    and how many of each class there are into the shared map
//!    `kmeans/sums`, adding elementwise, and adds its squared distances to
//!    the shared sum `kmeans/inertia`;
//! 3. waits for the others at the barrier `kmeans/iteration`; task 0 then
//!    computes the new centroids (each cluster's mean; an empty cluster keeps
//!    its centroid), stores them, and publishes the step (how far the
//!    centroids moved, the inertia, the cluster sizes, whether to stop) in
//!    the future `kmeans/step/I`, which every task awaits.
//!
//! They stop once no centroid moves by `--tolerance` or more (in pixel
//! values), or after `--max-iterations`. The sums are of integers below
//! 2^53, exact in f64 in any order, so the centroids equal to the last bit
//! those of `--reference`, which runs the same steps in one loop on one
//! thread, without executor or shared state.
//!
//! Prints the number of iterations, the time per iteration (from the moment
//! every task has its images), the inertia of the last assignment (the sum
//! of squared distances from each image to its centroid), and the size and
//! most common class of each cluster. `--json` prints all of this and the
//! centroids as one JSON object instead.

mod fashion;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use cloudbutton::report::to_stderr;
use cloudbutton::{FnResult, Function, FunctionExecutor, TaskContext, Wait};
use fashion::{CLASS_NAMES, CLASSES, PIXELS, Split};
use serde::{Deserialize, Serialize};

/// Per cluster: the sums of its images' pixels, their number, and how many
/// of them are of each class. All are sums of integers, hence exact.
const ROW: usize = PIXELS + 1 + CLASSES;
const COUNT: usize = PIXELS;
const CLASS_COUNTS: usize = PIXELS + 1;

/// Running sums that a distance keeps apart so that its loop vectorises.
const LANES: usize = 8;
const _: () = assert!(PIXELS.is_multiple_of(LANES));

const CENTROIDS: &str = "kmeans/centroids";
const SUMS: &str = "kmeans/sums";
const INERTIA: &str = "kmeans/inertia";
const ITERATION: &str = "kmeans/iteration";
const ERRORS: &str = "kmeans/errors";

/// The squared Euclidean distance between two images. The tasks and the
/// reference both use this function, so they agree to the last bit.
fn squared_distance(a: &[f64; PIXELS], b: &[f64; PIXELS]) -> f64 {
    let mut sums = [0.0; LANES];
    let (a, _) = a.as_chunks::<LANES>();
    let (b, _) = b.as_chunks::<LANES>();
    for (a, b) in a.iter().zip(b) {
        // Written out rather than looped over the lanes: the same machine
        // code in a release build, and twice as fast in the debug build
        // that the tests run.
        let d = [
            a[0] - b[0],
            a[1] - b[1],
            a[2] - b[2],
            a[3] - b[3],
            a[4] - b[4],
            a[5] - b[5],
            a[6] - b[6],
            a[7] - b[7],
        ];
        sums = [
            sums[0] + d[0] * d[0],
            sums[1] + d[1] * d[1],
            sums[2] + d[2] * d[2],
            sums[3] + d[3] * d[3],
            sums[4] + d[4] * d[4],
            sums[5] + d[5] * d[5],
            sums[6] + d[6] * d[6],
            sums[7] + d[7] * d[7],
        ];
    }
    sums.iter().sum()
}

/// The nearest centroid to `point` and its squared distance; the lowest
/// index wins a tie.
fn nearest(point: &[f64; PIXELS], centroids: &[[f64; PIXELS]]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (cluster, centroid) in centroids.iter().enumerate() {
        let distance = squared_distance(point, centroid);
        if distance < best.1 {
            best = (cluster, distance);
        }
    }
    best
}

/// One assignment of `pixels` (784 an image) with their `labels`: the
/// `ROW`s of every cluster, one after the other, and the sum of squared
/// distances.
fn assign(pixels: &[u8], labels: &[u8], centroids: &[[f64; PIXELS]]) -> (Vec<f64>, f64) {
    let mut rows = vec![0.0; centroids.len() * ROW];
    let mut inertia = 0.0;
    let mut point = [0.0; PIXELS];
    for (image, &label) in pixels.chunks_exact(PIXELS).zip(labels) {
        for (x, &pixel) in point.iter_mut().zip(image) {
            *x = f64::from(pixel);
        }
        let (cluster, distance) = nearest(&point, centroids);
        inertia += distance;
        let row = &mut rows[cluster * ROW..][..ROW];
        for (sum, x) in row[..PIXELS].iter_mut().zip(&point) {
            *sum += x;
        }
        row[COUNT] += 1.0;
        row[CLASS_COUNTS + usize::from(label)] += 1.0;
    }
    (rows, inertia)
}

/// The next centroids, each cluster's mean (an empty cluster keeps its
/// centroid), and the largest distance a centroid moved.
fn update(centroids: &[[f64; PIXELS]], rows: &[f64]) -> (Vec<[f64; PIXELS]>, f64) {
    let mut movement: f64 = 0.0;
    let next = centroids
        .iter()
        .zip(rows.chunks_exact(ROW))
        .map(|(old, row)| {
            let count = row[COUNT];
            if count == 0.0 {
                return *old;
            }
            let mut new = [0.0; PIXELS];
            for (x, sum) in new.iter_mut().zip(&row[..PIXELS]) {
                *x = sum / count;
            }
            movement = movement.max(squared_distance(old, &new).sqrt());
            new
        })
        .collect();
    (next, movement)
}

/// What one iteration found, as task 0 publishes it to the others.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Step {
    /// The largest distance a centroid moved.
    movement: f64,
    /// The sum of squared distances from each image to the centroid it was
    /// assigned to.
    inertia: f64,
    /// The images of each cluster.
    sizes: Vec<u64>,
    /// Per cluster, the images of each class.
    classes: Vec<Vec<u64>>,
    /// Whether this was the last iteration.
    stop: bool,
}

impl Step {
    fn new(rows: &[f64], movement: f64, inertia: f64, stop: bool) -> Self {
        let rows = rows.chunks_exact(ROW);
        Self {
            movement,
            inertia,
            sizes: rows.clone().map(|row| row[COUNT] as u64).collect(),
            classes: rows
                .map(|row| row[CLASS_COUNTS..].iter().map(|&n| n as u64).collect())
                .collect(),
            stop,
        }
    }
}

/// What a task is told: where the images are, which part is its own, and
/// when to stop.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Task {
    data: PathBuf,
    images: usize,
    task: usize,
    tasks: usize,
    clusters: usize,
    max_iterations: usize,
    tolerance: f64,
}

/// What a task returns: every step, and the seconds from the moment all
/// tasks had their images to the end of the last iteration.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Run {
    steps: Vec<Step>,
    seconds: f64,
}

fn cluster(task: Task, ctx: &TaskContext) -> FnResult<Run> {
    let state = ctx.state();
    let centroids = state.blob(CENTROIDS);
    let sums = state.map::<usize, Vec<f64>>(SUMS);
    let inertia = state.sum(INERTIA);
    let barrier = state.barrier(ITERATION, u32::try_from(task.tasks)?);

    let loaded = fashion::load_part(&task.data, task.images, task.task, task.tasks);
    let (pixels, labels) = fashion::all_loaded(&barrier, &state.list(ERRORS), task.task, loaded)?;

    let started = Instant::now();
    let mut steps = Vec::new();
    for iteration in 0..task.max_iterations {
        let current = as_points(&fashion::read_f64s(
            &centroids,
            CENTROIDS,
            task.clusters * PIXELS,
        )?);
        let (rows, distances) = assign(&pixels, &labels, &current);
        for (cluster, row) in rows.chunks_exact(ROW).enumerate() {
            if row[COUNT] > 0.0 {
                sums.merge(cluster, row.to_vec(), add_rows)?;
            }
        }
        inertia.add(distances)?;
        barrier.wait_timeout(fashion::PATIENCE)?;

        let step = state.future::<Step>(&format!("kmeans/step/{iteration}"));
        if task.task == 0 {
            let mut rows = vec![0.0; task.clusters * ROW];
            for (cluster, row) in sums.snapshot()? {
                rows[cluster * ROW..][..ROW].copy_from_slice(&row);
            }
            sums.delete()?;
            let (next, movement) = update(&current, &rows);
            fashion::write_f64s(&centroids, next.as_flattened())?;
            let stop = movement < task.tolerance || iteration + 1 == task.max_iterations;
            step.set(&Step::new(&rows, movement, inertia.set(0.0)?, stop))?;
        }
        let step = step.get_timeout(fashion::PATIENCE)?;
        let stop = step.stop;
        steps.push(step);
        if stop {
            break;
        }
    }
    Ok(Run {
        steps,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn add_rows(mut total: Vec<f64>, part: Vec<f64>) -> Vec<f64> {
    for (total, part) in total.iter_mut().zip(part) {
        *total += part;
    }
    total
}

static CLUSTER: Function<Task, Run> = Function::new("kmeans::cluster", cluster);
cloudbutton::register!(CLUSTER);

/// Images `0, n/k, 2n/k, ...` as points.
fn initial_centroids(split: &Split, clusters: usize) -> anyhow::Result<Vec<[f64; PIXELS]>> {
    (0..clusters)
        .map(|cluster| {
            let index = cluster * split.len() / clusters;
            let pixels = split.images.read(index..index + 1)?;
            Ok(std::array::from_fn(|i| f64::from(pixels[i])))
        })
        .collect()
}

fn as_points(values: &[f64]) -> Vec<[f64; PIXELS]> {
    values.as_chunks::<PIXELS>().0.to_vec()
}

/// A finished clustering, from either mode.
struct Fit {
    steps: Vec<Step>,
    seconds: f64,
    centroids: Vec<[f64; PIXELS]>,
    tasks: usize,
}

/// k-means of the Fashion-MNIST training images, in parallel tasks that
/// meet in shared state.
#[derive(Parser)]
struct Args {
    /// The folder with the IDX files (scripts/fetch-data.sh fashion-mnist).
    #[arg(long, default_value = fashion::DEFAULT_DIR)]
    data: PathBuf,
    /// How many clusters.
    #[arg(short = 'k', long, default_value_t = 10)]
    clusters: usize,
    /// How many tasks; by default one per worker.
    #[arg(long)]
    tasks: Option<usize>,
    /// Stop after this many iterations.
    #[arg(long, default_value_t = 300)]
    max_iterations: usize,
    /// Stop once no centroid moves this far (in pixel values).
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f64,
    /// Run the same steps in one loop on this thread, without executor or
    /// shared state.
    #[arg(long)]
    reference: bool,
    /// Print the result, centroids included, as JSON.
    #[arg(long)]
    json: bool,
    /// Log more (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cloudbutton::logging::init(args.verbose);
    cloudbutton::report::exit(run(&args))
}

fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.clusters > 0, "--clusters must be at least 1");
    anyhow::ensure!(
        args.max_iterations > 0,
        "--max-iterations must be at least 1"
    );
    let fit = if args.reference {
        reference(args)?
    } else {
        parallel(args)?
    };
    let mut stdout = io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut stdout, &to_json(args, &fit))?;
        writeln!(stdout)?;
    } else {
        print(&mut stdout, args, &fit)?;
    }
    stdout.flush()?;
    Ok(())
}

fn parallel(args: &Args) -> anyhow::Result<Fit> {
    // A task that ran again would meet the others at the wrong round.
    let mut executor = FunctionExecutor::new()?;
    executor.set_retries(0);
    let tasks = args.tasks.unwrap_or_else(|| executor.workers());
    fashion::check_tasks(tasks, executor.workers())?;

    let split = Split::train(&args.data)?;
    anyhow::ensure!(
        args.clusters <= split.len() && tasks <= split.len(),
        "{} images cannot make {} clusters in {tasks} tasks",
        split.len(),
        args.clusters
    );
    let initial = initial_centroids(&split, args.clusters)?;
    let state = executor.state();
    fashion::write_f64s(&state.blob(CENTROIDS), initial.as_flattened())?;

    let inputs: Vec<Task> = (0..tasks)
        .map(|task| Task {
            data: args.data.clone(),
            images: split.len(),
            task,
            tasks,
            clusters: args.clusters,
            max_iterations: args.max_iterations,
            tolerance: args.tolerance,
        })
        .collect();
    let job = executor.map(&CLUSTER, inputs)?;
    job.wait(Wait::All, None);
    let summary = job.summary();
    let run = job
        .get_result()?
        .into_iter()
        .next()
        .context("the job returned nothing")?;
    let centroids = fashion::read_f64s(&state.blob(CENTROIDS), CENTROIDS, args.clusters * PIXELS)
        .map_err(|error| anyhow::anyhow!(error))?;
    to_stderr(&format!("{summary}\n"));
    Ok(Fit {
        steps: run.steps,
        seconds: run.seconds,
        centroids: as_points(&centroids),
        tasks,
    })
}

fn reference(args: &Args) -> anyhow::Result<Fit> {
    let split = Split::train(&args.data)?;
    anyhow::ensure!(
        args.clusters <= split.len(),
        "{} images cannot make {} clusters",
        split.len(),
        args.clusters
    );
    let mut centroids = initial_centroids(&split, args.clusters)?;
    let (pixels, labels) = split.read(0..split.len())?;

    let started = Instant::now();
    let mut steps = Vec::new();
    for iteration in 0..args.max_iterations {
        let (rows, inertia) = assign(&pixels, &labels, &centroids);
        let (next, movement) = update(&centroids, &rows);
        centroids = next;
        let stop = movement < args.tolerance || iteration + 1 == args.max_iterations;
        steps.push(Step::new(&rows, movement, inertia, stop));
        if stop {
            break;
        }
    }
    Ok(Fit {
        steps,
        seconds: started.elapsed().as_secs_f64(),
        centroids,
        tasks: 1,
    })
}

fn print(out: &mut impl Write, args: &Args, fit: &Fit) -> io::Result<()> {
    let last = fit.steps.last().expect("at least one iteration");
    let images: u64 = last.sizes.iter().sum();
    let how = if args.reference {
        "the reference, one thread".to_owned()
    } else {
        format!("{} tasks in shared state", fit.tasks)
    };
    writeln!(
        out,
        "k-means of {images} images into {} clusters ({how})",
        args.clusters
    )?;
    let iterations = fit.steps.len();
    let stopped = if last.movement < args.tolerance {
        "converged"
    } else {
        "stopped"
    };
    writeln!(
        out,
        "{stopped} after {iterations} iterations (largest centroid movement {:.3e}, \
         tolerance {:e})",
        last.movement, args.tolerance
    )?;
    writeln!(
        out,
        "time per iteration  {:.1} ms ({:.3} s in all)",
        fit.seconds / iterations as f64 * 1e3,
        fit.seconds
    )?;
    writeln!(out, "inertia             {:.6e}", last.inertia)?;
    writeln!(
        out,
        "purity              {:.4} (images in their cluster's most common class)",
        purity(last)
    )?;
    writeln!(out, "cluster  images  most common class")?;
    for (cluster, (size, classes)) in last.sizes.iter().zip(&last.classes).enumerate() {
        let (class, count) = most_common(classes);
        let share = 100.0 * count as f64 / (*size).max(1) as f64;
        writeln!(
            out,
            "{cluster:>7}  {size:>6}  {} ({share:.1}%)",
            CLASS_NAMES[class]
        )?;
    }
    Ok(())
}

fn most_common(classes: &[u64]) -> (usize, u64) {
    classes
        .iter()
        .copied()
        .enumerate()
        .max_by_key(|&(class, count)| (count, std::cmp::Reverse(class)))
        .unwrap_or((0, 0))
}

fn purity(step: &Step) -> f64 {
    let images: u64 = step.sizes.iter().sum();
    let agreeing: u64 = step
        .classes
        .iter()
        .map(|classes| most_common(classes).1)
        .sum();
    agreeing as f64 / images.max(1) as f64
}

fn to_json(args: &Args, fit: &Fit) -> serde_json::Value {
    let last = fit.steps.last().expect("at least one iteration");
    let iterations = fit.steps.len();
    serde_json::json!({
        "mode": if args.reference { "reference" } else { "shared-state" },
        "tasks": fit.tasks,
        "clusters": args.clusters,
        "images": last.sizes.iter().sum::<u64>(),
        "iterations": iterations,
        "converged": last.movement < args.tolerance,
        "seconds": fit.seconds,
        "seconds_per_iteration": fit.seconds / iterations as f64,
        "movements": fit.steps.iter().map(|step| step.movement).collect::<Vec<_>>(),
        "inertias": fit.steps.iter().map(|step| step.inertia).collect::<Vec<_>>(),
        "inertia": last.inertia,
        "sizes": last.sizes,
        "classes": last.classes,
        "purity": purity(last),
        "centroids": fit.centroids.iter().map(|c| c.to_vec()).collect::<Vec<_>>(),
    })
}
