//! Redaction (`wasm-rr redact`, `record --redact-*`): an app reads a token from its
//! environment and a key from a file and forwards both in the headers of a request; the
//! redacted trace holds neither (in its binary form, its JSON form, or a self-replaying
//! component made from it), and still replays the app to the same output.

mod common;
#[path = "common/http_server.rs"]
mod http_server;

use common::*;
use std::path::Path;

const TOKEN: &str = "tok-SECRET-4711";
const KEY: &str = "key-FILE-SECRET-0815";

/// Whether `data` holds `secret` as it is or as hex (how JSON traces spell bytes).
fn holds(data: &[u8], secret: &str) -> bool {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    [secret.as_bytes(), hex.as_bytes()]
        .iter()
        .any(|s| data.windows(s.len()).any(|w| w == *s))
}

/// Records `http_client forward` on the embedded host with `extra` flags into `dir/t.cbor`;
/// returns the run.
fn record_forward(dir: &Path, extra: &[&str]) -> Run {
    let app = fixture("http_client");
    let (_, _) = data_dir(dir, &[("key.txt", &format!("{KEY}\n"))]);
    let server = http_server::start();
    let url = server.url("/hello");
    let token = format!("TOKEN={TOKEN}");
    let preopen = format!("{}::/data", dir.join("data").display());
    let mut flags = vec![
        "-t",
        "t.cbor",
        "--env",
        &token,
        "--env",
        "MY_API_KEY=abc",
        "--dir",
        &preopen,
    ];
    flags.extend_from_slice(extra);
    let recorded = record_embedded(dir, &app, &flags, &["forward", &url, "/data/key.txt"], None);
    server.stop();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert_eq!(
        recorded.stdout().lines().next(),
        Some("forward: token 15 bytes, key 20 bytes")
    );
    assert!(recorded.stdout().contains("forward: status 200"));
    recorded
}

/// The JSON form of the trace at `path`.
fn json_of(dir: &Path, path: &Path) -> Vec<u8> {
    let json = dir.join("shown.json");
    let r = run(wasm_rr().arg("convert").arg(path).arg(&json), None);
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    std::fs::read(json).unwrap()
}

/// Asserts that neither secret is in the trace at `path`, its JSON form, or its self-replaying
/// component, and that the component and `wasm-rr replay` print what `recorded` did.
fn assert_shareable(dir: &Path, path: &Path, recorded: &Run) {
    let app = fixture("http_client");
    let replaying = dir.join("app.replay.wasm");
    wrap(&app, &replaying, Some(path));
    for (what, data) in [
        ("the trace", std::fs::read(path).unwrap()),
        ("its JSON form", json_of(dir, path)),
        (
            "the self-replaying component",
            std::fs::read(&replaying).unwrap(),
        ),
    ] {
        for secret in [TOKEN, KEY] {
            assert!(!holds(&data, secret), "{secret} is in {what}");
        }
    }
    for (how, replayed) in [
        ("on stock wasmtime", run(wasmtime().arg(&replaying), None)),
        ("by wasm-rr replay", replay_embedded(dir, &app, Some(path))),
    ] {
        assert_eq!(
            replayed.stdout(),
            recorded.stdout(),
            "{how}: {}",
            replayed.stderr()
        );
        assert_eq!(replayed.code, Some(0), "{how}");
    }
}

#[test]
fn redact_takes_the_secrets_out_and_the_trace_still_replays() {
    let dir = scratch();
    let recorded = record_forward(dir.path(), &[]);
    let trace = dir.path().join("t.cbor");
    // The recording holds both secrets, so the checks below can fail.
    let json = json_of(dir.path(), &trace);
    assert!(holds(&json, TOKEN) && holds(&json, KEY));

    let shared = dir.path().join("shared.cbor");
    let r = run(
        wasm_rr()
            .arg("redact")
            .arg(&trace)
            .arg("-o")
            .arg(&shared)
            .args(["--env", "TOKEN", "--header", "X-Api-Key"])
            .args(["--file", "/data/key.txt"]),
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    let err = r.stderr();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(
        lines[0],
        format!(
            "wasm-rr: warning: {}: the app read the environment variable MY_API_KEY, which looks like a secret, and it is kept: add --env MY_API_KEY to redact it",
            trace.display()
        )
    );
    let events = load(&trace).events.len();
    assert_eq!(
        lines[1],
        format!(
            "wasm-rr: wrote {} ({events} events; redacted 1 × env TOKEN, 2 × header authorization, 2 × header x-api-key, 1 × file /data/key.txt; not in the trace: header cookie, header set-cookie)",
            shared.display()
        )
    );
    assert_shareable(dir.path(), &shared, &recorded);

    // `show` lists what was redacted and marks the events.
    let shown = run(wasm_rr().arg("show").arg(&shared), None);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr());
    let out = shown.stdout();
    assert!(
        out.contains("redacted (`*`s of the same length stand in for the values): env TOKEN, header authorization, header cookie, header set-cookie, header x-api-key, file /data/key.txt\n"),
        "{out}"
    );
    let line = |what: &str| {
        out.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} in {out}"))
    };
    assert!(line("get-environment()").ends_with("  [redacted]"), "{out}");
    assert!(
        line("append x-api-key: \"********************\" -> ").ends_with("  [redacted]"),
        "{out}"
    );
    // get-environment, the two appends, the request sent (with both headers), the file's read.
    assert_eq!(out.matches("  [redacted]\n").count(), 5, "{out}");
}

#[test]
fn record_redacts_as_it_saves_the_trace() {
    let dir = scratch();
    let recorded = record_forward(
        dir.path(),
        &[
            "--redact-env",
            "TOKEN",
            "--redact-header",
            "authorization",
            "--redact-header",
            "x-api-key",
            "--redact-file",
            "/data",
        ],
    );
    let trace = dir.path().join("t.cbor");
    assert_eq!(
        load(&trace)
            .header
            .redacted
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>(),
        [
            "env TOKEN",
            "header authorization",
            "header x-api-key",
            "file /data"
        ]
    );
    assert_shareable(dir.path(), &trace, &recorded);
}

#[test]
fn a_header_sent_differently_still_diverges_when_it_is_not_redacted() {
    let dir = scratch();
    record_forward(dir.path(), &[]);
    let trace = dir.path().join("t.cbor");
    // Only the defaults: x-api-key is checked, and the key the app now reads is `*`s.
    let shared = dir.path().join("shared.json");
    let r = run(
        wasm_rr()
            .arg("redact")
            .arg(&trace)
            .arg("-o")
            .arg(&shared)
            .args(["--file", "/data/key.txt"]),
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    assert!(
        r.stderr().contains(&format!(
            "wasm-rr: warning: {}: the app sent the header x-api-key holding a redacted value (file /data/key.txt), and it is kept: add --header x-api-key to redact it\n",
            trace.display()
        )),
        "{}",
        r.stderr()
    );
    let replayed = replay_embedded(dir.path(), &fixture("http_client"), Some(&shared));
    assert_eq!(replayed.code, Some(1), "{}", replayed.stderr());
    assert!(
        replayed.stderr().contains(&format!(
            "  difference: header x-api-key: expected \"{KEY}\", actual \"********************\"\n"
        )),
        "{}",
        replayed.stderr()
    );
}
