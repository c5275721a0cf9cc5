//! `wasi:filesystem`: guests that read, list, write, rename and remove files record on the stock
//! `wasmtime` CLI and the embedded host, and replay byte for byte after their directory is gone.

mod common;

use common::*;
use std::path::Path;
use wasm_rr_trace::Event;
use wasm_rr_trace::fs::{ErrorCode, FsAnswer, FsCall, FsEvent};

/// A `data` directory with an input file in `dir`.
fn make_data(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("input.txt"), "hello from a file\n").unwrap();
    data
}

fn fs_events(trace: &wasm_rr_trace::Trace) -> Vec<&FsEvent> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Fs(f) => Some(f),
            _ => None,
        })
        .collect()
}

#[test]
fn std_fs_guest_records_on_stock_wasmtime_and_replays_without_its_directory() {
    let dir = scratch();
    let app = fixture("fs_ops");
    let data = make_data(dir.path());
    let preopen = format!("{}::data", data.display());
    let (recorded, trace_path) =
        record_on_wasmtime(dir.path(), &app, &["--dir", &preopen], &["data"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let out = recorded.stdout();
    for line in [
        "read input.txt: \"hello from a file\\n\"\n",
        "stat input.txt: (18, true, true)\n",
        "list: [\"input.txt\"]\n",
        "read out.txt: \"hello\\nmore\\n\"\n",
        "stat moved: 11\n",
        "read missing.txt: error NotFound\n",
        "write under a file: error NotADirectory\n",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    // The guest's changes were carried out while recording.
    assert!(!data.join("sub").exists());
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 1);

    let trace = load(&trace_path);
    let fs = fs_events(&trace);
    // The preopen list, without the trace's own.
    assert!(
        fs.iter().any(|e| matches!(e, FsEvent::GetDirectories(d)
            if d.len() == 1 && d[0].1 == "data")),
        "{fs:?}"
    );
    assert!(fs.iter().any(|e| matches!(e,
        FsEvent::Descriptor { call: FsCall::OpenAt { path, .. }, result: Err(ErrorCode::NoEntry), .. }
            if path == "missing.txt")));
    assert!(fs.iter().any(|e| matches!(e,
        FsEvent::Descriptor { call: FsCall::OpenAt { path, .. }, result: Ok(FsAnswer::Fd(_)), .. }
            if path == "input.txt")));
    assert!(fs.iter().any(|e| matches!(e,
        FsEvent::Descriptor { call: FsCall::RenameAt { old_path, new_path, .. }, result: Ok(_), .. }
            if old_path == "out.txt" && new_path == "sub/moved.txt")));

    // The directory is gone: the replay never looks at the disk.
    std::fs::remove_dir_all(&data).unwrap();
    for _ in 0..2 {
        let replayed = replay_on_wasmtime(dir.path(), &app, &trace_path);
        assert_eq!(replayed, recorded);
    }
    assert!(!data.exists(), "the replay touched the disk");
    // The self-replaying component imports no filesystem.
    let replaying = std::fs::read(dir.path().join("app.replay.wasm")).unwrap();
    let (imports, _) = wasm_rr_composer::component_world(&replaying).unwrap();
    assert!(
        imports.iter().all(|i| !i.starts_with("wasi:filesystem")),
        "{imports:?}"
    );
}

#[test]
fn embedded_record_and_replay_need_no_dir_on_replay() {
    let dir = scratch();
    let app = fixture("fs_ops");
    let data = make_data(dir.path());
    let recorded = run(
        wasm_rr()
            .current_dir(dir.path())
            .arg("record")
            .arg(&app)
            .arg("--dir")
            .arg(format!("{}::data", data.display()))
            .arg("--")
            .arg("data"),
        None,
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().contains("list: [\"input.txt\"]\n"));
    std::fs::remove_dir_all(&data).unwrap();
    let replayed = run(
        wasm_rr().current_dir(dir.path()).arg("replay").arg(&app),
        None,
    );
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
    assert!(
        fs_events(&t)
            .iter()
            .all(|e| !matches!(e, FsEvent::GetDirectories(d) if !d.is_empty())),
    );
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);
}

#[test]
fn a_changed_file_write_is_a_divergence_showing_both() {
    let dir = scratch();
    let app = fixture("fs_ops");
    let data = make_data(dir.path());
    let preopen = format!("{}::data", data.display());
    let (recorded, trace_path) =
        record_on_wasmtime(dir.path(), &app, &["--dir", &preopen], &["data"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // The guest's write of "hello\n" to out.txt goes through a file stream (numbered 3 and up).
    let mut trace = load(&trace_path);
    let (index, stream, op) = trace
        .events
        .iter()
        .enumerate()
        .find_map(|(i, e)| match e {
            Event::Write {
                stream, len: 6, op, ..
            } if stream.0 >= 3 => Some((i, *stream, op.wit_name())),
            _ => None,
        })
        .expect("a 6-byte file write");
    let Event::Write { hash, .. } = &mut trace.events[index] else {
        unreachable!()
    };
    let actual = *hash;
    *hash ^= 1;
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
    let recorded = run(
        wasm_rr()
            .current_dir(dir.path())
            .arg("record")
            .arg(&app)
            .arg("--dir")
            .arg(format!("{}::data", data.display()))
            .arg("--")
            .arg("data/big.bin"),
        None,
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().starts_with("67108864 bytes, fnv "));
    std::fs::remove_dir_all(&data).unwrap();
    let replayed = run(
        wasm_rr().current_dir(dir.path()).arg("replay").arg(&app),
        None,
    );
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, recorded.stdout);
}
