//! The wasm-rr trace format.
//!
//! A trace is a [CBOR sequence](https://www.rfc-editor.org/rfc/rfc8742): one CBOR item after
//! another with nothing between them. The first item is a [`Header`]; every later item is one
//! [`Event`]. The recorder appends items while the guest runs, so a trace whose writer died
//! mid-item is still readable: [`Trace::from_cbor`] keeps every whole item and reports the torn
//! tail in [`Trace::torn_tail_bytes`].
//!
//! The same data model has a JSON form for people ([`Trace::to_json`], [`Trace::from_json`]);
//! converting between the two loses nothing. Byte strings are CBOR byte strings in CBOR and
//! lowercase hex strings in JSON.
//!
//! `docs/trace-format.md` in the repository describes every event.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use std::fmt;

mod bytes;
mod event;

pub use bytes::Bytes;
pub use event::{Call, Datetime, Event, ReadResult, Status, StreamError, StreamId, WriteOp};

/// The version of the trace format this crate reads and writes ([`Header::format`]).
pub const FORMAT_VERSION: u32 = 1;

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
}

/// What `wasm-rr wrap` embeds into a recording component, read by the recorder at start.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct RecordConfig {
    /// Lowercase hex sha256 of the original guest component.
    pub component_sha256: String,
    /// The guest's WASI import names (see [`Header::guest_imports`]).
    pub guest_imports: Vec<String>,
}

impl RecordConfig {
    /// The CBOR item `wasm-rr wrap` embeds.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_item(self, &mut out);
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
    /// Item `index` (0 = the first event) is not a valid event: the trace is corrupt.
    BadEvent {
        /// Index of the event (0-based, not counting the header).
        index: u64,
        /// Byte offset of the item in the CBOR sequence.
        offset: usize,
        /// What the decoder said.
        message: String,
    },
    /// The JSON form is malformed.
    BadJson(String),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Empty => write!(f, "the trace is empty"),
            TraceError::BadHeader(m) => write!(f, "not a wasm-rr trace (bad header: {m})"),
            TraceError::UnsupportedVersion(v) => write!(
                f,
                "trace format version {v} is not supported (this wasm-rr reads version {FORMAT_VERSION})"
            ),
            TraceError::BadEvent {
                index,
                offset,
                message,
            } => write!(
                f,
                "the trace is corrupt: event {index} at byte {offset} is invalid ({message})"
            ),
            TraceError::BadJson(m) => write!(f, "not a wasm-rr JSON trace ({m})"),
        }
    }
}

impl std::error::Error for TraceError {}

/// Appends one CBOR item (a [`Header`] or an [`Event`]) to `out`.
pub fn encode_item<T: Serialize>(item: &T, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and every type here serialises.
    ciborium::ser::into_writer(item, out).expect("serialising a trace item into memory");
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

/// Reads events one at a time from a CBOR sequence, without holding them all in memory.
pub struct EventReader<'a> {
    rest: &'a [u8],
    offset: usize,
    index: u64,
    scratch: Vec<u8>,
}

impl<'a> EventReader<'a> {
    /// Decodes the header at the start of `data` and returns it with a reader for the events.
    ///
    /// Errors: [`TraceError::Empty`], [`TraceError::BadHeader`], [`TraceError::UnsupportedVersion`].
    pub fn new(data: &'a [u8]) -> Result<(Header, Self), TraceError> {
        if data.is_empty() {
            return Err(TraceError::Empty);
        }
        let mut reader = EventReader {
            rest: data,
            offset: 0,
            index: 0,
            scratch: vec![0; 4096],
        };
        let header: Header = match reader.decode() {
            Ok(Some(h)) => h,
            Ok(None) => return Err(TraceError::BadHeader("the header is cut off".into())),
            Err(m) => return Err(TraceError::BadHeader(m)),
        };
        if header.format != FORMAT_VERSION {
            return Err(TraceError::UnsupportedVersion(header.format));
        }
        Ok((header, reader))
    }

    /// Byte offset of the next item in the CBOR sequence.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Decodes the event at byte `offset` of `data` (an offset [`EventReader::offset`] gave).
    pub fn event_at(data: &[u8], offset: usize) -> Option<Event> {
        ciborium::de::from_reader(data.get(offset..)?).ok()
    }

    /// Index of the next event (0-based).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Bytes not yet consumed (after `next_event` returned `Ok(None)`: the torn tail, if any).
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next event; `Ok(None)` at the end of the data or at a torn (cut-off) last item.
    ///
    /// Errors: [`TraceError::BadEvent`] when an item is whole but not a valid event.
    pub fn next_event(&mut self) -> Result<Option<Event>, TraceError> {
        let offset = self.offset;
        match self.decode::<Event>() {
            Ok(Some(e)) => {
                self.index += 1;
                Ok(Some(e))
            }
            Ok(None) => Ok(None),
            Err(message) => Err(TraceError::BadEvent {
                index: self.index,
                offset,
                message,
            }),
        }
    }

    /// Decodes one item. `Ok(None)`: no whole item is left (end, or a torn tail).
    fn decode<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>, String> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let mut cursor = self.rest;
        match ciborium::de::from_reader_with_buffer(&mut cursor, &mut self.scratch) {
            Ok(item) => {
                let used = self.rest.len() - cursor.len();
                self.rest = cursor;
                self.offset += used;
                Ok(Some(item))
            }
            // Reading from a slice fails only at its end: the last item was cut off.
            Err(ciborium::de::Error::Io(_)) => Ok(None),
            Err(e) => Err(describe_de_error(e)),
        }
    }
}

fn describe_de_error<E: fmt::Debug>(e: ciborium::de::Error<E>) -> String {
    match e {
        ciborium::de::Error::Io(e) => format!("i/o error {e:?}"),
        ciborium::de::Error::Syntax(at) => format!("CBOR syntax error at byte {at} of the item"),
        ciborium::de::Error::Semantic(_, m) => m,
        ciborium::de::Error::RecursionLimitExceeded => "nesting too deep".into(),
    }
}

/// What [`scan_cbor`] found in a CBOR trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// The header.
    pub header: Header,
    /// How many whole, valid events follow it.
    pub events: u64,
    /// Bytes of the header and those events; anything after them is a torn tail.
    pub whole_len: usize,
}

/// Checks a CBOR trace item by item without keeping the events: cheaper than
/// [`Trace::from_cbor`] when only the bytes are needed (to copy or embed them).
///
/// Errors: as [`Trace::from_cbor`].
pub fn scan_cbor(data: &[u8]) -> Result<Scan, TraceError> {
    let (header, mut reader) = EventReader::new(data)?;
    while reader.next_event()?.is_some() {}
    Ok(Scan {
        header,
        events: reader.index(),
        whole_len: data.len() - reader.remaining(),
    })
}

/// A whole trace in memory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// The header.
    pub header: Header,
    /// Every event, in the order the guest made the calls.
    pub events: Vec<Event>,
    /// Bytes of a cut-off last item that [`Trace::from_cbor`] dropped (0 for a whole trace).
    #[serde(skip)]
    pub torn_tail_bytes: usize,
}

impl Trace {
    /// Parses a CBOR trace, keeping every whole item and dropping a torn last item.
    ///
    /// Errors: see [`EventReader::new`] and [`EventReader::next_event`].
    pub fn from_cbor(data: &[u8]) -> Result<Trace, TraceError> {
        let (header, mut reader) = EventReader::new(data)?;
        let mut events = Vec::new();
        while let Some(e) = reader.next_event()? {
            events.push(e);
        }
        Ok(Trace {
            header,
            events,
            torn_tail_bytes: reader.remaining(),
        })
    }

    /// Encodes the trace as a CBOR sequence (header, then events).
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_item(&self.header, &mut out);
        for e in &self.events {
            encode_item(e, &mut out);
        }
        out
    }

    /// Parses the JSON form.
    ///
    /// Errors: [`TraceError::BadJson`], [`TraceError::UnsupportedVersion`].
    pub fn from_json(text: &str) -> Result<Trace, TraceError> {
        let trace: Trace =
            serde_json::from_str(text).map_err(|e| TraceError::BadJson(e.to_string()))?;
        if trace.header.format != FORMAT_VERSION {
            return Err(TraceError::UnsupportedVersion(trace.header.format));
        }
        Ok(trace)
    }

    /// The JSON form: `{"header": {…}, "events": [ … ]}` with one event per line.
    pub fn to_json(&self) -> String {
        let header = serde_json::to_string_pretty(&self.header).expect("header serialises");
        let mut out = String::with_capacity(64 + self.events.len() * 48);
        out.push_str("{\n\"header\": ");
        out.push_str(&header);
        out.push_str(",\n\"events\": [");
        for (i, e) in self.events.iter().enumerate() {
            out.push_str(if i == 0 { "\n  " } else { ",\n  " });
            out.push_str(&serde_json::to_string(e).expect("event serialises"));
        }
        out.push_str("\n]\n}\n");
        out
    }
}

#[cfg(test)]
mod tests;
