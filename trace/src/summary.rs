//! A trace's summary (`wasm-rr show --summary`): what the run did, in one screen, gathered one
//! event at a time in bounded memory.
//!
//! [`Summary::push`] takes the events in order; its `Display` prints the app, the run (its
//! duration by the app's monotonic clock, how it ended), events and bytes per interface, the
//! files opened, the connections, the HTTP exchanges, stdio, and the trace's own size.

use crate::fs::{self, Descriptors};
use crate::{BlockWriter, Event, Header, StreamId, cli, clocks, http, sockets, streams};
use std::collections::BTreeMap;
use std::fmt;

/// How many files and connections a summary lists; the others are counted.
pub const MAX_LISTED: usize = 50;

/// How a trace is stored, for the summary's last line: what the reader saw of the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    /// The file's size, in bytes.
    pub file_bytes: u64,
    /// How many blocks, and how many of them are zstd frames.
    pub blocks: u64,
    /// Blocks stored as zstd frames.
    pub compressed_blocks: u64,
    /// Bytes after the last whole block (a recording cut off).
    pub torn_tail_bytes: u64,
}

/// What happened on a file or a connection: bytes read and written, how many calls did it,
/// and the events it was first and last used at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Bytes read (received).
    pub read: u64,
    /// Reads that returned data or an end.
    pub reads: u64,
    /// Bytes written (sent).
    pub written: u64,
    /// Writes.
    pub writes: u64,
    /// The event that opened it (or first used it).
    pub first: u64,
    /// The last event that used it.
    pub last: u64,
}

type Traffic = Activity;

impl Activity {
    /// One line, for `wasm-rr show --files` and `--net` and the timeline page: `#FIRST NAME:
    /// UNITS.0 N B in N calls, UNITS.1 N B in N calls (events #FIRST to #LAST)`, e.g. `units`
    /// `(read, wrote)` for a file, `(received, sent)` for a connection.
    pub fn line(&self, name: &str, units: (&str, &str)) -> String {
        format!(
            "#{} {name}: {} {} B in {}, {} {} B in {} (events #{} to #{})",
            self.first,
            units.0,
            self.read,
            count(self.reads, "call"),
            units.1,
            self.written,
            count(self.writes, "call"),
            self.first,
            self.last
        )
    }

    /// As JSON, for `wasm-rr show --json`: `{KEY: name, UNITS[0]: read, "reads", UNITS[1]:
    /// written, "writes", "first", "last"}`, e.g. `key` `path` and `units` `[read, written]`
    /// for a file, `name` and `[received, sent]` for a connection.
    pub fn to_json(&self, key: &str, name: &str, units: [&str; 2]) -> serde_json::Value {
        serde_json::json!({
            key: name,
            units[0]: self.read,
            "reads": self.reads,
            units[1]: self.written,
            "writes": self.writes,
            "first": self.first,
            "last": self.last,
        })
    }
}

/// A summary being gathered; see the module documentation.
pub struct Summary {
    header: Header,
    events: u64,
    /// The current event's number.
    index: u64,
    /// Events and bytes (in the binary form, before compression) per interface.
    interfaces: BTreeMap<&'static str, (u64, u64)>,
    /// Encodes each event again to measure it (its blocks are dropped).
    sizer: BlockWriter,
    scratch: Vec<u8>,
    first_ns: Option<u64>,
    last_ns: Option<u64>,
    end: Option<String>,
    descriptors: Descriptors,
    /// Files by guest path, in the order they were first used.
    files: Vec<(String, Traffic)>,
    /// Reads and writes of files past the first [`MAX_LISTED`].
    unlisted_files: u64,
    /// Sockets being connected: their remote address.
    connecting: BTreeMap<sockets::Socket, String>,
    /// Connections: protocol and address, and the bytes each way.
    connections: Vec<(String, Traffic)>,
    unlisted_connections: u64,
    /// Connection streams (input and output): the connection's index.
    connection_streams: BTreeMap<StreamId, usize>,
    /// UDP sockets' local addresses, as bound.
    bound: BTreeMap<sockets::Socket, String>,
    /// Datagram streams (incoming and outgoing): the connection's index.
    datagram_streams: BTreeMap<u32, usize>,
    http_sent: u64,
    http_received: u64,
    stdio: [Traffic; 3],
    /// Calls recorded generically, per interface as the app imports it; and handles dropped.
    generic_calls: BTreeMap<String, u64>,
    generic_drops: u64,
    /// A library component's export calls, per function (qualified name), and the call that
    /// has not returned (yet), if one has not.
    export_calls: BTreeMap<String, u64>,
    unreturned: Option<String>,
    /// Bytes of what the app wrote that the trace keeps: stdout, stderr, the other streams.
    kept: [u64; 3],
    /// A WASI 0.3 service's instance: the requests that came, and those it answered (with a
    /// response or an error).
    served: (u64, u64),
}

impl Summary {
    /// A summary of the trace with `header`, before its events.
    pub fn new(header: &Header) -> Summary {
        Summary {
            header: header.clone(),
            events: 0,
            index: 0,
            interfaces: BTreeMap::new(),
            sizer: BlockWriter::new(None),
            scratch: Vec::new(),
            first_ns: None,
            last_ns: None,
            end: None,
            descriptors: Descriptors::default(),
            files: Vec::new(),
            unlisted_files: 0,
            connecting: BTreeMap::new(),
            connections: Vec::new(),
            unlisted_connections: 0,
            connection_streams: BTreeMap::new(),
            bound: BTreeMap::new(),
            datagram_streams: BTreeMap::new(),
            http_sent: 0,
            http_received: 0,
            stdio: [Traffic::default(); 3],
            generic_calls: BTreeMap::new(),
            generic_drops: 0,
            export_calls: BTreeMap::new(),
            unreturned: None,
            kept: [0; 3],
            served: (0, 0),
        }
    }

    /// Takes in the next event.
    pub fn push(&mut self, e: &Event) {
        self.index = self.events;
        self.events += 1;
        let before = self.sizer.buffered();
        self.sizer.push(e);
        let bytes = (self.sizer.buffered() - before) as u64;
        if self.sizer.buffered() >= crate::BLOCK_BYTES {
            self.sizer.finish_block(&mut self.scratch);
            self.scratch.clear();
        }
        let entry = self.interfaces.entry(e.call.interface()).or_default();
        entry.0 += 1;
        entry.1 += bytes;
        self.descriptors.follow(e);

        let called = e
            .get::<crate::generic::Called>()
            .map(|(c, _)| c.function)
            .or_else(|| e.get::<crate::generic::Started>().map(|(c, _)| c.function))
            .or_else(|| e.get::<crate::generic::Opened>().map(|(c, _)| c.function));
        if let Some(function) = called {
            let f = self.header.generic.get(function as usize);
            let interface = f.map_or_else(
                || "(not in the header)".to_string(),
                |f| f.interface.clone(),
            );
            // WASI 0.3's monotonic clock (the generic path) times the run as 0.2's does.
            if let (Some((_, Some(crate::abi::Val::U64(ns)))), Some(f)) =
                (e.get::<crate::generic::Called>(), f)
                && f.name == "now"
                && f.interface.starts_with("wasi:clocks/monotonic-clock@")
            {
                self.first_ns.get_or_insert(*ns);
                self.last_ns = Some(*ns);
            }
            if let Some(f) = f.filter(|f| f.interface == crate::served::SERVE_REQUESTS) {
                match f.name.as_str() {
                    "take" => self.served.0 += 1,
                    "give" | "fail" => self.served.1 += 1,
                    _ => {}
                }
            }
            *self.generic_calls.entry(interface).or_default() += 1;
        } else if e.is::<crate::generic::Dropped>() {
            self.generic_drops += 1;
        } else if let Some((c, _)) = e.get::<crate::generic::Invoked>() {
            let name = self.header.generic.get(c.function as usize).map_or_else(
                || format!("#{} (not in the header)", c.function),
                |f| f.qualified_name(),
            );
            *self.export_calls.entry(name.clone()).or_default() += 1;
            self.unreturned = Some(name);
        } else if e.is::<crate::generic::Returned>() {
            self.unreturned = None;
        } else if let Some((w, _)) = e.get::<streams::Wrote>() {
            let i = match w.stream {
                streams::StreamId::STDOUT => 0,
                streams::StreamId::STDERR => 1,
                _ => 2,
            };
            self.kept[i] += w.data.0.len() as u64;
        } else if let Some((_, Ok(fd))) = e.get::<fs::OpenAt>() {
            self.file(Some(*fd), |_| {});
        } else if let Some((_, ns)) = e.get::<clocks::MonotonicClockNow>() {
            self.first_ns.get_or_insert(*ns);
            self.last_ns = Some(*ns);
        } else if let Some((c, _)) = e.get::<cli::Exit>() {
            self.end = Some(format!("exit({})", c.status));
        } else if let Some((c, _)) = e.get::<cli::ExitWithCode>() {
            self.end = Some(format!("exit code {}", c.code));
        } else if let Some((c, _)) = e.get::<cli::RunReturned>() {
            self.end = Some(format!("run returned {}", c.status));
        } else if e.is::<http::Handled>() {
            self.end = Some("the handler returned".into());
        } else if e.is::<http::Handle>() {
            self.http_sent += 1;
        } else if e.is::<http::Incoming>() {
            self.http_received += 1;
        } else if let Some((c, Ok(()))) = e.get::<sockets::StartConnect>() {
            self.connecting.insert(c.socket, c.address.to_string());
        } else if let Some((c, Ok((input, output)))) = e.get::<sockets::FinishConnect>() {
            let address = self.connecting.remove(&c.socket).unwrap_or_default();
            self.connection(format!("tcp to {address}"), [*input, *output]);
        } else if let Some((_, Ok((_, input, output)))) = e.get::<sockets::Accept>() {
            self.connection("tcp accepted".into(), [*input, *output]);
        } else if let Some((c, Ok(()))) = e.get::<sockets::StartBind>() {
            if c.protocol == sockets::Protocol::Udp {
                self.bound.insert(c.socket, c.address.to_string());
            }
        } else if let Some((c, Ok((incoming, outgoing)))) = e.get::<sockets::Stream>() {
            let name = match (&c.remote, self.bound.get(&c.socket)) {
                (Some(remote), _) => format!("udp to {remote}"),
                (None, Some(local)) => format!("udp on {local}"),
                (None, None) => "udp".into(),
            };
            if self.open_connection(name) {
                let i = self.connections.len() - 1;
                self.datagram_streams.insert(*incoming, i);
                self.datagram_streams.insert(*outgoing, i);
            }
        } else if let Some((c, Ok(datagrams))) = e.get::<sockets::Receive>() {
            let n: u64 = datagrams.iter().map(|d| d.data.0.len() as u64).sum();
            let got = !datagrams.is_empty();
            self.datagrams(c.stream, |t| {
                t.read += n;
                t.reads += u64::from(got);
            });
        } else if let Some((c, Ok(sent))) = e.get::<sockets::Send>() {
            let n: u64 = c.datagrams.iter().take(*sent as usize).map(|d| d.len).sum();
            self.datagrams(c.stream, |t| {
                t.written += n;
                t.writes += 1;
            });
        } else if let Some((c, Ok((data, _)))) = e.get::<fs::Read>() {
            let n = data.0.len() as u64;
            self.file(Some(c.fd), |t| {
                t.read += n;
                t.reads += 1;
            });
        } else if let Some((c, Ok(n))) = e.get::<fs::Write>() {
            let n = *n;
            self.file(Some(c.fd), |t| {
                t.written += n;
                t.writes += 1;
            });
        } else if let Some((c, Ok(data))) = e.get::<streams::Read>() {
            let n = data.0.len() as u64;
            self.stream(c.stream, |t| {
                t.read += n;
                t.reads += 1;
            });
        } else if let Some((c, Ok(()))) = e.get::<streams::Write>() {
            let n = c.len;
            self.stream(c.stream, |t| {
                t.written += n;
                t.writes += 1;
            });
        }
    }

    fn connection(&mut self, name: String, ids: [StreamId; 2]) {
        if self.open_connection(name) {
            for id in ids {
                self.connection_streams
                    .insert(id, self.connections.len() - 1);
            }
        }
    }

    /// Lists a new connection (or counts it, past [`MAX_LISTED`]): whether it is listed.
    fn open_connection(&mut self, name: String) -> bool {
        if self.connections.len() >= MAX_LISTED {
            self.unlisted_connections += 1;
            return false;
        }
        self.connections.push((
            name,
            Activity {
                first: self.index,
                last: self.index,
                ..Activity::default()
            },
        ));
        true
    }

    /// Counts traffic on the datagram stream numbered `stream`.
    fn datagrams(&mut self, stream: u32, count: impl FnOnce(&mut Traffic)) {
        if let Some(&i) = self.datagram_streams.get(&stream) {
            let t = &mut self.connections[i].1;
            count(t);
            t.last = self.index;
        }
    }

    /// Counts traffic on the file open as `fd`.
    fn file(&mut self, fd: Option<fs::Fd>, count: impl FnOnce(&mut Traffic)) {
        let Some(path) = fd.and_then(|fd| self.descriptors.path(fd)) else {
            return;
        };
        let index = self.index;
        match self.files.iter().position(|(p, _)| p == path) {
            Some(i) => {
                let t = &mut self.files[i].1;
                count(t);
                t.last = index;
            }
            None if self.files.len() < MAX_LISTED => {
                let mut t = Activity {
                    first: index,
                    last: index,
                    ..Activity::default()
                };
                count(&mut t);
                self.files.push((path.to_string(), t));
            }
            None => self.unlisted_files += 1,
        }
    }

    /// Counts traffic on `stream`: stdio, a file's, or a connection's.
    fn stream(&mut self, stream: StreamId, count: impl FnOnce(&mut Traffic)) {
        if stream.0 < StreamId::FIRST_OTHER {
            count(&mut self.stdio[stream.0 as usize]);
        } else if let Some(&i) = self.connection_streams.get(&stream) {
            let t = &mut self.connections[i].1;
            count(t);
            t.last = self.index;
        } else if let Some(fd) = self.descriptors.of_stream(stream) {
            self.file(Some(fd), count);
        }
    }

    /// The files the app opened, read or wrote, by guest path, in the order it first did
    /// (at most [`MAX_LISTED`]).
    pub fn files(&self) -> &[(String, Activity)] {
        &self.files
    }

    /// The connections, as `tcp to ADDRESS`, `tcp accepted`, `udp to ADDRESS` (a datagram
    /// stream with a remote address) or `udp on LOCAL-ADDRESS` (one without), in the order they were made
    /// (at most [`MAX_LISTED`]); received is `read`, sent is `written`.
    pub fn connections(&self) -> &[(String, Activity)] {
        &self.connections
    }

    /// The summary as JSON, for `wasm-rr show --summary --json`: the same facts as
    /// [`Summary::display`], as numbers (bytes, ns) rather than rounded text:
    /// `{"app": {component_sha256, imports, wasi}, "run": {duration_ns, end}, "events",
    /// "interfaces": [{name, events, bytes}], "files": [{path, read, reads, written, writes,
    /// first, last}], "files_unlisted", "connections": [{name, received, …}],
    /// "connections_unlisted", "http": {sent, received}, "generic": {calls: [{interface, calls}],
    /// drops}, "kept_output": {limit, stdout, stderr, other}, "exports": {calls: [{function,
    /// calls}], unreturned}, "requests": {came, answered} (a WASI 0.3 service's instance; 0
    /// otherwise), "stdio": {…}, "trace": {…}, "redacted": […]}`. `duration_ns` and `end` are
    /// `null` when unknown.
    pub fn to_json(&self, storage: Storage) -> serde_json::Value {
        use serde_json::json;
        let h = &self.header;
        let [stdin, stdout, stderr] = &self.stdio;
        json!({
            "app": {
                "component_sha256": h.component_sha256,
                "imports": h.guest_imports,
                "wasi": h.wasi,
            },
            "run": {
                "duration_ns": self.first_ns.zip(self.last_ns).map(|(a, b)| b.saturating_sub(a)),
                "end": self.end,
            },
            "events": self.events,
            "interfaces": self.interfaces.iter().map(|(name, (events, bytes))| {
                json!({"name": name, "events": events, "bytes": bytes})
            }).collect::<Vec<_>>(),
            "files": self.files.iter().map(|(p, a)| a.to_json("path", p, ["read", "written"])).collect::<Vec<_>>(),
            "files_unlisted": self.unlisted_files,
            "connections": self.connections.iter().map(|(n, a)| a.to_json("name", n, ["received", "sent"])).collect::<Vec<_>>(),
            "connections_unlisted": self.unlisted_connections,
            "http": {"sent": self.http_sent, "received": self.http_received},
            "generic": {
                "calls": self.generic_calls.iter().map(|(i, n)| json!({"interface": i, "calls": n})).collect::<Vec<_>>(),
                "drops": self.generic_drops,
            },
            "kept_output": {
                "limit": h.output_bytes,
                "stdout": self.kept[0],
                "stderr": self.kept[1],
                "other": self.kept[2],
            },
            "exports": {
                "calls": self.export_calls.iter().map(|(f, n)| json!({"function": f, "calls": n})).collect::<Vec<_>>(),
                "unreturned": self.unreturned,
            },
            "requests": {"came": self.served.0, "answered": self.served.1},
            "stdio": {
                "stdin_bytes": stdin.read,
                "stdout_bytes": stdout.written,
                "stdout_writes": stdout.writes,
                "stderr_bytes": stderr.written,
                "stderr_writes": stderr.writes,
            },
            "trace": {
                "format": h.format,
                "file_bytes": storage.file_bytes,
                "blocks": storage.blocks,
                "zstd_blocks": storage.compressed_blocks,
                "event_bytes": self.interfaces.values().map(|(_, b)| b).sum::<u64>(),
                "torn_tail_bytes": storage.torn_tail_bytes,
            },
            "redacted": h.redacted.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        })
    }

    /// The summary, with `storage` (how the trace is stored) for its last line.
    pub fn display(&self, storage: Storage) -> impl fmt::Display + '_ {
        Shown {
            summary: self,
            storage,
        }
    }
}

struct Shown<'a> {
    summary: &'a Summary,
    storage: Storage,
}

/// `1234567` bytes as `1.2 MiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `n` and `noun`, in the plural unless `n` is 1: `1 call`, `2 calls`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A duration in ns as `1.234 s`, `12.3 ms`, `45 µs`.
fn duration(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", ns as f64 / 1e6),
        _ => format!("{:.3} s", ns as f64 / 1e9),
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        let h = &s.header;
        let mut versions: Vec<&str> = h
            .guest_imports
            .iter()
            .filter_map(|i| i.rsplit_once('@').map(|(_, v)| v))
            .collect();
        versions.sort();
        versions.dedup();
        writeln!(f, "app: component sha256 {}", h.component_sha256)?;
        writeln!(
            f,
            "  imports {} WASI interfaces (versions {}); served as WASI {}",
            h.guest_imports.len(),
            versions.join(", "),
            h.wasi
        )?;
        let took = match (s.first_ns, s.last_ns) {
            (Some(a), Some(b)) => format!(
                "{} from the first to the last monotonic clock reading",
                duration(b.saturating_sub(a))
            ),
            _ => "duration unknown (the app read no monotonic clock)".into(),
        };
        let library_end = match &s.unreturned {
            _ if s.export_calls.is_empty() => None,
            None => Some("its last export call returned".to_string()),
            Some(f) => Some(format!(
                "in a call of {f}, which did not return (it trapped, was killed, or the trace was cut)"
            )),
        };
        let service_end = (s.served.0 > 0).then(|| {
            format!(
                "no run end (a WASI 0.3 service's instance: {} came, {} answered; `wasm-rr show --requests` lists them)",
                count(s.served.0, "request"),
                s.served.1
            )
        });
        let end = s
            .end
            .clone()
            .or(library_end)
            .or(service_end)
            .unwrap_or_else(|| {
                "no end recorded (it trapped, was killed, or the trace was cut)".into()
            });
        writeln!(f, "run: {took}; ended: {end}")?;
        writeln!(
            f,
            "events: {} (events, bytes before compression, per interface)",
            s.events
        )?;
        for (name, (events, bytes)) in &s.interfaces {
            writeln!(f, "  {name:<8} {events:>10} {:>10}", size(*bytes))?;
        }
        if !s.generic_calls.is_empty() || s.generic_drops > 0 {
            let calls: Vec<String> = s
                .generic_calls
                .iter()
                .map(|(i, n)| format!("{i} {}", count(*n, "call")))
                .collect();
            writeln!(
                f,
                "recorded from their WIT: {}; {} dropped",
                calls.join(", "),
                count(s.generic_drops, "handle")
            )?;
        }
        if !s.export_calls.is_empty() {
            let calls: Vec<String> = s
                .export_calls
                .iter()
                .map(|(name, n)| format!("{name} {}", count(*n, "call")))
                .collect();
            writeln!(f, "a library component's exports: {}", calls.join(", "))?;
        }
        let traffic = |t: &Traffic| {
            format!(
                "read {} in {}, wrote {} in {}",
                size(t.read),
                count(t.reads, "call"),
                size(t.written),
                count(t.writes, "call")
            )
        };
        if !s.files.is_empty() {
            let more = if s.unlisted_files > 0 { " or more" } else { "" };
            writeln!(f, "files: {}{more}", s.files.len())?;
            for (path, t) in &s.files {
                writeln!(f, "  {path}: {}", traffic(t))?;
            }
            if s.unlisted_files > 0 {
                writeln!(
                    f,
                    "  … and others, not listed (a summary lists {MAX_LISTED})"
                )?;
            }
        }
        if !s.connections.is_empty() {
            writeln!(
                f,
                "connections: {}",
                s.connections.len() as u64 + s.unlisted_connections
            )?;
            for (name, t) in &s.connections {
                writeln!(
                    f,
                    "  {name}: received {}, sent {}",
                    size(t.read),
                    size(t.written)
                )?;
            }
            if s.unlisted_connections > 0 {
                writeln!(f, "  … and {} more, not listed", s.unlisted_connections)?;
            }
        }
        if s.http_sent + s.http_received > 0 {
            writeln!(
                f,
                "HTTP: {} sent, {} received (`wasm-rr show` lists the exchanges)",
                count(s.http_sent, "request"),
                count(s.http_received, "request")
            )?;
        }
        let [stdin, stdout, stderr] = &s.stdio;
        writeln!(
            f,
            "stdio: stdin {} read, stdout {} in {}, stderr {} in {}",
            size(stdin.read),
            size(stdout.written),
            count(stdout.writes, "write"),
            size(stderr.written),
            count(stderr.writes, "write")
        )?;
        if s.header.output_bytes > 0 {
            let limit = match s.header.output_bytes {
                u64::MAX => "all of it".to_string(),
                n => format!("up to {} per stream", size(n)),
            };
            writeln!(
                f,
                "output kept ({limit}): stdout {}, stderr {}, other streams {}",
                size(s.kept[0]),
                size(s.kept[1]),
                size(s.kept[2])
            )?;
        }
        let st = self.storage;
        let raw: u64 = s.interfaces.values().map(|(_, b)| b).sum();
        write!(
            f,
            "trace: format {}, {} on disk in {} ({} zstd), {} of events before compression",
            h.format,
            size(st.file_bytes),
            count(st.blocks, "block"),
            st.compressed_blocks,
            size(raw)
        )?;
        if st.torn_tail_bytes > 0 {
            write!(
                f,
                "; the last {} are not a whole block",
                size(st.torn_tail_bytes)
            )?;
        }
        writeln!(f)?;
        if !h.redacted.is_empty() {
            let items: Vec<String> = h.redacted.iter().map(|r| r.to_string()).collect();
            writeln!(f, "redacted: {}", items.join(", "))?;
        }
        Ok(())
    }
}
