//! The S3 store against a real S3-compatible server on loopback: moto, which
//! `scripts/test.sh` starts (see `scripts/s3-test-server.sh`) and whose URL it
//! passes in `CLOUDBUTTON_TEST_S3_ENDPOINT`.
//!
//! Each test works in a bucket of its own, so they run in parallel, and
//! against a server left running between runs.

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::Bytes;
use cloudbutton_storage::{
    Location, MULTIPART_THRESHOLD, RangeReader, S3Options, Storage, StorageError, StorageOptions,
    block_on,
};
use futures::TryStreamExt;

/// A secret key no message may ever show.
const SECRET: &str = "cb-secret-5f1e9d2a7c";

fn endpoint() -> String {
    std::env::var("CLOUDBUTTON_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CLOUDBUTTON_TEST_S3_ENDPOINT is not set: run the S3 tests through scripts/test.sh, \
             which starts an S3-compatible server on loopback, or start one by hand with \
             `eval \"$(scripts/s3-test-server.sh start)\"`"
        )
    })
}

fn options() -> StorageOptions {
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

/// A bucket name unique to this test and this run.
fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Creates the bucket `name` by a plain HTTP request (object_store cannot
/// create buckets), and connects to it.
fn bucket(name: &str) -> Storage {
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
    let status = response.split(' ').nth(1);
    assert_eq!(status, Some("200"), "creating bucket {name}: {response}");

    Storage::connect(&format!("s3://{name}"), &options()).unwrap()
}

/// The keys `location` selects, with the store it is in.
fn list(location: &str) -> Result<Vec<String>, StorageError> {
    let location = Location::parse(location)?;
    let storage = Storage::connect(location.store_url(), &options())?;
    let objects = block_on(storage.list(location.selector()))?;
    Ok(objects.into_iter().map(|object| object.key).collect())
}

/// Every message an error shows: its text, its debug form, and its causes.
fn messages(error: &StorageError) -> String {
    let mut shown = format!("{error}\n{error:?}");
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        shown.push_str(&format!("\n{error}"));
        cause = error.source();
    }
    assert!(!shown.contains(SECRET), "the secret key shows in: {shown}");
    shown
}

/// `len` bytes that differ from one offset to the next, so that a range
/// read from the wrong place cannot pass.
fn pattern(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect::<Vec<u8>>()
        .into()
}

async fn read_all(storage: &Storage, key: &str) -> Result<Vec<u8>, StorageError> {
    let pieces: Vec<Bytes> = storage.get_stream(key, None).await?.try_collect().await?;
    Ok(pieces.concat())
}

#[test]
fn lists_by_object_prefix_and_glob() {
    let name = unique("listing");
    let storage = bucket(&name);
    let files = [
        ("data/a", "1"),
        ("data/ab", "22"),
        ("data/sub/c.csv", "333"),
        ("data/sub/deeper/d.csv", "4444"),
        ("data/e.csv", ""),
        ("data/.hidden", "h"),
        ("data/.git/config", "h"),
        ("datum/x", "x"),
        ("other/x", "x"),
    ];
    block_on(async {
        for (key, data) in files {
            storage.put(key, Bytes::from(data)).await.unwrap();
        }
    });
    let at = |selection: &str| format!("s3://{name}/{selection}");

    assert_eq!(list(&at("data/a")).unwrap(), ["data/a"]);
    assert_eq!(list(&at("data/ab")).unwrap(), ["data/ab"]);
    let below_data = [
        "data/.git/config",
        "data/.hidden",
        "data/a",
        "data/ab",
        "data/e.csv",
        "data/sub/c.csv",
        "data/sub/deeper/d.csv",
    ];
    assert_eq!(list(&at("data/")).unwrap(), below_data);
    assert_eq!(list(&at("data")).unwrap(), below_data);
    assert_eq!(list(&at("data/*.csv")).unwrap(), ["data/e.csv"]);
    assert_eq!(
        list(&at("data/**/*.csv")).unwrap(),
        ["data/e.csv", "data/sub/c.csv", "data/sub/deeper/d.csv"]
    );
    assert_eq!(list(&at("data/a?")).unwrap(), ["data/ab"]);
    assert_eq!(list(&at("data/.*")).unwrap(), ["data/.hidden"]);
    assert_eq!(
        list(&at("data/*")).unwrap(),
        ["data/.hidden", "data/a", "data/ab", "data/e.csv"]
    );
    assert_eq!(
        list(&at("data/[!.]*")).unwrap(),
        ["data/a", "data/ab", "data/e.csv"]
    );
    assert_eq!(list(&at("d*/x")).unwrap(), ["datum/x"]);
    assert!(list(&at("data/*.txt")).unwrap().is_empty());
    assert!(list(&at("nothing/")).unwrap().is_empty());
    assert_eq!(list(&format!("s3://{name}")).unwrap().len(), 9);

    // Sizes and URLs come with the listing.
    let location = Location::parse(&at("data/sub/")).unwrap();
    let objects = block_on(storage.list(location.selector())).unwrap();
    let found: Vec<(String, u64)> = objects.iter().map(|o| (o.url(), o.size)).collect();
    assert_eq!(
        found,
        [(at("data/sub/c.csv"), 3), (at("data/sub/deeper/d.csv"), 4)]
    );
}

#[test]
fn reads_whole_objects_ranges_and_streams() {
    let storage = bucket(&unique("reading"));
    let data = pattern(300_000);
    block_on(storage.put("blob", data.clone())).unwrap();

    let info = block_on(storage.head("blob")).unwrap();
    assert_eq!((info.key.as_str(), info.size), ("blob", 300_000));

    let ranged = block_on(storage.get_range("blob", 1_000..1_010)).unwrap();
    assert_eq!(ranged, data.slice(1_000..1_010));
    let tail = block_on(storage.get_range("blob", 299_999..300_000)).unwrap();
    assert_eq!(tail, data.slice(299_999..));
    assert!(
        block_on(storage.get_range("blob", 5..5))
            .unwrap()
            .is_empty()
    );

    assert_eq!(block_on(read_all(&storage, "blob")).unwrap(), data);
    let pieces: Vec<Bytes> = block_on(async {
        storage
            .get_stream("blob", Some(70_000..250_001))
            .await?
            .try_collect()
            .await
    })
    .unwrap();
    assert_eq!(pieces.concat(), data.slice(70_000..250_001));

    // Blocking reads in small windows see the same bytes as one request.
    let mut reader = RangeReader::new(storage.clone(), "blob", 123, 200_123, 1_000, None);
    let mut read = Vec::new();
    reader.read_to_end(&mut read).unwrap();
    assert_eq!(read, data.slice(123..200_123));

    // Writing again replaces the object.
    block_on(storage.put("blob", Bytes::from("short"))).unwrap();
    assert_eq!(block_on(read_all(&storage, "blob")).unwrap(), b"short");
    assert_eq!(block_on(storage.head("blob")).unwrap().size, 5);

    // Empty objects exist and read as nothing.
    block_on(storage.put("empty", Bytes::new())).unwrap();
    assert_eq!(block_on(storage.head("empty")).unwrap().size, 0);
    assert!(block_on(read_all(&storage, "empty")).unwrap().is_empty());
}

#[test]
fn large_objects_go_by_multipart_upload() {
    let storage = bucket(&unique("multipart"));
    let size = MULTIPART_THRESHOLD + 3 * 1024 * 1024 + 17;
    let data = pattern(size);

    block_on(storage.put("big/from-bytes", data.clone())).unwrap();
    let written = block_on(storage.put_reader("big/from-reader", &data[..])).unwrap();
    assert_eq!(written, size as u64);

    for key in ["big/from-bytes", "big/from-reader"] {
        assert_eq!(
            block_on(storage.head(key)).unwrap().size,
            size as u64,
            "{key}"
        );
        assert!(block_on(read_all(&storage, key)).unwrap() == data, "{key}");

        // Across the boundary between the two parts.
        let boundary = MULTIPART_THRESHOLD as u64;
        let around = block_on(storage.get_range(key, boundary - 5..boundary + 5)).unwrap();
        assert_eq!(
            around,
            data.slice(MULTIPART_THRESHOLD - 5..MULTIPART_THRESHOLD + 5)
        );
    }
    let listed = list(&format!("{}/big/", storage.store_url())).unwrap();
    assert_eq!(listed, ["big/from-bytes", "big/from-reader"]);
}

#[test]
fn deleted_and_missing_objects_are_not_found_by_url() {
    let name = unique("missing");
    let storage = bucket(&name);
    block_on(storage.put("logs/day1", Bytes::from("x\n"))).unwrap();

    block_on(storage.delete("logs/day1")).unwrap();
    block_on(storage.delete("logs/day1")).unwrap();
    assert!(list(&format!("s3://{name}/logs/")).unwrap().is_empty());

    let url = format!("s3://{name}/logs/day1");
    let errors = [
        block_on(storage.head("logs/day1")).unwrap_err(),
        block_on(storage.get_range("logs/day1", 0..1)).unwrap_err(),
        block_on(storage.get_stream("logs/day1", None))
            .err()
            .unwrap(),
        list(&url).unwrap_err(),
    ];
    for error in errors {
        assert!(
            matches!(error, StorageError::NotFound { .. }),
            "{}",
            messages(&error)
        );
        assert!(messages(&error).contains(&url), "{}", messages(&error));
        assert_eq!(error.io_kind(), std::io::ErrorKind::NotFound);
    }
}

#[test]
fn a_missing_bucket_is_named_in_the_error() {
    // moto accepts any credentials, so a missing bucket is the access
    // failure this server can show.
    let name = unique("never-created");
    let storage = Storage::connect(&format!("s3://{name}"), &options()).unwrap();

    let errors = [
        block_on(storage.put("key", Bytes::from("x"))).unwrap_err(),
        block_on(storage.get_range("key", 0..1)).unwrap_err(),
        list(&format!("s3://{name}/prefix/")).unwrap_err(),
        // A HEAD response has no body to say why; listing falls back to the
        // prefix `key/`, whose listing does.
        list(&format!("s3://{name}/key")).unwrap_err(),
    ];
    for error in errors {
        let shown = messages(&error);
        assert!(matches!(error, StorageError::Other { .. }), "{shown}");
        assert!(shown.contains(&format!("s3://{name}/")), "{shown}");
        assert!(shown.contains("NoSuchBucket"), "{shown}");
    }

    let error = block_on(storage.head("key")).unwrap_err();
    assert!(
        matches!(error, StorageError::NotFound { .. }),
        "{}",
        messages(&error)
    );
}

#[test]
fn an_unreachable_endpoint_is_a_clear_error() {
    let mut options = options();
    // Nothing listens on port 9 of loopback (the discard service is long gone).
    options.s3.endpoint = Some("http://127.0.0.1:9".into());
    let storage = Storage::connect("s3://unreachable", &options).unwrap();

    let error = block_on(storage.head("key")).unwrap_err();
    let shown = messages(&error);
    assert!(matches!(error, StorageError::Other { .. }), "{shown}");
    assert!(shown.contains("s3://unreachable/key"), "{shown}");
    assert!(shown.contains("Connection refused"), "{shown}");
}

#[test]
fn plain_http_endpoints_are_refused_unless_allowed() {
    let name = unique("plain-http");
    let mut options = options();
    options.s3.allow_http = None;
    let Err(error) = Storage::connect(&format!("s3://{name}"), &options) else {
        panic!("an http:// endpoint without allow_http must be refused");
    };
    let shown = messages(&error);
    assert!(shown.contains(&format!("s3://{name}")), "{shown}");
    assert!(shown.contains(&endpoint()), "{shown}");
    assert!(shown.contains("allow_http = true"), "{shown}");
}
