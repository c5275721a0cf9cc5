//! What `wasm-rr wrap` reads of an app before composing it: its world (imports and exports),
//! whether it is an HTTP handler and whether it uses the async ABI. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, exports)) = wasm_rr_composer::component_world(data) {
        let _ = wasm_rr_composer::is_http_handler(&exports);
    }
    let _ = wasm_rr_composer::component_world_unchecked(data);
    let _ = wasm_rr_composer::uses_async_abi(data);
    let _ = wasm_rr_composer::component_sha256(data);
});
