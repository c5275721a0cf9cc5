//! WASI 0.3 components (built with the `wasip3` crate on `wasm32-wasip2`, so they import
//! `wasi:*@0.3.2` beside the standard library's `@0.2.6`): their 0.3 imports go through the
//! generic path, their async `wasi:cli/run@0.3.2` through a run wrapper made at wrap time.

mod common;
#[path = "common/http_server.rs"]
mod http_server;
#[path = "common/serving.rs"]
mod serving;

use common::*;
use serving::start_serving;
use std::path::Path;
use std::process::Command;

/// Replays `trace` of `app` twice on stock wasmtime and once by `wasm-rr replay`, each
/// byte-identical to `recorded`.
fn replays_twice_and_embedded(dir: &Path, app: &Path, trace: &Path, recorded: &Run) {
    assert_replays(dir, app, trace, recorded, 2);
    let embedded = replay_embedded(dir, app, Some(trace));
    assert_eq!(&embedded, recorded, "wasm-rr replay: {}", embedded.stderr());
}

/// Where `needle` first is in `shown` (what `wasm-rr show` printed), which must hold it.
fn position(shown: &str, needle: &str) -> usize {
    shown
        .find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in:\n{shown}"))
}

/// The lines of `wasm-rr show TRACE` that are events of `interface` (`wasi:random/random`),
/// or of subtask N's calls of it (`N: wasi:clocks/monotonic-clock`), without their numbers.
fn events_of(trace: &Path, interface: &str) -> Vec<String> {
    let shown = run(wasm_rr().arg("show").arg(trace), None);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr());
    shown
        .stdout()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest.to_string()))
        // A subtask's events: `task 0: wasi:…`, asked for as `0: wasi:…`.
        .filter_map(|l| match interface.split_once(": ") {
            Some((task, _)) => l
                .strip_prefix(&format!("task {task}: "))
                .map(str::to_string),
            None => Some(l),
        })
        .filter(|l| l.starts_with(&format!("{}.", interface.rsplit(": ").next().unwrap())))
        .collect()
}

/// The number printed after `label` on a line of `out` (`random u64: 123`).
fn printed<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"))
}

#[test]
fn a_wasi_p3_command_records_on_stock_wasmtime_and_replays_byte_identical() {
    let dir = scratch();
    let app = fixture("p3_command");
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--env", "P3_GREETING=hello"],
        &["one", "two"],
        None,
    );
    assert_printed(
        &recorded,
        &[
            "args: [\"app.recording.wasm\", \"one\", \"two\"]\n",
            "env: [(\"P3_GREETING\", \"hello\")]\n",
            "(at least 20 ms: true)\n",
        ],
        "the recording",
    );
    let out = recorded.stdout();
    // The trace holds the 0.3 calls, with what the host answered.
    assert_eq!(
        events_of(&trace, "wasi:random/random"),
        [
            format!(
                "wasi:random/random.get-random-u64() -> {}",
                printed(&out, "random u64: ")
            ),
            format!(
                "wasi:random/random.get-random-bytes(8) -> {}",
                printed(&out, "random bytes: ")
            ),
        ]
    );
    let clocks = events_of(&trace, "wasi:clocks/monotonic-clock");
    assert_eq!(clocks.len(), 2, "{clocks:?}");
    assert!(clocks[0].starts_with("wasi:clocks/monotonic-clock.now() -> "));
    // `wait-for` is an async function: a subtask, started and then returned.
    assert_eq!(
        events_of(&trace, "0: wasi:clocks/monotonic-clock"),
        [
            "wasi:clocks/monotonic-clock.wait-for(20000000) started",
            "wasi:clocks/monotonic-clock.wait-for returned",
        ]
    );
    assert_eq!(
        events_of(&trace, "wasi:cli/environment")[0],
        "wasi:cli/environment.get-arguments() -> [\"app.recording.wasm\", \"one\", \"two\"]"
    );
    // The summary times the run by the 0.3 monotonic clock, and counts the 0.3 calls.
    let summary = run(wasm_rr().arg("show").arg("--summary").arg(&trace), None).stdout();
    assert!(
        summary.contains(
            " from the first to the last monotonic clock reading; ended: run returned ok\n"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("wasi:clocks/monotonic-clock@0.3.2 3 calls"),
        "{summary}"
    );
    // Twice on stock wasmtime with no flags, env or args; then on the embedded one.
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
    // The self-replaying component imports no WASI 0.3 interface.
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(imports.iter().all(|i| !i.contains("@0.3")), "{imports:?}");
}

#[test]
fn wasm_rr_record_and_replay_run_a_wasi_p3_command_on_the_embedded_wasmtime() {
    let dir = scratch();
    let app = fixture("p3_command");
    let recorded = record_embedded(dir.path(), &app, &["--env", "P3_X=1"], &["x"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let out = recorded.stdout();
    assert!(
        out.starts_with("args: [\"p3_command.wasm\", \"x\"]\nenv: [(\"P3_X\", \"1\")]\n"),
        "{out}"
    );
    assert!(
        recorded
            .stderr()
            .contains("wasm-rr: recorded 44 events to wasm-rr-trace.cbor (exit status 0)"),
        "{}",
        recorded.stderr()
    );
    for _ in 0..2 {
        let replayed = replay_embedded(dir.path(), &app, None);
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout, recorded.stdout);
    }
}

#[test]
fn concurrent_waits_finish_in_the_recorded_order_when_recording_and_replaying() {
    let dir = scratch();
    let app = fixture("p3_race");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], None);
    // Recording keeps the app's concurrency: the 10 ms wait, started second, finishes first,
    // as it does unwrapped.
    assert_eq!(
        recorded.stdout(),
        "fast (10 ms) finished\nslow (300 ms) finished\nfirst: fast (10 ms)\n",
        "{}",
        recorded.stderr()
    );
    // Both subtasks start, then each returns where the host completed it, before what the app
    // printed when it learnt of it.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let events: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("task ") || l.contains(" wrote "))
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(
        events,
        [
            "task 0: wasi:clocks/monotonic-clock.wait-for(300000000) started",
            "task 1: wasi:clocks/monotonic-clock.wait-for(10000000) started",
            "task 1: wasi:clocks/monotonic-clock.wait-for returned",
            "stdout wrote \"fast (10 ms) finished\\n\"",
            "task 0: wasi:clocks/monotonic-clock.wait-for returned",
            "stdout wrote \"slow (300 ms) finished\\n\"",
            "stdout wrote \"first: fast (10 ms)\\n\"",
        ],
        "{shown}"
    );
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
    // It replays on Node.js 24 (jco 1.35, with JSPI), in the recorded order too; Node.js 20
    // has no JSPI and says so.
    let replaying = dir.path().join("app.replay.wasm");
    let on_24 = on_node(&replaying, Some(&node_24()));
    assert_eq!(on_24, recorded, "Node.js 24: {}", on_24.stderr());
    let system = Command::new("node").arg("--version").output();
    if system.is_ok_and(|v| v.stdout.starts_with(b"v20.")) {
        let on_20 = on_node(&replaying, None);
        assert_eq!(on_20.code, Some(2), "{}", on_20.stderr());
        assert!(
            on_20.stderr().starts_with(&format!(
                "wasm-rr: error: {} uses the component model's async ABI, which jco runs with JSPI: this Node.js (v20.",
                replaying.display()
            )),
            "{}",
            on_20.stderr()
        );
    }
}

/// The replay delivers the recorded order, not the host's: a trace edited so that the slow
/// wait returns first (and the app's output with it) replays that way.
#[test]
fn the_replay_completes_subtasks_in_the_traces_order_not_the_hosts() {
    let dir = scratch();
    let app = fixture("p3_race");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let mut edited = load(&trace);
    // Swap the two subtasks' returns and the lines the app printed after each.
    let text: Vec<String> = edited.events.iter().map(|e| e.to_string()).collect();
    let at = |needle: &str| text.iter().position(|t| t.contains(needle)).unwrap();
    let (fast, slow) = (
        at("task 1: wasi:clocks/monotonic-clock.wait-for returned"),
        at("task 0: wasi:clocks/monotonic-clock.wait-for returned"),
    );
    assert!(fast < slow);
    // The events from each return up to the next: the return and its line's write.
    let fast_events: Vec<_> = edited.events[fast..slow].to_vec();
    let end = at("first: ") - 2;
    let slow_events: Vec<_> = edited.events[slow..end].to_vec();
    edited
        .events
        .splice(fast..end, slow_events.into_iter().chain(fast_events));
    // The last line names the other wait now; the edited trace does not keep its bytes.
    let replayed = replay_edited(dir.path(), &app, &edited);
    assert_eq!(
        replayed.stdout(),
        "slow (300 ms) finished\nfast (10 ms) finished\n",
        "{}",
        replayed.stderr()
    );
    assert!(
        replayed
            .stderr()
            .contains("wasm-rr: replay diverged at event"),
        "{}",
        replayed.stderr()
    );
}

#[test]
fn a_wasi_p3_app_printing_through_a_stdout_stream_records_and_replays() {
    let dir = scratch();
    let app = fixture("p3_stdout_stream");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], None);
    assert_eq!(
        recorded.stdout(),
        "Hello, WASI 0.3!\n",
        "{}",
        recorded.stderr()
    );
    // The call is recorded without its stream, whose bytes went to the host's stdout.
    assert_eq!(
        events_of(&trace, "wasi:cli/stdout"),
        ["wasi:cli/stdout.write-via-stream()"]
    );
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
    // The self-replaying component prints through the host's 0.3 stdout, and imports no
    // other 0.3 interface.
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    let p3: Vec<&String> = imports.iter().filter(|i| i.contains("@0.3")).collect();
    assert_eq!(
        p3,
        ["wasi:cli/types@0.3.2", "wasi:cli/stdout@0.3.2"],
        "{imports:?}"
    );
    // On Node.js 24, preview3-shim serves that stdout.
    let on_24 = on_node(&dir.path().join("app.replay.wasm"), Some(&node_24()));
    assert_eq!(on_24, recorded, "Node.js 24: {}", on_24.stderr());
}

#[test]
fn wasi_p3_stdin_read_through_a_stream_is_recorded_chunk_by_chunk_and_replayed_without_it() {
    let dir = scratch();
    let app = fixture("p3_stdin");
    let input = b"hello stdin\nline two\n";
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], Some(input));
    assert_eq!(
        recorded.stdout(),
        "HELLO STDIN\nLINE TWO\n(21 bytes)\n",
        "{}",
        recorded.stderr()
    );
    // The stream is a subtask: started, the bytes as they came, and its future's value.
    let events = events_of(&trace, "0: wasi:cli/stdin");
    assert_eq!(
        events,
        [
            "wasi:cli/stdin.read-via-stream() started",
            "wasi:cli/stdin.read-via-stream returned -> ok"
        ]
    );
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let chunks: Vec<&str> = shown
        .lines()
        .filter_map(|l| l.split_once(" task 0: read ").map(|(_, c)| c))
        .collect();
    assert!(!chunks.is_empty(), "{shown}");
    assert_eq!(
        chunks.concat().replace("\"\"", ""),
        "\"hello stdin\\nline two\\n\"",
        "{shown}"
    );
    // Replayed with no stdin, twice on stock wasmtime and by `wasm-rr replay`.
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
    // Recorded by `wasm-rr record` too.
    let on_host = record_embedded(dir.path(), &app, &[], &[], Some(b"abc\n"));
    assert_eq!(on_host.stdout(), "ABC\n(4 bytes)\n", "{}", on_host.stderr());
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.stdout(), on_host.stdout(), "{}", replayed.stderr());
}

#[test]
fn wasi_p3_file_streams_are_recorded_both_ways_and_replay_with_the_files_gone() {
    let dir = scratch();
    let app = fixture("p3_file_streams");
    let (data, preopen) = data_dir(dir.path(), &[]);
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &["--dir", &preopen], &[], None);
    assert_eq!(
        recorded.stdout(),
        "written: Ok(())\nread: Ok(())\n25000 bytes, the same: true, first line: \"written through a stream\"\n",
        "{}",
        recorded.stderr()
    );
    assert_eq!(
        std::fs::read(data.join("out.txt")).unwrap().len(),
        25000,
        "the host wrote the file"
    );
    // Out: the app's bytes as the forwarder read them (at most 16,288 at a time), then the
    // future's value; in: the file's bytes as the host gave them.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let of = |prefix: &str| -> Vec<String> {
        shown
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest))
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    };
    let task0 = of("task 0: ");
    assert_eq!(task0.len(), 4, "{shown}");
    assert_eq!(
        task0[0],
        "task 0: wasi:filesystem/types.[method]descriptor.write-via-stream(descriptor#1, 0) started"
    );
    assert!(
        task0[1].starts_with("task 0: wrote \"written through a stream\\n"),
        "{shown}"
    );
    assert!(task0[1].ends_with("(16288 B)"), "{shown}");
    assert!(task0[2].ends_with("(8712 B)"), "{shown}");
    assert_eq!(
        task0[3],
        "task 0: wasi:filesystem/types.[method]descriptor.write-via-stream returned -> ok"
    );
    let task1 = of("task 1: ");
    assert_eq!(
        task1.first().map(String::as_str),
        Some(
            "task 1: wasi:filesystem/types.[method]descriptor.read-via-stream(descriptor#1, 0) started"
        )
    );
    // Chunks, then the stream's end (as the app saw it), then the future's value.
    assert!(
        task1[1..task1.len() - 2]
            .iter()
            .all(|l| l.starts_with("task 1: read ")),
        "{shown}"
    );
    assert_eq!(task1[task1.len() - 2], "task 1: ended", "{shown}");
    assert_eq!(
        task1.last().map(String::as_str),
        Some("task 1: wasi:filesystem/types.[method]descriptor.read-via-stream returned -> ok")
    );
    std::fs::remove_dir_all(&data).unwrap();
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
}

#[test]
fn a_wasi_p3_tcp_clients_socket_streams_replay_with_the_server_gone() {
    let dir = scratch();
    let app = fixture("p3_tcp");
    let (addr, server) = echo_server();
    let (recorded, trace) =
        record_on_wasmtime(dir.path(), &app, &["-S", "inherit-network"], &[&addr], None);
    server.join().unwrap();
    assert_eq!(
        recorded.stdout(),
        "sent: Ok(())\nreceived: Ok(())\nreply: \"echo: ping\\n\"\n",
        "{}",
        recorded.stderr()
    );
    // What the app sent (out) and what the server answered (in), as chunks of their subtasks.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    for line in [
        ": wasi:sockets/types.[method]tcp-socket.send(tcp-socket#0) started",
        ": wrote \"ping\\n\"",
        ": wasi:sockets/types.[method]tcp-socket.send returned -> ok",
        ": wasi:sockets/types.[method]tcp-socket.receive(tcp-socket#0) started",
        ": read \"echo: ping\\n\"",
        ": wasi:sockets/types.[method]tcp-socket.receive returned -> ok",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
}

/// Runs `cmd` (the TCP server `p3_tcp_server`, taking 2 connections) until it prints
/// `listening on ADDR`, greets it as `alice` and then `bob` (each connection sends the name,
/// closes its sending side and reads the reply to its end), and waits for it to exit. Returns
/// what it printed and the replies.
fn greet_twice(cmd: &mut Command) -> (Run, Vec<String>) {
    use std::io::{BufRead, Read, Write};
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let addr = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("the server ended before it listened:\n{printed}{stderr}");
        }
        printed.push_str(&line);
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            break addr.to_string();
        }
    };
    let replies = ["alice", "bob"]
        .iter()
        .map(|name| {
            let mut conn = std::net::TcpStream::connect(&addr).unwrap();
            // A guard, not a wait: a reply that never ends fails the test instead of hanging it.
            conn.set_read_timeout(Some(std::time::Duration::from_secs(120)))
                .unwrap();
            conn.write_all(format!("{name}\n").as_bytes()).unwrap();
            conn.shutdown(std::net::Shutdown::Write).unwrap();
            let mut reply = String::new();
            conn.read_to_string(&mut reply).unwrap();
            reply
        })
        .collect();
    stdout.read_to_string(&mut printed).unwrap();
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let code = child.wait().unwrap().code();
    let run = Run {
        stdout: printed.into_bytes(),
        stderr,
        code,
    };
    (run, replies)
}

#[test]
fn a_wasi_p3_tcp_servers_stream_of_connections_replays_with_the_network_gone() {
    let dir = scratch();
    let app = fixture("p3_tcp_server");
    let (recording, traces) = wrap_for_recording(dir.path(), &app, &[]);
    let (recorded, replies) = greet_twice(&mut recording_command(
        &recording,
        &traces,
        &["-S", "inherit-network"],
        &["2"],
    ));
    assert_eq!(replies, ["hello, alice\n", "hello, bob\n"]);
    let out = recorded.stdout();
    let addr = printed(&out, "listening on ").to_string();
    assert_eq!(
        out,
        format!(
            "second listen: Err(ErrorCode::InvalidState)\nlistening on {addr}\n\
             served alice from connection 1\nserved bob from connection 2\n"
        ),
        "{}",
        recorded.stderr()
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // The listener is a subtask whose result is recorded at once (its error too); each
    // connection is a value of its stream, a socket numbered as it came.
    let trace = traces.join("trace.cbor");
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let at = |needle: &str| position(&shown, needle);
    let listen = "task 0: wasi:sockets/types.[method]tcp-socket.listen";
    assert!(
        at(&format!("{listen}(tcp-socket#0) started")) < at(&format!("{listen} returned -> ok"))
    );
    at("task 1: wasi:sockets/types.[method]tcp-socket.listen returned -> err(invalid-state)");
    assert!(at("task 0: read [tcp-socket#1]") < at("tcp-socket.receive(tcp-socket#1) started"));
    assert!(at("read \"alice\\n\"") < at("task 0: read [tcp-socket#2]"));
    assert!(at("task 0: read [tcp-socket#2]") < at("tcp-socket.receive(tcp-socket#2) started"));
    at("read \"bob\\n\"");
    // `replay --calls`: a connection, which the host (the trace) gives and no call of the
    // app's makes, names where the app started its listener's task.
    let calls = run(
        wasm_rr()
            .arg("replay")
            .arg(&app)
            .arg(&trace)
            .arg("--calls=wasi:sockets"),
        None,
    );
    assert_eq!(calls.stdout(), out, "{}", calls.stderr());
    let err = calls.stderr();
    let line = |start: &str| {
        err.lines()
            .find(|l| l.contains(start))
            .unwrap_or_else(|| panic!("no {start:?} in:\n{err}"))
            .to_string()
    };
    let started = line(&format!("{listen}(tcp-socket#0) started  at "));
    let at = started.split_once("  at ").unwrap().1;
    for connection in ["task 0: read [tcp-socket#1]", "task 0: read [tcp-socket#2]"] {
        assert!(
            line(connection).ends_with(&format!("]  (task 0, started at {at})")),
            "{err}"
        );
    }
    // Nothing listens now: the replay needs no network; on Node.js 24 too.
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
    let on_24 = on_node(&dir.path().join("app.replay.wasm"), Some(&node_24()));
    assert_eq!(on_24, recorded, "Node.js 24: {}", on_24.stderr());
    // Recorded by `wasm-rr record` on the embedded wasmtime, too.
    let embedded = dir.path().join("embedded");
    std::fs::create_dir_all(&embedded).unwrap();
    let (again, replies) = greet_twice(
        wasm_rr()
            .current_dir(&embedded)
            .args(["record", "-S", "inherit-network"])
            .arg(&app)
            .args(["--", "2"]),
    );
    assert_eq!(
        replies,
        ["hello, alice\n", "hello, bob\n"],
        "{}",
        again.stderr()
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr());
    let replayed = replay_embedded(&embedded, &app, None);
    assert_eq!(replayed.stdout(), again.stdout(), "{}", replayed.stderr());
}

#[test]
fn wasi_p3_udp_datagrams_and_a_name_lookup_replay_with_the_network_gone() {
    let dir = scratch();
    let app = fixture("p3_udp");
    let flags = ["-S", "inherit-network", "-S", "allow-ip-name-lookup"];
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &flags, &[], None);
    assert_eq!(
        recorded.stdout(),
        "b got \"ping\" from a: true\na got \"pong\"\nlocalhost is 127.0.0.1: true\n",
        "{}",
        recorded.stderr()
    );
    // `send` returned at once; `receive` and `resolve-addresses` were subtasks, their lists
    // in the trace.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    for line in [
        "wasi:sockets/types.[method]udp-socket.send(udp-socket#0, [112, 105, 110, 103], some(ipv4(",
        "task 0: wasi:sockets/types.[method]udp-socket.receive(udp-socket#1) started",
        "task 0: wasi:sockets/types.[method]udp-socket.receive returned -> ok(([112, 105, 110, 103], ipv4(",
        "task 2: wasi:sockets/ip-name-lookup.resolve-addresses(\"localhost\") started",
        "task 2: wasi:sockets/ip-name-lookup.resolve-addresses returned -> ok([",
        "ipv4((127, 0, 0, 1))",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
}

/// A server for `p3_tcp_race` (which connects twice and sends `a` on one connection, `b` on
/// the other): it takes both connections and their names, replies to `first` and ends that
/// reply, and waits until the app has closed that connection's sending side (which it does once
/// it has read the reply to its end) before it replies to the other. So the app sees `first`'s
/// reply end first, every time. Returns its address once it is bound.
fn race_server(first: &'static str) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let mut named = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut name = String::new();
            reader.read_line(&mut name).unwrap();
            named.push((name.trim().to_string(), stream, reader));
        }
        named.sort_by_key(|(name, ..)| name != first);
        for (name, mut stream, mut reader) in named {
            stream
                .write_all(format!("reply to {name}\n").as_bytes())
                .unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            // The app's end of this connection: it closes once the reply is read.
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).unwrap();
        }
    });
    (addr, handle)
}

#[test]
fn which_of_two_wasi_p3_tcp_replies_ends_first_is_recorded_and_replayed_in_that_order() {
    // Both orders, so that a replay that kept one order whatever the trace said would fail.
    for (first, second) in [("a", "b"), ("b", "a")] {
        let dir = scratch();
        let app = fixture("p3_tcp_race");
        let (addr, server) = race_server(first);
        let (recorded, trace) =
            record_on_wasmtime(dir.path(), &app, &["-S", "inherit-network"], &[&addr], None);
        server.join().unwrap();
        assert_eq!(
            recorded.stdout(),
            format!("1: {first}: \"reply to {first}\"\n2: {second}: \"reply to {second}\"\n"),
            "{}",
            recorded.stderr()
        );
        // Both receives were open at once; the trace has the first reply's chunk and end
        // before the second's chunk.
        let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
        let at = |needle: &str| position(&shown, needle);
        let started = shown.matches("tcp-socket.receive(tcp-socket#").count();
        assert_eq!(started, 2, "{shown}");
        assert!(
            at(&format!(": read \"reply to {first}\\n\""))
                < at(&format!(": read \"reply to {second}\\n\"")),
            "{shown}"
        );
        // The first reply's stream ended (for the app) before the second reply came: the
        // server sent it only once the app had seen that end.
        let first_task = if first == "a" { 0 } else { 2 };
        assert!(
            at(&format!("task {first_task}: ended"))
                < at(&format!(": read \"reply to {second}\\n\"")),
            "{shown}"
        );
        replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
    }
}

/// An HTTP/1.1 server (hyper) for `p3_http_race` (which POSTs `a` and `b` at once, and ends
/// each request's body once it has read the response's): it takes both requests' first bytes
/// (their names), answers `first`, and answers the other only once `first`'s request body has
/// ended (the app has read `first`'s response to its end). So the app sees `first`'s response
/// end first, every time. Returns its address once it is bound.
fn http_race_server(first: &'static str) -> (String, std::thread::JoinHandle<()>) {
    use http_body_util::{BodyExt, Full};
    use std::sync::Arc;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (arrived, _) = tokio::sync::watch::channel(0usize);
            let (ended, _) = tokio::sync::watch::channel(false);
            let (arrived, ended) = (Arc::new(arrived), Arc::new(ended));
            let mut connections = Vec::new();
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                let (arrived, ended) = (arrived.clone(), ended.clone());
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (arrived, ended) = (arrived.clone(), ended.clone());
                        async move {
                            let mut body = req.into_body();
                            let mut name = Vec::new();
                            while name.is_empty() {
                                let frame = body.frame().await.unwrap().unwrap();
                                name.extend_from_slice(&frame.into_data().unwrap_or_default());
                            }
                            let name = String::from_utf8(name).unwrap();
                            arrived.send_modify(|n| *n += 1);
                            arrived.subscribe().wait_for(|n| *n == 2).await.unwrap();
                            if name != first {
                                ended.subscribe().wait_for(|e| *e).await.unwrap();
                            }
                            // The rest of the request's body, read after the response is sent;
                            // its end, `first`'s, lets the other response go.
                            let is_first = name == first;
                            tokio::spawn(async move {
                                while let Some(Ok(_)) = body.frame().await {}
                                if is_first {
                                    ended.send_replace(true);
                                }
                            });
                            let reply = Full::new(bytes::Bytes::from(format!("reply to {name}\n")));
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(reply))
                        }
                    },
                );
                connections.push(tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }));
            }
            for c in connections {
                c.await.unwrap();
            }
        });
    });
    (addr, handle)
}

#[test]
fn which_of_two_wasi_p3_http_responses_ends_first_is_recorded_and_replayed_in_that_order() {
    // Both orders, so that a replay that kept one order whatever the trace said would fail.
    for (first, second) in [("a", "b"), ("b", "a")] {
        let dir = scratch();
        let app = fixture("p3_http_race");
        let (addr, server) = http_race_server(first);
        let (recorded, trace) = record_on_wasmtime(
            dir.path(),
            &app,
            &["-S", "http", "-S", "inherit-network"],
            &[&addr],
            None,
        );
        server.join().unwrap();
        assert_eq!(
            recorded.stdout(),
            format!(
                "1: {first}: 200 \"reply to {first}\"\n2: {second}: 200 \"reply to {second}\"\n"
            ),
            "{}",
            recorded.stderr()
        );
        let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
        let at = |needle: &str| position(&shown, needle);
        // Both requests were made and sent at once: each `request.new` (its handle recorded,
        // the body and trailers not arguments), its body's bytes, and both sends started
        // before either returned.
        for (task, name, request) in [(0, "a", 0), (2, "b", 1)] {
            at(&format!(
                "task {task}: wasi:http/types.[static]request.new(fields#{request}, none) opened -> request#{request}\n"
            ));
            at(&format!("task {task}: wrote \"{name}\"\n"));
        }
        assert!(
            at("task 3: wasi:http/client.send(request#1) started")
                < at("wasi:http/client.send returned -> ok(response#0)"),
            "{shown}"
        );
        // The first response's body, its end, then the second's body.
        assert!(
            at(&format!(": read \"reply to {first}\\n\""))
                < at(&format!(": read \"reply to {second}\\n\"")),
            "{shown}"
        );
        replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
    }
}

#[test]
fn a_wasi_p3_http_get_without_a_body_replays_its_response_and_trailers_with_the_server_gone() {
    let dir = scratch();
    let app = fixture("p3_http_get");
    let server = http_server::start();
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["-S", "http", "-S", "inherit-network"],
        &[&server.addr, "/chunked"],
        None,
    );
    server.stop();
    assert_eq!(
        recorded.stdout(),
        "status: 200\nbody: \"one,two,three\"\ntrailers: [(\"x-checksum\", \"42\")]\n",
        "{}",
        recorded.stderr()
    );
    // No body: `request.new` passed no stream (nothing written); the response's trailers are
    // a handle the trace numbers, read like any other `fields`.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    assert!(
        shown.contains(
            "task 0: wasi:http/types.[static]request.new(fields#0, none) opened -> request#0\n"
        ),
        "{shown}"
    );
    assert!(!shown.contains(": wrote "), "{shown}");
    assert!(
        shown.contains("wasi:http/types.[static]response.consume-body returned -> ok(some(fields#"),
        "{shown}"
    );
    assert!(
        shown.contains(".copy-all(fields#") && shown.contains(r#"[("x-checksum", [52, 50])]"#),
        "{shown}"
    );
    // Every call counts in the summary, the opened ones too (`request.new`, `consume-body`).
    let summary = run(wasm_rr().args(["show", "--summary"]).arg(&trace), None).stdout();
    assert!(
        summary.contains(
            "recorded from their WIT: wasi:http/client@0.3.2 1 call, wasi:http/types@0.3.2 9 calls; "
        ),
        "{summary}"
    );
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
}

#[test]
fn wasm_rr_record_and_replay_run_a_wasi_p3_http_client_on_the_embedded_wasmtime() {
    let dir = scratch();
    let app = fixture("p3_http_race");
    let (addr, server) = http_race_server("b");
    let recorded = record_embedded(dir.path(), &app, &["-S", "inherit-network"], &[&addr], None);
    server.join().unwrap();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert_eq!(
        recorded.stdout(),
        "1: b: 200 \"reply to b\"\n2: a: 200 \"reply to a\"\n"
    );
    // The server is gone: replayed by `wasm-rr replay` and by its self-replaying component.
    let trace = dir.path().join("wasm-rr-trace.cbor");
    for _ in 0..2 {
        let replayed = replay_embedded(dir.path(), &app, None);
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout, recorded.stdout);
    }
    let on_wasmtime = replay_on_wasmtime(dir.path(), &app, &trace);
    assert_eq!(on_wasmtime.code, Some(0), "{}", on_wasmtime.stderr());
    assert_eq!(on_wasmtime.stdout, recorded.stdout);
}

/// Stock `wasmtime serve -Scli` of a service's recording component, writing its traces into
/// `traces`, on a port the system picks.
fn serve_recording(recording: &Path, traces: &Path) -> serving::Serving {
    wasmtime(); // (checks its version)
    let mut cmd = Command::new("wasmtime");
    cmd.args(["serve", "-Scli", "--addr", "127.0.0.1:0", "--dir"])
        .arg(format!("{}::/wasm-rr", traces.display()))
        .arg(recording);
    start_serving(cmd, "Serving HTTP on ")
}

/// Records `p3_echo_service` under stock `wasmtime serve`: a POST to `/hold` and, once the
/// instance printed `holding #1`, a POST to `/release`, which lets it answer. Returns the two
/// answers (hold's, release's) and the trace of the instance that served both.
fn record_hold_and_release(dir: &Path, app: &Path) -> (String, String, std::path::PathBuf) {
    let (recording, traces) = wrap_for_recording(dir, app, &[]);
    let serving = serve_recording(&recording, &traces);
    let (hold, release) = hold_and_release(&serving);
    serving.stop();
    (hold, release, trace_holding(&traces, "post /hold"))
}

/// The trace among those in `traces` whose `show --requests` lists `request` (`post /hold`).
fn trace_holding(traces: &Path, request: &str) -> std::path::PathBuf {
    dir_entries(traces)
        .into_iter()
        .find(|t| {
            let shown = run(wasm_rr().args(["show", "--requests"]).arg(t), None);
            shown.stdout().contains(request)
        })
        .unwrap_or_else(|| panic!("no trace holds {request}"))
}

/// `wasm-rr replay --request K` of the trace of the instance that answered `/hold` (request
/// 1, `hold`) and `/release` (request 2, `release`): exit 0, the body on stdout, the app's
/// `holding #1` and the request's line on stderr.
fn replays_hold_and_release_requests(app: &Path, trace: &Path, hold: &str, release: &str) {
    for (k, body, request) in [(1, hold, "post /hold"), (2, release, "post /release")] {
        let replayed = run(
            wasm_rr()
                .args(["replay", "--request", &k.to_string()])
                .arg(app)
                .arg(trace),
            None,
        );
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout(), body);
        let stderr = replayed.stderr();
        assert!(
            stderr.starts_with(&format!("holding #1\nwasm-rr: request {k}: #"))
                && stderr.ends_with(&format!(", {request}, 200, {} body bytes\n", body.len())),
            "{stderr}"
        );
    }
}

/// A POST to `/hold` of `p3_echo_service` served by `serving` and, once the instance printed
/// `holding #1`, a POST to `/release`, which lets it answer. Returns the two answers.
fn hold_and_release(serving: &serving::Serving) -> (String, String) {
    let addr = serving.addr.clone();
    let hold =
        std::thread::spawn(move || http_server::request(&addr, "POST", "/hold", &[], "held body"));
    serving.wait_for_stderr("holding #1");
    // `/hold` waits for a `/release` that reaches its instance: wasmtime gives the next request
    // to a worker that is waiting for I/O, which the holding one is (almost always: until then
    // another instance answers, and the test asks again).
    let mut release = None;
    for _ in 0..50 {
        let r = http_server::request(&serving.addr, "POST", "/release", &[], "go");
        assert_eq!(r.status, 200, "{r:?}");
        if r.body.starts_with("#2 ") {
            release = Some(r.body);
            break;
        }
    }
    let release = release.expect("no /release reached the holding instance");
    let hold = hold.join().unwrap();
    assert_eq!(hold.status, 200, "{hold:?}");
    (hold.body, release)
}

#[test]
fn a_wasi_p3_service_under_stock_wasmtime_serve_records_its_instance_and_replays_its_requests() {
    let dir = scratch();
    let app = fixture("p3_echo_service");
    let (hold, release, trace) = record_hold_and_release(dir.path(), &app);
    // Two requests in flight at once in one instance: the second released the first.
    let random = |body: &str| {
        body.split("(random ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .unwrap_or_else(|| panic!("no random number in {body:?}"))
            .to_string()
    };
    assert_eq!(
        hold,
        format!(
            "#1 Method::Post /hold: held body (random {}), released by #2\n",
            random(&hold)
        )
    );
    assert_eq!(
        release,
        format!(
            "#2 Method::Post /release: go (random {})\n",
            random(&release)
        )
    );
    // One trace per instance, named `inst-<20 digits>-<8 hex digits>.cbor`.
    let name = trace.file_name().unwrap().to_str().unwrap();
    let stem = name
        .strip_prefix("inst-")
        .and_then(|n| n.strip_suffix(".cbor"));
    let (ns, tag) = stem.and_then(|s| s.split_once('-')).unwrap_or(("", ""));
    assert!(
        ns.len() == 20
            && ns.bytes().all(|b| b.is_ascii_digit())
            && tag.len() == 8
            && tag.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    // `show --requests` lists both, interleaved as they came, with what they answered.
    let shown = run(wasm_rr().args(["show", "--requests"]).arg(&trace), None);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr());
    let out = shown.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "requests: 2", "{out}");
    assert!(
        lines[1].starts_with("request 1: #0 to #")
            // (Its length varies with the random number's digits.)
            && lines[1].ends_with(&format!(", post /hold, 200, {} body bytes", hold.len())),
        "{out}"
    );
    assert_eq!(lines[2], format!("  body: {hold:?}"));
    assert!(
        lines[3].starts_with("request 2: #")
            && lines[3].ends_with(&format!(
                ", post /release, 200, {} body bytes",
                release.len()
            )),
        "{out}"
    );
    assert_eq!(lines[4], format!("  body: {release:?}"));
    // The trace: the second request came before the first was answered.
    let events = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let second = position(&events, "wasm-rr:serve/requests.take() -> request#1");
    let first_answered = position(&events, "wasm-rr:serve/requests.give(1, response#");
    assert!(
        position(&events, "wasm-rr:serve/requests.take() -> request#0") < second
            && second < position(&events, "wasm-rr:serve/requests.give(2, response#")
            && second < first_answered,
        "{events}"
    );
    // Replayed: the instance's history, with the network gone, twice on stock wasmtime (no
    // flags) and by `wasm-rr replay`: what the app printed, and nothing else.
    let expected = Run {
        code: Some(0),
        stdout: Vec::new(),
        stderr: b"holding #1\n".to_vec(),
    };
    replays_twice_and_embedded(dir.path(), &app, &trace, &expected);
    // Up to request K: the history until the app answered it, and that response.
    replays_hold_and_release_requests(&app, &trace, &hold, &release);
    let out = dir.path().join("upto2.wasm");
    let wrapped = run(
        wasm_rr()
            .arg("wrap")
            .arg(&app)
            .arg("-o")
            .arg(&out)
            .args(["--request", "2", "--replay"])
            .arg(&trace),
        None,
    );
    assert_eq!(wrapped.code, Some(0), "{}", wrapped.stderr());
    // It prints request 2's response as `replay --request 2` does, on stock wasmtime.
    // On stock wasmtime and on Node.js 24.
    for replayed in [
        run(wasmtime().arg(&out), None),
        on_node(&out, Some(&node_24())),
    ] {
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout(), release);
        assert!(
            replayed
                .stderr()
                .starts_with("holding #1\nwasm-rr: request 2: #")
                && replayed.stderr().ends_with(&format!(
                    ", post /release, 200, {} body bytes\n",
                    release.len()
                )),
            "{}",
            replayed.stderr()
        );
    }
    // A request the trace does not hold: one line naming the trace.
    let missing = run(
        wasm_rr()
            .args(["replay", "--request", "3"])
            .arg(&app)
            .arg(&trace),
        None,
    );
    assert_eq!(missing.code, Some(2), "{}", missing.stderr());
    assert_eq!(
        missing.stderr(),
        format!(
            "wasm-rr: error: {} holds 2 requests (numbered from 1): there is no request 3\n",
            trace.display()
        )
    );
}

#[test]
fn every_instance_of_a_wasi_p3_service_under_a_burst_of_concurrent_requests_replays() {
    let dir = scratch();
    let app = fixture("p3_echo_service");
    let (recording, traces) = wrap_for_recording(dir.path(), &app, &[]);
    let serving = serve_recording(&recording, &traces);
    // 8 clients, 6 requests each, at once: instances serve several at a time.
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let addr = serving.addr.clone();
            std::thread::spawn(move || {
                (0..6)
                    .map(|i| {
                        let r = http_server::request(&addr, "POST", &format!("/{c}/{i}"), &[], "b");
                        assert_eq!(r.status, 200, "{r:?}");
                        r.body
                    })
                    .collect::<Vec<String>>()
            })
        })
        .collect();
    let mut answered: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    serving.stop();
    // Every answer is in an instance's trace, and every instance replays.
    let mut listed = Vec::new();
    for trace in dir_entries(&traces) {
        let shown = run(
            wasm_rr().args(["show", "--requests", "--json"]).arg(&trace),
            None,
        );
        assert_eq!(shown.code, Some(0), "{}", shown.stderr());
        let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        for r in json["requests"].as_array().unwrap() {
            listed.push(r["body"].as_str().unwrap().to_string());
        }
        let replayed = replay_embedded(dir.path(), &app, Some(&trace));
        assert_eq!(
            (replayed.code, replayed.stdout(), replayed.stderr()),
            (Some(0), String::new(), String::new()),
            "{}",
            trace.display()
        );
    }
    answered.sort();
    listed.sort();
    assert_eq!(listed, answered);
}

#[test]
fn wasm_rr_serve_records_a_wasi_p3_service_one_trace_per_instance_and_each_replays() {
    let dir = scratch();
    let app = fixture("p3_echo_service");
    let traces = dir.path().join("traces");
    // Every instance serves 2 requests at most.
    let mut cmd = wasm_rr();
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--max-instance-reuse-count",
        "2",
        "-t",
    ])
    .arg(&traces)
    .arg(&app);
    let serving = start_serving(cmd, "serving HTTP on ");
    // Two requests at once in one instance: the second releases the first.
    let (hold, release) = hold_and_release(&serving);
    assert!(
        hold.starts_with("#1 Method::Post /hold: held body (random "),
        "{hold}"
    );
    assert!(hold.ends_with("), released by #2\n"), "{hold}");
    assert!(
        release.starts_with("#2 Method::Post /release: go (random "),
        "{release}"
    );
    // Then four, one after another: the holding instance has served its 2.
    let mut answered = vec![hold.clone(), release.clone()];
    for i in 0..4 {
        let r = http_server::request(&serving.addr, "POST", &format!("/{i}"), &[], "b");
        assert_eq!(r.status, 200, "{r:?}");
        answered.push(r.body);
    }
    serving.stop();
    // One trace per instance, none holding more than 2 requests; every answer in one of
    // them, and every instance replays (by `wasm-rr replay`: what the app printed).
    let mut listed = Vec::new();
    let all = dir_entries(&traces);
    assert!(all.len() >= 3, "{all:?}");
    for trace in &all {
        let name = trace.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("inst-") && name.ends_with(".cbor"),
            "{name}"
        );
        let shown = run(
            wasm_rr().args(["show", "--requests", "--json"]).arg(trace),
            None,
        );
        assert_eq!(shown.code, Some(0), "{}", shown.stderr());
        let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        let requests = json["requests"].as_array().unwrap();
        assert!((1..=2).contains(&requests.len()), "{json}");
        for r in requests {
            listed.push(r["body"].as_str().unwrap().to_string());
        }
        let replayed = replay_embedded(dir.path(), &app, Some(trace));
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout(), "");
    }
    answered.sort();
    listed.sort();
    assert_eq!(listed, answered);
    // The holding instance's history, up to each of its requests, with that response; and
    // whole, on stock wasmtime (recorded on the embedded one).
    let trace = trace_holding(&traces, "post /hold");
    replays_hold_and_release_requests(&app, &trace, &hold, &release);
    let on_stock = replay_on_wasmtime(dir.path(), &app, &trace);
    assert_eq!(
        (on_stock.code, on_stock.stdout(), on_stock.stderr()),
        (Some(0), String::new(), "holding #1\n".to_string())
    );
}

#[test]
fn a_wasi_p3_service_that_panics_under_wasm_rr_serve_answers_500_and_its_trace_replays_the_panic() {
    let dir = scratch();
    let app = fixture("p3_echo_service");
    let traces = dir.path().join("traces");
    let mut cmd = wasm_rr();
    cmd.args(["serve", "--addr", "127.0.0.1:0", "-t"])
        .arg(&traces)
        .arg(&app);
    let serving = start_serving(cmd, "serving HTTP on ");
    let first = http_server::request(&serving.addr, "POST", "/a", &[], "one");
    assert_eq!(first.status, 200, "{first:?}");
    // The second panics: the instance traps, the request is answered 500.
    let second = http_server::request(&serving.addr, "POST", "/panic", &[], "two");
    assert_eq!(second.status, 500, "{second:?}");
    serving.wait_for_stderr("asked to panic by request #2: two");
    serving.wait_for_stderr("wasm-rr: a request failed: worker trapped or panicked");
    // A new instance serves the next.
    let third = http_server::request(&serving.addr, "POST", "/b", &[], "three");
    assert_eq!(third.status, 200, "{third:?}");
    assert!(
        third.body.starts_with("#1 Method::Post /b: three"),
        "{third:?}"
    );
    serving.stop();
    // The trapped instance's trace holds both requests, the second not answered.
    let trace = trace_holding(&traces, "post /panic");
    let shown = run(wasm_rr().args(["show", "--requests"]).arg(&trace), None);
    let out = shown.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "requests: 2", "{out}");
    assert_eq!(lines[2], format!("  body: {:?}", first.body), "{out}");
    assert!(
        lines[3].starts_with("request 2: #") && lines[3].ends_with(", not answered, post /panic"),
        "{out}"
    );
    // The summary says what the instance did instead of how a run ended.
    let summary = run(wasm_rr().args(["show", "--summary"]).arg(&trace), None).stdout();
    assert!(
        summary.contains("; ended: no run end (a WASI 0.3 service's instance: 2 requests came, 1 answered; `wasm-rr show --requests` lists them)\n"),
        "{summary}"
    );
    let json = run(
        wasm_rr().args(["show", "--summary", "--json"]).arg(&trace),
        None,
    );
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (&json["requests"]["came"], &json["requests"]["answered"]),
        (&serde_json::json!(2), &serde_json::json!(1)),
        "{json}"
    );
    // Its replay panics where the recording did (the network gone), with `wasm-rr replay` and
    // on stock wasmtime.
    for replayed in [
        replay_embedded(dir.path(), &app, Some(&trace)),
        replay_on_wasmtime(dir.path(), &app, &trace),
    ] {
        assert_eq!(replayed.code, Some(134), "{}", replayed.stderr());
        assert!(
            replayed
                .stderr()
                .contains("panicked at fixtures/src/bin/p3_echo_service.rs")
                && replayed
                    .stderr()
                    .contains("asked to panic by request #2: two\n"),
            "{}",
            replayed.stderr()
        );
    }
    // A request that was not answered has no history up to its answer.
    let upto = run(
        wasm_rr()
            .args(["replay", "--request", "2"])
            .arg(&app)
            .arg(&trace),
        None,
    );
    assert_eq!(upto.code, Some(2), "{}", upto.stderr());
    assert_eq!(
        upto.stderr(),
        format!(
            "wasm-rr: error: {}: request 2 was not answered (the instance stopped first); its history cannot be replayed up to its answer\n",
            trace.display()
        )
    );
}

#[test]
fn a_wasi_p3_service_is_wrapped_for_wasmtime_serve_and_record_points_to_wasm_rr_serve() {
    let dir = scratch();
    let service = fixture("p3_service");
    let out = dir.path().join("out.wasm");
    let wrapped = try_wrap(&service, &out, None);
    assert_eq!(wrapped.code, Some(0), "{}", wrapped.stderr());
    assert!(
        wrapped.stderr().ends_with(&format!(
            "wasm-rr: wrote {} (recording component: serve it with `wasmtime serve -Scli --dir <trace-dir>::/wasm-rr`; every instance writes one trace of the requests it serves)\n",
            out.display()
        )),
        "{}",
        wrapped.stderr()
    );
    // It says nothing of wasm-rr's own interface, which needs no flag.
    assert!(
        !wrapped.stderr().contains("wasm-rr:serve"),
        "{}",
        wrapped.stderr()
    );
    let trace = dir.path().join("t.cbor");
    let recorded = run(
        wasm_rr().arg("record").arg(&service).arg("-t").arg(&trace),
        None,
    );
    assert_eq!(recorded.code, Some(2), "{}", recorded.stderr());
    assert_eq!(
        recorded.stderr(),
        format!(
            "wasm-rr: error: {} is a WASI 0.3 HTTP service (it exports wasi:http/handler@0.3.2): record it with `wasm-rr serve`\n",
            service.display()
        )
    );
    assert!(!trace.exists());
    // `wasm-rr serve`'s reuse flags are a 0.3 service's: a 0.2 handler's instances serve one
    // request each.
    let handler = fixture("wstd_server");
    let served = run(
        wasm_rr()
            .args(["serve", "--max-instance-reuse-count", "4"])
            .arg(&handler),
        None,
    );
    assert_eq!(served.code, Some(2), "{}", served.stderr());
    assert_eq!(
        served.stderr(),
        format!(
            "wasm-rr: error: cannot serve {} with --max-instance-reuse-count or --max-instance-concurrent-reuse-count: it is a WASI 0.2 handler, whose instances serve one request each\n",
            handler.display()
        )
    );
}

#[test]
fn a_replay_whose_app_now_awaits_in_another_order_is_a_divergence_naming_both_events() {
    let dir = scratch();
    let (recorded, trace) = record_on_wasmtime(dir.path(), &fixture("p3_race"), &[], &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // `p3_race_v2` awaits its first wait before it starts the second; the trace of `p3_race`
    // starts both first.
    let v2 = fixture("p3_race_v2");
    let mut edited = load(&trace);
    edited.header.component_sha256 =
        wasm_rr_composer::component_sha256(&std::fs::read(&v2).unwrap());
    let replayed = replay_edited(dir.path(), &v2, &edited);
    assert_eq!(replayed.code, Some(1), "{}", replayed.stderr());
    assert_eq!(replayed.stdout(), "");
    assert!(
        replayed.stderr().starts_with(
            "wasm-rr: replay diverged at event 1\n  expected: task 1: wasi:clocks/monotonic-clock.wait-for(10000000) started\n  actual:   nothing: the app waits for task 0: wasi:clocks/monotonic-clock.wait-for(300000000) to return\n  last events:\n    #0 task 0: wasi:clocks/monotonic-clock.wait-for(300000000) started\n"
        ),
        "{}",
        replayed.stderr()
    );
}

#[test]
fn wasm_rr_test_runs_a_wasi_p3_command_on_its_recorded_inputs() {
    let dir = scratch();
    let app = fixture("p3_command");
    // Recorded on stock wasmtime, with arguments and a variable.
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--env", "P3_TOKEN=abc"],
        &["one", "two"],
        None,
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // The same build passes: it gets the recorded arguments, variable, clock readings and
    // random values through WASI 0.3 and prints what it printed.
    let r = run(wasm_rr().arg("test").arg(&app).arg(&trace), None);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout(), r.stderr());
    assert!(
        r.stdout().contains("PASS ") && r.stdout().ends_with("1 passed, 0 failed\n"),
        "{}",
        r.stdout()
    );
    // Another app fails, the difference shown: what it printed now against the recording.
    let other = fixture("p3_workload");
    let r = run(wasm_rr().arg("test").arg(&other).arg(&trace), None);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout(), r.stderr());
    let first_line = recorded.stdout().lines().next().unwrap().to_string();
    for line in [
        "    stdout differs:".to_string(),
        format!("      -{first_line}"),
        "0 passed, 1 failed".to_string(),
    ] {
        assert!(
            r.stdout().contains(&line),
            "no {line:?} in:\n{}",
            r.stdout()
        );
    }
    // An app whose 0.3 imports the test host does not serve is refused in one line.
    let files = fixture("p3_files");
    let r = run(wasm_rr().arg("test").arg(&files).arg(&trace), None);
    assert_eq!(r.code, Some(2), "{}", r.stderr());
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: {} imports `wasi:filesystem/types@0.3.2`: `wasm-rr test` serves WASI 0.3's `wasi:cli`, `wasi:clocks` and `wasi:random` only, not `wasi:filesystem/types` yet (replay its traces with `wasm-rr replay`)\n",
            files.display()
        )
    );
}

#[test]
fn wasi_p3_filesystem_calls_without_streams_replay_with_the_files_gone() {
    let dir = scratch();
    let app = fixture("p3_files");
    let (data, preopen) = data_dir(dir.path(), &[("input.txt", "nine byte")]);
    let other = format!("{}::other", data.display());
    let flags = ["--dir", &preopen, "--dir", &other];
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &flags, &[], None);
    assert_printed(
        &recorded,
        &[
            "preopen data\n  type: Ok(DescriptorType::Directory)\n",
            "  input.txt: Ok((DescriptorType::RegularFile, 9))\n",
        ],
        "the recording",
    );
    // The trace directory (`/wasm-rr`, preopened first) is hidden from 0.3's `get-directories`
    // too: the recording lists what the app lists unwrapped.
    let plain = run(wasmtime().args(flags).arg(&app), None);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr());
    assert_eq!(recorded.stdout(), plain.stdout());
    assert!(
        !recorded.stdout().contains("/wasm-rr"),
        "{}",
        recorded.stdout()
    );
    // Async methods with results are subtasks; `open-at` (an owned handle in its result)
    // blocks, and is one event.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    for line in [
        "#0 wasi:filesystem/preopens.get-directories() -> [(descriptor#0, \"data\"), (descriptor#1, \"other\")]",
        "wasi:filesystem/types.[method]descriptor.get-flags returned -> ok({read, mutate-directory})",
        "wasi:filesystem/types.[method]descriptor.open-at(descriptor#0, {}, \"input.txt\", {}, {read}) -> ok(descriptor#2)",
        "task 3: wasi:filesystem/types.[method]descriptor.stat(descriptor#2) started",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    assert!(
        shown.contains("task 3: wasi:filesystem/types.[method]descriptor.stat returned -> ok({type: regular-file, link-count: 1, size: 9, "),
        "{shown}"
    );
    std::fs::remove_dir_all(&data).unwrap();
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
}

#[test]
fn a_wasi_p3_directory_listing_through_a_stream_of_entries_replays_with_the_directory_gone() {
    let dir = scratch();
    let app = fixture("p3_read_dir");
    let (data, preopen) = data_dir(dir.path(), &[("a.txt", "a"), ("b.txt", "b")]);
    std::fs::create_dir(data.join("sub")).unwrap();
    // Enough entries for several reads of the host's stream and of the app's (100 at a time).
    for i in 0..1500 {
        std::fs::write(data.join(format!("entry-with-a-longer-name-{i:04}")), "").unwrap();
    }
    let plain = run(wasmtime().args(["--dir", &preopen]).arg(&app), None);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr());
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &["--dir", &preopen], &[], None);
    assert_eq!(recorded.stdout(), plain.stdout(), "{}", recorded.stderr());
    assert!(
        recorded.stdout().ends_with("\n1503 entries: Ok(())\n"),
        "{}",
        recorded.stdout()
    );
    assert!(
        recorded
            .stdout()
            .contains("DescriptorType::Directory sub\n")
    );
    // The entries as values of the stream's chunks, between the subtask's start and return.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    for line in [
        "task 0: wasi:filesystem/types.[method]descriptor.read-directory(descriptor#0) started",
        "{type: regular-file, name: \"a.txt\"}",
        "{type: directory, name: \"sub\"}",
        "task 0: wasi:filesystem/types.[method]descriptor.read-directory returned -> ok",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    let chunks: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains(": task 0: read [") || l.contains(" task 0: read ["))
        .collect();
    let entries: usize = chunks.iter().map(|l| l.matches("{type: ").count()).sum();
    assert_eq!(entries, 1503, "{shown}");
    std::fs::remove_dir_all(&data).unwrap();
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
}

#[test]
fn a_65th_wasi_p3_stream_open_at_once_stops_the_recording_in_one_line() {
    let dir = scratch();
    let app = fixture("p3_many_streams");
    let (_, preopen) = data_dir(dir.path(), &[("input.txt", "nine byte")]);
    let (recorded, trace) =
        record_on_wasmtime(dir.path(), &app, &["--dir", &preopen], &["65"], None);
    assert_eq!(recorded.code, Some(1), "{}", recorded.stderr());
    assert_eq!(recorded.stdout(), "");
    assert_eq!(
        recorded.stderr(),
        "wasm-rr: the app called wasi:filesystem/types.[method]descriptor.read-via-stream while 64 streams were open: wasm-rr records at most 64 WASI 0.3 streams open at once\n"
    );
    // The trace holds what came before: the 64 streams' starts.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    assert_eq!(
        shown
            .matches(
                "wasi:filesystem/types.[method]descriptor.read-via-stream(descriptor#1, 0) started"
            )
            .count(),
        64,
        "{shown}"
    );
}

#[test]
fn a_wasi_p3_apps_environment_is_redacted_like_a_wasi_p2_apps() {
    let dir = scratch();
    let app = fixture("p3_command");
    let recorded = record_embedded(
        dir.path(),
        &app,
        &["--env", "P3_TOKEN=s3cr3t-value", "--redact-env", "P3_TOKEN"],
        &[],
        None,
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let trace = dir.path().join("wasm-rr-trace.cbor");
    let bytes = std::fs::read(&trace).unwrap();
    assert!(!bytes.windows(12).any(|w| w == b"s3cr3t-value"));
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    assert!(
        shown.contains(
            "wasi:cli/environment.get-environment() -> [(\"P3_TOKEN\", \"************\")]  [redacted]"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("stdout wrote \"env: [(\\\"P3_TOKEN\\\", \\\"************\\\")]\\n\""),
        "{shown}"
    );
}

#[test]
fn a_cancelled_subtask_is_cancelled_on_the_host_when_recording_and_replays_as_cancelled() {
    let dir = scratch();
    let app = fixture("p3_timeout");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], None);
    // The 5 s timeout loses to 10 ms of work, and its cancelled call does not hold the
    // recording up (unwrapped, the app takes about 10 ms).
    assert_eq!(
        recorded.stdout(),
        "work first, within a second: true\n",
        "{}",
        recorded.stderr()
    );
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let tasks: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("task "))
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(
        tasks,
        [
            "task 0: wasi:clocks/monotonic-clock.wait-for(10000000) started",
            "task 1: wasi:clocks/monotonic-clock.wait-for(5000000000) started",
            "task 0: wasi:clocks/monotonic-clock.wait-for returned",
            "task 1: wasi:clocks/monotonic-clock.wait-for cancelled",
        ],
        "{shown}"
    );
    replays_twice_and_embedded(dir.path(), &app, &trace, &recorded);
}

/// The directory of the `wasip3` crate's WIT (WASI 0.3.2), which the fixtures build with, as
/// `cargo metadata` finds it.
fn wasip3_wit() -> std::path::PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "wasip3")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("the wasip3 crate among the dependencies");
    Path::new(manifest).parent().unwrap().join("wit")
}

/// A component of the world `lines` make (which may use WASI 0.3.2's packages) whose functions
/// all trap (wrapping does not run them), written into `dir`.
fn wasi_p3_dummy(dir: &Path, lines: &str) -> std::path::PathBuf {
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_dir(wasip3_wit()).unwrap();
    let wit = format!("package test:all;\nworld all {{\n{lines}\n}}\n");
    let pkg = resolve.push_str("all.wit", &wit).unwrap();
    let world = resolve.select_world(&[pkg], Some("all")).unwrap();
    let app = dir.join("all.wasm");
    std::fs::write(&app, dummy_component(&resolve, world)).unwrap();
    app
}

#[test]
fn every_function_of_wasi_0_3_2s_command_and_service_worlds_is_recorded() {
    // All of WASI 0.3.2's `wasi:cli/command` world and the HTTP client.
    let dir = scratch();
    let app = wasi_p3_dummy(
        dir.path(),
        "include wasi:cli/command@0.3.2;\nimport wasi:http/client@0.3.2;",
    );
    // Nothing refused; every 0.3 interface on the generic path, listed.
    let recording = try_wrap(&app, &dir.path().join("all.recording.wasm"), None);
    assert_eq!(recording.code, Some(0), "{}", recording.stderr());
    let listed = recording.stderr();
    for interface in [
        "wasi:cli/environment@0.3.2",
        "wasi:clocks/monotonic-clock@0.3.2",
        "wasi:clocks/system-clock@0.3.2",
        "wasi:filesystem/types@0.3.2",
        "wasi:sockets/types@0.3.2",
        "wasi:sockets/ip-name-lookup@0.3.2",
        "wasi:random/random@0.3.2",
        "wasi:http/client@0.3.2",
        "wasi:http/types@0.3.2",
    ] {
        assert!(listed.contains(interface), "no {interface} in:\n{listed}");
    }
    // And the `wasi:http/service` world, wrapped for `wasmtime serve`.
    let service = wasi_p3_dummy(dir.path(), "include wasi:http/service@0.3.2;");
    let wrapped = try_wrap(&service, &dir.path().join("service.recording.wasm"), None);
    assert_eq!(wrapped.code, Some(0), "{}", wrapped.stderr());
    assert!(
        wrapped.stderr().contains("wasi:http/types@0.3.2"),
        "{}",
        wrapped.stderr()
    );
}
