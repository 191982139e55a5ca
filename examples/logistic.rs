//! One-vs-rest logistic regression on the Fashion-MNIST training images, by
//! tasks that exchange the model and the gradients in shared state.
//!
//! ```text
//! scripts/fetch-data.sh fashion-mnist
//! cargo run --release --example logistic -- [--data DIR] [--tasks N] [--epochs N]
//!     [--learning-rate R] [--momentum M] [--train-images N] [--reference] [--json]
//! ```
//!
//! Ten binary classifiers, one per class against the other nine, on the
//! pixels scaled to [0, 1] and centred on their mean over the training
//! images; an image's prediction is the class whose classifier scores it
//! highest. Training is full-batch gradient descent with a fixed learning
//! rate and heavy-ball momentum (`--momentum 0` for plain gradient descent).
//!
//! The driver stores the model, all zeros, in the shared blob
//! `logistic/model` and maps one task per part of the training images (one
//! per worker by default). Each task reads its own images from the IDX file
//! and merges its pixel sums into the shared map `logistic/pixel-sums`; task
//! 0 publishes their mean in the future `logistic/mean`. Then, every epoch,
//! each task reads the model, computes the gradient of the log loss over its
//! images, puts it in the shared map `logistic/gradients` under its number,
//! and waits at the barrier `logistic/epoch`; task 0 adds the gradients in
//! task order, updates the model, stores it, and publishes the loss in the
//! future `logistic/step/E`, which every task awaits. The driver then reads
//! the model and measures its accuracy on the 10,000 test images.
//!
//! `--reference` runs the same steps in one loop on one thread, without
//! executor or shared state. Its gradients are sums in another order, so its
//! model differs in the last bits, and its accuracy by a few test images.
//!
//! Prints the time per epoch, the training loss (the mean log loss of the
//! ten classifiers), and the accuracy on the test images, overall and per
//! class; `--json` prints the same as one JSON object.

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

/// One classifier: a weight per pixel, then the bias.
const WIDTH: usize = PIXELS + 1;
const BIAS: usize = PIXELS;

/// Running sums that a dot product keeps apart so that its loop vectorises.
const LANES: usize = 8;
const _: () = assert!(PIXELS.is_multiple_of(LANES));

const MODEL: &str = "logistic/model";
const PIXEL_SUMS: &str = "logistic/pixel-sums";
const MEAN: &str = "logistic/mean";
const GRADIENTS: &str = "logistic/gradients";
const EPOCH: &str = "logistic/epoch";
const ERRORS: &str = "logistic/errors";

type Model = Vec<[f64; WIDTH]>;

/// Each pixel's sum over `pixels` (784 an image), and the number of images
/// last. Sums of integers, so exact in any order.
fn pixel_sums(pixels: &[u8]) -> Vec<f64> {
    let mut sums = vec![0.0; PIXELS + 1];
    for image in pixels.chunks_exact(PIXELS) {
        for (sum, &pixel) in sums.iter_mut().zip(image) {
            *sum += f64::from(pixel);
        }
        sums[PIXELS] += 1.0;
    }
    sums
}

/// The mean of each pixel, from [`pixel_sums`].
fn mean(sums: &[f64]) -> Vec<f64> {
    sums[..PIXELS]
        .iter()
        .map(|sum| sum / sums[PIXELS])
        .collect()
}

/// An image's features: its pixels scaled to [0, 1] and centred.
fn features(image: &[u8], mean: &[f64], x: &mut [f64; PIXELS]) {
    for ((x, &pixel), mean) in x.iter_mut().zip(image).zip(mean) {
        *x = (f64::from(pixel) - mean) * (1.0 / 255.0);
    }
}

/// A classifier's score of an image: the dot product plus the bias.
fn score(weights: &[f64; WIDTH], x: &[f64; PIXELS]) -> f64 {
    let mut sums = [0.0; LANES];
    let (w, _) = weights[..PIXELS].as_chunks::<LANES>();
    let (x, _) = x.as_chunks::<LANES>();
    for (w, x) in w.iter().zip(x) {
        // Written out rather than looped over the lanes: the same machine
        // code in a release build, and twice as fast in the debug build
        // that the tests run.
        sums = [
            sums[0] + w[0] * x[0],
            sums[1] + w[1] * x[1],
            sums[2] + w[2] * x[2],
            sums[3] + w[3] * x[3],
            sums[4] + w[4] * x[4],
            sums[5] + w[5] * x[5],
            sums[6] + w[6] * x[6],
            sums[7] + w[7] * x[7],
        ];
    }
    sums.iter().sum::<f64>() + weights[BIAS]
}

/// Adds `factor * x` to a classifier's pixel weights (or their gradient).
fn add_scaled(weights: &mut [f64], factor: f64, x: &[f64; PIXELS]) {
    let (w, _) = weights[..PIXELS].as_chunks_mut::<LANES>();
    let (x, _) = x.as_chunks::<LANES>();
    for (w, x) in w.iter_mut().zip(x) {
        // Written out, as in `score`.
        *w = [
            w[0] + factor * x[0],
            w[1] + factor * x[1],
            w[2] + factor * x[2],
            w[3] + factor * x[3],
            w[4] + factor * x[4],
            w[5] + factor * x[5],
            w[6] + factor * x[6],
            w[7] + factor * x[7],
        ];
    }
}

/// The gradient of the summed log loss of the ten classifiers over
/// `pixels` and `labels`, then that loss and the number of images: `WIDTH`
/// values per class, one class after the other, then the two.
fn gradient(pixels: &[u8], labels: &[u8], model: &Model, mean: &[f64]) -> Vec<f64> {
    let mut gradient = vec![0.0; CLASSES * WIDTH + 2];
    let mut loss = 0.0;
    let mut x = [0.0; PIXELS];
    for (image, &label) in pixels.chunks_exact(PIXELS).zip(labels) {
        features(image, mean, &mut x);
        for (class, (weights, g)) in model
            .iter()
            .zip(gradient.chunks_exact_mut(WIDTH))
            .enumerate()
        {
            let z = score(weights, &x);
            let y = if class == usize::from(label) {
                1.0
            } else {
                0.0
            };
            // log(1 + e^z) - y z, without overflow for large |z|.
            loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z;
            let error = 1.0 / (1.0 + (-z).exp()) - y;
            add_scaled(g, error, &x);
            g[BIAS] += error;
        }
    }
    gradient[CLASSES * WIDTH] = loss;
    gradient[CLASSES * WIDTH + 1] = labels.len() as f64;
    gradient
}

/// One step of gradient descent with heavy-ball momentum, from the summed
/// `gradient` (as [`gradient`] returns it).
fn descend(model: &mut Model, velocity: &mut Model, gradient: &[f64], settings: &Settings) {
    let images = gradient[CLASSES * WIDTH + 1];
    for ((weights, velocity), gradient) in model
        .iter_mut()
        .zip(velocity.iter_mut())
        .zip(gradient.chunks_exact(WIDTH))
    {
        for ((w, v), g) in weights.iter_mut().zip(velocity.iter_mut()).zip(gradient) {
            *v = settings.momentum * *v + g / images;
            *w -= settings.learning_rate * *v;
        }
    }
}

/// The mean log loss of one classifier on one image, from a summed
/// gradient.
fn mean_loss(gradient: &[f64]) -> f64 {
    gradient[CLASSES * WIDTH] / (gradient[CLASSES * WIDTH + 1] * CLASSES as f64)
}

/// The class whose classifier scores `x` highest; the lowest wins a tie.
fn predict(model: &Model, x: &[f64; PIXELS]) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (class, weights) in model.iter().enumerate() {
        let score = score(weights, x);
        if score > best.1 {
            best = (class, score);
        }
    }
    best.0
}

/// Per class: the test images of that class, and how many of them were
/// predicted right.
fn evaluate(split: &Split, model: &Model, mean: &[f64]) -> anyhow::Result<Vec<(u64, u64)>> {
    let (pixels, labels) = split.read(0..split.len())?;
    let mut classes = vec![(0, 0); CLASSES];
    let mut x = [0.0; PIXELS];
    for (image, &label) in pixels.chunks_exact(PIXELS).zip(&labels) {
        features(image, mean, &mut x);
        let class = &mut classes[usize::from(label)];
        class.0 += 1;
        if predict(model, &x) == usize::from(label) {
            class.1 += 1;
        }
    }
    Ok(classes)
}

/// How to train, the same in both modes.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Settings {
    epochs: usize,
    learning_rate: f64,
    momentum: f64,
    /// Train on the first this many training images.
    train_images: usize,
}

/// What a task is told: where the images are, which part is its own, and
/// how to train.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Task {
    data: PathBuf,
    task: usize,
    tasks: usize,
    settings: Settings,
}

/// What a task returns: the training loss of every epoch, and the seconds
/// from the moment all tasks had their images and the mean to the end of
/// the last epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Run {
    losses: Vec<f64>,
    seconds: f64,
}

fn train(task: Task, ctx: &TaskContext) -> FnResult<Run> {
    let state = ctx.state();
    let model_blob = state.blob(MODEL);
    let gradients = state.map::<usize, Vec<f64>>(GRADIENTS);
    let barrier = state.barrier(EPOCH, u32::try_from(task.tasks)?);
    let leader = task.task == 0;
    let settings = &task.settings;

    // The pixel sums go in before the barrier that says every part is
    // loaded, so the leader finds them all there.
    let sums = state.map::<u8, Vec<f64>>(PIXEL_SUMS);
    let loaded = fashion::load_part(&task.data, settings.train_images, task.task, task.tasks);
    if let Ok((pixels, _)) = &loaded {
        sums.merge(0, pixel_sums(pixels), add)?;
    }
    let (pixels, labels) = fashion::all_loaded(&barrier, &state.list(ERRORS), task.task, loaded)?;
    let published_mean = state.future::<Vec<f64>>(MEAN);
    if leader {
        let sums = sums.get(&0)?.ok_or("the pixel sums are missing")?;
        published_mean.set(&mean(&sums))?;
    }
    let mean = published_mean.get_timeout(fashion::PATIENCE)?;

    // Only task 0 updates the model, so only its velocity is used.
    let started = Instant::now();
    let mut velocity = vec![[0.0; WIDTH]; CLASSES];
    let mut losses = Vec::new();
    for epoch in 0..settings.epochs {
        let mut model = as_model(&fashion::read_f64s(&model_blob, MODEL, CLASSES * WIDTH)?);
        gradients.put(&task.task, &gradient(&pixels, &labels, &model, &mean))?;
        barrier.wait_timeout(fashion::PATIENCE)?;

        let step = state.future::<f64>(&format!("logistic/step/{epoch}"));
        if leader {
            let mut parts = gradients.snapshot()?;
            gradients.delete()?;
            parts.sort_by_key(|(task, _)| *task);
            let total = parts
                .into_iter()
                .map(|(_, part)| part)
                .reduce(add)
                .ok_or("no task put its gradient")?;
            descend(&mut model, &mut velocity, &total, settings);
            fashion::write_f64s(&model_blob, model.as_flattened())?;
            step.set(&mean_loss(&total))?;
        }
        losses.push(step.get_timeout(fashion::PATIENCE)?);
    }
    Ok(Run {
        losses,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn add(mut total: Vec<f64>, part: Vec<f64>) -> Vec<f64> {
    for (total, part) in total.iter_mut().zip(part) {
        *total += part;
    }
    total
}

static TRAIN: Function<Task, Run> = Function::new("logistic::train", train);
cloudbutton::register!(TRAIN);

fn as_model(values: &[f64]) -> Model {
    values.as_chunks::<WIDTH>().0.to_vec()
}

/// A trained model, from either mode.
struct Fit {
    losses: Vec<f64>,
    seconds: f64,
    model: Model,
    mean: Vec<f64>,
    tasks: usize,
}

/// One-vs-rest logistic regression on Fashion-MNIST, in parallel tasks that
/// exchange the model and the gradients in shared state.
#[derive(Parser)]
struct Args {
    /// The folder with the IDX files (scripts/fetch-data.sh fashion-mnist).
    #[arg(long, default_value = fashion::DEFAULT_DIR)]
    data: PathBuf,
    /// How many tasks; by default one per worker.
    #[arg(long)]
    tasks: Option<usize>,
    /// Full passes over the training images.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// The step size of gradient descent.
    #[arg(long, default_value_t = 1.0)]
    learning_rate: f64,
    /// How much of the previous step each step keeps (0: plain gradient
    /// descent).
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Train on the first this many training images only; all by default.
    #[arg(long)]
    train_images: Option<usize>,
    /// Run the same steps in one loop on this thread, without executor or
    /// shared state.
    #[arg(long)]
    reference: bool,
    /// Print the result as JSON.
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
    anyhow::ensure!(args.epochs > 0, "--epochs must be at least 1");
    // The executor comes first: in a program started as a worker, it takes
    // over before anything else happens.
    let executor = if args.reference {
        None
    } else {
        Some(FunctionExecutor::new()?)
    };
    let train_split = Split::train(&args.data)?;
    let test_split = Split::test(&args.data)?;
    let train_images = args.train_images.unwrap_or(train_split.len());
    anyhow::ensure!(
        (1..=train_split.len()).contains(&train_images),
        "--train-images must be between 1 and {}",
        train_split.len()
    );
    let settings = Settings {
        epochs: args.epochs,
        learning_rate: args.learning_rate,
        momentum: args.momentum,
        train_images,
    };

    let fit = match executor {
        Some(executor) => parallel(executor, args, settings)?,
        None => reference(&train_split, &settings)?,
    };
    let classes = evaluate(&test_split, &fit.model, &fit.mean)?;
    let mut stdout = io::stdout().lock();
    if args.json {
        let result = to_json(args, train_images, &fit, &classes);
        serde_json::to_writer(&mut stdout, &result)?;
        writeln!(stdout)?;
    } else {
        print(&mut stdout, args, train_images, &fit, &classes)?;
    }
    stdout.flush()?;
    Ok(())
}

fn parallel(
    mut executor: FunctionExecutor,
    args: &Args,
    settings: Settings,
) -> anyhow::Result<Fit> {
    // A task that ran again would meet the others at the wrong round.
    executor.set_retries(0);
    let tasks = args.tasks.unwrap_or_else(|| executor.workers());
    fashion::check_tasks(tasks, executor.workers())?;
    anyhow::ensure!(
        tasks <= settings.train_images,
        "{tasks} tasks for {} images",
        settings.train_images
    );
    let state = executor.state();
    fashion::write_f64s(&state.blob(MODEL), &vec![0.0; CLASSES * WIDTH])?;

    let inputs: Vec<Task> = (0..tasks)
        .map(|task| Task {
            data: args.data.clone(),
            task,
            tasks,
            settings: settings.clone(),
        })
        .collect();
    let job = executor.map(&TRAIN, inputs)?;
    job.wait(Wait::All, None);
    let summary = job.summary();
    let run = job
        .get_result()?
        .into_iter()
        .next()
        .context("the job returned nothing")?;
    let model = fashion::read_f64s(&state.blob(MODEL), MODEL, CLASSES * WIDTH)
        .map_err(|error| anyhow::anyhow!(error))?;
    let mean = state
        .future::<Vec<f64>>(MEAN)
        .try_get()?
        .context("the tasks published no mean")?;
    to_stderr(&format!("{summary}\n"));
    Ok(Fit {
        losses: run.losses,
        seconds: run.seconds,
        model: as_model(&model),
        mean,
        tasks,
    })
}

fn reference(split: &Split, settings: &Settings) -> anyhow::Result<Fit> {
    let (pixels, labels) = split.read(0..settings.train_images)?;
    let mean = mean(&pixel_sums(&pixels));

    let started = Instant::now();
    let mut model = vec![[0.0; WIDTH]; CLASSES];
    let mut velocity = vec![[0.0; WIDTH]; CLASSES];
    let mut losses = Vec::new();
    for _ in 0..settings.epochs {
        let total = gradient(&pixels, &labels, &model, &mean);
        descend(&mut model, &mut velocity, &total, settings);
        losses.push(mean_loss(&total));
    }
    Ok(Fit {
        losses,
        seconds: started.elapsed().as_secs_f64(),
        model,
        mean,
        tasks: 1,
    })
}

fn print(
    out: &mut impl Write,
    args: &Args,
    train_images: usize,
    fit: &Fit,
    classes: &[(u64, u64)],
) -> io::Result<()> {
    let how = if args.reference {
        "the reference, one thread".to_owned()
    } else {
        format!("{} tasks in shared state", fit.tasks)
    };
    let epochs = fit.losses.len();
    writeln!(
        out,
        "one-vs-rest logistic regression on {train_images} images, {epochs} epochs ({how})"
    )?;
    writeln!(
        out,
        "time per epoch  {:.1} ms ({:.3} s in all)",
        fit.seconds / epochs as f64 * 1e3,
        fit.seconds
    )?;
    let loss = fit.losses.last().copied().unwrap_or(f64::NAN);
    writeln!(
        out,
        "training loss   {loss:.4} (mean log loss of the {CLASSES} classifiers)"
    )?;
    let (total, right) = totals(classes);
    writeln!(
        out,
        "test accuracy   {:.4} ({right} of {total} test images)",
        right as f64 / total as f64
    )?;
    for (name, (images, right)) in CLASS_NAMES.iter().zip(classes) {
        let accuracy = *right as f64 / (*images).max(1) as f64;
        writeln!(out, "  {name:<12} {accuracy:.4}")?;
    }
    Ok(())
}

fn totals(classes: &[(u64, u64)]) -> (u64, u64) {
    classes.iter().fold((0, 0), |(images, right), class| {
        (images + class.0, right + class.1)
    })
}

fn to_json(
    args: &Args,
    train_images: usize,
    fit: &Fit,
    classes: &[(u64, u64)],
) -> serde_json::Value {
    let (total, right) = totals(classes);
    let epochs = fit.losses.len();
    serde_json::json!({
        "mode": if args.reference { "reference" } else { "shared-state" },
        "tasks": fit.tasks,
        "train_images": train_images,
        "test_images": total,
        "epochs": epochs,
        "learning_rate": args.learning_rate,
        "momentum": args.momentum,
        "seconds": fit.seconds,
        "seconds_per_epoch": fit.seconds / epochs as f64,
        "losses": fit.losses,
        "loss": fit.losses.last(),
        "accuracy": right as f64 / total as f64,
        "class_accuracy": classes
            .iter()
            .map(|(images, right)| *right as f64 / (*images).max(1) as f64)
            .collect::<Vec<_>>(),
    })
}
