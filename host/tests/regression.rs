//! `wasm-rr test`: recorded traffic as regression tests. Requests to the `shop` service are
//! recorded under stock `wasmtime serve` (its outgoing requests going to a loopback upstream
//! started here), and a command under stock `wasmtime run`; the traces are then tested, with
//! the upstream stopped, against the same build and against new builds that differ the way new
//! versions do (a changed header and body line, one more outgoing request, another clock
//! reading in a date header, one more line printed).

mod common;
#[path = "common/http_server.rs"]
mod http_server;
#[path = "common/serving.rs"]
mod serving;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Two orders (`apple`, `pear`) recorded with the `shop` service under stock `wasmtime
/// serve`: the trace directory, its two traces (in arrival order), the upstream's base URL
/// (stopped by now), and the responses the client got.
struct Orders {
    traces: PathBuf,
    found: Vec<PathBuf>,
    upstream: String,
    replies: Vec<http_server::Reply>,
}

fn record_orders(dir: &Path, wrap_flags: &[&str]) -> Orders {
    let (recording, traces) = wrap_for_recording(dir, &fixture("shop"), wrap_flags);
    let upstream = http_server::start();
    let mut cmd = Command::new("wasmtime");
    cmd.args(["serve", "-Scli", "--addr", "127.0.0.1:0", "--dir"])
        .arg(format!("{}::/wasm-rr", traces.display()))
        .arg(&recording);
    let serving = serving::start_serving(cmd, "Serving HTTP on ");
    let base = upstream.url("");
    let replies: Vec<http_server::Reply> = ["apple", "pear"]
        .iter()
        .map(|item| {
            http_server::request(
                &serving.addr,
                "POST",
                "/order",
                &[("x-upstream", &base)],
                item,
            )
        })
        .collect();
    serving.stop();
    upstream.stop();
    for r in &replies {
        assert_eq!(r.status, 200, "{r:?}");
    }
    let found = dir_entries(&traces);
    assert_eq!(found.len(), 2, "{found:?}");
    Orders {
        traces,
        found,
        upstream: base,
        replies,
    }
}

/// `wasm-rr test -j 2 APP ARGS…`.
fn test_with(app: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let mut cmd = wasm_rr();
    cmd.args(["test", "-j", "2"]).arg(fixture(app));
    for a in args {
        cmd.arg(a);
    }
    run(&mut cmd, None)
}

/// Writes to `out` (JSON) the trace at `trace` as if the app had been given `arg` as its
/// argument number `i`.
fn with_argument(trace: &Path, i: usize, arg: &str, out: &Path) {
    let mut edited = load(trace);
    for e in &mut edited.events {
        if let wasm_rr_trace::Answer::Cli(wasm_rr_trace::cli::Answer::GetArguments(args)) =
            &mut e.answer
        {
            args[i] = arg.into();
        }
    }
    std::fs::write(out, edited.to_json()).unwrap();
}

/// The value of header `name` in `reply`.
fn header<'a>(reply: &'a http_server::Reply, name: &str) -> &'a str {
    &reply
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"))
        .1
}

/// The lucky number in a reply's body.
fn lucky(reply: &http_server::Reply) -> &str {
    reply
        .body
        .lines()
        .nth(2)
        .unwrap()
        .trim_start_matches("lucky: ")
}

#[test]
fn recorded_requests_test_new_builds_of_a_service() {
    let dir = scratch();
    let orders = record_orders(dir.path(), &[]);
    let [t0, t1] = [&orders.found[0], &orders.found[1]];
    let app = |name: &str| fixture(name).display().to_string();
    let traces = &orders.traces;

    // The same build passes, with the upstream gone.
    let same = test_with("shop", &[traces]);
    assert_eq!(
        same.stdout(),
        format!(
            "testing {} against 2 traces (2 at a time)\nPASS {} (POST /order)\nPASS {} (POST /order)\n2 passed, 0 failed\n",
            app("shop"),
            t0.display(),
            t1.display()
        )
    );
    assert_eq!(same.code, Some(0), "{}", same.stderr());

    // A build whose header and price line changed: each trace fails, naming both.
    let changed = test_with("shop_v2", &[traces]);
    assert_eq!(changed.code, Some(1), "{}", changed.stderr());
    let failed = |trace: &Path, item: &str, reply: &http_server::Reply| {
        format!(
            "FAIL {} (POST /order)\n    response header x-version: recorded \"1\", now \"2\"\n    response body differs:\n      --- recorded\n      +++ now\n      @@ -1,3 +1,3 @@\n       item: {item}\n      -price: received {n} bytes\n      +cost: received {n} bytes\n       lucky: {}\n    outgoing requests: 1 matched\n",
            trace.display(),
            lucky(reply),
            n = item.len()
        )
    };
    assert_eq!(
        changed.stdout(),
        format!(
            "testing {} against 2 traces (2 at a time)\n{}{}0 passed, 2 failed\n",
            app("shop_v2"),
            failed(t0, "apple", &orders.replies[0]),
            failed(t1, "pear", &orders.replies[1])
        )
    );

    // One trace, by name, and a JUnit report of it.
    let junit = dir.path().join("report.xml");
    let one = test_with("shop_v2", &[t1, &"--junit", &junit]);
    assert_eq!(one.code, Some(1));
    assert!(
        one.stdout().ends_with("0 passed, 1 failed\n"),
        "{}",
        one.stdout()
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"1\"") && xml.contains("failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("<testcase name=\"{}\"", t1.display()))
            && xml.contains(
                "message=\"response header x-version: recorded &quot;1&quot;, now &quot;2&quot;\""
            ),
        "{xml}"
    );

    // A build that makes one more outgoing request fails, naming it and the closest recorded
    // one; a rule beside the traces that allows it (and says what it gets) lets it pass.
    let base = &orders.upstream;
    let extra = test_with("shop_v3", &[traces]);
    assert_eq!(extra.code, Some(1));
    let out = extra.stdout();
    assert_eq!(
        out.matches(&format!(
            "    request with no recorded answer: POST {base}/hello (the closest recorded: POST {base}/echo)\n    outgoing requests: 1 matched, 1 with no recorded answer\n"
        ))
        .count(),
        2,
        "{out}"
    );
    // Nor can `--update` accept it: an expectation gives no answers.
    let refused = test_with("shop_v3", &[&"--update", traces]);
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stdout().contains(&format!(
            "not updated {}: request with no recorded answer: POST {base}/hello (the closest recorded: POST {base}/echo); an expectation cannot answer it (allow a request in wasm-rr-test.toml, or record the trace again)\n",
            t0.display()
        )) && refused.stdout().ends_with("0 updated, 0 unchanged, 2 not updated\n"),
        "{}",
        refused.stdout()
    );
    assert!(!Path::new(&format!("{}.expected.json", t0.display())).exists());
    let rules = traces.join("wasm-rr-test.toml");
    std::fs::write(
        &rules,
        "# the audit call of version 3\n[[allow]]\nmethod = \"POST\"\nurl = \"/hello$\"\nstatus = 200\nbody = \"noted\"\n",
    )
    .unwrap();
    let allowed = test_with("shop_v3", &[traces]);
    assert_eq!(allowed.code, Some(0), "{}", allowed.stdout());
    assert!(
        allowed.stdout().starts_with(&format!(
            "testing {} against 2 traces (2 at a time; rules from {})\n",
            app("shop_v3"),
            rules.display()
        )) && allowed.stdout().ends_with("2 passed, 0 failed\n"),
        "{}",
        allowed.stdout()
    );
    std::fs::remove_file(&rules).unwrap();

    // A build that dates its answer by another clock reading: the date header differs and
    // fails the test, unless a rules file ignores it.
    let dated = test_with("shop_v4", &[traces]);
    assert_eq!(dated.code, Some(1));
    let out = dated.stdout();
    let date = header(&orders.replies[0], "date");
    let line = out
        .lines()
        .find(|l| l.starts_with("    response header date: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with(&format!(
            "    response header date: recorded \"{date}\", now \""
        )),
        "{out}"
    );
    assert!(out.ends_with("0 passed, 2 failed\n"), "{out}");
    let noise = dir.path().join("noise.toml");
    std::fs::write(&noise, "[ignore]\nheaders = [\"Date\"]\n").unwrap();
    let quiet = test_with("shop_v4", &[&"--rules", &noise, traces]);
    assert_eq!(quiet.code, Some(0), "{}", quiet.stdout());
    assert!(quiet.stdout().ends_with("2 passed, 0 failed\n"));

    // Accepting version 2: `--update` writes what it answers beside each trace, leaving the
    // trace as it was; version 2 then passes and version 1 fails the other way round.
    let before: Vec<Vec<u8>> = orders
        .found
        .iter()
        .map(|t| std::fs::read(t).unwrap())
        .collect();
    let updated = test_with("shop_v2", &[&"--update", traces]);
    assert_eq!(updated.code, Some(0), "{}", updated.stdout());
    let expected_0 = format!("{}.expected.json", t0.display());
    assert!(
        updated
            .stdout()
            .contains(&format!("updated {expected_0}\n"))
            && updated
                .stdout()
                .ends_with("2 updated, 0 unchanged, 0 not updated\n"),
        "{}",
        updated.stdout()
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&expected_0).unwrap()).unwrap();
    assert_eq!(saved["response"]["status"], 200);
    assert_eq!(saved["stdout"]["text"], "order for apple\n");
    assert_eq!(saved["requests"][0], format!("POST {base}/echo"));
    let after: Vec<Vec<u8>> = orders
        .found
        .iter()
        .map(|t| std::fs::read(t).unwrap())
        .collect();
    assert_eq!(before, after, "the traces themselves are left as they were");
    let now_v2 = test_with("shop_v2", &[traces]);
    assert_eq!(now_v2.code, Some(0), "{}", now_v2.stdout());
    let now_v1 = test_with("shop", &[traces]);
    assert_eq!(now_v1.code, Some(1));
    assert!(
        now_v1
            .stdout()
            .contains("    response header x-version: recorded \"2\", now \"1\"\n"),
        "{}",
        now_v1.stdout()
    );
}

#[test]
fn a_command_that_prints_one_more_line_fails_with_a_diff() {
    let dir = scratch();
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("print_args"), &[]);
    let recorded = run_recording(&recording, &traces, &["--env", "GREETING=hi"], &["a", "b"]);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let trace = traces.join("trace.cbor");

    let same = test_with("print_args", &[&trace]);
    assert_eq!(same.code, Some(0), "{}", same.stdout());
    assert!(
        same.stdout().contains(&format!(
            "PASS {} (app.recording.wasm a b)\n",
            trace.display()
        )),
        "{}",
        same.stdout()
    );

    let more = test_with("print_args_more", &[&trace]);
    assert_eq!(more.code, Some(1));
    assert_eq!(
        more.stdout(),
        format!(
            "testing {} against 1 trace (1 at a time)\nFAIL {} (app.recording.wasm a b)\n    stdout differs:\n      --- recorded\n      +++ now\n      @@ -4,2 +4,3 @@\n       env GREETING=hi\n       cwd: None\n      +done\n0 passed, 1 failed\n",
            fixture("print_args_more").display(),
            trace.display()
        )
    );
}

#[test]
fn traces_it_cannot_test_and_bad_input_are_said_in_one_line() {
    let dir = scratch();
    // A command's trace against a service.
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("print_args"), &[]);
    assert_eq!(run_recording(&recording, &traces, &[], &[]).code, Some(0));
    let trace = traces.join("trace.cbor");
    let wrong = test_with("shop", &[&trace]);
    assert_eq!(wrong.code, Some(1));
    assert!(
        wrong.stdout().contains(&format!(
            "FAIL {} (app.recording.wasm)\n    cannot be tested: it is a command's trace, and the app is a wasi:http handler\n",
            trace.display()
        )),
        "{}",
        wrong.stdout()
    );

    // A trace of a TCP server.
    let net = dir.path().join("net");
    std::fs::create_dir_all(&net).unwrap();
    let (rec2, traces2) = wrap_for_recording(&net, &fixture("net_ops"), &[]);
    let mut server =
        recording_command(&rec2, &traces2, &["-S", "inherit-network"], &["tcp-server"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
    // It says where it listens; the test connects there.
    let mut out = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let mut client = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(&mut client, b"hi\n").unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut client, &mut reply).unwrap();
    assert!(server.wait().unwrap().success());
    let net_trace = traces2.join("trace.cbor");
    let untestable = test_with("net_ops", &[&net_trace]);
    assert_eq!(untestable.code, Some(1));
    assert!(
        untestable.stdout().contains(&format!(
            "FAIL {} (app.recording.wasm tcp-server)\n    cannot be tested: it accepts TCP connections (a server on wasi:sockets/tcp), which `wasm-rr test` does not serve yet\n",
            net_trace.display()
        )),
        "{}",
        untestable.stdout()
    );

    // The recording component instead of the app.
    let r = run(wasm_rr().arg("test").arg(&recording).arg(&trace), None);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: {} is a component wasm-rr wrapped (a recording or self-replaying one): give `wasm-rr test` the app as built\n",
            recording.display()
        )
    );

    // No such trace; an empty directory; a rules file that does not parse.
    let missing = dir.path().join("nope");
    let r = test_with("shop", &[&missing]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: cannot read {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = test_with("shop", &[&empty]);
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: {}: no traces (*.cbor, *.json) in this directory\n",
            empty.display()
        )
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[ignore]\nregex = ['(']\n").unwrap();
    let r = test_with("print_args", &[&"--rules", &bad, &trace]);
    assert_eq!(r.code, Some(2));
    let err = r.stderr();
    assert!(
        err.starts_with(&format!(
            "wasm-rr: error: {}: bad regex `(`: ",
            bad.display()
        )) && err.lines().count() == 1,
        "{err}"
    );
    std::fs::write(&bad, "[ignore]\nheader = ['date']\n").unwrap();
    let r = test_with("print_args", &[&"--rules", &bad, &trace]);
    let err = r.stderr();
    assert!(
        err.starts_with(&format!("wasm-rr: error: {}: ", bad.display()))
            && err.contains("unknown field `header`")
            && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_command_that_reads_and_writes_files_finds_them_as_it_did() {
    let dir = scratch();
    // It reads a file, stats it, lists its directory, writes, appends, reads back, renames and
    // removes: the files it found are made again from what it read; what it wrote is compared.
    let (_, preopen) = data_dir(dir.path(), &[("input.txt", "hello input\n")]);
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("fs_ops"), &[]);
    let ops = run_recording(&recording, &traces, &["--dir", &preopen], &[]);
    assert_eq!(ops.code, Some(0), "{}", ops.stderr());
    // The data directory is gone when the test runs.
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    let trace = traces.join("trace.cbor");
    let tested = test_with("fs_ops", &[&trace]);
    assert_eq!(
        tested.stdout(),
        format!(
            "testing {} against 1 trace (1 at a time)\nPASS {} (app.recording.wasm)\n1 passed, 0 failed\n",
            fixture("fs_ops").display(),
            trace.display()
        )
    );

    // A file the expectation says was written, and the app did not write, fails the trace.
    let expected = format!("{}.expected.json", trace.display());
    let mut saved = serde_json::json!({
        "stdout": {"text": ops.stdout(), "len": ops.stdout.len()},
        "stderr": {"text": "", "len": 0},
        "exit": 0,
        "files": {"data/report.txt": {"text": "total: 3\n", "len": 9}},
    });
    std::fs::write(&expected, saved.to_string()).unwrap();
    let missing = test_with("fs_ops", &[&trace]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing
            .stdout()
            .contains("\n    file not written: data/report.txt\n0 passed, 1 failed\n"),
        "{}",
        missing.stdout()
    );
    saved["files"] = serde_json::json!({});
    saved["stdout"] = serde_json::json!({"text": "cwd: \"/\"\n", "len": 9});
    std::fs::write(&expected, saved.to_string()).unwrap();
    let other = test_with("fs_ops", &[&trace]);
    assert!(
        other.stdout().contains("    stdout differs:\n      --- recorded\n      +++ now\n      @@ -1 +1,15 @@\n       cwd: \"/\"\n      +read input.txt: \"hello input\\n\"\n"),
        "{}",
        other.stdout()
    );
}

#[test]
fn calls_of_other_interfaces_are_answered_by_matching_them() {
    use wasm_rr_trace::abi::Val;
    use wasm_rr_trace::generic::Called;
    let dir = scratch();
    // wasi:keyvalue: a bucket resource handed out by `store.open` and passed to
    // `atomics.increment`, another interface of the package.
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("keyvalue_app"), &[]);
    let flags = ["-S", "keyvalue", "-S", "keyvalue-in-memory-data=seed=42"];
    let stored = run_recording(&recording, &traces, &flags, &[]);
    assert_eq!(stored.code, Some(0), "{}", stored.stderr());
    let trace = traces.join("trace.cbor");
    let same = test_with("keyvalue_app", &[&trace]);
    assert_eq!(same.code, Some(0), "{}", same.stdout());
    assert!(same.stdout().ends_with("1 passed, 0 failed\n"));

    // A recording whose `get` of `seed` was of another key: the app's call has no recorded
    // answer (it traps there), and the recorded one was not made.
    let mut edited = load(&trace);
    let mut changed = 0;
    for e in &mut edited.events {
        if let wasm_rr_trace::Call::Generic(wasm_rr_trace::generic::Call::Called(Called {
            args,
            ..
        })) = &mut e.call
            && let [Val::Handle(0), Val::String(key)] = args.as_mut_slice()
            && key == "seed"
        {
            *key = "seed2".into();
            changed += 1;
        }
    }
    assert_eq!(changed, 1);
    let other = dir.path().join("other.json");
    std::fs::write(&other, edited.to_json()).unwrap();
    let failed = test_with("keyvalue_app", &[&other]);
    assert_eq!(failed.code, Some(1));
    let out = failed.stdout();
    assert!(
        out.contains("    it trapped: wasm-rr test: no recorded answer to wasi:keyvalue/store.[method]bucket.get(bucket#0, \"seed\") (the closest recorded: wasi:keyvalue/store.[method]bucket.get(bucket#0, \"seed2\"))\n")
            && out.contains("    exit status: recorded 0, now 134\n")
            && out.contains("    call with no recorded answer: wasi:keyvalue/store.[method]bucket.get(bucket#0, \"seed\")\n")
            && out.contains("    call not made: wasi:keyvalue/store.[method]bucket.get(bucket#0, \"seed2\")\n")
            && out.contains("    calls of other interfaces: 1 matched, 1 with no recorded answer, 10 recorded and not made\n"),
        "{out}"
    );
}

#[test]
fn a_library_component_is_called_as_recorded_and_its_results_compared() {
    use wasm_rr_trace::abi::Val;
    use wasm_rr_trace::generic::Returned;
    let dir = scratch();
    let calls = [r#"stamp("hello")"#, "add(5)", r#"reverse("abc")"#];
    let mut flags = vec!["-t", "lib.cbor"];
    for c in &calls {
        flags.extend(["--invoke", c]);
    }
    let recorded = record_embedded(dir.path(), &fixture("library_app"), &flags, &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let trace = dir.path().join("lib.cbor");
    let same = test_with("library_app", &[&trace]);
    assert_eq!(
        same.stdout(),
        format!(
            "testing {} against 1 trace (1 at a time)\nPASS {} (3 export calls)\n1 passed, 0 failed\n",
            fixture("library_app").display(),
            trace.display()
        )
    );

    // A recording in which `add(5)` returned 6: the call is made and returns 5 again.
    let mut edited = load(&trace);
    for e in &mut edited.events {
        if let wasm_rr_trace::Call::Generic(wasm_rr_trace::generic::Call::Returned(Returned {
            result: Some(v @ Val::S64(5)),
            ..
        })) = &mut e.call
        {
            *v = Val::S64(6);
        }
    }
    let other = dir.path().join("other.json");
    std::fs::write(&other, edited.to_json()).unwrap();
    let failed = test_with("library_app", &[&other]);
    assert_eq!(failed.code, Some(1));
    let out = failed.stdout();
    assert!(
        out.contains("    the list of export calls differs:\n")
            && out.contains(
                "      -acme:text/codec.add(5) -> 6\n      +acme:text/codec.add(5) -> 5\n"
            ),
        "{out}"
    );
}

#[test]
fn a_trace_that_keeps_the_first_bytes_of_bodies_compares_those_and_their_length() {
    let dir = scratch();
    // The trace keeps 3 bytes of each stream: `app` of the upstream request's `apple`, `ite` of
    // the response body.
    let orders = record_orders(dir.path(), &["--output-bytes", "3"]);
    let same = test_with("shop", &[&orders.traces]);
    assert_eq!(same.code, Some(0), "{}", same.stdout());
    assert!(same.stdout().ends_with("2 passed, 0 failed\n"));
    let changed = test_with("shop_v2", &[&orders.found[0]]);
    assert_eq!(changed.code, Some(1));
    let body = &orders.replies[0].body;
    assert!(
        changed.stdout().contains(&format!(
            "    response header x-version: recorded \"1\", now \"2\"\n    response body: recorded {} bytes, now {}\n    outgoing requests: 1 matched\n",
            body.len(),
            body.len() - 1
        )),
        "{}",
        changed.stdout()
    );
}

#[test]
fn a_run_past_the_time_limit_is_stopped_and_fails() {
    let dir = scratch();
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("random_loop"), &[]);
    assert_eq!(
        run_recording(&recording, &traces, &[], &["1"]).code,
        Some(0)
    );
    // The same trace, as if the run had been asked for 10^15 draws.
    let long = dir.path().join("long.json");
    with_argument(&traces.join("trace.cbor"), 1, "1000000000000000", &long);
    let stopped = test_with("random_loop", &[&"--timeout", &"1", &long]);
    assert_eq!(stopped.code, Some(1));
    assert!(
        stopped.stdout().contains(&format!(
            "FAIL {} (app.recording.wasm 1000000000000000)\n    it trapped: it ran longer than the time limit (--timeout)\n    exit status: recorded 0, now 134\n",
            long.display()
        )),
        "{}",
        stopped.stdout()
    );
}

#[test]
fn tcp_connections_are_answered_from_the_recorded_ones() {
    use wasm_rr_trace::streams::Wrote;
    let dir = scratch();
    let (addr, server) = echo_server();
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("net_ops"), &[]);
    let talked = run_recording(
        &recording,
        &traces,
        &["-S", "inherit-network"],
        &["tcp-client", &addr],
    );
    server.join().unwrap();
    assert_eq!(talked.code, Some(0), "{}", talked.stderr());
    // The server is gone: the app reads what the recording read.
    let trace = traces.join("trace.cbor");
    let same = test_with("net_ops", &[&trace]);
    assert_eq!(same.code, Some(0), "{}", same.stdout());

    // A recording that sent `hallo`: what the app sends now differs.
    let mut edited = load(&trace);
    for e in &mut edited.events {
        if let wasm_rr_trace::Call::Streams(wasm_rr_trace::streams::Call::Wrote(Wrote {
            data, ..
        })) = &mut e.call
            && data.0 == b"hello"
        {
            data.0 = b"hallo".to_vec();
        }
    }
    let other = dir.path().join("other.json");
    std::fs::write(&other, edited.to_json()).unwrap();
    let differs = test_with("net_ops", &[&other]);
    assert_eq!(differs.code, Some(1));
    assert!(
        differs.stdout().contains(&format!(
            "    what was sent to {addr} differs:\n      --- recorded\n      +++ now\n      @@ -1,2 +1,2 @@\n      -hallo\n      +hello\n       again\n    TCP connections: 1 matched\n"
        )),
        "{}",
        differs.stdout()
    );

    // A connection to another address has no recorded answer (the app is refused).
    with_argument(&trace, 2, "127.0.0.1:9", &other);
    let refused = test_with("net_ops", &[&other]);
    assert_eq!(refused.code, Some(1));
    let out = refused.stdout();
    assert!(
        out.contains("    TCP connection with no recorded answer: 127.0.0.1:9\n")
            && out.contains(&format!("    TCP connection not made: {addr}\n"))
            && out.contains("    TCP connections: 0 matched, 1 with no recorded answer, 1 recorded and not made\n"),
        "{out}"
    );
}

#[test]
fn name_lookups_are_answered_from_the_recorded_ones() {
    let dir = scratch();
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("net_ops"), &[]);
    let looked = run_recording(
        &recording,
        &traces,
        &["-S", "allow-ip-name-lookup"],
        &["lookup", "localhost"],
    );
    assert_eq!(looked.code, Some(0), "{}", looked.stderr());
    let trace = traces.join("trace.cbor");
    let same = test_with("net_ops", &[&trace]);
    assert_eq!(same.code, Some(0), "{}", same.stdout());

    // Another name has no recorded answer (the app's lookup fails).
    let other = dir.path().join("other.json");
    with_argument(&trace, 2, "example.invalid", &other);
    let failed = test_with("net_ops", &[&other]);
    assert_eq!(failed.code, Some(1));
    let out = failed.stdout();
    assert!(
        out.contains("    name lookup with no recorded answer: example.invalid\n    name lookup not made: localhost\n    name lookups: 0 matched, 1 with no recorded answer, 1 recorded and not made\n"),
        "{out}"
    );
}

#[test]
fn udp_datagrams_are_answered_from_the_recorded_ones() {
    let dir = scratch();
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let answering = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let (_, from) = server.recv_from(&mut buf).unwrap();
        server.send_to(b"pong", from).unwrap();
    });
    let (recording, traces) = wrap_for_recording(dir.path(), &fixture("net_ops"), &[]);
    let sent = run_recording(
        &recording,
        &traces,
        &["-S", "inherit-network"],
        &["udp", &addr],
    );
    answering.join().unwrap();
    assert_eq!(sent.code, Some(0), "{}", sent.stderr());
    // The server is gone: the app gets the recorded reply.
    let trace = traces.join("trace.cbor");
    let same = test_with("net_ops", &[&trace]);
    assert_eq!(same.code, Some(0), "{}", same.stdout());

    // Sent somewhere else: the datagram differs (by its address; the trace keeps its length
    // and hash).
    let other = dir.path().join("other.json");
    with_argument(&trace, 2, "127.0.0.1:9", &other);
    let failed = test_with("net_ops", &[&other]);
    assert_eq!(failed.code, Some(1));
    let out = failed.stdout();
    let hash = format!("{:016x}", wasm_rr_trace::output_hash(b"ping over udp"));
    assert!(
        out.contains(&format!(
            "differs:\n      --- recorded\n      +++ now\n      @@ -1 +1 @@\n      -13 B to {addr}, hash {hash}\n      +13 B to 127.0.0.1:9, hash {hash}\n    UDP sockets: 1 matched\n"
        )),
        "{out}"
    );
}
