//! Traces from other people, and faults while recording: a crafted trace is refused in one line
//! within bounded memory, a trace path that cannot be written is refused before the app runs, a
//! full disk keeps the trace so far, and a damaged composition cache is rebuilt.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use wasm_rr_trace::block;

/// A trace whose one block is 65 MiB of zeros, stored as a zstd frame of a few kilobytes: a
/// decompression bomb just past the limit.
fn zstd_bomb(dir: &Path) -> (PathBuf, usize) {
    let header = wasm_rr_trace::RecordConfig {
        component_sha256: wasm_rr_composer::component_sha256(
            &std::fs::read(fixture("print_random")).unwrap(),
        ),
        guest_imports: vec!["wasi:random/random@0.2.6".into()],
        compress: true,
        policy: Default::default(),
        generic: Vec::new(),
    }
    .header();
    let mut bytes = Vec::new();
    wasm_rr_trace::encode_header(&header, &mut bytes);
    let offset = bytes.len();
    let zeros = vec![0u8; 65 * 1024 * 1024];
    let frame = wasm_rr_composer::zstd_block(&zeros).unwrap();
    block::write_block(block::Codec::Zstd, 1, &frame, &mut bytes);
    let path = dir.join("bomb.cbor");
    std::fs::write(&path, &bytes).unwrap();
    (path, offset)
}

#[test]
fn a_zstd_bomb_is_refused_in_one_line_by_every_command() {
    let dir = scratch();
    let (bomb, offset) = zstd_bomb(dir.path());
    assert!(std::fs::metadata(&bomb).unwrap().len() < 64 * 1024);
    let app = fixture("print_random");
    let out = dir.path().join("out.json");
    let wrapped = dir.path().join("app.replay.wasm");
    let commands: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["show".as_ref(), bomb.as_ref()],
        vec!["convert".as_ref(), bomb.as_ref(), out.as_ref()],
        vec!["replay".as_ref(), app.as_ref(), bomb.as_ref()],
        vec![
            "wrap".as_ref(),
            app.as_ref(),
            "--replay".as_ref(),
            bomb.as_ref(),
            "-o".as_ref(),
            wrapped.as_ref(),
        ],
    ];
    for args in commands {
        let r = run(wasm_rr().args(&args), None);
        let err = r.stderr();
        assert_eq!(r.code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        let expected = format!(
            "{}: the trace is refused: block 0 at byte {offset}: it decompresses to more than the maximum block size (64 MiB)",
            bomb.display()
        );
        assert!(err.contains(&expected), "{args:?}: {err}");
    }
    assert!(!out.exists());
    assert!(!wrapped.exists());
}

#[test]
fn a_trace_path_that_cannot_be_written_is_refused_before_the_app_runs() {
    let dir = scratch();
    let app = fixture("print_random");
    let missing = dir.path().join("no/such/dir/t.cbor");
    let r = record_embedded(
        dir.path(),
        &app,
        &["-t", missing.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr());
    assert_eq!(r.stdout(), "", "the app ran");
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: cannot write the trace {}: {}: No such file or directory (os error 2)\n",
            missing.display(),
            missing.parent().unwrap().display()
        )
    );
    // A directory where the trace should go.
    let r = record_embedded(dir.path(), &app, &["-t", "."], &[], None);
    assert_eq!(r.code, Some(2));
    assert_eq!(r.stdout(), "");
    assert_eq!(
        r.stderr(),
        "wasm-rr: error: cannot write the trace .: it is a directory\n"
    );
}

#[test]
fn a_full_disk_keeps_the_trace_so_far_and_the_app_runs_on() {
    if std::process::Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        panic!("this test needs `unshare -rm` (util-linux, user namespaces)");
    }
    let dir = scratch();
    let app = fixture("workload");
    let plain = run(wasmtime().arg(&app).args(["mixed", "200000"]), None);
    assert_eq!(plain.code, Some(0));
    // A 256 KiB tmpfs for the trace, in a mount namespace of the test's own; the trace is
    // copied out before the namespace ends.
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs '{full}' && '{wasm_rr}' record '{app}' -t '{full}/t.cbor' -- mixed 200000; status=$?; cp '{full}/t.cbor' '{out}'; exit $status",
        full = full.display(),
        wasm_rr = env!("CARGO_BIN_EXE_wasm-rr"),
        app = app.display(),
        out = dir.path().join("t.cbor").display(),
    );
    let r = run(
        std::process::Command::new("unshare")
            .args(["-rm", "sh", "-c", &script])
            .env("WASM_RR_NO_CACHE", "1"),
        None,
    );
    let err = r.stderr();
    assert_eq!(r.code, Some(0), "{err}");
    // The app ran to its end, and printed what it prints (its xor of random numbers differs).
    let prefix = "200000 of each, ";
    assert!(plain.stdout().starts_with(prefix), "{}", plain.stdout());
    assert!(r.stdout().starts_with(prefix), "{}", r.stdout());
    assert_eq!(r.stdout().len(), plain.stdout().len());
    assert!(
        err.contains(
            "wasm-rr: warning: cannot write the trace (No space left on device): recording stopped here; the trace keeps what was written before, and the app runs on unrecorded"
        ),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "wasm-rr: warning: {}/t.cbor: cannot compress the trace (cannot write the trace: No space left on device (os error 28)); kept it as it was recorded instead (",
            full.display()
        )),
        "{err}"
    );
    // The trace holds the events up to its last whole block, and shows.
    let shown = run(wasm_rr().arg("show").arg(dir.path().join("t.cbor")), None);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr());
    let events: u64 = shown
        .stdout()
        .lines()
        .find_map(|l| l.strip_suffix(" events:")?.parse().ok())
        .unwrap();
    assert!(events > 1000 && events < 400_000, "{events}");
}

#[test]
fn a_damaged_cache_entry_is_composed_again() {
    let dir = scratch();
    let cache = dir.path().join("cache");
    let app = fixture("print_random");
    let record = |name: &str| {
        run(
            wasm_rr()
                .current_dir(dir.path())
                .env_remove("WASM_RR_NO_CACHE")
                .env("XDG_CACHE_HOME", &cache)
                .arg("record")
                .arg(&app)
                .args(["-t", name]),
            None,
        )
    };
    let first = record("a.cbor");
    assert_eq!(first.code, Some(0), "{}", first.stderr());
    let entries: Vec<PathBuf> = std::fs::read_dir(cache.join("wasm-rr"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let good = std::fs::read(entry).unwrap();
    // A flipped byte in the middle of the cached component.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(entry, &bad).unwrap();
    let second = record("b.cbor");
    assert_eq!(second.code, Some(0), "{}", second.stderr());
    assert_eq!(
        std::fs::read(entry).unwrap(),
        good,
        "the entry was not rebuilt"
    );
    let replayed = replay_embedded(dir.path(), &app, Some(&dir.path().join("b.cbor")));
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, second.stdout);
}
