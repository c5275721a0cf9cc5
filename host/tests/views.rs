//! Views of a trace: `wasm-rr show --summary`, `--http`, `--files` and `--net`, golden on the
//! fixture traces
//! (files, HTTP client and handler, sockets; `tests/views/NAME.VIEW.txt`), the filters of
//! `--http`, and a summary of a fresh recording whose app reads the monotonic clock.
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
    let r = run(wasm_rr().args(["show", "--grep", "x"]).arg(&trace), None);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr()
            .contains("the following required arguments were not provided:\n  <--summary|--http|--files|--net>"),
        "{}",
        r.stderr()
    );
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
    assert!(out.contains("\ntrace: format 4, "), "{out}");
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
