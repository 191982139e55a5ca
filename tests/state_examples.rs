//! The shared-state examples on Fashion-MNIST, as a user runs them: k-means
//! in tasks that meet in shared state equals its one-thread reference to the
//! last bit, logistic regression agrees with its reference to within a few
//! test images, and a missing or damaged data file is named in the error.
//!
//! They read the IDX files that `scripts/fetch-data.sh fashion-mnist` puts in
//! `data/fetched/fashion-mnist` (the test command fetches them). The tests
//! run debug builds, so they cap the iterations and epochs; the defaults run
//! to convergence in release builds.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{example, root, run};

fn fashion_mnist() -> PathBuf {
    let dir = root().join("data/fetched/fashion-mnist");
    assert!(
        dir.join("train-images-idx3-ubyte").exists(),
        "{} is missing: run scripts/fetch-data.sh fashion-mnist (the test command does)",
        dir.display()
    );
    dir
}

/// Runs an example with `--json` and returns what it printed.
fn json(command: &mut Command) -> Value {
    let output = run(command.arg("--json").env("CLOUDBUTTON_PROGRESS", "never"));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{command:?} printed no JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// An example on `workers` threads of the local backend.
fn on_workers(name: &str, data: &Path, workers: usize) -> Command {
    let mut command = Command::new(example(name));
    command
        .arg("--data")
        .arg(data)
        .env("CLOUDBUTTON_BACKEND", "local")
        .env("CLOUDBUTTON_WORKERS", workers.to_string());
    command
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_f64().unwrap())
        .collect()
}

fn assert_close(what: &str, parallel: f64, reference: f64, relative: f64) {
    let scale = parallel.abs().max(reference.abs()).max(1.0);
    assert!(
        (parallel - reference).abs() <= relative * scale,
        "{what}: {parallel} in shared state, {reference} in the reference"
    );
}

#[test]
fn kmeans_in_shared_state_equals_the_one_thread_reference() {
    let data = fashion_mnist();
    // Seven tasks split the 60,000 images unevenly. The centroids move by
    // 2110, 967, 300, 457, 756, 264 and then 123 pixel values: a tolerance
    // of 150 stops both runs after the seventh iteration, through the step
    // that task 0 publishes.
    let settings = ["--max-iterations", "10", "--tolerance", "150"];
    let parallel = json(
        on_workers("kmeans", &data, 7)
            .args(["--tasks", "7"])
            .args(settings),
    );
    let reference = json(
        Command::new(example("kmeans"))
            .arg("--data")
            .arg(&data)
            .arg("--reference")
            .args(settings),
    );

    assert_eq!(parallel["mode"], "shared-state");
    assert_eq!(parallel["tasks"], 7);
    assert_eq!(reference["mode"], "reference");
    assert_eq!(parallel["images"], 60_000);
    assert_eq!(parallel["iterations"], 7);
    assert_eq!(parallel["converged"], true);
    for field in ["iterations", "converged", "sizes", "classes"] {
        assert_eq!(parallel[field], reference[field], "{field} differ");
    }
    let sizes = floats(&parallel["sizes"]);
    assert_eq!(sizes.len(), 10);
    assert_eq!(sizes.iter().sum::<f64>(), 60_000.0);

    // The sums are exact, so the centroids agree to the last bit; 1e-9
    // leaves room only for a change that would make them differ.
    let (ours, theirs) = (
        parallel["centroids"].as_array().unwrap(),
        reference["centroids"].as_array().unwrap(),
    );
    assert_eq!(ours.len(), 10);
    for (cluster, (ours, theirs)) in ours.iter().zip(theirs).enumerate() {
        let (ours, theirs) = (floats(ours), floats(theirs));
        assert_eq!(ours.len(), 784);
        for (pixel, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9,
                "centroid {cluster}, pixel {pixel}: {a} in shared state, {b} in the reference"
            );
        }
    }
    for (field, values) in ["movements", "inertias"].map(|field| (field, &parallel[field])) {
        for (iteration, (a, b)) in floats(values)
            .into_iter()
            .zip(floats(&reference[field]))
            .enumerate()
        {
            assert_close(&format!("{field}[{iteration}]"), a, b, 1e-9);
        }
    }
    assert!(parallel["seconds_per_iteration"].as_f64().unwrap() > 0.0);
}

#[test]
fn logistic_regression_in_shared_state_agrees_with_the_one_thread_reference() {
    let data = fashion_mnist();
    // Ten epochs on a third of the training images keep a debug build
    // quick; they reach 77% on the test images.
    let settings = ["--epochs", "10", "--train-images", "20000"];
    let parallel = json(
        on_workers("logistic", &data, 3)
            .args(["--tasks", "3"])
            .args(settings),
    );
    let reference = json(
        Command::new(example("logistic"))
            .arg("--data")
            .arg(&data)
            .arg("--reference")
            .args(settings),
    );

    assert_eq!(parallel["mode"], "shared-state");
    assert_eq!(parallel["tasks"], 3);
    assert_eq!(parallel["train_images"], 20_000);
    assert_eq!(parallel["test_images"], 10_000);
    assert_eq!(parallel["epochs"], 10);

    // The gradients are float sums in another order, so the models differ
    // in their last bits: the same losses to many digits, and the same
    // accuracy give or take a few test images.
    let (ours, theirs) = (
        parallel["accuracy"].as_f64().unwrap(),
        reference["accuracy"].as_f64().unwrap(),
    );
    assert!(ours > 0.75, "test accuracy {ours} in shared state");
    assert!(theirs > 0.75, "test accuracy {theirs} in the reference");
    assert!(
        (ours - theirs).abs() <= 0.005,
        "test accuracy {ours} in shared state, {theirs} in the reference"
    );
    let losses = floats(&parallel["losses"]);
    assert_eq!(losses.len(), 10);
    assert!(
        losses.last() < losses.first(),
        "the loss did not fall: {losses:?}"
    );
    for (epoch, (a, b)) in losses
        .into_iter()
        .zip(floats(&reference["losses"]))
        .enumerate()
    {
        assert_close(&format!("loss of epoch {epoch}"), a, b, 1e-9);
    }
    for (class, (a, b)) in floats(&parallel["class_accuracy"])
        .into_iter()
        .zip(floats(&reference["class_accuracy"]))
        .enumerate()
    {
        assert!(
            (a - b).abs() <= 0.02,
            "class {class}: accuracy {a} in shared state, {b} in the reference"
        );
    }
}

/// Runs an example that must fail, and returns its standard error.
fn failure(command: &mut Command) -> String {
    let output: Output = command.output().unwrap();
    assert!(!output.status.success(), "{command:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn a_missing_or_damaged_data_file_is_named() {
    let data = fashion_mnist();
    let dir = tempfile::tempdir().unwrap();
    let train_images = dir.path().join("train-images-idx3-ubyte");

    let stderr = failure(
        Command::new(example("kmeans"))
            .arg("--data")
            .arg(dir.path())
            .arg("--reference"),
    );
    assert!(
        stderr.contains(&train_images.display().to_string())
            && stderr.contains("scripts/fetch-data.sh fashion-mnist"),
        "{stderr}"
    );

    // The first 100 images of the real file, under a header that promises
    // 60,000: truncated.
    let real = std::fs::read(data.join("train-images-idx3-ubyte")).unwrap();
    std::fs::write(&train_images, &real[..16 + 100 * 784]).unwrap();
    std::fs::copy(
        data.join("train-labels-idx1-ubyte"),
        dir.path().join("train-labels-idx1-ubyte"),
    )
    .unwrap();
    let stderr = failure(
        on_workers("kmeans", dir.path(), 2)
            .args(["--tasks", "2"])
            .env("CLOUDBUTTON_PROGRESS", "never"),
    );
    assert!(
        stderr.contains(&format!(
            "{} is truncated: 78416 bytes, but its header promises 47040016",
            train_images.display()
        )),
        "{stderr}"
    );

    // Labels where the images should be: the wrong magic number.
    std::fs::copy(data.join("train-labels-idx1-ubyte"), &train_images).unwrap();
    let stderr = failure(
        Command::new(example("logistic"))
            .arg("--data")
            .arg(dir.path())
            .arg("--reference"),
    );
    assert!(
        stderr.contains(&format!(
            "{} is not an IDX file of 28x28 images: magic number 0x00000801, expected 0x00000803",
            train_images.display()
        )),
        "{stderr}"
    );
}

#[test]
fn more_tasks_than_workers_are_refused_before_they_wait_forever() {
    let data = fashion_mnist();
    for name in ["kmeans", "logistic"] {
        let stderr = failure(on_workers(name, &data, 2).args(["--tasks", "3"]));
        assert!(
            stderr.contains("3 tasks cannot all run at once on 2 workers"),
            "{name}: {stderr}"
        );
    }
}
