//! The `cloudbutton` command line, run as a user runs it, on local files
//! named by plain paths and by `file://` URLs.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// Bigger than one part of a multipart upload (16 MiB), and not a multiple
/// of it.
const LARGE: usize = 16 * 1024 * 1024 + 12_345;

/// A scratch directory to run the command in, with no configuration file
/// around it.
struct Scratch {
    dir: TempDir,
}

/// What one run of the command did.
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Asserts success, and returns standard output as text.
    fn ok(&self) -> String {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        self.stdout()
    }

    /// Asserts a failure with status 1 and a single `error:` message, and
    /// returns that message.
    fn failed(&self) -> &str {
        assert_eq!(self.code, Some(1), "stderr: {}", self.stderr);
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        &self.stderr
    }
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("cloudbutton-cli-")
            .tempdir()
            .unwrap();
        Scratch { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The `file://` URL of `relative`, which keeps a trailing `/`.
    fn url(&self, relative: &str) -> String {
        format!("file://{}/{relative}", self.dir.path().display())
    }

    fn write(&self, relative: &str, contents: &[u8]) -> PathBuf {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with_input(args, None)
    }

    /// Runs `cloudbutton ARGS` in the scratch directory, feeding it `input`.
    fn run_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cloudbutton"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CLOUDBUTTON_CONFIG")
            .env_remove("RUST_LOG")
            .env("XDG_CONFIG_HOME", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the cloudbutton binary runs");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            // A command that refuses its arguments exits without reading its
            // input; the write then meets a closed pipe, which is not a failure.
            if let Err(error) = stdin.write_all(input) {
                assert_eq!(error.kind(), io::ErrorKind::BrokenPipe, "{error}");
            }
        }
        drop(stdin);
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        Run {
            code: status.code(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// The names of the entries of the directory `relative`, sorted.
    fn entries(&self, relative: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path(relative))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

/// Bytes that differ from one position to the next, so that a piece written
/// twice or out of place is noticed.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn put_ls_get_round_trip() {
    let scratch = Scratch::new();
    let small = scratch.write("src/small.txt", b"one\ntwo\n");
    let odd = scratch.write("src/a b ü €.txt", "grüße\n".as_bytes());
    let large_data = noise(LARGE);
    let large = scratch.write("src/large.bin", &large_data);
    let store = scratch.url("store/");

    scratch
        .run(&[
            "storage",
            "put",
            small.to_str().unwrap(),
            odd.to_str().unwrap(),
            large.to_str().unwrap(),
            &store,
        ])
        .ok();

    let listing = scratch.run(&["storage", "ls", &store]).ok();
    let expected = format!(
        "{}\t{store}a b ü €.txt\n{LARGE}\t{store}large.bin\n8\t{store}small.txt\n",
        "grüße\n".len()
    );
    assert_eq!(listing, expected);

    // A plain path lists the same objects, by the same URLs.
    assert_eq!(scratch.run(&["storage", "ls", "store"]).ok(), expected);

    fs::create_dir(scratch.path("back")).unwrap();
    for name in ["small.txt", "a b ü €.txt", "large.bin"] {
        let url = format!("{store}{name}");
        scratch.run(&["storage", "get", &url, "back/"]).ok();
        assert_eq!(
            fs::read(scratch.path("back").join(name)).unwrap(),
            fs::read(scratch.path("src").join(name)).unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        scratch.entries("back"),
        ["a b ü €.txt", "large.bin", "small.txt"],
        "no temporary file is left behind"
    );

    // A file as the destination, and a plain path as the source.
    scratch
        .run(&["storage", "get", "store/large.bin", "copy.bin"])
        .ok();
    assert!(fs::read(scratch.path("copy.bin")).unwrap() == large_data);
}

#[test]
fn put_to_an_object_url_and_from_standard_input() {
    let scratch = Scratch::new();
    let file = scratch.write("in.txt", b"contents\n");

    scratch
        .run(&[
            "storage",
            "put",
            file.to_str().unwrap(),
            &scratch.url("out/renamed.txt"),
        ])
        .ok();
    assert_eq!(
        fs::read(scratch.path("out/renamed.txt")).unwrap(),
        b"contents\n"
    );

    let piped = noise(LARGE);
    scratch
        .run_with_input(&["storage", "put", "-", "out/piped.bin"], Some(&piped))
        .ok();
    assert!(fs::read(scratch.path("out/piped.bin")).unwrap() == piped);

    // Standard input has no name to put it under a prefix.
    let run = scratch.run_with_input(&["storage", "put", "-", "out/"], Some(b"x"));
    assert!(run.failed().contains("standard input"), "{}", run.stderr);
}

#[test]
fn put_is_quiet_unless_verbose() {
    let scratch = Scratch::new();
    let file = scratch.write("in.txt", b"abc");

    let quiet = scratch.run(&["storage", "put", "in.txt", "out/"]);
    assert_eq!(quiet.ok(), "");
    assert_eq!(quiet.stderr, "");

    let verbose = scratch.run(&["storage", "put", "-v", file.to_str().unwrap(), "out/"]);
    assert_eq!(verbose.ok(), "");
    assert!(
        verbose.stderr.contains(&scratch.url("out/in.txt")),
        "{}",
        verbose.stderr
    );
}

#[test]
fn put_goes_on_past_a_missing_file() {
    let scratch = Scratch::new();
    scratch.write("here.txt", b"here");

    let run = scratch.run(&["storage", "put", "gone.txt", "here.txt", "out/"]);
    assert!(run.failed().contains("gone.txt"), "{}", run.stderr);
    assert_eq!(scratch.entries("out"), ["here.txt"]);
}

#[test]
fn get_to_standard_output() {
    let scratch = Scratch::new();
    let data = noise(100_000);
    scratch.write("data/object.bin", &data);
    let url = scratch.url("data/object.bin");

    assert!(scratch.run(&["storage", "get", &url]).stdout == data);
    let run = scratch.run(&["storage", "get", "data/object.bin", "-"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout == data);
    assert_eq!(scratch.entries("."), ["data"]);
}

#[test]
fn ranged_get() {
    let scratch = Scratch::new();
    scratch.write("digits.txt", b"0123456789");
    let url = scratch.url("digits.txt");
    let get = |range: &str| scratch.run(&["storage", "get", "--range", range, &url]);

    assert_eq!(get("2..5").ok(), "234");
    assert_eq!(get("7..").ok(), "789");
    assert_eq!(
        get("8..100").ok(),
        "89",
        "an end past the object stops at its end"
    );
    assert_eq!(get("4..4").ok(), "");
    assert_eq!(get("10..").ok(), "");
    assert!(get("11..").failed().contains(&url));
    assert_eq!(
        get("5..2").code,
        Some(2),
        "a malformed range is a usage error"
    );

    scratch
        .run(&["storage", "get", "--range", "3..6", &url, "part.txt"])
        .ok();
    assert_eq!(fs::read(scratch.path("part.txt")).unwrap(), b"345");
}

#[test]
fn rm_one_object() {
    let scratch = Scratch::new();
    scratch.write("data/a.txt", b"a");
    scratch.write("data/b.txt", b"b");

    assert_eq!(
        scratch
            .run(&["storage", "rm", &scratch.url("data/a.txt")])
            .ok(),
        ""
    );
    assert_eq!(scratch.entries("data"), ["b.txt"]);

    let run = scratch.run(&["storage", "rm", "data/a.txt"]);
    assert!(
        run.failed().contains(&scratch.url("data/a.txt")),
        "{}",
        run.stderr
    );
}

#[test]
fn rm_of_a_prefix_needs_recursive() {
    let scratch = Scratch::new();
    scratch.write("data/a.txt", b"a");
    scratch.write("data/deeper/b.txt", b"b");
    scratch.write("keep.txt", b"k");
    let prefix = scratch.url("data/");

    for location in [prefix.as_str(), "data", "data/*.txt"] {
        let run = scratch.run(&["storage", "rm", location]);
        assert!(run.failed().contains("--recursive"), "{}", run.stderr);
    }
    // Nothing is deleted when one of several locations is refused.
    let run = scratch.run(&["storage", "rm", "keep.txt", "data/"]);
    assert!(run.failed().contains("--recursive"), "{}", run.stderr);
    assert!(scratch.path("keep.txt").exists());
    assert_eq!(
        scratch
            .run(&["storage", "ls", &prefix])
            .ok()
            .lines()
            .count(),
        2
    );

    scratch.run(&["storage", "rm", "-r", &prefix]).ok();
    assert_eq!(scratch.run(&["storage", "ls", &prefix]).ok(), "");
    assert!(scratch.path("keep.txt").exists());
}

#[test]
fn rm_of_a_glob_with_recursive() {
    let scratch = Scratch::new();
    scratch.write("data/a.txt", b"a");
    scratch.write("data/b.csv", b"b");

    scratch
        .run(&["storage", "rm", "--recursive", &scratch.url("data/*.txt")])
        .ok();
    assert_eq!(scratch.entries("data"), ["b.csv"]);
}

#[test]
fn ls_of_globs_and_empty_prefixes() {
    let scratch = Scratch::new();
    scratch.write("logs/2024-01.gz", b"12");
    scratch.write("logs/2024-02.gz", b"345");
    scratch.write("logs/2025-01.gz", b"6");
    fs::create_dir(scratch.path("empty")).unwrap();

    let listing = scratch
        .run(&["storage", "ls", &scratch.url("logs/2024-*.gz")])
        .ok();
    assert_eq!(
        listing,
        format!(
            "2\t{}\n3\t{}\n",
            scratch.url("logs/2024-01.gz"),
            scratch.url("logs/2024-02.gz")
        )
    );

    for empty in ["empty", "empty/", "absent/", "logs/*.txt"] {
        let run = scratch.run(&["storage", "ls", empty]);
        assert_eq!(run.ok(), "", "{empty}");
        assert_eq!(run.stderr, "", "{empty}");
    }

    let long = scratch.run(&["storage", "ls", "-l", "logs/"]).ok();
    assert!(long.ends_with("3 objects, 6 B in total\n"), "{long}");
}

#[test]
fn missing_objects_are_errors_that_name_them() {
    let scratch = Scratch::new();
    scratch.write("present.txt", b"old contents");
    let missing = scratch.url("missing.txt");

    for args in [
        vec!["storage", "ls", missing.as_str()],
        vec!["storage", "ls", "missing.txt"],
        vec!["storage", "get", missing.as_str()],
        vec!["storage", "get", missing.as_str(), "present.txt"],
        vec!["storage", "rm", missing.as_str()],
    ] {
        let run = scratch.run(&args);
        assert!(run.failed().contains(&missing), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(
        fs::read(scratch.path("present.txt")).unwrap(),
        b"old contents",
        "a failed download leaves the destination alone"
    );
    assert_eq!(scratch.entries("."), ["present.txt"]);

    // The objects that exist are still listed.
    let run = scratch.run(&["storage", "ls", "missing.txt", "present.txt"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stdout(),
        format!("12\t{}\n", scratch.url("present.txt"))
    );
}

#[test]
fn malformed_urls_are_explained() {
    let scratch = Scratch::new();
    scratch.write("a.txt", b"a");

    for (url, explanation) in [
        ("s4://x/y", "unsupported scheme `s4://`"),
        ("s3://", "bucket is missing"),
        ("s3:/bucket/key", "two slashes"),
    ] {
        for args in [
            vec!["storage", "ls", url],
            vec!["storage", "get", url],
            vec!["storage", "put", "a.txt", url],
            vec!["storage", "rm", url],
        ] {
            let run = scratch.run(&args);
            let message = run.failed();
            assert!(
                message.contains(url) && message.contains(explanation),
                "{args:?}: {message}"
            );
        }
    }
}

#[test]
fn get_of_a_prefix_is_refused() {
    let scratch = Scratch::new();
    scratch.write("data/a.txt", b"a");

    let run = scratch.run(&["storage", "get", "data/"]);
    assert!(run.failed().contains("one object"), "{}", run.stderr);
}

#[test]
fn version_and_help() {
    let scratch = Scratch::new();
    let version = scratch.run(&["--version"]).ok();
    assert_eq!(
        version,
        format!("cloudbutton {}\n", env!("CARGO_PKG_VERSION"))
    );

    let help = scratch.run(&["storage", "--help"]).ok();
    for command in ["ls", "put", "get", "rm"] {
        assert!(help.contains(command), "{help}");
    }
    assert!(
        scratch
            .run(&["storage", "rm", "--help"])
            .ok()
            .contains("--recursive")
    );
}

#[test]
fn downloads_into_a_missing_directory_fail_cleanly() {
    let scratch = Scratch::new();
    scratch.write("a.txt", b"a");

    let run = scratch.run(&["storage", "get", "a.txt", "nowhere/a.txt"]);
    assert!(run.failed().contains("nowhere"), "{}", run.stderr);
    assert!(!Path::new(&scratch.path("nowhere")).exists());
}
