//! The generic path for imports without a hand-written interposer module (the first step of
//! recording any interface): a forwarder made at wrap time from the guest's WIT runs on stock
//! wasmtime and passes every value through unchanged.

mod common;

use common::*;
use wit_parser::Resolve;

/// `wasi:config` as `wasmtime run -S config` serves it.
const WASI_CONFIG: &str = r#"
package wasi:config@0.2.0-rc.1;
interface store {
  variant error { upstream(string), io(string) }
  get: func(key: string) -> result<option<string>, error>;
  get-all: func() -> result<list<tuple<string, string>>, error>;
}
"#;

/// A plugin API of our own, with a resource.
const INVENTORY: &str = r#"
package acme:inventory@0.1.0;
interface db {
  record item { name: string, count: u32 }
  resource cursor { next: func() -> option<item>; }
  count: func(name: string) -> u32;
  scan: func() -> cursor;
}
"#;

/// A component (with no code worth running: `wit-component`'s dummy module) of the world
/// `world` in `wit`, after the packages `deps`.
fn component_of(deps: &[&str], wit: &str, world: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    for (i, dep) in deps.iter().enumerate() {
        resolve.push_str(format!("dep{i}.wit"), dep).unwrap();
    }
    let pkg = resolve.push_str("app.wit", wit).unwrap();
    let world = resolve.select_world(&[pkg], Some(world)).unwrap();
    dummy_component(&resolve, world)
}

#[test]
fn a_forwarder_made_from_the_guests_wit_passes_values_through_on_stock_wasmtime() {
    let dir = scratch();
    let guest = component_of(
        &[WASI_CONFIG],
        "package acme:app;
         world app { import wasi:config/store@0.2.0-rc.1; export run: func(); }",
        "app",
    );
    let forwarder =
        wasm_rr_composer::forwarder(&guest, &["wasi:config/store@0.2.0-rc.1".to_string()]).unwrap();
    let path = dir.path().join("forwarder.wasm");
    std::fs::write(&path, &forwarder).unwrap();
    let world = world_of(&path);
    assert_eq!(
        world,
        (
            vec!["wasi:config/store@0.2.0-rc.1".to_string()],
            vec!["wasi:config/store@0.2.0-rc.1".to_string()]
        )
    );
    // Strings in, and out through options, results, lists and tuples; each call once per
    // process, as `wasmtime run --invoke` makes them. (One variable only: wasmtime's
    // `get-all` lists them in a different order in every process.)
    for (call, printed) in [
        (r#"get("seed")"#, r#"ok(some("42"))"#),
        (r#"get("name")"#, "ok(none)"),
        ("get-all()", r#"ok([("seed", "42")])"#),
    ] {
        let r = run(
            wasmtime()
                .args(["-S", "config", "-S", "config-var=seed=42", "--invoke", call])
                .arg(&path),
            None,
        );
        assert_eq!(r.code, Some(0), "{call}: {}", r.stderr());
        assert_eq!(r.stdout().trim_end(), printed, "{call}");
    }
}

#[test]
fn interfaces_with_resources_are_refused_naming_the_function() {
    let guest = component_of(
        &[INVENTORY],
        "package acme:app;
         world app { import acme:inventory/db@0.1.0; export run: func(); }",
        "app",
    );
    let refused = wasm_rr_composer::forwarder(&guest, &["acme:inventory/db@0.1.0".to_string()])
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused,
        "it imports `acme:inventory/db@0.1.0`, which this version of wasm-rr cannot record: `[method]cursor.next` is a resource's function; resources are not recorded generically yet"
    );
    let missing =
        wasm_rr_composer::forwarder(&guest, &["wasi:config/store@0.2.0-rc.1".to_string()])
            .unwrap_err()
            .to_string();
    assert_eq!(missing, "it does not import `wasi:config/store@0.2.0-rc.1`");
}
