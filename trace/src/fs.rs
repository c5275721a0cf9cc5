//! Events of `wasi:filesystem/types` and `wasi:filesystem/preopens`.
//!
//! Descriptors are numbered in the order the host handed them out (`get-directories`,
//! `open-at`), from 3 up like POSIX file descriptors; directory-entry streams from 0 up; file
//! streams share the numbering of every other [`StreamId`]. Every method is one event: the
//! descriptor and the arguments replay checks, and the host's answer or [`ErrorCode`](crate::fs::ErrorCode). Written
//! data is recorded as its length and [`crate::output_hash`], like output. Flags are the WIT
//! flags' bits in declaration order (`descriptor-flags`: read = 1, write = 2,
//! file-integrity-sync = 4, data-integrity-sync = 8, requested-write-sync = 16,
//! mutate-directory = 32; `path-flags`: symlink-follow = 1; `open-flags`: create = 1,
//! directory = 2, exclusive = 4, truncate = 8). Offsets and lengths are bytes.

use crate::values::Fixed64;
use crate::{Bytes, Datetime, StreamId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A descriptor's number in the trace.
pub type Fd = u32;

/// The first number given to a descriptor.
pub const FIRST_FD: Fd = 3;

/// `wasi:filesystem/types.error-code`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ErrorCode {
    Access,
    WouldBlock,
    Already,
    BadDescriptor,
    Busy,
    Deadlock,
    Quota,
    Exist,
    FileTooLarge,
    IllegalByteSequence,
    InProgress,
    Interrupted,
    Invalid,
    Io,
    IsDirectory,
    Loop,
    TooManyLinks,
    MessageSize,
    NameTooLong,
    NoDevice,
    NoEntry,
    NoLock,
    InsufficientMemory,
    InsufficientSpace,
    NotDirectory,
    NotEmpty,
    NotRecoverable,
    Unsupported,
    NoTty,
    NoSuchDevice,
    Overflow,
    NotPermitted,
    Pipe,
    ReadOnly,
    InvalidSeek,
    TextFileBusy,
    CrossDevice,
}

/// `wasi:filesystem/types.descriptor-type`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum DescriptorType {
    Unknown,
    BlockDevice,
    CharacterDevice,
    Directory,
    Fifo,
    SymbolicLink,
    RegularFile,
    Socket,
}

/// `wasi:filesystem/types.advice`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Advice {
    Normal,
    Sequential,
    Random,
    WillNeed,
    DontNeed,
    NoReuse,
}

/// `wasi:filesystem/types.new-timestamp`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NewTimestamp {
    /// `no-change`.
    NoChange,
    /// `now`.
    Now,
    /// `timestamp(datetime)`.
    Timestamp(Datetime),
}

/// `wasi:filesystem/types.descriptor-stat`. Timestamps are the host filesystem's, as given.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct DescriptorStat {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: DescriptorType,
    /// `link-count`.
    pub link_count: u64,
    /// `size`, in bytes.
    pub size: u64,
    /// `data-access-timestamp`.
    pub atime: Option<Datetime>,
    /// `data-modification-timestamp`.
    pub mtime: Option<Datetime>,
    /// `status-change-timestamp`.
    pub ctime: Option<Datetime>,
}

/// `wasi:filesystem/types.directory-entry`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct DirEntry {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: DescriptorType,
    /// `name`.
    pub name: String,
}

crate::event::interface! {
    Fs = 128;
    /// `preopens.get-directories`: each new descriptor's number and guest path (without the
    /// `/wasm-rr` trace preopen).
    GetDirectories {} -> Vec<(Fd, String)>;
    /// `descriptor.read-via-stream(offset)`: the new stream.
    ReadViaStream { fd: Fd, offset: u64 } -> Result<StreamId, ErrorCode>;
    /// `descriptor.write-via-stream(offset)`: the new stream.
    WriteViaStream { fd: Fd, offset: u64 } -> Result<StreamId, ErrorCode>;
    /// `descriptor.append-via-stream`: the new stream.
    AppendViaStream { fd: Fd } -> Result<StreamId, ErrorCode>;
    /// `descriptor.advise(offset, length, advice)`.
    Advise { fd: Fd, offset: u64, len: u64, advice: Advice } -> Result<(), ErrorCode>;
    /// `descriptor.sync-data`.
    SyncData { fd: Fd } -> Result<(), ErrorCode>;
    /// `descriptor.get-flags`: the `descriptor-flags` bits.
    GetFlags { fd: Fd } -> Result<u8, ErrorCode>;
    /// `descriptor.get-type`.
    GetType { fd: Fd } -> Result<DescriptorType, ErrorCode>;
    /// `descriptor.set-size(size)`.
    SetSize { fd: Fd, size: u64 } -> Result<(), ErrorCode>;
    /// `descriptor.set-times(atime, mtime)`.
    SetTimes { fd: Fd, atime: Box<NewTimestamp>, mtime: Box<NewTimestamp> } -> Result<(), ErrorCode>;
    /// `descriptor.read(length, offset)`: the bytes, and whether the end of the file was
    /// reached.
    Read { fd: Fd, len: u64, offset: u64 } -> Result<(Bytes, bool), ErrorCode>;
    /// `descriptor.write(buffer, offset)`, the data as its length and [`crate::output_hash`]:
    /// bytes written.
    Write { fd: Fd, len: u64, hash: Fixed64, offset: u64 } -> Result<u64, ErrorCode>;
    /// `descriptor.read-directory`: the new directory-entry stream's number.
    ReadDirectory { fd: Fd } -> Result<u32, ErrorCode>;
    /// `descriptor.sync`.
    Sync { fd: Fd } -> Result<(), ErrorCode>;
    /// `descriptor.create-directory-at(path)`.
    CreateDirectoryAt { fd: Fd, path: String } -> Result<(), ErrorCode>;
    /// `descriptor.stat`.
    Stat { fd: Fd } -> Result<Box<DescriptorStat>, ErrorCode>;
    /// `descriptor.stat-at(path-flags, path)`.
    StatAt { fd: Fd, path_flags: u8, path: String } -> Result<Box<DescriptorStat>, ErrorCode>;
    /// `descriptor.set-times-at(path-flags, path, atime, mtime)`.
    SetTimesAt {
        fd: Fd,
        path_flags: u8,
        path: String,
        atime: Box<NewTimestamp>,
        mtime: Box<NewTimestamp>,
    } -> Result<(), ErrorCode>;
    /// `descriptor.link-at(old-path-flags, old-path, new-descriptor, new-path)`.
    LinkAt {
        fd: Fd,
        old_path_flags: u8,
        old_path: String,
        new_fd: Fd,
        new_path: String,
    } -> Result<(), ErrorCode>;
    /// `descriptor.open-at(path-flags, path, open-flags, flags)`: the new descriptor.
    OpenAt {
        fd: Fd,
        path_flags: u8,
        path: String,
        open_flags: u8,
        flags: u8,
    } -> Result<Fd, ErrorCode>;
    /// `descriptor.readlink-at(path)`.
    ReadlinkAt { fd: Fd, path: String } -> Result<String, ErrorCode>;
    /// `descriptor.remove-directory-at(path)`.
    RemoveDirectoryAt { fd: Fd, path: String } -> Result<(), ErrorCode>;
    /// `descriptor.rename-at(old-path, new-descriptor, new-path)`.
    RenameAt { fd: Fd, old_path: String, new_fd: Fd, new_path: String } -> Result<(), ErrorCode>;
    /// `descriptor.symlink-at(old-path, new-path)`.
    SymlinkAt { fd: Fd, old_path: String, new_path: String } -> Result<(), ErrorCode>;
    /// `descriptor.unlink-file-at(path)`.
    UnlinkFileAt { fd: Fd, path: String } -> Result<(), ErrorCode>;
    /// `descriptor.is-same-object(other)`.
    IsSameObject { fd: Fd, other: Fd } -> bool;
    /// `descriptor.metadata-hash`: (lower, upper).
    MetadataHash { fd: Fd } -> Result<(Fixed64, Fixed64), ErrorCode>;
    /// `descriptor.metadata-hash-at(path-flags, path)`: (lower, upper).
    MetadataHashAt { fd: Fd, path_flags: u8, path: String } -> Result<(Fixed64, Fixed64), ErrorCode>;
    /// `directory-entry-stream.read-directory-entry`: the next entry, `None` at the end.
    ReadDirectoryEntry {
        /// The directory-entry stream's number.
        dir: u32,
    } -> Result<Option<DirEntry>, ErrorCode>;
    /// `filesystem-error-code` of a stream error.
    FilesystemErrorCode {} -> Option<ErrorCode>;
}

impl Call {
    /// The descriptor the call is made on, if it is a descriptor method.
    pub fn fd(&self) -> Option<Fd> {
        Some(match self {
            Call::GetDirectories(_) | Call::ReadDirectoryEntry(_) | Call::FilesystemErrorCode(_) => {
                return None;
            }
            Call::ReadViaStream(c) => c.fd,
            Call::WriteViaStream(c) => c.fd,
            Call::AppendViaStream(c) => c.fd,
            Call::Advise(c) => c.fd,
            Call::SyncData(c) => c.fd,
            Call::GetFlags(c) => c.fd,
            Call::GetType(c) => c.fd,
            Call::SetSize(c) => c.fd,
            Call::SetTimes(c) => c.fd,
            Call::Read(c) => c.fd,
            Call::Write(c) => c.fd,
            Call::ReadDirectory(c) => c.fd,
            Call::Sync(c) => c.fd,
            Call::CreateDirectoryAt(c) => c.fd,
            Call::Stat(c) => c.fd,
            Call::StatAt(c) => c.fd,
            Call::SetTimesAt(c) => c.fd,
            Call::LinkAt(c) => c.fd,
            Call::OpenAt(c) => c.fd,
            Call::ReadlinkAt(c) => c.fd,
            Call::RemoveDirectoryAt(c) => c.fd,
            Call::RenameAt(c) => c.fd,
            Call::SymlinkAt(c) => c.fd,
            Call::UnlinkFileAt(c) => c.fd,
            Call::IsSameObject(c) => c.fd,
            Call::MetadataHash(c) => c.fd,
            Call::MetadataHashAt(c) => c.fd,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::wit_name(self))
    }
}

impl fmt::Display for DescriptorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::wit_name(self))
    }
}

/// Names of the set bits of `bits`, from `names` in bit order, joined by `|`.
fn flag_names(bits: u8, names: &[&str]) -> String {
    let set: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "-".into()
    } else {
        set.join("|")
    }
}

/// `descriptor-flags` names, in bit order.
pub const DESCRIPTOR_FLAGS: &[&str] = &[
    "read",
    "write",
    "file-integrity-sync",
    "data-integrity-sync",
    "requested-write-sync",
    "mutate-directory",
];
/// `open-flags` names, in bit order.
pub const OPEN_FLAGS: &[&str] = &["create", "directory", "exclusive", "truncate"];

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let follow = |p: &u8| if p & 1 != 0 { " (follow symlinks)" } else { "" };
        match self {
            Call::GetDirectories(_) => f.write_str("wasi:filesystem/preopens.get-directories()"),
            Call::ReadDirectoryEntry(c) => write!(f, "read-directory-entry(dir stream {})", c.dir),
            Call::FilesystemErrorCode(_) => {
                f.write_str("wasi:filesystem/types.filesystem-error-code()")
            }
            Call::ReadViaStream(c) => write!(f, "read-via-stream fd {} at {}", c.fd, c.offset),
            Call::WriteViaStream(c) => write!(f, "write-via-stream fd {} at {}", c.fd, c.offset),
            Call::AppendViaStream(c) => write!(f, "append-via-stream fd {}", c.fd),
            Call::Advise(c) => write!(
                f,
                "advise fd {} {} B at {}: {}",
                c.fd,
                c.len,
                c.offset,
                crate::wit_name(&c.advice)
            ),
            Call::SyncData(c) => write!(f, "sync-data fd {}", c.fd),
            Call::GetFlags(c) => write!(f, "get-flags fd {}", c.fd),
            Call::GetType(c) => write!(f, "get-type fd {}", c.fd),
            Call::SetSize(c) => write!(f, "set-size fd {} to {} B", c.fd, c.size),
            Call::SetTimes(c) => {
                write!(f, "set-times fd {} ({:?}, {:?})", c.fd, c.atime, c.mtime)
            }
            Call::Read(c) => write!(f, "read fd {}: {} B at {}", c.fd, c.len, c.offset),
            Call::Write(c) => write!(
                f,
                "write fd {}: {} B at {}, hash {}",
                c.fd, c.len, c.offset, c.hash
            ),
            Call::ReadDirectory(c) => write!(f, "read-directory fd {}", c.fd),
            Call::Sync(c) => write!(f, "sync fd {}", c.fd),
            Call::CreateDirectoryAt(c) => write!(f, "create-directory-at fd {} {:?}", c.fd, c.path),
            Call::Stat(c) => write!(f, "stat fd {}", c.fd),
            Call::StatAt(c) => {
                write!(f, "stat-at fd {} {:?}{}", c.fd, c.path, follow(&c.path_flags))
            }
            Call::SetTimesAt(c) => write!(
                f,
                "set-times-at fd {} {:?}{} ({:?}, {:?})",
                c.fd,
                c.path,
                follow(&c.path_flags),
                c.atime,
                c.mtime
            ),
            Call::LinkAt(c) => write!(
                f,
                "link-at fd {} {:?}{} to fd {} {:?}",
                c.fd,
                c.old_path,
                follow(&c.old_path_flags),
                c.new_fd,
                c.new_path
            ),
            Call::OpenAt(c) => {
                write!(
                    f,
                    "open-at fd {} {:?} ({}",
                    c.fd,
                    c.path,
                    flag_names(c.flags, DESCRIPTOR_FLAGS)
                )?;
                if c.open_flags != 0 {
                    write!(f, "; {}", flag_names(c.open_flags, OPEN_FLAGS))?;
                }
                write!(f, "){}", follow(&c.path_flags))
            }
            Call::ReadlinkAt(c) => write!(f, "readlink-at fd {} {:?}", c.fd, c.path),
            Call::RemoveDirectoryAt(c) => {
                write!(f, "remove-directory-at fd {} {:?}", c.fd, c.path)
            }
            Call::RenameAt(c) => write!(
                f,
                "rename-at fd {} {:?} to fd {} {:?}",
                c.fd, c.old_path, c.new_fd, c.new_path
            ),
            Call::SymlinkAt(c) => {
                write!(f, "symlink-at fd {} {:?} -> {:?}", c.fd, c.new_path, c.old_path)
            }
            Call::UnlinkFileAt(c) => write!(f, "unlink-file-at fd {} {:?}", c.fd, c.path),
            Call::IsSameObject(c) => write!(f, "is-same-object fd {} fd {}", c.fd, c.other),
            Call::MetadataHash(c) => write!(f, "metadata-hash fd {}", c.fd),
            Call::MetadataHashAt(c) => write!(
                f,
                "metadata-hash-at fd {} {:?}{}",
                c.fd,
                c.path,
                follow(&c.path_flags)
            ),
        }
    }
}

/// `ok(v)` as `v` shows, or the error code.
fn or_error<T>(r: &Result<T, ErrorCode>, f: &mut fmt::Formatter<'_>, ok: impl FnOnce(&T, &mut fmt::Formatter<'_>) -> fmt::Result) -> fmt::Result {
    match r {
        Ok(v) => ok(v, f),
        Err(e) => write!(f, "{e}"),
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let done = |_: &(), f: &mut fmt::Formatter<'_>| f.write_str("ok");
        let hash = |(l, u): &(Fixed64, Fixed64), f: &mut fmt::Formatter<'_>| write!(f, "{u}{l}");
        let stream = |s: &StreamId, f: &mut fmt::Formatter<'_>| write!(f, "{s}");
        match self {
            Answer::GetDirectories(dirs) => {
                let list: Vec<String> = dirs
                    .iter()
                    .map(|(fd, p)| format!("fd {fd} {p:?}"))
                    .collect();
                write!(f, "[{}]", list.join(", "))
            }
            Answer::ReadViaStream(r) | Answer::WriteViaStream(r) | Answer::AppendViaStream(r) => {
                or_error(r, f, stream)
            }
            Answer::Advise(r)
            | Answer::SyncData(r)
            | Answer::SetSize(r)
            | Answer::SetTimes(r)
            | Answer::Sync(r)
            | Answer::CreateDirectoryAt(r)
            | Answer::SetTimesAt(r)
            | Answer::LinkAt(r)
            | Answer::RemoveDirectoryAt(r)
            | Answer::RenameAt(r)
            | Answer::SymlinkAt(r)
            | Answer::UnlinkFileAt(r) => or_error(r, f, done),
            Answer::GetFlags(r) => {
                or_error(r, f, |b, f| f.write_str(&flag_names(*b, DESCRIPTOR_FLAGS)))
            }
            Answer::GetType(r) => or_error(r, f, |t, f| write!(f, "{t}")),
            Answer::Read(r) => or_error(r, f, |(b, end), f| {
                write!(f, "{} B{}", b.0.len(), if *end { ", end" } else { "" })
            }),
            Answer::Write(r) => or_error(r, f, |n, f| write!(f, "{n} B")),
            Answer::ReadDirectory(r) => or_error(r, f, |d, f| write!(f, "dir stream {d}")),
            Answer::Stat(r) | Answer::StatAt(r) => {
                or_error(r, f, |s, f| write!(f, "{}, {} B", s.kind, s.size))
            }
            Answer::OpenAt(r) => or_error(r, f, |fd, f| write!(f, "fd {fd}")),
            Answer::ReadlinkAt(r) => or_error(r, f, |l, f| write!(f, "{l:?}")),
            Answer::IsSameObject(b) => write!(f, "{b}"),
            Answer::MetadataHash(r) | Answer::MetadataHashAt(r) => or_error(r, f, hash),
            Answer::ReadDirectoryEntry(r) => or_error(r, f, |e, f| match e {
                Some(e) => write!(f, "{} {:?}", e.kind, e.name),
                None => f.write_str("end"),
            }),
            Answer::FilesystemErrorCode(Some(e)) => write!(f, "{e}"),
            Answer::FilesystemErrorCode(None) => f.write_str("none"),
        }
    }
}

/// Follows a trace's descriptors and file streams, event by event: the guest path of every
/// descriptor (preopens, `open-at` resolved against its directory) and the descriptor behind
/// every stream made by `read-via-stream`, `write-via-stream` or `append-via-stream`. For tools
/// that tell which file a read or write is about (`show --summary`, redaction).
#[derive(Default, Debug)]
pub struct Descriptors {
    paths: std::collections::BTreeMap<Fd, String>,
    streams: std::collections::BTreeMap<StreamId, Fd>,
}

impl Descriptors {
    /// Takes in `event`, the next event of the trace.
    pub fn follow(&mut self, event: &crate::Event) {
        if let Some((_, dirs)) = event.get::<GetDirectories>() {
            for (fd, path) in dirs {
                self.paths.insert(*fd, normalise_path(path));
            }
        } else if let Some((c, Ok(fd))) = event.get::<OpenAt>() {
            let path = match self.paths.get(&c.fd) {
                Some(dir) if !c.path.starts_with('/') => {
                    normalise_path(&format!("{dir}/{}", c.path))
                }
                _ => normalise_path(&c.path),
            };
            self.paths.insert(*fd, path);
        } else if let Some((c, Ok(stream))) = event.get::<ReadViaStream>() {
            self.streams.insert(*stream, c.fd);
        } else if let Some((c, Ok(stream))) = event.get::<WriteViaStream>() {
            self.streams.insert(*stream, c.fd);
        } else if let Some((c, Ok(stream))) = event.get::<AppendViaStream>() {
            self.streams.insert(*stream, c.fd);
        }
    }

    /// The guest path of descriptor `fd`, if the trace opened it.
    pub fn path(&self, fd: Fd) -> Option<&str> {
        self.paths.get(&fd).map(String::as_str)
    }

    /// The descriptor whose file `stream` reads or writes, if it is a file stream.
    pub fn of_stream(&self, stream: StreamId) -> Option<Fd> {
        self.streams.get(&stream).copied()
    }
}

/// `path` with `.` and empty segments dropped and `..` applied, as the guest's paths resolve
/// (`/data/./a/../key` is `/data/key`; a relative path stays relative, `.` for none).
pub fn normalise_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}
