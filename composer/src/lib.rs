//! Composes the wasm-rr interposer in front of a guest component, with `wac-graph`.
//!
//! The composition, for a guest that exports `wasi:cli/run`:
//!
//! ```text
//!  host ──WASI 0.2.12──▶ interposer ──every guest WASI import──▶ guest ──run──▶ run wrapper ──run──▶ host
//!                          ▲    └──────────── wasm-rr:rr/control ─────────────────▲
//!                 blob ────┘ wasm-rr:rr/embedded (record: RecordConfig, replay: the trace)
//! ```
//!
//! When replaying, two stubs components serve the replayer's imports that the host must not:
//! the replay stubs answer its own runtime's (`wasi:cli/environment`, `stdin`, terminals) with
//! inert answers, and type stubs made at wrap time ([`type_stubs`]) serve the host interfaces
//! only the recorder calls (`wasi:filesystem`, `wasi:sockets`, `wasi:http`), which the replayer
//! imports for their resource types only, so that the self-replaying component imports only
//! [`REPLAY_HOST_IMPORTS`].
//!
//! [`compose()`] builds a composition in named steps for a [`Mode`]: record, replay with the
//! trace embedded, or replay with the trace served by the `wasm-rr` host.
//!
//! Every other export of the guest is passed through unchanged. Each guest import is plugged
//! by hand and checked (`wac plug` would silently skip a mismatch), and the composed component's
//! imports are checked once more after encoding: a wrapped component never has a hole through
//! which the guest reaches the host unrecorded.
//!
//! Errors are [`WrapError`]s; their messages name the offending interface.

#![warn(missing_docs)]

use std::collections::BTreeSet;
use wac_graph::CompositionGraph;
use wac_graph::types::Package;
use wasm_rr_trace::{Reader, RecordConfig, RecordPolicy, Source, TraceError, TraceWriter};

mod blob;
mod compose;
mod generic;
mod preopens;
mod run;
mod serve;
mod stubs;

pub use blob::{blob_provider, blob_provider_for, fill_blob};
pub use compose::{Mode, compose};
pub use generic::{
    Forwarding, abi_type, componentize, driver, export_forwarder, export_functions, forwarder,
    generic_functions, wit_type,
};
pub use serve::{Answer, SERVE_REQUESTS, service_version};
pub use stubs::{TypeImport, type_stubs};

/// The interposer builds the composer plugs in (the `wasm-rr` binary embeds them).
#[derive(Clone, Copy)]
pub struct Interposers<'a> {
    /// The recording interposer component.
    pub recorder: &'a [u8],
    /// The replaying interposer component.
    pub replayer: &'a [u8],
    /// The recording interposer for guests that import `wasi:http` (it imports `wasi:http`
    /// from the host, which `wasmtime run` links only with `-S http`).
    pub recorder_http: &'a [u8],
    /// The replaying interposer for guests that import `wasi:http`.
    pub replayer_http: &'a [u8],
    /// Holds the host's incoming request for the recorder (plugged into every recording
    /// component of a guest that imports `wasi:http`).
    pub http_mailbox: &'a [u8],
    /// The `wasi:http/incoming-handler` export of a recording component.
    pub handler_wrapper: &'a [u8],
    /// The `wasi:cli/run` export of a component that replays a request trace.
    pub serve_driver: &'a [u8],
    /// The run wrapper component.
    pub run_wrapper: &'a [u8],
    /// The replay stubs component (inert exports for the replayer's own runtime imports).
    pub replay_stubs: &'a [u8],
}

/// The only host imports a self-replaying component may have (at version 0.2.12).
pub const REPLAY_HOST_IMPORTS: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/exit",
];

/// Why a component cannot be wrapped.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    /// The input is a core module.
    #[error(
        "it is a core WebAssembly module, not a component (build it for wasm32-wasip2, or convert it with `wasm-tools component new`)"
    )]
    CoreModule,
    /// The input is not WebAssembly at all, or is malformed.
    #[error("it is not a valid WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component exports neither `wasi:cli/run` nor `wasi:http/incoming-handler`, nor any
    /// function a library component's recording could call.
    #[error(
        "it exports no function: neither `wasi:cli/run`, `wasi:http/incoming-handler` nor a library's functions, so nothing could run it"
    )]
    NotACommand,
    /// A library component exports something wasm-rr cannot record.
    #[error("it exports `{export}`, which this version of wasm-rr cannot record: {reason}")]
    UnsupportedExport {
        /// The export's full name.
        export: String,
        /// Why it is refused.
        reason: String,
    },
    /// The guest imports something wasm-rr cannot record.
    #[error("it imports `{import}`, which this version of wasm-rr cannot record: {reason}")]
    Unsupported {
        /// The import's full name.
        import: String,
        /// Why it is refused.
        reason: String,
    },
    /// An interface asked for is not among the component's imports.
    #[error("it does not import `{0}`")]
    NotImported(String),
    /// A component given to plug into the recording exports none of the interfaces the app
    /// imports through the generic path.
    #[error(
        "the component to plug in (number {index}) exports none of the interfaces the app imports outside WASI's core ({wanted})"
    )]
    UselessPlug {
        /// Its place among the components given, from 1.
        index: usize,
        /// The interfaces it could have provided, comma-separated (or "none").
        wanted: String,
    },
    /// An intercepted import does not accept the interposer's export.
    #[error(
        "it imports `{import}`, but the interposer's `{export}` cannot be plugged into it: {reason}"
    )]
    PlugFailed {
        /// The guest's import.
        import: String,
        /// The interposer export tried.
        export: String,
        /// The type checker's complaint.
        reason: String,
    },
    /// After composition, a guest import still reaches the host.
    #[error(
        "the composed component would import `{0}` straight from the host, unrecorded; refusing to write it"
    )]
    Hole(String),
    /// The trace's component hash is not the app's.
    #[error(
        "the trace was recorded from a different component (sha256 {trace}), not this one (sha256 {app})"
    )]
    WrongComponent {
        /// sha256 in the trace header.
        trace: String,
        /// sha256 of the app given.
        app: String,
    },
    /// The trace to embed has no valid header.
    #[error("the trace is unusable: {0}")]
    Trace(TraceError),
    /// wac-graph or wit-component failed (a bug in wasm-rr or a very unusual component).
    #[error("composition failed: {0}")]
    Compose(String),
}

/// Splits `wasi:io/streams@0.2.3` into `("wasi:io/streams", Some("0.2.3"))`.
pub fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('@') {
        Some((base, v)) => (base, Some(v)),
        None => (name, None),
    }
}

/// The import and export names of a component (top level only).
///
/// Errors: [`WrapError::CoreModule`], [`WrapError::NotAComponent`].
pub fn component_world(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), WrapError> {
    check_component(bytes)?;
    component_world_unchecked(bytes)
}

/// [`component_world`] without validating the component first: for components wasm-rr built
/// itself, which were validated when they were built, and for guests whose validation happens
/// anyway (an invalid one gives [`WrapError::NotAComponent`], or names it did declare).
pub fn component_world_unchecked(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), WrapError> {
    let mut graph = CompositionGraph::new();
    let pkg = Package::from_bytes("wasm-rr:inspect", None, bytes.to_vec(), graph.types_mut())
        .map_err(|e| WrapError::NotAComponent(format!("{e:#}")))?;
    let world = &graph.types()[pkg.ty()];
    Ok((
        world.imports.keys().cloned().collect(),
        world.exports.keys().cloned().collect(),
    ))
}

/// Whether `bytes` is a component `wasm-rr wrap` made (a recording or self-replaying one):
/// one of the components nested in it imports an interface of `wasm-rr:rr`, as the interposer
/// does. Not a check of validity: anything that does not parse is no wrapped component.
pub fn is_wrapped(bytes: &[u8]) -> bool {
    use wasmparser::Payload;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return false;
        };
        if let Payload::ComponentImportSection(imports) = payload
            && imports
                .into_iter()
                .flatten()
                .any(|i| i.name.name.starts_with("wasm-rr:rr/"))
        {
            return true;
        }
    }
    false
}

/// Whether a component uses the component model's async ABI (async lifts or lowers, streams,
/// futures, `waitable-set` or `subtask` builtins): such a component needs wasmtime's
/// concurrency support, which `wasmtime run -S p3=n -W concurrency-support=n` turns off.
pub fn uses_async_abi(bytes: &[u8]) -> bool {
    use wasmparser::WasmFeatures as F;
    let without = F::all()
        - (F::CM_ASYNC | F::CM_ASYNC_STACKFUL | F::CM_MORE_ASYNC_BUILTINS | F::CM_THREADING);
    wasmparser::Validator::new_with_features(F::all())
        .validate_all(bytes)
        .is_ok()
        && wasmparser::Validator::new_with_features(without)
            .validate_all(bytes)
            .is_err()
}

/// Validates a component (or reports a core module or non-WebAssembly input).
///
/// Errors: [`WrapError::CoreModule`], [`WrapError::NotAComponent`].
pub fn validate(bytes: &[u8]) -> Result<(), WrapError> {
    check_component(bytes)
}

fn check_component(bytes: &[u8]) -> Result<(), WrapError> {
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(WrapError::CoreModule);
    }
    if !wasmparser::Parser::is_component(bytes) {
        return Err(WrapError::NotAComponent(
            "it does not start with the WebAssembly component header".into(),
        ));
    }
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .map_err(|e| WrapError::NotAComponent(e.to_string()))?;
    Ok(())
}

/// The WASI packages the interposer's hand-written modules record (at 0.2.x); every other
/// interface, and these packages' interfaces at any other version (WASI 0.3's), goes through
/// the generic path.
pub const WASI_CORE: &[&str] = &[
    "wasi:io",
    "wasi:cli",
    "wasi:clocks",
    "wasi:random",
    "wasi:filesystem",
    "wasi:sockets",
    "wasi:http",
];

/// Whether `import` (`wasi:config/store@0.2.0-rc.1`, `wasi:clocks/monotonic-clock@0.3.2`) is
/// recorded by the generic path (from its WIT alone) rather than by one of the interposer's
/// modules: it is an interface outside [`WASI_CORE`], or one of its interfaces at a version
/// other than 0.2.x (WASI 0.3's).
pub fn is_generic(import: &str) -> bool {
    let (base, version) = split_version(import);
    base.contains('/') && (!is_wasi_core(base) || version.is_some_and(|v| !v.starts_with("0.2.")))
}

/// Whether `base` (an interface without its version: `wasi:clocks/monotonic-clock`) belongs
/// to one of the [`WASI_CORE`] packages.
fn is_wasi_core(base: &str) -> bool {
    WASI_CORE
        .iter()
        .any(|p| base.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// Whether `import` is a WASI 0.3 interface (`wasi:clocks/monotonic-clock@0.3.2`): one of the
/// [`WASI_CORE`] packages at 0.3.x, which wasmtime serves by default since release 46 and the
/// generic path records.
pub fn is_wasi_p3(import: &str) -> bool {
    let (base, version) = split_version(import);
    is_wasi_core(base) && version.is_some_and(|v| v.starts_with("0.3."))
}

/// Checks that the interposer serves every import of the guest but those of the generic path
/// ([`is_generic`]): that it exports the same interface (`intercepted`: its exports, with
/// their versions) at a version the guest's is compatible with and not newer than.
///
/// Errors: [`WrapError::Unsupported`] naming the first import that it does not serve.
pub fn check_guest_imports(imports: &[String], intercepted: &[String]) -> Result<(), WrapError> {
    for import in imports.iter().filter(|i| !is_generic(i)) {
        let (base, version) = split_version(import);
        let Some(export) = intercepted.iter().find(|e| split_version(e).0 == base) else {
            let reason = if base.contains('/') {
                "wasm-rr records this package's WASI 0.2 interfaces, and not this one"
            } else {
                "it is imported outside any interface (a function or type of the world itself), which the generic path does not record yet"
            };
            return Err(WrapError::Unsupported {
                import: import.clone(),
                reason: reason.into(),
            });
        };
        let parse = |v: Option<&str>| v.and_then(|v| semver::Version::parse(v).ok());
        let (Some(v), Some(served)) = (parse(version), parse(split_version(export).1)) else {
            return Err(WrapError::Unsupported {
                import: import.clone(),
                reason: "it has no version".into(),
            });
        };
        if !(v.major == served.major && v.minor == served.minor && v <= served) {
            return Err(WrapError::Unsupported {
                import: import.clone(),
                reason: format!(
                    "wasm-rr records WASI {}.{}.x ({}.{}.0 to {served}) only",
                    served.major, served.minor, served.major, served.minor
                ),
            });
        }
    }
    Ok(())
}

/// Whether the guest imports any `wasi:http` interface: then it gets the interposer builds that
/// export `wasi:http` ([`Interposers::recorder_http`], [`Interposers::replayer_http`]).
pub fn imports_http(imports: &[String]) -> bool {
    imports.iter().any(|i| i.starts_with("wasi:http/"))
}

impl<'a> Interposers<'a> {
    /// The interfaces the interposer records (the exports of its fullest build), with their
    /// versions: `wasi:io/streams@0.2.12`, ….
    ///
    /// Errors: [`WrapError::NotAComponent`] when the build is damaged (a bug).
    pub fn intercepted(&self) -> Result<Vec<String>, WrapError> {
        let (_, exports) = component_world_unchecked(self.recorder_http)?;
        Ok(exports
            .into_iter()
            .filter(|e| !e.starts_with("wasm-rr:"))
            .collect())
    }

    /// The guest's imports, checked: every one must be one the interposer records, or one
    /// the generic path does (those are also returned apart; the forwarder checks them); and
    /// its exports.
    fn checked_imports(&self, guest: &[u8]) -> Result<Checked, WrapError> {
        let (imports, exports) = component_world(guest)?;
        check_guest_imports(&imports, &self.intercepted()?)?;
        let mut generic: Vec<String> = imports.iter().filter(|i| is_generic(i)).cloned().collect();
        // A WASI 0.3 HTTP service's requests and responses pass the forwarder too.
        if serve::service_version(&exports).is_some() {
            generic.push(serve::SERVE_REQUESTS.to_string());
        }
        Ok(Checked {
            imports,
            generic,
            exports,
        })
    }

    fn recorder_for(&self, imports: &[String]) -> &'a [u8] {
        if imports_http(imports) {
            self.recorder_http
        } else {
            self.recorder
        }
    }

    fn replayer_for(&self, imports: &[String]) -> &'a [u8] {
        if imports_http(imports) {
            self.replayer_http
        } else {
            self.replayer
        }
    }
}

/// A guest's world, its imports checked ([`Interposers::checked_imports`]).
struct Checked {
    imports: Vec<String>,
    /// The imports of the generic path.
    generic: Vec<String>,
    exports: Vec<String>,
}

/// The guest's imports that go through the generic path.
#[derive(Clone, Debug, Default)]
pub struct Generic {
    /// The interfaces, as the guest imports them (`wasi:config/store@0.2.0-rc.1`).
    pub interfaces: Vec<String>,
    /// Their functions, as the trace header lists them; then, for a library component (see
    /// [`is_library`]), the functions it exports.
    pub functions: Vec<wasm_rr_trace::generic::Function>,
}

impl Generic {
    /// The generic path's `interfaces` of `guest`, with their functions, and those of its
    /// `exports` when it is a library.
    ///
    /// Errors: as [`generic_functions`] and [`export_functions`].
    fn of(guest: &[u8], interfaces: Vec<String>, exports: &[String]) -> Result<Generic, WrapError> {
        let mut functions = if interfaces.is_empty() {
            Vec::new()
        } else {
            generic_functions(guest, &interfaces)?
        };
        if is_library(exports) {
            functions.extend(export_functions(guest)?);
        }
        Ok(Generic {
            interfaces,
            functions,
        })
    }
}

/// Lowercase hex sha256 of a component, as stored in [`wasm_rr_trace::Header`].
pub fn component_sha256(bytes: &[u8]) -> String {
    wasm_rr_trace::sha256_hex(bytes)
}

/// Builds the recording component: the recorder in front of `guest`, configured with the
/// guest's sha256 and imports; with `compress`, the recorder compresses each block of the trace
/// with zstd; `policy` says which runs it records and caps its trace directory. `plugs` are
/// components that provide interfaces of the generic path in place of the host (`wrap --plug`):
/// each is composed in, its exports serving the app's imports of the same interfaces (which
/// are recorded), its own imports left to the host. Returns the composed component's bytes,
/// and what the generic path records of the guest (for `wasm-rr wrap` to list).
///
/// Errors: every [`WrapError`] of the composition; [`WrapError::UselessPlug`] for a plug that
/// provides nothing the app imports generically.
pub fn wrap_record(
    guest: &[u8],
    parts: &Interposers,
    compress: bool,
    policy: RecordPolicy,
    plugs: &[Vec<u8>],
) -> Result<(Vec<u8>, Generic), WrapError> {
    let Checked {
        imports,
        generic,
        exports,
    } = parts.checked_imports(guest)?;
    let generic = Generic::of(guest, generic, &exports)?;
    let recorder = parts.recorder_for(&imports);
    let config = RecordConfig {
        component_sha256: component_sha256(guest),
        guest_imports: imports.into_iter().filter(|i| !is_generic(i)).collect(),
        compress,
        policy,
        generic: generic.functions.clone(),
    };
    let recorder_imports = component_world_unchecked(recorder)?.0;
    let mut allowed: BTreeSet<String> = recorder_imports
        .into_iter()
        .filter(|i| !i.starts_with("wasm-rr:"))
        .collect();
    // The generic path's interfaces come from the host, through the recording forwarder, or
    // from the plugs, whose own imports come from the host.
    allowed.extend(generic.interfaces.iter().cloned());
    for plug in plugs {
        allowed.extend(component_world(plug)?.0);
    }
    let config = config.to_cbor();
    let composed = compose(
        guest,
        recorder,
        parts,
        Mode::Record { config },
        &generic.interfaces,
        plugs,
        &allowed,
    )?;
    Ok((composed, generic))
}

/// Bytes of events per block of the trace embedded in a self-replaying component: the
/// replayer holds one block, decompressed, and its zstd frame at a time.
pub const EMBEDDED_BLOCK_BYTES: usize = 128 * 1024;

/// zstd level of the trace embedded in a self-replaying component.
pub const TRACE_ZSTD_LEVEL: i32 = 3;

/// zstd at [`TRACE_ZSTD_LEVEL`], for [`wasm_rr_trace::BlockWriter`]s.
pub fn zstd_block(data: &[u8]) -> Option<Vec<u8>> {
    zstd::bulk::compress(data, TRACE_ZSTD_LEVEL).ok()
}

/// Rewrites a trace file as it is embedded: the same header and events (in the current format),
/// in blocks of about [`EMBEDDED_BLOCK_BYTES`], each compressed with zstd where that makes it
/// smaller.
/// Reads and writes one event at a time. A torn tail is dropped.
///
/// `trace` is a trace file's bytes, or a [`Source`] that reads it in place.
///
/// Errors: the trace's own ([`TraceError`]).
pub fn pack_trace<S: Source>(trace: S) -> Result<Vec<u8>, TraceError> {
    let (header, mut reader) = Reader::new(trace)?;
    // A trace of an older format is upgraded: its events are written anew.
    let out = Vec::new();
    let mut writer = TraceWriter::new(&header, Some(zstd_block), out)
        .expect("writing into memory")
        .with_block_bytes(EMBEDDED_BLOCK_BYTES);
    while let Some(e) = reader.next_event()? {
        writer.push(&e).expect("writing into memory");
    }
    Ok(writer.finish().expect("writing into memory").0)
}

/// Checks that `trace` (a trace file) was recorded from `guest`.
///
/// Errors: [`WrapError::Trace`] for a bad header, [`WrapError::WrongComponent`].
fn check_trace<S: Source>(guest: &[u8], trace: S) -> Result<(), WrapError> {
    let (header, _) = Reader::new(trace).map_err(WrapError::Trace)?;
    check_header(guest, &header)
}

/// Checks that a trace with `header` was recorded from `guest`.
///
/// Errors: [`WrapError::WrongComponent`].
fn check_header(guest: &[u8], header: &wasm_rr_trace::Header) -> Result<(), WrapError> {
    let app = component_sha256(guest);
    if header.component_sha256 != app {
        return Err(WrapError::WrongComponent {
            trace: header.component_sha256.clone(),
            app,
        });
    }
    Ok(())
}

/// Builds the self-replaying component: the replayer, with `trace` embedded (rewritten by
/// [`pack_trace`]), in front of `guest`. It imports only [`REPLAY_HOST_IMPORTS`].
///
/// `trace` is a trace file's bytes, or a [`Source`] that reads it in place; its events are
/// read here, so a bad one is refused. The memory needed is about twice the packed trace's
/// size (the packed trace, then the component holding it).
///
/// Errors: [`WrapError::Trace`] for a bad trace, [`WrapError::WrongComponent`] when the trace
/// was recorded from another component, and every error of [`wrap_record`].
pub fn wrap_replay<S: Source + Copy>(
    guest: &[u8],
    trace: S,
    parts: &Interposers,
) -> Result<Vec<u8>, WrapError> {
    wrap_replay_answering(guest, trace, parts, None)
}

/// [`wrap_replay`] of a WASI 0.3 HTTP service's history up to request K (`trace` cut right
/// after the app's answer to K): the self-replaying component prints `answer` (request K's
/// line on stderr, its response body on stdout) once the replay has ended, as `wasm-rr replay
/// --request K` does. With `None`, [`wrap_replay`].
///
/// Errors: as [`wrap_replay`].
pub fn wrap_replay_answering<S: Source + Copy>(
    guest: &[u8],
    trace: S,
    parts: &Interposers,
    answer: Option<Answer>,
) -> Result<Vec<u8>, WrapError> {
    let Checked {
        imports, generic, ..
    } = parts.checked_imports(guest)?;
    check_trace(guest, trace)?;
    let packed = pack_trace(trace).map_err(WrapError::Trace)?;
    compose(
        guest,
        parts.replayer_for(&imports),
        parts,
        Mode::Replay {
            trace: packed,
            answer,
        },
        &generic,
        &[],
        &replay_allowed(false)
            .into_iter()
            .chain(passed_through_imports(&generic))
            .collect(),
    )
}

/// The replayer in front of `guest`, importing `wasm-rr:rr/embedded` for the trace instead of
/// embedding one: what the `wasm-rr` host runs, serving the trace itself. The component is the
/// same for every trace of an app, so wasmtime compiles it once.
///
/// Errors: as [`wrap_replay`], but the trace is not read here: `header` is its header.
pub fn wrap_replay_open(
    guest: &[u8],
    header: &wasm_rr_trace::Header,
    parts: &Interposers,
) -> Result<Vec<u8>, WrapError> {
    let Checked {
        imports, generic, ..
    } = parts.checked_imports(guest)?;
    check_header(guest, header)?;
    compose(
        guest,
        parts.replayer_for(&imports),
        parts,
        Mode::ReplayOpen,
        &generic,
        &[],
        &replay_allowed(true)
            .into_iter()
            .chain(passed_through_imports(&generic))
            .collect(),
    )
}

/// Whether a component with these exports is a library component: one that exports neither
/// `wasi:cli/run` nor `wasi:http/incoming-handler`, whose exports' calls are recorded (each
/// call made by the host, `wasmtime run --invoke`, or `wasm-rr record --invoke`) and driven
/// again by its replay, which is a command.
pub fn is_library(exports: &[String]) -> bool {
    !is_http_handler(exports)
        && serve::service_version(exports).is_none()
        && !exports.iter().any(|e| split_version(e).0 == "wasi:cli/run")
}

/// The interface a `wasi:http/proxy` guest exports.
pub const INCOMING_HANDLER: &str = "wasi:http/incoming-handler";

/// Whether a guest with these exports is an HTTP handler (exports
/// `wasi:http/incoming-handler`, with or without `wasi:cli/run`): its recording component
/// runs under `wasmtime serve`, and each request's trace replays as a command.
pub fn is_http_handler(exports: &[String]) -> bool {
    exports
        .iter()
        .any(|e| split_version(e).0 == INCOMING_HANDLER)
}

/// The name of wasm-rr's own interface the interposer reads what is embedded through.
pub use wasm_rr_trace::protocol::EMBEDDED_INTERFACE;

/// What a replaying component may import from the host: [`REPLAY_HOST_IMPORTS`], and with
/// `open`, [`EMBEDDED_INTERFACE`] (which the `wasm-rr` host serves).
/// The imports of `guest` a replay takes from the host besides [`REPLAY_HOST_IMPORTS`]: WASI
/// 0.3's `wasi:cli/stdout` and `stderr`, to which the app's output streams pass straight (see
/// `generic::passed_through`), with the `wasi:cli/types` they use.
fn passed_through_imports(generic: &[String]) -> Vec<String> {
    let output =
        |i: &String| i.starts_with("wasi:cli/stdout@0.3.") || i.starts_with("wasi:cli/stderr@0.3.");
    if !generic.iter().any(output) {
        return Vec::new();
    }
    generic
        .iter()
        .filter(|i| output(i) || i.starts_with("wasi:cli/types@0.3."))
        .cloned()
        .collect()
}

fn replay_allowed(open: bool) -> BTreeSet<String> {
    let mut allowed: BTreeSet<String> = REPLAY_HOST_IMPORTS
        .iter()
        .map(|i| format!("{i}@{}", wasm_rr_trace::WASI_VERSION))
        .collect();
    if open {
        allowed.insert(EMBEDDED_INTERFACE.to_string());
    }
    allowed
}
