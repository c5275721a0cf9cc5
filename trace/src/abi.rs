//! Component values as the canonical ABI lays them out, for the generic path (interfaces
//! recorded from their WIT alone): a WIT type reduced to what its layout needs ([`Ty`]), a
//! value of it ([`Val`]), and the canonical ABI's rules to read one from a linear memory
//! ([`load`]) or from flat core values ([`lift_flat`]), and to write one back ([`store`],
//! [`lower_flat`]). Sizes and alignments are the 32-bit canonical ABI's (wasm32), in bytes.
//!
//! Resources, streams and futures are not here yet: the generic path refuses them.

use serde::{Deserialize, Serialize};

/// A WIT type, as far as its canonical ABI layout goes (names and type identities dropped).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// `string` (UTF-8).
    String,
    /// `list<T>`.
    List(Box<Ty>),
    /// A `record` (its fields' types, in order) or a `tuple`.
    Record(Vec<Ty>),
    /// A `variant` (each case's payload type, if any), and `option`, `result` and `enum`,
    /// which the canonical ABI lays out as variants.
    Variant(Vec<Option<Ty>>),
    /// `flags` with this many flags (at most 32 are read as one `u32` each).
    Flags(u32),
    /// `own<R>`: a handle of resource type number `R` (numbered by whoever made the type, the
    /// generic path in the order of the forwarded interfaces' resources).
    Own(u32),
    /// `borrow<R>`.
    Borrow(u32),
}

/// A value of a [`Ty`]. Two values are equal when they are the same bits: a `NaN` argument
/// recorded matches the same `NaN` replayed. A value read from a trace nests at most
/// [`MAX_DEPTH`] deep (a crafted trace must not overflow the reader's stack).
#[derive(Serialize, Clone, Debug)]
pub enum Val {
    /// `bool`.
    Bool(bool),
    /// `s8`.
    S8(i8),
    /// `u8`.
    U8(u8),
    /// `s16`.
    S16(i16),
    /// `u16`.
    U16(u16),
    /// `s32`.
    S32(i32),
    /// `u32`.
    U32(u32),
    /// `s64`.
    S64(i64),
    /// `u64`.
    U64(u64),
    /// `f32`.
    F32(#[serde(with = "float")] f32),
    /// `f64`.
    F64(#[serde(with = "float")] f64),
    /// `char`.
    Char(char),
    /// `string`.
    String(String),
    /// `list<T>`.
    List(Vec<Val>),
    /// A record's fields or a tuple's members.
    Record(Vec<Val>),
    /// A variant's case number and payload.
    Variant(u32, Option<Box<Val>>),
    /// Flags: one bit per flag, 32 to a word.
    Flags(Vec<u32>),
    /// A resource handle: as read from memory, the core value; in a trace, the handle's
    /// number (its resource's handles are numbered from 0 in the order they were created).
    Handle(u32),
}

/// Floats in a trace: in JSON a number when finite, else `"inf"`, `"-inf"` or `"nan:0x…"`
/// (the bits, so that a NaN converts back to the same NaN); in the binary form, the float.
mod float {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    /// `f32` and `f64`, as the trace stores them.
    pub trait Float: Copy + Serialize + for<'de> Deserialize<'de> {
        fn is_finite(self) -> bool;
        fn bits(self) -> u64;
        fn from_bits(bits: u64) -> Self;
        fn infinite(negative: bool) -> Self;
    }

    impl Float for f32 {
        fn is_finite(self) -> bool {
            f32::is_finite(self)
        }
        fn bits(self) -> u64 {
            u64::from(self.to_bits())
        }
        fn from_bits(bits: u64) -> Self {
            f32::from_bits(bits as u32)
        }
        fn infinite(negative: bool) -> Self {
            if negative {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            }
        }
    }

    impl Float for f64 {
        fn is_finite(self) -> bool {
            f64::is_finite(self)
        }
        fn bits(self) -> u64 {
            self.to_bits()
        }
        fn from_bits(bits: u64) -> Self {
            f64::from_bits(bits)
        }
        fn infinite(negative: bool) -> Self {
            if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
    }

    pub fn serialize<F: Float, S: Serializer>(v: &F, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() || v.is_finite() {
            return v.serialize(s);
        }
        let negative = v.bits()
            >> if std::mem::size_of::<F>() == 4 {
                31
            } else {
                63
            }
            == 1;
        let infinite = F::infinite(negative).bits() == v.bits();
        match (infinite, negative) {
            (true, false) => s.serialize_str("inf"),
            (true, true) => s.serialize_str("-inf"),
            _ => s.serialize_str(&format!("nan:{:#x}", v.bits())),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text<F> {
        Number(F),
        Word(String),
    }

    pub fn deserialize<'de, F: Float, D: Deserializer<'de>>(d: D) -> Result<F, D::Error> {
        if !d.is_human_readable() {
            return F::deserialize(d);
        }
        match Text::<F>::deserialize(d)? {
            Text::Number(v) => Ok(v),
            Text::Word(w) => match w.as_str() {
                "inf" => Ok(F::infinite(false)),
                "-inf" => Ok(F::infinite(true)),
                _ => w
                    .strip_prefix("nan:0x")
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .map(F::from_bits)
                    .filter(|v| !v.is_finite())
                    .ok_or_else(|| D::Error::custom(format!("`{w}` is not a float"))),
            },
        }
    }
}

/// How deep a value read from a trace may nest (lists, records, variants in one another).
pub const MAX_DEPTH: u32 = 100;

thread_local! {
    /// How deep the value being deserialised is, on this thread.
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// [`Val`]'s serialised form, read one level at a time (each nested [`Val`] is read by
/// `Val::deserialize`, which counts the depth).
#[derive(Deserialize)]
#[serde(rename = "Val")]
enum ValForm {
    Bool(bool),
    S8(i8),
    U8(u8),
    S16(i16),
    U16(u16),
    S32(i32),
    U32(u32),
    S64(i64),
    U64(u64),
    F32(#[serde(with = "float")] f32),
    F64(#[serde(with = "float")] f64),
    Char(char),
    String(String),
    List(Vec<Val>),
    Record(Vec<Val>),
    Variant(u32, Option<Box<Val>>),
    Flags(Vec<u32>),
    Handle(u32),
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Val, D::Error> {
        let depth = DEPTH.get();
        if depth >= MAX_DEPTH {
            return Err(serde::de::Error::custom(format!(
                "a value nests more than {MAX_DEPTH} deep"
            )));
        }
        DEPTH.set(depth + 1);
        let form = ValForm::deserialize(d);
        DEPTH.set(depth);
        Ok(match form? {
            ValForm::Bool(v) => Val::Bool(v),
            ValForm::S8(v) => Val::S8(v),
            ValForm::U8(v) => Val::U8(v),
            ValForm::S16(v) => Val::S16(v),
            ValForm::U16(v) => Val::U16(v),
            ValForm::S32(v) => Val::S32(v),
            ValForm::U32(v) => Val::U32(v),
            ValForm::S64(v) => Val::S64(v),
            ValForm::U64(v) => Val::U64(v),
            ValForm::F32(v) => Val::F32(v),
            ValForm::F64(v) => Val::F64(v),
            ValForm::Char(v) => Val::Char(v),
            ValForm::String(v) => Val::String(v),
            ValForm::List(v) => Val::List(v),
            ValForm::Record(v) => Val::Record(v),
            ValForm::Variant(c, p) => Val::Variant(c, p),
            ValForm::Flags(v) => Val::Flags(v),
            ValForm::Handle(v) => Val::Handle(v),
        })
    }
}

impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        use Val::*;
        match (self, other) {
            (F32(a), F32(b)) => a.to_bits() == b.to_bits(),
            (F64(a), F64(b)) => a.to_bits() == b.to_bits(),
            (Bool(a), Bool(b)) => a == b,
            (S8(a), S8(b)) => a == b,
            (U8(a), U8(b)) => a == b,
            (S16(a), S16(b)) => a == b,
            (U16(a), U16(b)) => a == b,
            (S32(a), S32(b)) => a == b,
            (U32(a), U32(b)) => a == b,
            (S64(a), S64(b)) => a == b,
            (U64(a), U64(b)) => a == b,
            (Char(a), Char(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Record(a), Record(b)) => a == b,
            (Variant(a, x), Variant(b, y)) => a == b && x == y,
            (Flags(a), Flags(b)) => a == b,
            (Handle(a), Handle(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Val {}

/// Why a value cannot be read: the memory does not hold a valid value of the type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbiError(pub String);

impl std::fmt::Display for AbiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, AbiError> {
    Err(AbiError(message.into()))
}

fn align_to(n: u32, align: u32) -> u32 {
    n.div_ceil(align) * align
}

impl Ty {
    /// Its alignment in memory, in bytes.
    pub fn align(&self) -> u32 {
        match self {
            Ty::Bool | Ty::S8 | Ty::U8 => 1,
            Ty::S16 | Ty::U16 => 2,
            Ty::S32 | Ty::U32 | Ty::F32 | Ty::Char | Ty::String | Ty::List(_) => 4,
            Ty::Own(_) | Ty::Borrow(_) => 4,
            Ty::S64 | Ty::U64 | Ty::F64 => 8,
            Ty::Record(fields) => fields.iter().map(Ty::align).max().unwrap_or(1),
            Ty::Variant(cases) => self
                .discriminant_size()
                .max(cases.iter().flatten().map(Ty::align).max().unwrap_or(1)),
            Ty::Flags(n) => match n {
                0..=8 => 1,
                9..=16 => 2,
                _ => 4,
            },
        }
    }

    /// Its size in memory, in bytes.
    pub fn size(&self) -> u32 {
        match self {
            Ty::Bool | Ty::S8 | Ty::U8 => 1,
            Ty::S16 | Ty::U16 => 2,
            Ty::S32 | Ty::U32 | Ty::F32 | Ty::Char | Ty::Own(_) | Ty::Borrow(_) => 4,
            Ty::S64 | Ty::U64 | Ty::F64 | Ty::String | Ty::List(_) => 8,
            Ty::Record(fields) => {
                let end = fields
                    .iter()
                    .fold(0, |at, f| align_to(at, f.align()) + f.size());
                align_to(end, self.align())
            }
            Ty::Variant(cases) => {
                let payload = cases.iter().flatten().map(Ty::size).max().unwrap_or(0);
                align_to(self.payload_offset() + payload, self.align())
            }
            Ty::Flags(n) => match n {
                0 => 0,
                1..=8 => 1,
                9..=16 => 2,
                _ => 4 * n.div_ceil(32),
            },
        }
    }

    /// A variant's discriminant size in bytes (1, 2 or 4).
    fn discriminant_size(&self) -> u32 {
        match self {
            Ty::Variant(cases) if cases.len() <= 1 << 8 => 1,
            Ty::Variant(cases) if cases.len() <= 1 << 16 => 2,
            _ => 4,
        }
    }

    /// Where a variant's payload starts, from the variant's start.
    fn payload_offset(&self) -> u32 {
        let Ty::Variant(cases) = self else { return 0 };
        let payload_align = cases.iter().flatten().map(Ty::align).max().unwrap_or(1);
        align_to(self.discriminant_size(), payload_align)
    }

    /// How many flat core values it takes.
    pub fn flat_count(&self) -> usize {
        match self {
            Ty::String | Ty::List(_) => 2,
            Ty::Record(fields) => fields.iter().map(Ty::flat_count).sum(),
            Ty::Variant(cases) => {
                1 + cases
                    .iter()
                    .flatten()
                    .map(Ty::flat_count)
                    .max()
                    .unwrap_or(0)
            }
            Ty::Flags(n) => n.div_ceil(32) as usize,
            _ => 1,
        }
    }
}

/// What happens to resource handles as values are read and written: the core value a handle
/// has in a memory or a flat value is not what a trace keeps (its number), and a component that
/// hands one over may have to wrap it in a handle of its own (see the generic path's
/// forwarder).
pub trait Handles {
    /// A handle of resource type `resource` (an `own` when `own`) read with core value `raw`,
    /// at address `at` of the memory (`None`: a flat value); returns the value to keep.
    fn lift(
        &mut self,
        resource: u32,
        own: bool,
        raw: u32,
        at: Option<u32>,
    ) -> Result<u32, AbiError>;
    /// A handle of resource type `resource` kept as `kept` to be written at address `at`
    /// (`None`: a flat value); returns its core value.
    fn lower(
        &mut self,
        resource: u32,
        own: bool,
        kept: u32,
        at: Option<u32>,
    ) -> Result<u32, AbiError>;
    /// Lowering flat values ([`lower_flat_with`]): the handle [`Handles::lower`] is asked for
    /// next (`at` being `None`) becomes flat value number `index`, from 0. Nothing by default.
    fn flat_index(&mut self, _index: usize) {}
}

/// Handles as they are: the core value is the value kept.
pub struct RawHandles;

impl Handles for RawHandles {
    fn lift(&mut self, _: u32, _: bool, raw: u32, _: Option<u32>) -> Result<u32, AbiError> {
        Ok(raw)
    }

    fn lower(&mut self, _: u32, _: bool, kept: u32, _: Option<u32>) -> Result<u32, AbiError> {
        Ok(kept)
    }
}

/// Bytes of `mem` at `[at, at + len)`, or the error that says they are outside it.
fn slice(mem: &[u8], at: u32, len: u32) -> Result<&[u8], AbiError> {
    let end = u64::from(at) + u64::from(len);
    if end > mem.len() as u64 {
        return err(format!(
            "{len} bytes at {at} are outside the memory ({} bytes)",
            mem.len()
        ));
    }
    Ok(&mem[at as usize..end as usize])
}

fn read<const N: usize>(mem: &[u8], at: u32) -> Result<[u8; N], AbiError> {
    Ok(slice(mem, at, N as u32)?.try_into().expect("N bytes"))
}

fn char_of(code: u32) -> Result<char, AbiError> {
    char::from_u32(code).map_or_else(|| err(format!("{code:#x} is not a char")), Ok)
}

/// Reads a list's or a string's elements: `len` of `elem` at `ptr`.
fn load_list(
    elem: &Ty,
    mem: &[u8],
    ptr: u32,
    len: u32,
    h: &mut dyn Handles,
) -> Result<Vec<Val>, AbiError> {
    let size = elem.size();
    // Bounds first: a crafted length must not make us allocate.
    slice(mem, ptr, size.saturating_mul(len))?;
    (0..len)
        .map(|i| load_with(elem, mem, ptr + i * size, h))
        .collect()
}

fn load_string(mem: &[u8], ptr: u32, len: u32) -> Result<Val, AbiError> {
    let bytes = slice(mem, ptr, len)?;
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Val::String(s.to_string())),
        Err(e) => err(format!("a string at {ptr} is not UTF-8: {e}")),
    }
}

/// Reads a value of `ty` from `mem` at `at` (which the canonical ABI aligned for it), handles
/// as their core values.
pub fn load(ty: &Ty, mem: &[u8], at: u32) -> Result<Val, AbiError> {
    load_with(ty, mem, at, &mut RawHandles)
}

/// [`load`], with `h` deciding what the handles read become.
pub fn load_with(ty: &Ty, mem: &[u8], at: u32, h: &mut dyn Handles) -> Result<Val, AbiError> {
    Ok(match ty {
        Ty::Own(r) | Ty::Borrow(r) => {
            let raw = u32::from_le_bytes(read(mem, at)?);
            Val::Handle(h.lift(*r, matches!(ty, Ty::Own(_)), raw, Some(at))?)
        }
        Ty::Bool => Val::Bool(read::<1>(mem, at)?[0] != 0),
        Ty::S8 => Val::S8(i8::from_le_bytes(read(mem, at)?)),
        Ty::U8 => Val::U8(u8::from_le_bytes(read(mem, at)?)),
        Ty::S16 => Val::S16(i16::from_le_bytes(read(mem, at)?)),
        Ty::U16 => Val::U16(u16::from_le_bytes(read(mem, at)?)),
        Ty::S32 => Val::S32(i32::from_le_bytes(read(mem, at)?)),
        Ty::U32 => Val::U32(u32::from_le_bytes(read(mem, at)?)),
        Ty::S64 => Val::S64(i64::from_le_bytes(read(mem, at)?)),
        Ty::U64 => Val::U64(u64::from_le_bytes(read(mem, at)?)),
        Ty::F32 => Val::F32(f32::from_le_bytes(read(mem, at)?)),
        Ty::F64 => Val::F64(f64::from_le_bytes(read(mem, at)?)),
        Ty::Char => Val::Char(char_of(u32::from_le_bytes(read(mem, at)?))?),
        Ty::String | Ty::List(_) => {
            let ptr = u32::from_le_bytes(read(mem, at)?);
            let len = u32::from_le_bytes(read(mem, at + 4)?);
            match ty {
                Ty::List(elem) => Val::List(load_list(elem, mem, ptr, len, h)?),
                _ => load_string(mem, ptr, len)?,
            }
        }
        Ty::Record(fields) => {
            let mut offset = 0;
            let mut vals = Vec::with_capacity(fields.len());
            for f in fields {
                offset = align_to(offset, f.align());
                vals.push(load_with(f, mem, at + offset, h)?);
                offset += f.size();
            }
            Val::Record(vals)
        }
        Ty::Variant(cases) => {
            let case = match ty.discriminant_size() {
                1 => u32::from(read::<1>(mem, at)?[0]),
                2 => u32::from(u16::from_le_bytes(read(mem, at)?)),
                _ => u32::from_le_bytes(read(mem, at)?),
            };
            let Some(payload) = cases.get(case as usize) else {
                return err(format!("case {case} of a variant of {} cases", cases.len()));
            };
            let value = match payload {
                Some(p) => Some(Box::new(load_with(p, mem, at + ty.payload_offset(), h)?)),
                None => None,
            };
            Val::Variant(case, value)
        }
        Ty::Flags(n) => match ty.size() {
            0 => Val::Flags(vec![]),
            1 => Val::Flags(vec![u32::from(read::<1>(mem, at)?[0])]),
            2 => Val::Flags(vec![u32::from(u16::from_le_bytes(read(mem, at)?))]),
            _ => Val::Flags(
                (0..n.div_ceil(32))
                    .map(|i| read(mem, at + 4 * i).map(u32::from_le_bytes))
                    .collect::<Result<_, _>>()?,
            ),
        },
    })
}

/// Reads a value of `ty` from flat core values, each given as its bits (an `i32` or `f32` in
/// the low 32 bits, an `i64` or `f64` in all 64, as a variant's joined slots hold them), and
/// from `mem` for what they point at.
pub fn lift_flat(
    ty: &Ty,
    flat: &mut impl Iterator<Item = u64>,
    mem: &[u8],
) -> Result<Val, AbiError> {
    lift_flat_with(ty, flat, mem, &mut RawHandles)
}

/// [`lift_flat`], with `h` deciding what the handles read become.
pub fn lift_flat_with(
    ty: &Ty,
    flat: &mut dyn Iterator<Item = u64>,
    mem: &[u8],
    h: &mut dyn Handles,
) -> Result<Val, AbiError> {
    let mut next = || flat.next().map_or_else(|| err("too few flat values"), Ok);
    Ok(match ty {
        Ty::Own(r) | Ty::Borrow(r) => {
            let raw = next()? as u32;
            Val::Handle(h.lift(*r, matches!(ty, Ty::Own(_)), raw, None)?)
        }
        Ty::Bool => Val::Bool(next()? as u32 != 0),
        Ty::S8 => Val::S8(next()? as i8),
        Ty::U8 => Val::U8(next()? as u8),
        Ty::S16 => Val::S16(next()? as i16),
        Ty::U16 => Val::U16(next()? as u16),
        Ty::S32 => Val::S32(next()? as i32),
        Ty::U32 => Val::U32(next()? as u32),
        Ty::S64 => Val::S64(next()? as i64),
        Ty::U64 => Val::U64(next()?),
        Ty::F32 => Val::F32(f32::from_bits(next()? as u32)),
        Ty::F64 => Val::F64(f64::from_bits(next()?)),
        Ty::Char => Val::Char(char_of(next()? as u32)?),
        Ty::String => {
            let (ptr, len) = (next()? as u32, next()? as u32);
            load_string(mem, ptr, len)?
        }
        Ty::List(elem) => {
            let (ptr, len) = (next()? as u32, next()? as u32);
            Val::List(load_list(elem, mem, ptr, len, h)?)
        }
        Ty::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|f| lift_flat_with(f, flat, mem, h))
                .collect::<Result<_, _>>()?,
        ),
        Ty::Variant(cases) => {
            let case = next()? as u32;
            let Some(payload) = cases.get(case as usize) else {
                return err(format!("case {case} of a variant of {} cases", cases.len()));
            };
            let used = payload.as_ref().map_or(0, Ty::flat_count);
            let value = match payload {
                Some(p) => Some(Box::new(lift_flat_with(p, flat, mem, h)?)),
                None => None,
            };
            // The slots the other cases need and this one does not.
            for _ in used..ty.flat_count() - 1 {
                flat.next();
            }
            Val::Variant(case, value)
        }
        Ty::Flags(n) => Val::Flags(
            (0..n.div_ceil(32))
                .map(|_| next().map(|w| w as u32))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// A linear memory being written, with the allocator that gives lists and strings their place
/// (the component's `cabi_realloc`).
pub trait Memory {
    /// The memory's bytes from address [`Memory::base`] on.
    fn bytes(&mut self) -> &mut [u8];
    /// The address of the first byte [`Memory::bytes`] gives (0 for a whole memory; a window
    /// of one, such as the block of a component's heap an answer is laid out into, starts
    /// further on).
    fn base(&self) -> u32 {
        0
    }
    /// A new block of `size` bytes aligned to `align`; returns its address.
    fn alloc(&mut self, size: u32, align: u32) -> u32;
}

fn write(mem: &mut dyn Memory, at: u32, data: &[u8]) -> Result<(), AbiError> {
    let len = data.len() as u32;
    let Some(at) = at.checked_sub(mem.base()) else {
        return err(format!("address {at} is below the memory's start"));
    };
    let bytes = mem.bytes();
    slice(bytes, at, len)?;
    bytes[at as usize..(at + len) as usize].copy_from_slice(data);
    Ok(())
}

fn mismatch<T>(ty: &Ty, val: &Val) -> Result<T, AbiError> {
    err(format!("{val:?} is not a value of {ty:?}"))
}

/// Writes a string's bytes or a list's elements (`val`, of `ty`) into a new block of `mem`;
/// returns the block's address and the length the canonical ABI gives it (bytes; elements).
fn store_elements(
    ty: &Ty,
    val: &Val,
    mem: &mut dyn Memory,
    h: &mut dyn Handles,
) -> Result<(u32, u32), AbiError> {
    match (ty, val) {
        (Ty::String, Val::String(s)) => {
            let ptr = mem.alloc(s.len() as u32, 1);
            write(mem, ptr, s.as_bytes())?;
            Ok((ptr, s.len() as u32))
        }
        (Ty::List(elem), Val::List(items)) => {
            let size = elem.size();
            let ptr = mem.alloc(size * items.len() as u32, elem.align());
            for (i, item) in items.iter().enumerate() {
                store_with(elem, item, mem, ptr + i as u32 * size, h)?;
            }
            Ok((ptr, items.len() as u32))
        }
        _ => mismatch(ty, val),
    }
}

/// Writes `val` (of `ty`) into `mem` at `at`, allocating what lists and strings point to;
/// handles as they are.
pub fn store(ty: &Ty, val: &Val, mem: &mut dyn Memory, at: u32) -> Result<(), AbiError> {
    store_with(ty, val, mem, at, &mut RawHandles)
}

/// [`store`], with `h` giving the handles' core values.
pub fn store_with(
    ty: &Ty,
    val: &Val,
    mem: &mut dyn Memory,
    at: u32,
    h: &mut dyn Handles,
) -> Result<(), AbiError> {
    match (ty, val) {
        (Ty::Own(r) | Ty::Borrow(r), Val::Handle(n)) => {
            let raw = h.lower(*r, matches!(ty, Ty::Own(_)), *n, Some(at))?;
            write(mem, at, &raw.to_le_bytes())
        }
        (Ty::Bool, Val::Bool(b)) => write(mem, at, &[u8::from(*b)]),
        (Ty::S8, Val::S8(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::U8, Val::U8(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::S16, Val::S16(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::U16, Val::U16(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::S32, Val::S32(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::U32, Val::U32(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::S64, Val::S64(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::U64, Val::U64(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::F32, Val::F32(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::F64, Val::F64(v)) => write(mem, at, &v.to_le_bytes()),
        (Ty::Char, Val::Char(c)) => write(mem, at, &u32::from(*c).to_le_bytes()),
        (Ty::String | Ty::List(_), _) => {
            let (ptr, len) = store_elements(ty, val, mem, h)?;
            write(mem, at, &ptr.to_le_bytes())?;
            write(mem, at + 4, &len.to_le_bytes())
        }
        (Ty::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => {
            let mut offset = 0;
            for (f, v) in fields.iter().zip(vals) {
                offset = align_to(offset, f.align());
                store_with(f, v, mem, at + offset, h)?;
                offset += f.size();
            }
            Ok(())
        }
        (Ty::Variant(cases), Val::Variant(case, payload)) => {
            let disc = case.to_le_bytes();
            write(mem, at, &disc[..ty.discriminant_size() as usize])?;
            match (cases.get(*case as usize), payload) {
                (Some(None), None) => Ok(()),
                (Some(Some(p)), Some(v)) => store_with(p, v, mem, at + ty.payload_offset(), h),
                _ => mismatch(ty, val),
            }
        }
        (Ty::Flags(_), Val::Flags(words)) => {
            let size = ty.size();
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            match bytes.get(..size as usize) {
                Some(b) => write(mem, at, b),
                None => mismatch(ty, val),
            }
        }
        _ => mismatch(ty, val),
    }
}

/// `val` (of `ty`) as flat core values' bits (see [`lift_flat`]), allocating in `mem` what
/// lists and strings point to: what a component returns when its results are flat.
pub fn lower_flat(ty: &Ty, val: &Val, mem: &mut dyn Memory) -> Result<Vec<u64>, AbiError> {
    lower_flat_with(ty, val, mem, &mut RawHandles)
}

/// [`lower_flat`], with `h` giving the handles' core values.
pub fn lower_flat_with(
    ty: &Ty,
    val: &Val,
    mem: &mut dyn Memory,
    h: &mut dyn Handles,
) -> Result<Vec<u64>, AbiError> {
    let mut out = Vec::with_capacity(ty.flat_count());
    lower_into(ty, val, mem, &mut out, h)?;
    Ok(out)
}

fn lower_into(
    ty: &Ty,
    val: &Val,
    mem: &mut dyn Memory,
    out: &mut Vec<u64>,
    h: &mut dyn Handles,
) -> Result<(), AbiError> {
    match (ty, val) {
        (Ty::Own(r) | Ty::Borrow(r), Val::Handle(n)) => {
            h.flat_index(out.len());
            out.push(u64::from(h.lower(
                *r,
                matches!(ty, Ty::Own(_)),
                *n,
                None,
            )?));
        }
        (Ty::Bool, Val::Bool(b)) => out.push(u64::from(*b)),
        (Ty::S8, Val::S8(v)) => out.push(u64::from(*v as i32 as u32)),
        (Ty::U8, Val::U8(v)) => out.push(u64::from(*v)),
        (Ty::S16, Val::S16(v)) => out.push(u64::from(*v as i32 as u32)),
        (Ty::U16, Val::U16(v)) => out.push(u64::from(*v)),
        (Ty::S32, Val::S32(v)) => out.push(u64::from(*v as u32)),
        (Ty::U32, Val::U32(v)) => out.push(u64::from(*v)),
        (Ty::S64, Val::S64(v)) => out.push(*v as u64),
        (Ty::U64, Val::U64(v)) => out.push(*v),
        (Ty::F32, Val::F32(v)) => out.push(u64::from(v.to_bits())),
        (Ty::F64, Val::F64(v)) => out.push(v.to_bits()),
        (Ty::Char, Val::Char(c)) => out.push(u64::from(u32::from(*c))),
        (Ty::String | Ty::List(_), _) => {
            let (ptr, len) = store_elements(ty, val, mem, h)?;
            out.extend([u64::from(ptr), u64::from(len)]);
        }
        (Ty::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => {
            for (f, v) in fields.iter().zip(vals) {
                lower_into(f, v, mem, out, h)?;
            }
        }
        (Ty::Variant(cases), Val::Variant(case, payload)) => {
            out.push(u64::from(*case));
            let start = out.len();
            match (cases.get(*case as usize), payload) {
                (Some(None), None) => {}
                (Some(Some(p)), Some(v)) => lower_into(p, v, mem, out, h)?,
                _ => return mismatch(ty, val),
            }
            out.resize(start + ty.flat_count() - 1, 0);
        }
        (Ty::Flags(n), Val::Flags(words)) if words.len() == n.div_ceil(32) as usize => {
            out.extend(words.iter().map(|w| u64::from(*w)));
        }
        _ => return mismatch(ty, val),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A memory of `size` bytes with a bump allocator from `at`.
    struct Bump {
        bytes: Vec<u8>,
        at: u32,
    }

    impl Memory for Bump {
        fn bytes(&mut self) -> &mut [u8] {
            &mut self.bytes
        }
        fn alloc(&mut self, size: u32, align: u32) -> u32 {
            let ptr = align_to(self.at, align);
            self.at = ptr + size;
            ptr
        }
    }

    fn option(t: Ty) -> Ty {
        Ty::Variant(vec![None, Some(t)])
    }

    fn result(ok: Option<Ty>, error: Option<Ty>) -> Ty {
        Ty::Variant(vec![ok, error])
    }

    /// `wasi:config/store.get`'s result: `result<option<string>, error>`, `error` a variant of
    /// two string cases.
    fn config_get() -> Ty {
        let error = Ty::Variant(vec![Some(Ty::String), Some(Ty::String)]);
        result(Some(option(Ty::String)), Some(error))
    }

    #[test]
    fn sizes_and_alignments_are_the_canonical_abis() {
        assert_eq!((config_get().size(), config_get().align()), (16, 4));
        // record { a: u8, b: u64, c: u16 }: a at 0, b at 8, c at 16, size 24.
        let r = Ty::Record(vec![Ty::U8, Ty::U64, Ty::U16]);
        assert_eq!((r.size(), r.align()), (24, 8));
        // option<f64>: discriminant, payload at 8.
        assert_eq!(option(Ty::F64).size(), 16);
        assert_eq!(Ty::Flags(40).size(), 8);
        assert_eq!(Ty::Flags(9).size(), 2);
        assert_eq!(Ty::Record(vec![]).size(), 0);
        assert_eq!(config_get().flat_count(), 4);
    }

    #[test]
    fn values_round_trip_through_memory_and_flat_values() {
        let ty = Ty::Record(vec![
            config_get(),
            Ty::List(Box::new(Ty::Record(vec![Ty::String, Ty::String]))),
            Ty::Char,
            Ty::F32,
            Ty::S16,
            Ty::Flags(33),
            option(Ty::F64),
        ]);
        let val = Val::Record(vec![
            Val::Variant(
                0,
                Some(Box::new(Val::Variant(
                    1,
                    Some(Box::new(Val::String("42".into()))),
                ))),
            ),
            Val::List(vec![Val::Record(vec![
                Val::String("seed".into()),
                Val::String("ünïcode".into()),
            ])]),
            Val::Char('λ'),
            Val::F32(1.5),
            Val::S16(-2),
            Val::Flags(vec![0b101, 1]),
            Val::Variant(1, Some(Box::new(Val::F64(-0.25)))),
        ]);
        let mut mem = Bump {
            bytes: vec![0; 4096],
            at: 8,
        };
        let at = mem.alloc(ty.size(), ty.align());
        store(&ty, &val, &mut mem, at).unwrap();
        assert_eq!(load(&ty, &mem.bytes, at).unwrap(), val);
        let flat = lower_flat(&ty, &val, &mut mem).unwrap();
        assert_eq!(flat.len(), ty.flat_count());
        assert_eq!(
            lift_flat(&ty, &mut flat.into_iter(), &mem.bytes).unwrap(),
            val
        );
    }

    #[test]
    fn a_lowered_config_answer_reads_back() {
        // `ok(some("42"))` of `result<option<string>, error>`, laid out by hand in a return
        // area at 16, the string at 32: discriminants at 16 and 20, pointer and length at 24.
        let mut bytes = vec![0u8; 64];
        bytes[16] = 0;
        bytes[20] = 1;
        bytes[24..28].copy_from_slice(&32u32.to_le_bytes());
        bytes[28..32].copy_from_slice(&2u32.to_le_bytes());
        bytes[32..34].copy_from_slice(b"42");
        assert_eq!(
            load(&config_get(), &bytes, 16).unwrap(),
            Val::Variant(
                0,
                Some(Box::new(Val::Variant(
                    1,
                    Some(Box::new(Val::String("42".into())))
                )))
            )
        );
    }

    #[test]
    fn a_value_nested_too_deep_is_an_error_not_a_stack_overflow() {
        let mut deep = Val::U8(1);
        for _ in 0..MAX_DEPTH {
            deep = Val::List(vec![deep]);
        }
        let bytes = postcard::to_allocvec(&deep).unwrap();
        let err = postcard::from_bytes::<Val>(&bytes).unwrap_err();
        assert!(err.to_string().contains("Serde"), "{err}");
        // One level less reads back, in the binary form and in JSON.
        let Val::List(inner) = deep else {
            unreachable!()
        };
        let ok = &inner[0];
        assert_eq!(
            &postcard::from_bytes::<Val>(&postcard::to_allocvec(ok).unwrap()).unwrap(),
            ok
        );
        // A crafted run of list prefixes, a million deep.
        let crafted: Vec<u8> = std::iter::repeat_n([13u8, 1], 1 << 20).flatten().collect();
        assert!(postcard::from_bytes::<Val>(&crafted).is_err());
    }

    #[test]
    fn bad_memory_is_an_error_not_a_panic_or_an_allocation() {
        let list = Ty::List(Box::new(Ty::U64));
        let mut bytes = vec![0u8; 16];
        bytes[0..4].copy_from_slice(&8u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            load(&list, &bytes, 0),
            Err(AbiError(
                "4294967295 bytes at 8 are outside the memory (16 bytes)".into()
            ))
        );
        bytes[0] = 7;
        assert_eq!(
            load(&config_get(), &bytes, 0),
            Err(AbiError("case 7 of a variant of 2 cases".into()))
        );
        bytes[0..4].copy_from_slice(&0xd800u32.to_le_bytes());
        assert_eq!(
            load(&Ty::Char, &bytes, 0),
            Err(AbiError("0xd800 is not a char".into()))
        );
    }
}
