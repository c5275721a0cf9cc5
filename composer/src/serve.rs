//! WASI 0.3 HTTP services (`wasi:http/handler@0.3`) under `wasmtime serve`, which gives one
//! instance many requests, some at once: the components made at wrap time around the app.
//!
//! The host hands each request to `handle` in its own `wasi:http/types`; the app takes it in
//! the forwarder's, whose resources wrap the host's. A component cannot import a function typed
//! with resources it exports, so three components share the work:
//!
//! ```text
//!  host ──handle(host request)──▶ handler wrapper ──handle(app request)──▶ app
//!                                   │  put / collect        ▲ take / give / fail
//!                                   ▼                       │
//!                                 mailbox ◀──take / give── forwarder (recorded calls)
//! ```
//!
//! - the **mailbox** ([`mailbox`]) holds the host's request from the wrapper until the
//!   forwarder takes it, and the host's response from the forwarder until the wrapper collects
//!   it; it exports `wasm-rr:serve/requests` in the host's types;
//! - the **forwarder** forwards `wasm-rr:serve/requests` as it forwards any interface of the
//!   generic path: `take() -> request` wraps the host's request in one of its own (the
//!   trace's `wasm-rr:serve/requests.take() -> request#N`: a request arrived), `give(response)`
//!   hands the app's response to the host (`give(response#M)`: it was answered) and
//!   `fail(error-code)` records an error the app returned;
//! - the **handler wrapper** ([`handler_wrapper`]) exports the host's `handle`, lifted with the
//!   async ABI (a callback), so that requests run concurrently as they do unwrapped: it puts
//!   the request in the mailbox, takes the app's, starts the forwarder's stream driver if it
//!   is not running, calls the app's `handle` async-lowered, and once it returns gives the
//!   response and returns the host's. It tells the interposer when a request comes
//!   (`wasm-rr:rr/control.serve-starting`, which opens the instance's trace at the first) and
//!   when it is answered or the instance has nothing left to do (`serve-returned`, which writes
//!   the trace out), and the driver how many requests are in flight (`pump.busy`).

use crate::WrapError;
use crate::generic::callback::{EVENT_SUBTASK, EXIT, RETURNED, WAIT, YIELD};
use crate::generic::{
    assemble_module, componentize, push_rr, push_world, realloc_body, val_type as val,
};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, Encode, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, ImportSection, MemArg, Section, TypeSection, ValType,
};
use wit_parser::abi::{AbiVariant, FlatTypes, WasmType};
use wit_parser::{Int, InterfaceId, Resolve, SizeAlign, Type, TypeDefKind, WorldId};

/// The interface through which a service's requests and responses pass the forwarder (and so
/// are recorded): `take`, `give`, `fail`.
pub const SERVE_REQUESTS: &str = "wasm-rr:serve/requests";

/// The exported interface of a WASI 0.3 HTTP service, without its version.
pub const HANDLER_P3: &str = "wasi:http/handler";

/// The version of `wasi:http/handler@0.3.x` among `exports` (the service's), if it exports
/// one.
pub fn service_version(exports: &[String]) -> Option<&str> {
    exports.iter().find_map(|e| match crate::split_version(e) {
        (HANDLER_P3, Some(v)) if v.starts_with("0.3.") => Some(v),
        _ => None,
    })
}

/// wasm-rr's WIT package for a service whose `wasi:http` is at `version`.
fn serve_wit(version: &str) -> String {
    format!(
        "package wasm-rr:serve;

interface requests {{
  use wasi:http/types@{version}.{{request, response, error-code}};
  take: func() -> request;
  give: func(request: u32, response: response);
  fail: func(request: u32, error: error-code);
}}

interface mailbox {{
  use wasi:http/types@{version}.{{request, response}};
  put: func(request: request);
  collect: func() -> response;
}}

interface guest-types {{
  resource request;
  resource response;
}}

interface guest-requests {{
  use guest-types.{{request, response}};
  use wasi:http/types@{version}.{{error-code}};
  take: func() -> request;
  give: func(request: u32, response: response);
  fail: func(request: u32, error: error-code);
}}

interface guest-handler {{
  use guest-types.{{request, response}};
  use wasi:http/types@{version}.{{error-code}};
  handle: async func(request: request) -> result<response, error-code>;
}}
"
    )
}

/// Adds wasm-rr's `wasm-rr:serve` package to `resolve` (the app's WIT, which holds
/// `wasi:http@version`); returns its interface `requests`.
///
/// Errors: [`WrapError::Compose`] when the app's `wasi:http/types` lacks what the package uses.
pub(crate) fn push_serve(resolve: &mut Resolve, version: &str) -> Result<InterfaceId, WrapError> {
    let package = resolve
        .push_str("serve.wit", &serve_wit(version))
        .map_err(|e| WrapError::Compose(format!("wasm-rr's serve WIT: {e:#}")))?;
    Ok(resolve.packages[package].interfaces["requests"])
}

/// The app's WIT, with `wasm-rr:serve` added, and its world.
fn service_resolve(guest: &[u8], version: &str) -> Result<(Resolve, WorldId), WrapError> {
    let decoded =
        wit_component::decode(guest).map_err(|e| WrapError::NotAComponent(format!("{e:#}")))?;
    let wit_component::DecodedWasm::Component(mut resolve, world) = decoded else {
        return Err(WrapError::NotAComponent(
            "it is a WIT package, not a component".into(),
        ));
    };
    push_serve(&mut resolve, version)?;
    Ok((resolve, world))
}

/// An interface's function, as the app's WIT (with `wasm-rr:serve`) has it.
fn function<'r>(
    resolve: &'r Resolve,
    interface: &str,
    name: &str,
) -> Result<&'r wit_parser::Function, WrapError> {
    resolve
        .interfaces
        .iter()
        .find(|(id, _)| resolve.id_of(*id).as_deref() == Some(interface))
        .and_then(|(_, i)| i.functions.get(name))
        .ok_or_else(|| WrapError::Compose(format!("the app's WIT has no {interface}.{name}")))
}

/// The flat types of `ty`, if they are at most `max`.
fn flat(resolve: &Resolve, ty: &Type, max: usize) -> Option<Vec<ValType>> {
    let mut storage = vec![WasmType::I32; max];
    let mut types = FlatTypes::new(&mut storage);
    resolve
        .push_flat(ty, &mut types)
        .then(|| types.to_vec().iter().map(val).collect())
}

/// A byte access at `offset`, with no alignment assumed.
fn at(offset: u32) -> MemArg {
    MemArg {
        offset: offset.into(),
        align: 0,
        target: Default::default(),
        ordering: None,
    }
}

/// The locals of a function that [`Loader`] hands out: `count` of each core type, after
/// `first` others.
struct Pool {
    first: u32,
    count: u32,
    used: [u32; 4],
}

impl Pool {
    const TYPES: [ValType; 4] = [ValType::I32, ValType::I64, ValType::F32, ValType::F64];

    fn new(first: u32, count: u32) -> Pool {
        Pool {
            first,
            count,
            used: [0; 4],
        }
    }

    /// The locals to declare.
    fn declared(&self) -> Vec<(u32, ValType)> {
        Self::TYPES.iter().map(|t| (self.count, *t)).collect()
    }

    fn take(&mut self, t: ValType) -> Result<u32, WrapError> {
        let k = Self::TYPES.iter().position(|x| *x == t).unwrap_or(0);
        if self.used[k] == self.count {
            return Err(WrapError::Compose(
                "a value too big for the service's handler wrapper".into(),
            ));
        }
        self.used[k] += 1;
        Ok(self.first + k as u32 * self.count + self.used[k] - 1)
    }
}

/// Loads a value from memory into locals, as its flat values (the canonical ABI's `lift`
/// from memory followed by `lower` to flat values, for the same type on both sides).
struct Loader<'a> {
    resolve: &'a Resolve,
    sizes: &'a SizeAlign,
    pool: Pool,
}

impl Loader<'_> {
    /// Emits one load (`load`, from the address in local `addr`) into a new local of type `t`.
    fn one(
        &mut self,
        ins: &mut wasm_encoder::InstructionSink,
        addr: u32,
        t: ValType,
        load: impl FnOnce(&mut wasm_encoder::InstructionSink),
    ) -> Result<Vec<(u32, ValType)>, WrapError> {
        let local = self.pool.take(t)?;
        ins.local_get(addr);
        load(ins);
        ins.local_set(local);
        Ok(vec![(local, t)])
    }

    /// Emits the loads of the value of type `ty` at `offset` from the address in local `addr`;
    /// returns the locals holding its flat values, in order.
    fn load(
        &mut self,
        ins: &mut wasm_encoder::InstructionSink,
        ty: &Type,
        addr: u32,
        offset: u32,
    ) -> Result<Vec<(u32, ValType)>, WrapError> {
        let o = at(offset);
        match ty {
            Type::Bool | Type::U8 => self.one(ins, addr, ValType::I32, |i| {
                i.i32_load8_u(o);
            }),
            Type::S8 => self.one(ins, addr, ValType::I32, |i| {
                i.i32_load8_s(o);
            }),
            Type::U16 => self.one(ins, addr, ValType::I32, |i| {
                i.i32_load16_u(o);
            }),
            Type::S16 => self.one(ins, addr, ValType::I32, |i| {
                i.i32_load16_s(o);
            }),
            Type::U32 | Type::S32 | Type::Char | Type::ErrorContext => {
                self.one(ins, addr, ValType::I32, |i| {
                    i.i32_load(o);
                })
            }
            Type::U64 | Type::S64 => self.one(ins, addr, ValType::I64, |i| {
                i.i64_load(o);
            }),
            Type::F32 => self.one(ins, addr, ValType::F32, |i| {
                i.f32_load(o);
            }),
            Type::F64 => self.one(ins, addr, ValType::F64, |i| {
                i.f64_load(o);
            }),
            Type::String => self.pointer_and_length(ins, addr, offset),
            Type::Id(id) => match self.resolve.types[*id].kind.clone() {
                TypeDefKind::Type(t) => self.load(ins, &t, addr, offset),
                TypeDefKind::List(_) => self.pointer_and_length(ins, addr, offset),
                TypeDefKind::Handle(_) | TypeDefKind::Future(_) | TypeDefKind::Stream(_) => self
                    .one(ins, addr, ValType::I32, |i| {
                        i.i32_load(o);
                    }),
                TypeDefKind::Record(r) => {
                    let fields: Vec<Type> = r.fields.iter().map(|f| f.ty).collect();
                    self.fields(ins, &fields, addr, offset)
                }
                TypeDefKind::Tuple(t) => self.fields(ins, &t.types, addr, offset),
                TypeDefKind::Flags(f) => {
                    let bytes = self.sizes.size(ty).size_wasm32() as u32;
                    let mut out = Vec::new();
                    if f.flags.is_empty() {
                        return Ok(out);
                    }
                    for w in 0..bytes.div_ceil(4) {
                        out.extend(self.one(ins, addr, ValType::I32, |i| {
                            match bytes {
                                1 => i.i32_load8_u(o),
                                2 => i.i32_load16_u(o),
                                _ => i.i32_load(at(offset + 4 * w)),
                            };
                        })?);
                    }
                    Ok(out)
                }
                TypeDefKind::Enum(e) => self.discriminant(ins, e.tag(), addr, offset),
                TypeDefKind::Option(t) => {
                    self.variant(ins, ty, Int::U8, &[None, Some(t)], addr, offset)
                }
                TypeDefKind::Result(r) => {
                    self.variant(ins, ty, Int::U8, &[r.ok, r.err], addr, offset)
                }
                TypeDefKind::Variant(v) => {
                    let cases: Vec<Option<Type>> = v.cases.iter().map(|c| c.ty).collect();
                    self.variant(ins, ty, v.tag(), &cases, addr, offset)
                }
                kind => Err(WrapError::Compose(format!(
                    "a {} in a service's handler result",
                    kind.as_str()
                ))),
            },
        }
    }

    fn pointer_and_length(
        &mut self,
        ins: &mut wasm_encoder::InstructionSink,
        addr: u32,
        offset: u32,
    ) -> Result<Vec<(u32, ValType)>, WrapError> {
        let ptr = self.pool.take(ValType::I32)?;
        let len = self.pool.take(ValType::I32)?;
        ins.local_get(addr).i32_load(at(offset)).local_set(ptr);
        ins.local_get(addr).i32_load(at(offset + 4)).local_set(len);
        Ok(vec![(ptr, ValType::I32), (len, ValType::I32)])
    }

    fn fields(
        &mut self,
        ins: &mut wasm_encoder::InstructionSink,
        types: &[Type],
        addr: u32,
        offset: u32,
    ) -> Result<Vec<(u32, ValType)>, WrapError> {
        let mut out = Vec::new();
        let offsets: Vec<(u32, Type)> = self
            .sizes
            .field_offsets(types.iter())
            .into_iter()
            .map(|(off, t)| (off.size_wasm32() as u32, *t))
            .collect();
        for (off, t) in offsets {
            out.extend(self.load(ins, &t, addr, offset + off)?);
        }
        Ok(out)
    }

    fn discriminant(
        &mut self,
        ins: &mut wasm_encoder::InstructionSink,
        tag: Int,
        addr: u32,
        offset: u32,
    ) -> Result<Vec<(u32, ValType)>, WrapError> {
        let local = self.pool.take(ValType::I32)?;
        ins.local_get(addr);
        match tag {
            Int::U8 => ins.i32_load8_u(at(offset)),
            Int::U16 => ins.i32_load16_u(at(offset)),
            _ => ins.i32_load(at(offset)),
        };
        ins.local_set(local);
        Ok(vec![(local, ValType::I32)])
    }

    /// A variant (`option`, `result`, `variant`) of type `ty`: its discriminant, then its
    /// payload's flat values widened to the joined types of all cases (zero where the case
    /// has fewer).
    fn variant(
        &mut self,
        ins: &mut wasm_encoder::InstructionSink,
        ty: &Type,
        tag: Int,
        cases: &[Option<Type>],
        addr: u32,
        offset: u32,
    ) -> Result<Vec<(u32, ValType)>, WrapError> {
        let joined = flat(self.resolve, ty, 64)
            .ok_or_else(|| WrapError::Compose("a variant too big to load".into()))?;
        let mut out = self.discriminant(ins, tag, addr, offset)?;
        let disc = out[0].0;
        for t in &joined[1..] {
            let local = self.pool.take(*t)?;
            match t {
                ValType::I64 => ins.i64_const(0),
                ValType::F32 => ins.f32_const(0.0.into()),
                ValType::F64 => ins.f64_const(0.0.into()),
                _ => ins.i32_const(0),
            };
            ins.local_set(local);
            out.push((local, *t));
        }
        let payload = self
            .sizes
            .payload_offset(tag, cases.iter().map(|c| c.as_ref()))
            .size_wasm32() as u32;
        for (case, t) in cases.iter().enumerate() {
            let Some(t) = t else { continue };
            ins.local_get(disc)
                .i32_const(case as i32)
                .i32_eq()
                .if_(BlockType::Empty);
            // The case's locals are free again once copied.
            let mark = self.pool.used;
            let values = self.load(ins, t, addr, offset + payload)?;
            for ((from, from_ty), (to, to_ty)) in values.iter().zip(&out[1..]) {
                ins.local_get(*from);
                match (from_ty, to_ty) {
                    (ValType::I32, ValType::I64) => {
                        ins.i64_extend_i32_u();
                    }
                    (ValType::F32, ValType::I32) => {
                        ins.i32_reinterpret_f32();
                    }
                    (ValType::F32, ValType::I64) => {
                        ins.i32_reinterpret_f32().i64_extend_i32_u();
                    }
                    (ValType::F64, ValType::I64) => {
                        ins.i64_reinterpret_f64();
                    }
                    _ => {}
                }
                ins.local_set(*to);
            }
            self.pool.used = mark;
            ins.end();
        }
        Ok(out)
    }
}

/// A module of these sections with one page of memory (see [`assemble_module`]).
fn assemble(
    types: TypeSection,
    imports: ImportSection,
    defined: FunctionSection,
    exports: ExportSection,
    code: CodeSection,
    globals: &[i32],
) -> Vec<u8> {
    assemble_module(types, imports, defined, exports, code, globals, None, 1)
}

/// Where a module's allocator starts.
const HEAP: i32 = 16;

/// The mailbox of a service whose `wasi:http` is at `version` (see the module's
/// documentation): exports `wasm-rr:serve/requests` (`take` gives the request `put` left,
/// `give` keeps the response for `collect`, `fail` does nothing) and `wasm-rr:serve/mailbox`
/// (`put`, `collect`), both in the host's `wasi:http/types`.
///
/// Errors: [`WrapError::Compose`] when `wit-component` rejects what was generated (a bug).
pub fn mailbox(guest: &[u8], version: &str) -> Result<Vec<u8>, WrapError> {
    let (mut resolve, _) = service_resolve(guest, version)?;
    let world = push_world(
        &mut resolve,
        "serve-mailbox",
        "  export wasm-rr:serve/requests;\n  export wasm-rr:serve/mailbox;\n",
    )?;
    let fail = function(&resolve, SERVE_REQUESTS, "fail")?;
    let fail_params = resolve.wasm_signature(AbiVariant::GuestExport, fail).params;
    let mut t = Types::new();
    let fail_ty = t.params(&fail_params.iter().map(val).collect::<Vec<_>>());
    let (get_ty, set_ty, give_ty) = (t.to_i32, t.i32_to, t.two_to);
    let mut defined = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    // 0: cabi_realloc.
    defined.function(t.four_to_i32);
    code.function(&realloc_body());
    exports.export("cabi_realloc", ExportKind::Func, 0);
    // Globals 1 and 2: the request put, the response given.
    let getter = |global: u32| {
        let mut f = Function::new(vec![]);
        f.instructions().global_get(global).end();
        f
    };
    let setter = |global: u32| {
        let mut f = Function::new(vec![]);
        f.instructions().local_get(0).global_set(global).end();
        f
    };
    let functions: [(&str, u32, Function); 5] = [
        ("wasm-rr:serve/requests#take", get_ty, getter(1)),
        ("wasm-rr:serve/requests#give", give_ty, {
            let mut f = Function::new(vec![]);
            f.instructions().local_get(1).global_set(2).end();
            f
        }),
        ("wasm-rr:serve/requests#fail", fail_ty, {
            let mut f = Function::new(vec![]);
            f.instructions().end();
            f
        }),
        ("wasm-rr:serve/mailbox#put", set_ty, setter(1)),
        ("wasm-rr:serve/mailbox#collect", get_ty, getter(2)),
    ];
    for (i, (name, ty, body)) in functions.iter().enumerate() {
        defined.function(*ty);
        code.function(body);
        exports.export(name, ExportKind::Func, 1 + i as u32);
    }
    let module = assemble(
        t.section,
        ImportSection::new(),
        defined,
        exports,
        code,
        &[HEAP, 0, 0],
    );
    componentize(module, &resolve, world)
        .map_err(|e| WrapError::Compose(format!("the service's mailbox: {e:#}")))
}

/// A request's area in the handler wrapper's memory: its waitable set, the app's `handle`
/// subtask (0 once returned), the driver's subtask when this request started it (0 once
/// returned), whether it was answered, its number (from 1, in the order the instance got
/// them), then the app's result.
const SET: u32 = 0;
const APP: u32 = 4;
const DRIVER: u32 = 8;
const DONE: u32 = 12;
const NUMBER: u32 = 16;
const RESULT: u32 = 24;

/// What the handler wrapper and the replay driver share: the app's WIT with `wasm-rr:serve`
/// and `wasm-rr:rr`, their world, the types' sizes, and the shape of `handle`'s result.
struct Service {
    resolve: Resolve,
    world: WorldId,
    sizes: SizeAlign,
    /// `handle`'s result (`result<response, error-code>`) and its error type.
    result: Type,
    error: Type,
    /// Where the result's payload lies after its discriminant, in bytes.
    payload: u32,
    /// A request's area, in bytes (see [`RESULT`]).
    area_size: u32,
    /// The core parameters of `wasm-rr:serve/guest-requests.fail`.
    fail_params: Vec<ValType>,
}

impl Service {
    /// The component `name`'s world: `lines` (its imports and exports) in the app's WIT, which
    /// `extra` may add to first.
    fn new(
        guest: &[u8],
        version: &str,
        name: &str,
        lines: &str,
        extra: impl FnOnce(&mut Resolve) -> Result<(), WrapError>,
    ) -> Result<Service, WrapError> {
        let (mut resolve, _) = service_resolve(guest, version)?;
        push_rr(&mut resolve)?;
        extra(&mut resolve)?;
        let world = push_world(&mut resolve, name, lines)?;
        let mut sizes = SizeAlign::default();
        sizes
            .fill(&resolve)
            .map_err(|e| WrapError::Compose(format!("{e:#}")))?;
        let handler = format!("{HANDLER_P3}@{version}");
        let handle = function(&resolve, &handler, "handle")?.clone();
        let fail = function(&resolve, "wasm-rr:serve/guest-requests", "fail")?.clone();
        let (result, error) = handler_result(&resolve, &handle)?;
        let payload = sizes
            .payload_offset(Int::U8, [Some(&Type::U32), Some(&error)])
            .size_wasm32() as u32;
        let area_size = (RESULT + sizes.size(&result).size_wasm32() as u32).next_multiple_of(8);
        let fail_params = resolve
            .wasm_signature(AbiVariant::GuestImport, &fail)
            .params
            .iter()
            .map(val)
            .collect();
        Ok(Service {
            resolve,
            world,
            sizes,
            result,
            error,
            payload,
            area_size,
            fail_params,
        })
    }

    /// A loader of values with its locals from local 1 on (after one parameter).
    fn loader(&self) -> Loader<'_> {
        Loader {
            resolve: &self.resolve,
            sizes: &self.sizes,
            pool: Pool::new(1, 64),
        }
    }

    /// Emits: the app's result in the area (local `area`) is given (`give(number, response)`,
    /// function `give`) or, an error, recorded or checked (`fail(number, error)`, `fail`).
    fn give_or_fail(
        &self,
        ins: &mut wasm_encoder::InstructionSink,
        loader: &mut Loader,
        area: u32,
        give: u32,
        fail: u32,
        after_give: impl FnOnce(&mut wasm_encoder::InstructionSink),
    ) -> Result<(), WrapError> {
        ins.local_get(area)
            .i32_load8_u(at(RESULT))
            .i32_eqz()
            .if_(BlockType::Empty);
        ins.local_get(area).i32_load(at(NUMBER));
        ins.local_get(area)
            .i32_load(at(RESULT + self.payload))
            .call(give);
        after_give(ins);
        ins.else_();
        ins.local_get(area).i32_load(at(NUMBER));
        for (local, _) in loader.load(ins, &self.error, area, RESULT + self.payload)? {
            ins.local_get(local);
        }
        ins.call(fail);
        ins.end();
        Ok(())
    }
}

/// The function types the mailbox, the handler wrapper and the replay driver use, by shape.
struct Types {
    section: TypeSection,
    none: u32,
    to_i32: u32,
    i32_to: u32,
    i32_to_i32: u32,
    two_to: u32,
    two_to_i32: u32,
    three_to: u32,
    three_to_i32: u32,
    four_to_i32: u32,
}

impl Types {
    fn new() -> Types {
        use ValType::I32;
        let mut section = TypeSection::new();
        let mut ty = |params: &[ValType], results: &[ValType]| {
            let index = section.len();
            section
                .ty()
                .function(params.iter().copied(), results.iter().copied());
            index
        };
        let none = ty(&[], &[]);
        let to_i32 = ty(&[], &[I32]);
        let i32_to = ty(&[I32], &[]);
        let i32_to_i32 = ty(&[I32], &[I32]);
        let two_to = ty(&[I32, I32], &[]);
        let two_to_i32 = ty(&[I32, I32], &[I32]);
        let three_to = ty(&[I32, I32, I32], &[]);
        let three_to_i32 = ty(&[I32, I32, I32], &[I32]);
        let four_to_i32 = ty(&[I32; 4], &[I32]);
        Types {
            section,
            none,
            to_i32,
            i32_to,
            i32_to_i32,
            two_to,
            two_to_i32,
            three_to,
            three_to_i32,
            four_to_i32,
        }
    }

    /// A type of its own: `params -> ()`.
    fn params(&mut self, params: &[ValType]) -> u32 {
        let index = self.section.len();
        self.section.ty().function(params.iter().copied(), []);
        index
    }
}

/// Emits: local `area` gets a request's area of `size` bytes, from the free list (global
/// `free`) or new (through `realloc`).
fn take_area(
    ins: &mut wasm_encoder::InstructionSink,
    area: u32,
    free: u32,
    realloc: u32,
    size: u32,
) {
    ins.global_get(free).if_(BlockType::Empty);
    ins.global_get(free).local_set(area);
    ins.local_get(area).i32_load(at(0)).global_set(free);
    ins.else_();
    ins.i32_const(0)
        .i32_const(0)
        .i32_const(8)
        .i32_const(size as i32)
        .call(realloc)
        .local_set(area);
    ins.end();
}

/// Emits: global `count` is added `delta` and passed to `busy` (the requests in flight).
fn add_busy(ins: &mut wasm_encoder::InstructionSink, count: u32, delta: i32, busy: u32) {
    ins.global_get(count)
        .i32_const(delta)
        .i32_add()
        .global_set(count)
        .global_get(count)
        .call(busy);
}

/// Emits: the request in the area (local `area`) gets the next number (global `counter`).
fn number_request(ins: &mut wasm_encoder::InstructionSink, area: u32, counter: u32) {
    ins.global_get(counter)
        .i32_const(1)
        .i32_add()
        .global_set(counter);
    ins.local_get(area)
        .global_get(counter)
        .i32_store(at(NUMBER));
}

/// The handler wrapper of a service that exports `wasi:http/handler@version` (see the
/// module's documentation), exporting it in the host's `wasi:http/types`.
///
/// Errors: [`WrapError::Compose`] when `wit-component` rejects what was generated (a bug).
pub fn handler_wrapper(guest: &[u8], version: &str) -> Result<Vec<u8>, WrapError> {
    let handler = format!("{HANDLER_P3}@{version}");
    let svc = Service::new(
        guest,
        version,
        "serve-wrapper",
        &format!(
            "  import wasm-rr:serve/mailbox;\n  import wasm-rr:serve/guest-requests;\n  import wasm-rr:serve/guest-handler;\n  import wasm-rr:rr/control;\n  import {pump};\n  export {handler};\n",
            pump = crate::generic::PUMP
        ),
        |_| Ok(()),
    )?;
    // `task.return`'s parameters: the result's flat values, or its address.
    let returned = flat(&svc.resolve, &svc.result, 16);
    let mut t = Types::new();
    let fail_ty = t.params(&svc.fail_params);
    let return_ty = t.params(returned.as_deref().unwrap_or(&[ValType::I32]));
    let (none, to_i32, i32_to, i32_to_i32) = (t.none, t.to_i32, t.i32_to, t.i32_to_i32);
    let (two_to, two_to_i32, three_to_i32, four_to_i32) =
        (t.two_to, t.two_to_i32, t.three_to_i32, t.four_to_i32);
    let types = t.section;
    let mut imports = ImportSection::new();
    let functions = [
        ("wasm-rr:rr/control", "serve-starting", none),    // 0
        ("wasm-rr:rr/control", "serve-returned", none),    // 1
        ("wasm-rr:serve/mailbox", "put", i32_to),          // 2
        ("wasm-rr:serve/mailbox", "collect", to_i32),      // 3
        ("wasm-rr:serve/guest-requests", "take", to_i32),  // 4
        ("wasm-rr:serve/guest-requests", "give", two_to),  // 5
        ("wasm-rr:serve/guest-requests", "fail", fail_ty), // 6
        (
            "wasm-rr:serve/guest-handler",
            "[async-lower]handle",
            two_to_i32,
        ), // 7
        (crate::generic::PUMP, "busy", i32_to),            // 8
        (crate::generic::PUMP, "[async-lower]drive", to_i32), // 9
        ("$root", "[waitable-set-new]", to_i32),           // 10
        ("$root", "[waitable-join]", two_to),              // 11
        ("$root", "[waitable-set-drop]", i32_to),          // 12
        ("$root", "[subtask-drop]", i32_to),               // 13
        ("$root", "[context-get-0]", to_i32),              // 14
        ("$root", "[context-set-0]", i32_to),              // 15
    ];
    for (module, name, ty) in functions {
        imports.import(module, name, EntityType::Function(ty));
    }
    let export_module = format!("[export]{handler}");
    imports.import(
        &export_module,
        "[task-return]handle",
        EntityType::Function(return_ty),
    ); // 16
    let (serve_starting, serve_returned, put, collect, take, give, fail_fn, app_handle) =
        (0, 1, 2, 3, 4, 5, 6, 7);
    let (busy, drive, set_new, join, set_drop, subtask_drop, context_get, context_set) =
        (8, 9, 10, 11, 12, 13, 14, 15);
    let task_return = 16;
    let (realloc, respond, settle, export, callback) = (17, 18, 19, 20, 21);

    let mut defined = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    // 17: cabi_realloc (for the strings of an error the app returns).
    defined.function(four_to_i32);
    code.function(&realloc_body());
    exports.export("cabi_realloc", ExportKind::Func, realloc);

    // 18: respond(area): the app's `handle` returned its result into the area. Gives its
    // response (and collects the host's in its place) or records its error, returns the
    // result to the host, and says the request is answered.
    defined.function(i32_to);
    let mut loader = svc.loader();
    let mut body = Function::new(loader.pool.declared());
    {
        let mut ins = body.instructions();
        let area = 0;
        let payload = svc.payload;
        svc.give_or_fail(&mut ins, &mut loader, area, give, fail_fn, |ins| {
            ins.local_get(area)
                .call(collect)
                .i32_store(at(RESULT + payload));
        })?;
        match &returned {
            Some(_) => {
                for (local, _) in loader.load(&mut ins, &svc.result, area, RESULT)? {
                    ins.local_get(local);
                }
            }
            None => {
                ins.local_get(area).i32_const(RESULT as i32).i32_add();
            }
        }
        ins.call(task_return);
        add_busy(&mut ins, 1, -1, busy);
        ins.call(serve_returned);
        ins.local_get(area).i32_const(1).i32_store(at(DONE));
        ins.end();
    }
    code.function(&body);

    // 19: settle(area) -> callback code: done once answered and the driver it started (if
    // any) has returned; otherwise wait on its set.
    defined.function(i32_to_i32);
    let mut body = Function::new(vec![]);
    {
        let mut ins = body.instructions();
        ins.local_get(0).i32_load(at(DONE));
        ins.local_get(0).i32_load(at(DRIVER)).i32_eqz().i32_and();
        ins.local_get(0).i32_load(at(APP)).i32_eqz().i32_and();
        ins.if_(BlockType::Empty);
        ins.local_get(0).i32_load(at(SET)).call(set_drop);
        // The area goes on the free list (global 2).
        ins.local_get(0).global_get(2).i32_store(at(0));
        ins.local_get(0).global_set(2);
        ins.i32_const(EXIT).return_();
        ins.end();
        ins.local_get(0)
            .i32_load(at(SET))
            .i32_const(4)
            .i32_shl()
            .i32_const(WAIT)
            .i32_or();
        ins.end();
    }
    code.function(&body);

    // 20: the export, `handle(host request) -> callback code`; locals: area, status, request.
    defined.function(i32_to_i32);
    let mut body = Function::new(vec![(3, ValType::I32)]);
    {
        let mut ins = body.instructions();
        let (request, area, status, app_request) = (0, 1, 2, 3);
        ins.call(serve_starting);
        // The area: from the free list (global 2), or new.
        take_area(&mut ins, area, 2, realloc, svc.area_size);
        for offset in [SET, APP, DRIVER, DONE] {
            ins.local_get(area).i32_const(0).i32_store(at(offset));
        }
        ins.local_get(area).call(context_set);
        ins.local_get(request).call(put);
        ins.call(take).local_set(app_request);
        // Its number (global 3 counts them); one more request in flight (global 1).
        number_request(&mut ins, area, 3);
        add_busy(&mut ins, 1, 1, busy);
        ins.local_get(area).call(set_new).i32_store(at(SET));
        // The driver, unless one is running (then it returns at once).
        ins.call(drive).local_set(status);
        ins.local_get(status)
            .i32_const(15)
            .i32_and()
            .i32_const(RETURNED)
            .i32_ne()
            .if_(BlockType::Empty);
        ins.local_get(area)
            .local_get(status)
            .i32_const(4)
            .i32_shr_u()
            .i32_store(at(DRIVER));
        ins.local_get(status)
            .i32_const(4)
            .i32_shr_u()
            .local_get(area)
            .i32_load(at(SET))
            .call(join);
        ins.end();
        // The app's `handle`.
        ins.local_get(app_request)
            .local_get(area)
            .i32_const(RESULT as i32)
            .i32_add()
            .call(app_handle)
            .local_set(status);
        ins.local_get(status)
            .i32_const(15)
            .i32_and()
            .i32_const(RETURNED)
            .i32_eq()
            .if_(BlockType::Empty);
        ins.local_get(area).call(respond);
        ins.else_();
        ins.local_get(area)
            .local_get(status)
            .i32_const(4)
            .i32_shr_u()
            .i32_store(at(APP));
        ins.local_get(status)
            .i32_const(4)
            .i32_shr_u()
            .local_get(area)
            .i32_load(at(SET))
            .call(join);
        ins.end();
        ins.local_get(area).call(settle);
        ins.end();
    }
    code.function(&body);
    exports.export(
        &format!("[async-lift]{handler}#handle"),
        ExportKind::Func,
        export,
    );

    // 21: the callback (event, waitable, code) -> callback code; local 3: the area.
    defined.function(three_to_i32);
    let mut body = Function::new(vec![(1, ValType::I32)]);
    {
        let mut ins = body.instructions();
        let area = 3;
        ins.call(context_get).local_set(area);
        ins.local_get(0)
            .i32_const(EVENT_SUBTASK)
            .i32_eq()
            .local_get(2)
            .i32_const(RETURNED)
            .i32_eq()
            .i32_and()
            .if_(BlockType::Empty);
        // The app's `handle` returned.
        ins.local_get(1)
            .local_get(area)
            .i32_load(at(APP))
            .i32_eq()
            .if_(BlockType::Empty);
        ins.local_get(1).call(subtask_drop);
        ins.local_get(area).i32_const(0).i32_store(at(APP));
        ins.local_get(area).call(respond);
        ins.end();
        // The driver returned: the instance has nothing left to do.
        ins.local_get(1)
            .local_get(area)
            .i32_load(at(DRIVER))
            .i32_eq()
            .if_(BlockType::Empty);
        ins.local_get(1).call(subtask_drop);
        ins.local_get(area).i32_const(0).i32_store(at(DRIVER));
        ins.call(serve_returned);
        ins.end();
        ins.end();
        ins.local_get(area).call(settle);
        ins.end();
    }
    code.function(&body);
    exports.export(
        &format!("[callback][async-lift]{handler}#handle"),
        ExportKind::Func,
        callback,
    );

    // Globals: 0 the allocator, 1 the requests in flight, 2 the free areas, 3 the requests
    // numbered.
    let module = assemble(types, imports, defined, exports, code, &[HEAP, 0, 0, 0]);
    componentize(module, &svc.resolve, svc.world)
        .map_err(|e| WrapError::Compose(format!("the service's handler wrapper: {e:#}")))
}

/// The `wasi:cli` version of the replay driver's `run`.
pub const RUN_VERSION: &str = "0.3.0";

/// Where the replay driver keeps the request area of each of its subtasks, by the subtask's
/// handle (below its heap; at most [`SUBTASKS`] handles).
const BY_SUBTASK: u32 = 16384;
/// Where `waitable-set.poll` writes an event's waitable and code.
const POLLED: u32 = 64;
const SUBTASKS: u32 = 4096;

/// The response that the self-replaying component of a service's history up to request K
/// (`wasm-rr wrap --replay T --request K`) prints once the replay has ended, as `wasm-rr
/// replay --request K` does: the replay driver holds it in its memory and hands it to the
/// replayer (`wasm-rr:rr/generic.serve-answered`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// Which request it answered (`request 2: #115 to #126, post /release, 200, 42 body
    /// bytes`), printed on stderr after `wasm-rr: `.
    pub line: String,
    /// The response's body as recorded (its first bytes, as many as the trace's view keeps),
    /// printed on stdout.
    pub body: Vec<u8>,
}

/// The replaying component's driver of a service that exports `wasi:http/handler@version`:
/// a command (it exports `wasi:cli/run@0.3.0`, lifted with the async ABI) that hands the app
/// each request the trace holds where the trace has it (`wasm-rr:rr/generic.serve-next`):
/// takes it (`wasm-rr:serve/requests.take`, answered from the trace), calls the app's
/// `handle` async-lowered, and once it returns gives the response or the error (checked
/// against the trace), several at once as recorded. It starts the forwarder's stream driver
/// as the handler wrapper does, and returns at the end of the trace, after handing `answer`
/// (if any: the trace was cut at request K's answer) to the replayer to print.
///
/// Errors: [`WrapError::Compose`] when `wit-component` rejects what was generated (a bug), or
/// when `answer` does not fit a 32-bit memory.
pub fn replay_driver(
    guest: &[u8],
    version: &str,
    answer: Option<&Answer>,
) -> Result<Vec<u8>, WrapError> {
    let run = format!("wasi:cli/run@{RUN_VERSION}");
    let svc = Service::new(
        guest,
        version,
        "serve-replay",
        &format!(
            "  import wasm-rr:serve/guest-requests;\n  import wasm-rr:serve/guest-handler;\n  import wasm-rr:rr/control;\n  import wasm-rr:rr/generic;\n  import {pump};\n  export {run};\n",
            pump = crate::generic::PUMP
        ),
        |resolve| {
            let cli = format!("wasi:cli@{RUN_VERSION}");
            if resolve.package_names.keys().any(|n| n.to_string() == cli) {
                return Ok(());
            }
            resolve
                .push_str(
                    "cli.wit",
                    &format!(
                        "package {cli};\ninterface run {{\n  run: async func() -> result;\n}}\n"
                    ),
                )
                .map(|_| ())
                .map_err(|e| WrapError::Compose(format!("{e:#}")))
        },
    )?;
    let mut t = Types::new();
    let fail_ty = t.params(&svc.fail_params);
    let (none, to_i32, i32_to, i32_to_i32) = (t.none, t.to_i32, t.i32_to, t.i32_to_i32);
    let (two_to, two_to_i32, three_to_i32, four_to_i32) =
        (t.two_to, t.two_to_i32, t.three_to_i32, t.four_to_i32);
    let ty_three_to = t.three_to;
    let four_to = t.params(&[ValType::I32; 4]);
    let types = t.section;
    let mut imports = ImportSection::new();
    let functions = [
        ("wasm-rr:rr/control", "serve-starting", none),    // 0
        ("wasm-rr:serve/guest-requests", "take", to_i32),  // 1
        ("wasm-rr:serve/guest-requests", "give", two_to),  // 2
        ("wasm-rr:serve/guest-requests", "fail", fail_ty), // 3
        (
            "wasm-rr:serve/guest-handler",
            "[async-lower]handle",
            two_to_i32,
        ), // 4
        ("wasm-rr:rr/generic", "serve-next", to_i32),      // 5
        (crate::generic::PUMP, "busy", i32_to),            // 6
        (crate::generic::PUMP, "[async-lower]drive", to_i32), // 7
        ("$root", "[waitable-set-new]", to_i32),           // 8
        ("$root", "[waitable-join]", two_to),              // 9
        ("$root", "[subtask-drop]", i32_to),               // 10
        ("$root", "[subtask-cancel]", i32_to_i32),         // 11
    ];
    for (module, name, ty) in functions {
        imports.import(module, name, EntityType::Function(ty));
    }
    imports.import(
        &format!("[export]{run}"),
        "[task-return]run",
        EntityType::Function(i32_to),
    ); // 12
    imports.import(
        "$root",
        "[waitable-set-poll]",
        EntityType::Function(two_to_i32),
    ); // 13
    if answer.is_some() {
        imports.import(
            "wasm-rr:rr/generic",
            "serve-answered",
            EntityType::Function(four_to),
        ); // 14
    }
    let (serve_starting, take, give, fail_fn, app_handle, serve_next) = (0, 1, 2, 3, 4, 5);
    let (busy, drive, set_new, join, subtask_drop, subtask_cancel, task_return, set_poll) =
        (6, 7, 8, 9, 10, 11, 12, 13);
    let answered = 14;
    let first = if answer.is_some() { 15 } else { 14 };
    let (realloc, respond, on_event, step, export, callback) =
        (first, first + 1, first + 2, first + 3, first + 4, first + 5);
    // The answer to print, if any: its line and body, after the subtasks' areas; the
    // allocator starts after them.
    let data = (BY_SUBTASK + 4 * SUBTASKS) as usize;
    let (line, printed) = answer.map_or((&[][..], &[][..]), |a| (a.line.as_bytes(), &a.body[..]));
    let heap = (data + line.len() + printed.len()).next_multiple_of(8);
    let heap = i32::try_from(heap)
        .map_err(|_| WrapError::Compose("the response to print is too large".into()))?;
    // Globals: 0 the allocator, 1 the requests in flight, 2 the free areas, 3 the waitable
    // set, 4 the stream driver's subtask (0: none), 5 the requests numbered.

    let mut defined = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    defined.function(four_to_i32);
    code.function(&realloc_body());
    exports.export("cabi_realloc", ExportKind::Func, realloc);

    // respond(area): gives the app's response or its error (checked against the trace).
    defined.function(i32_to);
    let mut loader = svc.loader();
    let mut body = Function::new(loader.pool.declared());
    {
        let mut ins = body.instructions();
        let area = 0;
        svc.give_or_fail(&mut ins, &mut loader, area, give, fail_fn, |_| {})?;
        add_busy(&mut ins, 1, -1, busy);
        ins.local_get(area).global_get(2).i32_store(at(0));
        ins.local_get(area).global_set(2);
        ins.end();
    }
    code.function(&body);

    // on_event(event, waitable, code): a subtask returned: the app's `handle` (its
    // response is given) or the stream driver.
    defined.function(ty_three_to);
    let mut body = Function::new(vec![]);
    {
        let mut ins = body.instructions();
        ins.local_get(0)
            .i32_const(EVENT_SUBTASK)
            .i32_eq()
            .local_get(2)
            .i32_const(RETURNED)
            .i32_eq()
            .i32_and()
            .if_(BlockType::Empty);
        ins.local_get(1).call(subtask_drop);
        ins.local_get(1)
            .global_get(4)
            .i32_eq()
            .if_(BlockType::Empty);
        ins.i32_const(0).global_set(4);
        ins.else_();
        ins.local_get(1)
            .i32_const(2)
            .i32_shl()
            .i32_load(at(BY_SUBTASK))
            .call(respond);
        ins.end();
        ins.end();
        ins.end();
    }
    code.function(&body);

    // step() -> callback code: takes the events of the set (without waiting: the driver
    // yields, so that the app's tasks run, and is not told of them), hands the app the
    // requests that come next in the trace; returns at its end; otherwise yields.
    defined.function(to_i32);
    let mut body = Function::new(vec![(4, ValType::I32)]);
    {
        let mut ins = body.instructions();
        let (next, area, status, event) = (0, 1, 2, 3);
        // The trace's end is looked for before each request and each event: the replay
        // stops right after the last (with `--request`, the trace ends with its answer).
        ins.block(BlockType::Empty).loop_(BlockType::Empty);
        ins.call(serve_next)
            .local_tee(next)
            .i32_const(-1)
            .i32_eq()
            .br_if(1);
        ins.local_get(next)
            .i32_const(1)
            .i32_eq()
            .if_(BlockType::Empty);
        // A request: an area for its result (from the free list, global 2), its number
        // (global 5 counts them), one more in flight (global 1).
        take_area(&mut ins, area, 2, realloc, svc.area_size);
        ins.call(take).local_set(status);
        number_request(&mut ins, area, 5);
        add_busy(&mut ins, 1, 1, busy);
        // The stream driver, unless it runs.
        ins.call(drive).local_set(next);
        ins.local_get(next)
            .i32_const(15)
            .i32_and()
            .i32_const(RETURNED)
            .i32_ne()
            .if_(BlockType::Empty);
        ins.local_get(next)
            .i32_const(4)
            .i32_shr_u()
            .global_set(4)
            .global_get(4)
            .global_get(3)
            .call(join);
        ins.end();
        ins.local_get(status)
            .local_get(area)
            .i32_const(RESULT as i32)
            .i32_add()
            .call(app_handle)
            .local_set(status);
        ins.local_get(status)
            .i32_const(15)
            .i32_and()
            .i32_const(RETURNED)
            .i32_eq()
            .if_(BlockType::Empty);
        ins.local_get(area).call(respond);
        ins.else_();
        ins.local_get(status)
            .i32_const(4)
            .i32_shr_u()
            .local_set(status);
        // Its area, by its subtask.
        ins.local_get(status)
            .i32_const(SUBTASKS as i32)
            .i32_ge_u()
            .if_(BlockType::Empty)
            .unreachable()
            .end();
        ins.local_get(status)
            .i32_const(2)
            .i32_shl()
            .local_get(area)
            .i32_store(at(BY_SUBTASK));
        ins.local_get(status).global_get(3).call(join);
        ins.end();
        ins.br(1);
        ins.end();
        // An event of the set, if there is one.
        ins.global_get(3)
            .i32_const(POLLED as i32)
            .call(set_poll)
            .local_tee(event)
            .i32_eqz()
            .br_if(1);
        ins.local_get(event)
            .i32_const(0)
            .i32_load(at(POLLED))
            .i32_const(0)
            .i32_load(at(POLLED + 4))
            .call(on_event);
        ins.br(0);
        ins.end().end();
        // The end of the trace: the stream driver is cancelled, and `run` returns `ok`.
        ins.local_get(next)
            .i32_const(-1)
            .i32_eq()
            .if_(BlockType::Empty);
        ins.global_get(4).if_(BlockType::Empty);
        ins.global_get(4).i32_const(0).call(join);
        ins.global_get(4).call(subtask_cancel).drop();
        ins.global_get(4).call(subtask_drop);
        ins.i32_const(0).global_set(4);
        ins.end();
        if answer.is_some() {
            ins.i32_const(data as i32)
                .i32_const(line.len() as i32)
                .i32_const((data + line.len()) as i32)
                .i32_const(printed.len() as i32)
                .call(answered);
        }
        ins.i32_const(0).call(task_return);
        ins.i32_const(EXIT).return_();
        ins.end();
        ins.i32_const(YIELD);
        ins.end();
    }
    code.function(&body);

    // The export, `run() -> callback code`.
    defined.function(to_i32);
    let mut body = Function::new(vec![]);
    {
        let mut ins = body.instructions();
        ins.call(serve_starting);
        ins.call(set_new).global_set(3);
        ins.call(step);
        ins.end();
    }
    code.function(&body);
    exports.export(&format!("[async-lift]{run}#run"), ExportKind::Func, export);

    // The callback (event, waitable, code) -> callback code.
    defined.function(three_to_i32);
    let mut body = Function::new(vec![]);
    {
        let mut ins = body.instructions();
        ins.local_get(0).local_get(1).local_get(2).call(on_event);
        ins.call(step);
        ins.end();
    }
    code.function(&body);
    exports.export(
        &format!("[callback][async-lift]{run}#run"),
        ExportKind::Func,
        callback,
    );

    let mut module = assemble_module(
        types,
        imports,
        defined,
        exports,
        code,
        &[heap, 0, 0, 0, 0, 0],
        None,
        (heap as u64).div_ceil(65536).max(1),
    );
    if answer.is_some() {
        // (A data section follows the code section: appended to the module as it is.)
        let mut segment = DataSection::new();
        segment.active(
            0,
            &ConstExpr::i32_const(data as i32),
            [line, printed].concat(),
        );
        module.push(segment.id());
        segment.encode(&mut module);
    }
    componentize(module, &svc.resolve, svc.world)
        .map_err(|e| WrapError::Compose(format!("the service's replay driver: {e:#}")))
}

/// The result type of the handler's `handle`, and its error type.
fn handler_result(
    resolve: &Resolve,
    handle: &wit_parser::Function,
) -> Result<(Type, Type), WrapError> {
    let bad =
        || WrapError::Compose("`handle` does not return `result<response, error-code>`".into());
    let result = handle.result.ok_or_else(bad)?;
    let Type::Id(id) = result else {
        return Err(bad());
    };
    match &resolve.types[id].kind {
        TypeDefKind::Result(r) => Ok((result, r.err.ok_or_else(bad)?)),
        _ => Err(bad()),
    }
}
