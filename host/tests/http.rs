//! `wasi:http` outgoing requests: guests on the raw bindings, wstd and waki record on the stock
//! `wasmtime` CLI (`-S http`) against a hyper server this test starts on loopback, and replay
//! byte for byte with the server stopped and no flags.

mod common;
#[path = "common/http_server.rs"]
mod http_server;

use common::*;
use wasm_rr_trace::http::{self as h, ErrorCode, HeaderError};
use wasm_rr_trace::{Call, Event, Request, StreamError, cli, streams};

const HTTP: &[&str] = &["-S", "http"];

fn http_events(trace: &wasm_rr_trace::Trace) -> Vec<&Event> {
    trace
        .events
        .iter()
        .filter(|e| matches!(e.call, Call::Http(_)))
        .collect()
}

/// The answers of the calls `C` in `trace`.
fn answers<C: Request + 'static>(trace: &wasm_rr_trace::Trace) -> Vec<&C::Answer> {
    trace
        .events
        .iter()
        .filter_map(|e| Some(e.get::<C>()?.1))
        .collect()
}

/// How many requests the guest sent (`outgoing-handler.handle` calls).
fn handles(trace: &wasm_rr_trace::Trace) -> usize {
    answers::<h::Handle>(trace).len()
}

/// Records `app ARGS` on stock wasmtime against a fresh server (`{}` in an argument is the
/// server's address), stops the server, replays twice with no flags, and checks that the
/// replays print exactly what the recording did and that the self-replaying component imports
/// no `wasi:http`. Returns the recording and its trace.
fn record_and_replay(
    dir: &std::path::Path,
    app: &str,
    args: &[&str],
) -> (Run, wasm_rr_trace::Trace) {
    let app = fixture(app);
    let server = http_server::start();
    let args = server.fill(args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (recorded, trace_path) = record_on_wasmtime(dir, &app, HTTP, &args, None);
    server.stop();
    if recorded.code != Some(0) {
        let shown = run(wasm_rr().arg("show").arg(&trace_path), None).stdout();
        panic!("recording failed: {}\n{shown}", recorded.stderr());
    }
    assert_replays(dir, &app, &trace_path, &recorded, 2);
    let (imports, _) = world_of(&dir.join("app.replay.wasm"));
    assert!(
        imports.iter().all(|i| !i.starts_with("wasi:http")),
        "{imports:?}"
    );
    (recorded, load(&trace_path))
}

#[test]
fn get_with_a_chunked_response_and_trailers() {
    let dir = scratch();
    let (recorded, trace) =
        record_and_replay(dir.path(), "http_client", &["get", "http://{}/chunked"]);
    let out = recorded.stdout();
    assert!(out.starts_with("get: status 200\n"), "{out}");
    assert!(out.contains("get: body \"one,two,three\"\n"), "{out}");
    assert!(out.ends_with("get: trailer x-checksum: 42\n"), "{out}");
    let trailers = answers::<h::TrailersGet>(&trace);
    assert!(
        trailers.iter().any(|a| matches!(a, Some(Ok(Ok(Some(_)))))),
        "{trailers:?}"
    );
    // The request head as the host was given it.
    let sent = answers::<h::Handle>(&trace)[0];
    assert!(sent.head.line().ends_with("/chunked"), "{:?}", sent.head);
    assert!(sent.result.is_ok());
}

#[test]
fn post_with_a_streamed_request_body() {
    let dir = scratch();
    let (recorded, trace) = record_and_replay(
        dir.path(),
        "http_client",
        &["post", "http://{}/echo", "256"],
    );
    let out = recorded.stdout();
    assert!(
        out.starts_with("post: finish Ok(())\npost: status 200\n"),
        "{out}"
    );
    assert!(
        out.contains("post: body \"received 262144 bytes\"\n"),
        "{out}"
    );
    // The body went out through a numbered stream: 256 writes of 1 KiB, as length and hash.
    let stream = *answers::<h::OutgoingStream>(&trace)[0].as_ref().unwrap();
    let writes: Vec<u64> = trace
        .events
        .iter()
        .filter_map(|e| e.get::<streams::Write>())
        .filter(|(w, _)| w.stream == stream)
        .map(|(w, _)| w.len)
        .collect();
    assert_eq!(writes, vec![1024; 256]);
}

#[test]
fn a_404_and_a_response_cut_off_mid_body() {
    let dir = scratch();
    let (recorded, _) = record_and_replay(dir.path(), "http_client", &["get", "http://{}/nothing"]);
    let out = recorded.stdout();
    assert!(out.starts_with("get: status 404\n"), "{out}");
    assert!(out.contains("get: body \"no such page\"\n"), "{out}");

    let dir = scratch();
    let (recorded, trace) = record_and_replay(dir.path(), "http_client", &["get", "http://{}/cut"]);
    let out = recorded.stdout();
    // wasmtime fails the read (`last-operation-failed`) and has no `error-code` for it.
    assert!(
        out.contains("get: body failed after 100 bytes: None\n"),
        "{out}"
    );
    assert!(
        answers::<streams::Read>(&trace)
            .iter()
            .any(|r| matches!(r, Err(StreamError::Failed(_)))),
        "{:?}",
        trace.events
    );
    assert!(answers::<h::ErrorCodeOf>(&trace).contains(&&None));
}

#[test]
fn connection_refused_is_recorded_and_replayed() {
    let dir = scratch();
    // A port nobody listens on: bound, then closed; on 127.0.0.2, where the other tests'
    // servers (on 127.0.0.1, port 0) cannot take it meanwhile.
    let port = std::net::TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.2:{port}/x");
    let (recorded, trace) = record_and_replay(dir.path(), "http_client", &["get", &url]);
    assert_eq!(
        recorded.stdout(),
        "get: error ErrorCode::ConnectionRefused\n"
    );
    assert!(
        answers::<h::ResponseGet>(&trace).contains(&&Some(Ok(Err(ErrorCode::ConnectionRefused))))
    );
}

#[test]
fn headers_and_values_the_host_refuses() {
    let dir = scratch();
    let (recorded, trace) =
        record_and_replay(dir.path(), "http_client", &["forbidden", "http://{}/hello"]);
    let out = recorded.stdout();
    assert!(
        out.starts_with(
            "append \"host\": Err(HeaderError::Forbidden)\n\
             append \"connection\": Err(HeaderError::Forbidden)\n\
             append \"transfer-encoding\": Err(HeaderError::Forbidden)\n\
             append \"bad name\": Err(HeaderError::InvalidSyntax)\n\
             append \"x-fine\": Ok(())\n\
             set-method: Err(())\n\
             set-authority: Err(())\n\
             forbidden: status 200\n"
        ),
        "{out}"
    );
    assert!(answers::<h::FieldsAppend>(&trace).contains(&&Err(HeaderError::Forbidden)));
}

#[test]
fn two_requests_in_flight_polled_together() {
    let dir = scratch();
    let (recorded, trace) = record_and_replay(
        dir.path(),
        "http_client",
        &["two", "http://{}/hello", "http://{}/chunked"],
    );
    let out = recorded.stdout();
    assert!(out.contains("a: body \"hello\"\n"), "{out}");
    assert!(out.contains("b: body \"one,two,three\"\n"), "{out}");
    assert_eq!(handles(&trace), 2);
}

#[test]
fn a_changed_header_on_replay_is_a_divergence_naming_it() {
    let dir = scratch();
    let app = fixture("http_client");
    let server = http_server::start();
    let url = server.url("/hello");
    let (recorded, trace_path) = record_on_wasmtime(
        dir.path(),
        &app,
        HTTP,
        &["get", &url, "x-request-id:a1"],
        None,
    );
    server.stop();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let mut trace = load(&trace_path);
    for e in &mut trace.events {
        if let Some((_, args)) = e.get_mut::<cli::GetArguments>() {
            args[3] = "x-request-id:b7".into();
        }
    }
    let r = replay_edited(dir.path(), &app, &trace);
    assert_eq!(r.code, Some(1), "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains("  expected: http fields 0 append x-request-id: \"a1\"\n  actual:   http fields 0 append x-request-id: \"b7\"\n  difference: header x-request-id: expected \"a1\", actual \"b7\"\n"),
        "{err}"
    );
}

#[test]
fn the_embedded_host_serves_http_and_show_lists_the_exchanges() {
    let dir = scratch();
    let app = fixture("http_client");
    let server = http_server::start();
    let url = server.url("/chunked");
    let recorded = record_embedded(dir.path(), &app, &[], &["get", &url], None);
    server.stop();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().contains("get: body \"one,two,three\"\n"));
    let trace = dir.path().join("wasm-rr-trace.cbor");
    let replayed = replay_embedded(dir.path(), &app, Some(&trace));
    assert_eq!(replayed.stdout, recorded.stdout);
    assert_eq!(replayed.code, Some(0));
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let chunks = load(&trace)
        .events
        .iter()
        .filter_map(|e| e.get::<streams::Read>())
        .filter(|(r, data)| r.stream.0 >= 3 && data.as_ref().is_ok_and(|b| !b.0.is_empty()))
        .count();
    let s = if chunks == 1 { "" } else { "s" };
    assert!(
        shown.contains(&format!(
            "HTTP exchanges (1):\n  GET {url} -> 200, 13 B body, {chunks} chunk{s}\n"
        )),
        "{shown}"
    );
}

#[test]
fn wrapping_says_the_recording_needs_dash_s_http() {
    let dir = scratch();
    let app = fixture("http_client");
    let out = dir.path().join("rec.wasm");
    let r = run(wasm_rr().arg("wrap").arg(&app).arg("-o").arg(&out), None);
    assert_eq!(r.code, Some(0));
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: wrote {} (recording component: run it with `wasmtime run -S http --dir <trace-dir>::/wasm-rr`)\n",
            out.display()
        )
    );
    // Without -S http, stock wasmtime cannot link it, and says which import is missing.
    let r = run(
        wasmtime().arg(&out).args(["get", "http://127.0.0.1:1/"]),
        None,
    );
    assert_ne!(r.code, Some(0));
    assert!(r.stderr().contains("wasi:http/"), "{}", r.stderr());
}

#[test]
fn a_wstd_client_with_two_requests_in_flight() {
    let dir = scratch();
    let (recorded, trace) = record_and_replay(
        dir.path(),
        "wstd_client",
        &["http://{}/echo", "http://{}/echo"],
    );
    assert_eq!(
        recorded.stdout(),
        "a: 200 OK \"received 6 bytes\"\nb: 200 OK \"received 7 bytes\"\n"
    );
    // Two exchanges, each with its own numbered resources and streams (how they interleave
    // is wstd's and the host's business; the replay follows the recorded interleaving).
    assert_eq!(handles(&trace), 2);
}

#[test]
fn a_waki_client_on_wasi_http_0_2_4() {
    let dir = scratch();
    let (recorded, trace) = record_and_replay(
        dir.path(),
        "waki_client",
        &["http://{}/hello", "x-request-id:a1"],
    );
    assert_eq!(recorded.stdout(), "status 200\nbody \"hello\"\n");
    assert!(
        trace
            .header
            .guest_imports
            .contains(&"wasi:http/outgoing-handler@0.2.4".to_string()),
        "{:?}",
        trace.header.guest_imports
    );
    assert!(
        http_events(&trace)
            .iter()
            .any(|e| entries_of(&e.call).contains(&"x-request-id".to_string())),
        "{:?}",
        http_events(&trace)
    );
}

/// The header names a fields call carries.
fn entries_of(call: &Call) -> Vec<String> {
    match call {
        Call::Http(h::Call::FieldsFromList(c)) => {
            c.entries.iter().map(|(n, _)| n.clone()).collect()
        }
        Call::Http(h::Call::FieldsSet(c)) => vec![c.name.clone()],
        Call::Http(h::Call::FieldsAppend(c)) => vec![c.name.clone()],
        _ => vec![],
    }
}

#[test]
fn dropping_a_body_before_its_stream_traps_recording_and_replaying() {
    let dir = scratch();
    let app = fixture("http_client");
    let server = http_server::start();
    let (recorded, trace_path) = record_on_wasmtime(
        dir.path(),
        &app,
        HTTP,
        &["misuse", &server.url("/hello")],
        None,
    );
    server.stop();
    assert_eq!(recorded.stdout(), "dropping the body before its stream\n");
    assert_ne!(recorded.code, Some(0));
    let rule = "wasm-rr: the guest broke a WASI rule: an incoming-body was dropped or finished while its stream or a pollable of it is alive (resource has children)\n";
    assert!(recorded.stderr().starts_with(rule), "{}", recorded.stderr());
    let replayed = replay_on_wasmtime(dir.path(), &app, &trace_path);
    assert_eq!(replayed.stdout, recorded.stdout);
    assert_eq!(replayed.code, recorded.code);
    assert!(replayed.stderr().starts_with(rule), "{}", replayed.stderr());
}

/// A component of `world` in `fixtures/wit/wasi-0.2.0` (WASI 0.2.0) whose functions all trap:
/// enough to check that every `wasi:http@0.2.0` import plugs, and that it records and replays.
fn wasi_0_2_0_component(world: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/wit/wasi-0.2.0");
    let (pkg, _) = resolve.push_dir(dir).unwrap();
    let world = resolve.select_world(&[pkg], Some(world)).unwrap();
    dummy_component(&resolve, world)
}

#[test]
fn wasi_http_0_2_0_clients_and_handlers_plug() {
    let dir = scratch();
    // A client: its recording traps in the guest (a dummy), and that trace replays the trap.
    let app = dir.path().join("client.wasm");
    std::fs::write(&app, wasi_0_2_0_component("client")).unwrap();
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, HTTP, &[], None);
    assert_ne!(recorded.code, Some(0));
    let header = load(&trace).header;
    assert!(
        header
            .guest_imports
            .contains(&"wasi:http/outgoing-handler@0.2.0".to_string()),
        "{:?}",
        header.guest_imports
    );
    let replayed = replay_on_wasmtime(dir.path(), &app, &trace);
    assert_eq!(replayed.code, recorded.code);
    // A handler: wrapping for `wasmtime serve` plugs its 0.2.0 imports and export.
    let app = dir.path().join("server.wasm");
    std::fs::write(&app, wasi_0_2_0_component("server")).unwrap();
    let out = dir.path().join("server.recording.wasm");
    wrap(&app, &out, None);
    let (_, exports) = wasm_rr_composer::component_world(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        exports,
        vec!["wasi:http/incoming-handler@0.2.12".to_string()]
    );
}
