//! The generic path for imports without a hand-written interposer module: components made at
//! wrap time from the guest's own WIT, with no toolchain (no cargo, no clang).
//!
//! This is the first step of recording any interface: [`forwarder`] makes a component that
//! imports some of the guest's interfaces and exports the same ones, each exported function
//! calling its import with the same arguments and returning its results. Its core module is
//! generated with `wasm-encoder` from the canonical ABI signatures `wit-parser` gives
//! ([`Resolve::wasm_signature`]), and `wit-component` makes the component around it, so the
//! lifting and lowering of every WIT type (strings, lists, records, variants, options,
//! results, tuples, flags, enums) is wit-component's and wasmtime's, not ours:
//!
//! - arguments the caller lifts into the forwarder's memory (through its `cabi_realloc`, a bump
//!   allocator) are passed to the import as they are: the import is lowered with the same
//!   memory;
//! - results the import returns through a return area are returned by pointer to the same
//!   area; a `cabi_post-…` function per export resets the allocator once the caller has them.
//!
//! A recording forwarder hands every answered call over to `wasm-rr:rr/generic.called`: the
//! function's number, its flat arguments and results, and a copy of its heap, which holds
//! everything they point to, so that the values can be read out of it by the types
//! [`abi_type`] gives (with `wasm_rr_trace::abi`). Resources are refused for now (their handles
//! need a table between the imported and the exported resource type); the interposer's side
//! and replaying are the next steps (see `docs/src/architecture.md`).

use crate::WrapError;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, ImportSection, MemorySection, MemoryType, Module,
    TypeSection, ValType,
};
use wasm_rr_trace::abi::Ty;
use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{Function as WitFunction, InterfaceId, Resolve, Type, TypeDefKind, WorldItem};

/// Where the forwarder's allocator starts: the bytes below are never handed out.
const HEAP_BASE: i32 = 1024;

/// wasm-rr's own WIT package (`wasm-rr:rr`), for the forwarder's `wasm-rr:rr/generic` import.
const RR_WIT: &str = include_str!("../../wit/deps/rr.wit");

/// The interface through which a recording forwarder hands over its calls.
const GENERIC: &str = "wasm-rr:rr/generic";

/// The core value type of a canonical ABI flat type.
fn val_type(t: &WasmType) -> ValType {
    match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => ValType::I32,
        WasmType::I64 | WasmType::PointerOrI64 => ValType::I64,
        WasmType::F32 => ValType::F32,
        WasmType::F64 => ValType::F64,
    }
}

/// `ty`'s canonical ABI layout, for the value walker ([`wasm_rr_trace::abi`]); the error names
/// what the generic path does not record yet (resources, streams, futures, maps, error
/// contexts).
pub fn abi_type(resolve: &Resolve, ty: &Type) -> Result<Ty, String> {
    let of = |t: &Type| abi_type(resolve, t);
    let of_all = |ts: &mut dyn Iterator<Item = &Type>| ts.map(of).collect::<Result<Vec<_>, _>>();
    let optional = |t: Option<&Type>| t.map(of).transpose();
    Ok(match ty {
        Type::Bool => Ty::Bool,
        Type::U8 => Ty::U8,
        Type::U16 => Ty::U16,
        Type::U32 => Ty::U32,
        Type::U64 => Ty::U64,
        Type::S8 => Ty::S8,
        Type::S16 => Ty::S16,
        Type::S32 => Ty::S32,
        Type::S64 => Ty::S64,
        Type::F32 => Ty::F32,
        Type::F64 => Ty::F64,
        Type::Char => Ty::Char,
        Type::String => Ty::String,
        Type::ErrorContext => return Err("an error-context".into()),
        Type::Id(id) => match &resolve.types[*id].kind {
            TypeDefKind::Type(t) => of(t)?,
            TypeDefKind::Record(r) => Ty::Record(of_all(&mut r.fields.iter().map(|f| &f.ty))?),
            TypeDefKind::Tuple(t) => Ty::Record(of_all(&mut t.types.iter())?),
            TypeDefKind::FixedLengthList(t, n) => Ty::Record(vec![of(t)?; *n as usize]),
            TypeDefKind::List(t) => Ty::List(Box::new(of(t)?)),
            TypeDefKind::Variant(v) => Ty::Variant(
                v.cases
                    .iter()
                    .map(|c| optional(c.ty.as_ref()))
                    .collect::<Result<_, _>>()?,
            ),
            TypeDefKind::Enum(e) => Ty::Variant(vec![None; e.cases.len()]),
            TypeDefKind::Option(t) => Ty::Variant(vec![None, Some(of(t)?)]),
            TypeDefKind::Result(r) => {
                Ty::Variant(vec![optional(r.ok.as_ref())?, optional(r.err.as_ref())?])
            }
            TypeDefKind::Flags(f) => Ty::Flags(f.flags.len() as u32),
            TypeDefKind::Map(..) => return Err("a map".into()),
            TypeDefKind::Resource | TypeDefKind::Handle(_) => {
                return Err("a resource handle".into());
            }
            TypeDefKind::Future(_) => return Err("a future".into()),
            TypeDefKind::Stream(_) => return Err("a stream".into()),
            TypeDefKind::Unknown => return Err("a type of unknown kind".into()),
        },
    })
}

/// Why `func` cannot go through a forwarder, if it cannot.
fn refusal(resolve: &Resolve, func: &WitFunction) -> Option<String> {
    if func.kind.resource().is_some() {
        return Some(format!(
            "`{}` is a resource's function; resources are not recorded generically yet",
            func.name
        ));
    }
    if func.kind.is_async() {
        return Some(format!(
            "`{}` is an async function; the generic path handles synchronous ones",
            func.name
        ));
    }
    let mut types = func.params.iter().map(|p| &p.ty).chain(func.result.iter());
    types.find_map(|t| abi_type(resolve, t).err()).map(|what| {
        format!(
            "`{}` takes or returns {what}, which is not recorded generically yet",
            func.name
        )
    })
}

/// The interface `name` (e.g. `wasi:config/store@0.2.0-rc.1`) among the imports of `resolve`'s
/// world `world`.
fn imported_interface(
    resolve: &Resolve,
    world: wit_parser::WorldId,
    name: &str,
) -> Option<InterfaceId> {
    resolve.worlds[world]
        .imports
        .iter()
        .find_map(|(key, item)| match item {
            WorldItem::Interface { id, .. } if resolve.name_world_key(key) == name => Some(*id),
            _ => None,
        })
}

/// A component that imports the interfaces `interfaces` (full names, as the guest imports them)
/// and exports the same ones, each function forwarded to its import unchanged (see the module
/// docs). Its imports are what `guest` imports under those names, so it plugs into the guest
/// and a stock runtime that provides them runs it. With `recording`, it also imports
/// `wasm-rr:rr/generic` and hands every answered call to its `called` (functions numbered in
/// the order of `interfaces`, then of their functions in the WIT).
///
/// Errors: [`WrapError::NotAComponent`] when `guest`'s WIT does not decode,
/// [`WrapError::NotImported`] when `guest` does not import one of `interfaces`,
/// [`WrapError::Unsupported`] naming the interface and the reason when one uses resources,
/// streams, futures or async functions, and [`WrapError::Compose`] when `wit-component`
/// rejects what was generated (a bug).
pub fn forwarder(
    guest: &[u8],
    interfaces: &[String],
    recording: bool,
) -> Result<Vec<u8>, WrapError> {
    let decoded =
        wit_component::decode(guest).map_err(|e| WrapError::NotAComponent(format!("{e:#}")))?;
    let wit_component::DecodedWasm::Component(mut resolve, guest_world) = decoded else {
        return Err(WrapError::NotAComponent(
            "it is a WIT package, not a component".into(),
        ));
    };
    let mut ids = Vec::new();
    for name in interfaces {
        let id = imported_interface(&resolve, guest_world, name)
            .ok_or_else(|| WrapError::NotImported(name.clone()))?;
        if let Some(reason) = resolve.interfaces[id]
            .functions
            .values()
            .find_map(|f| refusal(&resolve, f))
        {
            return Err(WrapError::Unsupported {
                import: name.clone(),
                reason,
            });
        }
        ids.push(id);
    }
    // The forwarder's world: `import I; export I;` for each, in a package of its own (the
    // interfaces' own packages are already in `resolve`, decoded from the guest).
    let mut lines: String = interfaces
        .iter()
        .map(|i| format!("  import {i};\n  export {i};\n"))
        .collect();
    if recording {
        resolve
            .push_str("rr.wit", RR_WIT)
            .map_err(|e| WrapError::Compose(format!("wasm-rr's WIT: {e:#}")))?;
        lines += &format!("  import {GENERIC};\n");
    }
    let wit = format!("package wasm-rr:generic;\nworld forwarder {{\n{lines}}}\n");
    let package = resolve
        .push_str("forwarder.wit", &wit)
        .map_err(|e| WrapError::Compose(format!("the forwarder's world: {e:#}")))?;
    let world = resolve
        .select_world(&[package], Some("forwarder"))
        .map_err(|e| WrapError::Compose(format!("{e:#}")))?;
    let mut functions: Vec<(String, WitFunction)> = Vec::new();
    for (name, id) in interfaces.iter().zip(&ids) {
        for f in resolve.interfaces[*id].functions.values() {
            functions.push((name.clone(), f.clone()));
        }
    }
    let mut sizes = wit_parser::SizeAlign::default();
    sizes
        .fill(&resolve)
        .map_err(|e| WrapError::Compose(format!("{e:#}")))?;
    componentize(
        forwarding_module(&resolve, &sizes, &functions, recording),
        &resolve,
        world,
    )
    .map_err(|e| WrapError::Compose(format!("the forwarder: {e:#}")))
}

/// The component around the core module `module`, which implements `resolve`'s world `world`
/// (its imports and exports named as `wit-component` expects, strings in UTF-8), validated.
///
/// Errors: `wit-component`'s, when the module does not fit the world.
pub fn componentize(
    mut module: Vec<u8>,
    resolve: &Resolve,
    world: wit_parser::WorldId,
) -> anyhow::Result<Vec<u8>> {
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )?;
    wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
}

/// Calls `cabi_realloc` (function `realloc`) for a new block of `size` bytes aligned to 8, and
/// keeps its address in `local`.
fn alloc(ins: &mut wasm_encoder::InstructionSink, realloc: u32, size: i32, local: u32) {
    ins.i32_const(0)
        .i32_const(0)
        .i32_const(8)
        .i32_const(size)
        .call(realloc)
        .local_set(local);
}

/// An 8-byte-aligned access at `offset` in memory 0.
fn word(offset: u64) -> wasm_encoder::MemArg {
    wasm_encoder::MemArg {
        offset,
        align: 3,
        target: Default::default(),
        ordering: None,
    }
}

/// Pushes `local` (of core type `ty`) as an `i64` holding its bits (see
/// [`wasm_rr_trace::abi::lift_flat`]).
fn push_bits(ins: &mut wasm_encoder::InstructionSink, local: u32, ty: &WasmType) {
    ins.local_get(local);
    match val_type(ty) {
        ValType::I32 => ins.i64_extend_i32_u(),
        ValType::F32 => ins.i32_reinterpret_f32().i64_extend_i32_u(),
        ValType::F64 => ins.i64_reinterpret_f64(),
        _ => ins,
    };
}

/// The forwarder's core module for `functions` (interface name, function), handing each
/// answered call to `wasm-rr:rr/generic.called` when `recording`.
///
/// Function indices: the imports first (one per function, in order, then `called` when
/// recording), then `cabi_realloc`, then one export and one post-return function per function.
fn forwarding_module(
    resolve: &Resolve,
    sizes: &wit_parser::SizeAlign,
    functions: &[(String, WitFunction)],
    recording: bool,
) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut defined = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let signatures: Vec<_> = functions
        .iter()
        .map(|(_, f)| {
            (
                resolve.wasm_signature(AbiVariant::GuestImport, f),
                resolve.wasm_signature(AbiVariant::GuestExport, f),
            )
        })
        .collect();
    let mut next_type = 0;
    let mut new_type = |types: &mut TypeSection, params: &[WasmType], results: &[WasmType]| {
        types
            .ty()
            .function(params.iter().map(val_type), results.iter().map(val_type));
        next_type += 1;
        next_type - 1
    };
    for ((interface, f), (import, _)) in functions.iter().zip(&signatures) {
        let ty = new_type(&mut types, &import.params, &import.results);
        imports.import(interface, &f.name, EntityType::Function(ty));
    }
    let called = functions.len() as u32;
    if recording {
        let ty = new_type(&mut types, &[WasmType::I32; 8], &[]);
        imports.import(GENERIC, "called", EntityType::Function(ty));
    }
    let realloc = called + u32::from(recording);
    let i32s = [WasmType::I32; 4];
    let ty = new_type(&mut types, &i32s, &[WasmType::I32]);
    defined.function(ty);
    code.function(&realloc_body());
    exports.export("cabi_realloc", ExportKind::Func, realloc);
    let mut index = realloc + 1;
    for (i, ((interface, f), (import, export))) in functions.iter().zip(&signatures).enumerate() {
        let ty = new_type(&mut types, &export.params, &export.results);
        defined.function(ty);
        let params = export.params.len() as u32;
        // Locals after the parameters: the return area, the single flat result, and (when
        // recording) the lists of arguments and results handed to `called`.
        let (area, result, args, results) = (params, params + 1, params + 2, params + 3);
        let flat_result = export.results.first().filter(|_| !import.retptr);
        let mut locals = vec![(2, ValType::I32)];
        locals.push((1, flat_result.map_or(ValType::I32, val_type)));
        locals.push((2, ValType::I32));
        let mut body = Function::new(locals);
        let mut ins = body.instructions();
        if import.retptr {
            // The return area: 8-aligned, as large as the results' canonical ABI layout.
            let size = f
                .result
                .as_ref()
                .map_or(0, |t| sizes.size(t).size_wasm32())
                .max(8) as i32;
            alloc(&mut ins, realloc, size, area);
        }
        for p in 0..params {
            ins.local_get(p);
        }
        if import.retptr {
            ins.local_get(area);
        }
        ins.call(i as u32);
        if flat_result.is_some() {
            ins.local_set(result);
        }
        if recording {
            // The arguments' bits, then the results' (the return area's address, or the one
            // flat result), as `list<u64>`s in the heap.
            let results_len = i32::from(import.retptr || flat_result.is_some());
            alloc(&mut ins, realloc, 8 * params as i32, args);
            for (p, ty) in export.params.iter().enumerate() {
                ins.local_get(args);
                push_bits(&mut ins, p as u32, ty);
                ins.i64_store(word(8 * p as u64));
            }
            alloc(&mut ins, realloc, 8 * results_len, results);
            if results_len == 1 {
                ins.local_get(results);
                match flat_result {
                    Some(ty) => push_bits(&mut ins, result, ty),
                    None => push_bits(&mut ins, area, &WasmType::I32),
                }
                ins.i64_store(word(0));
            }
            ins.i32_const(i as i32)
                .local_get(args)
                .i32_const(params as i32)
                .local_get(results)
                .i32_const(results_len)
                .i32_const(HEAP_BASE)
                .i32_const(HEAP_BASE)
                .global_get(0)
                .i32_const(HEAP_BASE)
                .i32_sub()
                .call(called);
        }
        if import.retptr {
            ins.local_get(area);
        } else if flat_result.is_some() {
            ins.local_get(result);
        }
        ins.end();
        code.function(&body);
        exports.export(&format!("{interface}#{}", f.name), ExportKind::Func, index);
        // Post-return: the caller has the results; everything allocated since is free again.
        let ty = new_type(&mut types, &export.results, &[]);
        defined.function(ty);
        let mut post = Function::new(vec![]);
        post.instructions().i32_const(HEAP_BASE).global_set(0).end();
        code.function(&post);
        exports.export(
            &format!("cabi_post_{interface}#{}", f.name),
            ExportKind::Func,
            index + 1,
        );
        index += 2;
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    exports.export("memory", ExportKind::Memory, 0);
    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i32_const(HEAP_BASE),
    );
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&defined)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// `cabi_realloc(old_ptr, old_size, align, new_size) -> ptr`: a bump allocator over the global
/// `0`, growing the memory as needed and copying the old bytes on a reallocation.
fn realloc_body() -> Function {
    // Parameters 0..4; local 4: the new pointer.
    let mut f = Function::new(vec![(1, ValType::I32)]);
    f.instructions()
        // ptr = (bump + align - 1) & -align
        .global_get(0)
        .local_get(2)
        .i32_add()
        .i32_const(1)
        .i32_sub()
        .i32_const(0)
        .local_get(2)
        .i32_sub()
        .i32_and()
        .local_tee(4)
        .local_get(3)
        .i32_add()
        .global_set(0)
        // Grow the memory when the bump passes its end (by the pages missing, rounded up).
        .block(BlockType::Empty)
        .global_get(0)
        .memory_size(0)
        .i32_const(16)
        .i32_shl()
        .i32_le_u()
        .br_if(0)
        .global_get(0)
        .memory_size(0)
        .i32_const(16)
        .i32_shl()
        .i32_sub()
        .i32_const(65535)
        .i32_add()
        .i32_const(16)
        .i32_shr_u()
        .memory_grow(0)
        .i32_const(-1)
        .i32_eq()
        .if_(BlockType::Empty)
        .unreachable()
        .end()
        .end()
        .local_get(4)
        .local_get(0)
        .local_get(1)
        .memory_copy(0, 0)
        .local_get(4)
        .end();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use wit_parser::abi::FlatTypes;

    /// Every WIT type the generic path lays out, as function parameters and results.
    const TYPES: &str = r#"
package acme:types@0.1.0;
interface all {
  record point { x: f64, y: f32, label: string, tag: u8 }
  variant shape { none, circle(f64), poly(list<point>), named(tuple<string, u16>) }
  enum colour { red, green, blue }
  flags small { a, b, c }
  flags big {
    g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15, g16, g17, g18, g19
  }
  variant error { upstream(string), io(string), code(s64) }
  one: func(a: bool, b: s8, c: u16, d: s32, e: u64, f: char, g: string) -> result<option<string>, error>;
  two: func(p: point, s: shape) -> list<tuple<colour, small, big>>;
  three: func(o: option<option<u32>>, r: result<_, f32>) -> result<shape, colour>;
  four: func(l: list<list<u8>>) -> tuple<u8>;
}
"#;

    #[test]
    fn layouts_are_wit_parsers() {
        let mut resolve = Resolve::default();
        let pkg = resolve.push_str("types.wit", TYPES).unwrap();
        let iface = resolve.packages[pkg].interfaces["all"];
        let mut sizes = wit_parser::SizeAlign::default();
        sizes.fill(&resolve).unwrap();
        let mut checked = 0;
        for f in resolve.interfaces[iface].functions.values() {
            for ty in f.params.iter().map(|p| &p.ty).chain(f.result.iter()) {
                let abi = abi_type(&resolve, ty).unwrap();
                let expected = (sizes.size(ty).size_wasm32(), sizes.align(ty).align_wasm32());
                assert_eq!(
                    (abi.size() as usize, abi.align() as usize),
                    expected,
                    "{f:?}: {ty:?}"
                );
                let mut buffer = [WasmType::I32; 64];
                let mut flat = FlatTypes::new(&mut buffer);
                assert!(resolve.push_flat(ty, &mut flat));
                assert_eq!(abi.flat_count(), flat.to_vec().len(), "{ty:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 16);
    }
}
