//! `wasi:io/error`: the interposer's `error` resource holds the host error's debug string, which
//! the recorder logs and the replayer restores. The recorder also keeps the host's error, so
//! that `wasi:filesystem/types.filesystem-error-code` can ask the host about it.

use crate::Interposer;
use crate::exports::wasi::io::error as api;
#[cfg(not(feature = "replay"))]
use std::cell::RefCell;

/// What an error wraps besides its message: the host's error when recording.
#[cfg(not(feature = "replay"))]
pub type HostError = Option<crate::wasi::io::error::Error>;
/// What an error wraps besides its message: nothing when replaying.
#[cfg(feature = "replay")]
pub type HostError = ();

#[cfg(not(feature = "replay"))]
thread_local! {
    /// The host error of the stream error being converted (see [`stash`]).
    static STASHED: RefCell<HostError> = const { RefCell::new(None) };
}

/// Recording: keeps `host` for the next [`Error::new_resource`].
#[cfg(not(feature = "replay"))]
pub fn stash(host: crate::wasi::io::error::Error) {
    STASHED.with_borrow_mut(|s| *s = Some(host));
}

/// The exported `error` resource.
pub struct Error {
    message: String,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: HostError,
}

impl Error {
    /// A new exported `error` whose `to-debug-string` is `message` (recording: wrapping the
    /// host error [`stash`]ed last, if any).
    pub fn new_resource(message: String) -> api::Error {
        #[cfg(not(feature = "replay"))]
        let host = STASHED.with_borrow_mut(Option::take);
        #[cfg(feature = "replay")]
        let host = ();
        api::Error::new(Error { message, host })
    }

    /// The host's error (recording).
    #[cfg(not(feature = "replay"))]
    pub fn host(&self) -> Option<&crate::wasi::io::error::Error> {
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
