//! `wasi:filesystem`: guests that read, list, write, rename and remove files record on the stock
//! `wasmtime` CLI and the embedded host, and replay byte for byte after their directory is gone.

mod common;

use common::*;
use std::path::Path;
use wasm_rr_trace::fs::{self, ErrorCode};
use wasm_rr_trace::streams;

/// A `data` directory with an input file in `dir`, and the flag that preopens it.
fn make_data(dir: &Path) -> (std::path::PathBuf, String) {
    data_dir(dir, &[("input.txt", "hello from a file\n")])
}

/// The preopen lists `get-directories` answered.
fn preopen_lists(trace: &wasm_rr_trace::Trace) -> Vec<&Vec<(u32, String)>> {
    trace
        .events
        .iter()
        .filter_map(|e| Some(e.get::<fs::GetDirectories>()?.1))
        .collect()
}

/// The paths `open-at` was called with, and their answers.
fn opened(trace: &wasm_rr_trace::Trace) -> Vec<(&str, &Result<u32, ErrorCode>)> {
    trace
        .events
        .iter()
        .filter_map(|e| e.get::<fs::OpenAt>())
        .map(|(c, r)| (c.path.as_str(), r))
        .collect()
}

#[test]
fn std_fs_guest_records_on_stock_wasmtime_and_replays_without_its_directory() {
    let dir = scratch();
    let app = fixture("fs_ops");
    let (data, preopen) = make_data(dir.path());
    let (recorded, trace_path) =
        record_on_wasmtime(dir.path(), &app, &["--dir", &preopen], &["data"], None);
    assert_printed(
        &recorded,
        &[
            "read input.txt: \"hello from a file\\n\"\n",
            "stat input.txt: (18, true, true)\n",
            "list: [\"input.txt\"]\n",
            "read out.txt: \"hello\\nmore\\n\"\n",
            "stat moved: 11\n",
            "read missing.txt: error NotFound\n",
            "write under a file: error NotADirectory\n",
        ],
        "fs_ops",
    );
    // The guest's changes were carried out while recording.
    assert!(!data.join("sub").exists());
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 1);

    let trace = load(&trace_path);
    // The preopen list, without the trace's own.
    let lists = preopen_lists(&trace);
    assert!(
        lists.iter().any(|d| d.len() == 1 && d[0].1 == "data"),
        "{lists:?}"
    );
    let opened = opened(&trace);
    assert!(
        opened.contains(&("missing.txt", &Err(ErrorCode::NoEntry))),
        "{opened:?}"
    );
    assert!(
        opened.iter().any(|(p, r)| *p == "input.txt" && r.is_ok()),
        "{opened:?}"
    );
    assert!(
        trace
            .events
            .iter()
            .any(|e| matches!(e.get::<fs::RenameAt>(),
        Some((c, Ok(()))) if c.old_path == "out.txt" && c.new_path == "sub/moved.txt"))
    );

    // The directory is gone: the replay never looks at the disk.
    std::fs::remove_dir_all(&data).unwrap();
    assert_replays(dir.path(), &app, &trace_path, &recorded, 2);
    assert!(!data.exists(), "the replay touched the disk");
    // The self-replaying component imports no filesystem.
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(
        imports.iter().all(|i| !i.starts_with("wasi:filesystem")),
        "{imports:?}"
    );
}

#[test]
fn embedded_record_and_replay_need_no_dir_on_replay() {
    let dir = scratch();
    let app = fixture("fs_ops");
    let (data, preopen) = make_data(dir.path());
    let recorded = record_embedded(dir.path(), &app, &["--dir", &preopen], &["data"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().contains("list: [\"input.txt\"]\n"));
    std::fs::remove_dir_all(&data).unwrap();
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, recorded.stdout);
    assert_eq!(replayed.stderr(), recorded.guest_stderr());

    // `show` prints file events readably.
    let shown = run(
        wasm_rr()
            .current_dir(dir.path())
            .arg("show")
            .arg("wasm-rr-trace.cbor"),
        None,
    )
    .stdout();
    assert!(
        shown.contains(" open-at fd 3 \"input.txt\" (read)"),
        "{shown}"
    );
    assert!(
        shown.contains("wasi:filesystem/preopens.get-directories() -> [fd 3 \"data\"]"),
        "{shown}"
    );
}

#[test]
fn without_preopens_the_errors_replay_too() {
    let dir = scratch();
    let app = fixture("fs_ops");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &["data"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(
        recorded
            .stdout()
            .contains("read input.txt: error NotFound\n"),
        "{}",
        recorded.stdout()
    );
    // The trace's own preopen is never shown to the guest.
    let t = load(&trace);
    assert!(preopen_lists(&t).iter().all(|d| d.is_empty()));
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);
}

#[test]
fn a_changed_file_write_is_a_divergence_showing_both() {
    let dir = scratch();
    let app = fixture("fs_ops");
    let (_, preopen) = make_data(dir.path());
    let (recorded, trace_path) =
        record_on_wasmtime(dir.path(), &app, &["--dir", &preopen], &["data"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // The guest's write of "hello\n" to out.txt goes through a file stream (numbered 3 and up).
    let mut trace = load(&trace_path);
    let (index, stream, op) = trace
        .events
        .iter()
        .enumerate()
        .find_map(|(i, e)| match e.get::<streams::Write>() {
            Some((w, _)) if w.len == 6 && w.stream.0 >= 3 => Some((i, w.stream, w.op.wit_name())),
            _ => None,
        })
        .expect("a 6-byte file write");
    let (write, _) = trace.events[index].get_mut::<streams::Write>().unwrap();
    let actual = write.hash.0;
    write.hash.0 ^= 1;
    let r = replay_edited(dir.path(), &app, &trace);
    assert_eq!(r.code, Some(1), "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains(&format!(
            "wasm-rr: replay diverged at event {index}\n  expected: wasi:io/streams.output-stream.{op}({stream}, len=6, hash={:016x})\n  actual:   wasi:io/streams.output-stream.{op}({stream}, len=6, hash={actual:016x})\n",
            actual ^ 1
        )),
        "{err}"
    );
}

#[test]
fn a_big_file_streams_through_record_and_replay() {
    let dir = scratch();
    let app = fixture("fs_cat");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // 64 MiB, written in pieces.
    {
        use std::io::Write;
        let mut f = std::fs::File::create(data.join("big.bin")).unwrap();
        let chunk: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for _ in 0..64 {
            f.write_all(&chunk).unwrap();
        }
    }
    let preopen = format!("{}::data", data.display());
    let recorded = record_embedded(
        dir.path(),
        &app,
        &["--dir", &preopen],
        &["data/big.bin"],
        None,
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().starts_with("67108864 bytes, fnv "));
    std::fs::remove_dir_all(&data).unwrap();
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, recorded.stdout);
}
