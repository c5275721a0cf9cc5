//! A Python program built with componentize-py (which imports `wasi:sockets` and
//! `wasi:filesystem` even when the program opens no socket) records on the stock `wasmtime` CLI
//! and replays byte for byte; componentize-py's extra export passes through.

mod common;

use common::*;

#[test]
fn python_guest_records_and_replays_byte_identical() {
    let dir = scratch();
    let app = fixture("python_app");
    let (data, preopen) = data_dir(dir.path(), &[("input.txt", "read by Python\n")]);
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--dir", &preopen, "--env", "COLOR=blue"],
        &["one", "two"],
        Some(b"from stdin\n"),
    );
    assert_printed(
        &recorded,
        &[
            "args ['app.recording.wasm', 'one', 'two']\n",
            "env [('COLOR', 'blue')]\n",
            "cwd /\n",
            "file read by Python\n",
            "stdin from stdin\n",
        ],
        "python",
    );
    let header = load(&trace).header;
    assert!(
        header
            .guest_imports
            .iter()
            .any(|i| i.starts_with("wasi:sockets/tcp@")),
        "{:?}",
        header.guest_imports
    );
    std::fs::remove_dir_all(&data).unwrap();
    assert_replays(dir.path(), &app, &trace, &recorded, 1);
    // componentize-py's `exports` export is still there.
    let (_, exports) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(exports.iter().any(|e| e == "exports"), "{exports:?}");
}
