//! The preopens filter of a recording: a component made at wrap time that stands between the
//! host's `wasi:filesystem/preopens@0.3.x` and the forwarder, and hides the trace directory
//! (`/wasm-rr`, where the recording component writes its trace) from `get-directories`, as
//! the interposer does for WASI 0.2's. So a recorded app lists the preopens it lists
//! unwrapped, and its trace (and replay) holds that list; nor can it reach the trace directory.

use crate::WrapError;
use crate::generic::{componentize, push_world};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, ImportSection, MemArg, MemorySection, MemoryType,
    Module, TypeSection, ValType,
};
use wasm_rr_trace::protocol::TRACE_DIR;

/// Where the filter's allocator starts (below: the return area).
const HEAP: i32 = 1024;

/// The filter for `preopens`, the guest's `wasi:filesystem/preopens@0.3.x` import (the
/// component imports it, and the `types` interface of the same version, from the host, and
/// exports it). `guest` is the app, whose WIT gives the interfaces' types.
///
/// Errors: [`WrapError::NotAComponent`] when the guest's WIT does not decode;
/// [`WrapError::Compose`] when `wit-component` rejects what was generated (a bug).
pub fn preopens_filter(guest: &[u8], preopens: &str) -> Result<Vec<u8>, WrapError> {
    let decoded =
        wit_component::decode(guest).map_err(|e| WrapError::NotAComponent(format!("{e:#}")))?;
    let mut resolve = decoded.resolve().clone();
    let types = preopens.replacen("/preopens@", "/types@", 1);
    let world = push_world(
        &mut resolve,
        "preopens-filter",
        &format!("  import {types};\n  import {preopens};\n  export {preopens};\n"),
    )?;
    componentize(module(preopens, &types), &resolve, world)
        .map_err(|e| WrapError::Compose(format!("the preopens filter: {e:#}")))
}

/// The core module: imports the host's `get-directories` (0, lowered: it writes the list's
/// address and length at the address it is given) and `descriptor`'s drop (1); exports
/// `get-directories`, which calls the host's, drops the trace directory's descriptor, takes its
/// entry out of the list (entries are `tuple<own<descriptor>, string>`: the handle, then the
/// string's address and length, 12 bytes) and returns the list; a bump allocator as
/// `cabi_realloc` (global 0), reset by the post-return.
fn module(preopens: &str, types: &str) -> Vec<u8> {
    let mut t = TypeSection::new();
    t.ty().function([ValType::I32], []); // 0: get-directories lowered, resource drop
    t.ty().function([ValType::I32; 4], [ValType::I32]); // 1: cabi_realloc
    t.ty().function([], [ValType::I32]); // 2: get-directories lifted
    let mut imports = ImportSection::new();
    imports.import(preopens, "get-directories", EntityType::Function(0));
    imports.import(types, "[resource-drop]descriptor", EntityType::Function(0));
    let mut functions = FunctionSection::new();
    functions.function(1); // 2: cabi_realloc
    functions.function(2); // 3: get-directories
    functions.function(0); // 4: its post-return
    let mut memory = MemorySection::new();
    memory.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i32_const(HEAP),
    );
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("cabi_realloc", ExportKind::Func, 2);
    let export = format!("{preopens}#get-directories");
    exports.export(&export, ExportKind::Func, 3);
    exports.export(&format!("cabi_post_{export}"), ExportKind::Func, 4);
    let mut code = CodeSection::new();
    code.function(&crate::generic::realloc_body());
    code.function(&filter_body());
    let mut post = Function::new([]);
    post.instructions().i32_const(HEAP).global_set(0).end();
    code.function(&post);
    let mut module = Module::new();
    module
        .section(&t)
        .section(&imports)
        .section(&functions)
        .section(&memory)
        .section(&globals)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// The exported `get-directories` (see [`module`]); the return area is at address 0.
fn filter_body() -> Function {
    let name = i64::from_le_bytes(
        TRACE_DIR
            .as_bytes()
            .try_into()
            .expect("the trace directory's name is 8 bytes"),
    );
    let at = |offset: u64, align: u32| MemArg {
        offset,
        align,
        target: Default::default(),
        ordering: None,
    };
    // Locals: 0 the list, 1 its length, 2 the entry read, 3 the entries kept, 4 the entry.
    let (list, len, i, kept, entry) = (0, 1, 2, 3, 4);
    let mut f = Function::new([(5, ValType::I32)]);
    let mut ins = f.instructions();
    ins.i32_const(0)
        .call(0)
        .i32_const(0)
        .i32_load(at(0, 2))
        .local_set(list)
        .i32_const(0)
        .i32_load(at(4, 2))
        .local_set(len)
        .block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(i)
        .local_get(len)
        .i32_ge_u()
        .br_if(1)
        .local_get(list)
        .local_get(i)
        .i32_const(12)
        .i32_mul()
        .i32_add()
        .local_set(entry)
        // The trace directory: a name of 8 bytes, those of TRACE_DIR.
        .block(BlockType::Empty)
        .block(BlockType::Empty)
        .local_get(entry)
        .i32_load(at(8, 2))
        .i32_const(8)
        .i32_ne()
        .br_if(0)
        .local_get(entry)
        .i32_load(at(4, 2))
        .i64_load(at(0, 0))
        .i64_const(name)
        .i64_ne()
        .br_if(0)
        .local_get(entry)
        .i32_load(at(0, 2))
        .call(1)
        .br(1)
        .end()
        // Any other: kept, moved down over those taken out.
        .local_get(list)
        .local_get(kept)
        .i32_const(12)
        .i32_mul()
        .i32_add()
        .local_get(entry)
        .i32_const(12)
        .memory_copy(0, 0)
        .local_get(kept)
        .i32_const(1)
        .i32_add()
        .local_set(kept)
        .end()
        .local_get(i)
        .i32_const(1)
        .i32_add()
        .local_set(i)
        .br(0)
        .end()
        .end()
        .i32_const(0)
        .local_get(kept)
        .i32_store(at(4, 2))
        .i32_const(0)
        .end();
    f
}
