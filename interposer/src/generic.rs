//! `wasm-rr:rr/generic`: the calls of every interface recorded from its WIT alone (the generic
//! path), which the forwarder `wasm-rr wrap` made for them hands over (recording) or asks the
//! results of (replaying).
//!
//! The forwarder gives a call's flat arguments (and, recording, results) as their bits, with a
//! copy of its heap, which holds everything they point to. The values are read out of it by
//! their types, the trace header's table of generic functions ([`set_functions`]), and go
//! through [`rr::call`] as one [`Called`] event. Replaying, the recorded results are laid out
//! for the address in the forwarder's memory where it puts the bytes returned.

use crate::exports::wasm_rr::rr::generic;
use crate::{Interposer, rr};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use wasm_rr_trace::Request;
use wasm_rr_trace::abi::{self, AbiError, Handles, Memory, Ty, Val};
use wasm_rr_trace::generic::{
    Called, Cancelled, Dropped, Finished, Function, Invoked, Opened, Returned, Started, StreamRead,
    StreamValues, StreamWrote,
};

/// The canonical ABI's most flat parameters: more are passed in memory, through a pointer.
const MAX_FLAT_PARAMS: usize = 16;

/// A function's types, as their layouts.
struct Layout {
    params: Vec<Ty>,
    /// All the parameters as one record, when they take more than [`MAX_FLAT_PARAMS`] flat
    /// values (and are passed in memory).
    params_in_memory: Option<Ty>,
    result: Option<Ty>,
    /// The value of its [`Finished`] event: its future's ([`Function::future`]), or else its
    /// result.
    finished: Option<Ty>,
    /// The values of the stream it returns, when they are not bytes (see
    /// [`Function::stream`]).
    stream: Option<Ty>,
    /// Its name, for a report (`wasi:filesystem/types.[method]descriptor.read-via-stream`).
    name: String,
}

thread_local! {
    static LAYOUTS: RefCell<Vec<Layout>> = const { RefCell::new(Vec::new()) };
    /// Replaying a library component: the export call being made, printed with its result.
    static INVOKED: RefCell<Option<Invoked>> = const { RefCell::new(None) };
    static HANDLES: RefCell<Numbering> = RefCell::new(Numbering::default());
    /// The number the next async call's subtask gets.
    static NEXT_TASK: Cell<u32> = const { Cell::new(0) };
    /// Replaying: the subtasks started and not finished yet, with their calls (for a report).
    static WAITING: RefCell<BTreeMap<u32, String>> = const { RefCell::new(BTreeMap::new()) };
    /// Replaying: the trace's next event when `ready` last found it for no subtask, and how
    /// many times in a row it did.
    static IDLE: Cell<(u64, u32)> = const { Cell::new((u64::MAX, 0)) };
    /// Replaying: the bytes of a recorded stream chunk not handed out yet, by subtask (the
    /// forwarder asks for at most as many as its buffer holds).
    static UNREAD: RefCell<BTreeMap<u32, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
    /// Replaying: the values of a recorded chunk of a stream of values not handed out yet, by
    /// subtask.
    static UNREAD_VALUES: RefCell<BTreeMap<u32, Vec<Val>>> =
        const { RefCell::new(BTreeMap::new()) };
}

/// The most times in a row `ready` may find the trace's next event unchanged, and for no
/// subtask, before the replay stops with a divergence: the app waits for its subtasks while
/// the trace holds something it does not do. (The forwarder asks once each time the app's
/// other tasks have run, so a live replay moves on long before.)
const MAX_IDLE_POLLS: u32 = 1_000_000;

/// Recording: the number of each live handle the host gave (resource type, the host's handle
/// → its number among its resource's handles, in creation order).
#[derive(Default)]
struct Numbering {
    numbers: BTreeMap<(u32, u32), u32>,
    next: BTreeMap<u32, u32>,
}

/// Where handles lie in what is handed back to the forwarder, to be wrapped in handles of its
/// own resources: (address, or `u32::MAX` for the one flat result; resource type).
type Patches = Vec<(u32, u32)>;

/// Recording: the host's handles in a call's values become their numbers; new ones (`own`, in
/// results) get the next number of their resource, and their places are listed; owned ones
/// passed to the host (`own`, in arguments) are forgotten.
struct Recording<'a> {
    numbering: &'a mut Numbering,
    patches: Patches,
    /// The values being read are the arguments.
    arguments: bool,
}

impl Handles for Recording<'_> {
    fn lift(
        &mut self,
        resource: u32,
        own: bool,
        raw: u32,
        at: Option<u32>,
    ) -> Result<u32, AbiError> {
        if own && self.arguments {
            self.numbering
                .numbers
                .remove(&(resource, raw))
                .ok_or_else(|| {
                    AbiError(format!(
                        "handle {raw} of resource #{resource} was not given by a recorded call"
                    ))
                })
        } else if own {
            let next = self.numbering.next.entry(resource).or_default();
            let n = *next;
            *next += 1;
            self.numbering.numbers.insert((resource, raw), n);
            self.patches.push((at.unwrap_or(u32::MAX), resource));
            Ok(n)
        } else {
            self.numbering
                .numbers
                .get(&(resource, raw))
                .copied()
                .ok_or_else(|| {
                    AbiError(format!(
                        "handle {raw} of resource #{resource} was not given by a recorded call"
                    ))
                })
        }
    }

    fn lower(&mut self, _: u32, _: bool, kept: u32, _: Option<u32>) -> Result<u32, AbiError> {
        Ok(kept)
    }
}

/// Replaying: the forwarder's handles stand for the trace's numbers, plus one (a
/// representation of 0 is never handed out).
struct Replaying {
    dest: u32,
    patches: Patches,
}

impl Handles for Replaying {
    fn lift(&mut self, _: u32, _: bool, raw: u32, _: Option<u32>) -> Result<u32, AbiError> {
        raw.checked_sub(1)
            .ok_or_else(|| AbiError("a handle of representation 0".into()))
    }

    fn lower(
        &mut self,
        resource: u32,
        _: bool,
        kept: u32,
        at: Option<u32>,
    ) -> Result<u32, AbiError> {
        // A flat result lies at `dest`, where the forwarder reads it from.
        self.patches.push((at.unwrap_or(self.dest), resource));
        Ok(kept + 1)
    }
}

/// A WASI 0.3 HTTP service's requests arrive through this function (see `composer/src/serve.rs`).
const SERVE_TAKE: &str = "wasm-rr:serve/requests.take";

/// Takes in the table of generic functions: the recorder's configuration's, or the trace
/// header's when replaying.
pub fn set_functions(functions: &[Function]) {
    let layouts = functions
        .iter()
        .map(|f| {
            let params: Vec<Ty> = f.params.iter().map(|(_, t)| t.layout()).collect();
            let flat: usize = params.iter().map(Ty::flat_count).sum();
            Layout {
                params_in_memory: (flat > MAX_FLAT_PARAMS).then(|| Ty::Record(params.clone())),
                params,
                result: f.result.as_ref().map(|t| t.layout()),
                finished: f.finished_type().map(|t| t.layout()),
                stream: f.stream.as_ref().map(|t| t.layout()),
                name: f.qualified_name(),
            }
        })
        .collect();
    LAYOUTS.set(layouts);
}

thread_local! {
    /// The buffer of the last [`CallMemory`], and how many of its first bytes are zeros.
    static SPARE: Cell<(Vec<u8>, usize)> = const { Cell::new((Vec::new(), 0)) };
}

/// The forwarder's memory, as far as a call's values go: zeros below the heap's start, then
/// its heap. The zeros (about 1 MiB: the streams' 64 slots lie below the heap) are written once
/// and kept between calls, not written again for each (which cost 8 µs a call).
struct CallMemory(Vec<u8>, usize);

impl std::ops::Deref for CallMemory {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for CallMemory {
    fn drop(&mut self) {
        SPARE.set((std::mem::take(&mut self.0), self.1));
    }
}

/// The forwarder's memory for a call whose heap, from address `base` on, is `heap`.
fn memory(base: u32, heap: Vec<u8>) -> CallMemory {
    let (mut mem, zeros) = SPARE.take();
    let base = base as usize;
    if zeros >= base {
        mem.truncate(base);
    } else {
        mem.clear();
        mem.resize(base, 0);
    }
    mem.extend_from_slice(&heap);
    CallMemory(mem, base)
}

fn damaged(function: u32, e: impl std::fmt::Display) -> ! {
    rr::fatal(&format!(
        "internal error: the values of generic function #{function} do not read: {e}"
    ))
}

/// The arguments of a call of `function`, from their flat bits `args` and `mem`, handles as
/// `h` says.
fn lift_args(
    layout: &Layout,
    function: u32,
    args: &[u64],
    mem: &[u8],
    h: &mut dyn Handles,
) -> Vec<Val> {
    if let Some(all) = &layout.params_in_memory {
        let at = args.first().copied().unwrap_or_default() as u32;
        match abi::load_with(all, mem, at, h) {
            Ok(Val::Record(vals)) => vals,
            Ok(other) => damaged(function, format!("{other:?}")),
            Err(e) => damaged(function, e),
        }
    } else {
        let mut bits = args.iter().copied();
        layout
            .params
            .iter()
            .map(|t| {
                abi::lift_flat_with(t, &mut bits, mem, h).unwrap_or_else(|e| damaged(function, e))
            })
            .collect()
    }
}

/// `f` of the layout of `function`.
fn with_layout<R>(function: u32, f: impl FnOnce(&Layout) -> R) -> R {
    rr::start();
    LAYOUTS.with_borrow(|layouts| match layouts.get(function as usize) {
        Some(layout) => f(layout),
        None => rr::fatal(&format!(
            "internal error: generic function #{function} is not in the table of {} functions",
            layouts.len()
        )),
    })
}

/// The forwarder's memory from address `base` on, being written: the block the results are
/// laid out in, with a bump allocator after them.
struct Window {
    base: u32,
    bytes: Vec<u8>,
}

impl Memory for Window {
    fn bytes(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    fn base(&self) -> u32 {
        self.base
    }

    fn alloc(&mut self, size: u32, align: u32) -> u32 {
        let end = self.base + self.bytes.len() as u32;
        let ptr = end.div_ceil(align) * align;
        self.bytes.resize((ptr + size - self.base) as usize, 0);
        ptr
    }
}

/// The result of a call of `function` (see [`Layout::result`]), from its flat bits `results`
/// (a return area's address, when it is returned through memory) and `mem`.
fn lift_result(
    layout: &Layout,
    function: u32,
    results: &[u64],
    mem: &[u8],
    h: &mut dyn Handles,
) -> Option<Val> {
    layout.result.as_ref().map(|t| {
        let read = if t.flat_count() > 1 {
            let at = results.first().copied().unwrap_or_default() as u32;
            abi::load_with(t, mem, at, h)
        } else {
            abi::lift_flat_with(t, &mut results.iter().copied(), mem, h)
        };
        read.unwrap_or_else(|e| damaged(function, e))
    })
}

/// Recording: the arguments and results of an answered call of `function` (flat bits, their
/// values in `mem`), the host's handles numbered, and where the results hold new handles.
fn lift_call(
    function: u32,
    args: &[u64],
    results: &[u64],
    mem: &[u8],
) -> (Vec<Val>, Option<Val>, Patches) {
    with_layout(function, |layout| {
        HANDLES.with_borrow_mut(|numbering| {
            let mut h = Recording {
                numbering,
                patches: Vec::new(),
                arguments: true,
            };
            let args = lift_args(layout, function, args, mem, &mut h);
            h.arguments = false;
            let result = lift_result(layout, function, results, mem, &mut h);
            (args, result, h.patches)
        })
    })
}

/// Replaying: the recorded result of a call of `function` laid out for address `dest` of the
/// forwarder's memory (see `wasm-rr:rr/generic.replay`), its handles listed in `h`.
fn lay_out(function: u32, result: &Option<Val>, dest: u32, h: &mut Replaying) -> Vec<u8> {
    with_layout(function, |layout| {
        let mut out = Window {
            base: dest,
            bytes: Vec::new(),
        };
        match (&layout.result, result) {
            (None, None) => {}
            (Some(t), Some(v)) if t.flat_count() > 1 => {
                let at = out.alloc(t.size(), t.align());
                abi::store_with(t, v, &mut out, at, h).unwrap_or_else(|e| damaged(function, e));
            }
            (Some(t), Some(v)) => {
                let flat = abi::lower_flat_with(t, v, &mut out, h)
                    .unwrap_or_else(|e| damaged(function, e));
                out.bytes = flat
                    .first()
                    .copied()
                    .unwrap_or_default()
                    .to_le_bytes()
                    .to_vec();
            }
            _ => damaged(function, format!("the recorded result {result:?}")),
        }
        out.bytes
    })
}

/// A result for the forwarder's `task.return` (see `wasm-rr:rr/generic.finished`): the bytes
/// for address `dest` and the flat values' bits.
///
/// Its handles, kept as `kept`, become `kept + plus` (recording the host's handles, which
/// `result` holds, plus 0; replaying the trace's numbers, plus 1), and are listed to be
/// wrapped in handles of the forwarder's resources: by address in the forwarder's memory, or,
/// for one of the flat values, as `FLAT | its index`.
fn for_return(
    function: u32,
    ty: Option<&Ty>,
    result: &Option<Val>,
    dest: u32,
    plus: u32,
) -> (Vec<u8>, Vec<u64>, Patches) {
    let mut out = Window {
        base: dest,
        bytes: Vec::new(),
    };
    let mut h = Fixed {
        plus,
        flat_index: None,
        patches: Vec::new(),
    };
    let flat = match (ty, result) {
        (None, None) => Vec::new(),
        (Some(t), Some(v)) if t.flat_count() > MAX_FLAT_PARAMS => {
            let at = out.alloc(t.size(), t.align());
            abi::store_with(t, v, &mut out, at, &mut h).unwrap_or_else(|e| damaged(function, e));
            vec![u64::from(at)]
        }
        (Some(t), Some(v)) => {
            abi::lower_flat_with(t, v, &mut out, &mut h).unwrap_or_else(|e| damaged(function, e))
        }
        _ => damaged(function, format!("the recorded result {result:?}")),
    };
    (out.bytes, flat, h.patches)
}

/// Marks a patch's place as the index of a flat value (see [`for_return`]).
const FLAT: u32 = 1 << 31;

/// Handles written as `kept + plus`, each listed where it lies: its address, or `FLAT | its
/// index` among flat values.
struct Fixed {
    plus: u32,
    /// The flat value the next handle becomes (see [`Handles::flat_index`]).
    flat_index: Option<usize>,
    patches: Patches,
}

impl Handles for Fixed {
    fn lift(&mut self, _: u32, _: bool, raw: u32, _: Option<u32>) -> Result<u32, AbiError> {
        Ok(raw)
    }

    fn lower(
        &mut self,
        resource: u32,
        _: bool,
        kept: u32,
        at: Option<u32>,
    ) -> Result<u32, AbiError> {
        let flat = self.flat_index.take().map(|i| FLAT | i as u32);
        let place = at
            .or(flat)
            .ok_or_else(|| AbiError("a handle with no place".into()))?;
        self.patches.push((place, resource));
        Ok(kept + self.plus)
    }

    fn flat_index(&mut self, index: usize) {
        self.flat_index = Some(index);
    }
}

/// Replaying: a subtask found the trace's next event (at `index`) not its own. Stops the
/// replay with a divergence when that has gone on for [`MAX_IDLE_POLLS`] polls in a row.
fn idle(index: u64) {
    let (at, times) = IDLE.get();
    let times = if at == index { times + 1 } else { 1 };
    IDLE.set((index, times));
    if times > MAX_IDLE_POLLS {
        let waiting = WAITING.with_borrow(|w| w.values().cloned().collect::<Vec<_>>().join("; "));
        rr::replayer::stuck(&format!("nothing: the app waits for {waiting} to return"));
    }
}

/// What a stream gives the app next (see [`next_items`]).
enum Next<T> {
    /// Not yet.
    Waiting,
    /// These bytes or values.
    Items(Vec<T>),
    /// The stream ends.
    Ended,
}

/// Replaying: what the stream subtask `task` returned gives the app next, at most `max` items
/// (bytes or values): the rest of a chunk handed out in part (kept in `unread`); the end, when
/// the trace's next event is an empty `stream-read` of the task (format 10) or, in a trace of
/// format 9, which marks no end, the subtask's return; the items (`items` takes them out) of
/// the trace's next event when it is the task's chunk (`ours`); otherwise nothing yet.
fn next_items<T, E: Request>(
    task: u32,
    max: u32,
    unread: &'static std::thread::LocalKey<RefCell<BTreeMap<u32, Vec<T>>>>,
    ours: impl FnOnce(&E) -> bool,
    items: impl FnOnce(E) -> Vec<T>,
) -> Next<T> {
    rr::start();
    let max = max.max(1) as usize;
    let give = |mut items: Vec<T>| {
        if items.len() > max {
            let rest = items.split_off(max);
            unread.with_borrow_mut(|u| u.insert(task, rest));
        }
        Next::Items(items)
    };
    if let Some(rest) = unread.with_borrow_mut(|u| u.remove(&task)) {
        return give(rest);
    }
    if rr::replayer::next_is::<StreamRead>(|r| r.task == task && r.data.0.is_empty()).0 {
        IDLE.set((u64::MAX, 0));
        rr::replayer::take_recorded::<StreamRead>();
        return Next::Ended;
    }
    let (chunk, index) = rr::replayer::next_is::<E>(ours);
    if chunk {
        IDLE.set((u64::MAX, 0));
        let items = items(rr::replayer::take_recorded::<E>());
        if items.is_empty() {
            // Not recorded (no read gives nothing); from an edited trace: nothing to give.
            return Next::Waiting;
        }
        return give(items);
    }
    if rr::replayer::next_is::<Finished>(|f| f.task == task).0 {
        return Next::Ended;
    }
    idle(index);
    Next::Waiting
}

/// The next subtask's number.
fn new_task() -> u32 {
    let task = NEXT_TASK.get();
    NEXT_TASK.set(task + 1);
    task
}

/// Replaying: notes that subtask `task`, begun by `call` (shown ending with `suffix`), waits,
/// for a report: `task 0: wasi:clocks/monotonic-clock.wait-for(300000000)`.
fn note_waiting(task: u32, call: impl Request, suffix: &str) {
    let text = call.into_call().to_string();
    let text = text.strip_suffix(suffix).unwrap_or(&text).to_string();
    WAITING.with_borrow_mut(|w| w.insert(task, text));
}

/// Replaying: subtask `task` returns now (or is cancelled): it waits no more.
fn done_waiting(task: u32) {
    IDLE.set((u64::MAX, 0));
    WAITING.with_borrow_mut(|w| w.remove(&task));
}

impl generic::Guest for Interposer {
    fn started(function: u32, args: Vec<u64>, heap_base: u32, heap: Vec<u8>) -> u32 {
        let mem = memory(heap_base, heap);
        let args = with_layout(function, |layout| {
            if rr::REPLAYING {
                let mut h = Replaying {
                    dest: 0,
                    patches: Vec::new(),
                };
                lift_args(layout, function, &args, &mem, &mut h)
            } else {
                HANDLES.with_borrow_mut(|numbering| {
                    let mut h = Recording {
                        numbering,
                        patches: Vec::new(),
                        arguments: true,
                    };
                    lift_args(layout, function, &args, &mem, &mut h)
                })
            }
        });
        let task = new_task();
        let call = Started {
            task,
            function,
            args,
        };
        if rr::REPLAYING {
            note_waiting(task, call.clone(), " started");
        }
        rr::call(call, || ());
        task
    }

    fn finished(
        task: u32,
        function: u32,
        results: u32,
        heap_base: u32,
        heap: Vec<u8>,
        dest: u32,
    ) -> (Vec<u8>, Vec<u64>, Vec<(u32, u32)>) {
        let mem = memory(heap_base, heap);
        // The result as the trace keeps it (the host's new handles numbered), and as the host
        // gave it (its handles), for the forwarder's `task.return`.
        let (result, raw) = with_layout(function, |layout| {
            let Some(t) = layout.finished.as_ref() else {
                return (None, None);
            };
            let kept = HANDLES.with_borrow_mut(|numbering| {
                let mut h = Recording {
                    numbering,
                    patches: Vec::new(),
                    arguments: false,
                };
                abi::load_with(t, &mem, results, &mut h).unwrap_or_else(|e| damaged(function, e))
            });
            let raw = abi::load(t, &mem, results).unwrap_or_else(|e| damaged(function, e));
            (Some(kept), Some(raw))
        });
        rr::call(Finished { task, function }, || result);
        with_layout(function, |layout| {
            for_return(function, layout.finished.as_ref(), &raw, dest, 0)
        })
    }

    fn cancelled(task: u32, function: u32) {
        rr::call(Cancelled { task, function }, || ());
    }

    fn ready(task: u32, function: u32, dest: u32, cancelling: bool) -> generic::Readiness {
        rr::start();
        let (now, index) = rr::replayer::next_is::<Finished>(|f| f.task == task);
        if !now && cancelling && rr::replayer::next_is::<Cancelled>(|c| c.task == task).0 {
            done_waiting(task);
            rr::call(Cancelled { task, function }, || ());
            return generic::Readiness::Cancelled;
        }
        if !now {
            idle(index);
            return generic::Readiness::Waiting;
        }
        done_waiting(task);
        let result = rr::call(Finished { task, function }, || {
            rr::fatal("internal error: a recording component asked for a replayed answer")
        });
        generic::Readiness::Returned(with_layout(function, |layout| {
            for_return(function, layout.finished.as_ref(), &result, dest, 1)
        }))
    }

    fn stream_wrote(task: u32, data: Vec<u8>) {
        rr::call(
            StreamWrote {
                task,
                data: wasm_rr_trace::Bytes(data),
            },
            || (),
        );
    }

    fn stream_read(task: u32, data: Vec<u8>) {
        rr::call(
            StreamRead {
                task,
                data: wasm_rr_trace::Bytes(data),
            },
            || (),
        );
    }

    fn next_read(task: u32, max: u32) -> generic::Chunk {
        let ours = |r: &StreamRead| r.task == task;
        match next_items(task, max, &UNREAD, ours, |r| r.data.0) {
            Next::Items(bytes) => generic::Chunk::Data(bytes),
            Next::Ended => generic::Chunk::Ended,
            Next::Waiting => generic::Chunk::Waiting,
        }
    }

    fn stream_read_values(
        task: u32,
        function: u32,
        values: u32,
        count: u32,
        heap_base: u32,
        heap: Vec<u8>,
    ) -> Vec<(u32, u32)> {
        let mem = memory(heap_base, heap);
        let (values, patches) = with_layout(function, |layout| {
            let Some(t) = &layout.stream else {
                damaged(function, "it returns no stream of values");
            };
            let list = Ty::List(Box::new(t.clone()));
            let bits = [u64::from(values), u64::from(count)];
            HANDLES.with_borrow_mut(|numbering| {
                // The host's handles among them (a listener's connections) get their numbers.
                let mut h = Recording {
                    numbering,
                    patches: Vec::new(),
                    arguments: false,
                };
                match abi::lift_flat_with(&list, &mut bits.into_iter(), &mem, &mut h) {
                    Ok(Val::List(values)) => (values, h.patches),
                    Ok(other) => damaged(function, format!("{other:?}")),
                    Err(e) => damaged(function, e),
                }
            })
        });
        rr::call(
            StreamValues {
                task,
                function,
                values,
            },
            || (),
        );
        patches
    }

    fn too_many_streams(function: u32) {
        let name = with_layout(function, |layout| layout.name.clone());
        rr::flush();
        rr::fatal(&format!(
            "the app called {name} while 64 streams were open: wasm-rr records at most 64 WASI 0.3 streams open at once"
        ))
    }

    fn next_values(task: u32, function: u32, max: u32, dest: u32) -> generic::ValuesChunk {
        let ours = |r: &StreamValues| r.task == task;
        let values = match next_items(task, max, &UNREAD_VALUES, ours, |r| r.values) {
            Next::Items(values) => values,
            Next::Ended => return generic::ValuesChunk::Ended,
            Next::Waiting => return generic::ValuesChunk::Waiting,
        };
        let count = values.len() as u32;
        let mut h = Replaying {
            dest,
            patches: Vec::new(),
        };
        let bytes = with_layout(function, |layout| {
            let Some(t) = &layout.stream else {
                damaged(function, "it returns no stream of values");
            };
            let mut out = Window {
                base: dest,
                bytes: Vec::new(),
            };
            let at = out.alloc(t.size() * count, t.align());
            for (i, v) in values.iter().enumerate() {
                abi::store_with(t, v, &mut out, at + i as u32 * t.size(), &mut h)
                    .unwrap_or_else(|e| damaged(function, e));
            }
            out.bytes
        });
        generic::ValuesChunk::Values((bytes, count, h.patches))
    }

    fn settled(task: u32, function: u32, dest: u32) -> Option<(Vec<u8>, Vec<(u32, u32)>)> {
        rr::start();
        let (now, index) = rr::replayer::next_is::<Finished>(|f| f.task == task);
        if !now {
            idle(index);
            return None;
        }
        done_waiting(task);
        let result = rr::call(Finished { task, function }, || {
            rr::fatal("internal error: a recording component asked for a replayed answer")
        });
        let mut h = Replaying {
            dest,
            patches: Vec::new(),
        };
        let bytes = with_layout(function, |layout| {
            let mut out = Window {
                base: dest,
                bytes: Vec::new(),
            };
            match (&layout.finished, &result) {
                (None, None) => {}
                (Some(t), Some(v)) => {
                    let at = out.alloc(t.size(), t.align());
                    abi::store_with(t, v, &mut out, at, &mut h)
                        .unwrap_or_else(|e| damaged(function, e));
                }
                _ => damaged(function, format!("the recorded result {result:?}")),
            }
            out.bytes
        });
        Some((bytes, h.patches))
    }

    fn future_read(
        task: u32,
        function: u32,
        value: u32,
        heap_base: u32,
        heap: Vec<u8>,
    ) -> Vec<(u32, u32)> {
        let mem = memory(heap_base, heap);
        let (result, patches) = with_layout(function, |layout| {
            HANDLES.with_borrow_mut(|numbering| {
                let mut h = Recording {
                    numbering,
                    patches: Vec::new(),
                    arguments: false,
                };
                let result = layout.finished.as_ref().map(|t| {
                    abi::load_with(t, &mem, value, &mut h).unwrap_or_else(|e| damaged(function, e))
                });
                (result, h.patches)
            })
        });
        rr::call(Finished { task, function }, || result);
        patches
    }

    fn opened(
        function: u32,
        args: Vec<u64>,
        results: Vec<u64>,
        heap_base: u32,
        heap: Vec<u8>,
    ) -> (u32, Vec<(u32, u32)>) {
        let mem = memory(heap_base, heap);
        let (args, result, patches) = lift_call(function, &args, &results, &mem);
        let task = new_task();
        rr::call(
            Opened {
                task,
                function,
                args,
            },
            || result,
        );
        (task, patches)
    }

    fn reopened(
        function: u32,
        args: Vec<u64>,
        heap_base: u32,
        heap: Vec<u8>,
        dest: u32,
    ) -> (u32, Vec<u8>, Vec<(u32, u32)>) {
        let mem = memory(heap_base, heap);
        let mut h = Replaying {
            dest,
            patches: Vec::new(),
        };
        let args = with_layout(function, |layout| {
            lift_args(layout, function, &args, &mem, &mut h)
        });
        let task = new_task();
        let call = Opened {
            task,
            function,
            args,
        };
        note_waiting(task, call.clone(), " opened");
        let result = rr::call(call, || {
            rr::fatal("internal error: a recording component asked for a replayed answer")
        });
        let bytes = lay_out(function, &result, dest, &mut h);
        (task, bytes, h.patches)
    }

    fn called(
        function: u32,
        args: Vec<u64>,
        results: Vec<u64>,
        heap_base: u32,
        heap: Vec<u8>,
    ) -> Vec<(u32, u32)> {
        let mem = memory(heap_base, heap);
        let (args, result, patches) = lift_call(function, &args, &results, &mem);
        rr::call(Called { function, args }, || result);
        patches
    }

    fn replay(
        function: u32,
        args: Vec<u64>,
        heap_base: u32,
        heap: Vec<u8>,
        dest: u32,
    ) -> (Vec<u8>, Vec<(u32, u32)>) {
        let mem = memory(heap_base, heap);
        let mut h = Replaying {
            dest,
            patches: Vec::new(),
        };
        let args = with_layout(function, |layout| {
            lift_args(layout, function, &args, &mem, &mut h)
        });
        let result = rr::call(Called { function, args }, || {
            rr::fatal("internal error: a recording component asked for a replayed answer")
        });
        let bytes = lay_out(function, &result, dest, &mut h);
        (bytes, h.patches)
    }

    /// Recording only: a replaying forwarder does not report drops, and the replayer skips
    /// them in the trace (a garbage-collected app may drop its handles at other times).
    fn dropped(resource: u32, rep: u32) {
        let known = HANDLES.with_borrow_mut(|n| n.numbers.remove(&(resource, rep)));
        let handle = known.unwrap_or_else(|| {
            rr::fatal(&format!(
                "internal error: handle {rep} of resource #{resource} was not given by a recorded call"
            ))
        });
        rr::call(Dropped { resource, handle }, || ());
    }

    /// Recording a library component: the host's call of an export, logged (and written out)
    /// before the app runs it, so that a call that traps is in the trace.
    fn invoked(function: u32, args: Vec<u64>, heap_base: u32, heap: Vec<u8>) {
        let mem = memory(heap_base, heap);
        let args = with_layout(function, |layout| {
            lift_args(layout, function, &args, &mem, &mut abi::RawHandles)
        });
        rr::call(Invoked { function, args }, || ());
        rr::flush();
    }

    /// The export's results: logged (recording), or checked against the trace and printed
    /// with the call (replaying).
    fn returned(function: u32, results: Vec<u64>, heap_base: u32, heap: Vec<u8>) {
        let mem = memory(heap_base, heap);
        let result = with_layout(function, |layout| {
            lift_result(layout, function, &results, &mem, &mut abi::RawHandles)
        });
        let text = rr::REPLAYING.then(|| {
            let args = INVOKED
                .take()
                .filter(|c| c.function == function)
                .map(|c| c.args)
                .unwrap_or_default();
            wasm_rr_trace::generic::export_text(function, &args, &result)
        });
        rr::call(Returned { function, result }, || ());
        rr::flush();
        if let Some(text) = text {
            // The replay driver's account of each export call, on the host's stdout.
            rr::write_out(
                &crate::wasi::cli::stdout::get_stdout(),
                format!("{text}\n").as_bytes(),
            );
        }
    }

    /// Replaying a WASI 0.3 HTTP service: 1 when the trace's next event is a request's
    /// arrival, -1 at its end, otherwise 0.
    fn serve_next() -> i32 {
        rr::start();
        let take = LAYOUTS.with_borrow(|layouts| {
            layouts
                .iter()
                .position(|l| l.name == SERVE_TAKE)
                .map(|i| i as u32)
        });
        let Some(take) = take else {
            rr::fatal("internal error: a service's trace lists no `wasm-rr:serve/requests.take`")
        };
        // (A request may come before completions the app has not been given yet, as any call
        // of the app may.)
        if rr::replayer::next_call_is::<Called>(|c| c.function == take) {
            1
        } else if rr::replayer::at_end() {
            -1
        } else {
            0
        }
    }

    /// Replaying a service's history up to request K, at its end: request K's line on the
    /// host's stderr and its response body on its stdout.
    fn serve_answered(line: String, body: Vec<u8>) {
        rr::say(&format!("wasm-rr: {line}\n"));
        rr::write_out(&crate::wasi::cli::stdout::get_stdout(), &body);
    }

    /// Replaying a library component: the trace's next export call, its arguments laid out
    /// for address `dest` of the driver's memory.
    fn next_invocation(dest: u32) -> (Vec<u8>, Vec<u64>, i32) {
        rr::start();
        let Some(call) = rr::replayer::next_invocation() else {
            return (Vec::new(), Vec::new(), -1);
        };
        let function = call.function;
        let (bytes, flat) = with_layout(function, |layout| {
            let mut out = Window {
                base: dest,
                bytes: Vec::new(),
            };
            let flat = if let Some(all) = &layout.params_in_memory {
                let at = out.alloc(all.size(), all.align());
                abi::store(all, &Val::Record(call.args.clone()), &mut out, at)
                    .unwrap_or_else(|e| damaged(function, e));
                vec![u64::from(at)]
            } else {
                let mut flat = Vec::new();
                for (t, v) in layout.params.iter().zip(&call.args) {
                    flat.extend(
                        abi::lower_flat(t, v, &mut out).unwrap_or_else(|e| damaged(function, e)),
                    );
                }
                flat
            };
            (out.bytes, flat)
        });
        INVOKED.set(Some(call));
        (bytes, flat, function as i32)
    }
}
