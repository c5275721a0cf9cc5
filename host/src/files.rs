//! Reading inputs and writing outputs: every error names the file, and every output is
//! written to a temporary file in the same directory and renamed into place.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasm_rr_trace::Trace;
use wasm_rr_trace::block::BlockScan;
use wasm_rr_trace::redact::Redactor;

/// A trace file's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The binary trace format (what the recorder writes; a CBOR header, then blocks).
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
    write_atomic_with(path, |f| f.write_all(data).map_err(anyhow::Error::from))
}

/// The directory a file at `path` goes in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `path` atomically with `fill` (into a temporary file in the same directory, then
/// renamed); nothing is left behind when `fill` fails.
pub fn write_atomic_with<T>(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<T>,
) -> Result<T> {
    let dir = parent_dir(path);
    let fail = || format!("cannot write {}", path.display());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".wasm-rr-");
    // Like any new file: 0666 less the umask (tempfile's default is 0600).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(&dir).with_context(fail)?;
    let value = fill(tmp.as_file_mut()).with_context(fail)?;
    tmp.as_file().sync_all().with_context(fail)?;
    tmp.persist(path).map_err(|e| e.error).with_context(fail)?;
    Ok(value)
}

/// Prefixes an error with the file name, on one line.
fn in_file(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{}: {e}", path.display())
}

/// Warns on stderr that the last `bytes` of the trace at `path` were dropped (if any).
pub fn warn_torn(path: &Path, bytes: usize) {
    if bytes > 0 {
        eprintln!(
            "wasm-rr: warning: {}: the last {bytes} bytes are not a whole block (the recording was cut off) and were ignored",
            path.display()
        );
    }
}

fn parse_json(path: &Path, data: &[u8]) -> Result<Trace> {
    let text = std::str::from_utf8(data)
        .map_err(|_| in_file(path, "not a wasm-rr JSON trace (not UTF-8)"))?;
    Trace::from_json(text).map_err(|e| in_file(path, e))
}

/// Writes the events of `input` (the trace at `path`, checked by [`TraceInput::scan`]) to
/// `dest` in `format`, atomically, one event at a time (binary blocks are compressed), each
/// event passed through `redactor` when given (and the header marked); returns the number of
/// events.
pub fn save_events(
    path: &Path,
    input: &TraceInput,
    dest: &Path,
    format: Format,
    mut redactor: Option<&mut Redactor>,
) -> Result<u64> {
    use wasm_rr_trace::{JsonWriter, TraceWriter};
    let (mut header, _) = wasm_rr_trace::Reader::new(input).map_err(|e| in_file(path, e))?;
    if let Some(r) = &redactor {
        header = r.mark(&header);
    }
    let mut events = input.events(path)?.map(|e| {
        let mut e = e?;
        if let Some(r) = redactor.as_deref_mut() {
            r.apply(&mut e);
        }
        Ok::<_, anyhow::Error>(e)
    });
    write_atomic_with(dest, |f| {
        let out = std::io::BufWriter::new(f);
        let (mut out, count) = match format {
            Format::Cbor => {
                let mut w = TraceWriter::new(&header, Some(wasm_rr_composer::zstd_block), out)?;
                for e in &mut events {
                    w.push(&e?)?;
                }
                w.finish()?
            }
            Format::Json => {
                let mut w = JsonWriter::new(&header, out)?;
                let mut count = 0u64;
                for e in &mut events {
                    w.event(&e?)?;
                    count += 1;
                }
                (w.finish()?, count)
            }
        };
        out.flush()?;
        Ok(count)
    })
}

/// A trace to read block by block: a file read in place (never wholly in memory), or bytes
/// (a JSON trace, converted).
pub enum TraceInput {
    /// A binary trace file and its size in bytes.
    File(std::fs::File, u64),
    /// A trace's binary form in memory.
    Bytes(Arc<[u8]>),
}

impl TraceInput {
    /// Opens a trace in either format, in the current format version: a binary one stays on
    /// disk (one of an older format is upgraded into a temporary file, block by block), a JSON
    /// one is converted. Errors name the file.
    pub fn open(path: &Path) -> Result<TraceInput> {
        Ok(TraceInput::open_with_header(path)?.0)
    }

    /// [`TraceInput::open`], and the trace's header as it is in the file (of its own format
    /// version).
    pub fn open_with_header(path: &Path) -> Result<(TraceInput, wasm_rr_trace::Header)> {
        let fail = || format!("cannot read {}", path.display());
        let mut file = std::fs::File::open(path).with_context(fail)?;
        let size = file.metadata().with_context(fail)?.len();
        let mut first = [0u8; 1];
        let n = std::io::Read::read(&mut file, &mut first).with_context(fail)?;
        if n == 1 && first[0] == b'{' {
            // JSON is read whole: its memory is about proportional to the file.
            let data = read(path)?;
            let trace = parse_json(path, &data)?;
            drop(data);
            let input = TraceInput::Bytes(trace.to_bytes(None).into());
            return Ok((input, trace.header));
        }
        let input = TraceInput::File(file, size);
        let (header, _) = wasm_rr_trace::Reader::new(&input).map_err(|e| in_file(path, e))?;
        if header.format < wasm_rr_trace::FIRST_CURRENT_EVENTS {
            let upgraded = input.upgrade().map_err(|e| in_file(path, e))?;
            return Ok((upgraded, header));
        }
        Ok((input, header))
    }

    /// The trace's events, one at a time (after [`TraceInput::scan`] checked them whole);
    /// errors name the file.
    pub fn events<'a>(
        &'a self,
        path: &'a Path,
    ) -> Result<impl Iterator<Item = Result<wasm_rr_trace::Event>> + 'a> {
        let (_, mut reader) = wasm_rr_trace::Reader::new(self).map_err(|e| in_file(path, e))?;
        Ok(std::iter::from_fn(move || {
            reader
                .next_event()
                .map_err(|e| in_file(path, e))
                .transpose()
        }))
    }

    /// This trace (of an older format) in the current format, in a temporary file, written
    /// one event at a time.
    fn upgrade(&self) -> Result<TraceInput> {
        let (header, mut reader) = wasm_rr_trace::Reader::new(self)?;
        let file = tempfile::tempfile().context("cannot create a temporary file")?;
        let mut writer =
            wasm_rr_trace::TraceWriter::new(&header, None, std::io::BufWriter::new(file))?;
        while let Some(e) = reader.next_event()? {
            writer.push(&e)?;
        }
        let file = writer
            .finish()?
            .0
            .into_inner()
            .map_err(|e| e.into_error())?;
        let size = file.metadata()?.len();
        Ok(TraceInput::File(file, size))
    }

    /// Checks every block (checksums, framing, limits) and decodes every event, one at a time,
    /// and warns about a torn tail; errors name the file.
    pub fn scan(&self, path: &Path) -> Result<BlockScan> {
        let scan = wasm_rr_trace::block::scan_events(self).map_err(|e| in_file(path, e))?;
        warn_torn(path, scan.torn_tail_bytes as usize);
        Ok(scan)
    }
}

/// How the trace at `path` is stored, for a summary: its size on disk, and what `scan` (of
/// [`TraceInput::scan`]) saw of its blocks.
pub fn storage(path: &Path, scan: &BlockScan) -> Result<wasm_rr_trace::summary::Storage> {
    Ok(wasm_rr_trace::summary::Storage {
        file_bytes: std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len(),
        blocks: scan.blocks,
        compressed_blocks: scan.zstd_blocks,
        torn_tail_bytes: scan.torn_tail_bytes,
    })
}

impl wasm_rr_trace::Source for &TraceInput {
    fn size(&self) -> u64 {
        match self {
            TraceInput::File(_, size) => *size,
            TraceInput::Bytes(b) => b.len() as u64,
        }
    }

    fn read(&mut self, offset: u64, len: u64, out: &mut Vec<u8>) {
        match self {
            TraceInput::File(file, size) => {
                use std::os::unix::fs::FileExt;
                let len = len.min(size.saturating_sub(offset)) as usize;
                let start = out.len();
                out.resize(start + len, 0);
                let mut done = 0;
                // A short read (the file shrank, or an I/O error) ends the trace there: the reader
                // then reports a torn tail or a damaged block.
                while done < len {
                    match file.read_at(&mut out[start + done..], offset + done as u64) {
                        Ok(0) => break,
                        Ok(n) => done += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                out.truncate(start + done);
            }
            TraceInput::Bytes(b) => wasm_rr_trace::Source::read(&mut &b[..], offset, len, out),
        }
    }
}

/// A path's last component (the whole path when it has none), for headings and names.
pub fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The requests of a WASI 0.3 HTTP service's trace at `path` (see
/// [`wasm_rr_trace::served`]), read one event at a time, keeping the first `body_limit` bytes
/// of each response body.
///
/// Errors: the trace does not read, or is not a service's (it holds no `take`).
pub fn served_requests(
    path: &Path,
    input: &TraceInput,
    body_limit: usize,
) -> Result<wasm_rr_trace::served::Requests> {
    let (header, _) = wasm_rr_trace::Reader::new(input).map_err(|e| in_file(path, e))?;
    let mut requests = wasm_rr_trace::served::Requests::new(&header, body_limit);
    if !requests.is_service() {
        anyhow::bail!(
            "{}: not the trace of a WASI 0.3 HTTP service (a `wasi:http/handler@0.3` export under `wasmtime serve`): it holds no requests",
            path.display()
        );
    }
    for (index, e) in input.events(path)?.enumerate() {
        requests.push(index as u64, &e?);
    }
    Ok(requests)
}

/// The history of a WASI 0.3 HTTP service's instance up to request `k` (from 1): the trace at
/// `path` cut right after the event where the app answered it, written to a temporary file
/// (removed when dropped); and that request, with the first `body_limit` bytes of its body.
///
/// Errors: the trace is not a service's; `k` is 0 or past its requests, or the app did not
/// answer it (the message names the trace and how many requests it holds).
pub fn request_prefix(
    path: &Path,
    input: &TraceInput,
    k: u32,
    body_limit: usize,
) -> Result<(tempfile::NamedTempFile, wasm_rr_trace::served::Served)> {
    use wasm_rr_trace::TraceWriter;
    let requests = served_requests(path, input, body_limit)?;
    let count = requests.len();
    let plural = if count == 1 { "" } else { "s" };
    let list = requests.list();
    let Some(served) = (k as usize)
        .checked_sub(1)
        .and_then(|i| list.get(i))
        .cloned()
    else {
        anyhow::bail!(
            "{} holds {count} request{plural} (numbered from 1): there is no request {k}",
            path.display()
        );
    };
    let Some(last) = served.answered else {
        anyhow::bail!(
            "{}: request {k} was not answered (the instance stopped first); its history cannot be replayed up to its answer",
            path.display()
        );
    };
    let (header, _) = wasm_rr_trace::Reader::new(input).map_err(|e| in_file(path, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".wasm-rr-request-")
        .suffix(".cbor")
        .tempfile()
        .context("cannot create a temporary trace")?;
    {
        let out = std::io::BufWriter::new(tmp.as_file_mut());
        let mut w = TraceWriter::new(&header, Some(wasm_rr_composer::zstd_block), out)?;
        for e in input.events(path)?.take(last as usize + 1) {
            w.push(&e?)?;
        }
        let (mut out, _) = w.finish()?;
        out.flush()?;
    }
    Ok((tmp, served))
}
