//! A compiled module ready to instantiate: what kind it is, whether it
//! needs WASI, and its `InstancePre`, all worked out once per module.

use std::sync::Arc;

use wasmtime::{ExternType, FuncType, InstancePre, Module, ModuleExport, ValType};

use crate::engine::WasmEngine;
use crate::error::WasmError;
use crate::run::TaskState;

/// The import module of WASI preview 1.
const WASI_P1: &str = "wasi_snapshot_preview1";

/// How a module is run.
#[derive(Clone)]
pub(crate) enum Kind {
    /// A WASI command: `_start` runs once; `proc_exit` ends it.
    Command { start: ModuleExport },
    /// A CloudButton reactor: `_initialize` (if exported), then
    /// `cloudbutton_run`.
    Reactor {
        initialize: Option<ModuleExport>,
        run: ModuleExport,
    },
}

/// A module loaded into one engine.
pub(crate) struct LoadedModule {
    pub(crate) module: Module,
    pub(crate) pre: InstancePre<TaskState>,
    pub(crate) kind: Kind,
    /// Whether it imports WASI: if not, no WASI context is built for it.
    pub(crate) uses_wasi: bool,
    /// `name (short hash)`, for messages and logs.
    pub(crate) label: Arc<str>,
}

impl LoadedModule {
    /// Works out how to run `module`, refusing one without an entry point
    /// or with imports that no host provides.
    pub(crate) fn new(
        engine: &WasmEngine,
        module: Module,
        label: &str,
    ) -> Result<LoadedModule, WasmError> {
        let unsupported = |reason: String| WasmError::Unsupported {
            module: label.to_owned(),
            reason,
        };

        let kind = if let Some(run) =
            entry(&module, "cloudbutton_run", &[], &[ValType::I32]).map_err(unsupported)?
        {
            let initialize = entry(&module, "_initialize", &[], &[]).map_err(unsupported)?;
            Kind::Reactor { initialize, run }
        } else if let Some(start) = entry(&module, "_start", &[], &[]).map_err(unsupported)? {
            Kind::Command { start }
        } else {
            return Err(unsupported(
                "it exports neither `_start` (a WASI command) nor `cloudbutton_run` (a \
                 CloudButton reactor)"
                    .to_owned(),
            ));
        };

        let uses_wasi = module.imports().any(|import| import.module() == WASI_P1);
        let pre = engine.linker.instantiate_pre(&module).map_err(|error| {
            unsupported(format!(
                "{error:#}; the host provides the `{}` functions and WASI preview 1 \
                 (`{WASI_P1}`)",
                crate::abi::MODULE
            ))
        })?;
        Ok(LoadedModule {
            module,
            pre,
            kind,
            uses_wasi,
            label: Arc::from(label),
        })
    }
}

/// The export `name` if it is a function of the given type; an error if it
/// exists with another type.
fn entry(
    module: &Module,
    name: &str,
    params: &[ValType],
    results: &[ValType],
) -> Result<Option<ModuleExport>, String> {
    let Some(export) = module.get_export(name) else {
        return Ok(None);
    };
    let wanted = FuncType::new(
        module.engine(),
        params.iter().cloned(),
        results.iter().cloned(),
    );
    match export {
        ExternType::Func(found) if FuncType::eq(&found, &wanted) => {
            Ok(module.get_export_index(name))
        }
        ExternType::Func(found) => Err(format!(
            "its export `{name}` has type {found}, but must have type {wanted}"
        )),
        _ => Err(format!(
            "its export `{name}` is not a function; it must be one of type {wanted}"
        )),
    }
}
