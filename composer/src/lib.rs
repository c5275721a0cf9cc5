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
//! When replaying, a stubs component also serves the replayer's own runtime imports
//! (`wasi:cli/environment`, `stdin`, terminals) with inert answers, so that the self-replaying
//! component imports only [`REPLAY_HOST_IMPORTS`].
//!
//! Every other export of the guest is passed through unchanged. Each guest import is plugged
//! by hand and checked (`wac plug` would silently skip a mismatch), and the composed component's
//! imports are checked once more after encoding: a wrapped component never has a hole through
//! which the guest reaches the host unrecorded.
//!
//! Errors are [`WrapError`]s; their messages name the offending interface.

#![warn(missing_docs)]

use std::collections::BTreeSet;
use wac_graph::types::{Package, are_semver_compatible};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};
use wasm_rr_trace::{BlockWriter, Reader, RecordConfig, TraceError};

mod blob;

pub use blob::blob_provider;

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

/// The WASI interfaces the interposer intercepts (served at any 0.2.x version).
pub const INTERCEPTED: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
];

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
    /// The component exports neither `wasi:cli/run` nor `wasi:http/incoming-handler`.
    #[error(
        "it exports neither `wasi:cli/run` nor `wasi:http/incoming-handler`; wasm-rr records commands and HTTP handlers (the `wasi:http/proxy` world) only"
    )]
    NotACommand,
    /// The guest imports something wasm-rr cannot record.
    #[error("it imports `{import}`, which this version of wasm-rr cannot record: {reason}")]
    Unsupported {
        /// The import's full name.
        import: String,
        /// Why it is refused.
        reason: String,
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

fn compose_err(e: impl std::fmt::Display) -> WrapError {
    WrapError::Compose(format!("{e:#}"))
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

/// Checks that every import of the guest is one the interposer serves, and returns them.
///
/// Errors: [`WrapError::Unsupported`] naming the first import that is not.
pub fn check_guest_imports(imports: &[String]) -> Result<(), WrapError> {
    for import in imports {
        let (base, version) = split_version(import);
        if !INTERCEPTED.contains(&base) {
            return Err(WrapError::Unsupported {
                import: import.clone(),
                reason: "wasm-rr records WASI 0.2 interfaces only, and not this one".into(),
            });
        }
        let v = version.and_then(|v| semver::Version::parse(v).ok());
        if !v.is_some_and(|v| v.major == 0 && v.minor == 2 && v.patch <= 12) {
            return Err(WrapError::Unsupported {
                import: import.clone(),
                reason: "wasm-rr records WASI 0.2.x (0.2.0 to 0.2.12) only".into(),
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

/// Lowercase hex sha256 of a component, as stored in [`wasm_rr_trace::Header`].
pub fn component_sha256(bytes: &[u8]) -> String {
    wasm_rr_trace::sha256_hex(bytes)
}

/// Builds the recording component: the recorder in front of `guest`, configured with the
/// guest's sha256 and imports; with `compress`, the recorder compresses each block of the trace
/// with zstd. Returns the composed component's bytes.
pub fn wrap_record(
    guest: &[u8],
    parts: &Interposers,
    compress: bool,
) -> Result<Vec<u8>, WrapError> {
    let (imports, _) = component_world(guest)?;
    check_guest_imports(&imports)?;
    let recorder = parts.recorder_for(&imports);
    let config = RecordConfig {
        component_sha256: component_sha256(guest),
        guest_imports: imports,
        compress,
    };
    let recorder_imports = component_world_unchecked(recorder)?.0;
    let allowed: BTreeSet<String> = recorder_imports
        .into_iter()
        .filter(|i| !i.starts_with("wasm-rr:"))
        .collect();
    compose(
        guest,
        recorder,
        None,
        Some(&config.to_cbor()),
        parts,
        &allowed,
    )
}

/// zstd level of the trace embedded in a self-replaying component.
pub const TRACE_ZSTD_LEVEL: i32 = 3;

/// zstd at [`TRACE_ZSTD_LEVEL`], for [`BlockWriter`]s.
pub fn zstd_block(data: &[u8]) -> Option<Vec<u8>> {
    zstd::bulk::compress(data, TRACE_ZSTD_LEVEL).ok()
}

/// Rewrites a trace file as it is embedded: the same header and events, in blocks of about
/// [`wasm_rr_trace::BLOCK_BYTES`], each compressed with zstd where that makes it smaller.
/// Reads and writes one event at a time. A torn tail is dropped.
///
/// Errors: the trace's own ([`TraceError`]).
pub fn pack_trace(trace: &[u8]) -> Result<Vec<u8>, TraceError> {
    let (header, mut reader) = Reader::new(trace)?;
    let mut out = Vec::with_capacity(trace.len());
    wasm_rr_trace::encode_header(&header, &mut out);
    let mut writer = BlockWriter::new(Some(zstd_block));
    while let Some(e) = reader.next_event()? {
        writer.push(&e);
        if writer.buffered() >= wasm_rr_trace::BLOCK_BYTES {
            writer.finish_block(&mut out);
        }
    }
    writer.finish_block(&mut out);
    Ok(out)
}

/// Checks that `trace` (a trace file) was recorded from `guest`.
///
/// Errors: [`WrapError::Trace`] for a bad header, [`WrapError::WrongComponent`].
fn check_trace(guest: &[u8], trace: &[u8]) -> Result<(), WrapError> {
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
/// `trace` is a trace file; its events are read here, so a bad one is refused.
///
/// Errors: [`WrapError::Trace`] for a bad trace, [`WrapError::WrongComponent`] when the trace
/// was recorded from another component, and every error of [`wrap_record`].
pub fn wrap_replay(guest: &[u8], trace: &[u8], parts: &Interposers) -> Result<Vec<u8>, WrapError> {
    let (imports, _) = component_world(guest)?;
    check_guest_imports(&imports)?;
    check_trace(guest, trace)?;
    let packed = pack_trace(trace).map_err(WrapError::Trace)?;
    compose(
        guest,
        parts.replayer_for(&imports),
        Some(parts.replay_stubs),
        Some(&packed),
        parts,
        &replay_allowed(false),
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
    let (imports, _) = component_world(guest)?;
    check_guest_imports(&imports)?;
    check_header(guest, header)?;
    compose(
        guest,
        parts.replayer_for(&imports),
        Some(parts.replay_stubs),
        None,
        parts,
        &replay_allowed(true),
    )
}

/// The interface a `wasi:http/proxy` guest exports.
pub const INCOMING_HANDLER: &str = "wasi:http/incoming-handler";

/// The recorder's import through which the handler wrapper hands it incoming requests.
const HTTP_MAILBOX: &str = "wasm-rr:http/mailbox";

/// Whether a guest with these exports is an HTTP handler (exports
/// `wasi:http/incoming-handler`, with or without `wasi:cli/run`): its recording component
/// runs under `wasmtime serve`, and each request's trace replays as a command.
pub fn is_http_handler(exports: &[String]) -> bool {
    exports
        .iter()
        .any(|e| split_version(e).0 == INCOMING_HANDLER)
}

/// The name of wasm-rr's own interface the replayer reads the trace through.
pub const EMBEDDED_INTERFACE: &str = "wasm-rr:rr/embedded";

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

struct Builder {
    graph: CompositionGraph,
}

impl Builder {
    fn register(&mut self, name: &str, bytes: &[u8]) -> Result<PackageId, WrapError> {
        let pkg = Package::from_bytes(name, None, bytes.to_vec(), self.graph.types_mut())
            .map_err(compose_err)?;
        self.graph.register_package(pkg).map_err(compose_err)
    }

    fn exports(&self, pkg: PackageId) -> Vec<String> {
        let ty = self.graph[pkg].ty();
        self.graph.types()[ty].exports.keys().cloned().collect()
    }

    fn imports(&self, pkg: PackageId) -> Vec<String> {
        let ty = self.graph[pkg].ty();
        self.graph.types()[ty].imports.keys().cloned().collect()
    }

    fn alias(&mut self, instance: NodeId, export: &str) -> Result<NodeId, WrapError> {
        self.graph
            .alias_instance_export(instance, export)
            .map_err(compose_err)
    }

    /// Plugs `from`'s export `export` into `into`'s import `import`.
    fn plug(
        &mut self,
        from: NodeId,
        export: &str,
        into: NodeId,
        import: &str,
    ) -> Result<(), WrapError> {
        let node = self.alias(from, export)?;
        self.graph
            .set_instantiation_argument(into, import, node)
            .map_err(|e| WrapError::PlugFailed {
                import: import.to_string(),
                export: export.to_string(),
                reason: format!("{:#}", anyhow::Error::from(e)),
            })
    }
}

fn compose(
    guest: &[u8],
    interposer: &[u8],
    stubs: Option<&[u8]>,
    blob: Option<&[u8]>,
    parts: &Interposers,
    allowed_host_imports: &BTreeSet<String>,
) -> Result<Vec<u8>, WrapError> {
    let mut b = Builder {
        graph: CompositionGraph::new(),
    };
    let interposer_pkg = b.register("wasm-rr:interposer", interposer)?;
    let guest_pkg = b.register("wasm-rr:guest", guest)?;
    let interposer_inst = b.graph.instantiate(interposer_pkg);
    if let Some(blob) = blob {
        let provider = blob_provider(blob).map_err(compose_err)?;
        let blob_pkg = b.register("wasm-rr:blob", &provider)?;
        let blob_inst = b.graph.instantiate(blob_pkg);
        b.plug(
            blob_inst,
            EMBEDDED_INTERFACE,
            interposer_inst,
            EMBEDDED_INTERFACE,
        )?;
    }
    if let Some(stubs) = stubs {
        let stubs_pkg = b.register("wasm-rr:replay-stubs", stubs)?;
        let stubs_inst = b.graph.instantiate(stubs_pkg);
        let wanted = b.imports(interposer_pkg);
        for export in b.exports(stubs_pkg) {
            if wanted.contains(&export) {
                b.plug(stubs_inst, &export, interposer_inst, &export)?;
            }
        }
    }

    // Plug every guest import into the interposer export of the same interface.
    let interposer_exports = b.exports(interposer_pkg);
    let guest_inst = b.graph.instantiate(guest_pkg);
    let guest_imports = b.imports(guest_pkg);
    for import in &guest_imports {
        let export = interposer_exports
            .iter()
            .find(|e| are_semver_compatible(e, import))
            .ok_or_else(|| WrapError::Unsupported {
                import: import.clone(),
                reason: "the interposer has no export for it".into(),
            })?
            .clone();
        b.plug(interposer_inst, &export, guest_inst, import)?;
    }
    let satisfied: BTreeSet<String> = b
        .graph
        .get_instantiation_arguments(guest_inst)
        .map(|(name, _)| name.to_string())
        .collect();
    if let Some(hole) = guest_imports.iter().find(|i| !satisfied.contains(*i)) {
        return Err(WrapError::Hole(hole.clone()));
    }

    // The recorder's `wasi:http` build takes incoming requests from the mailbox.
    let recording = stubs.is_none();
    let mailbox = if recording && b.imports(interposer_pkg).iter().any(|i| i == HTTP_MAILBOX) {
        let pkg = b.register("wasm-rr:http-mailbox", parts.http_mailbox)?;
        let inst = b.graph.instantiate(pkg);
        b.plug(inst, HTTP_MAILBOX, interposer_inst, HTTP_MAILBOX)?;
        Some(inst)
    } else {
        None
    };

    // Pass the guest's exports through; `wasi:cli/run` goes through the run wrapper, and an
    // HTTP handler through the handler wrapper (recording) or the replay driver (replaying,
    // which makes the component a command).
    let guest_exports = b.exports(guest_pkg);
    let handler = is_http_handler(&guest_exports);
    if !handler
        && !guest_exports
            .iter()
            .any(|e| split_version(e).0 == "wasi:cli/run")
    {
        return Err(WrapError::NotACommand);
    }
    for export in guest_exports {
        let (base, _) = split_version(&export);
        if base == "wasi:cli/run" && handler {
            // A server built as a command (wstd's `http_server`): its `run` is not what a
            // host calls, and a request trace replays through the driver's `run`.
            continue;
        }
        if base == INCOMING_HANDLER {
            let handler = format!("{INCOMING_HANDLER}@{}", wasm_rr_trace::WASI_VERSION);
            let glue = if recording {
                parts.handler_wrapper
            } else {
                parts.serve_driver
            };
            let pkg = b.register("wasm-rr:http-glue", glue)?;
            let inst = b.graph.instantiate(pkg);
            let types = format!("wasi:http/types@{}", wasm_rr_trace::WASI_VERSION);
            b.plug(interposer_inst, &types, inst, "wasm-rr:handler/guest-types")?;
            b.plug(
                interposer_inst,
                "wasm-rr:http/entry",
                inst,
                "wasm-rr:handler/entry",
            )?;
            b.plug(guest_inst, &export, inst, "wasm-rr:handler/guest-handler")?;
            if recording {
                let mailbox = mailbox
                    .ok_or_else(|| WrapError::Compose("the recorder has no HTTP mailbox".into()))?;
                b.plug(mailbox, HTTP_MAILBOX, inst, HTTP_MAILBOX)?;
                let node = b.alias(inst, &handler)?;
                b.graph.export(node, &handler).map_err(compose_err)?;
            } else {
                let run = format!("wasi:cli/run@{}", wasm_rr_trace::WASI_VERSION);
                let node = b.alias(inst, &run)?;
                b.graph.export(node, &run).map_err(compose_err)?;
            }
            continue;
        }
        let node = if base == "wasi:cli/run" {
            let wrapper_pkg = b.register("wasm-rr:run-wrapper", parts.run_wrapper)?;
            let inst = b.graph.instantiate(wrapper_pkg);
            let run = format!("wasi:cli/run@{}", wasm_rr_trace::WASI_VERSION);
            b.plug(guest_inst, &export, inst, &run)?;
            b.plug(
                interposer_inst,
                "wasm-rr:rr/control",
                inst,
                "wasm-rr:rr/control",
            )?;
            b.alias(inst, &run)?
        } else {
            b.alias(guest_inst, &export)?
        };
        b.graph.export(node, &export).map_err(compose_err)?;
    }

    let bytes = b
        .graph
        // Validated by `validate` where the component is written out (`wasm-rr wrap`); the
        // embedded host skips it (10 ms, a third of wrapping time), as its inputs are checked.
        .encode(EncodeOptions {
            validate: false,
            ..Default::default()
        })
        .map_err(compose_err)?;

    // Check the result once more: every host import must be one the interposer itself makes.
    // (wac-graph validated the encoded component.)
    let (imports, _) = component_world_unchecked(&bytes)?;
    if let Some(hole) = imports.iter().find(|i| !allowed_host_imports.contains(*i)) {
        return Err(WrapError::Hole(hole.clone()));
    }
    Ok(bytes)
}
