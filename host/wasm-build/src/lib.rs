//! Build-script helper: compiles crates of this workspace for `wasm32-wasip2` (profile
//! `wasm-guest`, or `dev` for guests to debug) and returns the paths of the built artifacts.
//!
//! The nested cargo uses its own target directory, `<workspace>/target/wasm32-guests`, so it
//! never waits on the lock of the cargo that runs the build script. Artifacts are copied to
//! the build script's `OUT_DIR`, so builds of one package with different features can share
//! that directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target triple guests are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// One `cargo build` of a workspace package for [`TARGET`].
pub struct GuestBuild<'a> {
    /// The package name (`-p`).
    pub package: &'a str,
    /// Cargo features to enable (may be empty).
    pub features: &'a [&'a str],
    /// The artifacts to return, by file stem (library name or binary name).
    pub artifacts: &'a [&'a str],
    /// Appended to each artifact's file stem in `OUT_DIR` (e.g. `-replay`).
    pub suffix: &'a str,
    /// Build only these binaries (`--bin`), with cargo's `dev` profile (unoptimised, with
    /// DWARF) instead of `wasm-guest`: guests for source debuggers. Empty: every artifact of
    /// the package, profile `wasm-guest`.
    pub debug_bins: &'a [&'a str],
}

/// The workspace root, from a build script's `CARGO_MANIFEST_DIR` (`levels` up).
pub fn workspace_root(levels: usize) -> PathBuf {
    let mut dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"));
    for _ in 0..levels {
        dir.pop();
    }
    dir
}

/// Runs the build, copies the artifacts to `OUT_DIR` as `<stem><suffix>.wasm`, and returns
/// their paths there, in the order of `artifacts`.
///
/// Panics (failing the build script with cargo's output) when the build fails: a build
/// script has no better way to report it.
pub fn build(root: &Path, b: &GuestBuild) -> Vec<PathBuf> {
    let target_dir = root.join("target").join("wasm32-guests");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("run by cargo"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--locked",
            "--profile",
            if b.debug_bins.is_empty() {
                "wasm-guest"
            } else {
                "dev"
            },
            "--target",
            TARGET,
        ])
        .args(["-p", b.package])
        .arg("--target-dir")
        .arg(&target_dir);
    for bin in b.debug_bins {
        cmd.args(["--bin", bin]);
    }
    if !b.features.is_empty() {
        cmd.arg("--features").arg(b.features.join(","));
    }
    // Settings of the outer build that must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {}: {e}", b.package));
    assert!(
        status.success(),
        "building {} for {TARGET} failed (is the target installed? `rustup target add {TARGET}`)",
        b.package
    );
    let out = target_dir.join(TARGET).join(if b.debug_bins.is_empty() {
        "wasm-guest"
    } else {
        "debug"
    });
    b.artifacts
        .iter()
        .map(|name| {
            let built = out.join(format!("{name}.wasm"));
            let copy = out_dir.join(format!("{name}{}.wasm", b.suffix));
            std::fs::copy(&built, &copy)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", built.display()));
            copy
        })
        .collect()
}

/// Tells cargo to re-run the build script when anything under these paths changes.
pub fn rerun_if_changed(root: &Path, paths: &[&str]) {
    for p in paths {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
}
