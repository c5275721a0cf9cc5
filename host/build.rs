//! Compiles the interposer (recording and replaying builds), the run wrapper and the replay
//! stubs for
//! `wasm32-wasip2`; `src/components.rs` embeds the results.

use wasm_rr_wasm_build::{GuestBuild, build, rerun_if_changed, workspace_root};

fn main() {
    let root = workspace_root(1);
    rerun_if_changed(
        &root,
        &[
            "interposer",
            "trace/src",
            "trace/Cargo.toml",
            "wit",
            "Cargo.toml",
            "composer/src",
        ],
    );
    let builds = [
        (
            "WASM_RR_RECORDER",
            "wasm-rr-interposer",
            &[][..],
            "wasm_rr_interposer",
            "-record",
        ),
        (
            "WASM_RR_REPLAYER",
            "wasm-rr-interposer",
            &["replay"][..],
            "wasm_rr_interposer",
            "-replay",
        ),
        (
            "WASM_RR_RECORDER_HTTP",
            "wasm-rr-interposer",
            &["http"][..],
            "wasm_rr_interposer",
            "-record-http",
        ),
        (
            "WASM_RR_REPLAYER_HTTP",
            "wasm-rr-interposer",
            &["replay", "http"][..],
            "wasm_rr_interposer",
            "-replay-http",
        ),
        (
            "WASM_RR_HTTP_MAILBOX",
            "wasm-rr-http-glue",
            &["mailbox"][..],
            "wasm_rr_http_glue",
            "-mailbox",
        ),
        (
            "WASM_RR_HANDLER_WRAPPER",
            "wasm-rr-http-glue",
            &["wrapper"][..],
            "wasm_rr_http_glue",
            "-wrapper",
        ),
        (
            "WASM_RR_SERVE_DRIVER",
            "wasm-rr-http-glue",
            &["driver"][..],
            "wasm_rr_http_glue",
            "-driver",
        ),
        (
            "WASM_RR_RUN_WRAPPER",
            "wasm-rr-run-wrapper",
            &[][..],
            "wasm_rr_run_wrapper",
            "",
        ),
        (
            "WASM_RR_REPLAY_STUBS",
            "wasm-rr-replay-stubs",
            &[][..],
            "wasm_rr_replay_stubs",
            "",
        ),
    ];
    // An identity of these builds, for the cache of composed components (src/cache.rs).
    let mut id = std::hash::DefaultHasher::new();
    for (var, package, features, artifact, suffix) in builds {
        let paths = build(
            &root,
            &GuestBuild {
                package,
                features,
                artifacts: &[artifact],
                suffix,
                debug_bins: &[],
            },
        );
        std::hash::Hash::hash(
            &std::fs::read(&paths[0]).expect("a built component"),
            &mut id,
        );
        println!("cargo:rustc-env={var}={}", paths[0].display());
    }
    // And of the composer, which makes the compositions out of them at run time (a changed
    // composer must not take compositions an older one cached).
    hash_sources(&root.join("composer/src"), &mut id);
    println!(
        "cargo:rustc-env=WASM_RR_COMPONENTS_ID={:016x}",
        std::hash::Hasher::finish(&id)
    );
}

/// Hashes the names and contents of the files under `dir`, in name order, into `id`.
fn hash_sources(dir: &std::path::Path, id: &mut std::hash::DefaultHasher) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("the composer's sources")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            hash_sources(&path, id);
        } else {
            std::hash::Hash::hash(&path.file_name(), id);
            std::hash::Hash::hash(&std::fs::read(&path).expect("a composer source"), id);
        }
    }
}
