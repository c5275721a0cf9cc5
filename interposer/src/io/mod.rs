//! `wasi:io/error`, `wasi:io/poll` and `wasi:io/streams`.

pub mod error;
pub mod poll;
pub mod streams;
