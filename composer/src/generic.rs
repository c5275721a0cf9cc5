//! The generic path for imports without a hand-written interposer module: components made at
//! wrap time from the guest's own WIT, with no toolchain (no cargo, no clang).
//!
//! [`forwarder`] makes a component that exports some of the guest's imported interfaces and
//! (recording) imports the same ones, each exported function calling its import with the same
//! arguments and returning its results. Its core module is
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
//! [`wit_type`] gives (with `wasm_rr_trace::abi`). A replaying forwarder imports none of the
//! interfaces: `wasm-rr:rr/generic.replay` lays each call's recorded results out in its heap.
//! The interfaces' resources are exported as the forwarder's own, wrapping the host's handles
//! or the trace's numbers (see `docs/src/architecture.md`, "Interfaces without a module").

use crate::WrapError;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, ImportSection, MemorySection, MemoryType, Module,
    TypeSection, ValType,
};
use wasm_rr_trace::abi::Ty;
use wasm_rr_trace::generic::{Function as TracedFunction, WitType};
use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{
    Function as WitFunction, Handle, InterfaceId, Resolve, Type, TypeDefKind, TypeId, TypeOwner,
    WorldId, WorldItem,
};
use wit_parser::{
    LiftLowerAbi, ManglingAndAbi, ResourceIntrinsic, WasmExport, WasmImport, WorldKey,
};

mod pump;

/// Where the forwarder's allocator starts: the bytes below are never handed out (the slots of
/// the streams being pumped lie between 1024 and here, see [`pump`]).
const HEAP_BASE: i32 = pump::SLOTS_BASE + pump::SLOTS * pump::SLOT_SIZE;

/// wasm-rr's own WIT package (`wasm-rr:rr`), for the forwarder's `wasm-rr:rr/generic` import.
const RR_WIT: &str = include_str!("../../wit/deps/rr.wit");

/// The interface through which a recording forwarder hands over its calls.
const GENERIC: &str = "wasm-rr:rr/generic";

/// The interface of the driver of a forwarder's streams (see [`pump`]), which the 0.3 run
/// wrapper starts.
pub(crate) const PUMP: &str = "wasm-rr:rr/pump";

/// The core value type of a canonical ABI flat type.
pub(crate) fn val_type(t: &WasmType) -> ValType {
    match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => ValType::I32,
        WasmType::I64 | WasmType::PointerOrI64 => ValType::I64,
        WasmType::F32 => ValType::F32,
        WasmType::F64 => ValType::F64,
    }
}

/// `ty` as the trace keeps it (with its names; [`WitType::layout`] gives its canonical ABI
/// layout for the value walker, [`wasm_rr_trace::abi`]); the error names what the generic path
/// does not record yet (resources, streams, futures, maps, error contexts).
///
/// `resources` are the resource types the generic path records (those of the forwarded
/// interfaces), whose handles are numbered by their place in it.
pub fn wit_type(resolve: &Resolve, resources: &[TypeId], ty: &Type) -> Result<WitType, String> {
    let of = |t: &Type| wit_type(resolve, resources, t);
    let boxed = |t: &Type| of(t).map(Box::new);
    let optional = |t: Option<&Type>| t.map(of).transpose();
    let optional_box = |t: Option<&Type>| t.map(boxed).transpose();
    Ok(match ty {
        Type::Bool => WitType::Bool,
        Type::U8 => WitType::U8,
        Type::U16 => WitType::U16,
        Type::U32 => WitType::U32,
        Type::U64 => WitType::U64,
        Type::S8 => WitType::S8,
        Type::S16 => WitType::S16,
        Type::S32 => WitType::S32,
        Type::S64 => WitType::S64,
        Type::F32 => WitType::F32,
        Type::F64 => WitType::F64,
        Type::Char => WitType::Char,
        Type::String => WitType::String,
        Type::ErrorContext => return Err("an error-context".into()),
        Type::Id(id) => match &resolve.types[*id].kind {
            TypeDefKind::Type(t) => of(t)?,
            TypeDefKind::Record(r) => WitType::Record(
                r.fields
                    .iter()
                    .map(|f| Ok((f.name.clone(), of(&f.ty)?)))
                    .collect::<Result<_, String>>()?,
            ),
            TypeDefKind::Tuple(t) => {
                WitType::Tuple(t.types.iter().map(of).collect::<Result<_, _>>()?)
            }
            TypeDefKind::FixedLengthList(t, n) => WitType::Tuple(vec![of(t)?; *n as usize]),
            TypeDefKind::List(t) => WitType::List(boxed(t)?),
            TypeDefKind::Variant(v) => WitType::Variant(
                v.cases
                    .iter()
                    .map(|c| Ok((c.name.clone(), optional(c.ty.as_ref())?)))
                    .collect::<Result<_, String>>()?,
            ),
            TypeDefKind::Enum(e) => WitType::Enum(e.cases.iter().map(|c| c.name.clone()).collect()),
            TypeDefKind::Option(t) => WitType::Option(boxed(t)?),
            TypeDefKind::Result(r) => {
                WitType::Result(optional_box(r.ok.as_ref())?, optional_box(r.err.as_ref())?)
            }
            TypeDefKind::Flags(f) => {
                WitType::Flags(f.flags.iter().map(|f| f.name.clone()).collect())
            }
            TypeDefKind::Map(..) => return Err("a map".into()),
            TypeDefKind::Handle(h) => {
                let (Handle::Own(id) | Handle::Borrow(id)) = h;
                let id = dealias(resolve, *id);
                let name = resolve.types[id].name.clone().unwrap_or_default();
                let Some(resource) = resources.iter().position(|r| *r == id) else {
                    return Err(format!(
                        "a handle of the resource `{name}` of another interface"
                    ));
                };
                let resource = resource as u32;
                match h {
                    Handle::Own(_) => WitType::Own { resource, name },
                    Handle::Borrow(_) => WitType::Borrow { resource, name },
                }
            }
            TypeDefKind::Resource => return Err("a resource".into()),
            TypeDefKind::Future(_) => return Err("a future".into()),
            TypeDefKind::Stream(_) => return Err("a stream".into()),
            TypeDefKind::Unknown => return Err("a type of unknown kind".into()),
        },
    })
}

/// `ty`'s canonical ABI layout (see [`wit_type`]; no resources).
pub fn abi_type(resolve: &Resolve, ty: &Type) -> Result<Ty, String> {
    wit_type(resolve, &[], ty).map(|t| t.layout())
}

/// The type `id` stands for, through `type a = b` aliases and `use`s.
fn dealias(resolve: &Resolve, mut id: TypeId) -> TypeId {
    while let TypeDefKind::Type(Type::Id(next)) = resolve.types[id].kind {
        id = next;
    }
    id
}

/// The resource types of the interfaces `ids`, in their order, then the order of their types.
fn resources_of(resolve: &Resolve, ids: &[InterfaceId]) -> Vec<TypeId> {
    ids.iter()
        .flat_map(|i| resolve.interfaces[*i].types.values())
        .copied()
        .filter(|t| matches!(resolve.types[*t].kind, TypeDefKind::Resource))
        .collect()
}

/// The interface that defines the resource type `id`, as a world key (for the canonical ABI
/// names of its intrinsics).
fn resource_interface(resolve: &Resolve, id: TypeId) -> WorldKey {
    match resolve.types[id].owner {
        TypeOwner::Interface(i) => WorldKey::Interface(i),
        // `resources_of` takes the types of interfaces only.
        _ => unreachable!("a resource of a forwarded interface"),
    }
}

/// Whether `ty` holds an `own` handle.
fn holds_own(ty: &WitType) -> bool {
    let opt = |t: &Option<Box<WitType>>| t.as_deref().is_some_and(holds_own);
    match ty {
        WitType::Own { .. } => true,
        WitType::List(t) | WitType::Option(t) => holds_own(t),
        WitType::Record(fields) => fields.iter().any(|(_, t)| holds_own(t)),
        WitType::Tuple(types) => types.iter().any(holds_own),
        WitType::Variant(cases) => cases.iter().any(|(_, t)| t.as_ref().is_some_and(holds_own)),
        WitType::Result(ok, err) => opt(ok) || opt(err),
        _ => false,
    }
}

/// Why `func` cannot go through a forwarder, if it cannot.
fn refusal(resolve: &Resolve, resources: &[TypeId], func: &WitFunction) -> Option<String> {
    if pump::pump_fn(resolve, resources, func).is_some() {
        return None;
    }
    let not_recorded = |what: String| {
        format!(
            "`{}` takes or returns {what}, which is not recorded generically yet",
            func.name
        )
    };
    // Parameters first, then the result.
    let types: Vec<WitType> = match func
        .params
        .iter()
        .map(|p| wit_type(resolve, resources, &p.ty))
        .collect()
    {
        Ok(types) => types,
        Err(what) => return Some(not_recorded(what)),
    };
    if let Some(Err(what)) = func
        .result
        .as_ref()
        .map(|t| wit_type(resolve, resources, t))
    {
        return Some(not_recorded(what));
    }
    // An owned handle passed to the host: as a parameter of its own, among at most 16 flat
    // parameters (the forwarder hands the host's handle over in place of its own).
    let flat: usize = types.iter().map(|t| t.layout().flat_count()).sum();
    func.params
        .iter()
        .zip(&types)
        .find(|(_, t)| {
            !matches!(t, WitType::Own { .. }) && holds_own(t)
                || matches!(t, WitType::Own { .. }) && flat > MAX_FLAT_PARAMS
        })
        .map(|(p, _)| {
            format!(
                "`{}` takes ownership of a resource inside another value (parameter `{}`), which the generic path does not record yet",
                func.name, p.name
            )
        })
}

/// The canonical ABI's most flat parameters: more are passed in memory, through a pointer.
const MAX_FLAT_PARAMS: usize = 16;

/// Whether `func` of `interface` passes the app's stream straight to the host's function,
/// recording and replaying alike: WASI 0.3's `wasi:cli/stdout` and `stderr`
/// `write-via-stream`, whose bytes are output (printed by the host, as unwrapped; not in the
/// trace). The call is recorded (without its stream) and checked on replay; the future the
/// host returns goes to the app as it is. The replaying component imports these two
/// interfaces.
fn passed_through(interface: &Option<String>, func: &WitFunction) -> bool {
    func.name == "write-via-stream"
        && interface.as_deref().is_some_and(|i| {
            i.starts_with("wasi:cli/stdout@0.3.") || i.starts_with("wasi:cli/stderr@0.3.")
        })
}

/// Whether a recording or replaying forwarder runs `func` as a subtask of its own, so that
/// the app's concurrent calls of it run concurrently: an async function (WASI 0.3's
/// `wait-for`, `wasi:http`'s `client.send`) whose arguments the async ABI passes to the host
/// as the app passed them (at most 4 flat values, or in memory). Owned handles passed in
/// are the host's (or the trace's) in place of the forwarder's, and those in the result are
/// wrapped in the forwarder's (the patches `finished` and `ready` list). The forwarder
/// lifts it with the async ABI (a callback), calls the host's async-lowered, records its
/// start (`wasm-rr:rr/generic.started`) and its return when the host completes it
/// (`finished`), and returns with `task.return`; replaying, it returns when the trace says
/// (`ready`). Other async functions block the forwarder until the host answers.
fn concurrent(resolve: &Resolve, func: &WitFunction) -> bool {
    func.kind.is_async()
        && resolve
            .wasm_signature(AbiVariant::GuestImportAsync, func)
            .indirect_params
            == resolve
                .wasm_signature(AbiVariant::GuestExport, func)
                .indirect_params
}

/// The core types of `task.return` for `func`: its result's flat types, or one pointer when
/// they are more than [`MAX_FLAT_PARAMS`].
fn task_return_params(resolve: &Resolve, func: &WitFunction) -> Vec<WasmType> {
    let Some(ty) = &func.result else {
        return Vec::new();
    };
    let mut storage = [WasmType::I32; MAX_FLAT_PARAMS];
    let mut flat = wit_parser::abi::FlatTypes::new(&mut storage);
    if resolve.push_flat(ty, &mut flat) {
        flat.to_vec()
    } else {
        vec![WasmType::Pointer]
    }
}

/// Pushes the flat values listed (as `u64` bits) at the address in local `list`, converted to
/// `types` (see [`push_bits`]).
fn push_flat_values(ins: &mut wasm_encoder::InstructionSink, list: u32, types: &[WasmType]) {
    for (j, t) in types.iter().enumerate() {
        ins.local_get(list).i64_load(word(8 * j as u64));
        match val_type(t) {
            ValType::I32 => ins.i32_wrap_i64(),
            ValType::F32 => ins.i32_wrap_i64().f32_reinterpret_i32(),
            ValType::F64 => ins.f64_reinterpret_i64(),
            _ => ins,
        };
    }
}

/// One subtask fewer in flight (global 2); with none left, the heap is free again.
fn subtask_done(ins: &mut wasm_encoder::InstructionSink) {
    ins.global_get(2).i32_const(1).i32_sub().global_set(2);
    free_heap_if_idle(ins);
}

/// Frees everything the bump allocator handed out (global 0 back to [`HEAP_BASE`]), unless a
/// subtask is in flight (global 2), whose values are in the heap too.
fn free_heap_if_idle(ins: &mut wasm_encoder::InstructionSink) {
    ins.global_get(2)
        .i32_eqz()
        .if_(BlockType::Empty)
        .i32_const(HEAP_BASE)
        .global_set(0)
        .end();
}

/// The hook through which a subtask returns: `ready` replaying (the trace says when),
/// `finished` recording (the host's result, logged).
fn finish_hook(replaying: bool) -> &'static str {
    if replaying { "ready" } else { "finished" }
}

/// Pushes the callback code that waits on the waitable set the state block at local `state`
/// holds (at offset 8): `set << 4 | WAIT`.
fn wait_code(ins: &mut wasm_encoder::InstructionSink, state: u32) {
    ins.local_get(state)
        .i32_load(word(8).with_align(2))
        .i32_const(4)
        .i32_shl()
        .i32_const(callback::WAIT)
        .i32_or();
}

/// Keeps the task number (local `task`) and its area (local `area`) in the state block at
/// local `state`, at offsets 0 and 4 (see [`call_return`]).
fn save_task(ins: &mut wasm_encoder::InstructionSink, state: u32, task: u32, area: u32) {
    ins.local_get(state)
        .local_get(task)
        .i32_store(word(0).with_align(2));
    ins.local_get(state)
        .local_get(area)
        .i32_store(word(4).with_align(2));
}

/// Calls a subtask's return function `ret` with the task number and the area the state block
/// at local `state` holds (at offsets 0 and 4), and, replaying, whether the app asked to
/// cancel it (offset 8).
fn call_return(ins: &mut wasm_encoder::InstructionSink, state: u32, ret: u32, replaying: bool) {
    ins.local_get(state)
        .i32_load(word(0).with_align(2))
        .local_get(state)
        .i32_load(word(4).with_align(2));
    if replaying {
        ins.local_get(state).i32_load(word(8).with_align(2));
    }
    ins.call(ret);
}

/// Drops the host's subtask (local `subtask`), once it is resolved, and the waitable set the
/// state block at local `state` holds (offset 8).
fn drop_subtask(
    ins: &mut wasm_encoder::InstructionSink,
    sub: &SubtaskImports,
    subtask: u32,
    state: u32,
) {
    ins.local_get(subtask)
        .i32_const(0)
        .call(sub.join)
        .local_get(subtask)
        .call(sub.subtask_drop)
        .local_get(state)
        .i32_load(word(8).with_align(2))
        .call(sub.set_drop);
}

/// Turns the flag on the stack (the subtask returned) into the callback code `EXIT`, else
/// `YIELD` (replaying: ask again once the app's other tasks have run).
fn exit_or_yield(ins: &mut wasm_encoder::InstructionSink) {
    ins.if_(BlockType::Result(ValType::I32))
        .i32_const(callback::EXIT)
        .else_()
        .i32_const(callback::YIELD)
        .end();
}

/// The component model's callback codes and events (the async ABI's callback lifting).
pub(crate) mod callback {
    pub const EXIT: i32 = 0;
    pub const YIELD: i32 = 1;
    pub const WAIT: i32 = 2;
    pub const EVENT_SUBTASK: i32 = 1;
    pub const EVENT_STREAM_READ: i32 = 2;
    pub const EVENT_CANCELLED: i32 = 6;
    pub const RETURNED: i32 = 2;
}

/// The flat positions of `func`'s parameters that are owned handles, with their resources'
/// numbers (see [`refusal`]: only parameters of their own are).
fn owned_params(resolve: &Resolve, resources: &[TypeId], func: &WitFunction) -> Vec<(u32, u32)> {
    let mut at = 0;
    let mut out = Vec::new();
    for p in &func.params {
        let Ok(t) = wit_type(resolve, resources, &p.ty) else {
            continue;
        };
        if let WitType::Own { resource, .. } = t {
            out.push((at, resource));
        }
        at += t.layout().flat_count() as u32;
    }
    out
}

/// The interface `name` (e.g. `wasi:config/store@0.2.0-rc.1`) among the imports of `resolve`'s
/// world `world`.
fn imported_interface(resolve: &Resolve, world: WorldId, name: &str) -> Option<InterfaceId> {
    resolve.worlds[world]
        .imports
        .iter()
        .find_map(|(key, item)| match item {
            WorldItem::Interface { id, .. } if resolve.name_world_key(key) == name => Some(*id),
            _ => None,
        })
}

/// What a forwarder does with the calls of its exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarding {
    /// Passes each call to its import and returns its results, nothing more.
    Plain,
    /// Also hands every answered call to `wasm-rr:rr/generic.called` (the recording
    /// component).
    Record,
    /// Imports none of the interfaces: asks `wasm-rr:rr/generic.replay` for each call's
    /// results, laid out in its heap (the replaying component).
    Replay,
    /// Forwards a library component's exports to it (its imports are the app's exports):
    /// hands each call to `wasm-rr:rr/generic.invoked` before the app runs it, and the results
    /// to `returned` after (the recording component of a library).
    RecordExports,
}

/// Whether any function of `interfaces` (the interfaces `ids`) pumps a stream (see [`pump`]).
fn has_streams(
    resolve: &Resolve,
    ids: &[InterfaceId],
    interfaces: &[String],
    resources: &[TypeId],
) -> bool {
    interfaces.iter().zip(ids).any(|(name, id)| {
        resolve.interfaces[*id].functions.values().any(|f| {
            !passed_through(&Some(name.clone()), f)
                && pump::pump_fn(resolve, resources, f).is_some()
        })
    })
}

/// The guest's WIT, the interfaces `interfaces` among its imports, checked for the generic
/// path, and their resource types (see [`resources_of`]).
fn guest_interfaces(
    guest: &[u8],
    interfaces: &[String],
) -> Result<(Resolve, Vec<InterfaceId>, Vec<TypeId>), WrapError> {
    let decoded =
        wit_component::decode(guest).map_err(|e| WrapError::NotAComponent(format!("{e:#}")))?;
    let wit_component::DecodedWasm::Component(resolve, guest_world) = decoded else {
        return Err(WrapError::NotAComponent(
            "it is a WIT package, not a component".into(),
        ));
    };
    let mut resolve = resolve;
    let mut ids = Vec::new();
    for name in interfaces {
        // A WASI 0.3 HTTP service's requests and responses (see `serve`): wasm-rr's own
        // interface, which the forwarder forwards from the mailbox to the handler wrapper.
        if name == crate::serve::SERVE_REQUESTS {
            let exports: Vec<String> = resolve.worlds[guest_world]
                .exports
                .keys()
                .map(|k| resolve.name_world_key(k))
                .collect();
            let version = crate::serve::service_version(&exports)
                .ok_or_else(|| WrapError::NotImported(name.clone()))?
                .to_string();
            ids.push(crate::serve::push_serve(&mut resolve, &version)?);
            continue;
        }
        let id = imported_interface(&resolve, guest_world, name)
            .ok_or_else(|| WrapError::NotImported(name.clone()))?;
        ids.push(id);
    }
    let resources = resources_of(&resolve, &ids);
    for (name, id) in interfaces.iter().zip(&ids) {
        if let Some(reason) = resolve.interfaces[*id]
            .functions
            .values()
            .filter(|f| !passed_through(&Some(name.clone()), f))
            .find_map(|f| refusal(&resolve, &resources, f))
        {
            return Err(WrapError::Unsupported {
                import: name.clone(),
                reason,
            });
        }
    }
    Ok((resolve, ids, resources))
}

/// The functions of the interfaces `interfaces` that `guest` imports, as the trace header lists
/// them, numbered as a forwarder numbers them (in the order of `interfaces`, then of their
/// functions in the WIT).
///
/// Errors: as [`forwarder`].
pub fn generic_functions(
    guest: &[u8],
    interfaces: &[String],
) -> Result<Vec<TracedFunction>, WrapError> {
    let (resolve, ids, resources) = guest_interfaces(guest, interfaces)?;
    let mut out = Vec::new();
    for (name, id) in interfaces.iter().zip(&ids) {
        for f in resolve.interfaces[*id].functions.values() {
            out.push(traced(&resolve, &resources, name.clone(), f, false)?);
        }
    }
    Ok(out)
}

/// `f` of `interface` as the trace header lists it, its handles numbered by `resources`.
///
/// Errors: [`WrapError::Compose`] for a type `refusal` should have refused (a bug).
fn traced(
    resolve: &Resolve,
    resources: &[TypeId],
    interface: String,
    f: &WitFunction,
    export: bool,
) -> Result<TracedFunction, WrapError> {
    let of = |t: &Type| wit_type(resolve, resources, t).map_err(WrapError::Compose);
    if passed_through(&Some(interface.clone()), f) {
        // Recorded without the stream (`write-via-stream()`), nor the host's future.
        return Ok(TracedFunction {
            export,
            interface,
            name: f.name.clone(),
            params: Vec::new(),
            result: None,
            stream: None,
            future: None,
        });
    }
    // A stream function: recorded without its stream, its result the future's value. An
    // opened one: without its streams and futures, its result the handles it returns beside
    // them, and the future's value apart.
    let shape = pump::pump_fn(resolve, resources, f);
    let opened = shape.as_ref().and_then(|s| s.opened.as_ref());
    let result = match (&shape, opened) {
        (Some(_), Some(o)) => o
            .results
            .iter()
            .zip(result_elements(resolve, f))
            .find(|(e, _)| matches!(e, pump::Element::Own(_)))
            .map(|(_, t)| t),
        (Some(s), None) => s.payload,
        (None, _) => f.result,
    };
    Ok(TracedFunction {
        export,
        interface,
        name: f.name.clone(),
        params: f
            .params
            .iter()
            .enumerate()
            .filter(|(i, p)| match (&shape, opened) {
                (Some(_), Some(_)) => !pump::is_stream_or_future(resolve, &p.ty),
                (Some(s), None) => s.stream_param != Some(*i),
                _ => true,
            })
            .map(|(_, p)| Ok((p.name.clone(), of(&p.ty)?)))
            .collect::<Result<_, WrapError>>()?,
        result: match shape.as_ref().and_then(|s| s.listened) {
            // A listener's: its result without the stream, `result<_, E>`.
            Some(l) => {
                let err = l.err.as_ref().map(of).transpose()?.map(Box::new);
                Some(WitType::Result(None, err))
            }
            None => result.as_ref().map(of).transpose()?,
        },
        stream: shape
            .as_ref()
            .and_then(|s| s.values.as_ref())
            .map(of)
            .transpose()?,
        future: match opened {
            Some(_) => shape
                .as_ref()
                .and_then(|s| s.payload.as_ref())
                .map(of)
                .transpose()?,
            None => None,
        },
    })
}

/// The elements of `f`'s result: a tuple's, or the result alone.
fn result_elements(resolve: &Resolve, f: &WitFunction) -> Vec<Type> {
    match &f.result {
        Some(Type::Id(id)) => match &resolve.types[dealias(resolve, *id)].kind {
            TypeDefKind::Tuple(t) => t.types.clone(),
            _ => vec![Type::Id(*id)],
        },
        Some(t) => vec![*t],
        None => Vec::new(),
    }
}

/// A component that exports the interfaces `interfaces` (full names, as the guest imports them),
/// so that it plugs into the guest, and answers their calls as `forwarding` says: with
/// [`Forwarding::Plain`] and [`Forwarding::Record`] it imports the same interfaces (what the
/// guest imports under those names, so that a stock runtime that provides them runs it) and
/// calls them with the same arguments; recording, it also imports `wasm-rr:rr/generic` and
/// hands every answered call to its `called`. With [`Forwarding::Replay`] it imports only
/// `wasm-rr:rr/generic`, whose `replay` gives each call's results. Functions are numbered in
/// the order of `interfaces`, then of their functions in the WIT (as [`generic_functions`]
/// lists them).
///
/// Errors: [`WrapError::NotAComponent`] when `guest`'s WIT does not decode,
/// [`WrapError::NotImported`] when `guest` does not import one of `interfaces`,
/// [`WrapError::Unsupported`] naming the interface and the reason when one passes an owned
/// handle inside another value, another interface's resources, streams, futures or async
/// functions (or, with [`Forwarding::Plain`], any resource), and [`WrapError::Compose`] when
/// `wit-component` rejects what was generated (a bug).
pub fn forwarder(
    guest: &[u8],
    interfaces: &[String],
    forwarding: Forwarding,
) -> Result<Vec<u8>, WrapError> {
    let (mut resolve, ids, resources) = guest_interfaces(guest, interfaces)?;
    // The forwarder's world: `import I; export I;` for each, in a package of its own (the
    // interfaces' own packages are already in `resolve`, decoded from the guest).
    let mut lines: String = interfaces
        .iter()
        .zip(&ids)
        .map(|(i, id)| {
            let through = resolve.interfaces[*id]
                .functions
                .values()
                .any(|f| passed_through(&Some(i.clone()), f));
            match forwarding {
                Forwarding::Replay if !through => format!("  export {i};\n"),
                _ => format!("  import {i};\n  export {i};\n"),
            }
        })
        .collect();
    let mut rr = None;
    if forwarding != Forwarding::Plain {
        rr = Some(push_rr(&mut resolve)?);
        lines += &format!("  import {GENERIC};\n");
        if has_streams(&resolve, &ids, interfaces, &resources) {
            lines += &format!("  export {PUMP};\n");
        }
    }
    let world = push_world(&mut resolve, "forwarder", &lines)?;
    let mut functions: Vec<Forwarded> = Vec::new();
    for (name, id) in interfaces.iter().zip(&ids) {
        for f in resolve.interfaces[*id].functions.values() {
            functions.push((Some(name.clone()), f.clone()));
        }
    }
    let sizes = sizes_of(&resolve)?;
    // The signatures of the `wasm-rr:rr/generic` functions the forwarder calls.
    let hooks = rr.map(|rr| {
        let name = match forwarding {
            Forwarding::Replay => "replay",
            _ => "called",
        };
        let finish = finish_hook(forwarding == Forwarding::Replay);
        Hooks {
            name,
            sig: hook_signature(&resolve, rr, name),
            dropped: hook_signature(&resolve, rr, "dropped"),
            after: None,
            subtasks: Some((
                hook_signature(&resolve, rr, "started"),
                hook_signature(&resolve, rr, finish),
                (forwarding != Forwarding::Replay)
                    .then(|| hook_signature(&resolve, rr, "cancelled")),
            )),
            pumps: Some(
                [
                    "stream-wrote",
                    "stream-read",
                    "next-read",
                    "settled",
                    "stream-read-values",
                    "next-values",
                    "too-many-streams",
                    "future-read",
                    "opened",
                    "reopened",
                ]
                .map(|name| hook_signature(&resolve, rr, name)),
            ),
        }
    });
    let streams = functions
        .iter()
        .any(|(_, f)| pump::pump_fn(&resolve, &resources, f).is_some());
    if forwarding == Forwarding::Plain && streams {
        return Err(WrapError::Unsupported {
            import: interfaces.join(", "),
            reason: "a forwarder that neither records nor replays cannot pass streams".into(),
        });
    }
    if forwarding == Forwarding::Plain && !resources.is_empty() {
        return Err(WrapError::Unsupported {
            import: interfaces.join(", "),
            reason: "a forwarder that neither records nor replays cannot pass resources".into(),
        });
    }
    componentize(
        forwarding_module(
            &resolve,
            &sizes,
            &functions,
            forwarding,
            hooks.as_ref(),
            &resources,
            0,
        ),
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
    world: WorldId,
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

/// Adds the function type `params -> results` (canonical ABI flat types) to `types`; returns
/// its index.
fn new_type(types: &mut TypeSection, params: &[WasmType], results: &[WasmType]) -> u32 {
    let index = types.len();
    types
        .ty()
        .function(params.iter().map(val_type), results.iter().map(val_type));
    index
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

/// An aligned access, as [`word`] makes, with the alignment set.
trait WithAlign {
    /// The same access, aligned to `2^log2` bytes.
    fn with_align(self, log2: u32) -> Self;
}

impl WithAlign for wasm_encoder::MemArg {
    fn with_align(self, log2: u32) -> Self {
        wasm_encoder::MemArg {
            align: log2,
            ..self
        }
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

/// Aligns the bump allocator (global 0) to 8 and keeps the address in `local`: where the next
/// block it hands out (the `list<u8>` a hook returns) begins.
fn next_block(ins: &mut wasm_encoder::InstructionSink, local: u32) {
    ins.global_get(0)
        .i32_const(7)
        .i32_add()
        .i32_const(-8)
        .i32_and()
        .local_tee(local)
        .global_set(0);
}

/// Traps unless the list at the start of the hook's return area `area` is empty or lies at
/// the address in `dest` (see [`next_block`]).
fn trap_unless_at(ins: &mut wasm_encoder::InstructionSink, area: u32, dest: u32) {
    ins.local_get(area)
        .i32_load(word(4).with_align(2))
        .if_(BlockType::Empty)
        .local_get(area)
        .i32_load(word(0).with_align(2))
        .local_get(dest)
        .i32_ne()
        .if_(BlockType::Empty)
        .unreachable()
        .end()
        .end();
}

/// Pushes a hook's `heap-base: u32, heap: list<u8>` arguments: the heap from where the bump
/// allocator starts to where it is now (global 0).
fn push_heap(ins: &mut wasm_encoder::InstructionSink) {
    ins.i32_const(HEAP_BASE)
        .i32_const(HEAP_BASE)
        .global_get(0)
        .i32_const(HEAP_BASE)
        .i32_sub();
}

/// Stores the bits of each of `values` (locals of the given core types) as a `list<u64>` in a
/// new block of the heap, whose address it keeps in `list`.
fn store_bits(
    ins: &mut wasm_encoder::InstructionSink,
    realloc: u32,
    values: &[(u32, WasmType)],
    list: u32,
) {
    alloc(ins, realloc, 8 * values.len() as i32, list);
    for (i, (local, ty)) in values.iter().enumerate() {
        ins.local_get(list);
        push_bits(ins, *local, ty);
        ins.i64_store(word(8 * i as u64));
    }
}

/// The intrinsics of the forwarder's exported resources, by resource number, and its handle
/// wrapper.
#[derive(Default, Clone)]
pub(crate) struct HandleFns {
    /// `resource.rep`.
    rep: Vec<u32>,
    /// `resource.drop`.
    drop: Vec<u32>,
    /// `wrap(resource, rep) -> handle`.
    wrap: u32,
}

impl HandleFns {
    /// Takes the owned handle of the forwarder's resource `resource` in local `at` for the
    /// host: its representation (the host's handle, recording; the trace's number plus one,
    /// replaying) replaces it, and the forwarder drops its own handle without letting its
    /// destructor drop the host's (global 1 says so). Local `tmp` is scratch.
    fn take(&self, ins: &mut wasm_encoder::InstructionSink, at: u32, resource: u32, tmp: u32) {
        let r = resource as usize;
        ins.local_get(at)
            .call(self.rep[r])
            .local_tee(tmp)
            .global_set(1)
            .local_get(at)
            .call(self.drop[r])
            .i32_const(0)
            .global_set(1)
            .local_get(tmp)
            .local_set(at);
    }
}

/// The `wasm-rr:rr/generic` functions a recording or replaying forwarder calls.
struct Hooks {
    /// `called` or `replay`.
    name: &'static str,
    /// Its core signature.
    sig: wit_parser::abi::WasmSignature,
    /// `dropped`'s.
    dropped: wit_parser::abi::WasmSignature,
    /// Recording a library's exports: `returned`'s, called after the app's export returns
    /// (`name` being `invoked`, called before).
    after: Option<wit_parser::abi::WasmSignature>,
    /// For async functions run as subtasks (see [`concurrent`]): `started`'s, `finished`'s
    /// (recording) or `ready`'s (replaying), and `cancelled`'s (recording).
    subtasks: Option<(
        wit_parser::abi::WasmSignature,
        wit_parser::abi::WasmSignature,
        Option<wit_parser::abi::WasmSignature>,
    )>,
    /// For stream functions and opened ones (see [`pump`]): `stream-wrote`'s, `stream-read`'s,
    /// `next-read`'s, `settled`'s, `stream-read-values`', `next-values`',
    /// `too-many-streams`', `future-read`'s, `opened`'s and `reopened`'s.
    pumps: Option<[wit_parser::abi::WasmSignature; 10]>,
}

/// A function the generic path forwards: the interface it belongs to, as the app names it
/// (`wasi:config/store@0.2.0-rc.1`), or `None` for a function of the app's world itself; and
/// the function.
type Forwarded = (Option<String>, WitFunction);

/// The core module name of `interface`'s imports (`$root` for the world's own functions).
fn import_module(interface: &Option<String>) -> &str {
    interface.as_deref().unwrap_or("$root")
}

/// The core export name of `f` of `interface`, as `wit-component` expects it.
fn export_name(interface: &Option<String>, f: &WitFunction) -> String {
    match interface {
        Some(i) => format!("{i}#{}", f.name),
        None => f.name.clone(),
    }
}

/// Loads the pointer and length of the list at `offset` in the block at local `area` into the
/// locals `ptr` and `len`.
fn load_list(ins: &mut wasm_encoder::InstructionSink, area: u32, offset: u64, ptr: u32, len: u32) {
    ins.local_get(area)
        .i32_load(word(offset).with_align(2))
        .local_set(ptr)
        .local_get(area)
        .i32_load(word(offset + 4).with_align(2))
        .local_set(len);
}

/// Emits the loop that wraps the handles the hook listed (`n` (address, resource) pairs at
/// `p`) in new handles of the forwarder's resources, through `wrap` (`(resource, rep) ->
/// handle`); an address of -1 stands for the local `flat` (the one flat result), and, with
/// `flat_list` (a local holding the address of a `list<u64>` of flat values), one of 2^31 +
/// `k` for the low 32 bits of its `k`th value.
#[allow(clippy::too_many_arguments)]
fn emit_patches(
    ins: &mut wasm_encoder::InstructionSink,
    p: u32,
    n: u32,
    i: u32,
    addr: u32,
    flat: Option<u32>,
    wrap: u32,
    flat_list: Option<u32>,
) {
    let entry = |ins: &mut wasm_encoder::InstructionSink, offset: u64| {
        ins.local_get(p)
            .local_get(i)
            .i32_const(3)
            .i32_shl()
            .i32_add()
            .i32_load(word(offset).with_align(2));
    };
    ins.i32_const(0).local_set(i);
    ins.block(BlockType::Empty).loop_(BlockType::Empty);
    ins.local_get(i).local_get(n).i32_ge_u().br_if(1);
    entry(ins, 0);
    ins.local_set(addr);
    if let Some(list) = flat_list {
        ins.local_get(addr)
            .i32_const(i32::MIN)
            .i32_and()
            .if_(BlockType::Empty)
            .local_get(addr)
            .i32_const(i32::MAX)
            .i32_and()
            .i32_const(3)
            .i32_shl()
            .local_get(list)
            .i32_add()
            .local_set(addr)
            .end();
    }
    let in_memory = |ins: &mut wasm_encoder::InstructionSink| {
        ins.local_get(addr);
        entry(ins, 4);
        ins.local_get(addr)
            .i32_load(word(0).with_align(2))
            .call(wrap)
            .i32_store(word(0).with_align(2));
    };
    match flat {
        Some(flat) => {
            ins.local_get(addr)
                .i32_const(-1)
                .i32_eq()
                .if_(BlockType::Empty);
            entry(ins, 4);
            ins.local_get(flat).call(wrap).local_set(flat);
            ins.else_();
            in_memory(ins);
            ins.end();
        }
        None => in_memory(ins),
    }
    ins.local_get(i).i32_const(1).i32_add().local_set(i).br(0);
    ins.end().end();
}

/// The forwarder's core module for `functions` (interface name, function), forwarding as
/// `forwarding` says, through `hooks` when recording or replaying; `resources` are the
/// forwarded interfaces' resource types, which it exports as its own, wrapping the host's handles (recording) or the trace's numbers
/// (replaying) as their representations.
///
/// Function indices: the imports first (one per function, in order, unless replaying; the hook;
/// recording, `dropped` and each imported resource's drop; each exported resource's
/// `resource.new`), then `cabi_realloc`, the handle wrapper, one export and one post-return
/// function per function, and one destructor per resource.
fn forwarding_module(
    resolve: &Resolve,
    sizes: &wit_parser::SizeAlign,
    functions: &[Forwarded],
    forwarding: Forwarding,
    hooks: Option<&Hooks>,
    resources: &[TypeId],
    first: u32,
) -> Vec<u8> {
    let legacy = ManglingAndAbi::Legacy(LiftLowerAbi::Sync);
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut defined = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let replaying = forwarding == Forwarding::Replay;
    let signatures: Vec<_> = functions
        .iter()
        .map(|(_, f)| {
            (
                resolve.wasm_signature(AbiVariant::GuestImport, f),
                resolve.wasm_signature(AbiVariant::GuestExport, f),
            )
        })
        .collect();
    // The async functions run as subtasks (see `concurrent`), when recording or replaying.
    let subtasks = hooks.and_then(|h| h.subtasks.as_ref());
    let concurrent: Vec<bool> = functions
        .iter()
        .map(|(_, f)| subtasks.is_some() && concurrent(resolve, f))
        .collect();
    let mut next_import = 0;
    // Replaying, the host's functions that the app's streams pass straight to (see
    // `passed_through`), by function.
    let mut through: Vec<Option<u32>> = vec![None; functions.len()];
    if replaying {
        for (i, ((interface, f), (import, _))) in functions.iter().zip(&signatures).enumerate() {
            if passed_through(interface, f) {
                let ty = new_type(&mut types, &import.params, &import.results);
                imports.import(import_module(interface), &f.name, EntityType::Function(ty));
                through[i] = Some(next_import);
                next_import += 1;
            }
        }
    }
    if !replaying {
        for (((interface, f), (import, _)), &sub) in
            functions.iter().zip(&signatures).zip(&concurrent)
        {
            if sub {
                // The host's function, lowered with the async ABI: a status and a subtask.
                let sig = resolve.wasm_signature(AbiVariant::GuestImportAsync, f);
                let ty = new_type(&mut types, &sig.params, &sig.results);
                let name = format!("[async-lower]{}", f.name);
                imports.import(import_module(interface), &name, EntityType::Function(ty));
            } else {
                let ty = new_type(&mut types, &import.params, &import.results);
                imports.import(import_module(interface), &f.name, EntityType::Function(ty));
            }
            next_import += 1;
        }
    }
    let hook_index = next_import;
    if let Some(h) = hooks {
        let ty = new_type(&mut types, &h.sig.params, &h.sig.results);
        imports.import(GENERIC, h.name, EntityType::Function(ty));
        next_import += 1;
        if let Some(after) = &h.after {
            let ty = new_type(&mut types, &after.params, &after.results);
            imports.import(GENERIC, "returned", EntityType::Function(ty));
            next_import += 1;
        }
    }
    let exporting = forwarding == Forwarding::RecordExports;
    let dropped = next_import;
    let i32_to_none = new_type(&mut types, &[WasmType::I32], &[]);
    let i32_to_i32 = new_type(&mut types, &[WasmType::I32], &[WasmType::I32]);
    let (mut host_drop, mut resource_new) = (Vec::new(), Vec::new());
    let (mut resource_rep, mut resource_drop) = (Vec::new(), Vec::new());
    if let (Some(h), false) = (hooks, resources.is_empty()) {
        // Drops are recorded, not replayed: a replaying forwarder's destructor does nothing
        // (a garbage-collected app may drop its handles at other times).
        if !replaying {
            let ty = new_type(&mut types, &h.dropped.params, &h.dropped.results);
            imports.import(GENERIC, "dropped", EntityType::Function(ty));
            next_import += 1;
        }
        for id in resources {
            let key = resource_interface(resolve, *id);
            // Recording, the host's `resource.drop`; `resource.new` of the forwarder's own
            // handles; and their `resource.rep` and `resource.drop`, for owned parameters.
            let mut wanted = vec![
                (
                    ResourceIntrinsic::ExportedNew,
                    i32_to_i32,
                    &mut resource_new,
                ),
                (
                    ResourceIntrinsic::ExportedRep,
                    i32_to_i32,
                    &mut resource_rep,
                ),
                (
                    ResourceIntrinsic::ExportedDrop,
                    i32_to_none,
                    &mut resource_drop,
                ),
            ];
            if !replaying {
                wanted.insert(
                    0,
                    (ResourceIntrinsic::ImportedDrop, i32_to_none, &mut host_drop),
                );
            }
            for (intrinsic, ty, out) in wanted {
                let (module, name) = resolve.wasm_import_name(
                    legacy,
                    WasmImport::ResourceIntrinsic {
                        interface: Some(&key),
                        resource: *id,
                        intrinsic,
                    },
                );
                imports.import(&module, &name, EntityType::Function(ty));
                out.push(next_import);
                next_import += 1;
            }
        }
    }
    // Subtasks: the hooks, the async ABI's builtins (the waitable set a recording forwarder
    // waits on, the subtask it drops, the context slot that keeps a call's state between
    // callbacks), and each function's `task.return`.
    let mut sub = SubtaskImports::default();
    // The stream functions (see `pump`), when recording or replaying.
    let pumped: Vec<Option<pump::StreamFn>> = functions
        .iter()
        .map(|(interface, f)| {
            hooks
                .and_then(|h| h.pumps.as_ref())
                .filter(|_| !passed_through(interface, f))
                .and_then(|_| pump::pump_fn(resolve, resources, f))
        })
        .collect();
    let any_pumped = pumped.iter().any(Option::is_some);
    let mut pump_hooks = pump::PumpHooks::default();
    let mut pump_imports: Vec<Option<pump::PumpImports>> = Vec::new();
    if let (Some((started, finish, cancelled)), true) =
        (subtasks, concurrent.contains(&true) || any_pumped)
    {
        let mut import = |module: &str, name: &str, params: &[WasmType], results: &[WasmType]| {
            let ty = new_type(&mut types, params, results);
            imports.import(module, name, EntityType::Function(ty));
            next_import += 1;
            next_import - 1
        };
        use WasmType::I32;
        sub.started = import(GENERIC, "started", &started.params, &started.results);
        sub.finish = import(
            GENERIC,
            finish_hook(replaying),
            &finish.params,
            &finish.results,
        );
        if let Some(cancelled) = cancelled {
            sub.cancelled = import(GENERIC, "cancelled", &cancelled.params, &cancelled.results);
            sub.subtask_cancel = import("$root", "[subtask-cancel]", &[I32], &[I32]);
        }
        if !replaying || any_pumped {
            sub.set_new = import("$root", "[waitable-set-new]", &[], &[I32]);
            sub.join = import("$root", "[waitable-join]", &[I32, I32], &[]);
            sub.set_drop = import("$root", "[waitable-set-drop]", &[I32], &[]);
        }
        if !replaying {
            sub.subtask_drop = import("$root", "[subtask-drop]", &[I32], &[]);
        }
        sub.context_get = import("$root", "[context-get-0]", &[], &[I32]);
        sub.context_set = import("$root", "[context-set-0]", &[I32], &[]);
        // `task.cancel`, imported once, with the first such function's interface.
        if let Some(((interface, _), _)) = functions.iter().zip(&concurrent).find(|(_, c)| **c) {
            let module = format!("[export]{}", import_module(interface));
            sub.task_cancel = import(&module, "[task-cancel]", &[], &[]);
        }
        for ((interface, f), &c) in functions.iter().zip(&concurrent) {
            sub.task_return.push(c.then(|| {
                let module = format!("[export]{}", import_module(interface));
                let name = format!("[task-return]{}", f.name);
                let types = task_return_params(resolve, f);
                (import(&module, &name, &types, &[]), types)
            }));
        }
        if let (Some(sigs), true) = (hooks.and_then(|h| h.pumps.as_ref()), any_pumped) {
            let [
                wrote,
                read,
                next_read,
                settled,
                read_values,
                next_values,
                too_many,
                future_read,
                opened,
                reopened,
            ] = sigs;
            let mut hook = |name: &str, sig: &wit_parser::abi::WasmSignature| {
                import(GENERIC, name, &sig.params, &sig.results)
            };
            if replaying {
                pump_hooks.next_read = hook("next-read", next_read);
                pump_hooks.settled = hook("settled", settled);
                pump_hooks.next_values = hook("next-values", next_values);
                pump_hooks.opened = hook("reopened", reopened);
            } else {
                pump_hooks.stream_wrote = hook("stream-wrote", wrote);
                pump_hooks.stream_read = hook("stream-read", read);
                pump_hooks.stream_read_values = hook("stream-read-values", read_values);
                pump_hooks.future_read = hook("future-read", future_read);
                pump_hooks.opened = hook("opened", opened);
            }
            pump_hooks.too_many = hook("too-many-streams", too_many);
            pump_hooks.started = sub.started;
            pump_hooks.set_new = sub.set_new;
            pump_hooks.join = sub.join;
            pump_hooks.task_cancel = import(&format!("[export]{PUMP}"), "[task-cancel]", &[], &[]);
            pump_hooks.task_return =
                import(&format!("[export]{PUMP}"), "[task-return]drive", &[], &[]);
            if replaying {
                pump_hooks.set_poll = import("$root", "[waitable-set-poll]", &[I32, I32], &[I32]);
            }
            for ((interface, f), shape) in functions.iter().zip(&pumped) {
                pump_imports.push(shape.as_ref().map(|shape| {
                    pump::import_intrinsics(interface, f, shape, replaying, &mut import)
                }));
            }
            // Recording opened functions, the driver's doorbell: the first one's byte stream.
            if !replaying {
                pump_hooks.doorbell = pumped
                    .iter()
                    .zip(&pump_imports)
                    .find(|(shape, _)| shape.as_ref().is_some_and(|s| s.opened.is_some()))
                    .and_then(|(_, imports)| imports.as_ref())
                    .map(pump::PumpImports::doorbell);
            }
        }
    }
    let realloc = next_import;
    let i32s = [WasmType::I32; 4];
    let ty = new_type(&mut types, &i32s, &[WasmType::I32]);
    defined.function(ty);
    code.function(&realloc_body());
    exports.export("cabi_realloc", ExportKind::Func, realloc);
    // wrap(resource, rep) -> handle: `resource.new` of the resource numbered `resource`.
    let wrap = realloc + 1;
    let handle_fns = HandleFns {
        rep: resource_rep.clone(),
        drop: resource_drop.clone(),
        wrap,
    };
    let ty = new_type(&mut types, &[WasmType::I32; 2], &[WasmType::I32]);
    defined.function(ty);
    let mut body = Function::new(vec![]);
    {
        let mut ins = body.instructions();
        for (j, new) in resource_new.iter().enumerate() {
            ins.local_get(0)
                .i32_const(j as i32)
                .i32_eq()
                .if_(BlockType::Empty);
            ins.local_get(1).call(*new).return_();
            ins.end();
        }
        ins.unreachable().end();
    }
    code.function(&body);
    let mut index = wrap + 1;
    // The stream functions' step functions, by kind (see `pump::emit`).
    let mut steps = Vec::new();
    for (i, ((interface, f), (import, export))) in functions.iter().zip(&signatures).enumerate() {
        if let (Some(Some(imports)), Some(shape)) = (pump_imports.get(i), &pumped[i]) {
            let p = pump::Pump {
                function: f,
                interface,
                shape,
                number: first as i32 + i as i32,
                host: i as u32,
                imports,
                payload_size: match shape.listened {
                    Some(l) => l.size,
                    None => shape
                        .payload
                        .as_ref()
                        .map_or(0, |t| sizes.size(t).size_wasm32())
                        as i32,
                },
                value_size: shape
                    .values
                    .as_ref()
                    .map_or(1, |t| sizes.size(t).size_wasm32()) as i32,
            };
            let new_steps = pump::emit(
                &mut Sections {
                    types: &mut types,
                    defined: &mut defined,
                    exports: &mut exports,
                    code: &mut code,
                },
                resolve,
                &p,
                &pump_hooks,
                &handle_fns,
                realloc,
                index,
                steps.len() as i32,
                replaying,
            );
            index += 2 + new_steps.len() as u32;
            steps.extend(new_steps);
            continue;
        }
        // (The list is empty when no function runs as a subtask.)
        if let Some(Some((task_return, return_types))) = sub.task_return.get(i) {
            let number = first as i32 + i as i32;
            let f = Subtask {
                function: f,
                interface,
                number,
                host: i as u32,
                task_return: *task_return,
                return_types,
                result_size: f.result.as_ref().map_or(0, |t| sizes.size(t).size_wasm32()) as i32,
                owned: owned_params(resolve, resources, f),
            };
            emit_subtask(
                &mut Sections {
                    types: &mut types,
                    defined: &mut defined,
                    exports: &mut exports,
                    code: &mut code,
                },
                resolve,
                &f,
                &sub,
                &handle_fns,
                realloc,
                index,
                replaying,
            );
            index += 3;
            continue;
        }
        let passes = passed_through(interface, f);
        let ty = new_type(&mut types, &export.params, &export.results);
        defined.function(ty);
        let params = export.params.len() as u32;
        if passes && hooks.is_some() {
            // The call, recorded (or checked) without its stream; then the host's function
            // called with it, its future returned as it is.
            let (result, list, hook_area) = (params, params + 1, params + 2);
            let mut body = Function::new(vec![(3, ValType::I32)]);
            let mut ins = body.instructions();
            alloc(&mut ins, realloc, 16, hook_area);
            store_bits(&mut ins, realloc, &[], list);
            ins.i32_const(first as i32 + i as i32)
                .local_get(list)
                .i32_const(0);
            if replaying {
                // replay(function, args, heap-base, heap, dest, retptr): nothing to lay out.
                push_heap(&mut ins);
                ins.global_get(0).local_get(hook_area).call(hook_index);
            } else {
                // called(function, args, results, heap-base, heap, retptr).
                ins.local_get(list).i32_const(0);
                push_heap(&mut ins);
                ins.local_get(hook_area).call(hook_index);
            }
            for p in 0..params {
                ins.local_get(p);
            }
            ins.call(through[i].unwrap_or(i as u32)).local_set(result);
            ins.local_get(result).end();
            code.function(&body);
            exports.export(&export_name(interface, f), ExportKind::Func, index);
            emit_post_return(
                &mut Sections {
                    types: &mut types,
                    defined: &mut defined,
                    exports: &mut exports,
                    code: &mut code,
                },
                &export.results,
                &export_name(interface, f),
                index + 1,
            );
            index += 2;
            continue;
        }
        // Locals after the parameters: the return area (or, replaying, the address the
        // results are laid out at), the single flat result, the lists of arguments and
        // results handed to the hook, the hook's own return area, and the patch loop's
        // counter, list, length and address.
        let (area, result, args, results, hook_area) =
            (params, params + 1, params + 2, params + 3, params + 4);
        let (pi, pp, pn, paddr) = (params + 5, params + 6, params + 7, params + 8);
        let flat_result = export.results.first().filter(|_| !import.retptr);
        let mut locals = vec![(1, ValType::I32)];
        locals.push((1, flat_result.map_or(ValType::I32, val_type)));
        locals.push((7, ValType::I32));
        let mut body = Function::new(locals);
        let mut ins = body.instructions();
        // An owned handle passed in: the forwarder takes its representation (the host's handle,
        // recording; the trace's number plus one, replaying) in place of its own handle, which
        // it drops without letting its destructor drop the host's (global 1 says so).
        for (at, resource) in owned_params(resolve, resources, f) {
            handle_fns.take(&mut ins, at, resource, paddr);
        }
        let arg_bits: Vec<(u32, WasmType)> = export
            .params
            .iter()
            .enumerate()
            .map(|(p, t)| (p as u32, *t))
            .collect();
        if replaying {
            // replay(function, args, heap-base, heap, dest) -> list<u8>: the results, laid
            // out for address `dest`, the end of the heap; they come back at `dest` itself,
            // as the bump allocator hands the list its next block.
            store_bits(&mut ins, realloc, &arg_bits, args);
            alloc(&mut ins, realloc, 16, hook_area);
            next_block(&mut ins, area);
            ins.i32_const(first as i32 + i as i32)
                .local_get(args)
                .i32_const(params as i32)
                .i32_const(HEAP_BASE)
                .i32_const(HEAP_BASE)
                .local_get(area)
                .i32_const(HEAP_BASE)
                .i32_sub()
                .local_get(area)
                .local_get(hook_area)
                .call(hook_index);
            // Anything else than the results at `dest` is a bug: trap rather than answer
            // with the wrong bytes.
            trap_unless_at(&mut ins, hook_area, area);
            if !resources.is_empty() {
                load_list(&mut ins, hook_area, 8, pp, pn);
                emit_patches(&mut ins, pp, pn, pi, paddr, None, wrap, None);
            }
            if let Some(ty) = flat_result {
                // The one flat result, as its 8 bytes of bits.
                ins.local_get(area);
                match val_type(ty) {
                    ValType::I32 => ins.i32_load(word(0).with_align(2)),
                    ValType::I64 => ins.i64_load(word(0)),
                    ValType::F32 => ins.f32_load(word(0).with_align(2)),
                    _ => ins.f64_load(word(0)),
                };
            } else if import.retptr {
                ins.local_get(area);
            }
        } else {
            if exporting {
                // invoked(function, args, heap-base, heap), before the app runs the call.
                store_bits(&mut ins, realloc, &arg_bits, args);
                ins.i32_const(first as i32 + i as i32)
                    .local_get(args)
                    .i32_const(params as i32);
                push_heap(&mut ins);
                ins.call(hook_index);
            }
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
            // The results' bits (the return area's address, or the one flat result).
            let result_bits: Vec<(u32, WasmType)> = match flat_result {
                Some(ty) => vec![(result, *ty)],
                None if import.retptr => vec![(area, WasmType::I32)],
                None => vec![],
            };
            if exporting {
                // returned(function, results, heap-base, heap).
                store_bits(&mut ins, realloc, &result_bits, results);
                ins.i32_const(first as i32 + i as i32)
                    .local_get(results)
                    .i32_const(result_bits.len() as i32);
                push_heap(&mut ins);
                ins.call(hook_index + 1);
            } else if hooks.is_some() {
                // The arguments' bits, then the results', as `list<u64>`s in the heap.
                store_bits(&mut ins, realloc, &arg_bits, args);
                store_bits(&mut ins, realloc, &result_bits, results);
                alloc(&mut ins, realloc, 8, hook_area);
                ins.i32_const(first as i32 + i as i32)
                    .local_get(args)
                    .i32_const(params as i32)
                    .local_get(results)
                    .i32_const(result_bits.len() as i32);
                push_heap(&mut ins);
                ins.local_get(hook_area).call(hook_index);
                if !resources.is_empty() {
                    load_list(&mut ins, hook_area, 0, pp, pn);
                    let flat = flat_result
                        .filter(|t| val_type(t) == ValType::I32)
                        .map(|_| result);
                    emit_patches(&mut ins, pp, pn, pi, paddr, flat, wrap, None);
                }
            }
            if import.retptr {
                ins.local_get(area);
            } else if flat_result.is_some() {
                ins.local_get(result);
            }
        }
        ins.end();
        code.function(&body);
        exports.export(&export_name(interface, f), ExportKind::Func, index);
        emit_post_return(
            &mut Sections {
                types: &mut types,
                defined: &mut defined,
                exports: &mut exports,
                code: &mut code,
            },
            &export.results,
            &export_name(interface, f),
            index + 1,
        );
        index += 2;
    }
    if !steps.is_empty() {
        pump::emit_driver(
            &mut Sections {
                types: &mut types,
                defined: &mut defined,
                exports: &mut exports,
                code: &mut code,
            },
            &pump_hooks,
            &steps,
            index,
            replaying,
        );
        index += 3;
    }
    // One destructor per resource: the app dropped its last handle.
    for (j, id) in resources.iter().enumerate() {
        defined.function(i32_to_none);
        let mut body = Function::new(vec![]);
        let mut ins = body.instructions();
        // A handle passed on to the host (see the owned parameters above): not ours to drop.
        ins.global_get(1)
            .local_get(0)
            .i32_eq()
            .if_(BlockType::Empty)
            .return_()
            .end();
        if let Some(drop) = host_drop.get(j) {
            ins.local_get(0).call(*drop);
            ins.i32_const(j as i32).local_get(0).call(dropped);
        }
        ins.end();
        code.function(&body);
        let name = resolve.wasm_export_name(
            legacy,
            WasmExport::ResourceDtor {
                interface: &resource_interface(resolve, *id),
                resource: *id,
            },
        );
        exports.export(&name, ExportKind::Func, index);
        index += 1;
    }
    // Global 1: the representation of a handle being passed on to the host, whose destructor
    // call is to do nothing (0: none; no representation is 0). Global 2: how many subtasks
    // are in flight.
    // Global 3 (an `i64`): the stream slots in use (see `pump`), a bit each; global 4: the waitable set
    // they wait on (0: not made yet); globals 5 to 7: the driver's doorbell (see
    // `pump::ring`): its writable end, whether its read is pending, its readable end; global 8:
    // whether the replaying driver may hand the app a completion in this round
    // (`pump::spend_turn`). Globals 9 to 11, a WASI 0.3 HTTP service's driver: the requests in
    // flight (`busy`), whether `busy` was called, whether a driver is running. Global 12:
    // whether the doorbell rang since the driver last took its read's event.
    assemble_module(
        types,
        imports,
        defined,
        exports,
        code,
        &[HEAP_BASE, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
        Some(3),
        (HEAP_BASE as u64).div_ceil(65536),
    )
}

/// Emits, at function index `index`, the post-return function of the export `name` (whose
/// core results are `results`): the caller has the results, and everything allocated since is
/// free again, unless a subtask is in flight (global 2), whose values are in the heap too.
fn emit_post_return(s: &mut Sections, results: &[WasmType], name: &str, index: u32) {
    let ty = new_type(s.types, results, &[]);
    s.defined.function(ty);
    let mut post = Function::new(vec![]);
    free_heap_if_idle(&mut post.instructions());
    post.instructions().end();
    s.code.function(&post);
    s.exports
        .export(&format!("cabi_post_{name}"), ExportKind::Func, index);
}

/// The indices of what a forwarder imports for its subtasks (see [`concurrent`]).
#[derive(Default)]
struct SubtaskImports {
    /// `wasm-rr:rr/generic.started`.
    started: u32,
    /// `finished` (recording) or `ready` (replaying).
    finish: u32,
    /// `cancelled` (recording).
    cancelled: u32,
    subtask_cancel: u32,
    task_cancel: u32,
    set_new: u32,
    join: u32,
    set_drop: u32,
    subtask_drop: u32,
    context_get: u32,
    context_set: u32,
    /// Each function's `task.return` and its parameters, for those run as subtasks.
    task_return: Vec<Option<(u32, Vec<WasmType>)>>,
}

/// One function run as a subtask.
struct Subtask<'a> {
    function: &'a WitFunction,
    interface: &'a Option<String>,
    /// Its number in the trace header's table.
    number: i32,
    /// The index of the host's function (recording).
    host: u32,
    task_return: u32,
    /// `task.return`'s parameters.
    return_types: &'a [WasmType],
    /// The bytes of its result's canonical ABI layout (0: none).
    result_size: i32,
    /// Its owned handles passed in (see [`owned_params`]).
    owned: Vec<(u32, u32)>,
}

/// The sections a module's functions go into.
struct Sections<'a> {
    types: &'a mut TypeSection,
    defined: &'a mut FunctionSection,
    exports: &'a mut ExportSection,
    code: &'a mut CodeSection,
}

/// Emits the three functions of `f`, run as a subtask (see [`concurrent`]), at function
/// indices `index` (the export, lifted with the async ABI), `index + 1` (its callback) and
/// `index + 2` (the return: `finish(task, area)` recording, `ready(task, hook-area) -> done`
/// replaying).
///
/// Recording, the export records the start, calls the host's function async-lowered and, if
/// the host has not answered at once, waits on a waitable set holding the subtask, its state
/// (`task`, the result's area, the set, the host's subtask) in context slot 0; the callback
/// finishes when the host's subtask returns. Replaying, the export checks the start and
/// yields until the trace says the call returned (the callback asks again each time).
#[allow(clippy::too_many_arguments)]
fn emit_subtask(
    s: &mut Sections,
    resolve: &Resolve,
    f: &Subtask,
    sub: &SubtaskImports,
    handle_fns: &HandleFns,
    realloc: u32,
    index: u32,
    replaying: bool,
) {
    use callback::*;
    let export = resolve.wasm_signature(AbiVariant::GuestExportAsync, f.function);
    let params = export.params.len() as u32;
    let ret = index + 2;
    // The export: params, then locals args (list), task, area, status, state, scratch.
    let ty = new_type(s.types, &export.params, &export.results);
    s.defined.function(ty);
    let (args, task, area, status, state) =
        (params, params + 1, params + 2, params + 3, params + 4);
    let mut body = Function::new(vec![(6, ValType::I32)]);
    let mut ins = body.instructions();
    ins.global_get(2).i32_const(1).i32_add().global_set(2);
    // Owned handles passed in: the host's (or the trace's) in place of the forwarder's.
    for (at, resource) in &f.owned {
        handle_fns.take(&mut ins, *at, *resource, params + 5);
    }
    let arg_bits: Vec<(u32, WasmType)> = export
        .params
        .iter()
        .enumerate()
        .map(|(p, t)| (p as u32, *t))
        .collect();
    // started(function, args, heap-base, heap) -> task
    store_bits(&mut ins, realloc, &arg_bits, args);
    ins.i32_const(f.number)
        .local_get(args)
        .i32_const(params as i32);
    push_heap(&mut ins);
    ins.call(sub.started).local_set(task);
    if replaying {
        // The state: the task, the hook's return area and whether the app asked to cancel,
        // kept for the callbacks.
        alloc(&mut ins, realloc, 16, state);
        alloc(&mut ins, realloc, 32, area);
        save_task(&mut ins, state, task, area);
        ins.local_get(state)
            .i32_const(0)
            .i32_store(word(8).with_align(2));
        ins.local_get(state).call(sub.context_set);
        call_return(&mut ins, state, ret, true);
        exit_or_yield(&mut ins);
    } else {
        if f.result_size > 0 {
            alloc(&mut ins, realloc, f.result_size.max(8), area);
        }
        for p in 0..params {
            ins.local_get(p);
        }
        if f.result_size > 0 {
            ins.local_get(area);
        }
        ins.call(f.host).local_set(status);
        // Returned at once: finish now.
        ins.local_get(status)
            .i32_const(15)
            .i32_and()
            .i32_const(RETURNED)
            .i32_eq()
            .if_(BlockType::Empty)
            .local_get(task)
            .local_get(area)
            .call(ret)
            .i32_const(EXIT)
            .return_()
            .end();
        // Otherwise wait for the host's subtask.
        alloc(&mut ins, realloc, 16, state);
        save_task(&mut ins, state, task, area);
        ins.local_get(state)
            .call(sub.set_new)
            .i32_store(word(8).with_align(2));
        ins.local_get(state)
            .local_get(status)
            .i32_const(4)
            .i32_shr_u()
            .i32_store(word(12).with_align(2));
        ins.local_get(status)
            .i32_const(4)
            .i32_shr_u()
            .local_get(state)
            .i32_load(word(8).with_align(2))
            .call(sub.join);
        ins.local_get(state).call(sub.context_set);
        wait_code(&mut ins, state);
    }
    ins.end();
    s.code.function(&body);
    let name = export_name(f.interface, f.function);
    s.exports
        .export(&format!("[async-lift]{name}"), ExportKind::Func, index);

    // The callback (event, waitable, code) -> callback code; local 3: the state.
    let ty = new_type(s.types, &[WasmType::I32; 3], &[WasmType::I32]);
    s.defined.function(ty);
    // Local 4: the host's subtask (recording).
    let mut body = Function::new(vec![(2, ValType::I32)]);
    let mut ins = body.instructions();
    ins.call(sub.context_get).local_set(3);
    if replaying {
        // The app asked to cancel: noted, for `ready`.
        ins.local_get(0)
            .i32_const(EVENT_CANCELLED)
            .i32_eq()
            .if_(BlockType::Empty)
            .local_get(3)
            .i32_const(1)
            .i32_store(word(8).with_align(2))
            .end();
        call_return(&mut ins, 3, ret, true);
        exit_or_yield(&mut ins);
    } else {
        ins.local_get(3)
            .i32_load(word(12).with_align(2))
            .local_set(4);
        ins.local_get(0)
            .i32_const(EVENT_SUBTASK)
            .i32_eq()
            .local_get(2)
            .i32_const(RETURNED)
            .i32_eq()
            .i32_and()
            .if_(BlockType::Empty);
        drop_subtask(&mut ins, sub, 4, 3);
        call_return(&mut ins, 3, ret, false);
        ins.i32_const(EXIT).return_().end();
        // The app asked to cancel: cancel the host's call (blocking until it is resolved).
        // If it returned all the same, return its result; otherwise cancel this subtask.
        ins.local_get(0)
            .i32_const(EVENT_CANCELLED)
            .i32_eq()
            .if_(BlockType::Empty);
        ins.local_get(4)
            .i32_const(0)
            .call(sub.join)
            .local_get(4)
            .call(sub.subtask_cancel)
            .i32_const(15)
            .i32_and()
            .i32_const(RETURNED)
            .i32_eq()
            .if_(BlockType::Empty);
        drop_subtask(&mut ins, sub, 4, 3);
        call_return(&mut ins, 3, ret, false);
        ins.i32_const(EXIT).return_().end();
        drop_subtask(&mut ins, sub, 4, 3);
        ins.local_get(3)
            .i32_load(word(0).with_align(2))
            .i32_const(f.number)
            .call(sub.cancelled)
            .call(sub.task_cancel);
        subtask_done(&mut ins);
        ins.i32_const(EXIT).return_().end();
        wait_code(&mut ins, 3);
    }
    ins.end();
    s.code.function(&body);
    s.exports.export(
        &format!("[callback][async-lift]{name}"),
        ExportKind::Func,
        index + 1,
    );

    // The return. Recording: finish(task, area); replaying: ready(task, hook-area,
    // cancelling) -> done. Locals after the parameters: the hook's return area, dest, the
    // flat list.
    let params: &[WasmType] = if replaying {
        &[WasmType::I32; 3]
    } else {
        &[WasmType::I32; 2]
    };
    let first = params.len() as u32;
    let (hook_area, dest, flat) = (first, first + 1, first + 2);
    let (pp, pn, pi, paddr) = (first + 3, first + 4, first + 5, first + 6);
    let results: &[WasmType] = if replaying { &[WasmType::I32] } else { &[] };
    let ty = new_type(s.types, params, results);
    s.defined.function(ty);
    let mut body = Function::new(vec![(7, ValType::I32)]);
    let mut ins = body.instructions();
    if replaying {
        // ready(task, function, dest, cancelling, retptr): a `readiness` (0 waiting, 1
        // returned, 2 cancelled), its payload at offset 4 of the area (parameter 1).
        next_block(&mut ins, dest);
        ins.local_get(0)
            .i32_const(f.number)
            .local_get(dest)
            .local_get(2)
            .local_get(1)
            .call(sub.finish);
        ins.local_get(1)
            .i32_load8_u(word(0).with_align(0))
            .i32_eqz()
            .if_(BlockType::Empty)
            .i32_const(0)
            .return_()
            .end();
        ins.local_get(1)
            .i32_load8_u(word(0).with_align(0))
            .i32_const(2)
            .i32_eq()
            .if_(BlockType::Empty)
            .call(sub.task_cancel);
        subtask_done(&mut ins);
        ins.i32_const(1).return_().end();
        ins.local_get(1).i32_const(4).i32_add().local_set(hook_area);
    } else {
        // finished(task, function, results, heap-base, heap, dest, retptr).
        alloc(&mut ins, realloc, 24, hook_area);
        next_block(&mut ins, dest);
        ins.local_get(0).i32_const(f.number).local_get(1);
        push_heap(&mut ins);
        ins.local_get(dest).local_get(hook_area).call(sub.finish);
    }
    trap_unless_at(&mut ins, hook_area, dest);
    ins.local_get(hook_area)
        .i32_load(word(8).with_align(2))
        .local_set(flat);
    // The host's (or the trace's) handles in the result, wrapped in the forwarder's.
    load_list(&mut ins, hook_area, 16, pp, pn);
    emit_patches(
        &mut ins,
        pp,
        pn,
        pi,
        paddr,
        None,
        handle_fns.wrap,
        Some(flat),
    );
    push_flat_values(&mut ins, flat, f.return_types);
    ins.call(f.task_return);
    subtask_done(&mut ins);
    if replaying {
        ins.i32_const(1);
    }
    ins.end();
    s.code.function(&body);
}

/// The module of these sections, with memory 0 (exported as `memory`) and mutable `i32`
/// globals of the values `globals` (global 0: the bump allocator's pointer).
fn assemble(
    types: TypeSection,
    imports: ImportSection,
    defined: FunctionSection,
    exports: ExportSection,
    code: CodeSection,
    globals: &[i32],
) -> Vec<u8> {
    let pages = (HEAP_BASE as u64).div_ceil(65536);
    assemble_module(types, imports, defined, exports, code, globals, None, pages)
}

/// [`assemble`], with global `wide` (if any) an `i64` (its value widened) and `pages` pages
/// of memory (64 KiB each) to begin with.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assemble_module(
    types: TypeSection,
    imports: ImportSection,
    defined: FunctionSection,
    mut exports: ExportSection,
    code: CodeSection,
    globals: &[i32],
    wide: Option<usize>,
    pages: u64,
) -> Vec<u8> {
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: pages,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    exports.export("memory", ExportKind::Memory, 0);
    let mut section = GlobalSection::new();
    for (i, value) in globals.iter().enumerate() {
        let (val_type, init) = if wide == Some(i) {
            (ValType::I64, ConstExpr::i64_const(i64::from(*value)))
        } else {
            (ValType::I32, ConstExpr::i32_const(*value))
        };
        section.global(
            GlobalType {
                val_type,
                mutable: true,
                shared: false,
            },
            &init,
        );
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&defined)
        .section(&memories)
        .section(&section)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// `cabi_realloc(old_ptr, old_size, align, new_size) -> ptr`: a bump allocator over the global
/// `0`, growing the memory as needed and copying the old bytes on a reallocation.
pub(crate) fn realloc_body() -> Function {
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

/// A library component's exports, which the generic path records: its exported interfaces and
/// functions, checked.
struct LibraryExports {
    resolve: Resolve,
    /// The exported interfaces, by name.
    interfaces: Vec<(String, InterfaceId)>,
    /// Every exported function, numbered in this order.
    functions: Vec<Forwarded>,
}

/// The first named type (a record, variant, enum, flags or resource, by name) `ty` uses.
fn named_type(resolve: &Resolve, ty: &Type) -> Option<String> {
    let Type::Id(id) = ty else { return None };
    let def = &resolve.types[*id];
    if let Some(name) = &def.name {
        return Some(name.clone());
    }
    let of = |t: &Type| named_type(resolve, t);
    let opt = |t: &Option<Type>| t.as_ref().and_then(of);
    match &def.kind {
        TypeDefKind::Type(t) | TypeDefKind::List(t) | TypeDefKind::Option(t) => of(t),
        TypeDefKind::FixedLengthList(t, _) => of(t),
        TypeDefKind::Tuple(t) => t.types.iter().find_map(of),
        TypeDefKind::Result(r) => opt(&r.ok).or_else(|| opt(&r.err)),
        _ => None,
    }
}

/// The exports of `guest`, a library component (one that exports neither `wasi:cli/run` nor
/// an HTTP handler), for the generic path.
///
/// Errors: [`WrapError::NotAComponent`]; [`WrapError::NotACommand`] when it exports no
/// function; [`WrapError::UnsupportedExport`] naming the export and why (a resource, a
/// stream, a future, an async function, or a function of the world itself that uses a named
/// type).
fn library_exports(guest: &[u8]) -> Result<LibraryExports, WrapError> {
    let decoded =
        wit_component::decode(guest).map_err(|e| WrapError::NotAComponent(format!("{e:#}")))?;
    let wit_component::DecodedWasm::Component(resolve, world) = decoded else {
        return Err(WrapError::NotAComponent(
            "it is a WIT package, not a component".into(),
        ));
    };
    let refused = |export: String, reason: String| WrapError::UnsupportedExport { export, reason };
    // Why an exported function cannot be recorded: as an import's, and async functions too
    // (imported ones are forwarded; a library's async exports are not recorded yet).
    let refusal = |resolve: &Resolve, resources: &[TypeId], f: &WitFunction| {
        if f.kind.is_async() {
            return Some(format!(
                "`{}` is an async function; a library's async exports are not recorded yet",
                f.name
            ));
        }
        refusal(resolve, resources, f)
    };
    let mut interfaces = Vec::new();
    let mut functions = Vec::new();
    for (key, item) in &resolve.worlds[world].exports {
        let name = resolve.name_world_key(key);
        match item {
            WorldItem::Interface { id, .. } => {
                if let Some(r) = resources_of(&resolve, &[*id]).first() {
                    let r = resolve.types[*r].name.clone().unwrap_or_default();
                    return Err(refused(
                        name,
                        format!(
                            "it defines the resource `{r}`, and the calls of a library's resources are not recorded yet"
                        ),
                    ));
                }
                for f in resolve.interfaces[*id].functions.values() {
                    if let Some(reason) = refusal(&resolve, &[], f) {
                        return Err(refused(name, reason));
                    }
                    functions.push((Some(name.clone()), f.clone()));
                }
                interfaces.push((name, *id));
            }
            WorldItem::Function(f) => {
                if let Some(reason) = refusal(&resolve, &[], f) {
                    return Err(refused(name, reason));
                }
                let types = f.params.iter().map(|p| &p.ty).chain(&f.result);
                if let Some(t) = types.filter_map(|t| named_type(&resolve, t)).next() {
                    return Err(refused(
                        name,
                        format!(
                            "it uses the type `{t}`; a function of the world itself is recorded with unnamed types only (export it from an interface)"
                        ),
                    ));
                }
                functions.push((None, f.clone()));
            }
            WorldItem::Type { .. } => {}
        }
    }
    if functions.is_empty() {
        return Err(WrapError::NotACommand);
    }
    Ok(LibraryExports {
        resolve,
        interfaces,
        functions,
    })
}

/// The functions a library component exports, as the trace header lists them (after the
/// `first` functions of its imports), in the order [`export_forwarder`] and [`driver`] number
/// them.
///
/// Errors: [`WrapError::NotAComponent`]; [`WrapError::NotACommand`] when the component exports
/// no function; [`WrapError::UnsupportedExport`] naming the export and why (a resource, a
/// stream, a future or an async function).
pub fn export_functions(guest: &[u8]) -> Result<Vec<TracedFunction>, WrapError> {
    let lib = library_exports(guest)?;
    lib.functions
        .iter()
        .map(|(interface, f)| {
            traced(
                &lib.resolve,
                &[],
                interface.clone().unwrap_or_default(),
                f,
                true,
            )
        })
        .collect()
}

/// A world named `name` in `resolve` (in a package of its own) with the library's exported
/// interfaces and functions as imports (and, with `export_too`, as exports), `wasm-rr:rr`'s
/// interface `generic` imported, and `extra_exports` (of `wasm-rr:rr`) exported. Returns the
/// world and `wasm-rr:rr/generic` (see [`push_rr`]).
fn library_world(
    lib: &mut LibraryExports,
    name: &str,
    export_too: bool,
    extra_exports: &[&str],
) -> Result<(WorldId, InterfaceId), WrapError> {
    let resolve = &mut lib.resolve;
    let rr = push_rr(resolve)?;
    let mut lines = String::new();
    for (i, _) in &lib.interfaces {
        lines += &format!("  import {i};\n");
        if export_too {
            lines += &format!("  export {i};\n");
        }
    }
    lines += &format!("  import {GENERIC};\n");
    for e in extra_exports {
        lines += &format!("  export wasm-rr:rr/{e};\n");
    }
    let world = push_world(resolve, name, &lines)?;
    for (interface, f) in &lib.functions {
        if interface.is_none() {
            let key = WorldKey::Name(f.name.clone());
            let w = &mut resolve.worlds[world];
            w.imports
                .insert(key.clone(), WorldItem::Function(f.clone()));
            if export_too {
                w.exports.insert(key, WorldItem::Function(f.clone()));
            }
        }
    }
    Ok((world, rr))
}

/// Adds wasm-rr's own WIT package (`wasm-rr:rr`) to `resolve`; returns its interface
/// `generic`, whose functions the generated components call.
pub(crate) fn push_rr(resolve: &mut Resolve) -> Result<InterfaceId, WrapError> {
    let package = resolve
        .push_str("rr.wit", RR_WIT)
        .map_err(|e| WrapError::Compose(format!("wasm-rr's WIT: {e:#}")))?;
    Ok(resolve.packages[package].interfaces["generic"])
}

/// The core signature of function `name` of `wasm-rr:rr/generic` (`rr`, see [`push_rr`]),
/// imported.
fn hook_signature(
    resolve: &Resolve,
    rr: InterfaceId,
    name: &str,
) -> wit_parser::abi::WasmSignature {
    resolve.wasm_signature(
        AbiVariant::GuestImport,
        &resolve.interfaces[rr].functions[name],
    )
}

/// Adds `package wasm-rr:generic; world NAME { LINES }` to `resolve`; returns the world.
pub(crate) fn push_world(
    resolve: &mut Resolve,
    name: &str,
    lines: &str,
) -> Result<WorldId, WrapError> {
    let wit = format!("package wasm-rr:generic;\nworld {name} {{\n{lines}}}\n");
    let package = resolve
        .push_str(format!("{name}.wit"), &wit)
        .map_err(|e| WrapError::Compose(format!("the {name}'s world: {e:#}")))?;
    resolve
        .select_world(&[package], Some(name))
        .map_err(|e| WrapError::Compose(format!("{e:#}")))
}

/// The canonical ABI sizes and alignments of `resolve`'s types.
fn sizes_of(resolve: &Resolve) -> Result<wit_parser::SizeAlign, WrapError> {
    let mut sizes = wit_parser::SizeAlign::default();
    sizes
        .fill(resolve)
        .map_err(|e| WrapError::Compose(format!("{e:#}")))?;
    Ok(sizes)
}

/// The recording component's forwarder for a library component's exports: it exports what
/// the library exports and imports it from the library (under the same names), and hands
/// every call to `wasm-rr:rr/generic.invoked` before passing it on, then its results to
/// `returned`. Its functions are numbered from `first` (after the app's generic imports), in
/// the order [`export_functions`] lists them.
///
/// Errors: [`WrapError::NotAComponent`]; [`WrapError::NotACommand`] when the component exports
/// no function; [`WrapError::UnsupportedExport`] naming the export and why (a resource, a
/// stream, a future or an async function); [`WrapError::Compose`] when `wit-component`
/// rejects what was generated (a bug).
pub fn export_forwarder(guest: &[u8], first: u32) -> Result<Vec<u8>, WrapError> {
    let mut lib = library_exports(guest)?;
    let (world, rr) = library_world(&mut lib, "export-forwarder", true, &[])?;
    let resolve = &lib.resolve;
    let sizes = sizes_of(resolve)?;
    let hooks = Hooks {
        name: "invoked",
        sig: hook_signature(resolve, rr, "invoked"),
        dropped: hook_signature(resolve, rr, "dropped"),
        after: Some(hook_signature(resolve, rr, "returned")),
        subtasks: None,
        pumps: None,
    };
    componentize(
        forwarding_module(
            resolve,
            &sizes,
            &lib.functions,
            Forwarding::RecordExports,
            Some(&hooks),
            &[],
            first,
        ),
        resolve,
        world,
    )
    .map_err(|e| WrapError::Compose(format!("the export forwarder: {e:#}")))
}

/// The replaying component's driver for a library component: it imports what the library
/// exports, and exports `wasm-rr:rr/driver`, whose `run` makes each export call the trace
/// holds (`wasm-rr:rr/generic.next-invocation`, from function number `first` on) and hands
/// the results to `returned`, which checks and prints them.
///
/// Errors: as [`export_forwarder`].
pub fn driver(guest: &[u8], first: u32) -> Result<Vec<u8>, WrapError> {
    let mut lib = library_exports(guest)?;
    let (world, rr) = library_world(&mut lib, "driver", false, &["driver"])?;
    let resolve = &lib.resolve;
    let sizes = sizes_of(resolve)?;
    let next = hook_signature(resolve, rr, "next-invocation");
    let returned = hook_signature(resolve, rr, "returned");
    componentize(
        driver_module(resolve, &sizes, &lib.functions, first, &next, &returned),
        resolve,
        world,
    )
    .map_err(|e| WrapError::Compose(format!("the replay driver: {e:#}")))
}

/// The driver's core module (see [`driver`]). Function indices: one import per function, then
/// `next-invocation`, `returned`, then `cabi_realloc` and `run`.
fn driver_module(
    resolve: &Resolve,
    sizes: &wit_parser::SizeAlign,
    functions: &[Forwarded],
    first: u32,
    next: &wit_parser::abi::WasmSignature,
    returned: &wit_parser::abi::WasmSignature,
) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut defined = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let signatures: Vec<_> = functions
        .iter()
        .map(|(_, f)| resolve.wasm_signature(AbiVariant::GuestImport, f))
        .collect();
    for ((interface, f), sig) in functions.iter().zip(&signatures) {
        let ty = new_type(&mut types, &sig.params, &sig.results);
        imports.import(import_module(interface), &f.name, EntityType::Function(ty));
    }
    let n = functions.len() as u32;
    let (next_index, returned_index) = (n, n + 1);
    let ty = new_type(&mut types, &next.params, &next.results);
    imports.import(GENERIC, "next-invocation", EntityType::Function(ty));
    let ty = new_type(&mut types, &returned.params, &returned.results);
    imports.import(GENERIC, "returned", EntityType::Function(ty));
    let realloc = n + 2;
    let ty = new_type(&mut types, &[WasmType::I32; 4], &[WasmType::I32]);
    defined.function(ty);
    code.function(&realloc_body());
    exports.export("cabi_realloc", ExportKind::Func, realloc);
    let run = realloc + 1;
    let ty = new_type(&mut types, &[], &[WasmType::I32]);
    defined.function(ty);
    exports.export("wasm-rr:rr/driver#run", ExportKind::Func, run);
    // Locals: the hook's return area, dest, the function's number, the arguments' list, the
    // return area, the results' list; then one flat result of each core type (6 to 9).
    let (hook_area, dest, function, args, area, results) = (0, 1, 2, 3, 4, 5);
    let flat_local = |t: ValType| match t {
        ValType::I32 => 6,
        ValType::I64 => 7,
        ValType::F32 => 8,
        _ => 9,
    };
    let mut body = Function::new(vec![
        (7, ValType::I32),
        (1, ValType::I64),
        (1, ValType::F32),
        (1, ValType::F64),
    ]);
    let mut ins = body.instructions();
    ins.block(BlockType::Empty).loop_(BlockType::Empty);
    // Everything of the last call is free again.
    ins.i32_const(HEAP_BASE).global_set(0);
    // next-invocation(dest) -> tuple<list<u8>, list<u64>, s32>: the bytes come back at
    // `dest`, the bump allocator's next block after the return area.
    alloc(&mut ins, realloc, 24, hook_area);
    next_block(&mut ins, dest);
    ins.local_get(dest).local_get(hook_area).call(next_index);
    // Anything else than the arguments' bytes at `dest` is a bug: trap rather than make a
    // call with the wrong ones.
    trap_unless_at(&mut ins, hook_area, dest);
    ins.local_get(hook_area)
        .i32_load(word(16).with_align(2))
        .local_tee(function)
        .i32_const(0)
        .i32_lt_s()
        .br_if(1);
    ins.local_get(hook_area)
        .i32_load(word(8).with_align(2))
        .local_set(args);
    for (k, ((_, f), sig)) in functions.iter().zip(&signatures).enumerate() {
        ins.local_get(function)
            .i32_const((first + k as u32) as i32)
            .i32_eq()
            .if_(BlockType::Empty);
        let params = if sig.retptr {
            &sig.params[..sig.params.len() - 1]
        } else {
            &sig.params[..]
        };
        if sig.retptr {
            let size = f
                .result
                .as_ref()
                .map_or(0, |t| sizes.size(t).size_wasm32())
                .max(8) as i32;
            alloc(&mut ins, realloc, size, area);
        }
        push_flat_values(&mut ins, args, params);
        if sig.retptr {
            ins.local_get(area);
        }
        ins.call(k as u32);
        let flat: Vec<(u32, WasmType)> = match sig.results.first() {
            Some(t) => {
                let local = flat_local(val_type(t));
                ins.local_set(local);
                vec![(local, *t)]
            }
            None if sig.retptr => vec![(area, WasmType::I32)],
            None => vec![],
        };
        store_bits(&mut ins, realloc, &flat, results);
        ins.local_get(function)
            .local_get(results)
            .i32_const(flat.len() as i32);
        push_heap(&mut ins);
        ins.call(returned_index);
        ins.end();
    }
    ins.br(0).end().end();
    // ok: every recorded call returned what it had (a difference stops the replay before).
    ins.i32_const(0).end();
    code.function(&body);
    assemble(types, imports, defined, exports, code, &[HEAP_BASE])
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
