//! What a trace may hold: the limits a reader checks before it allocates memory for what a
//! trace declares, so that a crafted or damaged trace from someone else is refused in one line
//! instead of exhausting memory.
//!
//! A reader holds the header and one block at a time (stored and decompressed), so reading a
//! binary trace of any size takes at most about [`MAX_HEADER_BYTES`] + 2 × [`MAX_BLOCK_BYTES`]
//! of memory, whatever its blocks declare. The recorder never writes anything larger: it
//! writes a block every [`RECORDER_BLOCK_BYTES`] or so, and asks
//! the host for at most [`MAX_READ_BYTES`] per read, so that no one event outgrows a block.

/// The largest header a reader accepts (bytes of its CBOR form): 16 MiB.
pub const MAX_HEADER_BYTES: u64 = 16 * 1024 * 1024;

/// The largest block a reader accepts (bytes, both as stored and decompressed): 64 MiB.
pub const MAX_BLOCK_BYTES: u64 = 64 * 1024 * 1024;

/// The most bytes the recorder asks the host for in one read (`input-stream.read`,
/// `descriptor.read`, `blocking-read`): 16 MiB. WASI lets a read return fewer bytes than asked
/// for, so a guest sees a short read, the same when recording and replaying.
pub const MAX_READ_BYTES: u64 = 16 * 1024 * 1024;

/// About how many bytes of events the recorder buffers before it writes a block (bytes).
pub const RECORDER_BLOCK_BYTES: usize = 64 * 1024;

/// A size in bytes for people: `64 MiB`, `512 KiB`, `100 bytes`.
pub fn describe_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

// What the recorder writes in one event fits a block, with room to spare.
const _: () = assert!(MAX_READ_BYTES * 2 < MAX_BLOCK_BYTES);
const _: () = assert!((RECORDER_BLOCK_BYTES as u64) < MAX_READ_BYTES);
