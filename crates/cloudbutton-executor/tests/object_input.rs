//! Maps over objects in storage, end to end: every record of every object
//! reaches exactly one task, however the objects and chunks fall.

use std::io::Read;
use std::path::Path;

use cloudbutton_executor::{
    Chunk, FnResult, Function, FunctionExecutor, ObjectInput, ReduceBy, TaskContext, Wait,
};
use cloudbutton_partition::{Delimiter, records};
use proptest::prelude::*;

mod support;
use support::{executor, gather, local_dir, memory_store, path_of};

fn file_url(path: &Path) -> String {
    format!("file://{}", path.to_str().unwrap())
}

/// The records of `data`, each without its delimiter, split without any
/// chunking: the reference the chunked reads must match.
fn split(data: &[u8], delimiter: &[u8]) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at + delimiter.len() <= data.len() {
        if &data[at..at + delimiter.len()] == delimiter {
            records.push(data[start..at].to_vec());
            at += delimiter.len();
            start = at;
        } else {
            at += 1;
        }
    }
    if start < data.len() {
        records.push(data[start..].to_vec());
    }
    records
}

/// The records of several objects, one object after the other.
fn split_all(objects: &[&[u8]], delimiter: &[u8]) -> Vec<Vec<u8>> {
    objects
        .iter()
        .flat_map(|data| split(data, delimiter))
        .collect()
}

/// The lines of `text` without their `\n` or `\r\n` ends.
fn text_lines(text: &str) -> Vec<String> {
    split(text.as_bytes(), b"\n")
        .into_iter()
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            String::from_utf8(line.to_vec()).unwrap()
        })
        .collect()
}

fn chunk_records(chunk: &Chunk, ctx: &TaskContext, delimiter: &[u8]) -> FnResult<Vec<Vec<u8>>> {
    let delimiter = Delimiter::new(delimiter)?;
    Ok(records(chunk.open(ctx)?, &delimiter).collect::<Result<_, _>>()?)
}

fn newline_records(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<Vec<u8>>> {
    chunk_records(&chunk, ctx, b"\n")
}
static NEWLINE_RECORDS: Function<Chunk, Vec<Vec<u8>>> =
    Function::new("object-input::newline-records", newline_records);
cloudbutton_executor::register!(NEWLINE_RECORDS);

fn separator_records(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<Vec<u8>>> {
    chunk_records(&chunk, ctx, b"\x1e")
}
static SEPARATOR_RECORDS: Function<Chunk, Vec<Vec<u8>>> =
    Function::new("object-input::separator-records", separator_records);
cloudbutton_executor::register!(SEPARATOR_RECORDS);

fn pipe_records(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<Vec<u8>>> {
    chunk_records(&chunk, ctx, b"|;")
}
static PIPE_RECORDS: Function<Chunk, Vec<Vec<u8>>> =
    Function::new("object-input::pipe-records", pipe_records);
cloudbutton_executor::register!(PIPE_RECORDS);

fn lines(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<String>> {
    Ok(chunk.open(ctx)?.lines().collect::<Result<_, _>>()?)
}
static LINES: Function<Chunk, Vec<String>> = Function::new("object-input::lines", lines);
cloudbutton_executor::register!(LINES);

/// The chunk's bytes, exactly as its reader yields them.
fn raw(chunk: Chunk, ctx: &TaskContext) -> FnResult<Vec<u8>> {
    let mut bytes = Vec::new();
    chunk.open(ctx)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}
static RAW: Function<Chunk, Vec<u8>> = Function::new("object-input::raw", raw);
cloudbutton_executor::register!(RAW);

/// What a chunk says about itself.
type Description = (String, String, u64, u64, u32, u32, usize, u64);

fn describe(chunk: Chunk, _: &TaskContext) -> FnResult<Description> {
    let range = chunk.range();
    Ok((
        chunk.key().to_owned(),
        chunk.url().to_owned(),
        range.start,
        range.end,
        chunk.part(),
        chunk.parts(),
        chunk.object_index(),
        chunk.object_size(),
    ))
}
static DESCRIBE: Function<Chunk, Description> = Function::new("object-input::describe", describe);
cloudbutton_executor::register!(DESCRIBE);

fn count(chunk: Chunk, ctx: &TaskContext) -> FnResult<u64> {
    Ok(newline_records(chunk, ctx)?.len() as u64)
}
static COUNT: Function<Chunk, u64> = Function::new("object-input::count", count);
cloudbutton_executor::register!(COUNT);

fn sum(counts: Vec<u64>, _: &TaskContext) -> FnResult<u64> {
    Ok(counts.iter().sum())
}
static SUM: Function<Vec<u64>, u64> = Function::new("object-input::sum", sum);
cloudbutton_executor::register!(SUM);

/// Checks that the newline records, the raw bytes and (for text) the lines
/// of every chunk add up to the objects, for every chunk size in `sizes`.
fn check_every_split(
    executor: &FunctionExecutor,
    locations: &[String],
    objects: &[&[u8]],
    sizes: impl IntoIterator<Item = u64>,
) {
    let bytes: Vec<u8> = objects.concat();
    let expected = split_all(objects, b"\n");
    let text: Option<Vec<String>> = objects
        .iter()
        .map(|data| std::str::from_utf8(data).ok().map(text_lines))
        .collect::<Option<Vec<_>>>()
        .map(|lines| lines.concat());

    for size in sizes {
        let input = ObjectInput::new(locations.to_vec()).chunk_size(size);
        assert_eq!(
            gather(executor, &NEWLINE_RECORDS, input.clone()),
            expected,
            "records with chunks of {size} bytes of {locations:?}"
        );
        assert_eq!(
            gather(executor, &RAW, input.clone()),
            bytes,
            "bytes with chunks of {size} bytes of {locations:?}"
        );
        if let Some(text) = &text {
            assert_eq!(
                &gather(executor, &LINES, input),
                text,
                "lines with chunks of {size} bytes of {locations:?}"
            );
        }
    }
}

#[test]
fn objects_without_a_final_delimiter_keep_their_last_record() {
    let executor = executor(3);
    let objects: [&[u8]; 4] = [
        b"alpha\nbeta\ngamma without an end",
        b"x",
        b"one line\n",
        b"\n\nlast",
    ];
    let dir = local_dir(&[
        ("in/1.txt", objects[0]),
        ("in/2.txt", objects[1]),
        ("in/3.txt", objects[2]),
        ("in/4.txt", objects[3]),
    ]);
    check_every_split(&executor, &[path_of(&dir, "in")], &objects, 1..=12);

    let store = memory_store(
        "no-final-delimiter",
        &[("1", objects[0]), ("2", objects[1]), ("3", objects[2])],
    );
    check_every_split(
        &executor,
        &[format!("{store}/")],
        &objects[..3],
        [1, 2, 5, 33, 1 << 20],
    );
}

#[test]
fn records_longer_than_a_chunk_are_read_once() {
    let executor = executor(4);
    let long: Vec<u8> = (0..40)
        .flat_map(|n| {
            let mut line = vec![b'a' + (n % 26) as u8; 50 + 37 * n];
            line.push(b'\n');
            line
        })
        .collect();
    let mut no_end = long.clone();
    no_end.extend_from_slice(&[b'z'; 500]);
    let store = memory_store("long-records", &[("long/a", &long), ("long/b", &no_end)]);
    check_every_split(
        &executor,
        &[format!("{store}/long/")],
        &[&long, &no_end],
        [1, 7, 64, 333, 4_096],
    );
}

#[test]
fn an_empty_object_is_one_task_with_no_records() {
    let executor = executor(2);
    let dir = local_dir(&[("empty.txt", b"")]);
    let store = memory_store("empty-object", &[("empty", b"")]);

    for location in [
        path_of(&dir, "empty.txt"),
        file_url(&dir.path().join("empty.txt")),
        format!("{store}/empty"),
    ] {
        for input in [
            ObjectInput::new([&location]),
            ObjectInput::new([&location]).chunk_size(1),
            ObjectInput::new([&location]).chunk_number(8),
            ObjectInput::new([&location]).exact_ranges(),
        ] {
            let job = executor.map(&NEWLINE_RECORDS, input.clone()).unwrap();
            assert_eq!(job.len(), 1, "{location}");
            assert_eq!(
                job.get_result().unwrap(),
                [Vec::<Vec<u8>>::new()],
                "{location}"
            );
            let job = executor.map(&DESCRIBE, input).unwrap();
            let (_, url, start, end, part, parts, object, size) =
                job.get_result().unwrap().remove(0);
            assert!(location.ends_with(url.trim_start_matches("file://")));
            assert_eq!((start, end, part, parts, object, size), (0, 0, 0, 1, 0, 0));
        }
    }

    // Beside other objects, an empty one still has its own task.
    let store = memory_store(
        "empty-among-others",
        &[("a", b"1\n2\n"), ("b", b""), ("c", b"3")],
    );
    let job = executor
        .map(
            &NEWLINE_RECORDS,
            ObjectInput::new([format!("{store}/")]).chunk_size(2),
        )
        .unwrap();
    let results = job.get_result().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(
        results.concat(),
        [b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]
    );
}

#[test]
fn crlf_line_ends_come_back_without_carriage_returns() {
    let executor = executor(3);
    let text = "first\r\nsecond line\r\n\r\nfourth\r\nno end\r";
    let dir = local_dir(&[("crlf.txt", text.as_bytes())]);
    let expected = ["first", "second line", "", "fourth", "no end"];

    for size in 1..=text.len() as u64 + 1 {
        for location in [
            path_of(&dir, "crlf.txt"),
            file_url(&dir.path().join("crlf.txt")),
        ] {
            let input = ObjectInput::new([location]).chunk_size(size);
            assert_eq!(
                gather(&executor, &LINES, input),
                expected,
                "chunks of {size} bytes"
            );
        }
    }
}

#[test]
fn multi_byte_characters_at_chunk_edges_decode_cleanly() {
    let executor = executor(4);
    let text = "é\nñandú\n日本語のテキスト\n😀😀\nßẞ€\n\u{10FFFF}x\nend without newline: 東京";
    let store = memory_store("utf8", &[("text.txt", text.as_bytes())]);
    let dir = local_dir(&[("text.txt", text.as_bytes())]);
    let expected = text_lines(text);

    for size in 1..=7 {
        for location in [format!("{store}/text.txt"), path_of(&dir, "text.txt")] {
            let input = ObjectInput::new([&location]).chunk_size(size);
            assert_eq!(
                gather(&executor, &LINES, input),
                expected,
                "{location} in chunks of {size} bytes"
            );
        }
    }
    for count in 1..=7 {
        let input = ObjectInput::new([format!("{store}/text.txt")]).chunk_number(count);
        assert_eq!(gather(&executor, &LINES, input), expected, "{count} chunks");
    }
}

#[test]
fn thousands_of_tiny_files_are_each_read_once_in_key_order() {
    let executor = executor(4);
    let names: Vec<String> = (0..3_000).map(|n| format!("part-{n}.txt")).collect();
    let contents: Vec<String> = (0..3_000).map(|n| format!("{n}\n{}", n * 7)).collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&contents)
        .map(|(name, content)| (name.as_str(), content.as_bytes()))
        .collect();
    let dir = local_dir(&files);

    // Keys sort as text: part-0, part-1, part-10, part-100, ...
    let mut order: Vec<usize> = (0..3_000).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let expected: Vec<String> = order
        .iter()
        .flat_map(|&n| [n.to_string(), (n * 7).to_string()])
        .collect();

    for location in [
        path_of(&dir, ""),
        format!("{}/", file_url(dir.path())),
        format!("{}/*.txt", file_url(dir.path())),
    ] {
        let job = executor.map(&LINES, ObjectInput::new([&location])).unwrap();
        assert_eq!(job.len(), 3_000, "{location}");
        let lines: Vec<String> = job.get_result().unwrap().concat();
        assert_eq!(lines, expected, "{location}");
    }

    let job = executor
        .map(&DESCRIBE, ObjectInput::new([path_of(&dir, "")]))
        .unwrap();
    for (task, (key, ..)) in job.get_result().unwrap().into_iter().enumerate() {
        assert!(key.ends_with(&names[order[task]]), "task {task}: {key}");
    }
}

#[test]
fn keys_with_spaces_and_non_ascii_characters() {
    let executor = executor(2);
    let files: [(&str, &[u8]); 4] = [
        ("with space.txt", b"s1\ns2"),
        ("ünïcødé 日本/データ.txt", b"u1\n"),
        ("per%20cent.txt", b"p1\np2\n"),
        ("plus+and&amp.txt", b"a1"),
    ];
    let dir = local_dir(&files);

    for (name, data) in files {
        let path = dir.path().join(name);
        let url = file_url(&path);
        for location in [path.to_str().unwrap().to_owned(), url.clone()] {
            let input = ObjectInput::new([&location]).chunk_size(2);
            assert_eq!(
                gather(&executor, &NEWLINE_RECORDS, input.clone()),
                split(data, b"\n"),
                "{location}"
            );
            for (key, chunk_url, ..) in executor
                .map(&DESCRIBE, input)
                .unwrap()
                .get_result()
                .unwrap()
            {
                assert_eq!(chunk_url, url, "{location}");
                assert_eq!(format!("/{key}"), path.to_str().unwrap(), "{location}");
            }
        }
    }

    let store = memory_store(
        "odd-keys",
        &[
            ("dir with space/ü é.txt", b"m1\nm2"),
            ("日本/語 x", b"m3\n"),
        ],
    );
    let input = ObjectInput::new([format!("{store}/")]).chunk_size(1);
    assert_eq!(
        gather(&executor, &NEWLINE_RECORDS, input.clone()),
        [b"m1".to_vec(), b"m2".to_vec(), b"m3".to_vec()]
    );
    let urls: Vec<String> = executor
        .map(&DESCRIBE, input.chunk_size(100))
        .unwrap()
        .get_result()
        .unwrap()
        .into_iter()
        .map(|(_, url, ..)| url)
        .collect();
    assert_eq!(
        urls,
        [
            format!("{store}/dir with space/ü é.txt"),
            format!("{store}/日本/語 x")
        ]
    );
    let input = ObjectInput::new([format!("{store}/dir with space/ü é.txt")]);
    assert_eq!(
        gather(&executor, &LINES, input),
        ["m1".to_owned(), "m2".to_owned()]
    );
}

#[test]
fn an_object_is_not_confused_with_a_longer_neighbour() {
    let executor = executor(2);
    let files: [(&str, &[u8]); 3] = [
        ("data/a", b"from a\n"),
        ("data/ab", b"from ab\n"),
        ("data/a.txt", b"from a.txt\n"),
    ];
    let dir = local_dir(&files);
    let store = memory_store("neighbours", &files);

    for location in [
        path_of(&dir, "data/a"),
        file_url(&dir.path().join("data/a")),
        format!("{store}/data/a"),
    ] {
        let job = executor.map(&LINES, ObjectInput::new([&location])).unwrap();
        assert_eq!(job.len(), 1, "{location}");
        assert_eq!(job.get_result().unwrap(), [["from a"]], "{location}");
    }
}

#[test]
fn prefixes_globs_and_overlapping_lists_read_each_object_once() {
    let executor = executor(3);
    let store = memory_store(
        "selections",
        &[
            ("logs/2024/a.log", b"a1\na2\n"),
            ("logs/2024/b.csv", b"b1\n"),
            ("logs/2025/c.log", b"c1\nc2"),
            ("logs/2025/sub/d.log", b"d1\n"),
            ("logs/.notes", b"dot1\n"),
            ("other/e.log", b"e1\n"),
        ],
    );
    let lines_of = |locations: Vec<String>, chunk_size: u64| -> Vec<String> {
        gather(
            &executor,
            &LINES,
            ObjectInput::new(locations).chunk_size(chunk_size),
        )
    };

    // A prefix holds every object below it, dotfiles too, and a wildcard
    // matches a leading `.`.
    assert_eq!(
        lines_of(vec![format!("{store}/logs/")], 2),
        ["dot1", "a1", "a2", "b1", "c1", "c2", "d1"]
    );
    assert_eq!(lines_of(vec![format!("{store}/logs/*")], 2), ["dot1"]);
    assert_eq!(
        lines_of(vec![format!("{store}/logs/*/*.log")], 3),
        ["a1", "a2", "c1", "c2"]
    );
    assert_eq!(
        lines_of(vec![format!("{store}/logs/**/*.log")], 3),
        ["a1", "a2", "c1", "c2", "d1"]
    );
    // Objects come in the order of the locations, then of their keys, and
    // one named twice is read once.
    assert_eq!(
        lines_of(
            vec![
                format!("{store}/other/e.log"),
                format!("{store}/logs/2024/"),
                format!("{store}/logs/*/*.log"),
                format!("{store}/logs/2024/a.log"),
                format!("{store}/other/e.log"),
            ],
            1,
        ),
        ["e1", "a1", "a2", "b1", "c1", "c2"]
    );

    // The same on local files, with paths and URLs naming the same files.
    let dir = local_dir(&[
        ("logs/2024/a.log", b"a1\na2\n"),
        ("logs/2024/b.csv", b"b1\n"),
        ("logs/2025/c.log", b"c1\nc2"),
        ("logs/.notes", b"dot1\n"),
    ]);
    let root = file_url(dir.path());
    assert_eq!(
        lines_of(
            vec![
                path_of(&dir, "logs/2025/c.log"),
                format!("{root}/logs/*/*.log"),
                path_of(&dir, "logs"),
                format!("{root}/logs/2025/c.log"),
            ],
            2,
        ),
        ["c1", "c2", "a1", "a2", "dot1", "b1"]
    );
}

#[test]
fn chunk_counts_and_sizes_down_to_one_byte() {
    let executor = executor(4);
    let objects: [&[u8]; 3] = [b"ab\ncd\nef\n", b"g\nhijk", b"\n"];
    let store = memory_store(
        "chunk-counts",
        &[("a", objects[0]), ("b", objects[1]), ("c", objects[2])],
    );
    let location = format!("{store}/");
    let expected = split_all(&objects, b"\n");

    for count in 1..=12 {
        let input = ObjectInput::new([&location]).chunk_number(count);
        let job = executor.map(&NEWLINE_RECORDS, input.clone()).unwrap();
        let tasks: u64 = objects.iter().map(|o| count.min(o.len() as u64)).sum();
        assert_eq!(job.len() as u64, tasks, "{count} chunks per object");
        assert_eq!(
            job.get_result().unwrap().concat(),
            expected,
            "{count} chunks"
        );
        assert_eq!(
            gather(&executor, &RAW, input),
            objects.concat(),
            "{count} chunks"
        );
    }

    let input = ObjectInput::new([&location]).chunk_size(1);
    let job = executor.map(&DESCRIBE, input.clone()).unwrap();
    assert_eq!(job.len(), objects.concat().len());
    for (_, _, start, end, ..) in job.get_result().unwrap() {
        assert_eq!(end - start, 1);
    }
    assert_eq!(gather(&executor, &NEWLINE_RECORDS, input), expected);
}

#[test]
fn a_custom_delimiter_decides_where_records_end() {
    let executor = executor(3);
    let separated: &[u8] = b"first\nrecord\x1esecond\x1e\x1ethird|;\nwith newlines";
    let piped: &[u8] = b"a|b;c|;|;d\n|;e|;;|f|";
    let store = memory_store("delimiters", &[("rs", separated), ("pipe", piped)]);

    for size in (1..=10).chain([64]) {
        let input = ObjectInput::new([format!("{store}/rs")])
            .delimiter(Delimiter::new(b"\x1e").unwrap())
            .chunk_size(size);
        assert_eq!(
            gather(&executor, &SEPARATOR_RECORDS, input.clone()),
            split(separated, b"\x1e"),
            "\\x1e in chunks of {size}"
        );
        assert_eq!(gather(&executor, &RAW, input), separated);

        let input = ObjectInput::new([format!("{store}/pipe")])
            .delimiter(Delimiter::new("|;").unwrap())
            .chunk_size(size);
        let expected = split(piped, b"|;");
        assert_eq!(
            expected,
            [&b"a|b;c"[..], b"", b"d\n", b"e", b";|f|"],
            "the reference split"
        );
        assert_eq!(
            gather(&executor, &PIPE_RECORDS, input.clone()),
            expected,
            "|; in chunks of {size}"
        );
        assert_eq!(gather(&executor, &RAW, input), piped);
    }
}

#[test]
fn exact_ranges_concatenate_to_the_bytes() {
    let executor = executor(4);
    // Binary data full of newlines and invalid UTF-8.
    let data: Vec<u8> = (0..5_000u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let dir = local_dir(&[("blob.bin", &data)]);
    let store = memory_store("exact", &[("blob.bin", &data)]);

    for location in [path_of(&dir, "blob.bin"), format!("{store}/blob.bin")] {
        for size in [1, 3, 999, 4_096, 5_000, 10_000] {
            let input = ObjectInput::new([&location])
                .exact_ranges()
                .chunk_size(size);
            let job = executor.map(&RAW, input.clone()).unwrap();
            let chunks = job.get_result().unwrap();
            assert_eq!(chunks.len() as u64, (data.len() as u64).div_ceil(size));
            assert!(
                chunks[..chunks.len() - 1]
                    .iter()
                    .all(|chunk| chunk.len() as u64 == size)
            );
            assert_eq!(chunks.concat(), data, "{location} in chunks of {size}");
        }
        let input = ObjectInput::new([&location]).exact_ranges().chunk_number(7);
        assert_eq!(
            gather(&executor, &RAW, input),
            data,
            "{location} in 7 chunks"
        );
    }
}

#[test]
fn the_chunk_handle_describes_its_slice() {
    let executor = executor(2);
    let store = memory_store(
        "handles",
        &[
            ("d/x.txt", b"0123456789"),
            ("d/y.txt", b""),
            ("d/z.txt", b"abcde"),
        ],
    );
    let input = ObjectInput::new([format!("{store}/d/")]).chunk_size(4);
    let described = executor
        .map(&DESCRIBE, input)
        .unwrap()
        .get_result()
        .unwrap();
    let x = format!("{store}/d/x.txt");
    let y = format!("{store}/d/y.txt");
    let z = format!("{store}/d/z.txt");
    let expected: Vec<Description> = vec![
        ("d/x.txt".into(), x.clone(), 0, 4, 0, 3, 0, 10),
        ("d/x.txt".into(), x.clone(), 4, 8, 1, 3, 0, 10),
        ("d/x.txt".into(), x, 8, 10, 2, 3, 0, 10),
        ("d/y.txt".into(), y, 0, 0, 0, 1, 1, 0),
        ("d/z.txt".into(), z.clone(), 0, 4, 0, 2, 2, 5),
        ("d/z.txt".into(), z, 4, 5, 1, 2, 2, 5),
    ];
    assert_eq!(described, expected);

    // Local keys are the absolute path without its leading `/`.
    let dir = local_dir(&[("k.txt", b"k1\nk2\nk3\n")]);
    let path = path_of(&dir, "k.txt");
    let input = ObjectInput::new([&path]).chunk_number(2);
    let described = executor
        .map(&DESCRIBE, input)
        .unwrap()
        .get_result()
        .unwrap();
    let url = format!("file://{path}");
    let key = path.trim_start_matches('/').to_owned();
    assert_eq!(
        described,
        [
            (key.clone(), url.clone(), 0, 4, 0, 2, 0, 9),
            (key, url, 4, 9, 1, 2, 0, 9)
        ]
    );
}

#[test]
fn a_reducer_per_object_counts_each_objects_records() {
    let executor = executor(4);
    let objects: Vec<(String, Vec<u8>)> = [0usize, 1, 17, 0, 250, 3]
        .iter()
        .enumerate()
        .map(|(n, &lines)| {
            let data: String = (0..lines).map(|line| format!("o{n} l{line}\n")).collect();
            (format!("objects/{n:02}"), data.into_bytes())
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = objects
        .iter()
        .map(|(key, data)| (key.as_str(), data.as_slice()))
        .collect();
    let store = memory_store("per-object", &refs);
    let expected = [0u64, 1, 17, 0, 250, 3];

    for size in [1, 5, 64, 1 << 20] {
        let input = ObjectInput::new([format!("{store}/objects/")]).chunk_size(size);
        let job = executor
            .map_reduce(&COUNT, input.clone(), &SUM, ReduceBy::Object)
            .unwrap();
        assert_eq!(job.len(), objects.len());
        assert_eq!(job.get_result().unwrap(), expected, "chunks of {size}");

        let job = executor
            .map_reduce(&COUNT, input, &SUM, ReduceBy::All)
            .unwrap();
        assert_eq!(job.get_result().unwrap(), [271], "chunks of {size}");
    }
}

#[test]
fn bytes_read_are_counted_per_task_and_in_the_job_summary() {
    let executor = executor(4);
    let data: String = (0..20_000)
        .map(|n| format!("{n:>8} {}\n", "x".repeat(n % 100)))
        .collect::<String>();
    let data = &data.as_bytes()[..1_000_000];
    let dir = local_dir(&[("big.txt", data)]);

    let input = ObjectInput::new([path_of(&dir, "big.txt")]).chunk_size(64 << 10);
    let job = executor.map(&COUNT, input).unwrap();
    job.wait(Wait::All, None);
    let stats = job.stats();
    let summary = job.summary();
    let counts = job.get_result().unwrap();
    assert_eq!(counts.len(), 16);
    assert_eq!(counts.iter().sum::<u64>(), split(data, b"\n").len() as u64);

    for task in &stats {
        assert!(task.bytes_read > 0, "task {} read nothing", task.index);
        assert!(
            task.bytes_read < 3 * (64 << 10),
            "task {} read {} bytes",
            task.index,
            task.bytes_read
        );
    }
    let total: u64 = stats.iter().map(|task| task.bytes_read).sum();
    assert_eq!(summary.bytes_read, total);
    assert!(
        summary.bytes_read >= data.len() as u64,
        "{} bytes read of {}",
        summary.bytes_read,
        data.len()
    );
    assert!(
        summary.bytes_read < 3 * data.len() as u64,
        "{} bytes read of {}",
        summary.bytes_read,
        data.len()
    );

    // A map-reduce counts the bytes its map tasks read.
    let input = ObjectInput::new([path_of(&dir, "big.txt")]).chunk_size(64 << 10);
    let job = executor
        .map_reduce(&COUNT, input, &SUM, ReduceBy::All)
        .unwrap();
    job.wait(Wait::All, None);
    let map_stats = job.map_stats();
    assert_eq!(map_stats.len(), 16);
    assert!(map_stats.iter().all(|task| task.bytes_read > 0));
    let summary = job.summary();
    assert!(summary.bytes_read >= data.len() as u64);
    assert!(summary.bytes_read < 3 * data.len() as u64);
    assert_eq!(job.get_result().unwrap(), [split(data, b"\n").len() as u64]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunked_records_equal_the_objects_records(
        objects in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![3 => Just(b'\n'), 1 => Just(b'\r'), 6 => b'a'..=b'z'],
                0..400,
            ),
            1..4,
        ),
        chunk_size in 1u64..200,
    ) {
        static CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let case = CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let keys: Vec<String> = (0..objects.len()).map(|n| format!("case-{case}/{n}")).collect();
        let refs: Vec<(&str, &[u8])> = keys
            .iter()
            .zip(&objects)
            .map(|(key, data)| (key.as_str(), data.as_slice()))
            .collect();
        let store = memory_store("property", &refs);
        let executor = executor(2);
        let input = ObjectInput::new([format!("{store}/case-{case}/")]).chunk_size(chunk_size);

        let slices: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(
            gather(&executor, &NEWLINE_RECORDS, input.clone()),
            split_all(&slices, b"\n")
        );
        prop_assert_eq!(gather(&executor, &RAW, input), objects.concat());
    }
}
