//! The process-wide wasmtime engines: one without fuel metering and one
//! with it (fuel changes the compiled code), each with its pooling
//! allocator, its linker of host functions and its cache of loaded
//! modules; and the one thread that advances their epochs.

use std::hash::{Hash, Hasher};
use std::sync::{Once, OnceLock};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use crate::abi;
use crate::cache::ModuleCache;
use crate::run::TaskState;
use crate::state_abi;

/// How often the epoch advances: the resolution of time limits and of
/// reacting to a cancelled job.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The address space reserved for each linear memory: the most a 32-bit
/// memory can address, so bounds checks compile away. The task's own
/// limit is enforced when the memory grows.
const MAX_MEMORY: usize = 4 << 30;

/// The fewest instances the pool holds at once. Each reserves
/// [`MAX_MEMORY`] of address space (not memory), so this is cheap on a
/// 64-bit host.
const MIN_POOL_INSTANCES: u32 = 64;

/// Instances the pool holds per core: tasks that overran their timeout
/// may keep a slot while their thread is replaced.
const POOL_INSTANCES_PER_CORE: u32 = 8;

/// Linear memory kept mapped when a slot is reused, so that small modules
/// start without page faults.
const KEEP_RESIDENT: usize = 64 << 10;

static ENGINES: [OnceLock<Result<WasmEngine, String>>; 2] = [OnceLock::new(), OnceLock::new()];
static TICKER: Once = Once::new();

/// An engine and what belongs to it.
pub(crate) struct WasmEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<TaskState>,
    /// A short digest of the engine's compatibility hash: a compiled
    /// artifact loads only into an engine with the same one.
    pub(crate) compat: String,
    pub(crate) modules: ModuleCache,
}

/// The engine for tasks with (`fuel`) or without a fuel budget, made on
/// first use.
pub(crate) fn engine(fuel: bool) -> Result<&'static WasmEngine, String> {
    let engine = ENGINES[usize::from(fuel)]
        .get_or_init(|| WasmEngine::new(fuel))
        .as_ref()
        .map_err(Clone::clone)?;
    TICKER.call_once(start_ticker);
    Ok(engine)
}

/// The engines made so far.
pub(crate) fn engines() -> impl Iterator<Item = &'static WasmEngine> {
    ENGINES
        .iter()
        .filter_map(|engine| engine.get().and_then(|engine| engine.as_ref().ok()))
}

impl WasmEngine {
    fn new(fuel: bool) -> Result<WasmEngine, String> {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let instances = MIN_POOL_INSTANCES
            .max(POOL_INSTANCES_PER_CORE.saturating_mul(u32::try_from(cores).unwrap_or(u32::MAX)));
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(instances)
            .total_memories(instances)
            .total_tables(instances)
            .max_memory_size(MAX_MEMORY)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);

        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .consume_fuel(fuel)
            .parallel_compilation(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

        let engine = Engine::new(&config)
            .map_err(|error| format!("cannot start the WebAssembly engine: {error:#}"))?;
        let mut linker = Linker::new(&engine);
        abi::add_to_linker(&mut linker)
            .and_then(|()| state_abi::add_to_linker(&mut linker))
            .and_then(|()| {
                wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut TaskState| {
                    state.wasi()
                })
            })
            .map_err(|error| format!("cannot link the host functions: {error:#}"))?;
        let compat = compatibility_digest(&engine);
        tracing::debug!(fuel, instances, %compat, "started a WebAssembly engine");
        Ok(WasmEngine {
            engine,
            linker,
            compat,
            modules: ModuleCache::default(),
        })
    }
}

/// The first 16 hex digits of a SHA-256 over the engine's compatibility
/// hash. SHA-256 rather than `DefaultHasher`, whose output may change
/// between Rust releases, so that driver and workers built apart agree.
fn compatibility_digest(engine: &Engine) -> String {
    struct ShaHasher(Sha256);

    impl Hasher for ShaHasher {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }

        fn finish(&self) -> u64 {
            unreachable!("only the digest is read")
        }
    }

    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = crate::cache::hex(&hasher.0.finalize());
    digest[..16].to_owned()
}

/// Starts the thread that advances every engine's epoch each
/// [`EPOCH_TICK`]; a store's deadline callback then checks its task's
/// time limit and stop signal.
fn start_ticker() {
    let started = thread::Builder::new()
        .name("cloudbutton-wasm-epoch".to_owned())
        .spawn(|| {
            loop {
                thread::sleep(EPOCH_TICK);
                for engine in engines() {
                    engine.engine.increment_epoch();
                }
            }
        });
    if let Err(error) = started {
        tracing::error!(%error, "cannot start the epoch thread: time limits will not apply");
    }
}
