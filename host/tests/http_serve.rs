//! `wasi:http/incoming-handler` guests (the `wasi:http/proxy` world): recorded under stock
//! `wasmtime serve -Scli`, one trace per request, and each request trace replayed by
//! `wasmtime run` (no flags, no network) as a command that prints the response; the same with
//! `wasm-rr serve` and `wasm-rr replay`.

mod common;
#[path = "common/http_server.rs"]
mod http_server;
#[path = "common/serving.rs"]
mod serving;

use common::*;
use serving::{Serving, start_serving};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasm_rr_trace::http as h;

/// `wasm-rr serve APP` on a port the system picks, writing request traces into `traces`.
fn wasm_rr_serve(app: &Path, traces: &Path) -> Serving {
    wasm_rr_serve_with(app, traces, &[])
}

/// `wasm-rr serve APP FLAGS…`, as [`wasm_rr_serve`].
fn wasm_rr_serve_with(app: &Path, traces: &Path, flags: &[&str]) -> Serving {
    let mut cmd = wasm_rr();
    cmd.arg("serve")
        .arg(app)
        .args(["--addr", "127.0.0.1:0", "-t"])
        .arg(traces)
        .args(flags);
    start_serving(cmd, "serving HTTP on ")
}

fn is_request_trace_name(name: &str) -> bool {
    // req-<20 digits>-<8 hex digits>.cbor
    let Some(rest) = name
        .strip_prefix("req-")
        .and_then(|r| r.strip_suffix(".cbor"))
    else {
        return false;
    };
    let Some((ns, tag)) = rest.split_once('-') else {
        return false;
    };
    ns.len() == 20
        && ns.bytes().all(|b| b.is_ascii_digit())
        && tag.len() == 8
        && tag.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn a_request_recorded_under_wasmtime_serve_replays_with_wasmtime_run() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let recording = dir.path().join("app.recording.wasm");
    let wrapped = run(
        wasm_rr().arg("wrap").arg(&app).arg("-o").arg(&recording),
        None,
    );
    assert_eq!(
        wrapped.stderr(),
        format!(
            "wasm-rr: wrote {} (recording component: serve it with `wasmtime serve -Scli --dir <trace-dir>::/wasm-rr`; every request writes its own trace)\n",
            recording.display()
        )
    );
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let upstream = http_server::start();
    let mut cmd = Command::new("wasmtime");
    cmd.args(["serve", "-Scli", "--addr", "127.0.0.1:0", "--dir"])
        .arg(format!("{}::/wasm-rr", traces.display()))
        .arg(&recording);
    let serving = start_serving(cmd, "Serving HTTP on ");
    let upstream_url = upstream.url("/echo");
    let first = http_server::request(
        &serving.addr,
        "POST",
        "/first?x=1",
        &[("x-upstream", &upstream_url)],
        "hello",
    );
    let second = http_server::request(&serving.addr, "GET", "/second", &[], "");
    serving.stop();
    upstream.stop();
    assert_eq!(first.status, 200);
    assert!(
        first
            .headers
            .iter()
            .any(|(n, v)| n == "x-served-by" && v == "wasm-rr-fixture"),
        "{first:?}"
    );
    assert!(
        first
            .body
            .starts_with("/first?x=1: you sent 5 bytes; lucky number "),
        "{first:?}"
    );
    assert!(
        first
            .body
            .ends_with("; upstream said \"received 4 bytes\"\n"),
        "{first:?}"
    );
    assert!(second.body.ends_with("; no upstream\n"), "{second:?}");

    // One trace per request, named so that `ls` sorts them by arrival.
    let found = dir_entries(&traces);
    assert_eq!(found.len(), 2, "{found:?}");
    for t in &found {
        let name = t.file_name().unwrap().to_str().unwrap();
        assert!(is_request_trace_name(name), "{name}");
    }

    // The first request's trace: the request, the handler's own outgoing request, the
    // response.
    let trace = load(&found[0]);
    let incoming = trace
        .events
        .iter()
        .find_map(|e| Some(e.get::<h::Incoming>()?.1.head.clone()));
    let head = incoming.expect("an incoming request");
    assert_eq!(
        head.line(),
        format!("POST http://{}/first?x=1", serving_authority(&head))
    );
    assert!(
        head.headers
            .iter()
            .any(|(n, v)| n == "x-upstream" && v.0 == upstream_url.as_bytes()),
        "{head:?}"
    );
    let shown = run(wasm_rr().arg("show").arg(&found[0]), None).stdout();
    let body_len = first.body.len();
    assert!(
        shown.contains(&format!(
            "HTTP exchanges (2):\n  incoming POST http://{}/first?x=1 -> 200, {body_len} B body, 1 chunk\n  POST {upstream_url} -> 200, 16 B body, 1 chunk\n",
            serving_authority(&head)
        )),
        "{shown}"
    );

    // Replayed by stock wasmtime, no flags: the handler runs again and the response is printed.
    for (trace, reply) in [(&found[0], &first), (&found[1], &second)] {
        let replaying = dir.path().join("req.replay.wasm");
        wrap(&app, &replaying, Some(trace));
        let replayed = run(wasmtime().arg(&replaying), None);
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        let expected_head = "HTTP/1.1 200\nx-served-by: wasm-rr-fixture\n\n";
        let out = replayed.stdout();
        let at = out.find(expected_head).unwrap_or_else(|| panic!("{out}"));
        assert_eq!(&out[at + expected_head.len()..], reply.body);
        let replaying = std::fs::read(&replaying).unwrap();
        let (imports, exports) = wasm_rr_composer::component_world(&replaying).unwrap();
        assert!(
            imports.iter().all(|i| !i.starts_with("wasi:http")),
            "{imports:?}"
        );
        assert_eq!(exports, vec!["wasi:cli/run@0.2.12".to_string()]);
    }

    // The embedded replay of a request trace prints its wasi:http events with the handler's
    // frame that made each (this build has no DWARF: function names and module offsets).
    let calls = run(
        wasm_rr()
            .arg("replay")
            .arg(&app)
            .arg(&found[0])
            .arg("--calls=wasi:http"),
        None,
    );
    assert_eq!(calls.code, Some(0), "{}", calls.stderr());
    assert!(
        calls.stdout().ends_with(&first.body),
        "{}\n{}",
        calls.stdout(),
        calls.stderr()
    );
    let err = calls.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('#')).collect();
    assert!(
        lines.len() > 5
            && lines.iter().all(|l| l
                .split_once(' ')
                .is_some_and(|(_, call)| call.starts_with("http "))),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("  at ") || l.contains("(no frame of the app's)"))
            && lines
                .iter()
                .any(|l| l.contains(" (wstd_server-") && l.contains(".wasm+0x")),
        "{err}"
    );
}

/// The authority the request was recorded with (the server's address).
fn serving_authority(head: &wasm_rr_trace::http::RequestHead) -> String {
    head.authority.clone().unwrap_or_default()
}

#[test]
fn a_handler_that_answers_differently_on_replay_is_a_divergence() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let traces = dir.path().join("traces");
    let serving = wasm_rr_serve(&app, &traces);
    let reply = http_server::request(&serving.addr, "GET", "/same", &[], "");
    serving.stop();
    assert_eq!(reply.status, 200);
    let found = dir_entries(&traces);
    assert_eq!(found.len(), 1, "{found:?}");

    // `wasm-rr replay` handles request traces: the same response again.
    let replayed = run(wasm_rr().arg("replay").arg(&app).arg(&found[0]), None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert!(
        replayed.stdout().ends_with(&reply.body),
        "{}",
        replayed.stdout()
    );

    // The handler is told another path now, so it prints and answers something else.
    let mut trace = load(&found[0]);
    for e in &mut trace.events {
        if let Some((_, path)) = e.get_mut::<h::GetPathWithQuery>() {
            *path = Some("/other".into());
        }
    }
    let r = replay_edited(dir.path(), &app, &trace);
    assert_eq!(r.code, Some(1), "{}", r.stderr());
    assert!(
        r.stderr().contains("wasm-rr: replay diverged at event "),
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr()
            .contains("  expected: wasi:io/streams.output-stream."),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_request_trace_is_refused_for_another_component() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let traces = dir.path().join("traces");
    let serving = wasm_rr_serve(&app, &traces);
    http_server::request(&serving.addr, "GET", "/x", &[], "");
    serving.stop();
    let trace = &dir_entries(&traces)[0];
    let other = fixture("http_client");
    let out = dir.path().join("out.wasm");
    let r = try_wrap(&other, &out, Some(trace));
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr()
            .contains("the trace was recorded from a different component"),
        "{}",
        r.stderr()
    );
    assert!(!out.exists());
    // And `wasm-rr record` points a handler to `wasm-rr serve`.
    let r = run(
        wasm_rr().current_dir(dir.path()).arg("record").arg(&app),
        None,
    );
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: {} is an HTTP handler (it exports wasi:http/incoming-handler): record it with `wasm-rr serve`\n",
            app.display()
        )
    );
}

#[test]
fn a_reused_instance_is_refused_rather_than_recorded_wrong() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let recording = dir.path().join("app.recording.wasm");
    wrap(&app, &recording, None);
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let mut cmd = Command::new("wasmtime");
    cmd.args(["serve", "-Scli", "--addr", "127.0.0.1:0"])
        .args(["--max-instance-reuse-count", "2", "--dir"])
        .arg(format!("{}::/wasm-rr", traces.display()))
        .arg(&recording);
    let serving = start_serving(cmd, "Serving HTTP on ");
    // wasmtime reuses an instance once it is idle, which a busy machine may delay: requests
    // go one after another until one reaches a reused instance.
    let mut bodies = Vec::new();
    let refused = (0..20).find_map(|i| {
        let r = http_server::request(&serving.addr, "GET", &format!("/{i}"), &[], "");
        if r.status == 200 {
            bodies.push(r.body);
            None
        } else {
            Some(r.status)
        }
    });
    assert!(
        refused.is_some(),
        "no request reached a reused instance in 20"
    );
    serving.wait_for_stderr(
        "wasm-rr: this instance is handling a second request; to be recorded, every request needs an instance of its own (leave `wasmtime serve --max-instance-reuse-count` at its default, 1)",
    );
    drop(serving);
    // The traces of the requests answered are whole, and replay.
    let found = dir_entries(&traces);
    assert_eq!(found.len(), bodies.len(), "{found:?}");
    let replayed = run(wasm_rr().arg("replay").arg(&app).arg(&found[0]), None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert!(
        bodies
            .iter()
            .any(|b| replayed.stdout().ends_with(b.as_str())),
        "{}",
        replayed.stdout()
    );
}

/// `wasm-rr wrap APP -o DIR/app.recording.wasm FLAGS…`, then stock `wasmtime serve -Scli` of
/// it, writing request traces into `DIR/traces`.
fn serve_recording(dir: &Path, app: &Path, wrap_flags: &[&str]) -> (Serving, PathBuf) {
    let (recording, traces) = wrap_for_recording(dir, app, wrap_flags);
    let mut cmd = Command::new("wasmtime");
    cmd.args(["serve", "-Scli", "--addr", "127.0.0.1:0", "--dir"])
        .arg(format!("{}::/wasm-rr", traces.display()))
        .arg(&recording);
    (start_serving(cmd, "Serving HTTP on "), traces)
}

/// The path of the request a request trace holds.
fn recorded_path(trace: &Path) -> String {
    let head = load(trace)
        .events
        .iter()
        .find_map(|e| Some(e.get::<h::Incoming>()?.1.head.clone()))
        .expect("an incoming request");
    head.line().rsplit('/').next().unwrap().to_string()
}

#[test]
fn sampling_records_some_requests_and_serves_all() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let (serving, traces) = serve_recording(dir.path(), &app, &["--sample", "2"]);
    for i in 0..40 {
        let reply = http_server::request(&serving.addr, "GET", &format!("/r{i}"), &[], "");
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(
            reply.body.starts_with(&format!("/r{i}: you sent 0 bytes")),
            "{reply:?}"
        );
    }
    serving.stop();
    // One request in two on average: that none or all 40 were recorded has a chance of 2^-39.
    let found = dir_entries(&traces);
    assert!(
        (1..40).contains(&found.len()),
        "{} of 40 requests recorded",
        found.len()
    );
    for t in &found {
        assert!(recorded_path(t).starts_with('r'), "{}", t.display());
    }
}

#[test]
fn a_full_trace_directory_pauses_recording_saying_so_once() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let (serving, traces) = serve_recording(dir.path(), &app, &["--max-traces", "2"]);
    for i in 1..=4 {
        let reply = http_server::request(&serving.addr, "GET", &format!("/r{i}"), &[], "");
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let later = serving.stop();
    let found = dir_entries(&traces);
    // The marker that says the warning was given, and the first two requests' traces.
    assert_eq!(
        found[0].file_name().unwrap().to_str().unwrap(),
        ".wasm-rr-full"
    );
    let recorded: Vec<String> = found[1..].iter().map(|t| recorded_path(t)).collect();
    assert_eq!(recorded, ["r1", "r2"]);
    // (`wasmtime serve` starts each line an instance prints with `stderr [N] :: `.)
    let warnings: Vec<&str> = later
        .iter()
        .filter_map(|l| l.split_once(" :: ").map(|(_, line)| line))
        .filter(|l| l.contains("is full"))
        .collect();
    assert_eq!(
        warnings,
        [
            "wasm-rr: warning: the trace directory /wasm-rr is full (2 traces; --max-traces 2): new runs and requests pass through unrecorded until traces are taken away (said once until then)"
        ]
    );
}

#[test]
fn a_full_trace_directory_rotates_keeping_the_newest_traces() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let (serving, traces) = serve_recording(
        dir.path(),
        &app,
        &["--max-traces", "2", "--when-full", "rotate"],
    );
    for i in 1..=4 {
        let reply = http_server::request(&serving.addr, "GET", &format!("/r{i}"), &[], "");
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let later = serving.stop();
    let recorded: Vec<String> = dir_entries(&traces)
        .iter()
        .map(|t| recorded_path(t))
        .collect();
    assert_eq!(recorded, ["r3", "r4"]);
    assert!(!later.iter().any(|l| l.contains("wasm-rr")), "{later:?}");
}

#[test]
fn wasm_rr_serve_takes_the_recording_policy() {
    let dir = scratch();
    let app = fixture("wstd_server");
    let traces = dir.path().join("traces");
    let serving = wasm_rr_serve_with(
        &app,
        &traces,
        &["--max-traces", "1", "--when-full", "rotate"],
    );
    for i in 1..=3 {
        let reply = http_server::request(&serving.addr, "GET", &format!("/r{i}"), &[], "");
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    serving.stop();
    let recorded: Vec<String> = dir_entries(&traces)
        .iter()
        .map(|t| recorded_path(t))
        .collect();
    assert_eq!(recorded, ["r3"]);
}
