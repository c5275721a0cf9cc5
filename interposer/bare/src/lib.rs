//! The `no_std` runtime of wasm-rr's tiny components (the run wrapper and the replay stubs).
//!
//! Linking this crate into a `wasm32` component gives it a global allocator that never
//! allocates (their worlds pass no non-empty lists or strings) and a panic handler that traps.
//! Without std, such a component imports nothing from the host but what its world says.

#![no_std]

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
