//! The run wrapper of a WASI 0.3 command, made at wrap time: a component that exports the
//! guest's `wasi:cli/run@0.3.x` and imports it from the guest, and tells the interposer
//! (`wasm-rr:rr/control`) when the run starts and when it returns, as the prebuilt run wrapper
//! does for `wasi:cli/run@0.2.x`.
//!
//! `run` is an `async func` in WASI 0.3. The wrapper lifts and lowers it synchronously (which
//! the component model allows for an async function type: the wrapper's task blocks until the
//! guest's `run` has returned), so its core module is three calls and needs no memory: the
//! guest's own `run` stays async-lifted, and its tasks run concurrently as they would unwrapped.

use crate::WrapError;
use crate::generic::{componentize, push_rr, push_world};
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    Module, TypeSection, ValType,
};
use wit_parser::Resolve;

/// The run wrapper for a guest that exports `export` (`wasi:cli/run@0.3.2`; the version is the
/// guest's, so that the wrapper plugs into it and the host finds it under the same name). With
/// `drive`, it also imports `wasm-rr:rr/pump`, the driver of the streams the forwarder pumps:
/// it calls `drive` async-lowered before the guest's `run` (the driver runs beside it, as a
/// subtask) and cancels it once `run` has returned, before `run-returned` writes the trace out.
///
/// Errors: [`WrapError::Compose`] when `wit-component` rejects what was generated (a bug).
pub fn run_wrapper(export: &str, drive: bool) -> Result<Vec<u8>, WrapError> {
    let err = |e: anyhow::Error| WrapError::Compose(format!("the 0.3 run wrapper: {e:#}"));
    let version = crate::split_version(export).1.unwrap_or("0.3.0");
    let mut resolve = Resolve::default();
    resolve
        .push_str(
            "cli.wit",
            &format!(
                "package wasi:cli@{version};\ninterface run {{\n  run: async func() -> result;\n}}\n"
            ),
        )
        .map_err(err)?;
    // `wasm-rr:rr`, for `control`.
    push_rr(&mut resolve)?;
    let pump = if drive {
        format!("  import {};\n", crate::generic::PUMP)
    } else {
        String::new()
    };
    let world = push_world(
        &mut resolve,
        "run-wrapper",
        &format!("  import wasm-rr:rr/control;\n  import {export};\n  export {export};\n{pump}"),
    )?;
    componentize(module(export, drive), &resolve, world).map_err(err)
}

/// The core module: imports the guest's `run` (0), `run-starting` (1) and `run-returned` (2);
/// exports `run`, which calls them in the order 1, 0, 2, passing the guest's status (a
/// `result` without payloads: one `i32`) to `run-returned` and returning its answer. With
/// `drive`, it also imports `drive` async-lowered (3), `subtask.cancel` (4) and `subtask.drop`
/// (5), and starts the driver after 1 and cancels it after 0.
fn module(export: &str, drive: bool) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]); // 0: run
    types.ty().function([], []); // 1: run-starting
    types.ty().function([ValType::I32], [ValType::I32]); // 2: run-returned
    let mut imports = ImportSection::new();
    imports.import(export, "run", EntityType::Function(0));
    imports.import(
        "wasm-rr:rr/control",
        "run-starting",
        EntityType::Function(1),
    );
    imports.import(
        "wasm-rr:rr/control",
        "run-returned",
        EntityType::Function(2),
    );
    let mut run = 3;
    if drive {
        types.ty().function([], [ValType::I32]); // 3: drive, async: status
        types.ty().function([ValType::I32], [ValType::I32]); // 4: subtask.cancel
        types.ty().function([ValType::I32], []); // 5: subtask.drop
        let pump = crate::generic::PUMP;
        imports.import(pump, "[async-lower]drive", EntityType::Function(3));
        imports.import("$root", "[subtask-cancel]", EntityType::Function(4));
        imports.import("$root", "[subtask-drop]", EntityType::Function(5));
        run = 6;
    }
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut exports = ExportSection::new();
    exports.export(&format!("{export}#run"), ExportKind::Func, run);
    // Local 0 (with `drive`): the driver's subtask; local 1: the guest's status.
    let mut body = Function::new([(2, ValType::I32)]);
    let mut ins = body.instructions();
    ins.call(1);
    if drive {
        // The driver never returns by itself: it has started, as a subtask (status >> 4).
        ins.call(3).i32_const(4).i32_shr_u().local_set(0);
    }
    ins.call(0);
    if drive {
        ins.local_set(1)
            .local_get(0)
            .call(4)
            .drop()
            .local_get(0)
            .call(5)
            .local_get(1);
    }
    ins.call(2).end();
    let mut code = CodeSection::new();
    code.function(&body);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&exports)
        .section(&code);
    module.finish()
}
