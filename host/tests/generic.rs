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
  consume: func(c: list<cursor>) -> u32;
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
    let forwarder = wasm_rr_composer::forwarder(
        &guest,
        &["wasi:config/store@0.2.0-rc.1".to_string()],
        wasm_rr_composer::Forwarding::Plain,
    )
    .unwrap();
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
fn what_the_generic_path_cannot_record_is_refused_in_one_line_naming_it() {
    let dir = scratch();
    // An owned resource passed to the host, and a stream.
    const FEED: &str = r#"
package acme:feed@0.1.0;
interface items {
  next: func() -> stream<u8>;
}
"#;
    for (deps, import, refusal) in [
        (
            INVENTORY,
            "acme:inventory/db@0.1.0",
            "`consume` takes ownership of a resource inside another value (parameter `c`), which the generic path does not record yet",
        ),
        (
            FEED,
            "acme:feed/items@0.1.0",
            "`next` takes or returns a stream, which is not recorded generically yet",
        ),
    ] {
        let guest = component_of(
            &[deps],
            &format!("package acme:app; world app {{ import {import}; export run: func(); }}"),
            "app",
        );
        let app = dir.path().join("app.wasm");
        std::fs::write(&app, &guest).unwrap();
        let out = dir.path().join("out.wasm");
        let r = try_wrap(&app, &out, None);
        assert_eq!(r.code, Some(2), "{}", r.stderr());
        assert_eq!(
            r.stderr(),
            format!(
                "wasm-rr: error: cannot wrap {}: it imports `{import}`, which this version of wasm-rr cannot record: {refusal}\n",
                app.display()
            )
        );
        assert!(!out.exists());
    }
    let guest = component_of(
        &[INVENTORY],
        "package acme:app;
         world app { import acme:inventory/db@0.1.0; export run: func(); }",
        "app",
    );
    let missing = wasm_rr_composer::forwarder(
        &guest,
        &["wasi:config/store@0.2.0-rc.1".to_string()],
        wasm_rr_composer::Forwarding::Plain,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(missing, "it does not import `wasi:config/store@0.2.0-rc.1`");
}

/// What a recording forwarder handed to `wasm-rr:rr/generic.called`.
struct Handed {
    function: u32,
    args: Vec<u64>,
    results: Vec<u64>,
    /// The forwarder's memory as far as the heap goes (zeros below its base).
    memory: Vec<u8>,
}

fn u64s(v: &Val) -> Vec<u64> {
    let Val::List(items) = v else { panic!("{v:?}") };
    items
        .iter()
        .map(|i| match i {
            Val::U64(n) => *n,
            other => panic!("{other:?}"),
        })
        .collect()
}

use wasmtime::component::Val;

#[test]
fn a_recording_forwarder_hands_over_values_the_canonical_abi_reads_back() {
    use wasm_rr_trace::abi::{self, Ty, Val as AbiVal};
    use wasmtime::component::{Component, Linker};
    use wasmtime::{Engine, Store};
    let config = "wasi:config/store@0.2.0-rc.1";
    let guest = component_of(
        &[WASI_CONFIG],
        "package acme:app;
         world app { import wasi:config/store@0.2.0-rc.1; export run: func(); }",
        "app",
    );
    let bytes = wasm_rr_composer::forwarder(
        &guest,
        &[config.to_string()],
        wasm_rr_composer::Forwarding::Record,
    )
    .unwrap();
    let engine = Engine::default();
    let component = Component::new(&engine, &bytes).unwrap();
    // The host: `get(k)` answers `ok(some("k=42"))`, `get-all` two pairs; `called` keeps what
    // it is handed.
    let mut linker = Linker::<Vec<Handed>>::new(&engine);
    let mut store_iface = linker.instance(config).unwrap();
    store_iface
        .func_new("get", |_, _, params, results| {
            let Val::String(key) = &params[0] else {
                panic!("{params:?}")
            };
            let value = Val::Option(Some(Box::new(Val::String(format!("{key}=42")))));
            results[0] = Val::Result(Ok(Some(Box::new(value))));
            Ok(())
        })
        .unwrap();
    store_iface
        .func_new("get-all", |_, _, _, results| {
            let pair =
                |k: &str, v: &str| Val::Tuple(vec![Val::String(k.into()), Val::String(v.into())]);
            let pairs = Val::List(vec![pair("a", "ünï"), pair("seed", "42")]);
            results[0] = Val::Result(Ok(Some(Box::new(pairs))));
            Ok(())
        })
        .unwrap();
    linker
        .instance("wasm-rr:rr/generic")
        .unwrap()
        .func_new("called", |mut store, _, params, results| {
            let (Val::U32(function), Val::U32(base), Val::List(heap)) =
                (&params[0], &params[3], &params[4])
            else {
                panic!("{params:?}")
            };
            let mut memory = vec![0u8; *base as usize];
            memory.extend(heap.iter().map(|b| match b {
                Val::U8(b) => *b,
                other => panic!("{other:?}"),
            }));
            store.data_mut().push(Handed {
                function: *function,
                args: u64s(&params[1]),
                results: u64s(&params[2]),
                memory,
            });
            // No handles to wrap.
            results[0] = Val::List(vec![]);
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let iface = instance.get_export_index(&mut store, None, config).unwrap();
    let call = |store: &mut Store<Vec<Handed>>, name: &str, args: &[Val]| {
        let index = instance
            .get_export_index(&mut *store, Some(&iface), name)
            .unwrap();
        let func = instance.get_func(&mut *store, index).unwrap();
        let mut out = [Val::Bool(false)];
        func.call(&mut *store, args, &mut out).unwrap();
        out[0].clone()
    };
    // The app gets the host's answers, unchanged.
    let got = call(&mut store, "get", &[Val::String("seed".into())]);
    assert_eq!(
        got,
        Val::Result(Ok(Some(Box::new(Val::Option(Some(Box::new(
            Val::String("seed=42".into())
        )))))))
    );
    let all = call(&mut store, "get-all", &[]);
    let Val::Result(Ok(Some(pairs))) = &all else {
        panic!("{all:?}")
    };
    assert_eq!(
        **pairs,
        Val::List(vec![
            Val::Tuple(vec![Val::String("a".into()), Val::String("ünï".into())]),
            Val::Tuple(vec![Val::String("seed".into()), Val::String("42".into())]),
        ])
    );
    // And the same values are read back from what the forwarder handed over.
    let error = Ty::Variant(vec![Some(Ty::String), Some(Ty::String)]);
    let get_result = Ty::Variant(vec![
        Some(Ty::Variant(vec![None, Some(Ty::String)])),
        Some(error.clone()),
    ]);
    let pairs_ty = Ty::List(Box::new(Ty::Record(vec![Ty::String, Ty::String])));
    let all_result = Ty::Variant(vec![Some(pairs_ty), Some(error)]);
    let handed = store.data();
    assert_eq!(handed.len(), 2);
    let (get, all) = (&handed[0], &handed[1]);
    assert_eq!((get.function, all.function), (0, 1));
    let s = |text: &str| AbiVal::String(text.into());
    assert_eq!(
        abi::lift_flat(&Ty::String, &mut get.args.iter().copied(), &get.memory),
        Ok(s("seed"))
    );
    assert_eq!(get.results.len(), 1, "a return area's address");
    assert_eq!(
        abi::load(&get_result, &get.memory, get.results[0] as u32),
        Ok(AbiVal::Variant(
            0,
            Some(Box::new(AbiVal::Variant(1, Some(Box::new(s("seed=42"))))))
        ))
    );
    assert!(all.args.is_empty());
    assert_eq!(
        abi::load(&all_result, &all.memory, all.results[0] as u32),
        Ok(AbiVal::Variant(
            0,
            Some(Box::new(AbiVal::List(vec![
                AbiVal::Record(vec![s("a"), s("ünï")]),
                AbiVal::Record(vec![s("seed"), s("42")]),
            ])))
        ))
    );
}

/// `wasmtime run` flags that serve the config app's two variables.
const CONFIG_FLAGS: &[&str] = &[
    "-S",
    "config",
    "-S",
    "config-var=seed=42",
    "-S",
    "config-var=name=ana",
];

#[test]
fn a_wasi_config_app_records_on_stock_wasmtime_and_replays_with_no_flags() {
    use wasm_rr_trace::abi::Val as AbiVal;
    let dir = scratch();
    let app = fixture("config_app");
    // `wrap` says which imports go through the generic path and which flag provides them.
    let recording = dir.path().join("app.recording.wasm");
    let wrapped = try_wrap(&app, &recording, None);
    assert_eq!(wrapped.code, Some(0), "{}", wrapped.stderr());
    assert!(
        wrapped.stderr().contains(
            "wasm-rr: recorded from their WIT alone (the generic path): wasi:config/store@0.2.0-rc.1 (2 functions)\n"
        ),
        "{}",
        wrapped.stderr()
    );
    assert!(
        wrapped
            .stderr()
            .contains("run it with `wasmtime run -S config --dir <trace-dir>::/wasm-rr`"),
        "{}",
        wrapped.stderr()
    );
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        CONFIG_FLAGS,
        &["seed", "name", "missing"],
        None,
    );
    assert_printed(
        &recorded,
        &["seed = 42\nname = ana\nmissing is not set\n2 variables\n"],
        "recording",
    );
    // The trace names each call and its answer in WAVE.
    let shown = run(wasm_rr().arg("show").arg(&trace), None);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr());
    for line in [
        r#"wasi:config/store.get("seed") -> ok(some("42"))"#,
        r#"wasi:config/store.get("missing") -> ok(none)"#,
        r#"wasi:config/store.get-all() -> ok(["#,
        r#"("name", "ana")"#,
    ] {
        assert!(
            shown.stdout().contains(line),
            "no {line:?} in:\n{}",
            shown.stdout()
        );
    }
    // The self-replaying component imports no `wasi:config`, and runs twice, identically,
    // with no flags.
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(
        imports.iter().all(|i| !i.starts_with("wasi:config")),
        "{imports:?}"
    );
    // JSON holds the values and their WAVE text, and converts back losslessly.
    let json = dir.path().join("trace.json");
    let back = dir.path().join("back.cbor");
    for (from, to) in [(&trace, &json), (&json, &back)] {
        let r = run(wasm_rr().arg("convert").arg(from).arg(to), None);
        assert_eq!(r.code, Some(0), "{}", r.stderr());
    }
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.contains(r#""wave":"wasi:config/store.get(\"seed\") -> ok(some(\"42\"))""#),
        "{text}"
    );
    assert_eq!(load(&back), load(&trace));
    // A trace whose recorded argument is not the one the app passes: a divergence naming the
    // parameter and both values.
    let mut edited = load(&trace);
    let missing = AbiVal::String("missing".into());
    let event = edited
        .events
        .iter_mut()
        .find_map(|e| {
            e.get_mut::<wasm_rr_trace::generic::Called>()
                .filter(|(c, _)| c.args == [missing.clone()])
        })
        .expect("the call for `missing`");
    event.0.args = vec![AbiVal::String("absent".into())];
    let diverged = replay_edited(dir.path(), &app, &edited);
    assert_eq!(diverged.code, Some(1), "{}", diverged.stderr());
    for line in [
        r#"  expected: wasi:config/store.get("absent")"#,
        r#"  actual:   wasi:config/store.get("missing")"#,
        r#"  difference: argument `key` of wasi:config/store.get is "missing" (recorded: "absent")"#,
    ] {
        assert!(
            diverged.stderr().contains(line),
            "no {line:?} in:\n{}",
            diverged.stderr()
        );
    }
}

#[test]
fn a_platform_api_provided_by_a_plugged_component_is_recorded_and_replays_without_it() {
    let dir = scratch();
    let app = fixture("plugin_app");
    let provider = fixture("inventory_provider");
    // Without a provider, `wrap` says what no stock flag provides, and how to provide it.
    let plain = try_wrap(&app, &dir.path().join("plain.wasm"), None);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr());
    assert!(
        plain.stderr().contains(
            "wasm-rr: note: no stock wasmtime flag provides wasi:logging/logging@0.1.0-draft, acme:inventory/db@0.1.0: give a component that exports them with `--plug COMPONENT` (or compose one in with `wac plug`); the replay needs none\n"
        ),
        "{}",
        plain.stderr()
    );
    // A plug that provides nothing the app needs is refused, naming it.
    let useless = run(
        wasm_rr()
            .arg("wrap")
            .arg(fixture("config_app"))
            .arg("--plug")
            .arg(&provider)
            .arg("-o")
            .arg(dir.path().join("useless.wasm")),
        None,
    );
    assert_eq!(useless.code, Some(2), "{}", useless.stderr());
    assert_eq!(
        useless.stderr(),
        format!(
            "wasm-rr: error: cannot plug {} into {}: it exports none of the interfaces the app imports outside WASI's core (wasi:config/store@0.2.0-rc.1)\n",
            provider.display(),
            fixture("config_app").display()
        )
    );
    assert!(!dir.path().join("useless.wasm").exists());
    // Recorded on stock wasmtime with the provider plugged in (its log lines on stderr).
    let provider_flag = provider.to_str().unwrap();
    let (recording, traces) = wrap_for_recording(dir.path(), &app, &["--plug", provider_flag]);
    let recorded = run_recording(&recording, &traces, &[], &[]);
    assert_printed(
        &recorded,
        &[
            "pear: Error::NotFound(\"pear\")\n1 items start with a\n",
            "restock failed: Error::Invalid((\"kiwi\", 1))\n",
        ],
        "recording",
    );
    assert_eq!(
        recorded.stderr(),
        "[Level::Info] plugin-app: starting\n[Level::Warn] plugin-app: done\n"
    );
    let trace = traces.join("trace.cbor");
    let shown = run(wasm_rr().arg("show").arg(&trace), None);
    assert!(
        !shown.stdout().contains("drop cart#0"),
        "{}",
        shown.stdout()
    );
    for line in [
        r#"wasi:logging/logging.log(info, "plugin-app", "starting")"#,
        r#"acme:inventory/db.lookup("apple", {exact}) -> ok({name: "apple", count: "#,
        r#"unit: piece, price: 0.25, tags: ["fruit", "red"]})"#,
        r#"acme:inventory/db.lookup("pear", {exact}) -> err(not-found("pear"))"#,
        r#"acme:inventory/db.search("a", some(10)) -> [{name: "apple""#,
        r#"acme:inventory/db.restock("kiwi", 1) -> err(invalid(("kiwi", 1)))"#,
        // A resource made by its constructor, used, and handed back to the host, which
        // consumes it (no drop: the host has it).
        "acme:inventory/db.[constructor]cart(\"ana\") -> cart#0\n",
        "acme:inventory/db.[method]cart.add(cart#0, \"pear\", 1)\n",
        "acme:inventory/db.[method]cart.total(cart#0) -> ",
        "acme:inventory/db.checkout(cart#0) -> ok(",
    ] {
        assert!(
            shown.stdout().contains(line),
            "no {line:?} in:\n{}",
            shown.stdout()
        );
    }
    // The replay runs without the provider: the same output, twice (the provider's numbers
    // change from run to run, so only the trace can give them), and no log lines.
    for _ in 0..2 {
        let replayed = replay_on_wasmtime(dir.path(), &app, &trace);
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout(), recorded.stdout());
        assert_eq!(replayed.stderr(), "");
    }
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(
        imports
            .iter()
            .all(|i| !i.starts_with("acme:") && !i.starts_with("wasi:logging")),
        "{imports:?}"
    );
    // The embedded host takes `--plug` too, and replays without it.
    let embedded = record_embedded(
        dir.path(),
        &app,
        &["-t", "embedded.cbor", "--plug", provider_flag],
        &[],
        None,
    );
    assert_eq!(embedded.code, Some(0), "{}", embedded.stderr());
    assert!(
        embedded.stdout().contains("\npaid "),
        "{}",
        embedded.stdout()
    );
    let replayed = replay_embedded(dir.path(), &app, Some(&dir.path().join("embedded.cbor")));
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout(), embedded.stdout());
}

/// `wasmtime run` flags that serve an in-memory key-value store holding `seed`.
const KEYVALUE_FLAGS: &[&str] = &["-S", "keyvalue", "-S", "keyvalue-in-memory-data=seed=42"];

#[test]
fn a_wasi_keyvalue_app_records_its_buckets_as_numbered_handles_and_replays_with_no_flags() {
    let dir = scratch();
    let app = fixture("keyvalue_app");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, KEYVALUE_FLAGS, &[], None);
    assert_printed(
        &recorded,
        &[
            "seed = 42\ngreeting exists: true\nvisits = 5\nkeys: greeting, seed, visits\n",
            "after delete, greeting = (none)\nno-such-store: Error::NoSuchStore\n",
        ],
        "recording",
    );
    // Handles by resource and creation order, methods with their `self`, borrows passed to
    // another interface (`atomics`, `batch`), and drops.
    let shown = run(wasm_rr().arg("show").arg(&trace), None);
    let text = shown.stdout();
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('#') && (l.contains("keyvalue") || l.contains(" drop ")))
        .map(|l| l.split_once(' ').map_or(l, |(_, e)| e))
        .collect();
    assert_eq!(
        events,
        [
            r#"wasi:keyvalue/store.open("") -> ok(bucket#0)"#,
            r#"wasi:keyvalue/store.[method]bucket.get(bucket#0, "seed") -> ok(some([52, 50]))"#,
            r#"wasi:keyvalue/store.[method]bucket.set(bucket#0, "greeting", [104, 101, 108, 108, 111]) -> ok"#,
            r#"wasi:keyvalue/store.[method]bucket.exists(bucket#0, "greeting") -> ok(true)"#,
            r#"wasi:keyvalue/atomics.increment(bucket#0, "visits", 5) -> ok(5)"#,
            events[5],
            r#"wasi:keyvalue/batch.get-many(bucket#0, ["seed", "nope"]) -> ok([some(("seed", [52, 50])), none])"#,
            r#"wasi:keyvalue/store.[method]bucket.delete(bucket#0, "greeting") -> ok"#,
            r#"wasi:keyvalue/store.open("") -> ok(bucket#1)"#,
            r#"wasi:keyvalue/store.[method]bucket.get(bucket#1, "greeting") -> ok(none)"#,
            "drop bucket#1",
            r#"wasi:keyvalue/store.open("no-such-store") -> err(no-such-store)"#,
            "drop bucket#0",
        ],
        "{text}"
    );
    assert!(
        events[5].starts_with(
            "wasi:keyvalue/store.[method]bucket.list-keys(bucket#0, none) -> ok({keys: ["
        ),
        "{}",
        events[5]
    );
    let summary = run(wasm_rr().args(["show", "--summary"]).arg(&trace), None);
    assert!(
        summary.stdout().contains(
            "recorded from their WIT: wasi:keyvalue/atomics@0.2.0-draft 1 call, wasi:keyvalue/batch@0.2.0-draft 1 call, wasi:keyvalue/store@0.2.0-draft 9 calls; 2 handles dropped\n"
        ),
        "{}",
        summary.stdout()
    );
    // No keyvalue store, no flags: the same output, twice.
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(
        imports.iter().all(|i| !i.starts_with("wasi:keyvalue")),
        "{imports:?}"
    );
    // The embedded host replays it too, and records it as `wasmtime run -S keyvalue` does.
    let replayed = replay_embedded(dir.path(), &app, Some(&trace));
    assert_eq!(replayed, recorded);
    let embedded = record_embedded(
        dir.path(),
        &app,
        &[
            "-t",
            "embedded.cbor",
            "-S",
            "keyvalue-in-memory-data=seed=42",
        ],
        &[],
        None,
    );
    assert_eq!(embedded.code, Some(0), "{}", embedded.stderr());
    assert_eq!(embedded.stdout(), recorded.stdout());
    let embedded_trace = dir.path().join("embedded.cbor");
    assert_eq!(
        replay_embedded(dir.path(), &app, Some(&embedded_trace)).stdout(),
        recorded.stdout()
    );
    let bad = record_embedded(
        dir.path(),
        &app,
        &["-S", "keyvalue-in-memory-data=seed"],
        &[],
        None,
    );
    assert_eq!(bad.code, Some(2), "{}", bad.stderr());
    assert_eq!(
        bad.stderr(),
        "wasm-rr: error: -S keyvalue-in-memory-data=seed: the value must be KEY=VALUE\n"
    );
}

#[test]
fn a_componentize_py_app_using_wasi_keyvalue_records_and_replays() {
    // A third-party toolchain's component: componentize-py's canonical ABI code, and its
    // bindings' use of a resource (the bucket), through the generic path.
    let dir = scratch();
    let app = fixture("python_keyvalue_app");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, KEYVALUE_FLAGS, &[], None);
    assert_printed(
        &recorded,
        &["seed 42\nvisits 2\nkeys ['language', 'seed', 'visits']\nelsewhere: Error_NoSuchStore\n"],
        "recording",
    );
    let shown = run(wasm_rr().arg("show").arg(&trace), None);
    for line in [
        r#"wasi:keyvalue/store.open("") -> ok(bucket#0)"#,
        r#"wasi:keyvalue/atomics.increment(bucket#0, "visits", 2) -> ok(2)"#,
        r#"wasi:keyvalue/store.open("elsewhere") -> err(no-such-store)"#,
    ] {
        assert!(
            shown.stdout().contains(line),
            "no {line:?} in:\n{}",
            shown.stdout()
        );
    }
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
}

#[test]
fn a_componentize_py_app_of_a_platform_api_records_with_a_plugged_provider_and_replays_without_it()
{
    // A third-party toolchain's component (componentize-py) importing a platform's own API
    // (`acme:inventory/db`, with its `cart` resource) and `wasi:logging`, which no runtime
    // provides: a component composed in with `--plug` provides them while recording.
    let dir = scratch();
    let app = fixture("python_plugin_app");
    let provider = fixture("inventory_provider");
    let (recording, traces) =
        wrap_for_recording(dir.path(), &app, &["--plug", provider.to_str().unwrap()]);
    let recorded = run_recording(&recording, &traces, &[], &[]);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // The provider's log line, on stderr while recording only.
    assert_eq!(recorded.stderr(), "[Level::Info] python-plugin: done\n");
    let out = recorded.stdout();
    assert!(
        out.starts_with("apple ")
            && out.contains(" PIECE ['fruit', 'red']\npear: Error_NotFound\nnow ")
            && out.contains("\ntotal ")
            && out.contains("\ncheckout "),
        "{out}"
    );
    let trace = traces.join("trace.cbor");
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    for event in [
        r#"acme:inventory/db.[constructor]cart("ana") -> cart#0"#,
        r#"acme:inventory/db.[method]cart.add(cart#0, "apple", 3)"#,
        r#"wasi:logging/logging.log(info, "python-plugin", "done")"#,
    ] {
        assert!(shown.contains(event), "no {event} in:\n{shown}");
    }
    // With neither the provider nor flags, the same output, twice (the log line was the
    // provider's, not the app's).
    for _ in 0..2 {
        let replayed = replay_on_wasmtime(dir.path(), &app, &trace);
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout(), out);
        assert_eq!(replayed.stderr(), "");
    }
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(
        imports
            .iter()
            .all(|i| !i.starts_with("acme:") && !i.starts_with("wasi:logging")),
        "{imports:?}"
    );
}
