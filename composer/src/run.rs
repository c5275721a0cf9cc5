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
/// guest's, so that the wrapper plugs into it and the host finds it under the same name).
///
/// Errors: [`WrapError::Compose`] when `wit-component` rejects what was generated (a bug).
pub fn run_wrapper(export: &str) -> Result<Vec<u8>, WrapError> {
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
    let world = push_world(
        &mut resolve,
        "run-wrapper",
        &format!("  import wasm-rr:rr/control;\n  import {export};\n  export {export};\n"),
    )?;
    componentize(module(export), &resolve, world).map_err(err)
}

/// The core module: imports the guest's `run` (0), `run-starting` (1) and `run-returned` (2);
/// exports `run`, which calls them in the order 1, 0, 2, passing the guest's status (a
/// `result` without payloads: one `i32`) to `run-returned` and returning its answer.
fn module(export: &str) -> Vec<u8> {
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
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut exports = ExportSection::new();
    exports.export(&format!("{export}#run"), ExportKind::Func, 3);
    let mut body = Function::new([]);
    body.instructions().call(1).call(0).call(2).end();
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
