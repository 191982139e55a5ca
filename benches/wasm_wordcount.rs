//! Benchmark (h): the word count as a WebAssembly module (the C example
//! `examples/wasm/c/wordcount.c` and its merge) against the native word
//! count, both through the executor, in the same run.
//!
//! ```text
//! scripts/build-wasm.sh
//! cargo bench --bench wasm_wordcount -- [INPUT] [CHUNK_SIZE] [ROUNDS] [WASM_DIR]
//! ```
//!
//! INPUT defaults to `data/fetched/corpus-1g/`, CHUNK_SIZE to 64MiB, ROUNDS
//! to 3 and WASM_DIR to `target/wasm`. Each round runs the native map-reduce
//! and then the WebAssembly one; their results are checked equal.

use std::time::Instant;

use cloudbutton::executor::config::parse_size;
use cloudbutton::executor::{Config, Payload, ProgressMode, wrap};
use cloudbutton::storage::StorageOptions;
use cloudbutton::text::{COUNT_WORDS, MERGE_COUNTS, ranked};
use cloudbutton::wasm::{RUN_WASM, WasmSpec, WasmTask, prepare};
use cloudbutton::{FunctionExecutor, ObjectInput, ReduceBy};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let input = args
        .next()
        .unwrap_or_else(|| "data/fetched/corpus-1g/".to_owned());
    let chunk_size = parse_size(&args.next().unwrap_or_else(|| "64MiB".to_owned()))
        .map_err(anyhow::Error::msg)?;
    let rounds: u32 = args.next().map_or(Ok(3), |arg| arg.parse())?;
    let wasm_dir = args.next().unwrap_or_else(|| "target/wasm".to_owned());

    let storage = StorageOptions::default();
    let objects = ObjectInput::new([input.clone()]).objects(&storage)?;
    anyhow::ensure!(!objects.is_empty(), "{input} holds no files");
    let bytes: u64 = objects.iter().map(|object| object.size).sum();
    let module = |name: &str| -> anyhow::Result<WasmSpec> {
        let path = format!("{wasm_dir}/{name}");
        anyhow::ensure!(
            std::path::Path::new(&path).exists(),
            "{path} is missing: run scripts/build-wasm.sh"
        );
        Ok(WasmSpec::new(prepare(&path, &storage, None, false)?))
    };
    let (count, merge) = (module("wordcount.wasm")?, module("merge.wasm")?);

    let mut config = Config::load()?;
    config.executor.progress = ProgressMode::Never;
    let executor = FunctionExecutor::with_config(config)?;
    println!(
        "wasm wordcount: {} files, {:.2} GiB, chunks of {chunk_size}, {} worker threads",
        objects.len(),
        bytes as f64 / f64::from(1 << 30),
        executor.workers()
    );

    let (mut native_best, mut wasm_best) = (f64::INFINITY, f64::INFINITY);
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let start = Instant::now();
        let chunks = ObjectInput::new([input.clone()]).chunk_size(chunk_size.as_u64());
        let job = executor.map_reduce(&COUNT_WORDS, chunks, &MERGE_COUNTS, ReduceBy::All)?;
        let counts = job.get_result()?.pop().unwrap_or_default();
        let native = start.elapsed().as_secs_f64();
        let expected: String = ranked(&counts)
            .iter()
            .map(|(word, count)| format!("{word}\t{count}\n"))
            .collect();

        let start = Instant::now();
        let chunks = ObjectInput::new([input.clone()]).chunk_size(chunk_size.as_u64());
        let spec = count.clone();
        let maps = executor.map(
            &RUN_WASM,
            wrap(wrap(chunks, Payload::Chunk), move |payload| WasmTask {
                spec: spec.clone(),
                payload,
            }),
        )?;
        let parts = maps.get_result()?;
        let reduce = executor.call_async(
            &RUN_WASM,
            WasmTask {
                spec: merge.clone(),
                payload: Payload::Parts(parts),
            },
        );
        let merged = reduce.get_result()?;
        let wasm = start.elapsed().as_secs_f64();

        anyhow::ensure!(
            *merged == *expected.as_bytes(),
            "the WebAssembly counts differ from the native ones"
        );
        println!(
            "  round {round}: native {native:.3} s, wasm {wasm:.3} s ({:.2}x native)",
            native / wasm
        );
        ratios.push(native / wasm);
        native_best = native_best.min(native);
        wasm_best = wasm_best.min(wasm);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "wasm wordcount: native best {native_best:.3} s ({:.0} MiB/s), wasm best {wasm_best:.3} s \
         ({:.0} MiB/s): {:.2}x native (best against best); median of the rounds {:.2}x",
        bytes as f64 / native_best / 1048576.0,
        bytes as f64 / wasm_best / 1048576.0,
        native_best / wasm_best,
        ratios[ratios.len() / 2]
    );
    Ok(())
}
