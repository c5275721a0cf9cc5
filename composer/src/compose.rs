//! The composition itself, in named steps on a `wac-graph` graph: add the interposer, embed the
//! blob, plug the replay stubs, plug the guest's imports, add the HTTP mailbox, pass the guest's
//! exports through, encode and check. [`Mode`] says which component is being made.

use crate::generic::{Forwarding, driver, export_forwarder, forwarder, generic_functions};
use crate::serve::{self, HANDLER_P3, SERVE_REQUESTS, service_version};
use crate::stubs::{TypeImport, type_stubs};
use crate::{
    EMBEDDED_INTERFACE, INCOMING_HANDLER, Interposers, WrapError, blob_provider_for, fill_blob,
    is_http_handler, split_version,
};
use std::collections::BTreeSet;
use wac_graph::types::{ItemKind, Package, Type, are_semver_compatible};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};
use wasm_rr_trace::WASI_VERSION;

/// The interposer's export through which a forwarder hands over (recording) or asks for
/// (replaying) the generic path's calls.
const GENERIC: &str = "wasm-rr:rr/generic";

/// The recorder's import through which the handler wrapper hands it incoming requests.
const HTTP_MAILBOX: &str = "wasm-rr:http/mailbox";

/// Which component a composition makes.
pub enum Mode {
    /// The recording component: the recorder, configured with `config` (a CBOR
    /// `RecordConfig`).
    Record {
        /// What the recorder reads at start.
        config: Vec<u8>,
    },
    /// The self-replaying component: the replayer, with `trace` (a packed trace) embedded
    /// (moved into the component as it is made, so that it is not held twice).
    Replay {
        /// The trace it replays.
        trace: Vec<u8>,
        /// A WASI 0.3 service's history up to request K (its trace cut after K's answer):
        /// the response it prints once the replay has ended.
        answer: Option<crate::serve::Answer>,
    },
    /// The replayer importing `wasm-rr:rr/embedded`, which the `wasm-rr` host serves.
    ReplayOpen,
}

impl Mode {
    fn records(&self) -> bool {
        matches!(self, Mode::Record { .. })
    }
}

fn compose_err(e: impl std::fmt::Display) -> WrapError {
    WrapError::Compose(format!("{e:#}"))
}

/// A composition being built.
struct Composition<'p> {
    graph: CompositionGraph,
    parts: &'p Interposers<'p>,
    interposer_pkg: PackageId,
    interposer: NodeId,
    guest_pkg: PackageId,
    guest: NodeId,
    /// The forwarder, when it pumps streams: it exports `wasm-rr:rr/pump`, whose driver the
    /// 0.3 run wrapper starts.
    pumps: Option<NodeId>,
    /// Whether the run wrapper (or a service's handler wrapper) starts that driver.
    driven: bool,
    /// The forwarder of the generic path, if the guest has one.
    forwarder: Option<NodeId>,
    /// What a service's replay driver prints at the end (see [`Mode::Replay`]).
    answer: Option<crate::serve::Answer>,
}

impl<'p> Composition<'p> {
    /// Registers the guest and the interposer and instantiates both.
    fn new(guest: &[u8], interposer: &[u8], parts: &'p Interposers<'p>) -> Result<Self, WrapError> {
        let mut graph = CompositionGraph::new();
        let interposer_pkg = register(&mut graph, "wasm-rr:interposer", interposer)?;
        let guest_pkg = register(&mut graph, "wasm-rr:guest", guest)?;
        let interposer_node = graph.instantiate(interposer_pkg);
        let guest = graph.instantiate(guest_pkg);
        Ok(Composition {
            graph,
            parts,
            interposer_pkg,
            interposer: interposer_node,
            guest_pkg,
            guest,
            pumps: None,
            driven: false,
            answer: None,
            forwarder: None,
        })
    }

    fn register(&mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Result<PackageId, WrapError> {
        register(&mut self.graph, name, bytes)
    }

    /// A new instance of the component `bytes`, registered as `name`.
    fn add(
        &mut self,
        name: &str,
        bytes: impl Into<Vec<u8>>,
    ) -> Result<(PackageId, NodeId), WrapError> {
        let pkg = self.register(name, bytes)?;
        Ok((pkg, self.graph.instantiate(pkg)))
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

    /// Exports `instance`'s export `name` from the composed component under the same name.
    fn export(&mut self, instance: NodeId, name: &str) -> Result<(), WrapError> {
        self.export_as(instance, name, name)
    }

    /// Exports `instance`'s export `name` from the composed component as `as_name`.
    fn export_as(&mut self, instance: NodeId, name: &str, as_name: &str) -> Result<(), WrapError> {
        let node = self.alias(instance, name)?;
        self.graph.export(node, as_name).map_err(compose_err)
    }

    /// Step: serves `blob` (the recorder's configuration, or the trace) to the interposer's
    /// `wasm-rr:rr/embedded`.
    fn embed(&mut self, len: usize) -> Result<(), WrapError> {
        let provider = blob_provider_for(len).map_err(compose_err)?;
        let (_, inst) = self.add("wasm-rr:blob", provider)?;
        self.plug(
            inst,
            EMBEDDED_INTERFACE,
            self.interposer,
            EMBEDDED_INTERFACE,
        )
    }

    /// Step (replaying): plugs the interposer's imports that the host must not serve: the
    /// inert `wasi:cli` exports of the replay stubs for its own runtime, and type stubs for the
    /// host interfaces only the recorder calls, which the replayer imports only for their
    /// resource types.
    ///
    /// Errors: [`WrapError::Hole`] when the replayer imports a function of such an interface
    /// (a bug: it would reach the host).
    fn plug_replay_stubs(&mut self, host_imports: &BTreeSet<String>) -> Result<(), WrapError> {
        let (stubs_pkg, stubs) = self.add("wasm-rr:replay-stubs", self.parts.replay_stubs)?;
        let inert = self.exports(stubs_pkg);
        let mut typed = Vec::new();
        let types = self.graph.types();
        for (name, kind) in &types[self.graph[self.interposer_pkg].ty()].imports {
            if inert.contains(name) {
                continue;
            }
            if host_imports.contains(name) || name == EMBEDDED_INTERFACE {
                continue;
            }
            let ItemKind::Instance(id) = kind else {
                return Err(WrapError::Hole(name.clone()));
            };
            let mut resources = Vec::new();
            for (item, kind) in &types[*id].exports {
                match kind {
                    ItemKind::Type(Type::Resource(_)) => resources.push(item.clone()),
                    _ => return Err(WrapError::Hole(format!("{name}#{item}"))),
                }
            }
            typed.push(TypeImport {
                name: name.clone(),
                resources,
            });
        }
        let wanted = self.imports(self.interposer_pkg);
        for export in &inert {
            if wanted.contains(export) {
                self.plug(stubs, export, self.interposer, export)?;
            }
        }
        if !typed.is_empty() {
            let (_, type_stubs) = self.add("wasm-rr:type-stubs", type_stubs(&typed)?)?;
            for import in &typed {
                self.plug(type_stubs, &import.name, self.interposer, &import.name)?;
            }
        }
        Ok(())
    }

    /// Step: the forwarder for the guest's imports `interfaces` that the generic path records
    /// (recording: it calls the host, then the interposer's `wasm-rr:rr/generic.called`;
    /// replaying: the interposer's `replay` answers it), plugged into the guest.
    ///
    /// Recording, `plugs` (components) serve the forwarder's imports they export, in place of
    /// the host.
    fn plug_forwarder(
        &mut self,
        guest: &[u8],
        interfaces: &[String],
        records: bool,
        plugs: &[Vec<u8>],
    ) -> Result<(), WrapError> {
        if interfaces.is_empty() && !plugs.is_empty() {
            return Err(WrapError::UselessPlug {
                index: 1,
                wanted: "none".into(),
            });
        }
        if interfaces.is_empty() {
            return Ok(());
        }
        let forwarding = if records {
            Forwarding::Record
        } else {
            Forwarding::Replay
        };
        let bytes = forwarder(guest, interfaces, forwarding)?;
        let (pkg, inst) = self.add("wasm-rr:forwarder", bytes)?;
        if self.exports(pkg).iter().any(|e| e == crate::generic::PUMP) {
            self.pumps = Some(inst);
        }
        self.forwarder = Some(inst);
        self.plug(self.interposer, GENERIC, inst, GENERIC)?;
        for import in interfaces {
            // A service's requests go to its handler wrapper (see `wrap_service`).
            if import == SERVE_REQUESTS {
                continue;
            }
            self.plug(inst, import, self.guest, import)?;
            // Recording, WASI 0.3's preopens come through a filter that hides the trace
            // directory.
            if records && import.starts_with("wasi:filesystem/preopens@0.3.") {
                let filter = crate::preopens::preopens_filter(guest, import)?;
                let (_, filter) = self.add("wasm-rr:preopens-filter", filter)?;
                self.plug(filter, import, inst, import)?;
            }
        }
        for (i, plug) in plugs.iter().enumerate() {
            let (pkg, provider) = self.add(&format!("wasm-rr:plug-{i}"), plug.clone())?;
            let exports = self.exports(pkg);
            let mut used = false;
            for import in interfaces {
                if let Some(export) = exports.iter().find(|e| are_semver_compatible(e, import)) {
                    self.plug(provider, export, inst, import)?;
                    used = true;
                }
            }
            if !used {
                return Err(WrapError::UselessPlug {
                    index: i + 1,
                    wanted: interfaces.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Step: plugs every import of the guest not plugged yet into the interposer's export of
    /// the same interface (any compatible version), and checks that none is left to the host.
    fn plug_guest_imports(&mut self) -> Result<(), WrapError> {
        let interposer_exports = self.exports(self.interposer_pkg);
        let guest_imports = self.imports(self.guest_pkg);
        let plugged: BTreeSet<String> = self
            .graph
            .get_instantiation_arguments(self.guest)
            .map(|(name, _)| name.to_string())
            .collect();
        for import in guest_imports.iter().filter(|i| !plugged.contains(*i)) {
            let export = interposer_exports
                .iter()
                .find(|e| are_semver_compatible(e, import))
                .ok_or_else(|| WrapError::Unsupported {
                    import: import.clone(),
                    reason: "the interposer has no export for it".into(),
                })?
                .clone();
            self.plug(self.interposer, &export, self.guest, import)?;
        }
        let satisfied: BTreeSet<String> = self
            .graph
            .get_instantiation_arguments(self.guest)
            .map(|(name, _)| name.to_string())
            .collect();
        match guest_imports.iter().find(|i| !satisfied.contains(*i)) {
            Some(hole) => Err(WrapError::Hole(hole.clone())),
            None => Ok(()),
        }
    }

    /// Step (recording): the recorder's `wasi:http` build takes incoming requests from the
    /// mailbox, which it shares with the handler wrapper.
    fn add_mailbox(&mut self) -> Result<Option<NodeId>, WrapError> {
        if !self
            .imports(self.interposer_pkg)
            .iter()
            .any(|i| i == HTTP_MAILBOX)
        {
            return Ok(None);
        }
        let (_, mailbox) = self.add("wasm-rr:http-mailbox", self.parts.http_mailbox)?;
        self.plug(mailbox, HTTP_MAILBOX, self.interposer, HTTP_MAILBOX)?;
        Ok(Some(mailbox))
    }

    /// Step: passes the guest's exports through. `wasi:cli/run` goes through the run wrapper;
    /// an HTTP handler through the handler wrapper (recording) or the replay driver (replaying,
    /// which makes the component a command); a library's exports through the export forwarder
    /// (recording) or the library's replay driver (replaying, a command too).
    ///
    /// `guest` and `generic` (its imports of the generic path) number a library's exports.
    fn pass_exports(
        &mut self,
        records: bool,
        mailbox: Option<NodeId>,
        guest: &[u8],
        generic: &[String],
    ) -> Result<(), WrapError> {
        let guest_exports = self.exports(self.guest_pkg);
        if let Some(version) = service_version(&guest_exports).map(str::to_string) {
            for export in guest_exports {
                match split_version(&export) {
                    (HANDLER_P3, Some(v)) if v == version => {
                        self.wrap_service(guest, &version, records)?
                    }
                    _ => self.export(self.guest, &export)?,
                }
            }
            return Ok(());
        }
        let handler = is_http_handler(&guest_exports);
        if !handler
            && !guest_exports
                .iter()
                .any(|e| split_version(e).0 == "wasi:cli/run")
        {
            return self.pass_library_exports(records, guest, generic, &guest_exports);
        }
        for export in guest_exports {
            match split_version(&export).0 {
                // A server built as a command (wstd's `http_server`): its `run` is not what a
                // host calls, and a request trace replays through the driver's `run`.
                "wasi:cli/run" if handler => {}
                "wasi:cli/run" => self.wrap_run(&export)?,
                INCOMING_HANDLER => self.wrap_handler(&export, records, mailbox)?,
                _ => self.export(self.guest, &export)?,
            }
        }
        Ok(())
    }

    /// A library component's exports `exports`: recording, through the export forwarder, which
    /// the composition exports under the same names; replaying, called by the library's
    /// replay driver, whose `run` the composition exports as `wasi:cli/run`.
    fn pass_library_exports(
        &mut self,
        records: bool,
        guest: &[u8],
        generic: &[String],
        exports: &[String],
    ) -> Result<(), WrapError> {
        // The exports' functions are numbered after the imports' of the generic path.
        let first = if generic.is_empty() {
            0
        } else {
            generic_functions(guest, generic)?.len() as u32
        };
        let (name, bytes) = if records {
            ("wasm-rr:export-forwarder", export_forwarder(guest, first)?)
        } else {
            ("wasm-rr:library-driver", driver(guest, first)?)
        };
        let (_, inst) = self.add(name, bytes)?;
        self.plug(self.interposer, GENERIC, inst, GENERIC)?;
        for export in exports {
            self.plug(self.guest, export, inst, export)?;
            if records {
                self.export(inst, export)?;
            }
        }
        if !records {
            let run = format!("wasi:cli/run@{WASI_VERSION}");
            self.export_as(inst, "wasm-rr:rr/driver", &run)?;
        }
        Ok(())
    }

    /// The guest's `wasi:cli/run` export `export`, through the run wrapper, exported under the
    /// guest's name for it.
    fn wrap_run(&mut self, export: &str) -> Result<(), WrapError> {
        let (wrapper, run) = if split_version(export)
            .1
            .is_some_and(|v| !v.starts_with("0.2."))
        {
            // WASI 0.3's `run`, an async function: a wrapper made for the guest's version
            // (which starts the driver of the forwarder's streams, if it pumps any).
            let bytes = crate::run::run_wrapper(export, self.pumps.is_some())?;
            (
                self.add("wasm-rr:run-wrapper-p3", bytes)?.1,
                export.to_string(),
            )
        } else {
            let bytes = self.parts.run_wrapper;
            let run = format!("wasi:cli/run@{WASI_VERSION}");
            (self.add("wasm-rr:run-wrapper", bytes)?.1, run)
        };
        self.plug(self.guest, export, wrapper, &run)?;
        if let Some(forwarder) = self
            .pumps
            .filter(|_| run != format!("wasi:cli/run@{WASI_VERSION}"))
        {
            let pump = crate::generic::PUMP;
            self.plug(forwarder, pump, wrapper, pump)?;
            self.driven = true;
        }
        self.plug(
            self.interposer,
            "wasm-rr:rr/control",
            wrapper,
            "wasm-rr:rr/control",
        )?;
        self.export_as(wrapper, &run, export)
    }

    /// The guest's `wasi:http/incoming-handler` export `export`: recording, through the
    /// handler wrapper; replaying, driven by the replay driver, which exports `wasi:cli/run`.
    fn wrap_handler(
        &mut self,
        export: &str,
        records: bool,
        mailbox: Option<NodeId>,
    ) -> Result<(), WrapError> {
        let glue = if records {
            self.parts.handler_wrapper
        } else {
            self.parts.serve_driver
        };
        let (_, inst) = self.add("wasm-rr:http-glue", glue)?;
        let types = format!("wasi:http/types@{WASI_VERSION}");
        self.plug(self.interposer, &types, inst, "wasm-rr:handler/guest-types")?;
        self.plug(
            self.interposer,
            "wasm-rr:http/entry",
            inst,
            "wasm-rr:handler/entry",
        )?;
        self.plug(self.guest, export, inst, "wasm-rr:handler/guest-handler")?;
        if records {
            let mailbox = mailbox
                .ok_or_else(|| WrapError::Compose("the recorder has no HTTP mailbox".into()))?;
            self.plug(mailbox, HTTP_MAILBOX, inst, HTTP_MAILBOX)?;
            self.export(inst, &format!("{INCOMING_HANDLER}@{WASI_VERSION}"))
        } else {
            self.export(inst, &format!("wasi:cli/run@{WASI_VERSION}"))
        }
    }

    /// The guest's `wasi:http/handler@version` export (a WASI 0.3 HTTP service): recording,
    /// through the handler wrapper, whose requests come through the mailbox and the forwarder
    /// (see `serve`).
    fn wrap_service(
        &mut self,
        guest: &[u8],
        version: &str,
        records: bool,
    ) -> Result<(), WrapError> {
        let handler = format!("{HANDLER_P3}@{version}");
        let forwarder = self
            .forwarder
            .ok_or_else(|| WrapError::Compose("a WASI 0.3 service without a forwarder".into()))?;
        let pump = crate::generic::PUMP;
        let pumps = self.pumps.ok_or_else(|| {
            WrapError::Compose("a WASI 0.3 service's forwarder without a driver".into())
        })?;
        let types = format!("wasi:http/types@{version}");
        if !records {
            // Replaying: a command whose `run` hands the app the recorded requests.
            let (_, driver) = self.add(
                "wasm-rr:serve-replay",
                serve::replay_driver(guest, version, self.answer.as_ref())?,
            )?;
            self.plug(forwarder, &types, driver, "wasm-rr:serve/guest-types")?;
            // (Its `error-code` type: the forwarder's, not the host's.)
            self.plug(forwarder, &types, driver, &types)?;
            self.plug(
                forwarder,
                SERVE_REQUESTS,
                driver,
                "wasm-rr:serve/guest-requests",
            )?;
            self.plug(self.guest, &handler, driver, "wasm-rr:serve/guest-handler")?;
            self.plug(
                self.interposer,
                "wasm-rr:rr/control",
                driver,
                "wasm-rr:rr/control",
            )?;
            self.plug(self.interposer, GENERIC, driver, GENERIC)?;
            self.plug(pumps, pump, driver, pump)?;
            self.driven = true;
            let run = format!("wasi:cli/run@{}", serve::RUN_VERSION);
            return self.export(driver, &run);
        }
        let (_, mailbox) = self.add("wasm-rr:serve-mailbox", serve::mailbox(guest, version)?)?;
        self.plug(mailbox, SERVE_REQUESTS, forwarder, SERVE_REQUESTS)?;
        let (_, wrapper) = self.add(
            "wasm-rr:serve-wrapper",
            serve::handler_wrapper(guest, version)?,
        )?;
        self.plug(forwarder, &types, wrapper, "wasm-rr:serve/guest-types")?;
        self.plug(
            forwarder,
            SERVE_REQUESTS,
            wrapper,
            "wasm-rr:serve/guest-requests",
        )?;
        self.plug(self.guest, &handler, wrapper, "wasm-rr:serve/guest-handler")?;
        self.plug(
            mailbox,
            "wasm-rr:serve/mailbox",
            wrapper,
            "wasm-rr:serve/mailbox",
        )?;
        self.plug(
            self.interposer,
            "wasm-rr:rr/control",
            wrapper,
            "wasm-rr:rr/control",
        )?;
        self.plug(pumps, pump, wrapper, pump)?;
        self.driven = true;
        self.export(wrapper, &handler)
    }

    /// Step: encodes the composed component and checks that it imports nothing from the host
    /// but `allowed`.
    fn encode(self, allowed: &BTreeSet<String>) -> Result<Vec<u8>, WrapError> {
        let bytes = self
            .graph
            // Validated by `validate` where the component is written out (`wasm-rr wrap`); the
            // embedded host skips it (10 ms, a third of wrapping time), as its inputs are
            // checked.
            .encode(EncodeOptions {
                validate: false,
                ..Default::default()
            })
            .map_err(compose_err)?;
        let (imports, _) = crate::component_world_unchecked(&bytes)?;
        match imports.iter().find(|i| !allowed.contains(*i)) {
            Some(hole) => Err(WrapError::Hole(hole.clone())),
            None => Ok(bytes),
        }
    }
}

fn register(
    graph: &mut CompositionGraph,
    name: &str,
    bytes: impl Into<Vec<u8>>,
) -> Result<PackageId, WrapError> {
    let pkg = Package::from_bytes(name, None, bytes, graph.types_mut()).map_err(compose_err)?;
    graph.register_package(pkg).map_err(compose_err)
}

/// Composes `interposer` in front of `guest` for `mode`: the interposer build, the blob, the
/// stubs and the glue it needs, and a forwarder for the guest's imports `generic` (the
/// interfaces the generic path records), served by `plugs` (recording) where they export them;
/// the result may import from the host nothing but `host_imports`.
///
/// Errors: every [`WrapError`] a step gives.
pub fn compose(
    guest: &[u8],
    interposer: &[u8],
    parts: &Interposers,
    mode: Mode,
    generic: &[String],
    plugs: &[Vec<u8>],
    host_imports: &BTreeSet<String>,
) -> Result<Vec<u8>, WrapError> {
    let mut c = Composition::new(guest, interposer, parts)?;
    let records = mode.records();
    // The blob goes into the composed component at the end (see `fill_blob`).
    let blob = match mode {
        Mode::Record { config } => Some(config),
        Mode::Replay { trace, answer } => {
            c.answer = answer;
            Some(trace)
        }
        Mode::ReplayOpen => None,
    };
    if let Some(blob) = &blob {
        c.embed(blob.len())?;
    }
    if !records {
        c.plug_replay_stubs(host_imports)?;
    }
    c.plug_forwarder(guest, generic, records, plugs)?;
    c.plug_guest_imports()?;
    let mailbox = if records { c.add_mailbox()? } else { None };
    c.pass_exports(records, mailbox, guest, generic)?;
    if c.pumps.is_some() && !c.driven {
        return Err(WrapError::Unsupported {
            import: generic.join(", "),
            reason: "its streams are recorded only in a WASI 0.3 command (one that exports `wasi:cli/run@0.3`), whose run starts their driver".into(),
        });
    }
    let composed = c.encode(host_imports)?;
    match blob {
        Some(blob) => fill_blob(&composed, blob).map_err(compose_err),
        None => Ok(composed),
    }
}
