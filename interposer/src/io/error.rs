//! `wasi:io/error`: the interposer's `error` resource holds the host error's debug string, which
//! the recorder logs and the replayer restores.

use crate::Interposer;
use crate::exports::wasi::io::error as api;

/// The exported `error` resource.
pub struct Error {
    message: String,
}

impl Error {
    /// A new exported `error` whose `to-debug-string` is `message`.
    pub fn new_resource(message: String) -> api::Error {
        api::Error::new(Error { message })
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
