//! Reading inputs and writing outputs: every error names the file, and every output is
//! written to a temporary file in the same directory and renamed into place.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasm_rr_trace::Trace;

/// A trace file's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A CBOR sequence (what the recorder writes).
    Cbor,
    /// JSON, for people.
    Json,
}

impl Format {
    /// The format a path's extension names: `.json` or `.cbor`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" => Some(Format::Json),
            "cbor" => Some(Format::Cbor),
            _ => None,
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Cbor => "cbor",
            Format::Json => "json",
        }
    }
}

/// Reads a whole file; the error names it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes `data` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let fail = || format!("cannot write {}", path.display());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".wasm-rr-");
    // Like any new file: 0666 less the umask (tempfile's default is 0600).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(&dir).with_context(fail)?;
    tmp.write_all(data).with_context(fail)?;
    tmp.as_file().sync_all().with_context(fail)?;
    tmp.persist(path).map_err(|e| e.error).with_context(fail)?;
    Ok(())
}

/// Loads a trace in either format (by extension; content decides for other names).
/// Errors name the file and the problem; a torn tail is accepted with a warning.
pub fn load_trace(path: &Path) -> Result<Trace> {
    let data = read(path)?;
    let format = Format::from_path(path).unwrap_or(if data.first() == Some(&b'{') {
        Format::Json
    } else {
        Format::Cbor
    });
    let trace = match format {
        Format::Cbor => Trace::from_cbor(&data),
        Format::Json => match std::str::from_utf8(&data) {
            Ok(text) => Trace::from_json(text),
            Err(_) => bail!("{}: not a wasm-rr JSON trace (not UTF-8)", path.display()),
        },
    }
    .with_context(|| format!("{}", path.display()))
    .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    if trace.torn_tail_bytes > 0 {
        eprintln!(
            "wasm-rr: warning: {}: the last {} bytes are not a whole event (the recording was cut off) and were ignored",
            path.display(),
            trace.torn_tail_bytes
        );
    }
    Ok(trace)
}

/// Saves a trace in `format`, atomically.
pub fn save_trace(path: &Path, trace: &Trace, format: Format) -> Result<()> {
    let data = match format {
        Format::Cbor => trace.to_cbor(),
        Format::Json => trace.to_json().into_bytes(),
    };
    write_atomic(path, &data)
}
