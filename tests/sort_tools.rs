//! `cloudbutton gensort` and `cloudbutton valsort`, run as a user runs
//! them, on local files: the records the benchmark generator writes, and
//! what the validator says of sorted, unsorted and broken outputs.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use tempfile::TempDir;

const RECORD: usize = 100;

/// What one run of the command did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts success, and returns standard output.
    fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        &self.stdout
    }

    /// Asserts a failure with status 1 and one `error:` line, and returns
    /// that line.
    fn failed(&self) -> &str {
        assert_eq!(self.code, Some(1), "stdout: {}", self.stdout);
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        self.stderr.trim_end()
    }

    /// The value of the `Name: value` line of standard output.
    fn field(&self, name: &str) -> &str {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
            .unwrap_or_else(|| panic!("no {name} in {}", self.stdout))
    }
}

/// Runs `cloudbutton ARGS` in `dir`, with no configuration around it.
fn cloudbutton(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_cloudbutton"))
        .args(args)
        .arg("--quiet")
        .current_dir(dir)
        .env_remove("CLOUDBUTTON_CONFIG")
        .env_remove("RUST_LOG")
        .env("XDG_CONFIG_HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("the cloudbutton binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("cloudbutton-sort-tools-")
        .tempdir()
        .unwrap()
}

/// The records of a gensort file, sorted by their 10-byte keys with the
/// standard library: an independent sort.
fn sorted_records(data: &[u8]) -> Vec<u8> {
    let mut records: Vec<&[u8]> = data.chunks(RECORD).collect();
    records.sort_by_key(|record| &record[..10]);
    records.concat()
}

#[test]
fn valsort_counts_what_gensort_wrote() {
    let dir = scratch();
    let generated = cloudbutton(dir.path(), &["gensort", "10000", "in.dat", "--checksum"]);
    generated.ok();
    assert_eq!(generated.field("Records"), "10000");
    assert_eq!(
        fs::metadata(dir.path().join("in.dat")).unwrap().len(),
        1_000_000
    );

    // Generated records are in no order: valsort counts them and fails.
    let checked = cloudbutton(dir.path(), &["valsort", "in.dat"]);
    assert!(
        checked.failed().contains("out of order"),
        "{}",
        checked.stderr
    );
    assert_eq!(checked.field("Records"), "10000");
    assert_eq!(checked.field("Checksum"), generated.field("Checksum"));

    let counted = cloudbutton(dir.path(), &["valsort", "--checksum-only", "in.dat"]);
    counted.ok();
    assert_eq!(counted.field("Records"), "10000");
    assert_eq!(counted.field("Checksum"), generated.field("Checksum"));
}

#[test]
fn parts_generated_apart_equal_one_run() {
    let dir = scratch();
    for (ascii, name) in [(false, "binary"), (true, "ascii")] {
        let mut args = vec!["gensort", "-b", "12345", "10001"];
        if ascii {
            args.push("-a");
        }
        let whole = format!("{name}.dat");
        let parts = format!("{name}-parts");
        cloudbutton(dir.path(), &[&args[..], &[&whole]].concat()).ok();
        cloudbutton(dir.path(), &[&args[..], &[&parts, "--parts", "4"]].concat()).ok();

        let part_dir = dir.path().join(&parts);
        let mut names: Vec<String> = fs::read_dir(&part_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["part-00000", "part-00001", "part-00002", "part-00003"]
        );
        let joined: Vec<u8> = names
            .iter()
            .flat_map(|name| fs::read(part_dir.join(name)).unwrap())
            .collect();
        assert_eq!(joined, fs::read(dir.path().join(&whole)).unwrap(), "{name}");
        assert_eq!(joined.len(), 10001 * RECORD);
    }

    // A second run into the same parts would mix with the first.
    let again = cloudbutton(
        dir.path(),
        &["gensort", "10", "binary-parts", "--parts", "2"],
    );
    assert!(
        again.failed().contains("already holds 4 object(s)"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_sorted_permutation_passes_with_the_same_checksum() {
    let dir = scratch();
    let generated = cloudbutton(dir.path(), &["gensort", "5000", "in.dat", "-c"]);
    generated.ok();
    let input = fs::read(dir.path().join("in.dat")).unwrap();
    fs::write(dir.path().join("out.dat"), sorted_records(&input)).unwrap();

    let checksum = generated.field("Checksum");
    let checked = cloudbutton(
        dir.path(),
        &[
            "valsort",
            "out.dat",
            "--expect-records",
            "5000",
            "--expect-checksum",
            checksum,
        ],
    );
    assert!(checked.ok().contains("SUCCESS - all records are in order"));
    assert_eq!(checked.field("Checksum"), checksum);
    assert_eq!(checked.field("Duplicate keys"), "0");

    // A record lost, or another checksum expected: a failure that says so.
    fs::write(
        dir.path().join("short.dat"),
        &sorted_records(&input)[RECORD..],
    )
    .unwrap();
    let short = cloudbutton(
        dir.path(),
        &["valsort", "short.dat", "--expect-records", "5000"],
    );
    assert_eq!(short.failed(), "error: 4999 records, not the 5000 expected");
    let wrong = cloudbutton(
        dir.path(),
        &["valsort", "out.dat", "--expect-checksum", "0x1234"],
    );
    assert!(
        wrong.failed().contains("not the 1234 expected"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn unordered_records_are_found_where_they_are() {
    let dir = scratch();
    cloudbutton(dir.path(), &["gensort", "3000", "in.dat"]).ok();
    let mut output = sorted_records(&fs::read(dir.path().join("in.dat")).unwrap());

    // Record 1700 moves to the front: record 1 is then the first that is
    // smaller than the one before it.
    let moved = output[1700 * RECORD..1701 * RECORD].to_vec();
    output.drain(1700 * RECORD..1701 * RECORD);
    output.splice(0..0, moved);
    fs::write(dir.path().join("out.dat"), &output).unwrap();
    let checked = cloudbutton(dir.path(), &["valsort", "out.dat"]);
    let out = dir.path().join("out.dat");
    assert_eq!(
        checked.failed(),
        format!(
            "error: 1 record(s) out of order; the first is record 1 (file://{}, record 1)",
            out.display()
        )
    );

    // Split into three sorted objects, the last two swapped: the first
    // record of the (new) third object is the first out of order.
    let sorted = sorted_records(&output);
    let parts = dir.path().join("parts");
    fs::create_dir(&parts).unwrap();
    fs::write(parts.join("a"), &sorted[..1000 * RECORD]).unwrap();
    fs::write(parts.join("b"), &sorted[2000 * RECORD..]).unwrap();
    fs::write(parts.join("c"), &sorted[1000 * RECORD..2000 * RECORD]).unwrap();
    let checked = cloudbutton(dir.path(), &["valsort", "parts/"]);
    assert_eq!(
        checked.failed(),
        format!(
            "error: 1 record(s) out of order; the first is record 2000 (file://{}, record 0)",
            parts.join("c").display()
        )
    );
    assert_eq!(checked.field("Records"), "3000");

    // In name order the same objects pass.
    let checked = cloudbutton(dir.path(), &["valsort", "parts/a", "parts/c", "parts/b"]);
    assert!(checked.ok().contains("SUCCESS"));
}

#[test]
fn a_file_that_is_not_whole_records_is_named() {
    let dir = scratch();
    fs::write(dir.path().join("odd.dat"), vec![b'x'; 101]).unwrap();
    let checked = cloudbutton(dir.path(), &["valsort", "odd.dat"]);
    let odd = dir.path().join("odd.dat");
    assert_eq!(
        checked.failed(),
        format!(
            "error: file://{}: 1 byte(s) at offset 100 are not a whole 100-byte gensort record: \
             the object's length is not a multiple of 100",
            odd.display()
        )
    );
}

#[test]
fn ascii_records_sort_as_lines_with_gnu_sort() {
    let dir = scratch();
    let generated = cloudbutton(dir.path(), &["gensort", "-a", "20000", "in.txt", "-c"]);
    generated.ok();
    let sorted = Command::new("sort")
        .args(["-o", "out.txt", "in.txt"])
        .env("LC_ALL", "C")
        .current_dir(dir.path())
        .status()
        .expect("GNU sort runs");
    assert!(sorted.success());

    let checksum = generated.field("Checksum");
    for format in ["gensort", "lines"] {
        let checked = cloudbutton(
            dir.path(),
            &[
                "valsort",
                "out.txt",
                "--format",
                format,
                "--expect-checksum",
                checksum,
            ],
        );
        assert!(checked.ok().contains("SUCCESS"), "{format}");
        assert_eq!(checked.field("Records"), "20000");
    }
}

#[test]
fn csv_outputs_are_checked_by_their_key_column() {
    let dir = scratch();
    // Two inputs, each with its header; the sorted output has one header,
    // at the top of its first part, and a quoted newline in a row.
    fs::create_dir_all(dir.path().join("in")).unwrap();
    fs::create_dir_all(dir.path().join("out")).unwrap();
    fs::write(
        dir.path().join("in/1.csv"),
        "name,delay\n\"b\nc\",12\na,-3\n",
    )
    .unwrap();
    fs::write(dir.path().join("in/2.csv"), "name,delay\nd,NA\ne,7").unwrap();
    fs::write(dir.path().join("out/part-0"), "name,delay\na,-3\ne,7\n").unwrap();
    fs::write(dir.path().join("out/part-1"), "\"b\nc\",12\nd,NA\n").unwrap();

    let key = ["--format", "csv", "--key", "delay:int"];
    let input = cloudbutton(
        dir.path(),
        &[
            &[
                "valsort",
                "in/",
                "--checksum-only",
                "--header-in-every-object",
            ],
            &key[..],
        ]
        .concat(),
    );
    input.ok();
    assert_eq!(input.field("Records"), "4");

    let output = cloudbutton(dir.path(), &[&["valsort", "out/"], &key[..]].concat());
    assert!(output.ok().contains("SUCCESS"));
    assert_eq!(output.field("Records"), "4");
    assert_eq!(output.field("Checksum"), input.field("Checksum"));

    // As strings, "-3" < "12" < "7": the output is out of order.
    let as_strings = cloudbutton(
        dir.path(),
        &[
            "valsort",
            "out/",
            "--format",
            "csv",
            "--key",
            "delay:string",
        ],
    );
    assert!(
        as_strings.failed().contains("the first is record 2"),
        "{}",
        as_strings.stderr
    );

    let no_column = cloudbutton(
        dir.path(),
        &["valsort", "out/", "--format", "csv", "--key", "late:int"],
    );
    assert!(
        no_column
            .failed()
            .contains("has no column `late`; its columns are: name, delay"),
        "{}",
        no_column.stderr
    );
}
