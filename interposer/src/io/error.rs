//! `wasi:io/error`: the interposer's `error` resource holds the host error's debug string, which
//! the trace holds and replay restores. Recording, it also keeps the host's error, so that
//! `wasi:filesystem/types.filesystem-error-code` and `wasi:http/types.http-error-code` can ask
//! the host about it.

use crate::Interposer;
use crate::exports::wasi::io::error as api;
use crate::wasi::io::error as host;
use std::cell::RefCell;

thread_local! {
    /// The host error of the stream error being converted (see [`stash`]).
    static STASHED: RefCell<Option<host::Error>> = const { RefCell::new(None) };
}

/// Recording: keeps `host` for the next [`Error::new_resource`].
pub fn stash(host: host::Error) {
    STASHED.with_borrow_mut(|s| *s = Some(host));
}

/// The exported `error` resource.
pub struct Error {
    message: String,
    /// The host's error (recording).
    host: Option<host::Error>,
}

impl Error {
    /// A new exported `error` whose `to-debug-string` is `message`, wrapping the host error
    /// [`stash`]ed last, if any (recording).
    pub fn new_resource(message: String) -> api::Error {
        let host = STASHED.with_borrow_mut(Option::take);
        api::Error::new(Error { message, host })
    }

    /// The host's error (recording).
    pub fn host(&self) -> Option<&host::Error> {
        self.host.as_ref()
    }
}

impl api::Guest for Interposer {
    type Error = Error;
}

impl api::GuestError for Error {
    fn to_debug_string(&self) -> String {
        self.message.clone()
    }
}
