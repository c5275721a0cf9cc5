//! The interposer components, compiled from `interposer/` by `build.rs` and embedded here.

use wasm_rr_composer::Interposers;

/// The recording interposer (`interposer/`, default features).
pub const RECORDER: &[u8] = include_bytes!(env!("WASM_RR_RECORDER"));
/// The replaying interposer (`interposer/`, feature `replay`).
pub const REPLAYER: &[u8] = include_bytes!(env!("WASM_RR_REPLAYER"));
/// The recording interposer for guests that import `wasi:http` (feature `http`).
pub const RECORDER_HTTP: &[u8] = include_bytes!(env!("WASM_RR_RECORDER_HTTP"));
/// The replaying interposer for guests that import `wasi:http` (features `replay`, `http`).
pub const REPLAYER_HTTP: &[u8] = include_bytes!(env!("WASM_RR_REPLAYER_HTTP"));
/// The mailbox between the handler wrapper and the recorder (`interposer/http-glue`).
pub const HTTP_MAILBOX: &[u8] = include_bytes!(env!("WASM_RR_HTTP_MAILBOX"));
/// The recording component's `incoming-handler` (`interposer/http-glue`).
pub const HANDLER_WRAPPER: &[u8] = include_bytes!(env!("WASM_RR_HANDLER_WRAPPER"));
/// The request-replaying component's `wasi:cli/run` (`interposer/http-glue`).
pub const SERVE_DRIVER: &[u8] = include_bytes!(env!("WASM_RR_SERVE_DRIVER"));
/// The run wrapper (`interposer/run-wrapper/`).
pub const RUN_WRAPPER: &[u8] = include_bytes!(env!("WASM_RR_RUN_WRAPPER"));

/// The replay stubs (`interposer/replay-stubs/`).
pub const REPLAY_STUBS: &[u8] = include_bytes!(env!("WASM_RR_REPLAY_STUBS"));

/// An identity of these builds (a hash of their bytes, computed at build time).
pub const ID: &str = env!("WASM_RR_COMPONENTS_ID");

/// All of them, for the composer.
pub fn interposers() -> Interposers<'static> {
    Interposers {
        recorder: RECORDER,
        replayer: REPLAYER,
        recorder_http: RECORDER_HTTP,
        replayer_http: REPLAYER_HTTP,
        http_mailbox: HTTP_MAILBOX,
        handler_wrapper: HANDLER_WRAPPER,
        serve_driver: SERVE_DRIVER,
        run_wrapper: RUN_WRAPPER,
        replay_stubs: REPLAY_STUBS,
    }
}
