//! Type stubs: a generated component that exports, under their names, interfaces holding
//! nothing but resource types, for a component that imports such interfaces only for their
//! types.
//!
//! The replaying interposer is built from the same source and world as the recorder. Its code
//! never calls the host interfaces only the recorder calls (`wasi:filesystem/types`,
//! `wasi:sockets/*`, `wasi:http/types`, …), but `wit-component` keeps them as imports of their
//! resource types (an interface both imported and exported shares its types). A self-replaying
//! component must not import them from the host: they are plugged with these stubs instead,
//! whose resources nothing ever makes.

use crate::WrapError;
use std::collections::BTreeMap;
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{ManglingAndAbi, Resolve};

/// An interface import to serve: its full name (`wasi:sockets/tcp@0.2.12`) and the names of
/// the resource types it holds.
pub struct TypeImport {
    /// The import's name.
    pub name: String,
    /// Its resource types.
    pub resources: Vec<String>,
}

/// A component exporting each of `imports` with its resource types, and nothing else.
///
/// Errors: [`WrapError::Compose`] when a name is not `ns:pkg/interface@version` or the stubs
/// cannot be encoded (a bug).
pub fn type_stubs(imports: &[TypeImport]) -> Result<Vec<u8>, WrapError> {
    let err = |e: anyhow::Error| WrapError::Compose(format!("cannot make type stubs: {e:#}"));
    // Each package's interfaces, in WIT: `package wasi:sockets@0.2.12 { interface tcp {
    // resource tcp-socket; } }`.
    let mut packages: BTreeMap<String, String> = BTreeMap::new();
    for import in imports {
        let (package, interface) = split_interface(&import.name).ok_or_else(|| {
            WrapError::Compose(format!("cannot make a type stub for `{}`", import.name))
        })?;
        let body = packages.entry(package).or_default();
        body.push_str(&format!("  interface {interface} {{\n"));
        for r in &import.resources {
            body.push_str(&format!("    resource {r};\n"));
        }
        body.push_str("  }\n");
    }
    let mut wit = String::from("package wasm-rr:stubs;\nworld stubs {\n");
    for import in imports {
        wit.push_str(&format!("  export {};\n", import.name));
    }
    wit.push_str("}\n");
    for (package, body) in &packages {
        wit.push_str(&format!("package {package} {{\n{body}}}\n"));
    }
    let mut resolve = Resolve::default();
    let package = resolve.push_str("stubs.wit", &wit).map_err(err)?;
    let world = resolve
        .select_world(&[package], Some("stubs"))
        .map_err(err)?;
    let mut module = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        StringEncoding::UTF8,
        false,
    )
    .map_err(err)?;
    ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .map_err(err)
}

/// `wasi:sockets/tcp@0.2.12` as (`wasi:sockets@0.2.12`, `tcp`).
fn split_interface(name: &str) -> Option<(String, &str)> {
    let (base, version) = crate::split_version(name);
    let (package, interface) = base.split_once('/')?;
    let version = version.map(|v| format!("@{v}")).unwrap_or_default();
    Some((format!("{package}{version}"), interface))
}
