//! Redaction: taking secrets out of a trace so that it can be shared.
//!
//! A trace holds every value the app read: environment variables (API keys), HTTP headers
//! (`authorization`, cookies) and file contents. A [`Redactor`] replaces the values named by a
//! list of [`Redacted`] items with placeholders of the same length (`*` bytes; ASCII whitespace is kept), so that an app
//! that reads a redacted value on replay gets one of the length it had; the header of the
//! redacted trace lists the items ([`crate::Header::redacted`]) so that readers can mark them
//! and the replayer knows which checked arguments to let through: a header the app sends whose
//! value is redacted matches any value ([`Redactor::masked`]).
//!
//! What is redacted, by event:
//! - `env NAME`: the value of `NAME` in `wasi:cli/environment.get-environment`'s answer (WASI
//!   0.2's, and 0.3's through the generic path);
//! - `header NAME` (any case): the values of `NAME` in `fields.get`, `fields.entries`, the
//!   incoming request's head, the head of a request sent and of the response given to the host
//!   (answers), and in `fields.from-list`, `fields.set` and `fields.append` (arguments);
//! - `file PATH` (a guest path; a directory covers everything below it): the data of
//!   `descriptor.read` and of reads from `read-via-stream` streams of files opened at that path.
//!
//! Data the app writes is in the trace as a length and a hash, and (format 7) as the bytes a
//! trace keeps of it ([`crate::streams::Wrote`]): there, every redacted value read before (of
//! at least [`MIN_OUTPUT_SECRET_BYTES`]) becomes placeholders too, so that an app that prints
//! a secret it read does not leave it in the trace.

use crate::fs::{self, Fd};
use crate::http::{self, Entries};
use crate::{Bytes, Call, Event, cli, streams};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One kind of value taken out of a trace; in JSON `{"env": "API_KEY"}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Redacted {
    /// The value of an environment variable, by name (case-sensitive).
    Env(String),
    /// The values of an HTTP header, by name (any case; kept lowercase).
    Header(String),
    /// The contents of a file, by guest path, or of every file below a directory.
    File(String),
}

impl Redacted {
    /// The header `name`, lowercased as HTTP header names compare.
    pub fn header(name: &str) -> Redacted {
        Redacted::Header(name.to_ascii_lowercase())
    }

    /// The file or directory `path`, normalised (see [`Redactor`]).
    pub fn file(path: &str) -> Redacted {
        Redacted::File(fs::normalise_path(path))
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Redacted::Env(n) => write!(f, "env {n}"),
            Redacted::Header(n) => write!(f, "header {n}"),
            Redacted::File(p) => write!(f, "file {p}"),
        }
    }
}

/// The headers `wasm-rr redact` takes out unless told otherwise.
pub const DEFAULT_HEADERS: [&str; 3] = ["authorization", "cookie", "set-cookie"];

/// Whether an environment variable's name looks like it holds a secret: `*_KEY`, `*TOKEN*`,
/// `*SECRET*`, `*PASSWORD*` (in any case).
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.ends_with("_KEY")
        || ["TOKEN", "SECRET", "PASSWORD"]
            .iter()
            .any(|s| n.contains(s))
}

/// The byte every redacted byte becomes (but ASCII whitespace, which is kept).
pub const PLACEHOLDER: u8 = b'*';

/// Takes the values of a list of [`Redacted`] items out of events, one event at a time, in
/// trace order (it follows which descriptors and streams belong to redacted files).
///
/// Its maps are B-trees: a hash map's random seed would make the replayer, which uses it,
/// import `wasi:random/insecure-seed`.
#[derive(Default)]
pub struct Redactor {
    items: BTreeSet<Redacted>,
    env: BTreeSet<String>,
    headers: BTreeSet<String>,
    files: Vec<String>,
    /// The trace's descriptors and file streams.
    descriptors: fs::Descriptors,
    /// Values replaced, by item.
    counts: BTreeMap<Redacted, u64>,
    /// Variables the app read that look like secrets ([`looks_secret`]) and are not redacted.
    unredacted_secrets: BTreeSet<String>,
    /// Redacted values seen so far (up to [`KEPT_SECRETS`] of them, each cut at
    /// [`KEPT_SECRET_BYTES`]), and their item.
    secrets: Vec<(Vec<u8>, Redacted)>,
    /// Headers the app sent that are not redacted but carry a redacted value, and its item.
    leaks: BTreeMap<String, Redacted>,
}

/// How many redacted values a [`Redactor`] remembers to find them in headers the app sends.
const KEPT_SECRETS: usize = 256;

/// How much of each redacted value a [`Redactor`] remembers, in bytes.
const KEPT_SECRET_BYTES: usize = 64 * 1024;

/// The shortest value that counts as carrying a redacted one, in bytes.
const MIN_LEAK_BYTES: usize = 8;

/// The shortest redacted value looked for in what the app wrote, in bytes (a shorter one
/// would match by chance).
pub const MIN_OUTPUT_SECRET_BYTES: usize = 4;

impl Redactor {
    /// A redactor of `items`.
    pub fn new<'a>(items: impl IntoIterator<Item = &'a Redacted>) -> Redactor {
        let mut r = Redactor::default();
        for item in items {
            r.items.insert(item.clone());
            match item {
                Redacted::Env(n) => {
                    r.env.insert(n.clone());
                }
                Redacted::Header(n) => {
                    r.headers.insert(n.to_ascii_lowercase());
                }
                Redacted::File(p) => r.files.push(fs::normalise_path(p)),
            }
        }
        r
    }

    /// The items it redacts, sorted.
    pub fn items(&self) -> impl Iterator<Item = &Redacted> {
        self.items.iter()
    }

    /// `header` listing this redactor's items among its [`crate::Header::redacted`] ones, for
    /// the trace it redacts.
    pub fn mark(&self, header: &crate::Header) -> crate::Header {
        let mut header = header.clone();
        let all: BTreeSet<Redacted> = header
            .redacted
            .drain(..)
            .chain(self.items.iter().cloned())
            .collect();
        header.redacted = all.into_iter().collect();
        header
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.env.is_empty() && self.headers.is_empty() && self.files.is_empty()
    }

    /// How many values of each item were replaced so far.
    pub fn counts(&self) -> &BTreeMap<Redacted, u64> {
        &self.counts
    }

    /// Environment variables read so far whose names look like secrets
    /// ([`looks_secret`]) and that are not redacted.
    pub fn unredacted_secrets(&self) -> impl Iterator<Item = &str> {
        self.unredacted_secrets.iter().map(String::as_str)
    }

    /// Headers the app sent, not redacted, whose values hold a redacted value (or part of a
    /// redacted file), each with the item it came from: a secret the app forwards, which
    /// stays in the trace unless the header is redacted too.
    pub fn leaks(&self) -> impl Iterator<Item = (&str, &Redacted)> {
        self.leaks.iter().map(|(h, i)| (h.as_str(), i))
    }

    /// Replaces the redacted values in `event` (the next event of the trace) with placeholders
    /// of the same length; returns whether the event holds a redacted value (true again for an
    /// event already redacted, so that readers can mark it).
    pub fn apply(&mut self, event: &mut Event) -> bool {
        let mut found = Vec::new();
        if !self.files.is_empty() {
            self.descriptors.follow(event);
        }
        self.redact_call(&mut event.call, &mut found, true);
        self.find_leaks(&event.call);
        self.redact_answer(event, &mut found);
        let any = !found.is_empty();
        for item in found {
            *self.counts.entry(item).or_default() += 1;
        }
        any
    }

    /// `call` with the values of redacted headers it passes emptied: two calls that differ
    /// only there are equal once masked (how replay lets a redacted argument match anything).
    pub fn masked(&self, call: &Call) -> Call {
        let mut call = call.clone();
        self.redact_call(&mut call, &mut Vec::new(), false);
        call
    }

    fn secret_header(&self, name: &str) -> Option<Redacted> {
        (!self.headers.is_empty() && self.headers.contains(&name.to_ascii_lowercase()))
            .then(|| Redacted::header(name))
    }

    /// Redacts the header values `call` passes: with placeholders (`keep_length`) or emptied.
    fn redact_call(&self, call: &mut Call, found: &mut Vec<Redacted>, keep_length: bool) {
        let hide = |b: &mut Bytes| hide(b, keep_length);
        if let Call::Streams(streams::Call::Wrote(w)) = call {
            self.redact_output(&mut w.data, found);
            return;
        }
        let Call::Http(call) = call else { return };
        match call {
            http::Call::FieldsFromList(c) => {
                self.redact_entries(&mut c.entries, found, keep_length)
            }
            http::Call::FieldsSet(c) => {
                if let Some(item) = self.secret_header(&c.name) {
                    c.values.iter_mut().for_each(hide);
                    found.push(item);
                }
            }
            http::Call::FieldsAppend(c) => {
                if let Some(item) = self.secret_header(&c.name) {
                    hide(&mut c.value);
                    found.push(item);
                }
            }
            _ => {}
        }
    }

    /// Replaces in `data`, bytes the app wrote, every redacted value read so far (of at least
    /// [`MIN_OUTPUT_SECRET_BYTES`]) with placeholders of its length.
    fn redact_output(&self, data: &mut Bytes, found: &mut Vec<Redacted>) {
        for (secret, item) in &self.secrets {
            if secret.len() < MIN_OUTPUT_SECRET_BYTES {
                continue;
            }
            let mut at = 0;
            let mut any = false;
            while let Some(i) = data.0[at..]
                .windows(secret.len())
                .position(|w| w == secret.as_slice())
            {
                let start = at + i;
                placeholders(&mut data.0[start..start + secret.len()]);
                at = start + secret.len();
                any = true;
            }
            if any {
                found.push(item.clone());
            }
        }
    }

    fn redact_entries(&self, entries: &mut Entries, found: &mut Vec<Redacted>, keep_length: bool) {
        for (name, value) in entries {
            if let Some(item) = self.secret_header(name) {
                hide(value, keep_length);
                found.push(item);
            }
        }
    }

    /// Remembers `value`, redacted as `item`, to find it in headers the app sends (not when
    /// it is a placeholder already).
    fn remember(&mut self, value: &[u8], item: &Redacted) {
        if self.secrets.len() < KEPT_SECRETS && !is_placeholder(value) {
            let value = &value[..value.len().min(KEPT_SECRET_BYTES)];
            self.secrets.push((value.to_vec(), item.clone()));
        }
    }

    /// Notes the headers `call` sends (not redacted) that carry a redacted value.
    fn find_leaks(&mut self, call: &Call) {
        if self.secrets.is_empty() {
            return;
        }
        let Call::Http(call) = call else { return };
        let sent: Vec<(&String, &Bytes)> = match call {
            http::Call::FieldsFromList(c) => c.entries.iter().map(|(n, v)| (n, v)).collect(),
            http::Call::FieldsSet(c) => c.values.iter().map(|v| (&c.name, v)).collect(),
            http::Call::FieldsAppend(c) => vec![(&c.name, &c.value)],
            _ => return,
        };
        for (name, value) in sent {
            if self.secret_header(name).is_some() {
                continue;
            }
            let contains = |hay: &[u8], needle: &[u8]| {
                needle.len() >= MIN_LEAK_BYTES && hay.windows(needle.len()).any(|w| w == needle)
            };
            if let Some((_, item)) = self
                .secrets
                .iter()
                .find(|(s, _)| contains(&value.0, s) || contains(s, &value.0))
            {
                self.leaks
                    .entry(name.to_ascii_lowercase())
                    .or_insert_with(|| item.clone());
            }
        }
    }

    /// Redacts the environment variable `name`'s `value` if it is to be.
    fn redact_env(&mut self, name: &str, value: &mut String, found: &mut Vec<Redacted>) {
        if self.env.contains(name) {
            let item = Redacted::Env(name.to_string());
            self.remember(value.as_bytes(), &item);
            *value = placeholder_string(value);
            found.push(item);
        } else if looks_secret(name) {
            self.unredacted_secrets.insert(name.to_string());
        }
    }

    /// Redacts the values the host's answer holds.
    fn redact_answer(&mut self, e: &mut Event, found: &mut Vec<Redacted>) {
        if let Some((_, vars)) = e.get_mut::<cli::GetEnvironment>() {
            for (name, value) in vars {
                self.redact_env(name, value, found);
            }
        } else if let Some((c, Some(crate::abi::Val::List(vars)))) =
            e.get_mut::<crate::generic::Called>()
            && crate::generic::is_function(
                c.function,
                "wasi:cli/environment@0.3.",
                "get-environment",
            )
        {
            // WASI 0.3's environment (the generic path): a list of (name, value) tuples.
            for var in vars {
                if let crate::abi::Val::Record(pair) = var
                    && let [
                        crate::abi::Val::String(name),
                        crate::abi::Val::String(value),
                    ] = pair.as_mut_slice()
                {
                    self.redact_env(name, value, found);
                }
            }
        } else if let Some((c, values)) = e.get_mut::<http::FieldsGet>()
            && let Some(item) = self.secret_header(&c.name)
        {
            values.iter_mut().for_each(|v| hide(v, true));
            found.push(item);
        } else if let Some((_, entries)) = e.get_mut::<http::FieldsEntries>() {
            self.redact_entries(entries, found, true);
        } else if let Some((_, sent)) = e.get_mut::<http::Handle>() {
            self.redact_entries(&mut sent.head.headers, found, true);
        } else if let Some((_, incoming)) = e.get_mut::<http::Incoming>() {
            self.redact_entries(&mut incoming.head.headers, found, true);
        } else if let Some((_, Some(head))) = e.get_mut::<http::SetResponse>() {
            self.redact_entries(&mut head.headers, found, true);
        } else if let Some((c, Ok((data, _)))) = e.get_mut::<fs::Read>() {
            let item = self.secret_file(Some(c.fd));
            self.redact_file_data(item, data, found);
        } else if let Some((c, Ok(data))) = e.get_mut::<streams::Read>() {
            let item = self.secret_file(self.descriptors.of_stream(c.stream));
            self.redact_file_data(item, data, found);
        }
    }

    /// Redacts `data` read from a file that `item` covers (if any).
    fn redact_file_data(
        &mut self,
        item: Option<Redacted>,
        data: &mut Bytes,
        found: &mut Vec<Redacted>,
    ) {
        if let Some(item) = item
            && !data.0.is_empty()
        {
            self.remember(&data.0, &item);
            hide(data, true);
            found.push(item);
        }
    }

    /// The redacted file item that covers the file open as `fd` (the path itself or a
    /// directory above it).
    fn secret_file(&self, fd: Option<Fd>) -> Option<Redacted> {
        let path = self.descriptors.path(fd?)?;
        self.files
            .iter()
            .find(|f| {
                path == f.as_str()
                    || f.as_str() == "/"
                    || path
                        .strip_prefix(f.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|f| Redacted::File(f.clone()))
    }
}

/// Replaces `b` with placeholders of its length (see [`placeholders`]), or empties it.
fn hide(b: &mut Bytes, keep_length: bool) {
    if keep_length {
        placeholders(&mut b.0);
    } else {
        b.0.clear();
    }
}

/// Replaces every byte of `data` but ASCII whitespace with [`PLACEHOLDER`]: a value keeps its
/// length and its line structure, so that an app that trims a key read from a file, or
/// splits a file into lines, gets the same lengths on replay.
fn placeholders(data: &mut [u8]) {
    for b in data.iter_mut().filter(|b| !b.is_ascii_whitespace()) {
        *b = PLACEHOLDER;
    }
}

/// Whether `data` is made of placeholders (and whitespace) only: redacted already.
fn is_placeholder(data: &[u8]) -> bool {
    data.iter()
        .all(|b| *b == PLACEHOLDER || b.is_ascii_whitespace())
}

/// `value` as placeholders (see [`placeholders`]).
fn placeholder_string(value: &str) -> String {
    let mut data = value.as_bytes().to_vec();
    placeholders(&mut data);
    // ASCII whitespace and `*` only.
    String::from_utf8(data).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, StreamId, Trace};

    fn open_at(fd: Fd, path: &str, new: Fd) -> Event {
        fs::OpenAt {
            fd,
            path_flags: 0,
            path: path.into(),
            open_flags: 0,
            flags: 1,
        }
        .into_event(Ok(new))
    }

    fn read_stream(stream: u32, data: &[u8]) -> Event {
        streams::Read {
            stream: StreamId(stream),
            len: 4096,
            blocking: true,
        }
        .into_event(Ok(Bytes(data.to_vec())))
    }

    fn events() -> Vec<Event> {
        vec![
            cli::GetEnvironment {}.into_event(vec![
                ("TOKEN".into(), "s3cret-token".into()),
                ("API_KEY".into(), "k".into()),
                ("HOME".into(), "/home".into()),
            ]),
            fs::GetDirectories {}.into_event(vec![(3, "/data".into()), (4, ".".into())]),
            open_at(3, "keys/./a.pem", 5),
            fs::ReadViaStream { fd: 5, offset: 0 }.into_event(Ok(StreamId(7))),
            read_stream(7, b"PRIVATE"),
            open_at(3, "public.txt", 6),
            fs::ReadViaStream { fd: 6, offset: 0 }.into_event(Ok(StreamId(8))),
            read_stream(8, b"public"),
            open_at(4, "keys/../secret.txt", 9),
            fs::Read {
                fd: 9,
                len: 100,
                offset: 0,
            }
            .into_event(Ok((Bytes(b"hidden".to_vec()), true))),
            http::FieldsAppend {
                fields: 0,
                name: "Authorization".into(),
                value: Bytes(b"Bearer s3cret-token".to_vec()),
            }
            .into_event(Ok(())),
            http::FieldsAppend {
                fields: 0,
                name: "accept".into(),
                value: Bytes(b"*/*".to_vec()),
            }
            .into_event(Ok(())),
            http::FieldsEntries { fields: 1 }.into_event(vec![
                ("set-cookie".into(), Bytes(b"id=42".to_vec())),
                ("content-type".into(), Bytes(b"text/plain".to_vec())),
            ]),
            // The app prints the token and the file's contents it read.
            streams::Wrote {
                stream: StreamId::STDOUT,
                data: Bytes(b"token=s3cret-token, key PRIVATE, HOME /home\n".to_vec()),
            }
            .into_event(()),
        ]
    }

    fn redactor() -> Redactor {
        let items = [
            Redacted::Env("TOKEN".into()),
            Redacted::header("authorization"),
            Redacted::header("Set-Cookie"),
            Redacted::file("/data/keys"),
            Redacted::file("./secret.txt"),
        ];
        Redactor::new(&items)
    }

    #[test]
    fn values_become_placeholders_of_their_length_and_nothing_else_changes() {
        let mut r = redactor();
        let mut redacted = events();
        let marks: Vec<bool> = redacted.iter_mut().map(|e| r.apply(e)).collect();
        assert_eq!(
            marks,
            [
                true, false, false, false, true, false, false, false, false, true, true, false,
                true, true
            ]
        );
        let trace = Trace {
            header: crate::RecordConfig {
                component_sha256: String::new(),
                guest_imports: vec![],
                compress: false,
                policy: Default::default(),
                generic: Vec::new(),
            }
            .header(),
            events: redacted.clone(),
            torn_tail_bytes: 0,
        };
        let (json, binary) = (trace.to_json(), trace.to_bytes(None));
        let has = |s: &str| {
            let s = s.as_bytes();
            json.contains(&hex::encode(s))
                || json.contains(std::str::from_utf8(s).unwrap())
                || binary.windows(s.len()).any(|w| w == s)
        };
        for secret in ["s3cret", "PRIVATE", "hidden", "id=42"] {
            assert!(!has(secret), "{secret} in {json}");
        }
        for kept in ["public", "text/plain", "/home", "*/*"] {
            assert!(has(kept), "{kept} not in {json}");
        }
        let (_, env) = redacted[0].get::<cli::GetEnvironment>().unwrap();
        assert_eq!(env[0], ("TOKEN".into(), "************".into()));
        assert_eq!(env[1], ("API_KEY".into(), "k".into()));
        let (c, _) = redacted[10].get::<http::FieldsAppend>().unwrap();
        assert_eq!(c.value.0, b"****** ************", "whitespace is kept");
        assert_eq!(
            r.unredacted_secrets().collect::<Vec<_>>(),
            ["API_KEY"],
            "TOKEN is redacted"
        );
        let counts: Vec<String> = r.counts().iter().map(|(i, n)| format!("{n} {i}")).collect();
        assert_eq!(
            counts,
            [
                "2 env TOKEN",
                "1 header authorization",
                "1 header set-cookie",
                "2 file /data/keys",
                "1 file secret.txt"
            ]
        );
        let (w, _) = redacted[13].get::<streams::Wrote>().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&w.data.0),
            "token=************, key *******, HOME /home\n"
        );
        // Redacting again finds the same events (but the output: its placeholders cannot be
        // told from `*`s the app wrote) and changes nothing.
        let mut again = redacted.clone();
        let mut r2 = redactor();
        let marks2: Vec<bool> = again.iter_mut().map(|e| r2.apply(e)).collect();
        assert_eq!(marks[..13], marks2[..13]);
        assert!(!marks2[13]);
        assert_eq!(again, redacted);
    }

    #[test]
    fn a_redacted_header_argument_matches_any_value() {
        let r = redactor();
        let call = |name: &str, value: &[u8]| {
            http::FieldsAppend {
                fields: 0,
                name: name.into(),
                value: Bytes(value.to_vec()),
            }
            .into_call()
        };
        let recorded = call("authorization", b"*******");
        assert_eq!(
            r.masked(&recorded),
            r.masked(&call("authorization", b"Bearer x"))
        );
        assert_ne!(r.masked(&recorded), r.masked(&call("x-other", b"*******")));
        assert_ne!(
            r.masked(&call("accept", b"a")),
            r.masked(&call("accept", b"b")),
            "other headers are checked"
        );
    }

    #[test]
    fn a_redacted_value_sent_in_another_header_is_reported() {
        let mut r = redactor();
        let mut list = events();
        list.push(
            http::FieldsSet {
                fields: 2,
                name: "X-Key".into(),
                values: vec![Bytes(b"PRIVATE-but-longer".to_vec())],
            }
            .into_event(Ok(())),
        );
        list.push(
            http::FieldsAppend {
                fields: 2,
                name: "x-token".into(),
                value: Bytes(b"s3cret-token".to_vec()),
            }
            .into_event(Ok(())),
        );
        list.push(
            http::FieldsAppend {
                fields: 2,
                name: "x-short".into(),
                value: Bytes(b"PRIV".to_vec()),
            }
            .into_event(Ok(())),
        );
        for e in &mut list {
            r.apply(e);
        }
        let leaks: Vec<String> = r.leaks().map(|(h, i)| format!("{h} {i}")).collect();
        // x-key holds less than the file's read (`PRIVATE`, 7 bytes, is below the minimum),
        // x-short only 4 bytes of it.
        assert_eq!(leaks, ["x-token env TOKEN"]);
    }

    #[test]
    fn secret_looking_names() {
        for n in [
            "API_KEY",
            "github_token",
            "TOKEN",
            "MY_SECRET_X",
            "DB_PASSWORD",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in ["HOME", "KEYBOARD", "PATH", "KEYS"] {
            assert!(!looks_secret(n), "{n}");
        }
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(fs::normalise_path("/data/./a/../key"), "/data/key");
        assert_eq!(fs::normalise_path("./x"), "x");
        assert_eq!(fs::normalise_path("."), ".");
        assert_eq!(fs::normalise_path("//a//b/"), "/a/b");
    }
}
