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
//!   trace has them among the app's other events.
//!
//! Each call is a task of the forwarder (lifted with the async ABI's callback, although the
//! function is not `async`: it returns its handles at once with `task.return` and goes on), a
//! subtask in the trace (`started`, then the future's value with `finished`), with a state
//! machine in a slot of its own: one of [`SLOTS`] blocks of [`SLOT_SIZE`] bytes below the
//! heap, its state first and its buffer after.

use super::*;

/// How many streams may be open at once (a 33rd stops the run, saying so).
pub(super) const SLOTS: i32 = 32;
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
/// The export's results, returned through memory (In: the two handles).
const RETURN: u64 = 72;

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
    /// The stream's and the future's types, numbered as `find_futures_and_streams` does.
    pub stream_index: usize,
    pub future_index: usize,
    /// The future's value.
    pub payload: Option<Type>,
    /// In: the stream's values, when they are not bytes (`directory-entry`, for WASI 0.3's
    /// `descriptor.read-directory`): recorded as values (`stream-read-values`).
    pub values: Option<Type>,
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
/// not `async`, and nothing owned among them.
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
        let values = match def(resolve, s) {
            Some(TypeDefKind::Stream(Some(Type::U8))) => None,
            // Values other than bytes, without owned handles (a listener's stream of
            // sockets is not recorded yet).
            Some(TypeDefKind::Stream(Some(t))) if plain(t) => Some(*t),
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
        future_index: index(&is_future)?,
        payload,
        values,
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
}

/// The `wasm-rr:rr/generic` hooks and the async ABI's builtins that every stream function's
/// code calls.
#[derive(Default)]
pub(super) struct PumpHooks {
    pub started: u32,
    /// `finished` (recording).
    pub finished: u32,
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
    /// `waitable-set.poll` (replaying).
    pub set_poll: u32,
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
        Ends {
            stream_new: one("stream", si, "new", &[], &[I64]),
            stream_read: one("stream", si, "read", &[I32; 3], &[I32]),
            stream_write: one("stream", si, "write", &[I32; 3], &[I32]),
            stream_drop_readable: one("stream", si, "drop-readable", &[I32], &[]),
            stream_drop_writable: one("stream", si, "drop-writable", &[I32], &[]),
            future_new: one("future", fi, "new", &[], &[I64]),
            future_read: one("future", fi, "read", &[I32; 2], &[I32]),
            future_write: one("future", fi, "write", &[I32; 2], &[I32]),
            future_drop_readable: one("future", fi, "drop-readable", &[I32], &[]),
            future_drop_writable: one("future", fi, "drop-writable", &[I32], &[]),
        }
    };
    let app = side(true);
    let host = if replaying {
        Ends::default()
    } else {
        side(false)
    };
    PumpImports { app, host }
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
    realloc: u32,
    index: u32,
    kind: i32,
    replaying: bool,
) {
    use callback::*;
    let f = p.function;
    let step = index + 2;
    // Values other than bytes: their strings and lists lie in the heap, which is held (as by
    // a subtask in flight) until the stream is done. A read or write moves `cap` values.
    let typed = p.shape.values.is_some();
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

    // The export: params, then locals slot, args (list), free bits, pair.
    let ty = new_type(s.types, &export.params, &export.results);
    s.defined.function(ty);
    let (slot, args, bits) = (params, params + 1, params + 2);
    let pair = params + 3;
    let mut body = Function::new(vec![(3, ValType::I32), (1, ValType::I64)]);
    let mut ins = body.instructions();
    // A free slot (global 3: the slots in use, a bit each); none: the run stops, saying so.
    ins.global_get(3)
        .i32_const(-1)
        .i32_xor()
        .local_tee(bits)
        .i32_eqz()
        .if_(BlockType::Empty)
        .i32_const(p.number)
        .call(hooks.too_many)
        .unreachable()
        .end();
    ins.local_get(bits).i32_ctz().local_set(bits);
    ins.global_get(3)
        .i32_const(1)
        .local_get(bits)
        .i32_shl()
        .i32_or()
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
    if typed {
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
    ins.call(app.future_new).local_set(pair);
    set(&mut ins, slot, APP_FUTURE, |ins| high(ins));
    let future_at = if out { RETURN } else { RETURN + 4 };
    set(&mut ins, slot, future_at, |ins| low(ins));
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
    if out {
        get(&mut ins, slot, RETURN);
    } else {
        ins.local_get(slot).i32_const(RETURN as i32).i32_add();
    }
    ins.end();
    s.code.function(&body);
    let name = export_name(p.interface, f);
    s.exports.export(&name, ExportKind::Func, index);
    emit_post_return(s, &export.results, &name, index + 1);

    // The step (slot) -> callback code. Locals: code, n, hook area, dest.
    let ty = new_type(s.types, &[WasmType::I32], &[WasmType::I32]);
    s.defined.function(ty);
    let (slot, code, n, hook_area, dest) = (0, 1, 2, 3, 4);
    let mut body = Function::new(vec![(4, ValType::I32)]);
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
            // stream-read-values(task, function, values, count, heap-base, heap), the values
            // copied into the heap first (the interposer sees the heap only).
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
            ins.call(hooks.stream_read_values);
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
        if typed {
            next_block(&mut ins, dest);
        }
        get(&mut ins, slot, TASK);
        if typed {
            ins.i32_const(p.number).i32_const(cap).local_get(dest);
        } else {
            ins.i32_const(cap);
        }
        ins.local_get(slot).i32_const(RET as i32).i32_add();
        ins.call(if typed {
            hooks.next_values
        } else {
            hooks.next_read
        });
        // waiting (0): not yet; ended (2): the end.
        ins.local_get(slot)
            .i32_load8_u(word(RET).with_align(0))
            .local_tee(code)
            .i32_eqz()
            .if_(BlockType::Empty)
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
                .i32_const(RET as i32 + 4)
                .i32_add()
                .local_set(hook_area);
            trap_unless_at(&mut ins, hook_area, dest);
            get(&mut ins, slot, RET + 12);
            ins.local_set(n);
            buf_at(&mut ins, u32::MAX);
            ins.local_get(dest)
                .local_get(n)
                .i32_const(size)
                .i32_mul()
                .memory_copy(0, 0);
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
        // RESULT: the recorded value, when the trace says.
        phase_is(&mut ins, RESULT);
        next_block(&mut ins, dest);
        get(&mut ins, slot, TASK);
        ins.i32_const(p.number)
            .local_get(dest)
            .local_get(slot)
            .i32_const(RET as i32)
            .i32_add()
            .call(hooks.settled);
        ins.local_get(slot)
            .i32_load8_u(word(RET).with_align(0))
            .i32_eqz()
            .if_(BlockType::Empty)
            .i32_const(YIELD)
            .return_()
            .end();
        ins.local_get(slot)
            .i32_const(RET as i32 + 4)
            .i32_add()
            .local_set(hook_area);
        trap_unless_at(&mut ins, hook_area, dest);
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
        // finished(task, function, results, heap-base, heap, dest, retptr).
        alloc(&mut ins, realloc, 16, hook_area);
        next_block(&mut ins, dest);
        get(&mut ins, slot, TASK);
        ins.i32_const(p.number);
        get(&mut ins, slot, AREA);
        push_heap(&mut ins);
        ins.local_get(dest)
            .local_get(hook_area)
            .call(hooks.finished);
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
    ins.global_get(3)
        .i32_const(1)
        .local_get(slot)
        .i32_const(SLOTS_BASE)
        .i32_sub()
        .i32_const(SLOT_SIZE.trailing_zeros() as i32)
        .i32_shr_u()
        .i32_shl()
        .i32_const(-1)
        .i32_xor()
        .i32_and()
        .global_set(3);
    subtask_done(&mut ins);
    if typed {
        // The heap held since the start.
        subtask_done(&mut ins);
    }
    ins.i32_const(EXIT).return_();
    ins.end();
    ins.unreachable();
    ins.end(); // the loop
    ins.unreachable().end();
    s.code.function(&body);
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
            .i32_shr_u()
            .i32_const(1)
            .i32_and()
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

    // The export: () -> callback code.
    let ty = new_type(s.types, &[], &[WasmType::I32]);
    s.defined.function(ty);
    let mut body = Function::new(vec![]);
    let mut ins = body.instructions();
    shared_set(&mut ins, hooks);
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
    next(&mut ins);
    ins.end();
    s.code.function(&body);
    s.exports.export(
        "[callback][async-lift]wasm-rr:rr/pump#drive",
        ExportKind::Func,
        index + 1,
    );
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
