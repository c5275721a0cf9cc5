//! `wasi:filesystem/types` and `wasi:filesystem/preopens`.
//!
//! The interposer's `descriptor` and `directory-entry-stream` resources carry their number in
//! the trace (see `wasm_rr_trace::fs`) and, recording, the host's resource. Every method is one
//! event: recording, the interposer calls the host and records the call with its answer;
//! replaying, it checks the call against the trace and returns the recorded answer, never
//! touching the host's disk. Streams from `read-via-stream`, `write-via-stream` and
//! `append-via-stream` are the interposer's own `wasi:io` streams, numbered like every other
//! stream: their reads are recorded and their writes as length and hash, like stdin and stdout.
//! The trace's own preopen, `/wasm-rr`, is never shown to the guest.

use crate::Interposer;
use crate::exports::wasi::clocks::wall_clock::Datetime as ApiDatetime;
use crate::exports::wasi::filesystem::{preopens, types as api};
use crate::io::streams::{keep_stream, new_input, new_output};
use crate::rr::created::{self, Counter};
use crate::rr::{self, Live};
use crate::wasi::filesystem::{preopens as host_preopens, types as host};
use wasm_rr_trace::fs::{
    self as ev, Advice, DescriptorStat, DescriptorType, DirEntry, ErrorCode, Fd, NewTimestamp,
};
use wasm_rr_trace::protocol::TRACE_DIR;
use wasm_rr_trace::{Bytes, Datetime, Fixed64};

enum_conversion! {
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
enum_conversion! {
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
enum_conversion! {
    type_from_host: host::DescriptorType => DescriptorType;
    {
        Unknown, BlockDevice, CharacterDevice, Directory, Fifo, SymbolicLink, RegularFile,
        Socket,
    }
}
enum_conversion! {
    type_to_wit: DescriptorType => api::DescriptorType;
    {
        Unknown, BlockDevice, CharacterDevice, Directory, Fifo, SymbolicLink, RegularFile,
        Socket,
    }
}
enum_conversion! {
    advice_from_wit: api::Advice => Advice;
    { Normal, Sequential, Random, WillNeed, DontNeed, NoReuse }
}
enum_conversion! {
    advice_to_host: Advice => host::Advice;
    { Normal, Sequential, Random, WillNeed, DontNeed, NoReuse }
}

fn time_from_wit(t: api::NewTimestamp) -> Box<NewTimestamp> {
    Box::new(match t {
        api::NewTimestamp::NoChange => NewTimestamp::NoChange,
        api::NewTimestamp::Now => NewTimestamp::Now,
        api::NewTimestamp::Timestamp(d) => NewTimestamp::Timestamp(Datetime {
            seconds: d.seconds,
            nanoseconds: d.nanoseconds,
        }),
    })
}

fn time_to_host(t: &NewTimestamp) -> host::NewTimestamp {
    match *t {
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

fn stat_from_host(s: host::DescriptorStat) -> Box<DescriptorStat> {
    let t = |d: Option<crate::wasi::clocks::wall_clock::Datetime>| {
        d.map(|d| Datetime {
            seconds: d.seconds,
            nanoseconds: d.nanoseconds,
        })
    };
    Box::new(DescriptorStat {
        kind: type_from_host(s.type_),
        link_count: s.link_count,
        size: s.size,
        atime: t(s.data_access_timestamp),
        mtime: t(s.data_modification_timestamp),
        ctime: t(s.status_change_timestamp),
    })
}

fn stat_to_wit(s: &DescriptorStat) -> api::DescriptorStat {
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

fn hash_to_wit((lower, upper): (Fixed64, Fixed64)) -> api::MetadataHashValue {
    api::MetadataHashValue {
        lower: lower.0,
        upper: upper.0,
    }
}

fn hash_from_host(v: host::MetadataHashValue) -> (Fixed64, Fixed64) {
    (Fixed64(v.lower), Fixed64(v.upper))
}

/// The path flags' bits.
fn pf(p: api::PathFlags) -> u8 {
    p.bits()
}

fn pf_host(bits: u8) -> host::PathFlags {
    host::PathFlags::from_bits_retain(bits)
}

thread_local! {
    /// Numbers for descriptors (recording), from 3 up like POSIX file descriptors.
    static DESCRIPTORS: Counter = const { Counter::new(ev::FIRST_FD) };
    /// Numbers for directory-entry streams (recording).
    static DIRECTORY_STREAMS: Counter = const { Counter::new(0) };
}

/// The exported `descriptor` resource.
pub struct Descriptor {
    fd: Fd,
    host: Live<host::Descriptor>,
}

/// The exported `directory-entry-stream` resource.
pub struct DirectoryEntryStream {
    dir: u32,
    host: Live<host::DirectoryEntryStream>,
}

impl api::Guest for Interposer {
    type Descriptor = Descriptor;
    type DirectoryEntryStream = DirectoryEntryStream;

    fn filesystem_error_code(err: api::ErrorBorrow<'_>) -> Option<api::ErrorCode> {
        rr::call(ev::FilesystemErrorCode {}, || {
            let host_err = err.get::<crate::io::error::Error>().host();
            host_err
                .and_then(host::filesystem_error_code)
                .map(err_from_host)
        })
        .map(err_to_wit)
    }
}

impl preopens::Guest for Interposer {
    fn get_directories() -> Vec<(api::Descriptor, String)> {
        let dirs = rr::call(ev::GetDirectories {}, || {
            host_preopens::get_directories()
                .into_iter()
                .filter(|(_, path)| path != TRACE_DIR)
                .map(|(d, path)| (created::put(d, &DESCRIPTORS), path))
                .collect()
        });
        dirs.into_iter()
            .map(|(fd, path)| {
                let d = Descriptor {
                    fd,
                    host: Live::created(),
                };
                (api::Descriptor::new(d), path)
            })
            .collect()
    }
}

impl Descriptor {
    /// The host's descriptor (recording only).
    fn host(&self) -> &host::Descriptor {
        self.host.get()
    }
}

/// A host `result<_, error-code>` as recorded.
fn host_result<T, U>(
    r: Result<T, host::ErrorCode>,
    f: impl FnOnce(T) -> U,
) -> Result<U, ErrorCode> {
    r.map(f).map_err(err_from_host)
}

impl api::GuestDescriptor for Descriptor {
    fn read_via_stream(&self, offset: u64) -> Result<api::InputStream, api::ErrorCode> {
        let id = rr::call(
            ev::ReadViaStream {
                fd: self.fd,
                offset,
            },
            || host_result(self.host().read_via_stream(offset), keep_stream),
        )
        .map_err(err_to_wit)?;
        Ok(new_input(id, Live::created().into_option()))
    }

    fn write_via_stream(&self, offset: u64) -> Result<api::OutputStream, api::ErrorCode> {
        let id = rr::call(
            ev::WriteViaStream {
                fd: self.fd,
                offset,
            },
            || host_result(self.host().write_via_stream(offset), keep_stream),
        )
        .map_err(err_to_wit)?;
        Ok(new_output(id, Live::created().into_option()))
    }

    fn append_via_stream(&self) -> Result<api::OutputStream, api::ErrorCode> {
        let id = rr::call(ev::AppendViaStream { fd: self.fd }, || {
            host_result(self.host().append_via_stream(), keep_stream)
        })
        .map_err(err_to_wit)?;
        Ok(new_output(id, Live::created().into_option()))
    }

    fn advise(&self, offset: u64, length: u64, advice: api::Advice) -> Result<(), api::ErrorCode> {
        let advice = advice_from_wit(advice);
        let call = ev::Advise {
            fd: self.fd,
            offset,
            len: length,
            advice,
        };
        rr::call(call, || {
            host_result(
                self.host().advise(offset, length, advice_to_host(advice)),
                |()| (),
            )
        })
        .map_err(err_to_wit)
    }

    fn sync_data(&self) -> Result<(), api::ErrorCode> {
        rr::call(ev::SyncData { fd: self.fd }, || {
            host_result(self.host().sync_data(), |()| ())
        })
        .map_err(err_to_wit)
    }

    fn get_flags(&self) -> Result<api::DescriptorFlags, api::ErrorCode> {
        rr::call(ev::GetFlags { fd: self.fd }, || {
            host_result(self.host().get_flags(), |f| f.bits())
        })
        .map(api::DescriptorFlags::from_bits_retain)
        .map_err(err_to_wit)
    }

    fn get_type(&self) -> Result<api::DescriptorType, api::ErrorCode> {
        rr::call(ev::GetType { fd: self.fd }, || {
            host_result(self.host().get_type(), type_from_host)
        })
        .map(type_to_wit)
        .map_err(err_to_wit)
    }

    fn set_size(&self, size: u64) -> Result<(), api::ErrorCode> {
        rr::call(ev::SetSize { fd: self.fd, size }, || {
            host_result(self.host().set_size(size), |()| ())
        })
        .map_err(err_to_wit)
    }

    fn set_times(
        &self,
        atime: api::NewTimestamp,
        mtime: api::NewTimestamp,
    ) -> Result<(), api::ErrorCode> {
        let (atime, mtime) = (time_from_wit(atime), time_from_wit(mtime));
        let times = (time_to_host(&atime), time_to_host(&mtime));
        rr::call(
            ev::SetTimes {
                fd: self.fd,
                atime,
                mtime,
            },
            || host_result(self.host().set_times(times.0, times.1), |()| ()),
        )
        .map_err(err_to_wit)
    }

    fn read(&self, length: u64, offset: u64) -> Result<(Vec<u8>, bool), api::ErrorCode> {
        let call = ev::Read {
            fd: self.fd,
            len: length,
            offset,
        };
        rr::call(call, || {
            host_result(
                self.host().read(rr::read_len(length), offset),
                |(data, end)| (Bytes(data), end),
            )
        })
        .map(|(data, end)| (data.0, end))
        .map_err(err_to_wit)
    }

    fn write(&self, buffer: Vec<u8>, offset: u64) -> Result<u64, api::ErrorCode> {
        let call = ev::Write {
            fd: self.fd,
            len: buffer.len() as u64,
            hash: Fixed64(wasm_rr_trace::output_hash(&buffer)),
            offset,
        };
        rr::call(call, || {
            host_result(self.host().write(&buffer, offset), |n| n)
        })
        .map_err(err_to_wit)
    }

    fn read_directory(&self) -> Result<api::DirectoryEntryStream, api::ErrorCode> {
        let dir = rr::call(ev::ReadDirectory { fd: self.fd }, || {
            host_result(self.host().read_directory(), |d| {
                created::put(d, &DIRECTORY_STREAMS)
            })
        })
        .map_err(err_to_wit)?;
        Ok(api::DirectoryEntryStream::new(DirectoryEntryStream {
            dir,
            host: Live::created(),
        }))
    }

    fn sync(&self) -> Result<(), api::ErrorCode> {
        rr::call(ev::Sync { fd: self.fd }, || {
            host_result(self.host().sync(), |()| ())
        })
        .map_err(err_to_wit)
    }

    fn create_directory_at(&self, path: String) -> Result<(), api::ErrorCode> {
        let call = ev::CreateDirectoryAt {
            fd: self.fd,
            path: path.clone(),
        };
        rr::call(call, || {
            host_result(self.host().create_directory_at(&path), |()| ())
        })
        .map_err(err_to_wit)
    }

    fn stat(&self) -> Result<api::DescriptorStat, api::ErrorCode> {
        rr::call(ev::Stat { fd: self.fd }, || {
            host_result(self.host().stat(), stat_from_host)
        })
        .map(|s| stat_to_wit(&s))
        .map_err(err_to_wit)
    }

    fn stat_at(
        &self,
        path_flags: api::PathFlags,
        path: String,
    ) -> Result<api::DescriptorStat, api::ErrorCode> {
        let path_flags = pf(path_flags);
        let call = ev::StatAt {
            fd: self.fd,
            path_flags,
            path: path.clone(),
        };
        rr::call(call, || {
            host_result(
                self.host().stat_at(pf_host(path_flags), &path),
                stat_from_host,
            )
        })
        .map(|s| stat_to_wit(&s))
        .map_err(err_to_wit)
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
        let times = (time_to_host(&atime), time_to_host(&mtime));
        let call = ev::SetTimesAt {
            fd: self.fd,
            path_flags,
            path: path.clone(),
            atime,
            mtime,
        };
        rr::call(call, || {
            let r = self
                .host()
                .set_times_at(pf_host(path_flags), &path, times.0, times.1);
            host_result(r, |()| ())
        })
        .map_err(err_to_wit)
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
        let call = ev::LinkAt {
            fd: self.fd,
            old_path_flags,
            old_path: old_path.clone(),
            new_fd: new.fd,
            new_path: new_path.clone(),
        };
        rr::call(call, || {
            let r = self
                .host()
                .link_at(pf_host(old_path_flags), &old_path, new.host(), &new_path);
            host_result(r, |()| ())
        })
        .map_err(err_to_wit)
    }

    fn open_at(
        &self,
        path_flags: api::PathFlags,
        path: String,
        open_flags: api::OpenFlags,
        flags: api::DescriptorFlags,
    ) -> Result<api::Descriptor, api::ErrorCode> {
        let (path_flags, open_flags, flags) = (pf(path_flags), open_flags.bits(), flags.bits());
        let call = ev::OpenAt {
            fd: self.fd,
            path_flags,
            path: path.clone(),
            open_flags,
            flags,
        };
        let fd = rr::call(call, || {
            let r = self.host().open_at(
                pf_host(path_flags),
                &path,
                host::OpenFlags::from_bits_retain(open_flags),
                host::DescriptorFlags::from_bits_retain(flags),
            );
            host_result(r, |d| created::put(d, &DESCRIPTORS))
        })
        .map_err(err_to_wit)?;
        Ok(api::Descriptor::new(Descriptor {
            fd,
            host: Live::created(),
        }))
    }

    fn readlink_at(&self, path: String) -> Result<String, api::ErrorCode> {
        let call = ev::ReadlinkAt {
            fd: self.fd,
            path: path.clone(),
        };
        rr::call(call, || host_result(self.host().readlink_at(&path), |l| l)).map_err(err_to_wit)
    }

    fn remove_directory_at(&self, path: String) -> Result<(), api::ErrorCode> {
        let call = ev::RemoveDirectoryAt {
            fd: self.fd,
            path: path.clone(),
        };
        rr::call(call, || {
            host_result(self.host().remove_directory_at(&path), |()| ())
        })
        .map_err(err_to_wit)
    }

    fn rename_at(
        &self,
        old_path: String,
        new_descriptor: api::DescriptorBorrow<'_>,
        new_path: String,
    ) -> Result<(), api::ErrorCode> {
        let new = new_descriptor.get::<Descriptor>();
        let call = ev::RenameAt {
            fd: self.fd,
            old_path: old_path.clone(),
            new_fd: new.fd,
            new_path: new_path.clone(),
        };
        rr::call(call, || {
            host_result(
                self.host().rename_at(&old_path, new.host(), &new_path),
                |()| (),
            )
        })
        .map_err(err_to_wit)
    }

    fn symlink_at(&self, old_path: String, new_path: String) -> Result<(), api::ErrorCode> {
        let call = ev::SymlinkAt {
            fd: self.fd,
            old_path: old_path.clone(),
            new_path: new_path.clone(),
        };
        rr::call(call, || {
            host_result(self.host().symlink_at(&old_path, &new_path), |()| ())
        })
        .map_err(err_to_wit)
    }

    fn unlink_file_at(&self, path: String) -> Result<(), api::ErrorCode> {
        let call = ev::UnlinkFileAt {
            fd: self.fd,
            path: path.clone(),
        };
        rr::call(call, || {
            host_result(self.host().unlink_file_at(&path), |()| ())
        })
        .map_err(err_to_wit)
    }

    fn is_same_object(&self, other: api::DescriptorBorrow<'_>) -> bool {
        let other = other.get::<Descriptor>();
        let call = ev::IsSameObject {
            fd: self.fd,
            other: other.fd,
        };
        rr::call(call, || self.host().is_same_object(other.host()))
    }

    fn metadata_hash(&self) -> Result<api::MetadataHashValue, api::ErrorCode> {
        rr::call(ev::MetadataHash { fd: self.fd }, || {
            host_result(self.host().metadata_hash(), hash_from_host)
        })
        .map(hash_to_wit)
        .map_err(err_to_wit)
    }

    fn metadata_hash_at(
        &self,
        path_flags: api::PathFlags,
        path: String,
    ) -> Result<api::MetadataHashValue, api::ErrorCode> {
        let path_flags = pf(path_flags);
        let call = ev::MetadataHashAt {
            fd: self.fd,
            path_flags,
            path: path.clone(),
        };
        rr::call(call, || {
            host_result(
                self.host().metadata_hash_at(pf_host(path_flags), &path),
                hash_from_host,
            )
        })
        .map(hash_to_wit)
        .map_err(err_to_wit)
    }
}

impl api::GuestDirectoryEntryStream for DirectoryEntryStream {
    fn read_directory_entry(&self) -> Result<Option<api::DirectoryEntry>, api::ErrorCode> {
        rr::call(ev::ReadDirectoryEntry { dir: self.dir }, || {
            host_result(self.host.get().read_directory_entry(), |e| {
                e.map(|e| DirEntry {
                    kind: type_from_host(e.type_),
                    name: e.name,
                })
            })
        })
        .map(|e| {
            e.map(|e| api::DirectoryEntry {
                type_: type_to_wit(e.kind),
                name: e.name,
            })
        })
        .map_err(err_to_wit)
    }
}
