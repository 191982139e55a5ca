//! The in-memory store, and connecting to stores that cannot be reached here.

use bytes::Bytes;
use cloudbutton_storage::{
    Location, MULTIPART_THRESHOLD, S3Options, Selector, Storage, StorageError, StorageOptions,
    block_on,
};

fn memory(name: &str) -> Storage {
    Storage::connect(&format!("memory://{name}"), &StorageOptions::default()).unwrap()
}

#[test]
fn connections_to_one_name_share_objects() {
    block_on(memory("shared").put("k", Bytes::from("v"))).unwrap();

    let again = Storage::connect("memory://shared/", &StorageOptions::default()).unwrap();
    assert_eq!(again.store_url(), "memory://shared");
    assert_eq!(block_on(again.get_range("k", 0..1)).unwrap(), "v");

    let other = memory("unshared");
    let error = block_on(other.head("k")).unwrap_err();
    assert!(matches!(error, StorageError::NotFound { .. }), "{error}");
    assert!(error.to_string().contains("memory://unshared/k"), "{error}");
}

#[test]
fn lists_by_object_prefix_and_glob() {
    let storage = memory("listing");
    for key in [
        "data/a",
        "data/ab",
        "data/sub/c.csv",
        "data/e.csv",
        "data/.hidden",
        "x",
    ] {
        block_on(storage.put(key, Bytes::from(key.to_string()))).unwrap();
    }
    let keys = |location: &str| -> Vec<String> {
        let location = Location::parse(location).unwrap();
        let objects = block_on(storage.list(location.selector())).unwrap();
        objects.into_iter().map(|o| o.key).collect()
    };

    assert_eq!(keys("memory://listing/data/a"), ["data/a"]);
    assert_eq!(
        keys("memory://listing/data/"),
        [
            "data/.hidden",
            "data/a",
            "data/ab",
            "data/e.csv",
            "data/sub/c.csv"
        ]
    );
    assert_eq!(
        keys("memory://listing/data"),
        keys("memory://listing/data/")
    );
    assert_eq!(keys("memory://listing/data/*.csv"), ["data/e.csv"]);
    assert_eq!(
        keys("memory://listing/data/*"),
        ["data/.hidden", "data/a", "data/ab", "data/e.csv"]
    );
    assert_eq!(
        keys("memory://listing/data/[!.]*"),
        ["data/a", "data/ab", "data/e.csv"]
    );
    assert_eq!(
        keys("memory://listing/**/*.csv"),
        ["data/e.csv", "data/sub/c.csv"]
    );
    assert_eq!(keys("memory://listing/").len(), 6);

    let error = block_on(storage.list(&Selector::Object("data/nothing".into()))).unwrap_err();
    assert!(
        error.to_string().contains("memory://listing/data/nothing"),
        "{error}"
    );
}

#[test]
fn large_puts_go_in_parts_and_read_back_whole() {
    let storage = memory("large");
    let large: Bytes = (0..MULTIPART_THRESHOLD + 7)
        .map(|i| (i % 241) as u8)
        .collect::<Vec<_>>()
        .into();
    block_on(storage.put("big", large.clone())).unwrap();
    assert_eq!(
        block_on(storage.head("big")).unwrap().size,
        large.len() as u64
    );
    let tail =
        block_on(storage.get_range("big", MULTIPART_THRESHOLD as u64..large.len() as u64)).unwrap();
    assert_eq!(tail, large.slice(MULTIPART_THRESHOLD..));

    let written = block_on(storage.put_reader("streamed", &large[..])).unwrap();
    assert_eq!(written, large.len() as u64);
    assert_eq!(
        block_on(storage.get_range("streamed", 0..large.len() as u64)).unwrap(),
        large
    );

    block_on(storage.delete("big")).unwrap();
    assert!(block_on(storage.head("big")).is_err());
}

#[test]
fn s3_stores_build_without_a_network() {
    let options = StorageOptions {
        s3: S3Options {
            endpoint: Some("http://localhost:9000".into()),
            region: Some("eu-west-1".into()),
            access_key_id: Some("minio".into()),
            secret_access_key: Some("minio-secret".into()),
            session_token: None,
            allow_http: Some(true),
        },
    };
    let location = Location::parse("s3://bucket/key").unwrap();
    let storage = Storage::connect(location.store_url(), &options).unwrap();
    assert_eq!(storage.store_url(), "s3://bucket");
    assert_eq!(storage.url("key"), "s3://bucket/key");
    assert!(!format!("{storage:?}").contains("minio-secret"));

    let defaults = Storage::connect("s3://other-bucket", &StorageOptions::default()).unwrap();
    assert_eq!(defaults.store_url(), "s3://other-bucket");
}

#[test]
fn bad_store_urls_are_errors() {
    for url in ["s3://", "s4://x", "http://host/x", "memory://"] {
        let error = Storage::connect(url, &StorageOptions::default()).unwrap_err();
        assert!(
            matches!(error, StorageError::InvalidUrl { .. }),
            "{url}: {error}"
        );
        assert!(error.to_string().contains(url), "{url}: {error}");
    }
}
