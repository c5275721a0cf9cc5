//! The wasm-rr trace format, version 5.
//!
//! A trace file is a CBOR [`Header`] item, then a sequence of blocks (see [`block`]): each a
//! postcard-framed run of events with a CRC32C, stored raw or as one zstd frame. The recorder
//! writes one block per flush, so a trace whose writer died mid-write is still readable:
//! [`Trace::from_bytes`] keeps every whole block and reports the torn tail in
//! [`Trace::torn_tail_bytes`].
//!
//! Every [`Event`] is `{call, answer}`: a [`Call`] of one interface, with the arguments replay
//! checks, and the host's [`Answer`]. Each interface's calls are declared once, in its own
//! module (`cli`, `clocks`, `poll`, `random`, `streams`, `fs`, `sockets`, `http`), and
//! registered below with one line. [`codec`] encodes events: small integers for the calls'
//! kinds, clock readings as differences, repeats as one byte.
//!
//! The same data model has a JSON form for people ([`Trace::to_json`], [`Trace::from_json`]);
//! converting between the two loses no event. Byte strings are lowercase hex strings in JSON.
//! With the feature `format2` (on by default), traces of format 2 (wasm-rr 0.2) are read too,
//! their events upgraded as they are read.
//!
//! `docs/src/trace-format.md` in the repository describes every event.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod abi;
pub mod block;
pub mod codec;
mod event;
pub mod limits;
pub mod protocol;
pub mod redact;
pub mod served;
pub mod summary;
pub mod timeline;
#[cfg(feature = "format2")]
mod v2;
mod values;

pub use block::{BlockWriter, Compressor, Reader, Source, TraceWriter};
pub use cli::Status;
pub use clocks::Datetime;
pub use event::{CallSchema, Event, FieldSchema, InterfaceSchema, Request};
pub use streams::{StreamError, StreamId, WriteOp};
pub use values::{Bytes, Fixed64, text_preview};

event::interfaces! {
    /// `wasi:clocks/wall-clock`, `wasi:clocks/monotonic-clock`.
    Clocks(clocks);
    /// `wasi:random/random`, `insecure`, `insecure-seed`.
    Random(random);
    /// `wasi:cli/environment`, `exit`, the terminals, and `run` returning.
    Cli(cli);
    /// `wasi:io/poll`.
    Poll(poll);
    /// `wasi:io/streams`.
    Streams(streams);
    /// Every interface recorded from its WIT alone (the generic path).
    Generic(generic);
    /// `wasi:filesystem/types`, `wasi:filesystem/preopens`.
    Fs(fs);
    /// `wasi:sockets/*`.
    Sockets(sockets);
    /// `wasi:http/types`, `outgoing-handler`, and the incoming request of a handler.
    Http(http);
}

/// The version of the trace format this crate writes ([`Header::format`]); it also reads
/// format 3 and format 2 (feature `format2`).
///
/// Format 4 added [`Header::redacted`]; its events are those of format 3. Format 5 added
/// [`Header::generic`] and the generic path's event ([`generic::Called`]). Format 6 added the
/// export calls of a library component ([`generic::Invoked`], [`generic::Returned`], and
/// [`generic::Function::export`] in the header's table). Format 7 added the bytes the app
/// wrote ([`streams::Wrote`], up to [`Header::output_bytes`] per stream). Format 8 added the
/// async calls of the generic path (WASI 0.3's), each as a subtask that [`generic::Started`]
/// and later [`generic::Finished`] (or was [`generic::Cancelled`]), in the order the host
/// completed them. Format 9 added the bytes of the generic path's streams
/// ([`generic::StreamWrote`], [`generic::StreamRead`]: WASI 0.3's stdin, stdout, stderr,
/// files and sockets). Format 10 added the values of its streams of other types
/// ([`generic::StreamValues`], and [`generic::Function::stream`] in the header's table: WASI
/// 0.3's `read-directory`), and the end of a stream the app reads as an empty
/// [`generic::StreamRead`] where the app saw it. Format 11 added the calls that return
/// handles beside a future, or pass streams and futures besides values ([`generic::Opened`],
/// and [`generic::Function::future`] in the header's table: WASI 0.3's `wasi:http`).
pub const FORMAT_VERSION: u32 = 11;

/// The first format version whose events are this crate's: a trace of format 3 reads as it
/// is, one of format 2 is upgraded event by event.
pub const FIRST_CURRENT_EVENTS: u32 = 3;

/// The WASI version the interposer exports and imports (`wasi:*@0.2.12`).
pub const WASI_VERSION: &str = "0.2.12";

/// The version of wasm-rr that built this crate.
pub const WASM_RR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The first item of every trace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Header {
    /// Format version; always [`FORMAT_VERSION`] for traces this crate writes. The key
    /// `wasm-rr-trace` doubles as the magic that tells a trace from other CBOR.
    #[serde(rename = "wasm-rr-trace")]
    pub format: u32,
    /// The wasm-rr version that recorded the trace, e.g. `"0.1.0"`.
    pub wasm_rr: String,
    /// Lowercase hex sha256 of the original guest component (before wrapping), 64 characters.
    pub component_sha256: String,
    /// The WASI version the interposer spoke to the host ([`WASI_VERSION`]).
    pub wasi: String,
    /// The guest's WASI imports as they appear in the component, e.g.
    /// `"wasi:cli/environment@0.2.3"`: each one was served by the interposer.
    pub guest_imports: Vec<String>,
    /// What was taken out of the trace's values (`wasm-rr redact`, `record --redact-*`):
    /// placeholders of the same length stand in for them, and replay lets a redacted argument
    /// match any value. Absent (empty) in a trace nothing was taken out of; new in format 4.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<redact::Redacted>,
    /// The functions recorded generically (from their WIT alone), which
    /// [`generic::Called`] events name by their index here: the app's imports, then (format 6)
    /// the exports of a library component, whose calls [`generic::Invoked`] and
    /// [`generic::Returned`] record. Absent (empty) when there are none; new in format 5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generic: Vec<generic::Function>,
    /// The most bytes of what the app wrote that the trace keeps per output stream
    /// ([`streams::Wrote`] events; the writes' hashes cover everything): `wrap
    /// --output-bytes`, 1 MiB by default, `u64::MAX` for all. Absent (0): none kept, as in
    /// traces before format 7.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub output_bytes: u64,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

impl Header {
    /// The same header, saying it heads a trace of the current format (for a trace whose
    /// events are written anew, such as one upgraded from format 2).
    pub fn current(&self) -> Header {
        Header {
            format: FORMAT_VERSION,
            ..self.clone()
        }
    }
}

/// What `wasm-rr wrap` embeds into a recording component, read by the recorder at start.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct RecordConfig {
    /// Lowercase hex sha256 of the original guest component.
    pub component_sha256: String,
    /// The guest's WASI import names (see [`Header::guest_imports`]).
    pub guest_imports: Vec<String>,
    /// Compress each block of the trace with zstd.
    #[serde(default)]
    pub compress: bool,
    /// Which runs (or, under `wasmtime serve`, which requests) are recorded, and how full the
    /// trace directory may get.
    #[serde(default, flatten)]
    pub policy: RecordPolicy,
    /// The functions the app imports that are recorded generically (see
    /// [`Header::generic`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generic: Vec<generic::Function>,
}

/// What [`RecordPolicy::output_bytes`] is unless said otherwise (`wasm-rr wrap`, `record`): the
/// first 1 MiB written to each output stream.
pub const DEFAULT_OUTPUT_BYTES: u64 = 1 << 20;

/// Which runs a recording component records (`wasm-rr wrap --sample`, `--max-traces`,
/// `--max-trace-bytes`, `--when-full`). A run that is not recorded passes through: the app's
/// calls reach the host as they would without wasm-rr, and no trace file is written.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub struct RecordPolicy {
    /// Record one run in `sample`, at random (a draw from the host's `wasi:random/random`,
    /// not recorded); 0 and 1 record every run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sample: u32,
    /// The most trace files (`*.cbor`) the trace directory may hold when a run starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_traces: Option<u64>,
    /// The most bytes the trace files (`*.cbor`) in the trace directory may hold when a run
    /// starts (a trace under way may take the directory past it by its own size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_trace_bytes: Option<u64>,
    /// What a run does when the trace directory is at a cap.
    #[serde(default)]
    pub when_full: WhenFull,
    /// The most bytes of what the app writes that the trace keeps per output stream (see
    /// [`Header::output_bytes`]; `wrap --output-bytes`); 0 keeps none.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub output_bytes: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl RecordPolicy {
    /// Whether the trace directory must be listed before a trace is opened (a cap is set).
    pub fn capped(&self) -> bool {
        self.max_traces.is_some() || self.max_trace_bytes.is_some()
    }
}

/// What a run does when the trace directory holds [`RecordPolicy::max_traces`] files or
/// [`RecordPolicy::max_trace_bytes`] bytes of traces.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// The run passes through unrecorded (recording resumes once traces are taken away).
    #[default]
    Pause,
    /// The oldest traces (by name: request traces are named by their start time) are removed
    /// until the new one fits under the caps.
    Rotate,
}

impl RecordConfig {
    /// The CBOR item `wasm-rr wrap` embeds.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(self, &mut out).expect("serialising into memory");
        out
    }

    /// Decodes [`RecordConfig::to_cbor`]'s output; the error says what is wrong.
    pub fn from_cbor(data: &[u8]) -> Result<RecordConfig, String> {
        ciborium::de::from_reader(data).map_err(describe_de_error)
    }

    /// The header a recorder writes for this configuration.
    pub fn header(&self) -> Header {
        Header {
            format: FORMAT_VERSION,
            wasm_rr: WASM_RR_VERSION.to_string(),
            component_sha256: self.component_sha256.clone(),
            wasi: WASI_VERSION.to_string(),
            guest_imports: self.guest_imports.clone(),
            redacted: Vec::new(),
            generic: self.generic.clone(),
            output_bytes: self.policy.output_bytes,
        }
    }
}

/// Errors from reading a trace. Each message says what is wrong; callers add the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceError {
    /// The data is empty.
    Empty,
    /// The first item is not a wasm-rr header (not a trace, or a corrupt one).
    BadHeader(String),
    /// The header's format version is not [`FORMAT_VERSION`].
    UnsupportedVersion(u32),
    /// A block is damaged: its checksum does not match, or it does not decode.
    Corrupt {
        /// Index of the block (0-based).
        block: u64,
        /// Byte offset of the block in the file.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A block exceeds a limit of [`limits`] (a crafted or damaged trace): it is refused before
    /// memory is allocated for it.
    TooLarge {
        /// Index of the block (0-based).
        block: u64,
        /// Byte offset of the block in the file.
        offset: u64,
        /// What is too large, and the limit.
        message: String,
    },
    /// The JSON form is malformed.
    BadJson(String),
    /// Writing a trace failed.
    Write(String),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Empty => write!(f, "the trace is empty"),
            TraceError::BadHeader(m) => write!(f, "not a wasm-rr trace (bad header: {m})"),
            TraceError::UnsupportedVersion(1) => write!(
                f,
                "this trace is in format version 1, which wasm-rr 0.1 wrote and reads; this wasm-rr ({WASM_RR_VERSION}) reads format versions 2 to {FORMAT_VERSION} (record it again, or replay it with wasm-rr 0.1)"
            ),
            TraceError::UnsupportedVersion(v) => write!(
                f,
                "trace format version {v} is not supported: this wasm-rr ({WASM_RR_VERSION}) reads format versions 2 to {FORMAT_VERSION}"
            ),
            TraceError::Corrupt {
                block,
                offset,
                message,
            } => write!(
                f,
                "the trace is corrupt: block {block} at byte {offset}: {message}"
            ),
            TraceError::TooLarge {
                block,
                offset,
                message,
            } => write!(
                f,
                "the trace is refused: block {block} at byte {offset}: {message}"
            ),
            TraceError::BadJson(m) => write!(f, "not a wasm-rr JSON trace ({m})"),
            TraceError::Write(m) => write!(f, "cannot write the trace: {m}"),
        }
    }
}

impl std::error::Error for TraceError {}

/// The WIT name of a serde unit-variant enum value (its kebab-case JSON string), e.g.
/// `no-entry`; `?` for other values.
pub(crate) fn wit_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// `camel` (a Rust name such as `SetKeepAliveEnabled`) in kebab case: `set-keep-alive-enabled`.
pub(crate) fn kebab(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Appends the CBOR form of a [`Header`] (the first item of a trace file) to `out`.
pub fn encode_header(header: &Header, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and a header serialises.
    ciborium::ser::into_writer(header, out).expect("serialising a header into memory");
}

/// The output hash logged for stdout/stderr writes: the first 8 bytes of the data's sha256,
/// read as a big-endian u64.
pub fn output_hash(data: &[u8]) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    u64::from_be_bytes(digest[..8].try_into().expect("sha256 has 32 bytes"))
}

/// Lowercase hex sha256 of `data` (64 characters).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    hex::encode(digest)
}

pub(crate) fn describe_de_error<E: fmt::Debug>(e: ciborium::de::Error<E>) -> String {
    match e {
        ciborium::de::Error::Io(e) => format!("i/o error {e:?}"),
        ciborium::de::Error::Syntax(at) => format!("CBOR syntax error at byte {at} of the item"),
        ciborium::de::Error::Semantic(_, m) => m,
        ciborium::de::Error::RecursionLimitExceeded => "nesting too deep".into(),
    }
}

/// What [`scan`] found in a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// The header.
    pub header: Header,
    /// How many whole, valid events follow it.
    pub events: u64,
    /// Bytes of the header and the whole blocks; anything after them is a torn tail.
    pub whole_len: usize,
}

/// Checks a trace block by block without keeping the events: cheaper than
/// [`Trace::from_bytes`] when only the bytes are needed (to copy or embed them).
///
/// Errors: as [`Trace::from_bytes`].
pub fn scan(data: &[u8]) -> Result<Scan, TraceError> {
    let scan = block::scan_events(data)?;
    Ok(Scan {
        header: scan.header,
        events: scan.events,
        whole_len: scan.whole_len as usize,
    })
}

/// Bytes of events per block when a whole trace is written at once ([`Trace::to_bytes`]).
pub const BLOCK_BYTES: usize = 1024 * 1024;

/// A whole trace in memory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// The header.
    pub header: Header,
    /// Every event, in the order the guest made the calls.
    pub events: Vec<Event>,
    /// Bytes after the last whole block that [`Trace::from_bytes`] dropped (0 for a whole
    /// trace).
    #[serde(skip)]
    pub torn_tail_bytes: usize,
}

impl Trace {
    /// Parses a trace file, keeping every whole block and dropping a torn last one.
    ///
    /// Errors: see [`Reader::new`] and [`Reader::next_event`].
    pub fn from_bytes(data: &[u8]) -> Result<Trace, TraceError> {
        let (header, mut reader) = Reader::new(data)?;
        let mut events = Vec::new();
        while let Some(e) = reader.next_event()? {
            events.push(e);
        }
        Ok(Trace {
            header,
            events,
            torn_tail_bytes: reader.torn_tail_bytes() as usize,
        })
    }

    /// Encodes the trace file in the current format: the header, then blocks of about
    /// [`BLOCK_BYTES`] of events, each compressed by `compress` when given.
    pub fn to_bytes(&self, compress: Option<Compressor>) -> Vec<u8> {
        let mut w =
            TraceWriter::new(&self.header, compress, Vec::new()).expect("writing into memory");
        for e in &self.events {
            w.push(e).expect("writing into memory");
        }
        w.finish().expect("writing into memory").0
    }

    /// Parses the JSON form.
    ///
    /// Errors: [`TraceError::BadJson`], [`TraceError::UnsupportedVersion`].
    pub fn from_json(text: &str) -> Result<Trace, TraceError> {
        if let Ok(v) = serde_json::from_str::<JsonVersion>(text) {
            match v.header.format {
                FIRST_CURRENT_EVENTS..=FORMAT_VERSION => {}
                #[cfg(feature = "format2")]
                2 => return v2::trace_from_json(text),
                other => return Err(TraceError::UnsupportedVersion(other)),
            }
        }
        // The header first, so that the generic path's events can be named in errors.
        if let Ok(v) = serde_json::from_str::<JsonHeader>(text) {
            generic::register(&v.header.generic);
        }
        serde_json::from_str(text).map_err(|e| TraceError::BadJson(e.to_string()))
    }

    /// The JSON form in the current format: `{"header": {…}, "events": [ … ]}` with one event
    /// per line (see [`JsonWriter`]).
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(
            &self.header,
            Vec::with_capacity(64 + self.events.len() * 48),
        )
        .expect("writing into memory");
        for e in &self.events {
            w.event(e).expect("writing into memory");
        }
        String::from_utf8(w.finish().expect("writing into memory")).expect("JSON is UTF-8")
    }
}

/// Writes a trace's JSON form one event at a time (what [`Trace::to_json`] returns, without
/// holding the trace): `{"header": {…}, "events": [ … ]}` with one event per line.
pub struct JsonWriter<W: std::io::Write> {
    out: W,
    first: bool,
}

impl<W: std::io::Write> JsonWriter<W> {
    /// Writes the header (in the current format) and opens the list of events.
    ///
    /// Errors: `out`'s.
    pub fn new(header: &Header, mut out: W) -> std::io::Result<JsonWriter<W>> {
        generic::register(&header.generic);
        let header = serde_json::to_string_pretty(&header.current()).expect("header serialises");
        write!(out, "{{\n\"header\": {header},\n\"events\": [")?;
        Ok(JsonWriter { out, first: true })
    }

    /// Writes the next event, on a line of its own.
    ///
    /// Errors: `out`'s.
    pub fn event(&mut self, e: &Event) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n  " } else { b",\n  " })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, e).map_err(std::io::Error::from)
    }

    /// Closes the list and the object; returns `out`.
    ///
    /// Errors: `out`'s.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(b"\n]\n}\n")?;
        Ok(self.out)
    }
}

/// Just the header of a JSON trace.
#[derive(Deserialize)]
struct JsonHeader {
    header: Header,
}

/// Just the version of a JSON trace's header, to name an old format.
#[derive(Deserialize)]
struct JsonVersion {
    header: JsonVersionHeader,
}

#[derive(Deserialize)]
struct JsonVersionHeader {
    #[serde(rename = "wasm-rr-trace")]
    format: u32,
}

#[cfg(test)]
mod tests;
