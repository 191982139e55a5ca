//! Maps over objects in S3, against a real S3-compatible server on loopback
//! (moto, which `scripts/test.sh` starts and names in
//! `CLOUDBUTTON_TEST_S3_ENDPOINT`): the same data gives the same results
//! from a bucket as from a local directory.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::Bytes;
use cloudbutton_executor::{
    Chunk, FnResult, Function, FunctionExecutor, ObjectInput, ReduceBy, TaskContext, Wait,
};
use cloudbutton_storage::{S3Options, Storage, StorageOptions, block_on};

mod support;
use support::{gather, local_dir};

/// A secret key no message may ever show.
const SECRET: &str = "cb-secret-0c4b8e61d3";

fn endpoint() -> String {
    std::env::var("CLOUDBUTTON_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CLOUDBUTTON_TEST_S3_ENDPOINT is not set: run the S3 tests through scripts/test.sh, \
             which starts an S3-compatible server on loopback, or start one by hand with \
             `eval \"$(scripts/s3-test-server.sh start)\"`"
        )
    })
}

fn storage_options() -> StorageOptions {
    StorageOptions {
        s3: S3Options {
            endpoint: Some(endpoint()),
            region: Some("us-east-1".into()),
            access_key_id: Some("cloudbutton-test".into()),
            secret_access_key: Some(SECRET.into()),
            allow_http: Some(true),
            ..S3Options::default()
        },
    }
}

fn executor() -> FunctionExecutor {
    let mut config = support::config(4);
    config.storage = storage_options();
    FunctionExecutor::with_config(config).unwrap()
}

/// Creates a bucket unique to this test and run (object_store cannot create
/// buckets, so by a plain HTTP request), writes `objects` into it, and
/// returns its URL.
fn bucket(name: &str, objects: &[(&str, &[u8])]) -> String {
    let name = format!("{name}-{}", std::process::id());
    let endpoint = endpoint();
    let authority = endpoint
        .strip_prefix("http://")
        .expect("the test server is reached over http://")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "PUT /{name} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert_eq!(
        response.split(' ').nth(1),
        Some("200"),
        "creating bucket {name}: {response}"
    );

    let url = format!("s3://{name}");
    let storage = Storage::connect(&url, &storage_options()).unwrap();
    for (key, data) in objects {
        block_on(storage.put(key, Bytes::copy_from_slice(data))).unwrap();
    }
    url
}

/// Text objects of every awkward shape: lines that end in `\r\n`, a last
/// line without its newline, an empty object, one long enough to span many
/// windows of the chunk reader.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let words = [
        "map",
        "reduce",
        "chunk",
        "bucket",
        "s3",
        "partition",
        "task",
    ];
    let long: String = (0..1_500)
        .map(|n| {
            format!(
                "{} {}\n",
                words[n % words.len()],
                words[(n * 7 + 3) % words.len()]
            )
        })
        .collect();
    [
        ("text/a.txt", "map reduce map\nchunk\n".to_string()),
        (
            "text/b.txt",
            "s3 s3\r\nbucket task\r\nno newline at end".to_string(),
        ),
        ("text/empty.txt", String::new()),
        ("text/long.txt", long),
        ("text/sub/c.txt", "partition\n\n\nmap\n".to_string()),
    ]
    .into_iter()
    .map(|(key, text)| (key.to_string(), text.into_bytes()))
    .collect()
}

fn as_refs(objects: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    objects
        .iter()
        .map(|(key, data)| (key.as_str(), data.as_slice()))
        .collect()
}

type Counts = BTreeMap<String, u64>;

fn count_words(chunk: Chunk, ctx: &TaskContext) -> FnResult<Counts> {
    let mut counts = Counts::new();
    for line in chunk.open(ctx)?.lines() {
        for word in line?.split_whitespace() {
            *counts.entry(word.to_owned()).or_default() += 1;
        }
    }
    Ok(counts)
}
static COUNT_WORDS: Function<Chunk, Counts> = Function::new("s3-input::count-words", count_words);
cloudbutton_executor::register!(COUNT_WORDS);

fn merge_counts(parts: Vec<Counts>, _: &TaskContext) -> FnResult<Counts> {
    let mut total = Counts::new();
    for part in parts {
        for (word, count) in part {
            *total.entry(word).or_default() += count;
        }
    }
    Ok(total)
}
static MERGE_COUNTS: Function<Vec<Counts>, Counts> =
    Function::new("s3-input::merge-counts", merge_counts);
cloudbutton_executor::register!(MERGE_COUNTS);

fn lines(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<String>> {
    Ok(chunk.open(ctx)?.lines().collect::<Result<_, _>>()?)
}
static LINES: Function<Chunk, Vec<String>> = Function::new("s3-input::lines", lines);
cloudbutton_executor::register!(LINES);

/// Word counts of `text`, read without any chunking.
fn reference_counts(text: &[u8]) -> Counts {
    let mut counts = Counts::new();
    for word in String::from_utf8_lossy(text).split_whitespace() {
        *counts.entry(word.to_owned()).or_default() += 1;
    }
    counts
}

#[test]
fn word_count_over_a_bucket_equals_the_local_one() {
    let objects = corpus();
    let store = bucket("word-count", &as_refs(&objects));
    let dir = local_dir(&as_refs(&objects));
    let local = format!("{}/text/", dir.path().display());
    let executor = executor();

    let per_object: Vec<Counts> = objects
        .iter()
        .map(|(_, data)| reference_counts(data))
        .collect();
    let expected = merge_counts(per_object.clone(), &TaskContext::detached(0)).unwrap();

    // Each chunk is a few requests to the server: the smallest size here
    // makes a couple of hundred tasks.
    for chunk_size in [97, 4_000, 1 << 20] {
        let remote = ObjectInput::new([format!("{store}/text/")]).chunk_size(chunk_size);
        let on_disk = ObjectInput::new([local.clone()]).chunk_size(chunk_size);

        let all = executor
            .map_reduce(&COUNT_WORDS, remote.clone(), &MERGE_COUNTS, ReduceBy::All)
            .unwrap()
            .get_result()
            .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0], expected, "chunks of {chunk_size}");

        let by_object = executor
            .map_reduce(
                &COUNT_WORDS,
                remote.clone(),
                &MERGE_COUNTS,
                ReduceBy::Object,
            )
            .unwrap()
            .get_result()
            .unwrap();
        assert_eq!(by_object, per_object, "chunks of {chunk_size}");
        let local_by_object = executor
            .map_reduce(
                &COUNT_WORDS,
                on_disk.clone(),
                &MERGE_COUNTS,
                ReduceBy::Object,
            )
            .unwrap()
            .get_result()
            .unwrap();
        assert_eq!(by_object, local_by_object, "chunks of {chunk_size}");

        // Record by record, in the same order.
        assert_eq!(
            gather(&executor, &LINES, remote),
            gather(&executor, &LINES, on_disk),
            "chunks of {chunk_size}"
        );
    }
}

#[test]
fn globs_and_lists_of_objects_select_the_same_records() {
    let objects = corpus();
    let store = bucket("selection", &as_refs(&objects));
    let dir = local_dir(&as_refs(&objects));
    let executor = executor();

    let remote = ObjectInput::new([
        format!("{store}/text/*.txt"),
        format!("{store}/text/sub/c.txt"),
        format!("{store}/text/a.txt"),
    ])
    .chunk_size(100);
    let on_disk = ObjectInput::new([
        format!("{}/text/*.txt", dir.path().display()),
        format!("{}/text/sub/c.txt", dir.path().display()),
    ])
    .chunk_size(100);
    let lines = gather(&executor, &LINES, remote);
    assert_eq!(lines, gather(&executor, &LINES, on_disk));
    assert_eq!(
        lines.iter().filter(|line| line.as_str() == "chunk").count(),
        1
    );
}

#[test]
fn bytes_read_from_s3_are_counted() {
    let objects = corpus();
    let store = bucket("bytes-read", &as_refs(&objects));
    let executor = executor();
    let size = objects
        .iter()
        .find(|(key, _)| key == "text/long.txt")
        .unwrap()
        .1
        .len() as u64;

    let input = ObjectInput::new([format!("{store}/text/long.txt")]).chunk_size(2 << 10);
    let job = executor
        .map_reduce(&COUNT_WORDS, input, &MERGE_COUNTS, ReduceBy::All)
        .unwrap();
    job.wait(Wait::All, None);

    let map_stats = job.map_stats();
    assert_eq!(map_stats.len() as u64, size.div_ceil(2 << 10));
    for task in &map_stats {
        assert!(task.bytes_read > 0, "task {} read nothing", task.index);
    }
    let summary = job.summary();
    assert!(
        summary.bytes_read >= size,
        "{} of {size} bytes",
        summary.bytes_read
    );
    assert!(
        summary.bytes_read < 3 * size,
        "{} of {size} bytes",
        summary.bytes_read
    );
}

#[test]
fn a_missing_object_or_bucket_fails_naming_it_without_the_secret() {
    let store = bucket("missing", &[("present.txt", b"x\n")]);
    let executor = executor();

    let url = format!("{store}/absent.txt");
    let Err(error) = executor.map(&LINES, ObjectInput::new([url.clone()])) else {
        panic!("a missing object is an error");
    };
    let shown = format!("{error}\n{error:?}");
    assert!(shown.contains(&url), "{shown}");
    assert!(!shown.contains(SECRET), "the secret key shows in: {shown}");

    let nowhere = format!("s3://never-created-{}/data/", std::process::id());
    let Err(error) = executor.map(&LINES, ObjectInput::new([nowhere.clone()])) else {
        panic!("a missing bucket is an error");
    };
    let shown = format!("{error}\n{error:?}");
    assert!(
        shown.contains(&nowhere) && shown.contains("NoSuchBucket"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "the secret key shows in: {shown}");
}
