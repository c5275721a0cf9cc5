//! Views of a trace: `wasm-rr show --summary`, `--http`, `--files` and `--net`, golden on the
//! fixture traces
//! (files, HTTP client and handler, sockets; `tests/views/NAME.VIEW.txt`), the filters of
//! `show` and its views, a summary of a fresh recording whose app reads the monotonic clock,
//! and `wasm-rr view`'s page, opened in headless Chromium (a screenshot of each is kept in
//! `target/tmp/view/`).
//! `WASM_RR_BLESS=1` writes the golden files anew.

mod common;

use common::*;
use std::path::Path;

/// What `wasm-rr show ARGS TRACE` prints.
fn show(args: &[&str], trace: &Path) -> String {
    let r = run(wasm_rr().arg("show").args(args).arg(trace), None);
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    r.stdout()
}

/// The summary of the trace at `trace`, as `wasm-rr show --summary` prints it.
fn summary(trace: &Path) -> String {
    show(&["--summary"], trace)
}

#[test]
fn views_of_the_fixture_traces_are_as_committed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let traces = root.join("../trace/tests/format2");
    let golden = root.join("tests/views");
    let mut names: Vec<_> = std::fs::read_dir(&traces)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cbor"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    let bless = std::env::var_os("WASM_RR_BLESS").is_some();
    for trace in names {
        let name = trace.file_stem().unwrap().to_string_lossy().into_owned();
        let mut views = vec![("summary", summary(&trace))];
        if name.starts_with("http") {
            views.push(("http", show(&["--http"], &trace)));
        }
        if name.starts_with("fs") {
            views.push(("files", show(&["--files"], &trace)));
        }
        if name.starts_with("net") {
            views.push(("net", show(&["--net"], &trace)));
        }
        for (view, now) in views {
            let path = golden.join(format!("{name}.{view}.txt"));
            if bless {
                std::fs::write(&path, &now).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == now,
                "the {view} view of {} is not {}; WASM_RR_BLESS=1 writes it anew:\n{now}",
                trace.display(),
                path.display()
            );
        }
    }
}

#[test]
fn http_exchanges_are_filtered_by_text_and_event_range() {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trace/tests/format2/http_get.cbor");
    let all = show(&["--http"], &trace);
    assert!(
        all.starts_with("HTTP exchanges: 1\n#9 GET http://"),
        "{all}"
    );
    assert_eq!(show(&["--http", "--grep", "x-test: 1"], &trace), all);
    assert_eq!(
        show(&["--http", "--grep", "no such text"], &trace),
        "HTTP exchanges: 0\n"
    );
    assert_eq!(show(&["--http", "--from", "9", "--to", "9"], &trace), all);
    // Started at event 9, answered at 12.
    assert_eq!(show(&["--http", "--from", "12"], &trace), all);
    assert_eq!(
        show(&["--http", "--from", "13"], &trace),
        "HTTP exchanges: 0\n"
    );
}

#[test]
fn events_are_filtered_by_text_and_event_range() {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trace/tests/format2/http_get.cbor");
    let all = show(&[], &trace);
    let events: Vec<&str> = all.lines().filter(|l| l.starts_with('#')).collect();
    let only = |args: &[&str]| -> Vec<String> {
        show(args, &trace)
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(String::from)
            .collect()
    };
    assert_eq!(only(&["--from", "9", "--to", "10"]), events[9..=10]);
    assert_eq!(only(&["--from", "12"]), events[12..]);
    let handle: Vec<&str> = events
        .iter()
        .copied()
        .filter(|l| l.contains("http handle request"))
        .collect();
    assert_eq!(handle.len(), 1, "{all}");
    assert!(handle[0].starts_with("#9 "), "{all}");
    assert_eq!(only(&["--grep", "http handle request"]), handle);
    // The header and the exchanges are printed whatever the filter.
    assert!(show(&["--grep", "no such text"], &trace).ends_with(" events:\n"));
}

#[test]
fn a_fresh_recording_has_its_duration_and_end() {
    let dir = scratch();
    let app = fixture("print_time");
    let recorded = record_embedded(dir.path(), &app, &[], &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let out = summary(&dir.path().join("wasm-rr-trace.cbor"));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[2].starts_with("run: "), "{out}");
    assert!(
        lines[2].ends_with(
            " ms from the first to the last monotonic clock reading; ended: run returned ok"
        ),
        "{out}"
    );
    let stdout = recorded.stdout().len();
    assert!(
        out.contains(&format!("stdio: stdin 0 B read, stdout {stdout} B in ")),
        "{out}"
    );
    assert!(out.contains("\n  clocks   "), "{out}");
    assert!(out.contains("\ntrace: format 11, "), "{out}");
}

#[test]
fn files_and_connections_are_filtered_by_text_and_event_range() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trace/tests/format2");
    let fs = dir.join("fs_ops.cbor");
    assert_eq!(
        show(&["--files", "--grep", "out.txt"], &fs),
        "files: 1\n#28 data/out.txt: read 11 B in 1 call, wrote 11 B in 2 calls (events #28 to #48)\n"
    );
    // Files are used between events 5 and 9, at 19, and between 28 and 48.
    assert_eq!(
        show(&["--files", "--from", "10", "--to", "18"], &fs),
        "files: 0\n"
    );
    let net = dir.join("net_tcp.cbor");
    assert_eq!(
        show(&["--net", "--from", "23"], &net),
        "connections: 1\n#6 tcp to 127.0.0.1:47001: received 22 B in 4 calls, sent 12 B in 4 calls (events #6 to #23)\n"
    );
    assert_eq!(show(&["--net", "--from", "24"], &net), "connections: 0\n");
    let r = run(wasm_rr().args(["show", "--files", "--net"]).arg(&net), None);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr().contains("cannot be used with"), "{}", r.stderr());
}

/// Debian's Chromium (`scripts/setup` installs it), or `WASM_RR_CHROMIUM`.
fn chromium() -> std::process::Command {
    let program = std::env::var_os("WASM_RR_CHROMIUM").unwrap_or_else(|| "chromium".into());
    let found = std::process::Command::new(&program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "no chromium on PATH: run scripts/setup (it installs Debian's chromium)"
    );
    let mut cmd = std::process::Command::new(program);
    // As root, Chromium needs --no-sandbox; --enable-logging=stderr prints the page's console.
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,900",
    ]);
    cmd
}

/// What Chromium's stderr says the page logged to its console (errors, uncaught exceptions).
fn console(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("CONSOLE")).collect()
}

/// Opens `page` (a file, with `#fragment`) in headless Chromium: its DOM once loaded, and what
/// it logged to the console; a screenshot goes to `screenshot`.
fn open_page(page: &Path, fragment: &str, screenshot: Option<&Path>) -> (String, Vec<String>) {
    let profile = scratch();
    let url = format!("file://{}{fragment}", page.display());
    let mut cmd = chromium();
    cmd.arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(png) => cmd.arg(format!("--screenshot={}", png.display())),
        None => cmd.arg("--dump-dom"),
    };
    let r = run(cmd.arg(&url), None);
    assert_eq!(r.code, Some(0), "chromium on {url}: {}", r.stderr());
    let stderr = r.stderr();
    (
        r.stdout(),
        console(&stderr).into_iter().map(String::from).collect(),
    )
}

/// The value of `name="…"` in the first element that has it.
fn attribute<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find(&format!(" {name}=\""))? + name.len() + 3;
    dom[start..].split('"').next()
}

#[test]
fn the_timeline_page_renders_its_lanes_and_spans_in_chromium() {
    let dir = scratch();
    let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trace/tests/format2");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("view");
    std::fs::create_dir_all(&shots).unwrap();

    // The console check can fail: a page that throws is seen.
    let broken = dir.path().join("broken.html");
    std::fs::write(&broken, "<script>throw new Error('seen')</script>").unwrap();
    let (_, logged) = open_page(&broken, "", None);
    assert!(
        logged.iter().any(|l| l.contains("Uncaught Error: seen")),
        "{logged:?}"
    );

    // (trace, lanes it must show, HTTP exchanges, files, connections)
    let cases: [(&str, &[&str], usize, usize, usize); 3] = [
        (
            "http_get",
            &["wasi:http", "wasi:io/poll", "stdout"],
            1,
            0,
            0,
        ),
        ("fs_ops", &["wasi:filesystem", "stdout"], 0, 3, 0),
        ("net_tcp", &["wasi:sockets", "wasi:io/streams"], 0, 0, 1),
    ];
    for (name, lanes, http, files, net) in cases {
        let trace = traces.join(format!("{name}.cbor"));
        let page = dir.path().join(format!("{name}.html"));
        let r = run(wasm_rr().arg("view").arg(&trace).arg("-o").arg(&page), None);
        assert_eq!(r.code, Some(0), "{}", r.stderr());
        let events = show(&[], &trace)
            .lines()
            .filter(|l| l.starts_with('#'))
            .count();
        assert_eq!(
            r.stderr(),
            format!(
                "wasm-rr: wrote {} ({events} events, {}; open it in a browser)\n",
                page.display(),
                match http + files + net {
                    1 => "1 span".to_string(),
                    n => format!("{n} spans"),
                }
            )
        );
        let (dom, logged) = open_page(&page, "", None);
        assert!(logged.is_empty(), "{name}: the page logged {logged:?}");
        for lane in lanes {
            assert!(
                dom.contains(&format!("</span>{lane}</td>")),
                "{name}: no lane {lane} in\n{dom}"
            );
        }
        assert_eq!(
            dom.matches("<li class=\"span http\"").count(),
            http,
            "{name}"
        );
        assert_eq!(
            dom.matches("<li class=\"span file\"").count(),
            files,
            "{name}"
        );
        assert_eq!(dom.matches("<li class=\"span net\"").count(), net, "{name}");
        // Every event is a mark (fewer than the page's limit for marks one by one).
        assert_eq!(
            attribute(&dom, "data-marks"),
            Some(events.to_string().as_str())
        );
        assert_eq!(
            attribute(&dom, "data-spans"),
            Some((http + files + net).to_string().as_str())
        );
        let png = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        open_page(&page, "", Some(&png));
        assert!(
            std::fs::metadata(&png).unwrap().len() > 10_000,
            "{}",
            png.display()
        );
    }

    // `#N` opens event N: its call and answer, as `show` prints them.
    let trace = traces.join("http_get.cbor");
    let page = dir.path().join("http_get.html");
    let (dom, _) = open_page(&page, "#9", None);
    let line = show(&["--from", "9", "--to", "9"], &trace);
    let line = line.lines().last().unwrap();
    assert!(
        line.starts_with("#9 http handle request 1 -> GET http://"),
        "{line}"
    );
    assert_eq!(attribute(&dom, "data-event"), Some("9"));
    let escaped = line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert!(dom.contains(&escaped), "no {escaped} in\n{dom}");
}

#[test]
fn a_page_of_part_of_a_trace_holds_those_events_and_says_how_to_print_the_others() {
    let dir = scratch();
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trace/tests/format2/fs_ops.cbor");
    let page = dir.path().join("part.html");
    let r = run(
        wasm_rr()
            .arg("view")
            .arg(&trace)
            .args(["--from", "20", "--to", "39", "--text-bytes", "400", "-o"])
            .arg(&page),
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    let stderr = r.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "wasm-rr: wrote {} (events #20 to #39 of ",
            page.display()
        )),
        "{stderr}"
    );
    let shown: usize = lines[1]
        .strip_prefix("wasm-rr: the page holds the calls and answers of its first ")
        .and_then(|l| l.strip_suffix(" events as text (--text-bytes 400); the others are marks"))
        .unwrap_or_else(|| panic!("{stderr}"))
        .parse()
        .unwrap();
    assert!((1..20).contains(&shown), "{stderr}");
    let (dom, logged) = open_page(&page, "#39", None);
    assert!(logged.is_empty(), "{logged:?}");
    assert_eq!(attribute(&dom, "data-marks"), Some("20"));
    assert!(
        dom.contains(
            "#39: its call and answer are not in this page (it holds those of events #20 to #"
        ),
        "{dom}"
    );
    assert!(dom.contains("fs_ops.cbor --from 39 --to 39"), "{dom}");

    for (args, error) in [
        (
            vec!["--from", "1000"],
            format!(
                "wasm-rr: error: {}: no events in the page: the trace has 86 (#0 to #85), and --from is 1000\n",
                trace.display()
            ),
        ),
        (
            vec!["--from", "9", "--to", "3"],
            "wasm-rr: error: --to (3) is before --from (9)\n".to_string(),
        ),
    ] {
        let out = dir.path().join("none.html");
        let r = run(
            wasm_rr()
                .arg("view")
                .arg(&trace)
                .args(&args)
                .arg("-o")
                .arg(&out),
            None,
        );
        assert_eq!((r.code, r.stderr()), (Some(2), error));
        assert!(!out.exists());
    }
    let missing = dir.path().join("missing.cbor");
    let r = run(wasm_rr().arg("view").arg(&missing), None);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr().starts_with(&format!(
            "wasm-rr: error: cannot read {}",
            missing.display()
        )),
        "{}",
        r.stderr()
    );
}

#[test]
fn json_views_hold_the_same_facts_as_the_text_ones() {
    let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trace/tests/format2");
    let json = |args: &[&str], trace: &str| -> serde_json::Value {
        let out = show(&[args, &["--json"]].concat(), &traces.join(trace));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    };

    let s = json(&["--summary"], "fs_ops.cbor");
    assert_eq!(s["events"], 86);
    assert_eq!(s["run"]["duration_ns"], serde_json::Value::Null);
    assert_eq!(s["run"]["end"], "run returned ok");
    assert_eq!(s["requests"]["came"], 0);
    assert_eq!(s["stdio"]["stdout_bytes"], 340);
    assert_eq!(s["stdio"]["stdout_writes"], 15);
    assert_eq!(s["trace"]["format"], 2);
    let files: Vec<(&str, u64, u64)> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["read"].as_u64().unwrap(),
                f["written"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("data/input.txt", 18, 0),
            ("data", 0, 0),
            ("data/out.txt", 11, 11)
        ]
    );
    let by_interface: u64 = s["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["events"].as_u64().unwrap())
        .sum();
    assert_eq!(by_interface, 86);

    let h = json(&["--http"], "http_get.cbor");
    let x = &h["exchanges"][0];
    assert_eq!(h["exchanges"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&x["method"], &x["url"], &x["status"], &x["body"]),
        (
            &"GET".into(),
            &"http://127.0.0.1:47003/hello.txt".into(),
            &200.into(),
            &"a small body\n".into()
        )
    );
    assert_eq!(
        (x["started_at"].as_u64(), x["answered_at"].as_u64()),
        (Some(9), Some(12))
    );
    assert_eq!(x["request_headers"][0], serde_json::json!(["x-test", "1"]));
    // A handler's exchange: the body of the request it read.
    let incoming = &json(&["--http"], "http_incoming.cbor")["exchanges"][0];
    assert_eq!(
        (&incoming["request_body"], &incoming["request_body_bytes"]),
        (&"hello".into(), &5.into())
    );
    assert_eq!(
        json(&["--http", "--from", "13"], "http_get.cbor")["exchanges"],
        serde_json::json!([])
    );

    let n = json(&["--net"], "net_tcp.cbor");
    assert_eq!(
        n["connections"][0],
        serde_json::json!({"name": "tcp to 127.0.0.1:47001", "received": 22, "reads": 4,
            "sent": 12, "writes": 4, "first": 6, "last": 23})
    );

    // Plain `show --json`: the header, then one line per event, the same events as the trace.
    let trace = traces.join("http_get.cbor");
    let out = show(&["--json"], &trace);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines[0]["header"]["component-sha256"].is_string(),
        "{}",
        lines[0]
    );
    let text = show(&[], &trace);
    let events = text.lines().filter(|l| l.starts_with('#')).count();
    assert_eq!(lines.len(), 1 + events);
    for (i, line) in lines[1..].iter().enumerate() {
        assert_eq!(line["event"], i);
        assert!(line["call"].is_object(), "{line}");
        assert!(line.as_object().unwrap().contains_key("answer"), "{line}");
    }
    let one = show(&["--json", "--from", "9", "--to", "9"], &trace);
    let one: Vec<&str> = one.lines().collect();
    assert_eq!(one.len(), 2);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(one[1]).unwrap(),
        lines[10]
    );
}

/// The `wrote` events of `trace`, as `show` prints them, without their numbers.
fn wrote(trace: &Path) -> Vec<String> {
    show(&[], trace)
        .lines()
        .filter(|l| l.contains(" wrote "))
        .map(|l| l.split_once(' ').map_or(l, |(_, e)| e).to_string())
        .collect()
}

#[test]
fn traces_keep_what_the_app_wrote_up_to_output_bytes() {
    let dir = scratch();
    let app = fixture("print_args");
    let printed = "arg 0: print_args.wasm\narg 1: hello\narg 2: world\ncwd: None\n";
    // By default, up to 1 MiB per stream: all of it here, write by write.
    let all = record_embedded(
        dir.path(),
        &app,
        &["-t", "all.cbor"],
        &["hello", "world"],
        None,
    );
    assert_eq!(all.code, Some(0), "{}", all.stderr());
    assert_eq!(all.stdout(), printed);
    let trace = dir.path().join("all.cbor");
    assert_eq!(
        wrote(&trace),
        [
            r#"stdout wrote "arg 0: print_args.wasm\n""#,
            r#"stdout wrote "arg 1: hello\n""#,
            r#"stdout wrote "arg 2: world\n""#,
            r#"stdout wrote "cwd: None\n""#,
        ]
    );
    assert!(
        show(&["--summary"], &trace).contains(
            "output kept (up to 1.0 MiB per stream): stdout 59 B, stderr 0 B, other streams 0 B\n"
        ),
        "{}",
        show(&["--summary"], &trace)
    );
    // The replay passes over them, and prints the same.
    assert_eq!(
        replay_embedded(dir.path(), &app, Some(&trace)).stdout(),
        printed
    );
    // `show --output` prints them as they were written.
    let kept = run(
        wasm_rr().args(["show", "--output", "stdout"]).arg(&trace),
        None,
    );
    assert_eq!(
        (kept.code, kept.stdout(), kept.stderr()),
        (Some(0), printed.to_string(), String::new())
    );
    let kept = run(
        wasm_rr().args(["show", "--output", "stderr"]).arg(&trace),
        None,
    );
    assert_eq!((kept.code, kept.stdout()), (Some(0), String::new()));
    // A budget of 8 bytes: the first write's first 8 bytes, then nothing.
    let r = record_embedded(
        dir.path(),
        &app,
        &["-t", "eight.cbor", "--output-bytes", "8"],
        &["hello", "world"],
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    assert_eq!(
        wrote(&dir.path().join("eight.cbor")),
        [r#"stdout wrote "arg 0: p""#]
    );
    let kept = run(
        wasm_rr()
            .args(["show", "--output", "stdout"])
            .arg(dir.path().join("eight.cbor")),
        None,
    );
    assert_eq!(kept.stdout(), "arg 0: p");
    assert_eq!(
        kept.stderr(),
        "wasm-rr: note: the app wrote 59 bytes to stdout; the trace keeps the first 8 (--output-bytes)\n"
    );
    // None: lengths and hashes only, and the header says nothing of kept output.
    let r = record_embedded(
        dir.path(),
        &app,
        &["-t", "none.json", "--output-bytes", "none"],
        &["hello", "world"],
        None,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    let none = dir.path().join("none.json");
    assert!(wrote(&none).is_empty());
    let json = std::fs::read_to_string(&none).unwrap();
    assert!(!json.contains("output-bytes"), "{json}");
    let kept = run(
        wasm_rr().args(["show", "--output", "stdout"]).arg(&none),
        None,
    );
    assert_eq!(kept.code, Some(2));
    assert_eq!(
        kept.stderr(),
        format!(
            "wasm-rr: error: {} keeps no output (it was recorded with --output-bytes none, or by a wasm-rr older than trace format 7): only the length and hash of each write\n",
            none.display()
        )
    );
    // Stock wasmtime: `wrap --output-bytes all`, in the header as 2^64 - 1.
    let (recording, traces) = wrap_for_recording(dir.path(), &app, &["--output-bytes", "all"]);
    let stock = run_recording(&recording, &traces, &[], &["hello", "world"]);
    assert_eq!(stock.code, Some(0), "{}", stock.stderr());
    let trace = traces.join("trace.cbor");
    assert_eq!(load(&trace).header.output_bytes, u64::MAX);
    assert_eq!(wrote(&trace).len(), 4);
    assert_eq!(
        replay_on_wasmtime(dir.path(), &app, &trace).stdout(),
        stock.stdout()
    );
    // A bad size, in one line.
    let bad = record_embedded(dir.path(), &app, &["--output-bytes", "lots"], &[], None);
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr()
            .starts_with("error: invalid value 'lots' for '--output-bytes <all|none|SIZE>': ")
            && bad.stderr().contains("or `all`, or `none`"),
        "{}",
        bad.stderr()
    );
}

#[test]
fn diff_shows_how_the_kept_output_differs_line_by_line() {
    let dir = scratch();
    let app = fixture("print_args");
    for (name, word) in [("a.cbor", "world"), ("b.cbor", "there")] {
        let r = record_embedded(dir.path(), &app, &["-t", name], &["hello", word], None);
        assert_eq!(r.code, Some(0), "{}", r.stderr());
    }
    let (a, b) = (dir.path().join("a.cbor"), dir.path().join("b.cbor"));
    let r = run(wasm_rr().arg("diff").arg(&a).arg(&b), None);
    assert_eq!(r.code, Some(1), "{}", r.stderr());
    let out = r.stdout();
    let expected = format!(
        "stdout differs (as the traces keep it):\n--- {}\n+++ {}\n@@ -1,4 +1,4 @@\n arg 0: print_args.wasm\n arg 1: hello\n-arg 2: world\n+arg 2: there\n cwd: None\n",
        a.display(),
        b.display()
    );
    assert!(out.ends_with(&expected), "{out}");
    assert!(!out.contains("stderr differs"), "{out}");
}
