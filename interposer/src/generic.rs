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
use std::cell::RefCell;
use wasm_rr_trace::abi::{self, Memory, Ty, Val};
use wasm_rr_trace::generic::{Called, Function};

/// The canonical ABI's most flat parameters: more are passed in memory, through a pointer.
const MAX_FLAT_PARAMS: usize = 16;

/// A function's types, as their layouts.
struct Layout {
    params: Vec<Ty>,
    result: Option<Ty>,
}

thread_local! {
    static LAYOUTS: RefCell<Vec<Layout>> = const { RefCell::new(Vec::new()) };
}

/// Takes in the table of generic functions: the recorder's configuration's, or the trace
/// header's when replaying.
pub fn set_functions(functions: &[Function]) {
    let layouts = functions
        .iter()
        .map(|f| Layout {
            params: f.params.iter().map(|(_, t)| t.layout()).collect(),
            result: f.result.as_ref().map(|t| t.layout()),
        })
        .collect();
    LAYOUTS.set(layouts);
}

/// The forwarder's memory, as far as the call's values go: its heap from `base` on.
fn memory(base: u32, heap: Vec<u8>) -> Vec<u8> {
    let mut mem = vec![0; base as usize];
    mem.extend(heap);
    mem
}

fn damaged(function: u32, e: impl std::fmt::Display) -> ! {
    rr::fatal(&format!(
        "internal error: the values of generic function #{function} do not read: {e}"
    ))
}

/// The arguments of a call of `function`, from their flat bits `args` and `mem`.
fn lift_args(layout: &Layout, function: u32, args: &[u64], mem: &[u8]) -> Vec<Val> {
    let flat: usize = layout.params.iter().map(Ty::flat_count).sum();
    if flat > MAX_FLAT_PARAMS {
        let all = Ty::Record(layout.params.clone());
        let at = args.first().copied().unwrap_or_default() as u32;
        match abi::load(&all, mem, at) {
            Ok(Val::Record(vals)) => vals,
            Ok(other) => damaged(function, format!("{other:?}")),
            Err(e) => damaged(function, e),
        }
    } else {
        let mut bits = args.iter().copied();
        layout
            .params
            .iter()
            .map(|t| abi::lift_flat(t, &mut bits, mem).unwrap_or_else(|e| damaged(function, e)))
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

impl generic::Guest for Interposer {
    fn called(function: u32, args: Vec<u64>, results: Vec<u64>, heap_base: u32, heap: Vec<u8>) {
        let mem = memory(heap_base, heap);
        let (args, result) = with_layout(function, |layout| {
            let args = lift_args(layout, function, &args, &mem);
            let result = layout.result.as_ref().map(|t| {
                let read = if t.flat_count() > 1 {
                    abi::load(t, &mem, results.first().copied().unwrap_or_default() as u32)
                } else {
                    abi::lift_flat(t, &mut results.iter().copied(), &mem)
                };
                read.unwrap_or_else(|e| damaged(function, e))
            });
            (args, result)
        });
        rr::call(Called { function, args }, || result);
    }

    fn replay(function: u32, args: Vec<u64>, heap_base: u32, heap: Vec<u8>, dest: u32) -> Vec<u8> {
        let mem = memory(heap_base, heap);
        let args = with_layout(function, |layout| lift_args(layout, function, &args, &mem));
        let result = rr::call(Called { function, args }, || {
            rr::fatal("internal error: a recording component asked for a replayed answer")
        });
        with_layout(function, |layout| {
            let mut out = Window {
                base: dest,
                bytes: Vec::new(),
            };
            match (&layout.result, &result) {
                (None, None) => {}
                (Some(t), Some(v)) if t.flat_count() > 1 => {
                    let at = out.alloc(t.size(), t.align());
                    abi::store(t, v, &mut out, at).unwrap_or_else(|e| damaged(function, e));
                }
                (Some(t), Some(v)) => {
                    let flat =
                        abi::lower_flat(t, v, &mut out).unwrap_or_else(|e| damaged(function, e));
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
}
