//! C programs on wasi-libc, made components with the preview1 adapters of wasmtime releases 24,
//! 30, 36 and 50 (importing WASI 0.2.0, 0.2.3, 0.2.6 and 0.2.12): each reads the clocks,
//! random bytes, args, env, cwd, stdin and files, records on the stock `wasmtime` CLI, and
//! replays byte for byte with no flags after its directory is gone.

mod common;

use common::*;

fn round_trip(version: &str) {
    let dir = scratch();
    let app = fixture(&format!("c_guest_{version}"));
    let (data, preopen) = data_dir(dir.path(), &[("input.txt", "text from C's input\n")]);
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--dir", &preopen, "--env", "GREETING=hi"],
        &["data", "second"],
        Some(b"a line typed in\n"),
    );
    assert_printed(
        &recorded,
        &[
            "arg 1: data\n",
            "arg 2: second\n",
            "env GREETING=hi\n",
            "stdin: a line typed in\n",
            "input.txt (20 bytes): text from C's input\n",
            "stat input.txt: 20 bytes, regular 1\n",
            "list: . .. input.txt\n",
            "wrote 13 bytes\n",
            "rename: ok\n",
            "unlink: ok\n",
            "open missing.txt: No such file or directory\n",
            "getentropy ",
            "arc4random ",
        ],
        version,
    );
    let imports = load(&trace).header.guest_imports;
    let wasi = match version {
        "v24" => "0.2.0",
        "v30" => "0.2.3",
        "v36" => "0.2.6",
        _ => "0.2.12",
    };
    assert!(
        imports.contains(&format!("wasi:filesystem/preopens@{wasi}")),
        "{imports:?}"
    );

    std::fs::remove_dir_all(&data).unwrap();
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
}

#[test]
fn c_guest_with_adapter_24_wasi_0_2_0() {
    round_trip("v24");
}

#[test]
fn c_guest_with_adapter_30_wasi_0_2_3() {
    round_trip("v30");
}

#[test]
fn c_guest_with_adapter_36_wasi_0_2_6() {
    round_trip("v36");
}

#[test]
fn c_guest_with_adapter_50_wasi_0_2_12() {
    round_trip("v50");
}

#[test]
fn c_guest_on_the_embedded_host() {
    let dir = scratch();
    let app = fixture("c_guest_v36");
    let (data, preopen) = data_dir(dir.path(), &[("input.txt", "embedded\n")]);
    let recorded = record_embedded(
        dir.path(),
        &app,
        &["--dir", &preopen],
        &["data"],
        Some(b"stdin line\n"),
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(
        recorded
            .stdout()
            .contains("input.txt (9 bytes): embedded\n")
    );
    std::fs::remove_dir_all(&data).unwrap();
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, recorded.stdout);
}

#[test]
fn a_c_guest_is_refused_a_rust_guests_trace() {
    let dir = scratch();
    let rust = fixture("fs_ops");
    let c = fixture("c_guest_v50");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &rust, &[], &[], None);
    assert_eq!(recorded.code, Some(0));
    let out = dir.path().join("x.wasm");
    let r = try_wrap(&c, &out, Some(&trace));
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr()
            .contains("the trace was recorded from a different component (sha256 "),
        "{}",
        r.stderr()
    );
    assert!(!out.exists());
}

#[test]
fn abort_in_c_is_recorded_and_replayed_like_a_panic() {
    let dir = scratch();
    let app = fixture("c_guest_v36");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &["data", "abort"], None);
    // abort() is a trap: wasmtime's 134, after the output flushed before it.
    assert_eq!(recorded.code, Some(134), "{}", recorded.stderr());
    assert!(
        recorded.stdout().contains("\narc4random "),
        "{}",
        recorded.stdout()
    );
    assert!(
        recorded.stderr().contains("aborting\n"),
        "{}",
        recorded.stderr()
    );
    for _ in 0..2 {
        let replayed = replay_on_wasmtime(dir.path(), &app, &trace);
        assert_eq!(replayed.code, Some(134), "{}", replayed.stderr());
        assert_eq!(replayed.stdout, recorded.stdout);
        assert!(
            replayed.stderr().contains("aborting\n"),
            "{}",
            replayed.stderr()
        );
    }
}
