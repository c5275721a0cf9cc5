//! The run wrapper: a tiny component placed between the guest's `wasi:cli/run` export and the
//! host. It tells the interposer (`wasm-rr:rr/control`) when the run starts and when it returns,
//! so that the recorder opens the trace before the guest runs and flushes it when the guest
//! returns without calling `exit`.
//!
//! It is `no_std` so that it imports nothing but those two interfaces.

#![cfg_attr(target_arch = "wasm32", no_std)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-rr:interposer/run-wrapper",
    generate_all,
});

use wasm_rr::rr::control;

struct Wrapper;

impl exports::wasi::cli::run::Guest for Wrapper {
    fn run() -> Result<(), ()> {
        control::run_starting();
        let status = wasi::cli::run::run();
        control::run_returned(status)
    }
}

export!(Wrapper);

/// This world passes no lists or strings, so nothing is ever allocated.
#[cfg(target_arch = "wasm32")]
struct NoAllocator;

#[cfg(target_arch = "wasm32")]
unsafe impl core::alloc::GlobalAlloc for NoAllocator {
    unsafe fn alloc(&self, _layout: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: core::alloc::Layout) {}
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: NoAllocator = NoAllocator;

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
