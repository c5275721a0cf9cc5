//! Events of `wasi:filesystem/types` and `wasi:filesystem/preopens`.
//!
//! Descriptors are numbered in the order the host handed them out (`get-directories`,
//! `open-at`), from 3 up like POSIX file descriptors; directory-entry streams from 0 up; file
//! streams share the numbering of every other [`StreamId`]. Every descriptor method is one
//! [`FsEvent::Descriptor`]: the descriptor, the call with the arguments replay checks
//! ([`FsCall`]), and what the host answered ([`FsAnswer`] or an [`ErrorCode`]). Written data is
//! logged as its length and [`crate::output_hash`], like output.

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
pub struct Stat {
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

/// A `descriptor` method with the arguments replay checks. Flags are the WIT flags' bits in
/// declaration order (`descriptor-flags`: read = 1, write = 2, file-integrity-sync = 4,
/// data-integrity-sync = 8, requested-write-sync = 16, mutate-directory = 32; `path-flags`:
/// symlink-follow = 1; `open-flags`: create = 1, directory = 2, exclusive = 4, truncate = 8).
/// Offsets and lengths are bytes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum FsCall {
    ReadViaStream {
        offset: u64,
    },
    WriteViaStream {
        offset: u64,
    },
    AppendViaStream,
    Advise {
        offset: u64,
        len: u64,
        advice: Advice,
    },
    SyncData,
    GetFlags,
    GetType,
    SetSize {
        size: u64,
    },
    SetTimes {
        atime: NewTimestamp,
        mtime: NewTimestamp,
    },
    Read {
        len: u64,
        offset: u64,
    },
    /// The data as its length and [`crate::output_hash`].
    Write {
        len: u64,
        #[serde(with = "crate::event::fixed64")]
        hash: u64,
        offset: u64,
    },
    ReadDirectory,
    Sync,
    CreateDirectoryAt {
        path: String,
    },
    Stat,
    StatAt {
        path_flags: u8,
        path: String,
    },
    SetTimesAt {
        path_flags: u8,
        path: String,
        atime: NewTimestamp,
        mtime: NewTimestamp,
    },
    LinkAt {
        old_path_flags: u8,
        old_path: String,
        new_fd: Fd,
        new_path: String,
    },
    OpenAt {
        path_flags: u8,
        path: String,
        open_flags: u8,
        flags: u8,
    },
    ReadlinkAt {
        path: String,
    },
    RemoveDirectoryAt {
        path: String,
    },
    RenameAt {
        old_path: String,
        new_fd: Fd,
        new_path: String,
    },
    SymlinkAt {
        old_path: String,
        new_path: String,
    },
    UnlinkFileAt {
        path: String,
    },
    IsSameObject {
        other: Fd,
    },
    MetadataHash,
    MetadataHashAt {
        path_flags: u8,
        path: String,
    },
}

/// What the host answered a `descriptor` method, when it did not fail.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FsAnswer {
    /// `result<_, …>`'s ok.
    Done,
    /// A new stream (`*-via-stream`).
    Stream(StreamId),
    /// A new descriptor (`open-at`).
    Fd(Fd),
    /// A new directory-entry stream (`read-directory`).
    Dir(u32),
    /// `descriptor-flags` bits (`get-flags`).
    Flags(u8),
    /// `get-type`.
    Type(DescriptorType),
    /// `read`: the bytes, and whether the end of the file was reached.
    Data(Bytes, bool),
    /// `write`: bytes written.
    Size(u64),
    /// `stat`, `stat-at`.
    Stat(Stat),
    /// `readlink-at`.
    Link(String),
    /// `metadata-hash`, `metadata-hash-at`: (lower, upper).
    Hash(
        #[serde(with = "crate::event::fixed64")] u64,
        #[serde(with = "crate::event::fixed64")] u64,
    ),
    /// `is-same-object`.
    Bool(bool),
}

/// One `wasi:filesystem` call and the host's answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FsEvent {
    /// `preopens.get-directories`: each new descriptor's number and guest path (without the
    /// `/wasm-rr` trace preopen).
    GetDirectories(Vec<(Fd, String)>),
    /// A `descriptor` method.
    Descriptor {
        /// The descriptor it was called on.
        fd: Fd,
        /// The method and its arguments.
        call: FsCall,
        /// The answer.
        result: Result<FsAnswer, ErrorCode>,
    },
    /// `directory-entry-stream.read-directory-entry`.
    ReadDirectoryEntry {
        /// The directory-entry stream's number.
        dir: u32,
        /// The next entry, `None` at the end, or the error.
        result: Result<Option<DirEntry>, ErrorCode>,
    },
    /// `filesystem-error-code` of a stream error.
    ErrorCode(Option<ErrorCode>),
}

/// A `wasi:filesystem` call the guest made, with the arguments replay checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum FsCallOf {
    GetDirectories,
    Descriptor { fd: Fd, call: FsCall },
    ReadDirectoryEntry { dir: u32 },
    ErrorCode,
}

impl FsEvent {
    /// The call this event answers.
    pub fn call(&self) -> FsCallOf {
        match self {
            FsEvent::GetDirectories(_) => FsCallOf::GetDirectories,
            FsEvent::Descriptor { fd, call, .. } => FsCallOf::Descriptor {
                fd: *fd,
                call: call.clone(),
            },
            FsEvent::ReadDirectoryEntry { dir, .. } => FsCallOf::ReadDirectoryEntry { dir: *dir },
            FsEvent::ErrorCode(_) => FsCallOf::ErrorCode,
        }
    }

    /// What the host answered, shortly: `fd 4`, `28 B`, `no-entry`.
    pub fn answer(&self) -> String {
        match self {
            FsEvent::GetDirectories(dirs) => {
                let list: Vec<String> = dirs
                    .iter()
                    .map(|(fd, p)| format!("fd {fd} {p:?}"))
                    .collect();
                format!("[{}]", list.join(", "))
            }
            FsEvent::Descriptor { result, .. } => match result {
                Ok(a) => a.to_string(),
                Err(e) => e.to_string(),
            },
            FsEvent::ReadDirectoryEntry { result, .. } => match result {
                Ok(Some(e)) => format!("{} {:?}", e.kind, e.name),
                Ok(None) => "end".into(),
                Err(e) => e.to_string(),
            },
            FsEvent::ErrorCode(Some(e)) => e.to_string(),
            FsEvent::ErrorCode(None) => "none".into(),
        }
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

impl fmt::Display for FsAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsAnswer::Done => f.write_str("ok"),
            FsAnswer::Stream(s) => write!(f, "{s}"),
            FsAnswer::Fd(fd) => write!(f, "fd {fd}"),
            FsAnswer::Dir(d) => write!(f, "dir stream {d}"),
            FsAnswer::Flags(b) => f.write_str(&flag_names(*b, DESCRIPTOR_FLAGS)),
            FsAnswer::Type(t) => write!(f, "{t}"),
            FsAnswer::Data(b, end) => {
                write!(f, "{} B{}", b.0.len(), if *end { ", end" } else { "" })
            }
            FsAnswer::Size(n) => write!(f, "{n} B"),
            FsAnswer::Stat(s) => write!(f, "{}, {} B", s.kind, s.size),
            FsAnswer::Link(l) => write!(f, "{l:?}"),
            FsAnswer::Hash(l, u) => write!(f, "{u:016x}{l:016x}"),
            FsAnswer::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for FsCallOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsCallOf::GetDirectories => f.write_str("wasi:filesystem/preopens.get-directories()"),
            FsCallOf::ReadDirectoryEntry { dir } => {
                write!(f, "read-directory-entry(dir stream {dir})")
            }
            FsCallOf::ErrorCode => f.write_str("wasi:filesystem/types.filesystem-error-code()"),
            FsCallOf::Descriptor { fd, call } => {
                let follow = |p: &u8| if p & 1 != 0 { " (follow symlinks)" } else { "" };
                match call {
                    FsCall::ReadViaStream { offset } => {
                        write!(f, "read-via-stream fd {fd} at {offset}")
                    }
                    FsCall::WriteViaStream { offset } => {
                        write!(f, "write-via-stream fd {fd} at {offset}")
                    }
                    FsCall::AppendViaStream => write!(f, "append-via-stream fd {fd}"),
                    FsCall::Advise {
                        offset,
                        len,
                        advice,
                    } => write!(
                        f,
                        "advise fd {fd} {len} B at {offset}: {}",
                        crate::wit_name(advice)
                    ),
                    FsCall::SyncData => write!(f, "sync-data fd {fd}"),
                    FsCall::GetFlags => write!(f, "get-flags fd {fd}"),
                    FsCall::GetType => write!(f, "get-type fd {fd}"),
                    FsCall::SetSize { size } => write!(f, "set-size fd {fd} to {size} B"),
                    FsCall::SetTimes { atime, mtime } => {
                        write!(f, "set-times fd {fd} ({atime:?}, {mtime:?})")
                    }
                    FsCall::Read { len, offset } => {
                        write!(f, "read fd {fd}: {len} B at {offset}")
                    }
                    FsCall::Write { len, hash, offset } => {
                        write!(f, "write fd {fd}: {len} B at {offset}, hash {hash:016x}")
                    }
                    FsCall::ReadDirectory => write!(f, "read-directory fd {fd}"),
                    FsCall::Sync => write!(f, "sync fd {fd}"),
                    FsCall::CreateDirectoryAt { path } => {
                        write!(f, "create-directory-at fd {fd} {path:?}")
                    }
                    FsCall::Stat => write!(f, "stat fd {fd}"),
                    FsCall::StatAt { path_flags, path } => {
                        write!(f, "stat-at fd {fd} {path:?}{}", follow(path_flags))
                    }
                    FsCall::SetTimesAt {
                        path_flags,
                        path,
                        atime,
                        mtime,
                    } => write!(
                        f,
                        "set-times-at fd {fd} {path:?}{} ({atime:?}, {mtime:?})",
                        follow(path_flags)
                    ),
                    FsCall::LinkAt {
                        old_path_flags,
                        old_path,
                        new_fd,
                        new_path,
                    } => write!(
                        f,
                        "link-at fd {fd} {old_path:?}{} to fd {new_fd} {new_path:?}",
                        follow(old_path_flags)
                    ),
                    FsCall::OpenAt {
                        path_flags,
                        path,
                        open_flags,
                        flags,
                    } => {
                        write!(
                            f,
                            "open-at fd {fd} {path:?} ({}",
                            flag_names(*flags, DESCRIPTOR_FLAGS)
                        )?;
                        if *open_flags != 0 {
                            write!(f, "; {}", flag_names(*open_flags, OPEN_FLAGS))?;
                        }
                        write!(f, "){}", follow(path_flags))
                    }
                    FsCall::ReadlinkAt { path } => write!(f, "readlink-at fd {fd} {path:?}"),
                    FsCall::RemoveDirectoryAt { path } => {
                        write!(f, "remove-directory-at fd {fd} {path:?}")
                    }
                    FsCall::RenameAt {
                        old_path,
                        new_fd,
                        new_path,
                    } => write!(
                        f,
                        "rename-at fd {fd} {old_path:?} to fd {new_fd} {new_path:?}"
                    ),
                    FsCall::SymlinkAt { old_path, new_path } => {
                        write!(f, "symlink-at fd {fd} {new_path:?} -> {old_path:?}")
                    }
                    FsCall::UnlinkFileAt { path } => write!(f, "unlink-file-at fd {fd} {path:?}"),
                    FsCall::IsSameObject { other } => {
                        write!(f, "is-same-object fd {fd} fd {other}")
                    }
                    FsCall::MetadataHash => write!(f, "metadata-hash fd {fd}"),
                    FsCall::MetadataHashAt { path_flags, path } => {
                        write!(f, "metadata-hash-at fd {fd} {path:?}{}", follow(path_flags))
                    }
                }
            }
        }
    }
}
