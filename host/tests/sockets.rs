//! `wasi:sockets`: a Rust guest using `std::net` (TCP client and server, UDP, name lookup)
//! records on the stock `wasmtime` CLI against servers this test starts on loopback, and replays
//! byte for byte with the servers gone and no network flags.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::Stdio;
use wasm_rr_trace::sockets::{self as so, ErrorCode, Protocol};
use wasm_rr_trace::{Call, Event, cli};

const NET: &[&str] = &["-S", "inherit-network"];

/// A TCP server on a loopback port the system picks, answering each line of one connection with
/// `echo: LINE`; returns its address.
fn sockets_events(trace: &wasm_rr_trace::Trace) -> Vec<&Event> {
    trace
        .events
        .iter()
        .filter(|e| matches!(e.call, Call::Sockets(_)))
        .collect()
}

#[test]
fn tcp_client_records_against_a_server_and_replays_without_it() {
    let dir = scratch();
    let app = fixture("net_ops");
    let (addr, server) = echo_server();
    let (recorded, trace_path) =
        record_on_wasmtime(dir.path(), &app, NET, &["tcp-client", &addr], None);
    server.join().unwrap();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert_eq!(
        recorded.stdout(),
        "sent hello, got echo: hello\nsent again, got echo: again\n"
    );
    let trace = load(&trace_path);
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        trace.events.iter().any(|e| matches!(e.get::<so::StartConnect>(),
            Some((c, Ok(())))
                if c.protocol == Protocol::Tcp && c.address.to_string() == format!("127.0.0.1:{port}"))),
        "{:?}",
        sockets_events(&trace)
    );
    // The server is gone, and the replay has no network flags.
    assert_replays(dir.path(), &app, &trace_path, &recorded, 2);
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(
        imports.iter().all(|i| !i.starts_with("wasi:sockets")),
        "{imports:?}"
    );
}

#[test]
fn tcp_server_accepts_a_connection_from_the_test_and_replays() {
    let dir = scratch();
    let app = fixture("net_ops");
    let recording = dir.path().join("app.recording.wasm");
    wrap(&app, &recording, None);
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let mut child = wasmtime()
        .args(NET)
        .arg("--dir")
        .arg(format!("{}::/wasm-rr", traces.display()))
        .arg(&recording)
        .arg("tcp-server")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the guest to say where it listens.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .trim()
        .to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.write_all(b"hi there\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "you said hi there\n");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let recorded_stdout = format!("{first}{rest}");
    assert_eq!(rest, "accepted 127.0.0.1, read hi there\n");

    let replayed = replay_on_wasmtime(dir.path(), &app, &traces.join("trace.cbor"));
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout(), recorded_stdout);
}

#[test]
fn udp_round_trip_replays() {
    let dir = scratch();
    let app = fixture("net_ops");
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping over udp");
        server.send_to(b"pong", from).unwrap();
    });
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, NET, &["udp", &addr], None);
    handle.join().unwrap();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let port = addr.rsplit(':').next().unwrap();
    assert_eq!(
        recorded.stdout(),
        format!("udp reply from port {port}: pong\n")
    );
    let t = load(&trace);
    assert!(t.events.iter().any(|e| matches!(e.get::<so::Send>(),
            Some((c, Ok(1))) if c.datagrams[0].len == 13)));
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);
}

#[test]
fn name_lookup_of_localhost_replays() {
    let dir = scratch();
    let app = fixture("net_ops");
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["-S", "inherit-network", "-S", "allow-ip-name-lookup"],
        &["lookup", "localhost"],
        None,
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(
        recorded.stdout().starts_with("localhost resolves to [")
            && recorded.stdout().contains("127.0.0.1"),
        "{}",
        recorded.stdout()
    );
    let t = load(&trace);
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e.get::<so::ResolveAddresses>(),
        Some((c, Ok(_))) if c.name == "localhost"))
    );
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);
}

#[test]
fn a_refused_connection_replays_its_error() {
    let dir = scratch();
    let app = fixture("net_ops");
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, NET, &["tcp-client", &addr], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert_eq!(
        recorded.stdout(),
        format!("connect {addr}: ConnectionRefused\n")
    );
    let t = load(&trace);
    assert!(t.events.iter().any(|e| matches!(
        e.get::<so::FinishConnect>(),
        Some((_, Err(ErrorCode::ConnectionRefused)))
    )));
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);
}

#[test]
fn connecting_elsewhere_on_replay_is_a_divergence_naming_both_addresses() {
    let dir = scratch();
    let app = fixture("net_ops");
    let (addr, server) = echo_server();
    let (recorded, trace_path) =
        record_on_wasmtime(dir.path(), &app, NET, &["tcp-client", &addr], None);
    server.join().unwrap();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // The replayed guest is told another port.
    let mut trace = load(&trace_path);
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let other = if port == 65535 { 1 } else { port + 1 };
    for e in &mut trace.events {
        if let Some((_, args)) = e.get_mut::<cli::GetArguments>() {
            args[2] = format!("127.0.0.1:{other}");
        }
    }
    let r = replay_edited(dir.path(), &app, &trace);
    assert_eq!(r.code, Some(1), "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains(&format!(
            "  expected: tcp connect socket 0 to 127.0.0.1:{port}\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  actual:   tcp connect socket 0 to 127.0.0.1:{other}\n"
        )),
        "{err}"
    );
}

#[test]
fn the_embedded_host_gives_network_with_dash_s() {
    let dir = scratch();
    let app = fixture("net_ops");
    // Without -S, no network, as with `wasmtime run`.
    let (addr, server) = echo_server();
    let denied = record_embedded(dir.path(), &app, &[], &["tcp-client", &addr], None);
    assert_eq!(
        denied.stdout(),
        format!("connect {addr}: PermissionDenied\n")
    );
    let recorded = record_embedded(
        dir.path(),
        &app,
        &["-S", "inherit-network"],
        &["tcp-client", &addr],
        None,
    );
    server.join().unwrap();
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(
        recorded
            .stdout()
            .starts_with("sent hello, got echo: hello\n")
    );
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.stdout, recorded.stdout);
    let bad = run(
        wasm_rr()
            .current_dir(dir.path())
            .arg("record")
            .arg(&app)
            .args(["-S", "network"]),
        None,
    );
    assert_eq!(bad.code, Some(2));
    assert_eq!(
        bad.stderr(),
        "wasm-rr: error: -S network: unknown option; wasm-rr record knows inherit-network, allow-ip-name-lookup, tcp, udp, config, config-var, keyvalue and keyvalue-in-memory-data\n"
    );
}
