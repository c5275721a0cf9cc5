//! A cache of composed components, so that recording or replaying the same app again skips
//! composing it (about 20 ms, which is a fifth of a short run): `$XDG_CACHE_HOME/wasm-rr`, else
//! `~/.cache/wasm-rr`, one file per (kind, app sha256, wasm-rr version, interposer builds). A
//! cache that cannot be read or written is skipped silently; `WASM_RR_NO_CACHE=1` turns it off.
//! Each file ends with the SHA-256 of the component before it (32 bytes): a file that does not
//! match (damaged, truncated, or written by something else) is composed again and replaced.

use sha2::Digest;
use std::path::PathBuf;

fn dir() -> Option<PathBuf> {
    if std::env::var_os("WASM_RR_NO_CACHE").is_some_and(|v| v != "0") {
        return None;
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wasm-rr"))
}

/// The composed component of `kind` for the app with `app_sha256`, made by `compose` unless
/// the cache holds it.
pub fn composed<E>(
    kind: &str,
    app_sha256: &str,
    compose: impl FnOnce() -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, E> {
    let Some(dir) = dir() else {
        return compose();
    };
    let file = dir.join(format!(
        "{kind}-{app_sha256}-{}-{}.wasm",
        env!("CARGO_PKG_VERSION"),
        crate::components::ID
    ));
    if let Ok(mut bytes) = std::fs::read(&file)
        && let Some(at) = bytes.len().checked_sub(32)
        && sha2::Sha256::digest(&bytes[..at])[..] == bytes[at..]
    {
        bytes.truncate(at);
        return Ok(bytes);
    }
    let mut bytes = compose()?;
    let len = bytes.len();
    let sum = sha2::Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    // Written whole or not at all (a temporary file renamed), so a reader never sees half.
    if std::fs::create_dir_all(&dir).is_ok()
        && let Ok(mut tmp) = tempfile::NamedTempFile::new_in(&dir)
        && std::io::Write::write_all(&mut tmp, &bytes).is_ok()
    {
        let _ = tmp.persist(&file);
    }
    bytes.truncate(len);
    Ok(bytes)
}
