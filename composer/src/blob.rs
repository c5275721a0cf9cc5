//! The blob provider: a generated component that exports `wasm-rr:rr/embedded` and serves a
//! fixed byte string (the recorder's configuration or the trace to replay) piece by piece:
//! `size()` and `read(offset, len)`, which hands out a slice of its data segment.

use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
    Instruction, MemArg, MemArgTarget, MemorySection, MemoryType, Module, RawSection, TypeSection,
    ValType,
};
use wasmparser::{Parser, Payload};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::Resolve;

/// wasm-rr's own WIT package, which declares `wasm-rr:rr/embedded` and the `blob-provider` world.
pub const RR_WIT: &str = include_str!("../../wit/deps/rr.wit");

/// Where the (pointer, length) pair `read` returns lives in the module's memory.
const RET_AREA: u32 = 0;
/// Where the blob starts in the module's memory.
const BLOB_AT: u32 = 16;
const PAGE: u64 = 65536;

/// Builds a component exporting `wasm-rr:rr/embedded` that serves `blob`.
///
/// The component is made by wit-component around a module whose data segment is empty, then
/// written anew with `blob` as that segment: `blob` is copied once (into the module), and the
/// module once more (into the component), so that a trace of any size is embedded in about
/// twice its size of memory.
///
/// Errors: only if wit-component rejects the module (a bug), or the blob exceeds 4 GiB.
pub fn blob_provider(blob: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let len = u32::try_from(blob.len())
        .ok()
        .filter(|l| l.checked_add(BLOB_AT).is_some())
        .ok_or_else(|| anyhow::anyhow!("the blob is {} bytes; at most 4 GiB fit", blob.len()))?;
    let template = provider_template(len)?;
    let mut data = DataSection::new();
    data.active(
        0,
        &ConstExpr::i32_const(BLOB_AT as i32),
        blob.iter().copied(),
    );
    drop(blob);
    with_data(&template, data)
}

/// The blob provider for a blob of `len` bytes, its data segment left empty.
fn provider_template(len: u32) -> anyhow::Result<Vec<u8>> {
    let size = i64::from(len);
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I64]);
    types
        .ty()
        .function([ValType::I64, ValType::I64], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0);
    functions.function(1);
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
    exports.export("wasm-rr:rr/embedded#size", ExportKind::Func, 0);
    exports.export("wasm-rr:rr/embedded#read", ExportKind::Func, 1);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instructions().i64_const(size).end();
    code.function(&body);
    code.function(&read_body(size));
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(BLOB_AT as i32), []);

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

/// `component` (a blob provider made by [`provider_template`]: one core module, with one data
/// section) with that module's data section replaced by `data`; every other section is copied
/// as it is.
///
/// Errors: a component of another shape (a bug).
fn with_data(component: &[u8], data: DataSection) -> anyhow::Result<Vec<u8>> {
    let mut data = Some(data);
    let mut out = wasm_encoder::Component::new();
    let mut depth = 0u32;
    let mut modules = 0;
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload?;
        match &payload {
            Payload::ModuleSection {
                unchecked_range, ..
            } if depth == 0 => {
                modules += 1;
                // The data section is dropped once in the module, before the module is copied.
                let data = data.take().ok_or_else(|| {
                    anyhow::anyhow!("internal error: the blob provider holds 2 modules")
                })?;
                let module = module_with_data(
                    &component[unchecked_range.start as usize..unchecked_range.end as usize],
                    &data,
                )?;
                drop(data);
                out.section(&wasm_encoder::ModuleSection(&module));
                depth += 1;
                continue;
            }
            Payload::ComponentSection {
                unchecked_range, ..
            } if depth == 0 => {
                // Copied whole; its own sections are skipped below.
                out.section(&RawSection {
                    id: wasm_encoder::ComponentSectionId::Component as u8,
                    data: &component[unchecked_range.start as usize..unchecked_range.end as usize],
                });
                depth += 1;
                continue;
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                depth += 1;
                continue;
            }
            Payload::End(_) if depth > 0 => {
                depth -= 1;
                continue;
            }
            _ if depth > 0 => continue,
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            out.section(&RawSection {
                id,
                data: &component[range.start as usize..range.end as usize],
            });
        }
    }
    anyhow::ensure!(
        modules == 1,
        "internal error: the blob provider holds {modules} modules, not 1"
    );
    Ok(out.finish())
}

/// `module` with its data section replaced by `data`.
fn module_with_data(module: &[u8], data: &DataSection) -> anyhow::Result<Module> {
    let mut out = Module::new();
    let mut replaced = false;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload?;
        if let Payload::DataSection(_) = payload {
            out.section(data);
            replaced = true;
        } else if let Some((id, range)) = payload.as_section() {
            out.section(&RawSection {
                id,
                data: &module[range.start as usize..range.end as usize],
            });
        }
    }
    anyhow::ensure!(
        replaced,
        "internal error: the blob provider's module has no data section"
    );
    Ok(out)
}

/// `read(offset: i64, len: i64) -> i32`: clamps `offset` and `len` to the blob, writes the
/// slice's (pointer, length) at [`RET_AREA`] and returns [`RET_AREA`].
fn read_body(size: i64) -> Function {
    const OFFSET: u32 = 0;
    const LEN: u32 = 1;
    const START: u32 = 2;
    let mut f = Function::new([(1, ValType::I64)]);
    let store = |offset| MemArg {
        offset,
        align: 2,
        target: MemArgTarget::Memory(0),
        ordering: None,
    };
    for i in [
        // start = min(offset, size)
        Instruction::LocalGet(OFFSET),
        Instruction::I64Const(size),
        Instruction::LocalGet(OFFSET),
        Instruction::I64Const(size),
        Instruction::I64LtU,
        Instruction::Select,
        Instruction::LocalSet(START),
        // ret.ptr = BLOB_AT + start
        Instruction::I32Const(RET_AREA as i32),
        Instruction::LocalGet(START),
        Instruction::I32WrapI64,
        Instruction::I32Const(BLOB_AT as i32),
        Instruction::I32Add,
        Instruction::I32Store(store(0)),
        // ret.len = min(len, size - start)
        Instruction::I32Const(RET_AREA as i32),
        Instruction::LocalGet(LEN),
        Instruction::I64Const(size),
        Instruction::LocalGet(START),
        Instruction::I64Sub,
        Instruction::LocalGet(LEN),
        Instruction::I64Const(size),
        Instruction::LocalGet(START),
        Instruction::I64Sub,
        Instruction::I64LtU,
        Instruction::Select,
        Instruction::I32WrapI64,
        Instruction::I32Store(store(4)),
        Instruction::I32Const(RET_AREA as i32),
        Instruction::End,
    ] {
        f.instruction(&i);
    }
    f
}
