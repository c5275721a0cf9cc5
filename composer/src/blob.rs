//! The blob provider: a generated component that exports `wasm-rr:rr/embedded` and returns a
//! fixed byte string (the recorder's configuration or the trace to replay).

use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::Resolve;

/// wasm-rr's own WIT package, which declares `wasm-rr:rr/embedded` and the `blob-provider` world.
pub const RR_WIT: &str = include_str!("../../wit/deps/rr.wit");

/// Where the (pointer, length) pair the export returns lives in the module's memory.
const RET_AREA: u32 = 0;
/// Where the blob starts in the module's memory.
const BLOB_AT: u32 = 16;
const PAGE: u64 = 65536;

/// Builds a component exporting `wasm-rr:rr/embedded` whose `blob` returns `blob`.
///
/// Errors: only if wit-component rejects the module (a bug), or the blob exceeds 4 GiB.
pub fn blob_provider(blob: &[u8]) -> anyhow::Result<Vec<u8>> {
    let len = u32::try_from(blob.len())
        .ok()
        .filter(|l| l.checked_add(BLOB_AT).is_some())
        .ok_or_else(|| anyhow::anyhow!("the blob is {} bytes; at most 4 GiB fit", blob.len()))?;

    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: (BLOB_AT as u64 + len as u64).div_ceil(PAGE).max(1),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("wasm-rr:rr/embedded#blob", ExportKind::Func, 0);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instructions().i32_const(RET_AREA as i32).end();
    code.function(&body);
    let mut data = DataSection::new();
    let ret: Vec<u8> = [BLOB_AT.to_le_bytes(), len.to_le_bytes()].concat();
    data.active(0, &ConstExpr::i32_const(RET_AREA as i32), ret);
    data.active(
        0,
        &ConstExpr::i32_const(BLOB_AT as i32),
        blob.iter().copied(),
    );

    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data);
    let mut module = module.finish();

    let mut resolve = Resolve::default();
    let pkg = resolve.push_str("rr.wit", RR_WIT)?;
    let world = resolve.select_world(&[pkg], Some("blob-provider"))?;
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8, false)?;
    ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
}
