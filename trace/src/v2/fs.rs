//! Format-2 events of `wasi:filesystem` (read only).

use crate::fs::{
    Advice, DescriptorStat as Stat, DescriptorType, DirEntry, ErrorCode, Fd, NewTimestamp,
};
use crate::{Bytes, StreamId};
use serde::{Deserialize, Serialize};

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
        #[serde(with = "crate::values::fixed64")]
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
        #[serde(with = "crate::values::fixed64")] u64,
        #[serde(with = "crate::values::fixed64")] u64,
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
