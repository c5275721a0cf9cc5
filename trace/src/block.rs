//! Blocks: how events are framed in a trace file.
//!
//! After the header, a trace is a sequence of blocks, each a postcard-encoded [`BlockHead`] (its
//! codec, how many events it holds, the length and CRC32C of its stored bytes), the CRC32C of
//! that head (4 bytes, little-endian), then the stored bytes (the column of random numbers, then
//! the events' binary form, see `codec.rs`; either as they are or as one zstd frame). The head
//! has its own checksum so that a damaged length is reported as corruption, not mistaken for a
//! recording cut off mid-write. The recorder
//! writes one block per flush, so a recording cut off mid-write loses at most its last block,
//! and a flipped bit anywhere is reported as corruption at its block, never replayed as a
//! different value.

use crate::codec::{Decoder, Encoder};
use crate::limits::{MAX_BLOCK_BYTES, MAX_HEADER_BYTES, describe_bytes};
use crate::{Event, Header, TraceError};

/// The event decoder for a trace's format version.
enum Decoders {
    /// Formats [`crate::FIRST_CURRENT_EVENTS`] to [`crate::FORMAT_VERSION`].
    Current(Decoder),
    /// Format 2 (wasm-rr 0.2), its events upgraded as they are read.
    #[cfg(feature = "format2")]
    Format2(crate::v2::Decoder),
}

impl Decoders {
    /// The decoder for `format`, if this build reads it.
    fn of(format: u32) -> Option<Decoders> {
        match format {
            crate::FIRST_CURRENT_EVENTS..=crate::FORMAT_VERSION => {
                Some(Decoders::Current(Decoder::new()))
            }
            #[cfg(feature = "format2")]
            2 => Some(Decoders::Format2(crate::v2::Decoder::default())),
            _ => None,
        }
    }

    fn decode<'a>(
        &mut self,
        input: &'a [u8],
        column: &mut &[u8],
    ) -> Result<(Event, &'a [u8]), String> {
        match self {
            Decoders::Current(d) => d.decode(input, column),
            #[cfg(feature = "format2")]
            Decoders::Format2(d) => d.decode(input, column),
        }
    }
}
use serde::{Deserialize, Serialize};

/// How a block's bytes are stored.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// The events' binary form as it is.
    Raw,
    /// One zstd frame of the events' binary form.
    Zstd,
}

/// A block's head, as framed in the file (followed by its own CRC32C and the stored bytes).
#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
pub struct BlockHead {
    /// How the data is stored.
    pub codec: Codec,
    /// Number of events in the block.
    pub events: u32,
    /// Length of the stored bytes.
    pub len: u32,
    /// CRC32C (Castagnoli) of the stored bytes.
    pub data_crc32c: u32,
}

/// Appends one framed block to `out`: the head, the head's CRC32C, the data.
pub fn write_block(codec: Codec, events: u32, data: &[u8], out: &mut Vec<u8>) {
    let head = BlockHead {
        codec,
        events,
        len: u32::try_from(data.len()).expect("a block holds less than 4 GiB"),
        data_crc32c: crc32c::crc32c(data),
    };
    let start = out.len();
    let framed = postcard::to_extend(&head, std::mem::take(out));
    *out = framed.expect("serialising a block head into memory");
    let head_crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&head_crc.to_le_bytes());
    out.extend_from_slice(data);
}

/// Compresses a block's bytes (for instance with zstd); `None` keeps them raw.
pub type Compressor = fn(&[u8]) -> Option<Vec<u8>>;

/// Blocks smaller than this are never compressed (bytes).
pub const MIN_COMPRESS: usize = 256;

/// Encodes events and frames them into blocks.
pub struct BlockWriter {
    encoder: Encoder,
    buf: Vec<u8>,
    column: Vec<u8>,
    events: u32,
    compress: Option<Compressor>,
}

impl BlockWriter {
    /// A writer at the start of a trace; `compress` compresses each block's bytes.
    pub fn new(compress: Option<Compressor>) -> BlockWriter {
        BlockWriter {
            encoder: Encoder::new(),
            buf: Vec::new(),
            column: Vec::new(),
            events: 0,
            compress,
        }
    }

    /// Adds an event to the current block.
    #[inline]
    pub fn push(&mut self, event: &Event) {
        self.encoder.encode(event, &mut self.buf, &mut self.column);
        self.events += 1;
    }

    /// Adds the event of `call` answered by `answer` to the current block, without making the
    /// event: what the recorder does for every call.
    #[inline]
    pub fn push_parts<C: crate::Request>(&mut self, call: &C, answer: &C::Answer) {
        self.encoder
            .encode_parts(call, answer, &mut self.buf, &mut self.column);
        self.events += 1;
    }

    /// Bytes of events in the current block, before compression.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.column.len()
    }

    /// Appends the current block to `out` (nothing when it holds no event) and starts a new one.
    pub fn finish_block(&mut self, out: &mut Vec<u8>) {
        if self.events == 0 {
            return;
        }
        // The stored bytes: the column (postcard: its length, then the bytes), then the events.
        let column = std::mem::take(&mut self.column);
        let mut plain = postcard::to_extend(
            &column[..],
            Vec::with_capacity(8 + column.len() + self.buf.len()),
        )
        .expect("serialising into memory");
        plain.extend_from_slice(&self.buf);
        self.column = column;
        self.column.clear();
        let compressed = match self.compress {
            Some(c) if plain.len() >= MIN_COMPRESS => c(&plain).filter(|z| z.len() < plain.len()),
            _ => None,
        };
        let (codec, data) = match &compressed {
            Some(z) => (Codec::Zstd, &z[..]),
            None => (Codec::Raw, &plain[..]),
        };
        write_block(codec, self.events, data, out);
        self.buf.clear();
        self.events = 0;
    }
}

/// Writes a whole trace to `out` one event at a time: the header, then blocks of about
/// [`crate::BLOCK_BYTES`] of events (how `convert`, `wrap --replay` and upgrades write).
pub struct TraceWriter<W: std::io::Write> {
    out: W,
    blocks: BlockWriter,
    buf: Vec<u8>,
    events: u64,
    /// About how many bytes of events a block holds.
    block_bytes: usize,
}

impl<W: std::io::Write> TraceWriter<W> {
    /// Writes `header` (saying it heads a trace of the current format) to `out`; each block
    /// is compressed by `compress` when given.
    ///
    /// Errors: `out`'s.
    pub fn new(
        header: &Header,
        compress: Option<Compressor>,
        mut out: W,
    ) -> std::io::Result<TraceWriter<W>> {
        let mut buf = Vec::new();
        crate::encode_header(&header.current(), &mut buf);
        out.write_all(&buf)?;
        buf.clear();
        Ok(TraceWriter {
            out,
            blocks: BlockWriter::new(compress),
            buf,
            events: 0,
            block_bytes: crate::BLOCK_BYTES,
        })
    }

    /// This writer, writing blocks of about `bytes` of events instead of
    /// [`crate::BLOCK_BYTES`] (smaller blocks: less memory to read them, a little less
    /// compression).
    pub fn with_block_bytes(mut self, bytes: usize) -> TraceWriter<W> {
        self.block_bytes = bytes.clamp(1, crate::BLOCK_BYTES);
        self
    }

    /// Adds the next event; writes a block out once enough are buffered.
    ///
    /// Errors: `out`'s.
    pub fn push(&mut self, event: &Event) -> std::io::Result<()> {
        self.blocks.push(event);
        self.events += 1;
        if self.blocks.buffered() >= self.block_bytes {
            self.blocks.finish_block(&mut self.buf);
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes the last block out; returns `out` and the number of events written.
    ///
    /// Errors: `out`'s.
    pub fn finish(mut self) -> std::io::Result<(W, u64)> {
        self.blocks.finish_block(&mut self.buf);
        self.out.write_all(&self.buf)?;
        Ok((self.out, self.events))
    }
}

/// Where a [`Reader`] gets a trace's bytes from: a slice, or (in a self-replaying component) a
/// blob read piece by piece.
pub trait Source {
    /// Total size in bytes.
    fn size(&self) -> u64;
    /// Appends the bytes at `offset..offset + len` (clamped to the size) to `out`.
    fn read(&mut self, offset: u64, len: u64, out: &mut Vec<u8>);
}

impl Source for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read(&mut self, offset: u64, len: u64, out: &mut Vec<u8>) {
        let start = (offset as usize).min(self.len());
        let end = (offset.saturating_add(len) as usize).min(self.len());
        out.extend_from_slice(&self[start..end]);
    }
}

/// How many bytes a reader fetches from its source at least (bytes).
const FETCH: u64 = 256 * 1024;

/// Reads a trace's header, then its events one at a time, block by block, holding one block
/// in memory.
pub struct Reader<S: Source> {
    src: S,
    size: u64,
    /// Source bytes from `window_start` on.
    window: Vec<u8>,
    window_start: u64,
    /// Source offset of the next block.
    pos: u64,
    /// The current block's bytes (decompressed), where its column of random numbers is, and
    /// where the next event starts.
    block: Vec<u8>,
    column: (usize, usize),
    cursor: usize,
    left: u32,
    blocks: u64,
    /// Blocks stored as zstd frames, of `blocks`.
    zstd_blocks: u64,
    block_index: u64,
    block_offset: u64,
    decoder: Decoders,
    index: u64,
    torn: u64,
}

impl<S: Source> Reader<S> {
    /// Reads the header from `src` and returns it with a reader for the events.
    ///
    /// Errors: [`TraceError::Empty`], [`TraceError::BadHeader`],
    /// [`TraceError::UnsupportedVersion`].
    pub fn new(src: S) -> Result<(Header, Reader<S>), TraceError> {
        let size = src.size();
        if size == 0 {
            return Err(TraceError::Empty);
        }
        let mut r = Reader {
            src,
            size,
            window: Vec::new(),
            window_start: 0,
            pos: 0,
            block: Vec::new(),
            column: (0, 0),
            cursor: 0,
            left: 0,
            blocks: 0,
            zstd_blocks: 0,
            block_index: 0,
            block_offset: 0,
            decoder: Decoders::Current(Decoder::new()),
            index: 0,
            torn: 0,
        };
        let header = loop {
            let mut cursor = &r.window[..];
            match ciborium::de::from_reader::<Header, _>(&mut cursor) {
                Ok(h) => {
                    r.pos = (r.window.len() - cursor.len()) as u64;
                    crate::generic::register(&h.generic);
                    break h;
                }
                Err(ciborium::de::Error::Io(_)) if r.window.len() as u64 > MAX_HEADER_BYTES => {
                    return Err(TraceError::BadHeader(format!(
                        "it is larger than {}, the most a header may be",
                        describe_bytes(MAX_HEADER_BYTES)
                    )));
                }
                Err(ciborium::de::Error::Io(_)) if r.fetch() => {}
                Err(ciborium::de::Error::Io(_)) => {
                    return Err(TraceError::BadHeader("the header is cut off".into()));
                }
                Err(e) => {
                    // An older header may not decode as this one: say which version it is.
                    let mut cursor = &r.window[..];
                    if let Ok(v) = ciborium::de::from_reader::<VersionOnly, _>(&mut cursor)
                        && Decoders::of(v.format).is_none()
                    {
                        return Err(TraceError::UnsupportedVersion(v.format));
                    }
                    return Err(TraceError::BadHeader(crate::describe_de_error(e)));
                }
            }
        };
        r.decoder =
            Decoders::of(header.format).ok_or(TraceError::UnsupportedVersion(header.format))?;
        Ok((header, r))
    }

    /// Fetches more source bytes into the window; false at the end of the source.
    fn fetch(&mut self) -> bool {
        let end = self.window_start + self.window.len() as u64;
        if end >= self.size {
            return false;
        }
        // Drop what was consumed before growing.
        let consumed = (self.pos - self.window_start) as usize;
        if consumed > 0 && consumed <= self.window.len() {
            self.window.drain(..consumed);
            self.window_start = self.pos;
        }
        let want = FETCH.max(self.window.len() as u64);
        let before = self.window.len();
        self.src.read(end, want, &mut self.window);
        // A source that gives nothing more (it shrank, or failed) ends here.
        self.window.len() > before
    }

    /// Whether every byte from the current block to the end of the source is zero (a file that
    /// grew before its data reached the disk: a torn tail, not corruption).
    fn rest_is_zero(&mut self) -> bool {
        let start = (self.pos - self.window_start) as usize;
        if self.window[start..].iter().any(|b| *b != 0) {
            return false;
        }
        // The rest is read piece by piece, not kept: it may be large.
        let mut offset = self.window_start + self.window.len() as u64;
        let mut piece = Vec::new();
        while offset < self.size {
            piece.clear();
            self.src.read(offset, FETCH, &mut piece);
            if piece.is_empty() {
                break;
            }
            if piece.iter().any(|b| *b != 0) {
                return false;
            }
            offset += piece.len() as u64;
        }
        true
    }

    /// Index of the next event (0-based).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Bytes after the last whole block, once [`Reader::next_event`] returned `Ok(None)`: a
    /// recording cut off mid-write.
    pub fn torn_tail_bytes(&self) -> u64 {
        self.torn
    }

    /// Source bytes up to the end of the last whole block read.
    pub fn whole_len(&self) -> u64 {
        self.pos
    }

    fn corrupt(&self, message: String) -> TraceError {
        TraceError::Corrupt {
            block: self.block_index,
            offset: self.block_offset,
            message,
        }
    }

    fn too_large(&self, message: String) -> TraceError {
        TraceError::TooLarge {
            block: self.block_index,
            offset: self.block_offset,
            message,
        }
    }

    /// Frames the next block and checks its checksums; returns its codec, its number of events
    /// and where its stored bytes are in the window. `None` at the end (or a torn tail).
    fn frame(&mut self) -> Result<Option<(Codec, u32, std::ops::Range<usize>)>, TraceError> {
        loop {
            let start = (self.pos - self.window_start) as usize;
            if self.window.len() == start && !self.fetch() {
                return Ok(None);
            }
            self.block_index = self.blocks;
            self.block_offset = self.pos;
            let start = (self.pos - self.window_start) as usize;
            let avail = &self.window[start..];
            let parsed = match postcard::take_from_bytes::<BlockHead>(avail) {
                Ok((head, rest)) => {
                    let head_len = avail.len() - rest.len();
                    match rest.first_chunk::<4>() {
                        None => None,
                        Some(crc)
                            if u32::from_le_bytes(*crc) != crc32c::crc32c(&avail[..head_len]) =>
                        {
                            Some(Err("its head's checksum does not match"))
                        }
                        Some(_) if u64::from(head.len) > MAX_BLOCK_BYTES => {
                            return Err(self.too_large(format!(
                                "it declares {} bytes of data, more than the maximum block size ({})",
                                head.len,
                                describe_bytes(MAX_BLOCK_BYTES)
                            )));
                        }
                        Some(_) => {
                            let at = start + head_len + 4;
                            let end = at + head.len as usize;
                            (end <= self.window.len()).then_some(Ok((head, at..end)))
                        }
                    }
                }
                Err(postcard::Error::DeserializeUnexpectedEnd) => None,
                Err(_) => Some(Err("it is not a block")),
            };
            match parsed {
                Some(Ok((head, range))) => {
                    if crc32c::crc32c(&self.window[range.clone()]) != head.data_crc32c {
                        return Err(self.corrupt("its checksum does not match".into()));
                    }
                    if head.events == 0 {
                        return Err(self.corrupt("it holds no events".into()));
                    }
                    self.blocks += 1;
                    self.zstd_blocks += u64::from(head.codec == Codec::Zstd);
                    self.pos = self.window_start + range.end as u64;
                    return Ok(Some((head.codec, head.events, range)));
                }
                Some(Err(message)) => {
                    if self.rest_is_zero() {
                        self.torn = self.size - self.pos;
                        return Ok(None);
                    }
                    return Err(self.corrupt(message.into()));
                }
                // Not all there yet: read on, or it is a recording cut off mid-write.
                None => {
                    if !self.fetch() {
                        self.torn = self.size - self.pos;
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The next block as stored (its checksum checked, nothing decoded): its codec, its number
    /// of events and its stored bytes. `None` at the end (or a torn tail). Do not mix with
    /// [`Reader::next_event`].
    ///
    /// Errors: [`TraceError::Corrupt`] naming the block.
    pub fn next_stored_block(&mut self) -> Result<Option<StoredBlock<'_>>, TraceError> {
        Ok(self.frame()?.map(|(codec, events, range)| StoredBlock {
            codec,
            events,
            data: &self.window[range],
        }))
    }

    /// Loads the next block; false at the end (or a torn tail).
    fn next_block(&mut self) -> Result<bool, TraceError> {
        let Some((codec, events, range)) = self.frame()? else {
            return Ok(false);
        };
        self.block.clear();
        let data = &self.window[range];
        match codec {
            Codec::Raw => self.block.extend_from_slice(data),
            Codec::Zstd => {
                // Never more than the maximum block size, whatever the frame says: a frame
                // that decompresses to more is refused when the byte past the limit comes.
                let decoded = ruzstd::decoding::StreamingDecoder::new(data)
                    .map_err(|e| e.to_string())
                    .and_then(|d| {
                        let mut bounded = std::io::Read::take(d, MAX_BLOCK_BYTES + 1);
                        std::io::Read::read_to_end(&mut bounded, &mut self.block)
                            .map_err(|e| e.to_string())
                    });
                if let Err(e) = decoded {
                    return Err(self.corrupt(format!("bad zstd frame: {e}")));
                }
                if self.block.len() as u64 > MAX_BLOCK_BYTES {
                    self.block = Vec::new();
                    return Err(self.too_large(format!(
                        "it decompresses to more than the maximum block size ({})",
                        describe_bytes(MAX_BLOCK_BYTES)
                    )));
                }
            }
        }
        let (column, rest) = postcard::take_from_bytes::<&[u8]>(&self.block)
            .map_err(|e| self.corrupt(format!("no column of random numbers ({e})")))?;
        let start = self.block.len() - rest.len() - column.len();
        self.column = (start, start + column.len());
        self.cursor = self.block.len() - rest.len();
        self.left = events;
        Ok(true)
    }

    /// The next event; `Ok(None)` at the end of the trace or at a torn last block.
    ///
    /// Errors: [`TraceError::Corrupt`] naming the block.
    pub fn next_event(&mut self) -> Result<Option<Event>, TraceError> {
        if self.left == 0 {
            if self.cursor != self.block.len() || self.column.0 != self.column.1 {
                return Err(self.corrupt("it holds more bytes than its events".into()));
            }
            if !self.next_block()? {
                return Ok(None);
            }
        }
        let input = &self.block[self.cursor..];
        let mut column = &self.block[self.column.0..self.column.1];
        match self.decoder.decode(input, &mut column) {
            Ok((event, rest)) => {
                self.column.0 = self.column.1 - column.len();
                self.cursor = self.block.len() - rest.len();
                self.left -= 1;
                self.index += 1;
                Ok(Some(event))
            }
            Err(m) => Err(self.corrupt(format!("event {} is invalid ({m})", self.index))),
        }
    }
}

/// A block as stored in the file (see [`Reader::next_stored_block`]).
pub struct StoredBlock<'a> {
    /// How `data` is stored.
    pub codec: Codec,
    /// Number of events in the block.
    pub events: u32,
    /// The stored bytes (checksum checked).
    pub data: &'a [u8],
}

/// Just the version field of a header, to name an old format.
#[derive(Deserialize)]
struct VersionOnly {
    #[serde(rename = "wasm-rr-trace")]
    format: u32,
}

/// What [`repack`] and [`scan_blocks`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockScan {
    /// The header.
    pub header: Header,
    /// The number of events in the whole blocks.
    pub events: u64,
    /// Bytes of the header and the whole blocks.
    pub whole_len: u64,
    /// Bytes after the last whole block (a recording cut off mid-write).
    pub torn_tail_bytes: u64,
    /// The number of whole blocks.
    pub blocks: u64,
    /// How many of them are stored as zstd frames.
    pub zstd_blocks: u64,
}

/// Rewrites a trace block by block without decoding its events, writing the result to `out`:
/// every block's checksum is checked, raw blocks are compressed with `compress` where that
/// makes them smaller, and a torn tail is dropped. Holds one block in memory; what `wasm-rr
/// record` does when the run ends.
///
/// Errors: [`TraceError`] for a bad header or a damaged block; `out`'s errors as
/// [`TraceError::Write`].
pub fn repack<S: Source>(
    src: S,
    out: &mut impl std::io::Write,
    compress: Option<Compressor>,
) -> Result<BlockScan, TraceError> {
    let (header, mut reader) = Reader::new(src)?;
    let mut head = Vec::new();
    crate::encode_header(&header, &mut head);
    let write = |out: &mut dyn std::io::Write, bytes: &[u8]| {
        out.write_all(bytes)
            .map_err(|e| TraceError::Write(e.to_string()))
    };
    write(out, &head)?;
    let mut events = 0u64;
    let mut framed = Vec::new();
    while let Some(StoredBlock {
        codec,
        events: count,
        data,
    }) = reader.next_stored_block()?
    {
        let compressed = match (codec, compress) {
            (Codec::Raw, Some(c)) if data.len() >= MIN_COMPRESS => {
                c(data).filter(|z| z.len() < data.len())
            }
            _ => None,
        };
        framed.clear();
        match &compressed {
            Some(z) => write_block(Codec::Zstd, count, z, &mut framed),
            None => write_block(codec, count, data, &mut framed),
        }
        write(out, &framed)?;
        events += u64::from(count);
    }
    Ok(BlockScan {
        header,
        events,
        whole_len: reader.whole_len(),
        torn_tail_bytes: reader.torn_tail_bytes(),
        blocks: reader.blocks,
        zstd_blocks: reader.zstd_blocks,
    })
}

/// Checks a trace block by block (checksums and framing, without decoding events): its header,
/// number of events, and torn tail. Holds one block in memory.
///
/// Errors: [`TraceError`] for a bad header or a damaged block.
pub fn scan_blocks<S: Source>(src: S) -> Result<BlockScan, TraceError> {
    let (header, mut reader) = Reader::new(src)?;
    let mut events = 0u64;
    while let Some(block) = reader.next_stored_block()? {
        events += u64::from(block.events);
    }
    Ok(BlockScan {
        header,
        events,
        whole_len: reader.whole_len(),
        torn_tail_bytes: reader.torn_tail_bytes(),
        blocks: reader.blocks,
        zstd_blocks: reader.zstd_blocks,
    })
}

/// Checks a trace event by event (checksums, framing, limits, and every event decoded, one at a
/// time): its header, number of events, and torn tail. Holds one block in memory.
///
/// Errors: [`TraceError`] for a bad header, a damaged block or a block over a limit.
pub fn scan_events<S: Source>(src: S) -> Result<BlockScan, TraceError> {
    let (header, mut reader) = Reader::new(src)?;
    while reader.next_event()?.is_some() {}
    Ok(BlockScan {
        header,
        events: reader.index(),
        whole_len: reader.whole_len(),
        torn_tail_bytes: reader.torn_tail_bytes(),
        blocks: reader.blocks,
        zstd_blocks: reader.zstd_blocks,
    })
}
