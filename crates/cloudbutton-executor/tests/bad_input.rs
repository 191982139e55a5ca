//! Bad object inputs: missing objects, malformed URLs, objects that change
//! under a running job, functions that fail on one chunk. Each gives an
//! error that names the object or task, and the other tasks' results stay.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cloudbutton_executor::{
    Chunk, ExecutorError, FailureKind, FnResult, Function, InputDescription, ObjectInput, ReduceBy,
    TaskContext, TaskError, TaskState,
};
use cloudbutton_partition::lines;
use cloudbutton_storage::StorageError;

mod support;
use support::{executor, local_dir, memory_store, path_of};

fn chunk_lines(chunk: &Chunk, ctx: &TaskContext) -> FnResult<Vec<String>> {
    Ok(lines(chunk.open(ctx)?).collect::<Result<_, _>>()?)
}

fn read_lines(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<String>> {
    chunk_lines(&chunk, ctx)
}
static LINES: Function<Chunk, Vec<String>> = Function::new("bad-input::lines", read_lines);
cloudbutton_executor::register!(LINES);

/// Holds every task until the test has changed the input under the job.
static GATE_OPEN: AtomicBool = AtomicBool::new(false);

fn gated_lines(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<String>> {
    let start = Instant::now();
    while !GATE_OPEN.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the gate never opened"
        );
        thread::sleep(Duration::from_millis(2));
    }
    chunk_lines(&chunk, ctx)
}
static GATED_LINES: Function<Chunk, Vec<String>> =
    Function::new("bad-input::gated-lines", gated_lines);
cloudbutton_executor::register!(GATED_LINES);

fn fragile(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<String>> {
    if chunk.part() == 1 {
        panic!("cannot handle part 1 of {}", chunk.key());
    }
    chunk_lines(&chunk, ctx)
}
static FRAGILE: Function<Chunk, Vec<String>> = Function::new("bad-input::fragile", fragile);
cloudbutton_executor::register!(FRAGILE);

/// Stalls on the object whose key ends in `slow`, ignoring cancellation.
fn slow_on_one(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<String>> {
    if chunk.key().ends_with("slow") {
        thread::sleep(Duration::from_secs(3));
    }
    chunk_lines(&chunk, ctx)
}
static SLOW_ON_ONE: Function<Chunk, Vec<String>> =
    Function::new("bad-input::slow-on-one", slow_on_one);
cloudbutton_executor::register!(SLOW_ON_ONE);

fn count(chunk: Chunk, ctx: &TaskContext) -> FnResult<u64> {
    Ok(chunk_lines(&chunk, ctx)?.len() as u64)
}
static COUNT: Function<Chunk, u64> = Function::new("bad-input::count", count);
cloudbutton_executor::register!(COUNT);

fn sum(counts: Vec<u64>, _: &TaskContext) -> FnResult<u64> {
    Ok(counts.iter().sum())
}
static SUM: Function<Vec<u64>, u64> = Function::new("bad-input::sum", sum);
cloudbutton_executor::register!(SUM);

fn chunk_input(error: &TaskError) -> (&str, std::ops::Range<u64>) {
    match &error.input {
        InputDescription::Chunk { url, range } => (url, range.clone()),
        other => panic!("not a chunk: {other:?}"),
    }
}

#[test]
fn a_missing_object_is_not_found_and_names_its_url() {
    let executor = executor(2);
    let dir = local_dir(&[("present.txt", b"here\n")]);
    let missing = path_of(&dir, "missing.txt");
    let store = memory_store("missing-objects", &[("present", b"here\n")]);

    for (location, url) in [
        (missing.clone(), format!("file://{missing}")),
        (format!("file://{missing}"), format!("file://{missing}")),
        (format!("{store}/absent"), format!("{store}/absent")),
    ] {
        // Alone, and after an object that exists: the job does not start.
        for locations in [
            vec![location.clone()],
            vec![path_of(&dir, "present.txt"), location.clone()],
            vec![format!("{store}/present"), location.clone()],
        ] {
            let error = executor
                .map(&LINES, ObjectInput::new(locations))
                .unwrap_err();
            match &error {
                ExecutorError::Storage(StorageError::NotFound { url: named }) => {
                    assert_eq!(named, &url);
                }
                other => panic!("{location}: expected NotFound, got {other:?}"),
            }
            assert!(error.to_string().contains(&url), "{error}");
        }
    }

    let error = executor
        .map_reduce(
            &COUNT,
            ObjectInput::new([format!("{store}/absent")]),
            &SUM,
            ReduceBy::Object,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains(&format!("{store}/absent")),
        "{error}"
    );
}

#[test]
fn a_malformed_url_is_rejected_naming_the_input() {
    let executor = executor(2);
    let store = memory_store("malformed-urls", &[("good", b"fine\n")]);

    for (bad, reason) in [
        ("s4://bucket/x", "unsupported scheme `s4://`"),
        ("s3://", "bucket is missing"),
        ("s3:/bucket/key", "two slashes"),
        ("memory://", "store-name"),
        ("file://relative/path", "absolute path"),
        ("s3://bucket/data/[a", "bad glob"),
        ("", "empty"),
    ] {
        for locations in [
            vec![bad.to_owned()],
            vec![format!("{store}/good"), bad.to_owned()],
        ] {
            let error = executor
                .map(&LINES, ObjectInput::new(locations))
                .unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(
                    error,
                    ExecutorError::Storage(StorageError::InvalidUrl { ref input, .. }) if input == bad
                ),
                "{bad}: {error:?}"
            );
            assert!(message.contains(&format!("`{bad}`")), "{message}");
            assert!(message.contains(reason), "{message}");
        }
    }
}

#[test]
fn an_object_truncated_or_deleted_after_planning_fails_only_its_chunks() {
    let executor = executor(2);
    // 100 lines of 10 bytes each.
    let text: String = (0..100).map(|n| format!("line {n:04}\n")).collect();
    let dir = local_dir(&[
        ("shrinks.txt", text.as_bytes()),
        ("vanishes.txt", text.as_bytes()),
        ("stays.txt", text.as_bytes()),
    ]);
    let input = ObjectInput::new([path_of(&dir, "")]).chunk_size(100);

    let job = executor.map(&GATED_LINES, input).unwrap();
    assert_eq!(job.len(), 30);
    // Planned with 1,000 bytes each; now one has 450 and one is gone.
    std::fs::write(dir.path().join("shrinks.txt"), &text.as_bytes()[..450]).unwrap();
    std::fs::remove_file(dir.path().join("vanishes.txt")).unwrap();
    GATE_OPEN.store(true, Ordering::SeqCst);
    let results = job.into_results();

    let shrinks = format!("file://{}", path_of(&dir, "shrinks.txt"));
    let vanishes = format!("file://{}", path_of(&dir, "vanishes.txt"));
    let lines_of = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|n| format!("line {n:04}")).collect()
    };

    // Objects in key order: shrinks (tasks 0-9), stays (10-19), vanishes (20-29).
    for (task, result) in results.iter().enumerate() {
        let part = task % 10;
        match (task / 10, result) {
            // The chunks wholly inside the 450 bytes that are left still read.
            (0, Ok(lines)) if part < 4 => assert_eq!(lines, &lines_of(part * 10..part * 10 + 10)),
            (0, Err(error)) if part >= 4 => {
                let (url, range) = chunk_input(error);
                assert_eq!(url, shrinks);
                let start = part as u64 * 100;
                assert_eq!(range, start..start + 100);
                assert_eq!(error.index, task);
                assert_eq!(error.function, "bad-input::gated-lines");
                let message = error.to_string();
                assert!(
                    message.contains(&format!("{shrinks} bytes {start}..{}", start + 100)),
                    "{message}"
                );
                assert!(matches!(error.kind, FailureKind::Error(_)), "{message}");
            }
            (1, Ok(lines)) => assert_eq!(lines, &lines_of(part * 10..part * 10 + 10)),
            (2, Err(error)) => {
                let (url, range) = chunk_input(error);
                assert_eq!(url, vanishes);
                assert_eq!(range.start, part as u64 * 100);
                let message = error.to_string();
                assert!(message.contains("no object at"), "{message}");
            }
            (_, result) => panic!("task {task}: unexpected {result:?}"),
        }
    }

    // Regression: the chunk in which the shrunken object now ends said only
    // "Wanted range starting at 450, but object was only 450 bytes long",
    // because the range reader asked again past the end of a short read,
    // which stores refuse. It now reports the truncation itself.
    let message = results[4].as_ref().unwrap_err().to_string();
    assert!(
        message.contains(&format!(
            "reading {shrinks} bytes 400..500: the object ended at byte 450, \
             before the end of chunk 400..500; it may have been changed or truncated"
        )),
        "{message}"
    );
    // Chunks that start past the new end are refused by the store, by URL.
    let message = results[5].as_ref().unwrap_err().to_string();
    assert!(
        message.contains(&format!("reading {shrinks} bytes 500..600: ")),
        "{message}"
    );
    assert!(message.contains("450"), "{message}");
}

#[test]
fn a_panic_on_one_chunk_names_task_chunk_function_and_message() {
    let executor = executor(3);
    let store = memory_store(
        "panics",
        &[("a.txt", b"a1\na2\na3\na4\n"), ("b.txt", b"b1\nb2\n")],
    );
    let input = ObjectInput::new([format!("{store}/")]).chunk_size(6);

    let job = executor.map(&FRAGILE, input.clone()).unwrap();
    let results = job.into_results();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap(), &["a1", "a2"]);
    assert_eq!(results[2].as_ref().unwrap(), &["b1", "b2"]);
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.index, 1);
    assert_eq!(error.function, "bad-input::fragile");
    assert_eq!(
        error.input,
        InputDescription::Chunk {
            url: format!("{store}/a.txt"),
            range: 6..12,
        }
    );
    assert_eq!(
        error.kind,
        FailureKind::Panic("cannot handle part 1 of a.txt".into())
    );
    assert_eq!(
        error.to_string(),
        format!(
            "task 1 (bad-input::fragile on {store}/a.txt bytes 6..12) \
             panicked: cannot handle part 1 of a.txt [attempt 1]"
        )
    );

    // The job's error lists only that task.
    let error = executor
        .map(&FRAGILE, input)
        .unwrap()
        .get_result()
        .unwrap_err();
    assert_eq!(error.failures.len(), 1);
    assert!(
        error.to_string().starts_with("1 of 3 tasks failed"),
        "{error}"
    );
}

#[test]
fn a_function_past_its_timeout_on_one_object_fails_alone() {
    let mut executor = executor(2);
    executor.set_timeout(Some(Duration::from_millis(200)));
    let store = memory_store(
        "timeouts",
        &[
            ("1-fast", b"f1\n"),
            ("2-slow", b"s1\n"),
            ("3-fast", b"g1\ng2"),
        ],
    );
    let start = Instant::now();
    let job = executor
        .map(&SLOW_ON_ONE, ObjectInput::new([format!("{store}/")]))
        .unwrap();
    let results = job.into_results();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the driver waited {:?}",
        start.elapsed()
    );

    assert_eq!(results[0].as_ref().unwrap(), &["f1"]);
    assert_eq!(results[2].as_ref().unwrap(), &["g1", "g2"]);
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.kind, FailureKind::Timeout(Duration::from_millis(200)));
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "task 1 (bad-input::slow-on-one on {store}/2-slow bytes 0..3) timed out after 200ms"
        )),
        "{message}"
    );
}

#[test]
fn an_empty_input_list_or_directory_is_an_empty_result() {
    let executor = executor(2);

    let job = executor
        .map(&LINES, ObjectInput::new(Vec::<String>::new()))
        .unwrap();
    assert!(job.is_empty());
    assert_eq!(job.get_result().unwrap(), Vec::<Vec<String>>::new());

    let empty = local_dir(&[]);
    let store = memory_store("empty-prefix", &[("elsewhere/x", b"x\n")]);
    for location in [
        path_of(&empty, ""),
        format!("file://{}/", empty.path().to_str().unwrap()),
        path_of(&empty, "*.txt"),
        format!("{store}/nothing/"),
        format!("{store}/nothing/*.csv"),
    ] {
        let job = executor.map(&LINES, ObjectInput::new([&location])).unwrap();
        assert!(job.is_empty(), "{location}");
        assert_eq!(job.states(), Vec::<TaskState>::new());
        assert_eq!(job.get_result().unwrap(), Vec::<Vec<String>>::new());

        let job = executor
            .map_reduce(
                &COUNT,
                ObjectInput::new([&location]),
                &SUM,
                ReduceBy::Object,
            )
            .unwrap();
        assert_eq!(job.get_result().unwrap(), Vec::<u64>::new(), "{location}");
        let job = executor
            .map_reduce(&COUNT, ObjectInput::new([&location]), &SUM, ReduceBy::All)
            .unwrap();
        assert_eq!(job.get_result().unwrap(), [0], "{location}");
    }
}

#[test]
fn a_directory_holding_only_dotfiles_is_not_empty() {
    let executor = executor(2);
    let dir = local_dir(&[
        (".yamllint", b"extends: relaxed\n"),
        (".env", b"A=1\nB=2\n"),
    ]);

    let job = executor
        .map(&LINES, ObjectInput::new([path_of(&dir, "")]))
        .unwrap();
    assert_eq!(job.len(), 2);
    assert_eq!(
        job.get_result().unwrap(),
        [vec!["A=1", "B=2"], vec!["extends: relaxed"]]
    );
    let job = executor
        .map_reduce(
            &COUNT,
            ObjectInput::new([path_of(&dir, "")]),
            &SUM,
            ReduceBy::All,
        )
        .unwrap();
    assert_eq!(job.get_result().unwrap(), [3]);
}

/// Reported: `mkfifo ff; wordcount ff` waited forever for a writer.
#[test]
fn a_named_pipe_named_as_input_fails_naming_it() {
    let dir = local_dir(&[("a.txt", b"a\n")]);
    let fifo = path_of(&dir, "ff");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {fifo} failed");

    // On a thread of its own, so that a regression fails instead of hanging.
    let (sender, receiver) = std::sync::mpsc::channel();
    let location = fifo.clone();
    thread::spawn(move || {
        let outcome = executor(2)
            .map(&LINES, ObjectInput::new([location]))
            .map(drop);
        sender.send(outcome)
    });
    let error = receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("still blocked after ten seconds")
        .unwrap_err();
    assert!(
        matches!(error, ExecutorError::Storage(StorageError::NotAFile { .. })),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&format!("file://{fifo}")), "{message}");
    assert!(message.contains("not a regular file"), "{message}");

    // Inside a listed directory it is skipped, and the files are read.
    let job = executor(2)
        .map(&LINES, ObjectInput::new([path_of(&dir, "")]))
        .unwrap();
    assert_eq!(job.get_result().unwrap(), [["a"]]);
}

#[test]
fn an_input_that_must_match_names_the_location_that_matches_nothing() {
    let executor = executor(2);
    let dir = local_dir(&[("a.txt", b"a\n")]);
    let typo = path_of(&dir, "typo/");
    let Err(error) = executor.map(
        &LINES,
        ObjectInput::new([path_of(&dir, "a.txt"), typo.clone()]).must_match(),
    ) else {
        panic!("a location that matches nothing fails the job");
    };
    assert_eq!(
        error.to_string(),
        format!("the input {typo} matches no object")
    );

    let job = executor
        .map(
            &LINES,
            ObjectInput::new([path_of(&dir, "*.txt")]).must_match(),
        )
        .unwrap();
    assert_eq!(job.get_result().unwrap(), vec![vec!["a".to_owned()]]);
}
