//! `cloudbutton map` end to end: commands and WebAssembly modules over the
//! real corpora, checked against counts made independently of CloudButton.
//!
//! The WebAssembly examples are built by `scripts/build-wasm.sh`, which the
//! test command runs first; `CLOUDBUTTON_WASM_EXAMPLES` names the directory
//! (default `target/wasm`).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{root, run, wasm_example as module};

fn cloudbutton() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloudbutton"));
    command
        .env("CLOUDBUTTON_PROGRESS", "never")
        .env_remove("CLOUDBUTTON_CONFIG")
        .env_remove("CLOUDBUTTON_BACKEND");
    command
}

fn linux_doc() -> PathBuf {
    let path = root().join("data/fetched/linux-doc");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-data.sh linux-doc (scripts/test.sh does)",
        path.display()
    );
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fails(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        !output.status.success(),
        "{command:?} should have failed: {}",
        text(&output.stdout)
    );
    output
}

/// Every file below `dir`, recursively, in order.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

/// Lines that contain `needle`, counted by reading every file here.
fn lines_containing(dir: &Path, needle: &[u8]) -> u64 {
    files(dir)
        .iter()
        .map(|path| {
            let bytes = fs::read(path).unwrap();
            bytes
                .split(|&byte| byte == b'\n')
                .filter(|line| line.windows(needle.len()).any(|window| window == needle))
                .count() as u64
        })
        .sum()
}

#[test]
fn grep_counts_reduced_by_awk_equal_an_independent_count() {
    let corpus = linux_doc();
    let expected = lines_containing(&corpus, b"ERROR");
    assert!(
        expected > 100,
        "the corpus should mention ERROR: {expected}"
    );
    // grep exits with 1 when a chunk has no match: --ok-exit 1 says that
    // is a success.
    let output = run(cloudbutton()
        .args(["map", "--cmd", "grep -c ERROR", "--ok-exit", "1", "--input"])
        .arg(&corpus)
        .args([
            "--chunk-size",
            "4MiB",
            "--reduce-cmd",
            "awk '{s+=$1} END {print s}'",
        ]));
    assert_eq!(text(&output.stdout).trim(), expected.to_string());
    assert!(
        text(&output.stderr).contains("done of"),
        "{}",
        text(&output.stderr)
    );

    // Without it, such a chunk fails its task, and the error says why.
    let strict = fails(
        cloudbutton()
            .args(["map", "--cmd", "grep -c ERROR", "--input"])
            .arg(corpus.join("process"))
            .args(["--reduce-cmd", "awk '{s+=$1} END {print s}'"]),
    );
    let error = text(&strict.stderr);
    assert!(error.contains("exited with code 1"), "{error}");
    assert!(error.contains("--ok-exit"), "{error}");
}

#[test]
fn wasm_word_count_equals_the_reference_count() {
    let corpus = linux_doc();
    let reference = run(Command::new("python3")
        .arg(root().join("scripts/reference-wordcount.py"))
        .arg(&corpus));
    let output = run(cloudbutton()
        .arg("map")
        .arg(module("wordcount.wasm"))
        .arg("--input")
        .arg(&corpus)
        .args(["--chunk-size", "16MiB", "--reduce"])
        .arg(module("merge.wasm")));
    assert!(
        output.stdout == reference.stdout,
        "the WebAssembly word count differs from the reference ({} against {} bytes)",
        output.stdout.len(),
        reference.stdout.len()
    );
}

#[test]
fn outputs_without_a_reducer_are_objects_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    let mut all = String::new();
    for file in ["a.txt", "b.txt"] {
        let body: String = (0..500)
            .map(|line| format!("{file} line {line}\n"))
            .collect();
        fs::write(input.join(file), &body).unwrap();
        all.push_str(&body);
    }
    let out = dir.path().join("out");
    run(cloudbutton()
        .args(["map", "--cmd", "tr a-z A-Z", "--input"])
        .arg(&input)
        .args(["--chunk-size", "1KiB", "--output"])
        .arg(&out));
    let parts = files(&out);
    assert!(parts.len() > 10, "{parts:?}");
    assert!(parts[0].ends_with("part-00000"), "{parts:?}");
    let joined: String = parts
        .iter()
        .map(|part| fs::read_to_string(part).unwrap())
        .collect();
    assert_eq!(joined, all.to_uppercase());

    // To standard output, the same bytes in the same order.
    let printed = run(cloudbutton()
        .args(["map", "--cmd", "tr a-z A-Z", "--quiet", "--input"])
        .arg(&input)
        .args(["--chunk-number", "7"]));
    assert_eq!(text(&printed.stdout), all.to_uppercase());
    assert_eq!(text(&printed.stderr), "");
}

#[test]
fn a_reactor_module_and_a_command_reducer_mix() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    let body: String = (0..10_000).map(|line| format!("line {line}\n")).collect();
    fs::write(&input, body).unwrap();
    let result = dir.path().join("result/total.txt");
    run(cloudbutton()
        .arg("map")
        .arg(module("linecount.wasm"))
        .arg("--input")
        .arg(&input)
        .args([
            "--chunk-size",
            "8KiB",
            "--reduce-cmd",
            "awk '{s+=$1} END {print s}'",
            "--output",
        ])
        .arg(&result));
    assert_eq!(fs::read_to_string(&result).unwrap(), "10000\n");
}

#[test]
fn a_failing_command_names_its_task_input_and_error_and_keeps_the_other_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    fs::write(input.join("good.txt"), "fine\n").unwrap();
    fs::write(input.join("bad.txt"), "BOOM\n").unwrap();
    let out = dir.path().join("out");
    let output = fails(
        cloudbutton()
            .args([
                "map",
                "--cmd",
                "if grep -q BOOM; then echo exploded >&2; exit 7; fi; echo ok",
                "--input",
            ])
            .arg(&input)
            .arg("--output")
            .arg(&out),
    );
    let error = text(&output.stderr);
    assert!(error.contains("1 of 2 tasks failed"), "{error}");
    assert!(error.contains("bad.txt"), "{error}");
    assert!(
        error.contains("code 7") && error.contains("exploded"),
        "{error}"
    );
    // good.txt sorts after bad.txt: its output is the second part.
    assert_eq!(fs::read_to_string(out.join("part-00001")).unwrap(), "ok\n");
    assert!(!out.join("part-00000").exists());
}

#[test]
fn sandbox_and_limits_fail_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    fs::write(&input, "x\n").unwrap();
    let granted = dir.path().join("granted");
    fs::create_dir(&granted).unwrap();
    fs::write(granted.join("inside.txt"), "inside\n").unwrap();
    fs::write(dir.path().join("outside.txt"), "secret\n").unwrap();
    let probe = module("probe.wasm");
    let map = |args: &[&str]| {
        let mut command = cloudbutton();
        command
            .arg("map")
            .arg(&probe)
            .arg("--input")
            .arg(&input)
            .args(args);
        command
    };

    // A granted directory can be read, and nothing outside it.
    let guest = format!("{}:/data", granted.display());
    let inside = run(&mut map(&[
        "--dir",
        &guest,
        "--arg",
        "read",
        "--arg",
        "/data/inside.txt",
    ]));
    assert_eq!(text(&inside.stdout), "inside\n");
    for path in ["/data/../outside.txt", "/etc/passwd"] {
        let escape = fails(&mut map(&["--dir", &guest, "--arg", "read", "--arg", path]));
        let error = text(&escape.stderr);
        assert!(error.contains("exited with code 2"), "{path}: {error}");
        assert!(!text(&escape.stdout).contains("secret"));
    }
    // Without --dir there is no filesystem at all; --dir is read-only
    // unless asked.
    let none = fails(&mut map(&["--arg", "read", "--arg", "/data/inside.txt"]));
    assert!(text(&none.stderr).contains("exited with code 2"));
    let write = fails(&mut map(&[
        "--dir",
        &guest,
        "--arg",
        "write",
        "--arg",
        "/data/new.txt",
    ]));
    assert!(text(&write.stderr).contains("exited with code 2"));
    assert!(!granted.join("new.txt").exists());

    // An infinite loop meets its time limit, a memory bomb its memory limit.
    let started = std::time::Instant::now();
    let looping = fails(&mut map(&["--timeout", "1s", "--arg", "loop"]));
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let error = text(&looping.stderr);
    assert!(error.contains("time limit"), "{error}");
    assert!(error.contains("probe.wasm"), "{error}");
    let bomb = fails(&mut map(&["--memory-limit", "64MiB", "--arg", "alloc"]));
    let error = text(&bomb.stderr);
    assert!(
        error.contains("memory") && error.contains("probe.wasm"),
        "{error}"
    );
    let fuel = fails(&mut map(&["--fuel", "1000000", "--arg", "loop"]));
    assert!(
        text(&fuel.stderr).contains("fuel"),
        "{}",
        text(&fuel.stderr)
    );
}

#[test]
fn bad_modules_and_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    fs::write(&input, "x\n").unwrap();
    let missing = fails(
        cloudbutton()
            .args(["map", "no-such-module.wasm", "--input"])
            .arg(&input),
    );
    assert!(
        text(&missing.stderr).contains("no-such-module.wasm"),
        "{}",
        text(&missing.stderr)
    );
    let junk = dir.path().join("junk.wasm");
    fs::write(&junk, b"this is not WebAssembly").unwrap();
    let malformed = fails(
        cloudbutton()
            .arg("map")
            .arg(&junk)
            .arg("--input")
            .arg(&input),
    );
    assert!(
        text(&malformed.stderr).contains("junk.wasm"),
        "{}",
        text(&malformed.stderr)
    );
    let absent = dir.path().join("absent.txt");
    let no_input = fails(
        cloudbutton()
            .args(["map", "--cmd", "cat", "--input"])
            .arg(&absent),
    );
    assert!(
        text(&no_input.stderr).contains("absent.txt"),
        "{}",
        text(&no_input.stderr)
    );
}

#[test]
fn the_rust_guest_word_count_equals_the_reference_count() {
    // The Rust guest is a committed fixture (scripts/build-rust-guests.sh
    // rebuilds it), a reactor on the cloudbutton-guest crate.
    let corpus = root().join("data/text");
    let reference = run(Command::new("python3")
        .arg(root().join("scripts/reference-wordcount.py"))
        .arg(&corpus));
    let output = run(cloudbutton()
        .arg("map")
        .arg(root().join("examples/wasm/rust/wordcount.wasm"))
        .arg("--input")
        .arg(&corpus)
        .args(["--chunk-size", "1MiB", "--reduce"])
        .arg(module("merge.wasm")));
    assert!(
        output.stdout == reference.stdout,
        "the Rust guest's word count differs from the reference"
    );
}

#[test]
fn a_failed_reducer_keeps_the_map_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    fs::write(&input, "a\nb\nc\n").unwrap();
    let output = fails(
        cloudbutton()
            .args(["map", "--cmd", "wc -l", "--chunk-number", "3", "--input"])
            .arg(&input)
            .args(["--reduce-cmd", "echo no >&2; exit 4"]),
    );
    let error = text(&output.stderr);
    let kept = error
        .split("kept in ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no kept directory in: {error}"));
    assert!(error.contains("code 4") && error.contains("no"), "{error}");
    let parts = files(Path::new(kept));
    let counts: Vec<String> = parts
        .iter()
        .map(|part| fs::read_to_string(part).unwrap().trim().to_owned())
        .collect();
    assert_eq!(counts, ["1", "1", "1"]);
    fs::remove_dir_all(kept).unwrap();
}

#[test]
fn wrong_places_and_options_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    fs::write(&input, "a\nb\n").unwrap();
    let ran = dir.path().join("ran");
    let marking = format!("touch {}; cat", ran.display());

    // An input that matches nothing.
    let nothing = fails(
        cloudbutton()
            .args(["map", "--cmd", &marking, "--input"])
            .arg(&input)
            .arg(dir.path().join("typo/")),
    );
    assert!(
        text(&nothing.stderr).contains("typo/ matches no object"),
        "{}",
        text(&nothing.stderr)
    );

    // An output prefix that holds the parts of an earlier run.
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("part-00007"), "old").unwrap();
    let mixed = fails(
        cloudbutton()
            .args(["map", "--cmd", &marking, "--input"])
            .arg(&input)
            .arg("--output")
            .arg(&out),
    );
    assert!(
        text(&mixed.stderr).contains("already holds 1 object"),
        "{}",
        text(&mixed.stderr)
    );

    // A reducer's result cannot go to a directory.
    let into_dir = fails(
        cloudbutton()
            .args(["map", "--cmd", &marking, "--reduce-cmd", "cat", "--input"])
            .arg(&input)
            .arg("--output")
            .arg(&out),
    );
    assert!(
        text(&into_dir.stderr).contains("is a directory"),
        "{}",
        text(&into_dir.stderr)
    );

    // Options for the other kind of function.
    let wasm_option = fails(
        cloudbutton()
            .args(["map", "--cmd", &marking, "--fuel", "10", "--input"])
            .arg(&input),
    );
    assert!(text(&wasm_option.stderr).contains("--fuel applies to WebAssembly"));
    assert!(!ran.exists(), "a task ran before the refusal");
}

#[test]
fn an_interrupted_map_kills_its_running_commands() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    fs::write(&input, "a\n").unwrap();
    let pids = dir.path().join("pids");
    let mut map = cloudbutton()
        .args(["map", "--cmd"])
        .arg(format!("sleep 300 & echo $! >> {}; wait", pids.display()))
        .arg("--input")
        .arg(&input)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while fs::read_to_string(&pids).map_or(true, |text| text.is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sleeper = fs::read_to_string(&pids).unwrap().trim().to_owned();
    Command::new("kill")
        .args(["-INT", &map.id().to_string()])
        .status()
        .unwrap();
    let status = map.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let gone = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while Path::new(&format!("/proc/{sleeper}")).exists() {
        assert!(
            std::time::Instant::now() < gone,
            "the command's sleep outlived the map"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_reader_that_goes_away_stops_the_job_quietly() {
    let corpus = linux_doc();
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    let mut map = cloudbutton()
        .args(["map", "--quiet", "--cmd"])
        .arg(format!("echo >> {}; head -c 100", ran.display()))
        .arg("--input")
        .arg(&corpus)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0; 10];
    std::io::Read::read_exact(map.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(map.stdout.take());
    let output = map.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), "");
    let tasks = files(&corpus).len();
    let started = fs::read_to_string(&ran).unwrap().lines().count();
    assert!(
        started < tasks / 2,
        "{started} of {tasks} tasks ran after the reader left"
    );
}

/// SplitMix64, as `examples/wasm/c/montecarlo.c` samples its points.
fn montecarlo_hits(index: u64, samples: u64) -> u64 {
    let mut state = index;
    let mut next_unit = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    };
    (0..samples)
        .filter(|_| {
            let (x, y) = (next_unit(), next_unit());
            x * x + y * y < 1.0
        })
        .count() as u64
}

#[test]
fn wasm_tasks_pool_counts_in_shared_state_and_meet_at_a_barrier() {
    const TASKS: u64 = 4;
    const SAMPLES: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    for index in 0..TASKS {
        fs::write(
            dir.path().join(format!("task-{index}")),
            format!("{index} {TASKS} {SAMPLES}\n"),
        )
        .unwrap();
    }
    let output = run(cloudbutton()
        .env("CLOUDBUTTON_WORKERS", TASKS.to_string())
        .arg("map")
        .arg(module("montecarlo.wasm"))
        .arg("--input")
        .arg(dir.path())
        .args(["--timeout", "60s"]));

    let hits: u64 = (0..TASKS)
        .map(|index| montecarlo_hits(index, SAMPLES))
        .sum();
    let expected = format!(
        "pi ~ {:.6} from {} samples in {TASKS} tasks\n",
        4.0 * hits as f64 / (TASKS * SAMPLES) as f64,
        TASKS * SAMPLES
    );
    assert_eq!(text(&output.stdout), expected);

    // With fewer threads than parties the barrier cannot open: the tasks
    // that arrived fail at their time limit, naming the barrier's wait.
    let stuck = fails(
        cloudbutton()
            .env("CLOUDBUTTON_WORKERS", "2")
            .arg("map")
            .arg(module("montecarlo.wasm"))
            .arg("--input")
            .arg(dir.path())
            .args(["--timeout", "1s", "-q"]),
    );
    let error = text(&stuck.stderr);
    assert!(error.contains("time limit"), "{error}");
}
