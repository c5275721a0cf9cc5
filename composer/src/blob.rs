//! The blob provider: a generated component that exports `wasm-rr:rr/embedded` and serves a
//! fixed byte string (the recorder's configuration or the trace to replay) piece by piece:
//! `size()` and `read(offset, len)`, which hands out a slice of its data segment; it watches no
//! event (`first-watched` and `watched` return 2^64 - 1).

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

/// What a blob provider made by [`blob_provider_for`] holds until [`fill_blob`] puts the blob in
/// its place: its one data segment.
const PLACEHOLDER: &[u8; 32] = b"wasm-rr: the blob goes here.\0\0\0\0";

/// Builds a component exporting `wasm-rr:rr/embedded` that serves `blob`.
///
/// Errors: as [`blob_provider_for`] and [`fill_blob`].
pub fn blob_provider(blob: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let template = blob_provider_for(blob.len())?;
    fill_blob(&template, blob)
}

/// Builds a component exporting `wasm-rr:rr/embedded` that will serve a blob of `len` bytes,
/// once [`fill_blob`] has put it in (it holds a placeholder until then). Composing it is cheap
/// whatever `len`; the blob is put in the composed component at the end, so that it is copied
/// as few times as possible.
///
/// Errors: only if wit-component rejects the module (a bug), or `len` exceeds 4 GiB.
pub fn blob_provider_for(len: usize) -> anyhow::Result<Vec<u8>> {
    let len = u32::try_from(len)
        .ok()
        .filter(|l| l.checked_add(BLOB_AT).is_some())
        .ok_or_else(|| anyhow::anyhow!("the blob is {len} bytes; at most 4 GiB fit"))?;
    let size = i64::from(len);
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I64]);
    types
        .ty()
        .function([ValType::I64, ValType::I64], [ValType::I32]);
    types.ty().function([ValType::I64], [ValType::I64]);
    let mut functions = FunctionSection::new();
    functions.function(0); // size
    functions.function(1); // read
    functions.function(0); // first-watched
    functions.function(2); // watched
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: (BLOB_AT as u64 + u64::from(len).max(PLACEHOLDER.len() as u64)).div_ceil(PAGE),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("wasm-rr:rr/embedded#size", ExportKind::Func, 0);
    exports.export("wasm-rr:rr/embedded#read", ExportKind::Func, 1);
    exports.export("wasm-rr:rr/embedded#first-watched", ExportKind::Func, 2);
    exports.export("wasm-rr:rr/embedded#watched", ExportKind::Func, 3);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instructions().i64_const(size).end();
    code.function(&body);
    code.function(&read_body(size));
    // A blob provider watches no event: both return 2^64 - 1.
    let mut none = Function::new([]);
    none.instructions().i64_const(-1).end();
    code.function(&none);
    code.function(&none);
    let mut data = DataSection::new();
    data.active(
        0,
        &ConstExpr::i32_const(BLOB_AT as i32),
        PLACEHOLDER.iter().copied(),
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

/// `component` (a blob provider made by [`blob_provider_for`], or a component that holds one,
/// nested at any depth) with the provider's placeholder replaced by `blob`, which must be of the
/// length the provider was made for. Every other section is copied as it is.
///
/// The blob is copied into a data section, then each enclosing level is written once, each
/// copy dropped before the next: the peak is about twice the blob.
///
/// Errors: a component with no blob provider (a bug), or one that does not parse.
pub fn fill_blob(component: &[u8], blob: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let mut data = DataSection::new();
    data.active(
        0,
        &ConstExpr::i32_const(BLOB_AT as i32),
        blob.iter().copied(),
    );
    drop(blob);
    let mut data = Some(data);
    let filled = fill(component, &mut data)?;
    anyhow::ensure!(
        data.is_none(),
        "internal error: the component holds no blob provider"
    );
    Ok(filled)
}

/// Whether `bytes` (a module or a component) holds the placeholder.
fn holds_placeholder(bytes: &[u8]) -> bool {
    bytes
        .windows(PLACEHOLDER.len())
        .any(|w| w == PLACEHOLDER.as_slice())
}

/// `component` written anew, the module holding the placeholder given `data` (taken).
fn fill(component: &[u8], data: &mut Option<DataSection>) -> anyhow::Result<Vec<u8>> {
    let mut out = wasm_encoder::Component::new();
    let mut depth = 0u32;
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload?;
        match &payload {
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } if depth == 0 => {
                depth += 1;
                let inner =
                    &component[unchecked_range.start as usize..unchecked_range.end as usize];
                let module = matches!(payload, Payload::ModuleSection { .. });
                if data.is_none() || !holds_placeholder(inner) {
                    let id = if module {
                        wasm_encoder::ComponentSectionId::CoreModule
                    } else {
                        wasm_encoder::ComponentSectionId::Component
                    };
                    out.section(&RawSection {
                        id: id as u8,
                        data: inner,
                    });
                } else if module {
                    // The data section is dropped once in the module, before the module is
                    // copied.
                    let section = data.take().expect("checked above");
                    let filled = module_with_data(inner, &section)?;
                    drop(section);
                    out.section(&wasm_encoder::ModuleSection(&filled));
                } else {
                    let filled = fill(inner, data)?;
                    out.section(&RawSection {
                        id: wasm_encoder::ComponentSectionId::Component as u8,
                        data: &filled,
                    });
                }
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
    Ok(out.finish())
}

/// `module` (the blob provider's) with its data section, the placeholder, replaced by `data`.
///
/// Errors: a module whose data section is not the placeholder alone (not a blob provider).
fn module_with_data(module: &[u8], data: &DataSection) -> anyhow::Result<Module> {
    let mut out = Module::new();
    let mut replaced = false;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload?;
        if let Payload::DataSection(segments) = &payload {
            let segments: Vec<_> = segments.clone().into_iter().collect::<Result<_, _>>()?;
            if let [only] = &segments[..]
                && only.data == PLACEHOLDER.as_slice()
            {
                out.section(data);
                replaced = true;
                continue;
            }
        }
        if let Some((id, range)) = payload.as_section() {
            out.section(&RawSection {
                id,
                data: &module[range.start as usize..range.end as usize],
            });
        }
    }
    anyhow::ensure!(
        replaced,
        "internal error: a module holding the blob placeholder is no blob provider"
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
