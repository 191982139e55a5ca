//! One task: a store with the task's limits, an instance from the cached
//! `InstancePre`, the entry point called, and what happened turned into
//! the task's output or a [`WasmError`] that says why.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cloudbutton_executor::{Payload, TaskContext};
use wasmtime::{
    Extern, Instance, ModuleExport, ResourceLimiter, Store, Trap, UpdateDeadline, WasmBacktrace,
};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::abi::{HostIo, SharedOutput};
use crate::cache;
use crate::engine;
use crate::error::{TaskFailure, WasmError};
use crate::module::{Kind, LoadedModule};
use crate::spec::WasmTask;
use crate::state_abi::TaskObjects;
use crate::wasi::{self, StderrLog};

/// Backtraces with more frames than this stay out of error messages.
const MAX_BACKTRACE_FRAMES: usize = 10;

/// The data of a task's store.
pub(crate) struct TaskState {
    pub(crate) io: HostIo,
    /// The job's shared objects, for the state calls.
    pub(crate) objects: TaskObjects,
    limits: MemoryLimit,
    wasi: Option<WasiP1Ctx>,
    /// Why the epoch callback, or a waiting state call, interrupted the
    /// guest.
    pub(crate) stopped: Option<TaskFailure>,
}

impl TaskState {
    /// The WASI context, for the WASI functions in the linker.
    pub(crate) fn wasi(&mut self) -> &mut WasiP1Ctx {
        self.wasi
            .as_mut()
            .expect("a WASI context is built for every module that imports WASI")
    }
}

/// The task's memory limit, as wasmtime asks before memory grows.
struct MemoryLimit {
    bytes: u64,
    exceeded: bool,
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.bytes {
            // An error, not a refusal: the guest traps here rather than
            // carry on without the memory it asked for.
            self.exceeded = true;
            return Err(wasmtime::Error::msg("memory limit exceeded"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|maximum| desired <= maximum))
    }
}

/// Runs one task.
pub(crate) fn run(task: WasmTask, ctx: &TaskContext) -> Result<Vec<u8>, WasmError> {
    let WasmTask { spec, payload } = task;
    let input_name = payload.describe();
    let fail = |failure: TaskFailure, stderr: Option<String>| WasmError::Task {
        module: spec.module.to_string(),
        input: input_name.clone(),
        failure,
        stderr,
    };

    let engine = engine::engine(spec.fuel.is_some()).map_err(WasmError::Engine)?;
    let loaded = cache::load(engine, &spec.module, ctx.storage())?;
    // Chunks are read whole before the module starts. Bytes that came
    // with the task are moved, not copied.
    let input = match payload {
        Payload::Bytes(bytes) => bytes,
        payload => payload
            .read_all(ctx)
            .map_err(|error| fail(TaskFailure::Input(error.to_string()), None))?,
    };
    let stop = ctx.stop_signal();
    if let Some(reason) = stop.reason() {
        return Err(fail(TaskFailure::Stopped(reason), None));
    }

    // The WASI context costs more than the rest of a store: only modules
    // that import WASI get one.
    let input = Bytes::from(input);
    let output = SharedOutput::new(spec.output_limit);
    let (wasi, stderr) = if loaded.uses_wasi {
        let stderr = StderrLog::new(ctx.index(), loaded.label.clone());
        let stdin = match loaded.kind {
            Kind::Command { .. } => input.clone(),
            Kind::Reactor { .. } => Bytes::new(),
        };
        let wasi = wasi::context(&spec, stdin, output.clone(), stderr.clone())
            .map_err(|reason| fail(TaskFailure::Denied(reason), None))?;
        (Some(wasi), Some(stderr))
    } else {
        (None, None)
    };

    // The epoch callback and the waiting state calls share one deadline.
    let limit = spec.timeout_ms.map(Duration::from_millis);
    let deadline = limit.map(|limit| Instant::now() + limit);
    let state = TaskState {
        objects: TaskObjects::new(ctx.state().clone(), stop.clone(), deadline.zip(limit)),
        io: HostIo {
            task: ctx.index(),
            module: loaded.label.clone(),
            input,
            read: 0,
            output: output.clone(),
            error: None,
        },
        limits: MemoryLimit {
            bytes: spec.memory_limit,
            exceeded: false,
        },
        wasi,
        stopped: None,
    };
    let mut store = Store::new(&engine.engine, state);
    store.limiter(|state| &mut state.limits);
    if let Some(fuel) = spec.fuel {
        store
            .set_fuel(fuel)
            .map_err(|error| fail(TaskFailure::Instantiate(format!("{error:#}")), None))?;
    }

    // Every epoch tick, stop the guest if the job was cancelled or its time
    // is up; otherwise let it run to the next tick.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut store| {
        let stopped = if let Some(reason) = stop.reason() {
            TaskFailure::Stopped(reason)
        } else if let (Some(deadline), Some(limit)) = (deadline, limit)
            && Instant::now() >= deadline
        {
            TaskFailure::TimeLimit(limit)
        } else {
            return Ok(UpdateDeadline::Continue(1));
        };
        store.data_mut().stopped = Some(stopped);
        Err(wasmtime::Error::msg("interrupted"))
    });

    let outcome = call(&loaded, &mut store);

    let stderr = stderr.as_ref().and_then(StderrLog::finish);
    let mut state = store.into_data();
    let failure = if output.lock().exceeded {
        Some(TaskFailure::Output(spec.output_limit))
    } else if let Some(stopped) = state.stopped.take() {
        Some(stopped)
    } else if state.limits.exceeded {
        Some(TaskFailure::Memory(spec.memory_limit))
    } else {
        match outcome {
            Ok(0) => None,
            Ok(code) => Some(TaskFailure::Guest {
                code,
                message: state.io.error.take(),
            }),
            Err(Failure::Instantiate(error)) => Some(TaskFailure::Instantiate(error)),
            Err(Failure::Run(error)) => run_failure(&error, spec.fuel),
        }
    };
    drop(state);
    match failure {
        None => {
            let mut output = output.lock();
            Ok(std::mem::take(&mut output.bytes))
        }
        Some(failure) => Err(fail(failure, stderr)),
    }
}

enum Failure {
    Instantiate(String),
    Run(wasmtime::Error),
}

/// Instantiates the module and calls its entry points; a command's result
/// is 0.
fn call(loaded: &LoadedModule, store: &mut Store<TaskState>) -> Result<i32, Failure> {
    let instance = loaded.pre.instantiate(&mut *store).map_err(|error| {
        // Traps and limits in instantiation are reported like those of a
        // run; anything else is the host's failure to instantiate.
        if error.downcast_ref::<Trap>().is_some() || store.data().limits.exceeded {
            Failure::Run(error)
        } else {
            Failure::Instantiate(format!("{error:#}"))
        }
    })?;
    match &loaded.kind {
        Kind::Command { start } => {
            let start = entry(&instance, store, start)
                .typed::<(), ()>(&*store)
                .map_err(Failure::Run)?;
            start.call(&mut *store, ()).map_err(Failure::Run)?;
            Ok(0)
        }
        Kind::Reactor { initialize, run } => {
            if let Some(initialize) = initialize {
                let initialize = entry(&instance, store, initialize)
                    .typed::<(), ()>(&*store)
                    .map_err(Failure::Run)?;
                initialize.call(&mut *store, ()).map_err(Failure::Run)?;
            }
            let run = entry(&instance, store, run)
                .typed::<(), i32>(&*store)
                .map_err(Failure::Run)?;
            run.call(&mut *store, ()).map_err(Failure::Run)
        }
    }
}

fn entry(
    instance: &Instance,
    store: &mut Store<TaskState>,
    export: &ModuleExport,
) -> wasmtime::Func {
    instance
        .get_module_export(&mut *store, export)
        .and_then(Extern::into_func)
        .expect("entry points are checked to be functions when the module loads")
}

/// What an error out of the guest means; `None` for `proc_exit(0)`.
fn run_failure(error: &wasmtime::Error, fuel: Option<u64>) -> Option<TaskFailure> {
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return (exit.0 != 0).then_some(TaskFailure::Exit(exit.0));
    }
    if let (Some(Trap::OutOfFuel), Some(fuel)) = (error.downcast_ref::<Trap>(), fuel) {
        return Some(TaskFailure::Fuel(fuel));
    }
    let backtrace = error
        .downcast_ref::<WasmBacktrace>()
        .filter(|backtrace| !backtrace.frames().is_empty())
        .filter(|backtrace| backtrace.frames().len() <= MAX_BACKTRACE_FRAMES)
        .map(|backtrace| {
            // wasmtime heads it "error while executing at wasm backtrace:".
            let text = backtrace.to_string();
            let frames = text.split_once('\n').map_or("", |(_, frames)| frames);
            format!("guest backtrace:\n{frames}")
        });
    Some(TaskFailure::Trap {
        message: error.root_cause().to_string(),
        backtrace,
    })
}
