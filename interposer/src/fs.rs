//! `wasi:filesystem/types` and `wasi:filesystem/preopens`.
//!
//! The interposer's `descriptor` and `directory-entry-stream` resources carry their number in
//! the trace (see `wasm_rr_trace::fs`) and, when recording, the host's resource. Every method
//! is one event: the recorder calls the host and logs the call with its answer; the replayer
//! checks the call against the trace and returns the recorded answer, never touching the
//! host's disk. Streams from `read-via-stream`, `write-via-stream` and `append-via-stream` are
//! the interposer's own `wasi:io` streams, numbered like every other stream: their reads are
//! recorded and their writes logged as length and hash, like stdin and stdout. The trace's own
//! preopen, `/wasm-rr`, is never shown to the guest.

use crate::Interposer;
use crate::exports::wasi::clocks::wall_clock::Datetime as ApiDatetime;
use crate::exports::wasi::filesystem::{preopens, types as api};
use crate::io::streams::{new_input, new_output};
#[cfg(not(feature = "replay"))]
use crate::wasi::filesystem::{preopens as host_preopens, types as host};
#[cfg(not(feature = "replay"))]
use wasm_rr_trace::Bytes;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
#[cfg(not(feature = "replay"))]
use wasm_rr_trace::fs::DirEntry;
#[cfg(feature = "replay")]
use wasm_rr_trace::fs::FsCallOf;
use wasm_rr_trace::fs::{
    Advice, DescriptorType, ErrorCode, Fd, FsAnswer, FsCall, FsEvent, NewTimestamp, Stat,
};
use wasm_rr_trace::{Datetime, Event};

/// The guest path of the recorder's trace directory, hidden from the guest.
#[cfg(not(feature = "replay"))]
const TRACE_DIR: &str = "/wasm-rr";

/// Defines conversions between enums whose variants have the same names.
macro_rules! enum_conversions {
    ($name:ident: $from:ty => $to:ty; { $($v:ident),* $(,)? }) => {
        fn $name(x: $from) -> $to {
            type From = $from;
            type To = $to;
            match x { $(From::$v => To::$v,)* }
        }
    };
}

#[cfg(not(feature = "replay"))]
enum_conversions! {
    err_from_host: host::ErrorCode => ErrorCode;
    {
        Access, WouldBlock, Already, BadDescriptor, Busy, Deadlock, Quota, Exist, FileTooLarge,
        IllegalByteSequence, InProgress, Interrupted, Invalid, Io, IsDirectory, Loop,
        TooManyLinks, MessageSize, NameTooLong, NoDevice, NoEntry, NoLock, InsufficientMemory,
        InsufficientSpace, NotDirectory, NotEmpty, NotRecoverable, Unsupported, NoTty,
        NoSuchDevice, Overflow, NotPermitted, Pipe, ReadOnly, InvalidSeek, TextFileBusy,
        CrossDevice,
    }
}
enum_conversions! {
    err_to_wit: ErrorCode => api::ErrorCode;
    {
        Access, WouldBlock, Already, BadDescriptor, Busy, Deadlock, Quota, Exist, FileTooLarge,
        IllegalByteSequence, InProgress, Interrupted, Invalid, Io, IsDirectory, Loop,
        TooManyLinks, MessageSize, NameTooLong, NoDevice, NoEntry, NoLock, InsufficientMemory,
        InsufficientSpace, NotDirectory, NotEmpty, NotRecoverable, Unsupported, NoTty,
        NoSuchDevice, Overflow, NotPermitted, Pipe, ReadOnly, InvalidSeek, TextFileBusy,
        CrossDevice,
    }
}
#[cfg(not(feature = "replay"))]
enum_conversions! {
    type_from_host: host::DescriptorType => DescriptorType;
    {
        Unknown, BlockDevice, CharacterDevice, Directory, Fifo, SymbolicLink, RegularFile,
        Socket,
    }
}
enum_conversions! {
    type_to_wit: DescriptorType => api::DescriptorType;
    {
        Unknown, BlockDevice, CharacterDevice, Directory, Fifo, SymbolicLink, RegularFile,
        Socket,
    }
}
enum_conversions! {
    advice_from_wit: api::Advice => Advice;
    { Normal, Sequential, Random, WillNeed, DontNeed, NoReuse }
}
#[cfg(not(feature = "replay"))]
enum_conversions! {
    advice_to_host: Advice => host::Advice;
    { Normal, Sequential, Random, WillNeed, DontNeed, NoReuse }
}

fn time_from_wit(t: api::NewTimestamp) -> NewTimestamp {
    match t {
        api::NewTimestamp::NoChange => NewTimestamp::NoChange,
        api::NewTimestamp::Now => NewTimestamp::Now,
        api::NewTimestamp::Timestamp(d) => NewTimestamp::Timestamp(Datetime {
            seconds: d.seconds,
            nanoseconds: d.nanoseconds,
        }),
    }
}

#[cfg(not(feature = "replay"))]
fn time_to_host(t: NewTimestamp) -> host::NewTimestamp {
    match t {
        NewTimestamp::NoChange => host::NewTimestamp::NoChange,
        NewTimestamp::Now => host::NewTimestamp::Now,
        NewTimestamp::Timestamp(d) => {
            host::NewTimestamp::Timestamp(crate::wasi::clocks::wall_clock::Datetime {
                seconds: d.seconds,
                nanoseconds: d.nanoseconds,
            })
        }
    }
}

#[cfg(not(feature = "replay"))]
fn stat_from_host(s: host::DescriptorStat) -> Stat {
    let t = |d: Option<crate::wasi::clocks::wall_clock::Datetime>| {
        d.map(|d| Datetime {
            seconds: d.seconds,
            nanoseconds: d.nanoseconds,
        })
    };
    Stat {
        kind: type_from_host(s.type_),
        link_count: s.link_count,
        size: s.size,
        atime: t(s.data_access_timestamp),
        mtime: t(s.data_modification_timestamp),
        ctime: t(s.status_change_timestamp),
    }
}

fn stat_to_wit(s: Stat) -> api::DescriptorStat {
    let t = |d: Option<Datetime>| {
        d.map(|d| ApiDatetime {
            seconds: d.seconds,
            nanoseconds: d.nanoseconds,
        })
    };
    api::DescriptorStat {
        type_: type_to_wit(s.kind),
        link_count: s.link_count,
        size: s.size,
        data_access_timestamp: t(s.atime),
        data_modification_timestamp: t(s.mtime),
        status_change_timestamp: t(s.ctime),
    }
}

/// What a descriptor wraps: the host's descriptor when recording, nothing when replaying.
#[cfg(not(feature = "replay"))]
pub type HostDescriptor = host::Descriptor;
/// What a descriptor wraps: the host's descriptor when recording, nothing when replaying.
#[cfg(feature = "replay")]
pub type HostDescriptor = ();

/// What a directory-entry stream wraps (see [`HostDescriptor`]).
#[cfg(not(feature = "replay"))]
pub type HostDirStream = host::DirectoryEntryStream;
/// What a directory-entry stream wraps (see [`HostDescriptor`]).
#[cfg(feature = "replay")]
pub type HostDirStream = ();

/// The exported `descriptor` resource.
pub struct Descriptor {
    fd: Fd,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: HostDescriptor,
}

/// The exported `directory-entry-stream` resource.
pub struct DirectoryEntryStream {
    dir: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: HostDirStream,
}

/// Recording: numbers for new descriptors and directory streams, and the host resources created
/// by the call being logged (kept in `crate::stash`), waiting for the number the trace gives them
/// to be turned into the interposer's own.
#[cfg(not(feature = "replay"))]
mod created {
    use super::host;
    use crate::stash;
    use crate::wasi::io::streams as host_io;
    use std::cell::Cell;
    use std::rc::Rc;

    thread_local! {
        static NEXT_FD: Cell<u32> = const { Cell::new(wasm_rr_trace::fs::FIRST_FD) };
        static NEXT_DIR: Cell<u32> = const { Cell::new(0) };
    }

    fn next(counter: &'static std::thread::LocalKey<Cell<u32>>) -> u32 {
        counter.with(|n| {
            let v = n.get();
            n.set(v + 1);
            v
        })
    }

    pub fn fd() -> u32 {
        next(&NEXT_FD)
    }

    pub fn put_descriptor(d: host::Descriptor) -> u32 {
        stash::put(d);
        fd()
    }

    pub fn descriptor() -> host::Descriptor {
        stash::take()
    }

    pub fn put_dir(d: host::DirectoryEntryStream) -> u32 {
        stash::put(d);
        next(&NEXT_DIR)
    }

    pub fn dir() -> host::DirectoryEntryStream {
        stash::take()
    }

    pub fn put_input(s: host_io::InputStream) -> wasm_rr_trace::StreamId {
        stash::put(Rc::new(s));
        crate::io::streams::next_stream_id()
    }

    pub fn input() -> Rc<host_io::InputStream> {
        stash::take()
    }

    pub fn put_output(s: host_io::OutputStream) -> wasm_rr_trace::StreamId {
        stash::put(Rc::new(s));
        crate::io::streams::next_stream_id()
    }

    pub fn output() -> Rc<host_io::OutputStream> {
        stash::take()
    }
}

/// Replaying: nothing is created on the host.
#[cfg(feature = "replay")]
mod created {
    pub fn descriptor() {}
    pub fn dir() {}
    pub fn input() {}
    pub fn output() -> Option<std::rc::Rc<crate::wasi::io::streams::OutputStream>> {
        None
    }
}

/// Logs (recording) or replays one event and returns it.
#[cfg(not(feature = "replay"))]
fn logged(event: Event) -> FsEvent {
    crate::rr::log(&event);
    match event {
        Event::Fs(e) => e,
        other => crate::rr::bad_event(other),
    }
}

/// The recorded event that answers `call`.
#[cfg(feature = "replay")]
fn replayed(call: FsCallOf) -> FsEvent {
    match crate::rr::next(Call::Fs(call)) {
        Event::Fs(e) => e,
        other => crate::rr::bad_event(other),
    }
}

/// One descriptor method: `$live` (recording only) calls the host with the host descriptor
/// `$h` and gives `Result<FsAnswer, ErrorCode>`.
macro_rules! fs_call {
    ($d:expr, $call:expr, |$h:ident| $live:expr) => {{
        let fd = $d.fd;
        let call = $call;
        #[cfg(not(feature = "replay"))]
        let event = {
            let $h = &$d.host;
            let result: Result<FsAnswer, ErrorCode> = $live;
            logged(Event::Fs(FsEvent::Descriptor { fd, call, result }))
        };
        #[cfg(feature = "replay")]
        let event = replayed(FsCallOf::Descriptor { fd, call });
        match event {
            FsEvent::Descriptor { result, .. } => result.map_err(err_to_wit),
            other => crate::rr::bad_event(Event::Fs(other)),
        }
    }};
}

/// The recorded answer has another shape than the call's (a damaged trace).
fn wrong(answer: FsAnswer) -> ! {
    crate::rr::fatal(&format!(
        "the trace answers a filesystem call with `{answer}`, which does not fit it: the trace is damaged"
    ))
}

fn done(r: Result<FsAnswer, api::ErrorCode>) -> Result<(), api::ErrorCode> {
    match r? {
        FsAnswer::Done => Ok(()),
        other => wrong(other),
    }
}

impl api::Guest for Interposer {
    type Descriptor = Descriptor;
    type DirectoryEntryStream = DirectoryEntryStream;

    fn filesystem_error_code(err: api::ErrorBorrow<'_>) -> Option<api::ErrorCode> {
        #[cfg(not(feature = "replay"))]
        let event = {
            let host_err = err.get::<crate::io::error::Error>().host();
            let code = host_err
                .and_then(host::filesystem_error_code)
                .map(err_from_host);
            logged(Event::Fs(FsEvent::ErrorCode(code)))
        };
        #[cfg(feature = "replay")]
        let event = {
            let _ = err;
            replayed(FsCallOf::ErrorCode)
        };
        match event {
            FsEvent::ErrorCode(code) => code.map(err_to_wit),
            other => crate::rr::bad_event(Event::Fs(other)),
        }
    }
}

impl preopens::Guest for Interposer {
    fn get_directories() -> Vec<(api::Descriptor, String)> {
        #[cfg(not(feature = "replay"))]
        let (event, mut hosts) = {
            let mut hosts = Vec::new();
            let mut listed = Vec::new();
            for (d, path) in host_preopens::get_directories() {
                if path == TRACE_DIR {
                    continue;
                }
                listed.push((created::fd(), path));
                hosts.push(d);
            }
            (
                logged(Event::Fs(FsEvent::GetDirectories(listed))),
                hosts.into_iter(),
            )
        };
        #[cfg(feature = "replay")]
        let event = replayed(FsCallOf::GetDirectories);
        match event {
            FsEvent::GetDirectories(dirs) => dirs
                .into_iter()
                .map(|(fd, path)| {
                    #[cfg(not(feature = "replay"))]
                    let host = hosts.next().expect("one host descriptor per preopen");
                    #[cfg(feature = "replay")]
                    let host = ();
                    (api::Descriptor::new(Descriptor { fd, host }), path)
                })
                .collect(),
            other => crate::rr::bad_event(Event::Fs(other)),
        }
    }
}

/// The path flags' bits.
fn pf(p: api::PathFlags) -> u8 {
    p.bits()
}

#[cfg(not(feature = "replay"))]
fn pf_host(bits: u8) -> host::PathFlags {
    host::PathFlags::from_bits_retain(bits)
}

impl api::GuestDescriptor for Descriptor {
    fn read_via_stream(&self, offset: u64) -> Result<api::InputStream, api::ErrorCode> {
        match fs_call!(self, FsCall::ReadViaStream { offset }, |h| h
            .read_via_stream(offset)
            .map(|s| FsAnswer::Stream(created::put_input(s)))
            .map_err(err_from_host))?
        {
            FsAnswer::Stream(id) => Ok(new_input(id, created::input())),
            other => wrong(other),
        }
    }

    fn write_via_stream(&self, offset: u64) -> Result<api::OutputStream, api::ErrorCode> {
        match fs_call!(self, FsCall::WriteViaStream { offset }, |h| h
            .write_via_stream(offset)
            .map(|s| FsAnswer::Stream(created::put_output(s)))
            .map_err(err_from_host))?
        {
            FsAnswer::Stream(id) => Ok(new_output(id, created::output())),
            other => wrong(other),
        }
    }

    fn append_via_stream(&self) -> Result<api::OutputStream, api::ErrorCode> {
        match fs_call!(self, FsCall::AppendViaStream, |h| h
            .append_via_stream()
            .map(|s| FsAnswer::Stream(created::put_output(s)))
            .map_err(err_from_host))?
        {
            FsAnswer::Stream(id) => Ok(new_output(id, created::output())),
            other => wrong(other),
        }
    }

    fn advise(&self, offset: u64, length: u64, advice: api::Advice) -> Result<(), api::ErrorCode> {
        let advice = advice_from_wit(advice);
        done(fs_call!(
            self,
            FsCall::Advise {
                offset,
                len: length,
                advice
            },
            |h| h
                .advise(offset, length, advice_to_host(advice))
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn sync_data(&self) -> Result<(), api::ErrorCode> {
        done(fs_call!(self, FsCall::SyncData, |h| h
            .sync_data()
            .map(|()| FsAnswer::Done)
            .map_err(err_from_host)))
    }

    fn get_flags(&self) -> Result<api::DescriptorFlags, api::ErrorCode> {
        match fs_call!(self, FsCall::GetFlags, |h| h
            .get_flags()
            .map(|f| FsAnswer::Flags(f.bits()))
            .map_err(err_from_host))?
        {
            FsAnswer::Flags(bits) => Ok(api::DescriptorFlags::from_bits_retain(bits)),
            other => wrong(other),
        }
    }

    fn get_type(&self) -> Result<api::DescriptorType, api::ErrorCode> {
        match fs_call!(self, FsCall::GetType, |h| h
            .get_type()
            .map(|t| FsAnswer::Type(type_from_host(t)))
            .map_err(err_from_host))?
        {
            FsAnswer::Type(t) => Ok(type_to_wit(t)),
            other => wrong(other),
        }
    }

    fn set_size(&self, size: u64) -> Result<(), api::ErrorCode> {
        done(fs_call!(self, FsCall::SetSize { size }, |h| h
            .set_size(size)
            .map(|()| FsAnswer::Done)
            .map_err(err_from_host)))
    }

    fn set_times(
        &self,
        atime: api::NewTimestamp,
        mtime: api::NewTimestamp,
    ) -> Result<(), api::ErrorCode> {
        let (atime, mtime) = (time_from_wit(atime), time_from_wit(mtime));
        done(fs_call!(self, FsCall::SetTimes { atime, mtime }, |h| h
            .set_times(time_to_host(atime), time_to_host(mtime))
            .map(|()| FsAnswer::Done)
            .map_err(err_from_host)))
    }

    fn read(&self, length: u64, offset: u64) -> Result<(Vec<u8>, bool), api::ErrorCode> {
        match fs_call!(
            self,
            FsCall::Read {
                len: length,
                offset
            },
            |h| h
                .read(length, offset)
                .map(|(data, end)| FsAnswer::Data(Bytes(data), end))
                .map_err(err_from_host)
        )? {
            FsAnswer::Data(data, end) => Ok((data.0, end)),
            other => wrong(other),
        }
    }

    fn write(&self, buffer: Vec<u8>, offset: u64) -> Result<u64, api::ErrorCode> {
        let call = FsCall::Write {
            len: buffer.len() as u64,
            hash: wasm_rr_trace::output_hash(&buffer),
            offset,
        };
        match fs_call!(self, call, |h| h
            .write(&buffer, offset)
            .map(FsAnswer::Size)
            .map_err(err_from_host))?
        {
            FsAnswer::Size(n) => Ok(n),
            other => wrong(other),
        }
    }

    fn read_directory(&self) -> Result<api::DirectoryEntryStream, api::ErrorCode> {
        match fs_call!(self, FsCall::ReadDirectory, |h| h
            .read_directory()
            .map(|d| FsAnswer::Dir(created::put_dir(d)))
            .map_err(err_from_host))?
        {
            FsAnswer::Dir(dir) => Ok(api::DirectoryEntryStream::new(DirectoryEntryStream {
                dir,
                host: created::dir(),
            })),
            other => wrong(other),
        }
    }

    fn sync(&self) -> Result<(), api::ErrorCode> {
        done(fs_call!(self, FsCall::Sync, |h| h
            .sync()
            .map(|()| FsAnswer::Done)
            .map_err(err_from_host)))
    }

    fn create_directory_at(&self, path: String) -> Result<(), api::ErrorCode> {
        done(fs_call!(
            self,
            FsCall::CreateDirectoryAt { path: path.clone() },
            |h| h
                .create_directory_at(&path)
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn stat(&self) -> Result<api::DescriptorStat, api::ErrorCode> {
        match fs_call!(self, FsCall::Stat, |h| h
            .stat()
            .map(|s| FsAnswer::Stat(stat_from_host(s)))
            .map_err(err_from_host))?
        {
            FsAnswer::Stat(s) => Ok(stat_to_wit(s)),
            other => wrong(other),
        }
    }

    fn stat_at(
        &self,
        path_flags: api::PathFlags,
        path: String,
    ) -> Result<api::DescriptorStat, api::ErrorCode> {
        let path_flags = pf(path_flags);
        match fs_call!(
            self,
            FsCall::StatAt {
                path_flags,
                path: path.clone()
            },
            |h| h
                .stat_at(pf_host(path_flags), &path)
                .map(|s| FsAnswer::Stat(stat_from_host(s)))
                .map_err(err_from_host)
        )? {
            FsAnswer::Stat(s) => Ok(stat_to_wit(s)),
            other => wrong(other),
        }
    }

    fn set_times_at(
        &self,
        path_flags: api::PathFlags,
        path: String,
        atime: api::NewTimestamp,
        mtime: api::NewTimestamp,
    ) -> Result<(), api::ErrorCode> {
        let path_flags = pf(path_flags);
        let (atime, mtime) = (time_from_wit(atime), time_from_wit(mtime));
        done(fs_call!(
            self,
            FsCall::SetTimesAt {
                path_flags,
                path: path.clone(),
                atime,
                mtime
            },
            |h| h
                .set_times_at(
                    pf_host(path_flags),
                    &path,
                    time_to_host(atime),
                    time_to_host(mtime)
                )
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn link_at(
        &self,
        old_path_flags: api::PathFlags,
        old_path: String,
        new_descriptor: api::DescriptorBorrow<'_>,
        new_path: String,
    ) -> Result<(), api::ErrorCode> {
        let new = new_descriptor.get::<Descriptor>();
        let old_path_flags = pf(old_path_flags);
        done(fs_call!(
            self,
            FsCall::LinkAt {
                old_path_flags,
                old_path: old_path.clone(),
                new_fd: new.fd,
                new_path: new_path.clone()
            },
            |h| h
                .link_at(pf_host(old_path_flags), &old_path, &new.host, &new_path)
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn open_at(
        &self,
        path_flags: api::PathFlags,
        path: String,
        open_flags: api::OpenFlags,
        flags: api::DescriptorFlags,
    ) -> Result<api::Descriptor, api::ErrorCode> {
        let (path_flags, open_flags, flags) = (pf(path_flags), open_flags.bits(), flags.bits());
        match fs_call!(
            self,
            FsCall::OpenAt {
                path_flags,
                path: path.clone(),
                open_flags,
                flags
            },
            |h| h
                .open_at(
                    pf_host(path_flags),
                    &path,
                    host::OpenFlags::from_bits_retain(open_flags),
                    host::DescriptorFlags::from_bits_retain(flags)
                )
                .map(|d| FsAnswer::Fd(created::put_descriptor(d)))
                .map_err(err_from_host)
        )? {
            FsAnswer::Fd(fd) => Ok(api::Descriptor::new(Descriptor {
                fd,
                host: created::descriptor(),
            })),
            other => wrong(other),
        }
    }

    fn readlink_at(&self, path: String) -> Result<String, api::ErrorCode> {
        match fs_call!(self, FsCall::ReadlinkAt { path: path.clone() }, |h| h
            .readlink_at(&path)
            .map(FsAnswer::Link)
            .map_err(err_from_host))?
        {
            FsAnswer::Link(l) => Ok(l),
            other => wrong(other),
        }
    }

    fn remove_directory_at(&self, path: String) -> Result<(), api::ErrorCode> {
        done(fs_call!(
            self,
            FsCall::RemoveDirectoryAt { path: path.clone() },
            |h| h
                .remove_directory_at(&path)
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn rename_at(
        &self,
        old_path: String,
        new_descriptor: api::DescriptorBorrow<'_>,
        new_path: String,
    ) -> Result<(), api::ErrorCode> {
        let new = new_descriptor.get::<Descriptor>();
        done(fs_call!(
            self,
            FsCall::RenameAt {
                old_path: old_path.clone(),
                new_fd: new.fd,
                new_path: new_path.clone()
            },
            |h| h
                .rename_at(&old_path, &new.host, &new_path)
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn symlink_at(&self, old_path: String, new_path: String) -> Result<(), api::ErrorCode> {
        done(fs_call!(
            self,
            FsCall::SymlinkAt {
                old_path: old_path.clone(),
                new_path: new_path.clone()
            },
            |h| h
                .symlink_at(&old_path, &new_path)
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn unlink_file_at(&self, path: String) -> Result<(), api::ErrorCode> {
        done(fs_call!(
            self,
            FsCall::UnlinkFileAt { path: path.clone() },
            |h| h
                .unlink_file_at(&path)
                .map(|()| FsAnswer::Done)
                .map_err(err_from_host)
        ))
    }

    fn is_same_object(&self, other: api::DescriptorBorrow<'_>) -> bool {
        let other = other.get::<Descriptor>();
        match fs_call!(self, FsCall::IsSameObject { other: other.fd }, |h| Ok(
            FsAnswer::Bool(h.is_same_object(&other.host))
        )) {
            Ok(FsAnswer::Bool(b)) => b,
            Ok(other) => wrong(other),
            Err(_) => crate::rr::fatal(
                "the trace answers is-same-object with an error: the trace is damaged",
            ),
        }
    }

    fn metadata_hash(&self) -> Result<api::MetadataHashValue, api::ErrorCode> {
        match fs_call!(self, FsCall::MetadataHash, |h| h
            .metadata_hash()
            .map(|v| FsAnswer::Hash(v.lower, v.upper))
            .map_err(err_from_host))?
        {
            FsAnswer::Hash(lower, upper) => Ok(api::MetadataHashValue { lower, upper }),
            other => wrong(other),
        }
    }

    fn metadata_hash_at(
        &self,
        path_flags: api::PathFlags,
        path: String,
    ) -> Result<api::MetadataHashValue, api::ErrorCode> {
        let path_flags = pf(path_flags);
        match fs_call!(
            self,
            FsCall::MetadataHashAt {
                path_flags,
                path: path.clone()
            },
            |h| h
                .metadata_hash_at(pf_host(path_flags), &path)
                .map(|v| FsAnswer::Hash(v.lower, v.upper))
                .map_err(err_from_host)
        )? {
            FsAnswer::Hash(lower, upper) => Ok(api::MetadataHashValue { lower, upper }),
            other => wrong(other),
        }
    }
}

impl api::GuestDirectoryEntryStream for DirectoryEntryStream {
    fn read_directory_entry(&self) -> Result<Option<api::DirectoryEntry>, api::ErrorCode> {
        let dir = self.dir;
        #[cfg(not(feature = "replay"))]
        let event = {
            let result = self
                .host
                .read_directory_entry()
                .map(|e| {
                    e.map(|e| DirEntry {
                        kind: type_from_host(e.type_),
                        name: e.name,
                    })
                })
                .map_err(err_from_host);
            logged(Event::Fs(FsEvent::ReadDirectoryEntry { dir, result }))
        };
        #[cfg(feature = "replay")]
        let event = replayed(FsCallOf::ReadDirectoryEntry { dir });
        match event {
            FsEvent::ReadDirectoryEntry { result, .. } => result
                .map(|e| {
                    e.map(|e| api::DirectoryEntry {
                        type_: type_to_wit(e.kind),
                        name: e.name,
                    })
                })
                .map_err(err_to_wit),
            other => crate::rr::bad_event(Event::Fs(other)),
        }
    }
}
