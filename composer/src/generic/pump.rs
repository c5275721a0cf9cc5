//! Functions that pass bytes through a `stream<u8>` and end with a `future` (WASI 0.3's
//! `wasi:cli/stdout.write-via-stream` and `stdin.read-via-stream`, a file's `read-via-stream`
//! and `write-via-stream`, a TCP socket's `send` and `receive`): the forwarder pumps the bytes
//! between the app's stream and the host's, a chunk at a time, and hands each chunk to
//! `wasm-rr:rr/generic` on the way (`stream-wrote`, `stream-read`), so that nothing is
//! buffered whole; the future's value is the subtask's return (`finished`).
//!
//! Two shapes, named for the direction of the bytes:
//! - **out**, `f(…, data: stream<u8>, …) -> future<T>`: the app writes, the host reads.
//!   Recording, the forwarder makes a stream of its own for the host, reads the app's and
//!   writes what it read into the host's; replaying, it reads the app's stream and hands
//!   the bytes over (printed for stdout and stderr);
//! - **in**, `f(…) -> tuple<stream<u8>, future<T>>`: the host writes, the app reads.
//!   Recording, the forwarder reads the host's stream and writes into one of its own, which
//!   the app got; replaying, the bytes come from the trace (`next-read`), at the place the
//!   trace has them among the app's other events. A stream of values other than bytes goes
//!   the same way, value by value (`stream-read-values`, `next-values`), and so does a
//!   listener's, `f(…) -> result<stream<T>, E>` (see [`Listened`]), whose values hold owned
//!   handles: each is wrapped in a handle of the forwarder's as it flows.
//!
//! Each call is a task of the forwarder (lifted with the async ABI's callback, although the
//! function is not `async`: it returns its handles at once with `task.return` and goes on), a
//! subtask in the trace (`started`, then the future's value with `finished`), with a state
//! machine in a slot of its own: one of [`SLOTS`] blocks of [`SLOT_SIZE`] bytes below the
//! heap, its state first and its buffer after.

use super::*;

/// How many streams may be open at once (a 33rd stops the run, saying so).
pub(super) const SLOTS: i32 = 64;
/// The bytes of a slot: the state ([`BUF`] bytes), then the buffer.
pub(super) const SLOT_SIZE: i32 = 16384;
/// Where the first slot begins; the heap begins after the last.
pub(super) const SLOTS_BASE: i32 = 1024;
/// The buffer's offset in a slot.
const BUF: i32 = 96;
/// How many bytes one read or write moves at most.
const CAP: i32 = SLOT_SIZE - BUF;

// The state's fields: offsets in the slot.
const TASK: u64 = 0;
const PHASE: u64 = 4;
const SET: u64 = 8;
/// The stream read from (0: none).
const SRC: u64 = 12;
/// The stream written to (0: none).
const DST: u64 = 16;
/// The host's future (recording).
const HOST_FUTURE: u64 = 20;
/// The writable end of the app's future.
const APP_FUTURE: u64 = 24;
const POS: u64 = 28;
const REM: u64 = 32;
/// Whether the stream read from has ended.
const ENDED: u64 = 36;
/// The address of the future's value.
const AREA: u64 = 40;
/// The result code of the last read or write.
const CODE: u64 = 44;
/// A return area (16 bytes).
const RET: u64 = 48;
/// The handle whose read or write the slot waits for (0: none).
const WAITING: u64 = 64;
/// Which stream function the slot runs (see [`emit_driver`]).
const KIND: u64 = 68;
/// The export's results, returned through memory (In: the two handles; an opened function's
/// elements, at most 3).
const RETURN: u64 = 72;
/// Whether the driver is to take the slot's first step (1): one that reads a future, which
/// only a task that is still there when the value comes may issue (wasmtime lowers a value
/// that may need `cabi_realloc` in the task that issued the read), not the export's.
const FRESH: u64 = 88;

// The phases. A phase that waits for an event is followed by the one the event leads to.
const READ: i32 = 1;
const READ_DONE: i32 = 2;
const WRITE: i32 = 3;
const WRITE_DONE: i32 = 4;
const END: i32 = 5;
const END_DONE: i32 = 6;
const RESULT: i32 = 7;
const DELIVER: i32 = 8;
const DELIVER_DONE: i32 = 9;
const NEXT: i32 = 10;
/// Recording a stream of values other than bytes: a zero-length write into the app's stream,
/// which completes when the app first reads, so that the driver issues the reads of the
/// host's stream (see [`emit`]).
const PRIME: i32 = 11;
const PRIME_DONE: i32 = 12;

/// The result code of a read or write that has not completed yet.
const BLOCKED: i32 = -1;

/// Which way a stream function's bytes go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Direction {
    /// From the app to the host: `f(…, data: stream<u8>, …) -> future<T>`.
    Out,
    /// From the host to the app: `f(…) -> tuple<stream<u8>, future<T>>`.
    In,
}

/// A function that passes bytes through a stream (see the module's documentation).
#[derive(Clone, Debug)]
pub(super) struct StreamFn {
    pub direction: Direction,
    /// Out: the parameter that is the stream, by its index among the parameters.
    pub stream_param: Option<usize>,
    /// The stream's and the future's types, numbered as `find_futures_and_streams` does (no
    /// future: a [`Listened`] function).
    pub stream_index: usize,
    pub future_index: Option<usize>,
    /// The future's value.
    pub payload: Option<Type>,
    /// In: the stream's values, when they are not bytes (`directory-entry`, for WASI 0.3's
    /// `descriptor.read-directory`): recorded as values (`stream-read-values`).
    pub values: Option<Type>,
    /// A function recorded by `opened` (see [`opened_fn`]).
    pub opened: Option<Opened>,
    /// In: the stream comes inside a `result` and no future ends it (see [`Listened`]).
    pub listened: Option<Listened>,
    /// In: the stream's values hold owned handles (a listener's `stream<tcp-socket>`), each
    /// wrapped in a handle of the forwarder's as it flows.
    pub values_own: bool,
    /// In: the stream's values hold strings or lists (a `directory-entry`'s name), which lie
    /// in the forwarder's heap: it is held until the stream is done. Values without (a
    /// listener's sockets) leave it free, however long the stream stays open.
    pub values_in_heap: bool,
}

/// Whether values of type `ty` hold strings or lists.
fn points(ty: &WitType) -> bool {
    let opt = |t: &Option<Box<WitType>>| t.as_deref().is_some_and(points);
    match ty {
        WitType::String | WitType::List(_) => true,
        WitType::Option(t) => points(t),
        WitType::Record(fields) => fields.iter().any(|(_, t)| points(t)),
        WitType::Tuple(types) => types.iter().any(points),
        WitType::Variant(cases) => cases.iter().any(|(_, t)| t.as_ref().is_some_and(points)),
        WitType::Result(ok, err) => opt(ok) || opt(err),
        _ => false,
    }
}

/// In, `f(…) -> result<stream<T>, E>` (WASI 0.3's `tcp-socket.listen`, whose stream of
/// connections ends only when the app drops it): the host answers at once, so the call's
/// result without its stream, `result<_, E>`, is the subtask's value, recorded (`finished`)
/// as soon as the call returns; the stream's values come after, and its end frees the slot.
/// An error answers the app at once, without a stream.
#[derive(Clone, Copy, Debug)]
pub(super) struct Listened {
    /// `E`, if there is one.
    pub err: Option<Type>,
    /// Where the payload lies in `result<stream<T>, E>` (the host's answer and the app's).
    pub payload_at: i32,
    /// Where the payload lies in `result<_, E>` (the recorded value).
    pub recorded_at: i32,
    /// The bytes of `E` (0: none).
    pub err_size: i32,
    /// The bytes of `result<_, E>`.
    pub size: i32,
}

/// What else a function recorded by `wasm-rr:rr/generic.opened` passes (WASI 0.3's
/// `wasi:http` `request.new`, `response.new`, `consume-body`): owned handles, an optional
/// stream, a future the app writes, and handles it returns beside its stream and future.
#[derive(Clone, Debug, Default)]
pub(super) struct Opened {
    /// The owned handles passed in: (flat position, resource number, the flat position of
    /// the discriminant of the `option` holding it, if one does).
    pub owned: Vec<(u32, u32, Option<u32>)>,
    /// Out: the flat position of the discriminant of the `option` holding the stream, if one
    /// does (`none`: no stream to pump).
    pub stream_option: Option<u32>,
    /// The future the app passes to the host, if it passes one.
    pub future_param: Option<FutureParam>,
    /// The elements of the result (a tuple, or one of them alone).
    pub results: Vec<Element>,
    /// The flat positions of the parameters the trace leaves out (the stream's and the
    /// future's, with their options).
    pub hidden: Vec<u32>,
}

/// A future the app passes to the host (`trailers` of `request.new`, `res` of
/// `consume-body`): a slot of its own reads its value and (recording) writes it into a
/// future of the forwarder's that the host got in its place.
#[derive(Clone, Debug)]
pub(super) struct FutureParam {
    /// Its flat position.
    pub at: u32,
    /// Its type's number, as `find_futures_and_streams` numbers them.
    pub index: usize,
    /// Where its value holds owned handles, which become the host's.
    pub owns: Vec<OwnPath>,
}

/// Where a value holds an owned handle: at byte `at`, when each of `guards` (a discriminant at
/// a byte offset, its size in bytes, and the case) holds.
#[derive(Clone, Debug)]
pub(super) struct OwnPath {
    pub guards: Vec<(u32, u32, i32)>,
    pub at: u32,
    pub resource: u32,
}

/// An element of an opened function's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Element {
    /// An owned handle of the resource numbered so: recorded (the `opened` event's answer).
    Own(u32),
    /// The stream the app reads.
    Stream,
    /// The future whose value the app gets.
    Future,
}

/// The dealiased type definition `ty` names, if it names one.
fn def_id(resolve: &Resolve, ty: &Type) -> Option<TypeId> {
    match ty {
        Type::Id(id) => Some(dealias(resolve, *id)),
        _ => None,
    }
}

/// Where values of type `ty`, laid out at byte `at`, hold owned handles (appended to `out`,
/// under `guards`); `Err` when one lies in a list.
fn own_paths(
    resolve: &Resolve,
    sizes: &wit_parser::SizeAlign,
    resources: &[TypeId],
    ty: &Type,
    at: u32,
    guards: &mut Vec<(u32, u32, i32)>,
    out: &mut Vec<OwnPath>,
) -> Result<(), ()> {
    use wit_parser::Int;
    let Some(id) = def_id(resolve, ty) else {
        return Ok(());
    };
    let mut cases = |tag: Int, types: Vec<Option<&Type>>, out: &mut Vec<OwnPath>| {
        let payload = sizes
            .payload_offset(tag, types.iter().copied())
            .size_wasm32() as u32;
        let bytes = match tag {
            Int::U8 => 1,
            Int::U16 => 2,
            _ => 4,
        };
        for (case, t) in types.iter().enumerate() {
            if let Some(t) = t {
                guards.push((at, bytes, case as i32));
                own_paths(resolve, sizes, resources, t, at + payload, guards, out)?;
                guards.pop();
            }
        }
        Ok(())
    };
    match &resolve.types[id].kind {
        TypeDefKind::Handle(Handle::Own(r)) => {
            let r = dealias(resolve, *r);
            if let Some(resource) = resources.iter().position(|x| *x == r) {
                out.push(OwnPath {
                    guards: guards.clone(),
                    at,
                    resource: resource as u32,
                });
            }
            Ok(())
        }
        TypeDefKind::Record(_) | TypeDefKind::Tuple(_) => {
            let fields: Vec<&Type> = match &resolve.types[id].kind {
                TypeDefKind::Record(r) => r.fields.iter().map(|f| &f.ty).collect(),
                TypeDefKind::Tuple(t) => t.types.iter().collect(),
                _ => Vec::new(),
            };
            for (off, t) in sizes.field_offsets(fields) {
                let at = at + off.size_wasm32() as u32;
                own_paths(resolve, sizes, resources, t, at, guards, out)?;
            }
            Ok(())
        }
        TypeDefKind::Option(t) => cases(Int::U8, vec![None, Some(t)], out),
        TypeDefKind::Result(r) => cases(Int::U8, vec![r.ok.as_ref(), r.err.as_ref()], out),
        TypeDefKind::Variant(v) => cases(
            v.tag(),
            v.cases.iter().map(|c| c.ty.as_ref()).collect(),
            out,
        ),
        TypeDefKind::List(t) | TypeDefKind::FixedLengthList(t, _) => {
            match wit_type(resolve, resources, t) {
                Ok(w) if !holds_own(&w) => Ok(()),
                _ => Err(()),
            }
        }
        _ => Ok(()),
    }
}

/// `func` as a function recorded by `wasm-rr:rr/generic.opened` (see [`Opened`]), if it is
/// one whose values the generic path records: not `async`; its parameters plain values,
/// owned handles (alone or in an `option`), at most one `stream<u8>` (alone or in an
/// `option`) and at most one `future` (whose value holds owned handles only outside lists);
/// its result a future, or a tuple of one future, at most one `stream<u8>` (when no stream is
/// passed in) and at most one owned handle, holding plain values and handles only outside
/// lists. WASI 0.3's `wasi:http` `request.new`, `response.new` and `consume-body` are.
pub(super) fn opened_fn(
    resolve: &Resolve,
    sizes: &wit_parser::SizeAlign,
    resources: &[TypeId],
    func: &WitFunction,
) -> Option<StreamFn> {
    if func.kind.is_async() {
        return None;
    }
    let ids = func.find_futures_and_streams(resolve);
    let index_of = |id: TypeId| ids.iter().position(|x| dealias(resolve, *x) == id);
    let plain = |t: &Type| wit_type(resolve, resources, t).is_ok_and(|t| !holds_own(&t));
    let mut o = Opened::default();
    let mut stream: Option<(usize, usize)> = None;
    let mut at = 0u32;
    for (i, p) in func.params.iter().enumerate() {
        let flat = {
            let mut storage = [WasmType::I32; MAX_FLAT_PARAMS];
            let mut flat = wit_parser::abi::FlatTypes::new(&mut storage);
            if !resolve.push_flat(&p.ty, &mut flat) {
                return None;
            }
            flat.to_vec().len() as u32
        };
        let id = def_id(resolve, &p.ty);
        let kind = id.map(|id| &resolve.types[id].kind);
        let inner = match kind {
            Some(TypeDefKind::Option(t)) => {
                def_id(resolve, t).map(|id| (id, &resolve.types[id].kind))
            }
            _ => None,
        };
        match (kind, inner) {
            (Some(TypeDefKind::Stream(Some(Type::U8))), _) if stream.is_none() => {
                stream = Some((i, index_of(id?)?));
                o.hidden.push(at);
            }
            (_, Some((sid, TypeDefKind::Stream(Some(Type::U8))))) if stream.is_none() => {
                stream = Some((i, index_of(sid)?));
                o.stream_option = Some(at);
                o.hidden.extend([at, at + 1]);
            }
            (Some(TypeDefKind::Future(payload)), _) if o.future_param.is_none() => {
                let mut owns = Vec::new();
                if let Some(t) = payload {
                    wit_type(resolve, resources, t).ok()?;
                    own_paths(resolve, sizes, resources, t, 0, &mut Vec::new(), &mut owns).ok()?;
                }
                let size = payload.as_ref().map_or(0, |t| sizes.size(t).size_wasm32()) as i32;
                if size > CAP {
                    return None;
                }
                o.future_param = Some(FutureParam {
                    at,
                    index: index_of(id?)?,
                    owns,
                });
                o.hidden.push(at);
            }
            (Some(TypeDefKind::Handle(Handle::Own(_))), _) => {
                let WitType::Own { resource, .. } = wit_type(resolve, resources, &p.ty).ok()?
                else {
                    return None;
                };
                o.owned.push((at, resource, None));
            }
            (_, Some((_, TypeDefKind::Handle(Handle::Own(_))))) => {
                let Ok(WitType::Option(t)) = wit_type(resolve, resources, &p.ty) else {
                    return None;
                };
                let WitType::Own { resource, .. } = *t else {
                    return None;
                };
                o.owned.push((at + 1, resource, Some(at)));
            }
            _ if plain(&p.ty) => {}
            _ => return None,
        }
        at += flat;
    }
    let result = func.result.as_ref()?;
    let elements: Vec<Type> = match def_id(resolve, result).map(|id| &resolve.types[id].kind) {
        Some(TypeDefKind::Tuple(t)) => t.types.clone(),
        _ => vec![*result],
    };
    let (mut future, mut in_stream) = (None, None);
    for t in &elements {
        let id = def_id(resolve, t)?;
        match &resolve.types[id].kind {
            TypeDefKind::Future(payload) if future.is_none() => {
                if let Some(p) = payload {
                    let w = wit_type(resolve, resources, p).ok()?;
                    own_paths(
                        resolve,
                        sizes,
                        resources,
                        p,
                        0,
                        &mut Vec::new(),
                        &mut Vec::new(),
                    )
                    .ok()?;
                    let _ = w;
                }
                future = Some((index_of(id)?, *payload));
                o.results.push(Element::Future);
            }
            TypeDefKind::Stream(Some(Type::U8)) if in_stream.is_none() && stream.is_none() => {
                in_stream = Some(index_of(id)?);
                o.results.push(Element::Stream);
            }
            TypeDefKind::Handle(Handle::Own(_))
                if !o.results.iter().any(|e| matches!(e, Element::Own(_))) =>
            {
                let WitType::Own { resource, .. } = wit_type(resolve, resources, t).ok()? else {
                    return None;
                };
                o.results.push(Element::Own(resource));
            }
            _ => return None,
        }
    }
    let (future_index, payload) = future?;
    let (direction, stream_param, stream_index) = match (stream, in_stream) {
        (Some((param, index)), None) => (Direction::Out, Some(param), index),
        (None, Some(index)) => (Direction::In, None, index),
        _ => return None,
    };
    // Only what the plain stream functions do not cover.
    if o.owned.is_empty()
        && o.stream_option.is_none()
        && o.future_param.is_none()
        && !o.results.iter().any(|e| matches!(e, Element::Own(_)))
    {
        return None;
    }
    Some(StreamFn {
        direction,
        stream_param,
        stream_index,
        future_index: Some(future_index),
        payload,
        values: None,
        opened: Some(o),
        listened: None,
        values_own: false,
        values_in_heap: false,
    })
}

/// The type definition `ty` names, if it names one.
fn def<'a>(resolve: &'a Resolve, ty: &Type) -> Option<&'a TypeDefKind> {
    match ty {
        Type::Id(id) => Some(&resolve.types[dealias(resolve, *id)].kind),
        _ => None,
    }
}

/// Whether `ty` is `stream<u8>`.
fn byte_stream(resolve: &Resolve, ty: &Type) -> bool {
    matches!(def(resolve, ty), Some(TypeDefKind::Stream(Some(Type::U8))))
}

/// `func` as a stream function, if it is one whose other values the generic path records:
/// not `async`, and nothing owned among them but the values of a stream the host returns
/// (outside lists).
pub(super) fn stream_fn(
    resolve: &Resolve,
    resources: &[TypeId],
    func: &WitFunction,
) -> Option<StreamFn> {
    if func.kind.is_async() {
        return None;
    }
    let plain = |t: &Type| wit_type(resolve, resources, t).is_ok_and(|t| !holds_own(&t));
    let result = func.result.as_ref()?;
    let index = |want: &dyn Fn(&TypeDefKind) -> bool| {
        func.find_futures_and_streams(resolve)
            .iter()
            .position(|id| want(&resolve.types[*id].kind))
    };
    let future_of = |ty: &Type| match def(resolve, ty) {
        Some(TypeDefKind::Future(payload)) => Some(*payload),
        _ => None,
    };
    let is_stream = |k: &TypeDefKind| matches!(k, TypeDefKind::Stream(Some(_)));
    let is_future = |k: &TypeDefKind| matches!(k, TypeDefKind::Future(_));
    // The layouts, filled once and only when a listener needs them.
    let sizes = std::cell::OnceCell::new();
    let sizes = || {
        sizes
            .get_or_init(|| {
                let mut sizes = wit_parser::SizeAlign::default();
                sizes.fill(resolve).ok().map(|()| sizes)
            })
            .as_ref()
    };
    let stream_values = |s: &Type| match def(resolve, s) {
        Some(TypeDefKind::Stream(Some(Type::U8))) => Some((None, false)),
        Some(TypeDefKind::Stream(Some(t))) if plain(t) => Some((Some(*t), false)),
        // Values holding owned handles (a listener's stream of sockets), outside lists.
        Some(TypeDefKind::Stream(Some(t))) => {
            wit_type(resolve, resources, t).ok()?;
            own_paths(
                resolve,
                sizes()?,
                resources,
                t,
                0,
                &mut Vec::new(),
                &mut Vec::new(),
            )
            .ok()?;
            Some((Some(*t), true))
        }
        _ => None,
    };
    let in_heap = |values: &Option<Type>| {
        values
            .as_ref()
            .is_some_and(|t| wit_type(resolve, resources, t).is_ok_and(|w| points(&w)))
    };
    if let Some(TypeDefKind::Result(r)) = def(resolve, result) {
        // A listener: `result<stream<T>, E>`, its values' handles wrapped as they flow.
        let ok = r.ok.as_ref()?;
        let (values, values_own) = stream_values(ok)?;
        if values.is_none()
            || !func.params.iter().all(|p| plain(&p.ty))
            || r.err.as_ref().is_some_and(|e| !plain(e))
        {
            return None;
        }
        let sizes = sizes()?;
        let recorded = [None, r.err.as_ref()];
        let err_size = r.err.as_ref().map_or(0, |e| sizes.size(e).size_wasm32()) as i32;
        let align = r.err.as_ref().map_or(1, |e| sizes.align(e).align_wasm32()) as i32;
        let recorded_at = sizes
            .payload_offset(wit_parser::Int::U8, recorded)
            .size_wasm32() as i32;
        let listened = Listened {
            err: r.err,
            payload_at: sizes
                .payload_offset(wit_parser::Int::U8, [Some(ok), r.err.as_ref()])
                .size_wasm32() as i32,
            recorded_at,
            err_size,
            size: (recorded_at + err_size + align - 1) / align * align,
        };
        return Some(StreamFn {
            direction: Direction::In,
            stream_param: None,
            stream_index: index(&is_stream)?,
            future_index: None,
            payload: None,
            values,
            opened: None,
            listened: Some(listened),
            values_own,
            values_in_heap: in_heap(&values),
        });
    }
    let (direction, stream_param, payload, values) = if let Some(payload) = future_of(result) {
        let streams: Vec<usize> = (0..func.params.len())
            .filter(|&i| byte_stream(resolve, &func.params[i].ty))
            .collect();
        let [at] = streams[..] else {
            return None;
        };
        let others_plain = func
            .params
            .iter()
            .enumerate()
            .all(|(i, p)| i == at || plain(&p.ty));
        if !others_plain {
            return None;
        }
        (Direction::Out, Some(at), payload, None)
    } else {
        let Some(TypeDefKind::Tuple(t)) = def(resolve, result) else {
            return None;
        };
        let [s, f] = &t.types[..] else {
            return None;
        };
        let payload = future_of(f)?;
        let values = match stream_values(s)? {
            (values, false) => values,
            _ => return None,
        };
        if !func.params.iter().all(|p| plain(&p.ty)) {
            return None;
        }
        (Direction::In, None, payload, values)
    };
    if payload.as_ref().is_some_and(|t| !plain(t)) {
        return None;
    }
    Some(StreamFn {
        direction,
        stream_param,
        stream_index: index(&is_stream)?,
        future_index: Some(index(&is_future)?),
        payload,
        values,
        opened: None,
        listened: None,
        values_own: false,
        values_in_heap: in_heap(&values),
    })
}

/// Whether `ty` is a stream or a future, or an `option` of one (what an opened function's
/// trace leaves out of its parameters).
pub(super) fn is_stream_or_future(resolve: &Resolve, ty: &Type) -> bool {
    let direct = |ty: &Type| {
        matches!(
            def(resolve, ty),
            Some(TypeDefKind::Stream(_) | TypeDefKind::Future(_))
        )
    };
    match def(resolve, ty) {
        Some(TypeDefKind::Option(t)) => direct(t),
        _ => direct(ty),
    }
}

/// `func` as a function the pump records: a stream function ([`stream_fn`]) or an opened one
/// ([`opened_fn`]).
pub(super) fn pump_fn(
    resolve: &Resolve,
    resources: &[TypeId],
    func: &WitFunction,
) -> Option<StreamFn> {
    stream_fn(resolve, resources, func).or_else(|| {
        if func.find_futures_and_streams(resolve).is_empty() {
            return None;
        }
        let mut sizes = wit_parser::SizeAlign::default();
        sizes.fill(resolve).ok()?;
        opened_fn(resolve, &sizes, resources, func)
    })
}

/// The flat position of parameter `param` of `func`.
fn flat_position(resolve: &Resolve, func: &WitFunction, param: usize) -> u32 {
    let mut storage = [WasmType::I32; MAX_FLAT_PARAMS];
    func.params[..param]
        .iter()
        .map(|p| {
            let mut flat = wit_parser::abi::FlatTypes::new(&mut storage);
            resolve.push_flat(&p.ty, &mut flat);
            flat.to_vec().len() as u32
        })
        .sum()
}

/// The intrinsics of one side's stream and future.
#[derive(Default, Clone, Copy)]
pub(super) struct Ends {
    stream_new: u32,
    stream_read: u32,
    stream_write: u32,
    stream_drop_readable: u32,
    stream_drop_writable: u32,
    future_new: u32,
    future_read: u32,
    future_write: u32,
    future_drop_readable: u32,
    future_drop_writable: u32,
}

/// What one stream function's code calls.
pub(super) struct PumpImports {
    /// The app's side (`[export]`).
    app: Ends,
    /// The host's side (recording).
    host: Ends,
    /// The future the app passes in (see [`FutureParam`]): the app's side's intrinsics, and
    /// the host's (recording), in the future fields.
    param_app: Ends,
    param_host: Ends,
}

/// The `wasm-rr:rr/generic` hooks and the async ABI's builtins that every stream function's
/// code calls.
#[derive(Default)]
pub(super) struct PumpHooks {
    pub started: u32,
    /// `future-read` (recording).
    pub future_read: u32,
    /// `opened` (recording) or `reopened` (replaying).
    pub opened: u32,
    /// Recording.
    pub stream_wrote: u32,
    /// Recording.
    pub stream_read: u32,
    /// Replaying.
    pub next_read: u32,
    /// Replaying.
    pub settled: u32,
    /// Recording, for streams of values other than bytes.
    pub stream_read_values: u32,
    /// Replaying, for streams of values other than bytes.
    pub next_values: u32,
    /// A 33rd stream at once.
    pub too_many: u32,
    pub set_new: u32,
    pub join: u32,
    /// The driver's `task.cancel`.
    pub task_cancel: u32,
    /// The driver's `task.return` (it returns by itself in a WASI 0.3 HTTP service).
    pub task_return: u32,
    /// `waitable-set.poll` (replaying).
    pub set_poll: u32,
    /// Recording opened functions: the intrinsics of a byte stream of the forwarder's own
    /// (`stream.new`, `stream.read`, `stream.write`), the doorbell with which an export wakes
    /// the driver to take a fresh slot's first step (see [`ring`]).
    pub doorbell: Option<(u32, u32, u32)>,
}

/// Where the doorbell's byte is read and written: below the slots, in the bytes the allocator
/// never hands out.
const DOORBELL_BYTE: i32 = 520;

/// Wakes the driver (recording), so that it takes the first step of the slots marked
/// [`FRESH`]: writes a byte into the doorbell stream (global 5) when the driver's read of it is
/// pending (global 6) and was not rung yet (global 12); otherwise the driver has a ring to take
/// already. The driver's callback clears both when it takes the read's event.
fn ring(ins: &mut wasm_encoder::InstructionSink, hooks: &PumpHooks) {
    if let Some((_, _, write)) = hooks.doorbell {
        // Rung once until the driver takes the read's event (global 12): the read is not
        // done for the component model until then, and may not be issued again.
        ins.global_get(6)
            .global_get(12)
            .i32_eqz()
            .i32_and()
            .if_(BlockType::Empty);
        ins.i32_const(1).global_set(12);
        ins.global_get(5)
            .i32_const(DOORBELL_BYTE)
            .i32_const(1)
            .call(write)
            .drop();
        ins.end();
    }
}

/// Issues the driver's read of the doorbell stream (global 7), unless it is pending (global 6).
fn arm(ins: &mut wasm_encoder::InstructionSink, hooks: &PumpHooks) {
    if let Some((_, read, _)) = hooks.doorbell {
        ins.global_get(6).i32_eqz().if_(BlockType::Empty);
        ins.i32_const(1).global_set(6);
        ins.global_get(7)
            .i32_const(DOORBELL_BYTE)
            .i32_const(1)
            .call(read)
            .drop();
        ins.end();
    }
}

/// Imports a function: `(module, name, params, results) -> index`.
pub(super) type Importer<'a> = dyn FnMut(&str, &str, &[WasmType], &[WasmType]) -> u32 + 'a;

/// Imports the intrinsics of `f`'s stream and future (the app's side, and the host's when
/// recording) and its `task.return`, through `import(module, name, params, results) ->
/// index`.
pub(super) fn import_intrinsics(
    interface: &Option<String>,
    f: &WitFunction,
    s: &StreamFn,
    replaying: bool,
    import: &mut Importer,
) -> PumpImports {
    use WasmType::{I32, I64};
    let mut side = |exported: bool| {
        let module = if exported {
            format!("[export]{}", import_module(interface))
        } else {
            import_module(interface).to_string()
        };
        let mut one =
            |kind: &str, index: usize, op: &str, params: &[WasmType], results: &[WasmType]| {
                let prefix = if op == "read" || op == "write" {
                    "[async-lower]"
                } else {
                    ""
                };
                let name = format!("{prefix}[{kind}-{op}-{index}]{}", f.name);
                import(&module, &name, params, results)
            };
        let (si, fi) = (s.stream_index, s.future_index);
        let mut futures = |fi: usize| Ends {
            future_new: one("future", fi, "new", &[], &[I64]),
            future_read: one("future", fi, "read", &[I32; 2], &[I32]),
            future_write: one("future", fi, "write", &[I32; 2], &[I32]),
            future_drop_readable: one("future", fi, "drop-readable", &[I32], &[]),
            future_drop_writable: one("future", fi, "drop-writable", &[I32], &[]),
            ..Ends::default()
        };
        let mut main = fi.map(&mut futures).unwrap_or_default();
        let param = s
            .opened
            .as_ref()
            .and_then(|o| o.future_param.as_ref())
            .map(|fp| futures(fp.index))
            .unwrap_or_default();
        main.stream_new = one("stream", si, "new", &[], &[I64]);
        main.stream_read = one("stream", si, "read", &[I32; 3], &[I32]);
        main.stream_write = one("stream", si, "write", &[I32; 3], &[I32]);
        main.stream_drop_readable = one("stream", si, "drop-readable", &[I32], &[]);
        main.stream_drop_writable = one("stream", si, "drop-writable", &[I32], &[]);
        (main, param)
    };
    let (app, param_app) = side(true);
    let (host, param_host) = if replaying {
        Default::default()
    } else {
        side(false)
    };
    PumpImports {
        app,
        host,
        param_app,
        param_host,
    }
}

impl PumpImports {
    /// The app's side's byte stream intrinsics (`stream.new`, `stream.read`, `stream.write`),
    /// for the doorbell (see [`PumpHooks::doorbell`]).
    pub(super) fn doorbell(&self) -> (u32, u32, u32) {
        (
            self.app.stream_new,
            self.app.stream_read,
            self.app.stream_write,
        )
    }
}

/// One stream function, for [`emit`].
pub(super) struct Pump<'a> {
    pub function: &'a WitFunction,
    pub interface: &'a Option<String>,
    pub shape: &'a StreamFn,
    /// Its number in the trace header's table.
    pub number: i32,
    /// The index of the host's function (recording).
    pub host: u32,
    pub imports: &'a PumpImports,
    /// The bytes of the future's value's canonical ABI layout.
    pub payload_size: i32,
    /// The bytes of one value of the stream (1 for bytes).
    pub value_size: i32,
}

/// Loads the state field at `offset` of the slot in local `slot`.
fn get(ins: &mut wasm_encoder::InstructionSink, slot: u32, offset: u64) {
    ins.local_get(slot).i32_load(word(offset).with_align(2));
}

/// Stores the value the instructions `value` push into the field at `offset` of the slot in
/// local `slot`.
fn set(
    ins: &mut wasm_encoder::InstructionSink,
    slot: u32,
    offset: u64,
    value: impl FnOnce(&mut wasm_encoder::InstructionSink),
) {
    ins.local_get(slot);
    value(ins);
    ins.i32_store(word(offset).with_align(2));
}

/// Takes the buffer's first `n` bytes (local `n`) as the chunk to write: `WRITE` next, or, when
/// there are none, the phase `otherwise` pushes.
fn to_write(
    ins: &mut wasm_encoder::InstructionSink,
    slot: u32,
    n: u32,
    otherwise: impl FnOnce(&mut wasm_encoder::InstructionSink),
) {
    set(ins, slot, POS, |i| {
        i.i32_const(0);
    });
    set(ins, slot, REM, |i| {
        i.local_get(n);
    });
    set(ins, slot, PHASE, |i| {
        i.local_get(n)
            .if_(BlockType::Result(ValType::I32))
            .i32_const(WRITE)
            .else_();
        otherwise(i);
        i.end();
    });
}

/// Sets the phase and goes round the step's loop again, from `depth` blocks inside it.
fn goto(ins: &mut wasm_encoder::InstructionSink, slot: u32, phase: i32, depth: u32) {
    set(ins, slot, PHASE, |i| {
        i.i32_const(phase);
    });
    ins.br(depth);
}

/// After a read or write (its result code in local `code`, on the handle in the field at
/// `offset`): returns `WAIT` if it is blocked (see [`wait_if_blocked`]); otherwise keeps the
/// code and goes on to phase `done` (from a phase's `if`, 1 deep in the step's loop).
fn on_completion(
    ins: &mut wasm_encoder::InstructionSink,
    hooks: &PumpHooks,
    slot: u32,
    code: u32,
    offset: u64,
    done: i32,
) {
    wait_if_blocked(ins, hooks, slot, code, offset);
    set(ins, slot, CODE, |i| {
        i.local_get(code);
    });
    goto(ins, slot, done, 1);
}

/// Returns `WAIT` on the slot's waitable set, having joined `handle` (the field at `offset`)
/// to it, when the code in local `code` says the read or write is blocked.
fn wait_if_blocked(
    ins: &mut wasm_encoder::InstructionSink,
    hooks: &PumpHooks,
    slot: u32,
    code: u32,
    offset: u64,
) {
    ins.local_get(code)
        .i32_const(BLOCKED)
        .i32_eq()
        .if_(BlockType::Empty);
    get(ins, slot, offset);
    get(ins, slot, SET);
    ins.call(hooks.join);
    set(ins, slot, WAITING, |i| get(i, slot, offset));
    get(ins, slot, SET);
    ins.i32_const(4)
        .i32_shl()
        .i32_const(callback::WAIT)
        .i32_or()
        .return_()
        .end();
}

/// Drops the handle in the field at `offset` (through `drop`), unless it is 0, taking it out
/// of the waitable set first; the field becomes 0.
fn drop_end(
    ins: &mut wasm_encoder::InstructionSink,
    hooks: &PumpHooks,
    slot: u32,
    offset: u64,
    drop: u32,
) {
    get(ins, slot, offset);
    ins.if_(BlockType::Empty);
    get(ins, slot, offset);
    ins.i32_const(0).call(hooks.join);
    get(ins, slot, offset);
    ins.call(drop);
    set(ins, slot, offset, |i| {
        i.i32_const(0);
    });
    ins.end();
}

/// Emits the three functions of the stream function `p` at function indices `index` (the
/// export, lifted synchronously: the component model lifts a function with the async ABI
/// only when its type is `async`, and these are not), `index + 1` (its post-return) and
/// `index + 2` (the step: runs the slot's state machine until it must wait, and returns the
/// callback code it would wait with). The export sets the slot up, runs its first steps and
/// returns the app's handles; the driver ([`emit_driver`]) runs the rest. `kind` is the
/// function's number among the stream functions.
#[allow(clippy::too_many_arguments)]
pub(super) fn emit(
    s: &mut Sections,
    resolve: &Resolve,
    p: &Pump,
    hooks: &PumpHooks,
    handles: &HandleFns,
    realloc: u32,
    index: u32,
    kind: i32,
    replaying: bool,
) -> Vec<u32> {
    use callback::*;
    let f = p.function;
    let step = index + 2;
    // Values other than bytes: their strings and lists lie in the heap, which is held (as by
    // a subtask in flight) until the stream is done (`held`). A read or write moves `cap`
    // values.
    let typed = p.shape.values.is_some();
    let held = p.shape.values_in_heap;
    let size = p.value_size.max(1);
    let cap = CAP / size;
    let (app, host) = (&p.imports.app, &p.imports.host);
    let out = p.shape.direction == Direction::Out;
    let export = resolve.wasm_signature(AbiVariant::GuestExport, f);
    let params = export.params.len() as u32;
    let stream_at = p
        .shape
        .stream_param
        .map(|param| flat_position(resolve, f, param));

    if let Some(o) = &p.shape.opened {
        emit_opened_export(
            s, resolve, p, o, hooks, handles, realloc, index, kind, replaying,
        );
    } else {
        // The export: params, then locals slot, args (list), free bits, pair.
        let ty = new_type(s.types, &export.params, &export.results);
        s.defined.function(ty);
        let (slot, args, bits) = (params, params + 1, params + 2);
        let pair = params + 3;
        let area = params + 4;
        let mut body = Function::new(vec![
            (3, ValType::I32),
            (1, ValType::I64),
            (1, ValType::I32),
        ]);
        let mut ins = body.instructions();
        claim_slot(&mut ins, hooks, p.number, bits, slot);
        if held {
            ins.global_get(2).i32_const(1).i32_add().global_set(2);
        }
        shared_set(&mut ins, hooks);
        set(&mut ins, slot, SET, |i| {
            i.global_get(4);
        });
        set(&mut ins, slot, KIND, |i| {
            i.i32_const(kind);
        });
        // started(function, args without the stream, heap-base, heap) -> task
        let arg_bits: Vec<(u32, WasmType)> = export
            .params
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i as u32) != stream_at)
            .map(|(i, t)| (i as u32, *t))
            .collect();
        store_bits(&mut ins, realloc, &arg_bits, args);
        set(&mut ins, slot, TASK, |ins| {
            ins.i32_const(p.number)
                .local_get(args)
                .i32_const(arg_bits.len() as i32);
            push_heap(ins);
            ins.call(hooks.started);
        });
        let low = |ins: &mut wasm_encoder::InstructionSink| {
            ins.local_get(pair).i32_wrap_i64();
        };
        let high = |ins: &mut wasm_encoder::InstructionSink| {
            ins.local_get(pair).i64_const(32).i64_shr_u().i32_wrap_i64();
        };
        // What the app gets back: the readable ends, kept at RETURN.
        if out {
            let at = stream_at.unwrap_or_default();
            set(&mut ins, slot, SRC, |ins| {
                ins.local_get(at);
            });
            if !replaying {
                // A stream of the forwarder's for the host, which it passes in place of the app's.
                ins.call(host.stream_new).local_set(pair);
                set(&mut ins, slot, DST, |ins| high(ins));
                set(&mut ins, slot, HOST_FUTURE, |ins| {
                    for q in 0..params {
                        if q == at {
                            low(ins);
                        } else {
                            ins.local_get(q);
                        }
                    }
                    ins.call(p.host);
                });
            }
        } else if let Some(l) = p.shape.listened {
            let locals = (params, slot, area, bits);
            listened_answer(&mut ins, p, &l, hooks, realloc, locals, replaying);
            if !replaying {
                set(&mut ins, slot, SRC, |ins| {
                    get(ins, slot, RET + l.payload_at as u64);
                });
            }
            ins.call(app.stream_new).local_set(pair);
            set(&mut ins, slot, DST, |ins| high(ins));
            set(&mut ins, slot, RETURN + l.payload_at as u64, |ins| low(ins));
        } else {
            if !replaying {
                for q in 0..params {
                    ins.local_get(q);
                }
                ins.local_get(slot)
                    .i32_const(RET as i32)
                    .i32_add()
                    .call(p.host);
                set(&mut ins, slot, SRC, |ins| {
                    get(ins, slot, RET);
                });
                set(&mut ins, slot, HOST_FUTURE, |ins| {
                    get(ins, slot, RET + 4);
                });
            }
            ins.call(app.stream_new).local_set(pair);
            set(&mut ins, slot, DST, |ins| high(ins));
            set(&mut ins, slot, RETURN, |ins| low(ins));
        }
        if p.shape.listened.is_none() {
            ins.call(app.future_new).local_set(pair);
            set(&mut ins, slot, APP_FUTURE, |ins| high(ins));
            let future_at = if out { RETURN } else { RETURN + 4 };
            set(&mut ins, slot, future_at, |ins| low(ins));
        }
        let first = if replaying && !out { NEXT } else { READ };
        set(&mut ins, slot, PHASE, |ins| {
            ins.i32_const(first);
        });
        // The first steps, unless they would write into the app's stream before the app has it
        // (replaying in: the driver takes them), or read values that need the forwarder's
        // `cabi_realloc` (recording in, not bytes): wasmtime lowers them in the task that issued
        // the read, which must still be there when the host writes, and this call's returns
        // first. The driver issues those reads, once the app's first read of its stream
        // completes a zero-length write (`PRIME`, which blocks until then).
        if typed && !replaying {
            set(&mut ins, slot, PHASE, |ins| {
                ins.i32_const(PRIME);
            });
            get(&mut ins, slot, DST);
            ins.local_get(slot)
                .i32_const(BUF)
                .i32_add()
                .i32_const(0)
                .call(app.stream_write)
                .i32_const(BLOCKED)
                .i32_ne()
                .if_(BlockType::Empty)
                .unreachable()
                .end();
            get(&mut ins, slot, DST);
            get(&mut ins, slot, SET);
            ins.call(hooks.join);
            set(&mut ins, slot, WAITING, |ins| get(ins, slot, DST));
        } else if out || !replaying {
            ins.local_get(slot).call(step).drop();
        }
        end_export(s, p, &export.results, index, body, slot, !out);
    }

    // The step (slot) -> callback code. Locals: code, n, hook area, dest.
    let ty = new_type(s.types, &[WasmType::I32], &[WasmType::I32]);
    s.defined.function(ty);
    let (slot, code, n, hook_area, dest) = (0, 1, 2, 3, 4);
    let (pp, pn, pi, paddr) = (5, 6, 7, 8);
    let mut body = Function::new(vec![(8, ValType::I32)]);
    let mut ins = body.instructions();
    let phase_is = |ins: &mut wasm_encoder::InstructionSink, phase: i32| {
        get(ins, slot, PHASE);
        ins.i32_const(phase).i32_eq().if_(BlockType::Empty);
    };
    let buf_at = |ins: &mut wasm_encoder::InstructionSink, offset: u32| {
        ins.local_get(slot).i32_const(BUF).i32_add();
        if offset != u32::MAX {
            get(ins, slot, POS);
            if size != 1 {
                ins.i32_const(size).i32_mul();
            }
            ins.i32_add();
        }
    };
    // The `n` values at `dest` go to the buffer: the handles they hold wrapped in the
    // forwarder's (the hook's patches, a list at byte `patches` of the hook's answer at
    // `hook_area`), then copied; the heap is free again unless the stream holds it.
    let values_to_buffer = |ins: &mut wasm_encoder::InstructionSink, patches: u64| {
        load_list(ins, hook_area, patches, pp, pn);
        emit_patches(ins, pp, pn, pi, paddr, None, handles.wrap, None);
        buf_at(ins, u32::MAX);
        ins.local_get(dest)
            .local_get(n)
            .i32_const(size)
            .i32_mul()
            .memory_copy(0, 0);
        if !held {
            free_heap_if_idle(ins);
        }
    };
    ins.loop_(BlockType::Empty);
    // Inside the loop, a phase's `if` is 1 deep.
    let (src, dst) = if out { (app, host) } else { (host, app) };
    // Replaying, the host's side is not there: in, nothing is read (the bytes come from the
    // trace); out, nothing is written.
    let (has_read, has_write) = (!replaying || out, !replaying || !out);
    if typed && !replaying {
        // PRIME_DONE: the app reads; the reads of the host's stream begin, in the driver.
        phase_is(&mut ins, PRIME_DONE);
        goto(&mut ins, slot, READ, 1);
        ins.end();
    }
    if has_read {
        // READ: a read of the source stream into the buffer.
        phase_is(&mut ins, READ);
        get(&mut ins, slot, SRC);
        buf_at(&mut ins, u32::MAX);
        ins.i32_const(cap).call(src.stream_read).local_set(code);
        on_completion(&mut ins, hooks, slot, code, SRC, READ_DONE);
        ins.end();
        // READ_DONE: the bytes handed over, then written on (unless replaying out).
        phase_is(&mut ins, READ_DONE);
        get(&mut ins, slot, CODE);
        ins.local_tee(code).i32_const(4).i32_shr_u().local_set(n);
        // Recording, the bytes are handed over (replaying, the app's output is dropped).
        if !replaying && typed {
            // stream-read-values(task, function, values, count, heap-base, heap, retptr), the
            // values copied into the heap first (the interposer sees the heap only); the
            // handles they hold wrapped there in the forwarder's, and copied back.
            ins.local_get(n).if_(BlockType::Empty);
            ins.i32_const(0)
                .i32_const(0)
                .i32_const(8)
                .local_get(n)
                .i32_const(size)
                .i32_mul()
                .call(realloc)
                .local_tee(dest);
            buf_at(&mut ins, u32::MAX);
            ins.local_get(n).i32_const(size).i32_mul().memory_copy(0, 0);
            get(&mut ins, slot, TASK);
            ins.i32_const(p.number).local_get(dest).local_get(n);
            push_heap(&mut ins);
            ins.local_get(slot)
                .i32_const(RET as i32)
                .i32_add()
                .local_tee(hook_area)
                .call(hooks.stream_read_values);
            // Without handles, the buffer holds the values already.
            if p.shape.values_own {
                values_to_buffer(&mut ins, 0);
            } else if !held {
                free_heap_if_idle(&mut ins);
            }
            ins.end();
        } else if !replaying {
            ins.local_get(n).if_(BlockType::Empty);
            get(&mut ins, slot, TASK);
            buf_at(&mut ins, u32::MAX);
            let hook = if out {
                hooks.stream_wrote
            } else {
                hooks.stream_read
            };
            ins.local_get(n).call(hook);
            ins.end();
        }
        ins.local_get(code)
            .i32_const(15)
            .i32_and()
            .if_(BlockType::Empty);
        set(&mut ins, slot, ENDED, |i| {
            i.i32_const(1);
        });
        ins.end();
        if out && replaying {
            set(&mut ins, slot, PHASE, |i| {
                get(i, slot, ENDED);
                i.if_(BlockType::Result(ValType::I32))
                    .i32_const(END)
                    .else_()
                    .i32_const(READ)
                    .end();
            });
            ins.br(1);
        } else {
            to_write(&mut ins, slot, n, |i| {
                get(i, slot, ENDED);
                i.if_(BlockType::Result(ValType::I32))
                    .i32_const(END)
                    .else_()
                    .i32_const(READ)
                    .end();
            });
            ins.br(1);
        }
        ins.end();
    }
    if has_write {
        // WRITE: a write of the rest of the buffer into the destination stream.
        phase_is(&mut ins, WRITE);
        get(&mut ins, slot, DST);
        buf_at(&mut ins, 0);
        get(&mut ins, slot, REM);
        ins.call(dst.stream_write).local_set(code);
        on_completion(&mut ins, hooks, slot, code, DST, WRITE_DONE);
        ins.end();
        // WRITE_DONE: on with the rest, the next chunk, or the end (the reader gone: the end).
        phase_is(&mut ins, WRITE_DONE);
        get(&mut ins, slot, CODE);
        ins.local_tee(code).i32_const(4).i32_shr_u().local_set(n);
        set(&mut ins, slot, POS, |i| {
            get(i, slot, POS);
            i.local_get(n).i32_add();
        });
        set(&mut ins, slot, REM, |i| {
            get(i, slot, REM);
            i.local_get(n).i32_sub();
        });
        let fetch = if replaying && !out { NEXT } else { READ };
        set(&mut ins, slot, PHASE, |i| {
            i.local_get(code)
                .i32_const(15)
                .i32_and()
                .if_(BlockType::Result(ValType::I32))
                .i32_const(END)
                .else_();
            get(i, slot, REM);
            i.if_(BlockType::Result(ValType::I32))
                .i32_const(WRITE)
                .else_();
            get(i, slot, ENDED);
            i.if_(BlockType::Result(ValType::I32))
                .i32_const(END)
                .else_()
                .i32_const(fetch)
                .end()
                .end()
                .end();
        });
        ins.br(1);
        ins.end();
    }
    if replaying && !out {
        // NEXT: the trace's next bytes (or values) for the app, when it is their turn. Values
        // are laid out at the heap's next block (their strings and lists stay there).
        phase_is(&mut ins, NEXT);
        spend_turn(&mut ins);
        if typed {
            next_block(&mut ins, dest);
        }
        get(&mut ins, slot, TASK);
        if typed {
            ins.i32_const(p.number).i32_const(cap).local_get(dest);
        } else {
            ins.i32_const(cap);
        }
        // The answer: at RET (a chunk of bytes), or in the buffer (values, with their handles:
        // more than RET holds), read before the values are copied there.
        let answer = if typed { BUF as u64 } else { RET };
        ins.local_get(slot).i32_const(answer as i32).i32_add();
        ins.call(if typed {
            hooks.next_values
        } else {
            hooks.next_read
        });
        // waiting (0): not yet; ended (2): the end.
        ins.local_get(slot)
            .i32_load8_u(word(answer).with_align(0))
            .local_tee(code)
            .i32_eqz()
            .if_(BlockType::Empty)
            .i32_const(1)
            .global_set(8)
            .i32_const(YIELD)
            .return_()
            .end();
        ins.local_get(code)
            .i32_const(2)
            .i32_eq()
            .if_(BlockType::Empty);
        set(&mut ins, slot, ENDED, |i| {
            i.i32_const(1);
        });
        goto(&mut ins, slot, END, 2);
        ins.end();
        // The chunk, copied into the buffer (at most `cap` bytes or values, as asked).
        if typed {
            ins.local_get(slot)
                .i32_const(BUF + 4)
                .i32_add()
                .local_set(hook_area);
            trap_unless_at(&mut ins, hook_area, dest);
            get(&mut ins, slot, BUF as u64 + 12);
            ins.local_set(n);
            values_to_buffer(&mut ins, 12);
        } else {
            get(&mut ins, slot, RET + 8);
            ins.local_set(n);
            buf_at(&mut ins, u32::MAX);
            get(&mut ins, slot, RET + 4);
            ins.local_get(n).memory_copy(0, 0);
            free_heap_if_idle(&mut ins);
        }
        to_write(&mut ins, slot, n, |i| {
            i.i32_const(NEXT);
        });
        ins.br(1);
        ins.end();
    }
    // END: both streams dropped; the future's value next, in the heap (held: one more task
    // in flight, global 2).
    phase_is(&mut ins, END);
    if has_read {
        drop_end(&mut ins, hooks, slot, SRC, src.stream_drop_readable);
    }
    if has_write {
        drop_end(&mut ins, hooks, slot, DST, dst.stream_drop_writable);
    }
    if !out && !replaying {
        // The app's stream has ended, now: an empty chunk says so (the future's value, and
        // so `finished`, may come later, after other events the app saw after the end).
        get(&mut ins, slot, TASK);
        ins.i32_const(0).i32_const(0).call(hooks.stream_read);
    }
    if p.shape.listened.is_some() {
        // A listener's value was recorded (or replayed) when it answered: the slot is free.
        free_slot(&mut ins, slot);
        if held {
            subtask_done(&mut ins);
        }
        ins.i32_const(EXIT).return_();
        ins.end();
    } else {
        ins.global_get(2).i32_const(1).i32_add().global_set(2);
        if replaying {
            goto(&mut ins, slot, RESULT, 1);
        } else {
            alloc(&mut ins, realloc, p.payload_size.max(8), code);
            set(&mut ins, slot, AREA, |i| {
                i.local_get(code);
            });
            get(&mut ins, slot, HOST_FUTURE);
            ins.local_get(code).call(host.future_read).local_set(code);
            on_completion(&mut ins, hooks, slot, code, HOST_FUTURE, END_DONE);
        }
        ins.end();
        if replaying {
            // RESULT: the recorded value, when the trace says (the hook's answer in the buffer,
            // unused once the stream is done), its handles wrapped in the forwarder's.
            phase_is(&mut ins, RESULT);
            spend_turn(&mut ins);
            ask_settled(&mut ins, p, hooks, slot, dest);
            ins.if_(BlockType::Empty)
                .i32_const(1)
                .global_set(8)
                .i32_const(YIELD)
                .return_()
                .end();
            ins.local_get(slot)
                .i32_const(BUF + 4)
                .i32_add()
                .local_set(hook_area);
            trap_unless_at(&mut ins, hook_area, dest);
            load_list(&mut ins, hook_area, 8, pp, pn);
            emit_patches(&mut ins, pp, pn, pi, paddr, None, handles.wrap, None);
            set(&mut ins, slot, AREA, |i| {
                i.local_get(dest);
            });
            goto(&mut ins, slot, DELIVER, 1);
            ins.end();
        } else {
            // END_DONE: the host's future read; its value logged.
            phase_is(&mut ins, END_DONE);
            drop_end(
                &mut ins,
                hooks,
                slot,
                HOST_FUTURE,
                host.future_drop_readable,
            );
            get(&mut ins, slot, CODE);
            ins.i32_const(15).i32_and().i32_eqz().if_(BlockType::Empty);
            // future-read(task, function, value, heap-base, heap, retptr): its handles wrapped in
            // the forwarder's (the hook's answer in the buffer, unused once the stream is done).
            ins.local_get(slot)
                .i32_const(BUF)
                .i32_add()
                .local_set(hook_area);
            get(&mut ins, slot, TASK);
            ins.i32_const(p.number);
            get(&mut ins, slot, AREA);
            push_heap(&mut ins);
            ins.local_get(hook_area).call(hooks.future_read);
            load_list(&mut ins, hook_area, 0, pp, pn);
            emit_patches(&mut ins, pp, pn, pi, paddr, None, handles.wrap, None);
            ins.end();
            goto(&mut ins, slot, DELIVER, 1);
            ins.end();
        }
        // DELIVER: the value written into the app's future.
        phase_is(&mut ins, DELIVER);
        get(&mut ins, slot, APP_FUTURE);
        get(&mut ins, slot, AREA);
        ins.call(app.future_write).local_set(code);
        on_completion(&mut ins, hooks, slot, code, APP_FUTURE, DELIVER_DONE);
        ins.end();
        // DELIVER_DONE: all dropped, the slot free again.
        phase_is(&mut ins, DELIVER_DONE);
        drop_end(&mut ins, hooks, slot, APP_FUTURE, app.future_drop_writable);
        free_slot(&mut ins, slot);
        subtask_done(&mut ins);
        if held {
            // The heap held since the start.
            subtask_done(&mut ins);
        }
        ins.i32_const(EXIT).return_();
        ins.end();
    }
    ins.unreachable();
    ins.end(); // the loop
    ins.unreachable().end();
    s.code.function(&body);
    let mut steps = vec![step];
    if let Some(fp) = p
        .shape
        .opened
        .as_ref()
        .and_then(|o| o.future_param.as_ref())
    {
        emit_future_step(s, p, fp, hooks, handles, replaying);
        steps.push(index + 3);
    }
    steps
}

// The phases of a future the app passes in (see [`emit_future_step`]).
const FREAD: i32 = 1;
const FREAD_DONE: i32 = 2;
const FWRITE: i32 = 3;
const FWRITE_DONE: i32 = 4;
const FDONE: i32 = 5;

/// Emits, at the function index after the step of `p`'s slot, the step of the slot that
/// carries the future the app passes in (`fp`): it reads the app's future into the slot's
/// buffer and, recording, makes the owned handles its value holds the host's (see
/// [`HandleFns::take`]) and writes it into the future the host got; replaying, it drops it
/// (the value is the app's output). The slot was set up by the export: `SRC` the app's
/// future, `DST` the forwarder's (recording), phase [`FREAD`]; the heap is held until it is
/// done (global 2).
fn emit_future_step(
    s: &mut Sections,
    p: &Pump,
    fp: &FutureParam,
    hooks: &PumpHooks,
    handles: &HandleFns,
    replaying: bool,
) {
    use callback::*;
    let (app, host) = (&p.imports.param_app, &p.imports.param_host);
    let ty = new_type(s.types, &[WasmType::I32], &[WasmType::I32]);
    s.defined.function(ty);
    let (slot, code, handle, tmp) = (0, 1, 2, 3);
    let mut body = Function::new(vec![(3, ValType::I32)]);
    let mut ins = body.instructions();
    let phase_is = |ins: &mut wasm_encoder::InstructionSink, phase: i32| {
        get(ins, slot, PHASE);
        ins.i32_const(phase).i32_eq().if_(BlockType::Empty);
    };
    let buf = |ins: &mut wasm_encoder::InstructionSink| {
        ins.local_get(slot).i32_const(BUF).i32_add();
    };
    ins.loop_(BlockType::Empty);
    // FREAD: a read of the app's future into the buffer.
    phase_is(&mut ins, FREAD);
    get(&mut ins, slot, SRC);
    buf(&mut ins);
    ins.call(app.future_read).local_set(code);
    on_completion(&mut ins, hooks, slot, code, SRC, FREAD_DONE);
    ins.end();
    // FREAD_DONE: the value read (or the writer gone without one).
    phase_is(&mut ins, FREAD_DONE);
    if replaying {
        goto(&mut ins, slot, FDONE, 1);
    } else {
        get(&mut ins, slot, CODE);
        ins.i32_const(15).i32_and().if_(BlockType::Empty);
        goto(&mut ins, slot, FDONE, 2);
        ins.end();
        for path in &fp.owns {
            for (offset, bytes, case) in &path.guards {
                let at = word(BUF as u64 + *offset as u64).with_align(0);
                ins.local_get(slot);
                match bytes {
                    1 => ins.i32_load8_u(at),
                    2 => ins.i32_load16_u(at),
                    _ => ins.i32_load(at),
                };
                ins.i32_const(*case).i32_eq().if_(BlockType::Empty);
            }
            let at = word(BUF as u64 + path.at as u64).with_align(2);
            ins.local_get(slot).i32_load(at).local_set(handle);
            handles.take(&mut ins, handle, path.resource, tmp);
            ins.local_get(slot).local_get(handle).i32_store(at);
            for _ in &path.guards {
                ins.end();
            }
        }
        goto(&mut ins, slot, FWRITE, 1);
    }
    ins.end();
    if !replaying {
        // FWRITE: the value written into the host's future.
        phase_is(&mut ins, FWRITE);
        get(&mut ins, slot, DST);
        buf(&mut ins);
        ins.call(host.future_write).local_set(code);
        on_completion(&mut ins, hooks, slot, code, DST, FWRITE_DONE);
        ins.end();
        phase_is(&mut ins, FWRITE_DONE);
        goto(&mut ins, slot, FDONE, 1);
        ins.end();
    }
    // FDONE: both ends dropped, the slot free again, the heap no longer held by it.
    phase_is(&mut ins, FDONE);
    if !replaying {
        drop_end(&mut ins, hooks, slot, DST, host.future_drop_writable);
    }
    drop_end(&mut ins, hooks, slot, SRC, app.future_drop_readable);
    free_slot(&mut ins, slot);
    subtask_done(&mut ins);
    ins.i32_const(EXIT).return_();
    ins.end();
    ins.unreachable();
    ins.end(); // the loop
    ins.unreachable().end();
    s.code.function(&body);
}

/// Emits the export of the opened function `p` (see [`Opened`]) at function index `index`,
/// and its post-return at `index + 1`: it sets up the slot (and the slot of the future the
/// app passes in, if it passes one: kind `kind + 1`), makes the owned handles passed in the
/// host's (or the trace's), calls the host's function with a stream and a future of the
/// forwarder's in place of the app's (recording), records the call (`opened`; replaying,
/// `reopened` answers it), and returns the app's ends and the handles, wrapped in the
/// forwarder's.
#[allow(clippy::too_many_arguments)]
fn emit_opened_export(
    s: &mut Sections,
    resolve: &Resolve,
    p: &Pump,
    o: &Opened,
    hooks: &PumpHooks,
    handles: &HandleFns,
    realloc: u32,
    index: u32,
    kind: i32,
    replaying: bool,
) {
    let f = p.function;
    let step = index + 2;
    let (app, host) = (&p.imports.app, &p.imports.host);
    let out = p.shape.direction == Direction::Out;
    let export = resolve.wasm_signature(AbiVariant::GuestExport, f);
    let import = resolve.wasm_signature(AbiVariant::GuestImport, f);
    let params = export.params.len() as u32;
    let stream_at = p.shape.stream_param.map(|param| {
        o.stream_option
            .map_or_else(|| flat_position(resolve, f, param), |disc| disc + 1)
    });
    let ty = new_type(s.types, &export.params, &export.results);
    s.defined.function(ty);
    // Locals after the parameters.
    let (slot, args, bits) = (params, params + 1, params + 2);
    let pair = params + 3;
    let (harea, task, tmp, pp, pn, pi, paddr, side, dest, own, results) = (
        params + 4,
        params + 5,
        params + 6,
        params + 7,
        params + 8,
        params + 9,
        params + 10,
        params + 11,
        params + 12,
        params + 13,
        params + 14,
    );
    let mut body = Function::new(vec![
        (3, ValType::I32),
        (1, ValType::I64),
        (11, ValType::I32),
    ]);
    let mut ins = body.instructions();
    let low = |ins: &mut wasm_encoder::InstructionSink| {
        ins.local_get(pair).i32_wrap_i64();
    };
    let high = |ins: &mut wasm_encoder::InstructionSink| {
        ins.local_get(pair).i64_const(32).i64_shr_u().i32_wrap_i64();
    };
    claim_slot(&mut ins, hooks, p.number, bits, slot);
    shared_set(&mut ins, hooks);
    set(&mut ins, slot, SET, |i| {
        i.global_get(4);
    });
    set(&mut ins, slot, KIND, |i| {
        i.i32_const(kind);
    });
    // Owned handles passed in: the host's (or the trace's) in place of the forwarder's.
    for (at, resource, disc) in &o.owned {
        if let Some(disc) = disc {
            ins.local_get(*disc).if_(BlockType::Empty);
        }
        handles.take(&mut ins, *at, *resource, tmp);
        if disc.is_some() {
            ins.end();
        }
    }
    // The stream the app writes, if it passes one; recording, a stream of the forwarder's
    // for the host in its place.
    if let Some(at) = stream_at {
        let present = |ins: &mut wasm_encoder::InstructionSink| match o.stream_option {
            Some(disc) => {
                ins.local_get(disc);
            }
            None => {
                ins.i32_const(1);
            }
        };
        present(&mut ins);
        ins.if_(BlockType::Empty);
        set(&mut ins, slot, SRC, |i| {
            i.local_get(at);
        });
        if !replaying {
            ins.call(host.stream_new).local_set(pair);
            set(&mut ins, slot, DST, |i| high(i));
            low(&mut ins);
            ins.local_set(at);
        }
        ins.end();
    }
    // The future the app passes in: a slot of its own (holding the heap); recording, a future
    // of the forwarder's for the host in its place.
    if let Some(fp) = &o.future_param {
        claim_slot(&mut ins, hooks, p.number, bits, side);
        set(&mut ins, side, SET, |i| {
            i.global_get(4);
        });
        set(&mut ins, side, KIND, |i| {
            i.i32_const(kind + 1);
        });
        ins.global_get(2).i32_const(1).i32_add().global_set(2);
        set(&mut ins, side, SRC, |i| {
            i.local_get(fp.at);
        });
        if !replaying {
            ins.call(p.imports.param_host.future_new).local_set(pair);
            set(&mut ins, side, DST, |i| high(i));
            low(&mut ins);
            ins.local_set(fp.at);
        }
    }
    let elements = &o.results;
    let element_at =
        |e: &dyn Fn(&Element) -> bool| elements.iter().position(e).map(|k| 4 * k as u64);
    let own_at = element_at(&|e| matches!(e, Element::Own(_)));
    let stream_result_at = element_at(&|e| *e == Element::Stream);
    let future_at = element_at(&|e| *e == Element::Future).unwrap_or_default();
    // The arguments the trace keeps (all but the streams and futures).
    let arg_bits: Vec<(u32, WasmType)> = export
        .params
        .iter()
        .enumerate()
        .filter(|(q, _)| !o.hidden.contains(&(*q as u32)))
        .map(|(q, t)| (q as u32, *t))
        .collect();
    if !replaying {
        // The host's function; its results at RET (or its one result).
        for q in 0..params {
            ins.local_get(q);
        }
        if import.retptr {
            ins.local_get(slot)
                .i32_const(RET as i32)
                .i32_add()
                .call(p.host);
        } else {
            ins.call(p.host).local_set(tmp);
            set(&mut ins, slot, RET, |i| {
                i.local_get(tmp);
            });
        }
        if let Some(k) = stream_result_at {
            set(&mut ins, slot, SRC, |i| get(i, slot, RET + k));
        }
        set(&mut ins, slot, HOST_FUTURE, |i| {
            get(i, slot, RET + future_at)
        });
        // opened(function, args, results, heap-base, heap, retptr) -> (task, patches).
        store_bits(&mut ins, realloc, &arg_bits, args);
        let result_bits: Vec<(u32, WasmType)> = match own_at {
            Some(k) => {
                get(&mut ins, slot, RET + k);
                ins.local_set(own);
                vec![(own, WasmType::I32)]
            }
            None => vec![],
        };
        store_bits(&mut ins, realloc, &result_bits, results);
        alloc(&mut ins, realloc, 16, harea);
        ins.i32_const(p.number)
            .local_get(args)
            .i32_const(arg_bits.len() as i32)
            .local_get(results)
            .i32_const(result_bits.len() as i32);
        push_heap(&mut ins);
        ins.local_get(harea).call(hooks.opened);
        ins.local_get(harea)
            .i32_load(word(0).with_align(2))
            .local_set(task);
        load_list(&mut ins, harea, 4, pp, pn);
        emit_patches(&mut ins, pp, pn, pi, paddr, Some(own), handles.wrap, None);
    } else {
        // reopened(function, args, heap-base, heap, dest, retptr) -> (task, bytes, patches).
        store_bits(&mut ins, realloc, &arg_bits, args);
        alloc(&mut ins, realloc, 24, harea);
        next_block(&mut ins, dest);
        ins.i32_const(p.number)
            .local_get(args)
            .i32_const(arg_bits.len() as i32)
            .i32_const(HEAP_BASE)
            .i32_const(HEAP_BASE)
            .local_get(dest)
            .i32_const(HEAP_BASE)
            .i32_sub()
            .local_get(dest)
            .local_get(harea)
            .call(hooks.opened);
        ins.local_get(harea)
            .i32_load(word(0).with_align(2))
            .local_set(task);
        ins.local_get(harea).i32_const(4).i32_add().local_set(tmp);
        trap_unless_at(&mut ins, tmp, dest);
        load_list(&mut ins, harea, 12, pp, pn);
        emit_patches(&mut ins, pp, pn, pi, paddr, None, handles.wrap, None);
        if own_at.is_some() {
            ins.local_get(dest)
                .i32_load(word(0).with_align(2))
                .local_set(own);
        }
    }
    set(&mut ins, slot, TASK, |i| {
        i.local_get(task);
    });
    if o.future_param.is_some() {
        set(&mut ins, side, TASK, |i| {
            i.local_get(task);
        });
    }
    // What the app gets back, at RETURN: the handles, its stream and its future.
    if let Some(k) = own_at {
        set(&mut ins, slot, RETURN + k, |i| {
            i.local_get(own);
        });
    }
    if let Some(k) = stream_result_at {
        ins.call(app.stream_new).local_set(pair);
        set(&mut ins, slot, DST, |i| high(i));
        set(&mut ins, slot, RETURN + k, |i| low(i));
    }
    ins.call(app.future_new).local_set(pair);
    set(&mut ins, slot, APP_FUTURE, |i| high(i));
    set(&mut ins, slot, RETURN + future_at, |i| low(i));
    // The first phase: the stream's (the trace's next chunk, replaying in), or, without a
    // stream, its end.
    set(&mut ins, slot, PHASE, |i| {
        if out {
            get(i, slot, SRC);
            i.if_(BlockType::Result(ValType::I32))
                .i32_const(READ)
                .else_()
                .i32_const(END)
                .end();
        } else if replaying {
            i.i32_const(NEXT);
        } else {
            i.i32_const(READ);
        }
    });
    // Recording, the first step is the driver's: a stream that has ended already (an empty
    // request body) goes on at once to the read of the future, which only a task that is still
    // there when the value comes may issue (see `FRESH`). Replaying, a first step that reads
    // the app's bytes is taken now, and one that reads its future (the end, without a stream)
    // is the driver's.
    if out && replaying {
        get(&mut ins, slot, SRC);
        ins.if_(BlockType::Empty);
        ins.local_get(slot).call(step).drop();
        ins.else_();
        set(&mut ins, slot, FRESH, |i| {
            i.i32_const(1);
        });
        ins.end();
    } else if !replaying {
        set(&mut ins, slot, FRESH, |i| {
            i.i32_const(1);
        });
    }
    if o.future_param.is_some() {
        set(&mut ins, side, PHASE, |i| {
            i.i32_const(FREAD);
        });
        set(&mut ins, side, FRESH, |i| {
            i.i32_const(1);
        });
    }
    ring(&mut ins, hooks);
    end_export(s, p, &export.results, index, body, slot, elements.len() > 1);
}

/// Replaying: asks the trace for the value of the slot's subtask (`settled`, its answer in the
/// slot's buffer, its bytes at the heap's next block, whose address goes into local `dest`);
/// pushes whether it is not there yet.
fn ask_settled(
    ins: &mut wasm_encoder::InstructionSink,
    p: &Pump,
    hooks: &PumpHooks,
    slot: u32,
    dest: u32,
) {
    next_block(ins, dest);
    get(ins, slot, TASK);
    ins.i32_const(p.number)
        .local_get(dest)
        .local_get(slot)
        .i32_const(BUF)
        .i32_add()
        .call(hooks.settled);
    ins.local_get(slot)
        .i32_load8_u(word(BUF as u64).with_align(0))
        .i32_eqz();
}

/// A listener's answer (see [`Listened`]), in its export, after `started`: recording, calls
/// the host's function (its answer at `RET`) and records its result without the stream,
/// `result<_, E>` (`future-read`, as `finished`); replaying, takes that value from the trace
/// (`settled`, at once: nothing comes between a listener's call and its answer). An error
/// answers the app at once: the export returns it, the slot freed, and goes no further.
/// `locals`: the export's parameter count, its slot, and two scratch locals.
fn listened_answer(
    ins: &mut wasm_encoder::InstructionSink,
    p: &Pump,
    l: &Listened,
    hooks: &PumpHooks,
    realloc: u32,
    (params, slot, area, tmp): (u32, u32, u32, u32),
    replaying: bool,
) {
    if replaying {
        // settled(task, function, dest, retptr), until the trace's answer is there (its
        // absence is a divergence, once `settled` has been asked often enough).
        ins.loop_(BlockType::Empty);
        ask_settled(ins, p, hooks, slot, area);
        ins.br_if(0);
        ins.end();
        ins.local_get(slot)
            .i32_const(BUF + 4)
            .i32_add()
            .local_set(tmp);
        trap_unless_at(ins, tmp, area);
    } else {
        for q in 0..params {
            ins.local_get(q);
        }
        ins.local_get(slot)
            .i32_const(RET as i32)
            .i32_add()
            .call(p.host);
        alloc(ins, realloc, l.size.max(8), area);
        ins.local_get(area)
            .local_get(slot)
            .i32_load8_u(word(RET).with_align(0))
            .i32_store8(word(0).with_align(0));
        if l.err_size > 0 {
            ins.local_get(area)
                .i32_const(l.recorded_at)
                .i32_add()
                .local_get(slot)
                .i32_const(RET as i32 + l.payload_at)
                .i32_add()
                .i32_const(l.err_size)
                .memory_copy(0, 0);
        }
        // future-read(task, function, value, heap-base, heap, retptr): no handles in `E`.
        get(ins, slot, TASK);
        ins.i32_const(p.number).local_get(area);
        push_heap(ins);
        ins.local_get(slot)
            .i32_const(BUF)
            .i32_add()
            .call(hooks.future_read);
    }
    // An error: the app's answer, at once.
    ins.local_get(area)
        .i32_load8_u(word(0).with_align(0))
        .if_(BlockType::Empty);
    ins.local_get(slot)
        .i32_const(1)
        .i32_store8(word(RETURN).with_align(0));
    if l.err_size > 0 {
        ins.local_get(slot)
            .i32_const(RETURN as i32 + l.payload_at)
            .i32_add()
            .local_get(area)
            .i32_const(l.recorded_at)
            .i32_add()
            .i32_const(l.err_size)
            .memory_copy(0, 0);
    }
    free_slot(ins, slot);
    if p.shape.values_in_heap {
        // The heap held since the export began (see `emit`).
        subtask_done(ins);
    }
    ins.local_get(slot)
        .i32_const(RETURN as i32)
        .i32_add()
        .return_();
    ins.end();
}

/// Ends the export `body` of `p` (core results `results`), whose slot is in local `slot`: it
/// returns what it keeps at `RETURN` (its address when `through_memory`), and is emitted at
/// function index `index`, its post-return at `index + 1`.
fn end_export(
    s: &mut Sections,
    p: &Pump,
    results: &[WasmType],
    index: u32,
    mut body: Function,
    slot: u32,
    through_memory: bool,
) {
    let mut ins = body.instructions();
    if through_memory {
        ins.local_get(slot).i32_const(RETURN as i32).i32_add();
    } else {
        get(&mut ins, slot, RETURN);
    }
    ins.end();
    s.code.function(&body);
    let name = export_name(p.interface, p.function);
    s.exports.export(&name, ExportKind::Func, index);
    emit_post_return(s, results, &name, index + 1);
}

/// Replaying: takes the driver's one turn of this round (global 8) to hand the app the
/// trace's next completion, or, when it is taken, returns `YIELD`: the app's other tasks run
/// before the next, as they did when the host made them one after the other. (A slot that
/// finds nothing for it gives the turn back.)
fn spend_turn(ins: &mut wasm_encoder::InstructionSink) {
    ins.global_get(8)
        .i32_eqz()
        .if_(BlockType::Empty)
        .i32_const(callback::YIELD)
        .return_()
        .end();
    ins.i32_const(0).global_set(8);
}

/// Claims a free slot (global 3: the slots in use, a bit each) into local `slot` (local
/// `bits` is scratch), its state cleared; none free: the run stops, saying so (the hook
/// `too-many-streams`, for function `number`).
fn claim_slot(
    ins: &mut wasm_encoder::InstructionSink,
    hooks: &PumpHooks,
    number: i32,
    bits: u32,
    slot: u32,
) {
    ins.global_get(3)
        .i64_const(-1)
        .i64_xor()
        .i64_eqz()
        .if_(BlockType::Empty)
        .i32_const(number)
        .call(hooks.too_many)
        .unreachable()
        .end();
    ins.global_get(3)
        .i64_const(-1)
        .i64_xor()
        .i64_ctz()
        .i32_wrap_i64()
        .local_set(bits);
    ins.global_get(3)
        .i64_const(1)
        .local_get(bits)
        .i64_extend_i32_u()
        .i64_shl()
        .i64_or()
        .global_set(3);
    ins.local_get(bits)
        .i32_const(SLOT_SIZE.trailing_zeros() as i32)
        .i32_shl()
        .i32_const(SLOTS_BASE)
        .i32_add()
        .local_set(slot);
    // A clean state, on the one waitable set (global 4, made once).
    ins.local_get(slot)
        .i32_const(0)
        .i32_const(BUF)
        .memory_fill(0);
}

/// Frees the slot in local `slot` (its bit in global 3).
fn free_slot(ins: &mut wasm_encoder::InstructionSink, slot: u32) {
    ins.global_get(3)
        .i64_const(1)
        .local_get(slot)
        .i32_const(SLOTS_BASE)
        .i32_sub()
        .i32_const(SLOT_SIZE.trailing_zeros() as i32)
        .i32_shr_u()
        .i64_extend_i32_u()
        .i64_shl()
        .i64_const(-1)
        .i64_xor()
        .i64_and()
        .global_set(3);
}

/// Makes the one waitable set (global 4) the stream functions wait on, unless it is made.
fn shared_set(ins: &mut wasm_encoder::InstructionSink, hooks: &PumpHooks) {
    ins.global_get(4)
        .i32_eqz()
        .if_(BlockType::Empty)
        .call(hooks.set_new)
        .global_set(4)
        .end();
}

/// Emits the driver at function indices `index` (`wasm-rr:rr/pump.drive`, lifted with the
/// async ABI) and `index + 1` (its callback): the task that runs the slots of the stream
/// functions whose `steps` (function indices, by kind) are given, which the 0.3 run wrapper
/// starts before the app's `run` and cancels after it. It waits on the one waitable set
/// (recording) and steps the slot whose read or write completed; replaying, it also steps the
/// slots that wait for the trace, each time the app's other tasks have run (`POLL`).
pub(super) fn emit_driver(
    s: &mut Sections,
    hooks: &PumpHooks,
    steps: &[u32],
    index: u32,
    replaying: bool,
) {
    use callback::*;
    // Steps the slot in local `slot` by its kind.
    let dispatch = |ins: &mut wasm_encoder::InstructionSink, slot: u32| {
        for (kind, step) in steps.iter().enumerate() {
            get(ins, slot, KIND);
            ins.i32_const(kind as i32)
                .i32_eq()
                .if_(BlockType::Empty)
                .local_get(slot)
                .call(*step)
                .drop()
                .end();
        }
    };
    // For each slot in use (local `i` its number, local `slot` its address), `body`.
    let each_slot = |ins: &mut wasm_encoder::InstructionSink,
                     i: u32,
                     slot: u32,
                     body: &dyn Fn(&mut wasm_encoder::InstructionSink)| {
        ins.i32_const(0).local_set(i);
        ins.block(BlockType::Empty).loop_(BlockType::Empty);
        ins.local_get(i).i32_const(SLOTS).i32_ge_u().br_if(1);
        ins.global_get(3)
            .local_get(i)
            .i64_extend_i32_u()
            .i64_shr_u()
            .i64_const(1)
            .i64_and()
            .i32_wrap_i64()
            .if_(BlockType::Empty);
        ins.local_get(i)
            .i32_const(SLOT_SIZE.trailing_zeros() as i32)
            .i32_shl()
            .i32_const(SLOTS_BASE)
            .i32_add()
            .local_set(slot);
        body(ins);
        ins.end();
        ins.local_get(i).i32_const(1).i32_add().local_set(i).br(0);
        ins.end().end();
    };
    // What the driver does next: recording, wait for an event of the set; replaying, yield
    // (and then take the set's events with `waitable-set.poll` and step the slots waiting for
    // the trace).
    let next = |ins: &mut wasm_encoder::InstructionSink| {
        if replaying {
            ins.i32_const(YIELD);
        } else {
            ins.global_get(4)
                .i32_const(4)
                .i32_shl()
                .i32_const(WAIT)
                .i32_or();
        }
    };

    // The export: () -> callback code. A driver running already (global 11): return at once.
    let ty = new_type(s.types, &[], &[WasmType::I32]);
    s.defined.function(ty);
    let mut body = Function::new(vec![(1, ValType::I64)]);
    let mut ins = body.instructions();
    ins.global_get(11)
        .if_(BlockType::Empty)
        .call(hooks.task_return)
        .i32_const(EXIT)
        .return_()
        .end();
    ins.i32_const(1).global_set(11);
    shared_set(&mut ins, hooks);
    if let Some((new, _, _)) = hooks.doorbell {
        // The doorbell: a byte stream of the forwarder's, read here, written by exports (made
        // by the first driver; a service's next drivers take it over).
        ins.global_get(7).i32_eqz().if_(BlockType::Empty);
        ins.call(new).local_set(0);
        ins.local_get(0).i32_wrap_i64().global_set(7);
        ins.local_get(0)
            .i64_const(32)
            .i64_shr_u()
            .i32_wrap_i64()
            .global_set(5);
        ins.global_get(7).global_get(4).call(hooks.join);
        ins.end();
        arm(&mut ins, hooks);
    }
    next(&mut ins);
    ins.end();
    s.code.function(&body);
    s.exports
        .export("[async-lift]wasm-rr:rr/pump#drive", ExportKind::Func, index);

    // The callback (event, waitable, code) -> callback code; locals i, slot, event.
    let ty = new_type(s.types, &[WasmType::I32; 3], &[WasmType::I32]);
    s.defined.function(ty);
    let (i, slot, event) = (3, 4, 5);
    let mut body = Function::new(vec![(3, ValType::I32)]);
    let mut ins = body.instructions();
    // The slot whose read or write completed (the event in local 0, its waitable in 1 and
    // code in 2) goes on.
    let route = |ins: &mut wasm_encoder::InstructionSink| {
        ins.local_get(0)
            .i32_const(2)
            .i32_ge_u()
            .local_get(0)
            .i32_const(5)
            .i32_le_u()
            .i32_and()
            .if_(BlockType::Empty);
        each_slot(ins, i, slot, &|ins| {
            get(ins, slot, WAITING);
            ins.local_get(1).i32_eq().if_(BlockType::Empty);
            set(ins, slot, WAITING, |i| {
                i.i32_const(0);
            });
            set(ins, slot, CODE, |i| {
                i.local_get(2);
            });
            set(ins, slot, PHASE, |i| {
                get(i, slot, PHASE);
                i.i32_const(1).i32_add();
            });
            dispatch(ins, slot);
            ins.end();
        });
        ins.end();
    };
    // A new round: one turn to hand out a completion (see `spend_turn`).
    ins.i32_const(1).global_set(8);
    if hooks.doorbell.is_some() {
        // The doorbell's read completed: it may be issued again.
        ins.local_get(0)
            .i32_const(EVENT_STREAM_READ)
            .i32_eq()
            .local_get(1)
            .global_get(7)
            .i32_eq()
            .i32_and()
            .if_(BlockType::Empty)
            .i32_const(0)
            .global_set(6)
            .i32_const(0)
            .global_set(12)
            .end();
    }
    // Cancelled: the run is over.
    ins.local_get(0)
        .i32_const(EVENT_CANCELLED)
        .i32_eq()
        .if_(BlockType::Empty)
        .call(hooks.task_cancel)
        .i32_const(EXIT)
        .return_()
        .end();
    route(&mut ins);
    if replaying {
        // The set's other events, taken without waiting (into the event's parameters).
        ins.block(BlockType::Empty).loop_(BlockType::Empty);
        get_set_poll(&mut ins, hooks, event);
        ins.local_get(event).i32_eqz().br_if(1);
        ins.local_get(event).local_set(0);
        ins.i32_const(POLLED)
            .i32_load(word(0).with_align(2))
            .local_set(1);
        ins.i32_const(POLLED)
            .i32_load(word(4).with_align(2))
            .local_set(2);
        route(&mut ins);
        ins.br(0);
        ins.end().end();
    }
    // The slots whose first step is the driver's.
    each_slot(&mut ins, i, slot, &|ins| {
        get(ins, slot, FRESH);
        ins.if_(BlockType::Empty);
        set(ins, slot, FRESH, |i| {
            i.i32_const(0);
        });
        dispatch(ins, slot);
        ins.end();
    });
    // The doorbell's read again, if it rang.
    arm(&mut ins, hooks);
    if replaying {
        // The slots waiting for the trace ask again.
        each_slot(&mut ins, i, slot, &|ins| {
            get(ins, slot, PHASE);
            ins.i32_const(NEXT).i32_eq();
            get(ins, slot, PHASE);
            ins.i32_const(RESULT)
                .i32_eq()
                .i32_or()
                .if_(BlockType::Empty);
            dispatch(ins, slot);
            ins.end();
        });
    }
    // A service's driver (global 10) returns once no request is in flight (global 9) and no
    // stream is open (global 3); the next request starts another.
    ins.global_get(10)
        .global_get(9)
        .i32_eqz()
        .i32_and()
        .global_get(3)
        .i64_eqz()
        .i32_and()
        .if_(BlockType::Empty)
        .i32_const(0)
        .global_set(11)
        .call(hooks.task_return)
        .i32_const(EXIT)
        .return_()
        .end();
    next(&mut ins);
    ins.end();
    s.code.function(&body);
    s.exports.export(
        "[callback][async-lift]wasm-rr:rr/pump#drive",
        ExportKind::Func,
        index + 1,
    );

    // `busy(requests)`: a service's handler wrapper says how many requests are in flight; the
    // driver (woken, recording) sees whether it is done.
    let ty = new_type(s.types, &[WasmType::I32], &[]);
    s.defined.function(ty);
    let mut body = Function::new(vec![]);
    let mut ins = body.instructions();
    ins.local_get(0).global_set(9);
    ins.i32_const(1).global_set(10);
    ring(&mut ins, hooks);
    ins.end();
    s.code.function(&body);
    s.exports
        .export("wasm-rr:rr/pump#busy", ExportKind::Func, index + 2);
}

/// Where `waitable-set.poll` writes an event's waitable and code: below the slots, in the
/// bytes the allocator never hands out.
const POLLED: i32 = 512;

/// Takes the next event of the one waitable set without waiting (`waitable-set.poll`) into
/// local `event` (0: none), its waitable and code at [`POLLED`].
fn get_set_poll(ins: &mut wasm_encoder::InstructionSink, hooks: &PumpHooks, event: u32) {
    ins.global_get(4)
        .i32_const(POLLED)
        .call(hooks.set_poll)
        .local_set(event);
}
