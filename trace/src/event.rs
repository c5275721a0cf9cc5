//! [`Event`]: one logged call, as `{call, answer}`; [`Request`], which ties a call to the type of
//! its answer; and `interface!`, with which every interface's module declares its calls.
//!
//! An interface's module (`clocks.rs`, `fs.rs`, …) lists its calls once, each with the
//! arguments replay checks and the type of the host's answer:
//!
//! ```text
//! interface! {
//!     Clocks;
//!     /// `monotonic-clock.subscribe-duration(when)`, `when` in ns.
//!     SubscribeDuration { when: u64 } -> ();
//! }
//! ```
//!
//! From that list the macro makes, in the module: one struct per call (`SubscribeDuration {
//! when }`), which implements [`Request`]; the interface's `Call` and `Answer` enums, one
//! variant per call and of the same name; and their binary and JSON forms. The module writes
//! by hand only how its calls and answers read (`Display` for `Call` and `Answer`), and
//! `lib.rs` registers it with one line.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One call the guest made through the interposer, and what the host answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The call, with the arguments replay checks.
    pub call: crate::Call,
    /// The host's answer, which replay returns.
    pub answer: crate::Answer,
}

/// A call of some interface (one of the structs `interface!` makes), and the type of its answer.
///
/// The interposer records and replays every call through this trait: it gives the call and,
/// recording, performs it; the answer comes back typed.
pub trait Request: Sized + Clone + PartialEq + Serialize + DeserializeOwned {
    /// What the host answers this call.
    type Answer: Serialize + DeserializeOwned;

    /// How the answer is stored in the binary form ([`crate::codec::Plain`] for most calls).
    type Stored: crate::codec::Store<Self::Answer>;

    /// The call's kind in the binary form: its interface's base plus its number there.
    const KIND: u32;

    /// The call as a [`crate::Call`].
    fn into_call(self) -> crate::Call;

    /// `answer` as a [`crate::Answer`].
    fn wrap_answer(answer: Self::Answer) -> crate::Answer;

    /// This call's answer out of an event's; the answer back when it answers another call.
    fn take_answer(answer: crate::Answer) -> Result<Self::Answer, crate::Answer>;

    /// `call` as this call, if it is one.
    fn of_call(call: &crate::Call) -> Option<&Self>;

    /// `call` as this call, if it is one, to change.
    fn of_call_mut(call: &mut crate::Call) -> Option<&mut Self>;

    /// `answer` as this call's answer, if it is one.
    fn of_answer(answer: &crate::Answer) -> Option<&Self::Answer>;

    /// `answer` as this call's answer, if it is one, to change.
    fn of_answer_mut(answer: &mut crate::Answer) -> Option<&mut Self::Answer>;

    /// The event of this call, answered by `answer`.
    fn into_event(self, answer: Self::Answer) -> Event {
        Event {
            call: self.into_call(),
            answer: Self::wrap_answer(answer),
        }
    }
}

/// A registered interface, as declared (see `lib.rs`): for documentation and tools.
#[derive(Debug)]
pub struct InterfaceSchema {
    /// Its name in the trace and the JSON form (`fs`), the module that declares it.
    pub name: &'static str,
    /// The binary form's kind of its first call.
    pub base: u32,
    /// The WIT interfaces it covers, in Markdown.
    pub doc: &'static str,
    /// Its calls, in declaration order: the kind of each is `base` plus its index.
    pub calls: &'static [CallSchema],
}

/// A call as declared by `interface!`.
#[derive(Debug)]
pub struct CallSchema {
    /// The Rust name (`OpenAt`); the JSON name is the same in kebab case (`open-at`).
    pub name: &'static str,
    /// What the call is, and what its answer holds, in Markdown.
    pub doc: &'static str,
    /// The arguments replay checks.
    pub fields: &'static [FieldSchema],
    /// The Rust type of the answer.
    pub answer: &'static str,
}

impl CallSchema {
    /// The name in JSON and in `wasm-rr show`: `open-at` for `OpenAt`.
    pub fn json_name(&self) -> String {
        crate::kebab(self.name)
    }
}

/// An argument of a call.
#[derive(Debug)]
pub struct FieldSchema {
    /// The Rust name (`path_flags`); in JSON, kebab case (`path-flags`).
    pub name: &'static str,
    /// The Rust type.
    pub ty: &'static str,
    /// What it holds (units, numbering), in Markdown; empty when the name says it.
    pub doc: &'static str,
}

impl FieldSchema {
    /// The name in JSON: `path-flags` for `path_flags`.
    pub fn json_name(&self) -> String {
        self.name.replace('_', "-")
    }
}

/// How many kinds the binary form has room for (every interface's base plus its calls is
/// below it).
pub(crate) const KINDS: usize = 512;

/// Decodes one event's binary form (after its kind): the call's fields, then the answer's.
pub(crate) type Decode = for<'a> fn(
    &'a [u8],
    &mut crate::codec::Readings,
    &mut &[u8],
) -> Result<(Event, &'a [u8]), String>;

/// [`Decode`] for the call `C`.
pub(crate) fn decode_one<'a, C: Request>(
    input: &'a [u8],
    readings: &mut crate::codec::Readings,
    column: &mut &[u8],
) -> Result<(Event, &'a [u8]), String> {
    use crate::codec::Store;
    let (call, rest) = postcard::take_from_bytes::<C>(input).map_err(|e| e.to_string())?;
    let (stored, rest) = postcard::take_from_bytes::<C::Answer>(rest).map_err(|e| e.to_string())?;
    let answer = C::Stored::load(stored, readings, column)?;
    Ok((call.into_event(answer), rest))
}

/// Where an event's binary form is written: a buffer on the stack ([`Slice`], postcard's fast
/// flavour, for the small events that are most of a trace) or a `Vec` (any size).
pub(crate) trait Sink {
    /// Appends the postcard form of `value`; false when it does not fit.
    fn put<T: Serialize + ?Sized>(&mut self, value: &T) -> bool;

    /// Appends an event's kind (a varint); false when it does not fit.
    #[inline]
    fn put_kind(&mut self, kind: u32) -> bool {
        self.put(&kind)
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn put<T: Serialize + ?Sized>(&mut self, value: &T) -> bool {
        let buf = std::mem::take(self);
        // Serialising into a Vec fails only when memory does.
        *self = postcard::to_extend(value, buf).expect("serialising an event into memory");
        true
    }
}

/// A fixed buffer being filled.
pub(crate) struct Slice<'a> {
    pub buf: &'a mut [u8],
    pub used: usize,
}

impl Sink for Slice<'_> {
    #[inline]
    fn put_kind(&mut self, kind: u32) -> bool {
        // Kinds below 128 are one byte (the varint of the number itself).
        match (u8::try_from(kind), self.buf.get_mut(self.used)) {
            (Ok(k @ 0..0x80), Some(slot)) => {
                *slot = k;
                self.used += 1;
                true
            }
            _ => self.put(&kind),
        }
    }

    #[inline]
    fn put<T: Serialize + ?Sized>(&mut self, value: &T) -> bool {
        match postcard::to_slice(value, &mut self.buf[self.used..]) {
            Ok(written) => {
                self.used += written.len();
                true
            }
            Err(_) => false,
        }
    }
}

/// Declares an interface's calls: see the module documentation.
macro_rules! interface {
    (
        $Top:ident = $base:literal;
        $(
            $(#[doc = $doc:literal])*
            $Name:ident { $( $(#[doc = $fdoc:literal])* $field:ident : $fty:ty ),* $(,)? }
                -> $Ans:ty $(, stored as $store:ty)?;
        )+
    ) => {
        /// The kind of this interface's first call in the binary form.
        pub const BASE: u32 = $base;

        $(
            $(#[doc = $doc])*
            // Fields named after the WIT parameter (`fd`, `path`, `socket`) are not documented
            // one by one; units and numbering are.
            #[allow(missing_docs)]
            #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
            #[serde(rename_all = "kebab-case", deny_unknown_fields)]
            pub struct $Name {
                $( $(#[doc = $fdoc])* pub $field: $fty, )*
            }

            impl $crate::Request for $Name {
                type Answer = $Ans;
                type Stored = $crate::event::stored_as!($($store)?);
                const KIND: u32 = BASE + Index::$Name as u32;

                #[inline]
                fn into_call(self) -> $crate::Call {
                    $crate::Call::$Top(Call::$Name(self))
                }

                #[inline]
                fn wrap_answer(answer: $Ans) -> $crate::Answer {
                    $crate::Answer::$Top(Answer::$Name(answer))
                }

                #[inline]
                fn take_answer(answer: $crate::Answer) -> Result<$Ans, $crate::Answer> {
                    match answer {
                        $crate::Answer::$Top(Answer::$Name(a)) => Ok(a),
                        other => Err(other),
                    }
                }

                fn of_call(call: &$crate::Call) -> Option<&Self> {
                    match call {
                        $crate::Call::$Top(Call::$Name(c)) => Some(c),
                        _ => None,
                    }
                }

                fn of_call_mut(call: &mut $crate::Call) -> Option<&mut Self> {
                    match call {
                        $crate::Call::$Top(Call::$Name(c)) => Some(c),
                        _ => None,
                    }
                }

                fn of_answer(answer: &$crate::Answer) -> Option<&$Ans> {
                    match answer {
                        $crate::Answer::$Top(Answer::$Name(a)) => Some(a),
                        _ => None,
                    }
                }

                fn of_answer_mut(answer: &mut $crate::Answer) -> Option<&mut $Ans> {
                    match answer {
                        $crate::Answer::$Top(Answer::$Name(a)) => Some(a),
                        _ => None,
                    }
                }
            }

            impl From<$Name> for Call {
                fn from(call: $Name) -> Call {
                    Call::$Name(call)
                }
            }
        )+

        /// A call of this interface, with the arguments replay checks.
        #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
        #[serde(rename_all = "kebab-case")]
        pub enum Call {
            $( $(#[doc = $doc])* $Name($Name), )+
        }

        /// What the host answered a [`Call`]: the variant of the same name.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Answer {
            $( $(#[doc = $doc])* $Name($Ans), )+
        }

        /// Every call of this interface as declared, in declaration order (kinds from the
        /// interface's base).
        pub const CALLS: &[$crate::event::CallSchema] = &[$(
            $crate::event::CallSchema {
                name: stringify!($Name),
                doc: concat!($($doc, "\n",)*),
                fields: &[$( $crate::event::FieldSchema {
                    name: stringify!($field),
                    ty: stringify!($fty),
                    doc: concat!($($fdoc, "\n",)*),
                }, )*],
                answer: stringify!($Ans),
            },
        )+];

        /// The calls' numbers, in declaration order.
        #[allow(non_camel_case_types, dead_code, clippy::enum_variant_names)]
        enum Index {
            $( $Name, )+
        }

        impl Call {
            /// How many calls the interface has.
            pub const COUNT: u32 = [$( Index::$Name as u32 ),+].len() as u32;

            /// The call's number within its interface (declaration order).
            pub fn index(&self) -> u32 {
                match self {
                    $( Call::$Name(_) => Index::$Name as u32, )+
                }
            }

            /// The call's name in the Rust types, e.g. `OpenAt`.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Call::$Name(_) => stringify!($Name), )+
                }
            }

            /// Appends the binary form of this call answered by `answer` to `out` (see
            /// `codec.rs`).
            ///
            /// Panics when `answer` answers another call (a bug in whoever made the event).
            pub(crate) fn encode(
                &self,
                answer: &Answer,
                encoder: &mut $crate::codec::Encoder,
                out: &mut Vec<u8>,
                column: &mut Vec<u8>,
            ) {
                match (self, answer) {
                    $( (Call::$Name(c), Answer::$Name(a)) => encoder.encode_parts(c, a, out, column), )+
                    #[allow(unreachable_patterns)]
                    _ => panic!(
                        "the answer {answer:?} does not answer the call {}",
                        self.name()
                    ),
                }
            }

            /// The answer to this call from its JSON form.
            pub(crate) fn answer_from_json(
                &self,
                value: serde_json::Value,
            ) -> Result<$crate::Answer, serde_json::Error> {
                match self {
                    $( Call::$Name(_) => serde_json::from_value::<$Ans>(value)
                        .map(<$Name as $crate::Request>::wrap_answer), )+
                }
            }
        }

        impl Answer {
            /// The answer's JSON form (without the call's name: the event's call says it).
            pub(crate) fn to_json(&self) -> serde_json::Value {
                let value = match self {
                    $( Answer::$Name(a) => serde_json::to_value(a), )+
                };
                // Answers are plain data: they always have a JSON form.
                value.expect("an answer serialises")
            }
        }

        /// Decoders of the calls' binary form, by [`Call::index`].
        pub(crate) const DECODE: &[$crate::event::Decode] =
            &[$( $crate::event::decode_one::<$Name> as $crate::event::Decode, )+];
    };
}

pub(crate) use interface;

/// How a call's answer is stored: as declared, or as it is ([`crate::codec::Plain`]).
macro_rules! stored_as {
    () => {
        $crate::codec::Plain
    };
    ($store:ty) => {
        $store
    };
}

pub(crate) use stored_as;

/// Registers the interfaces: each line `Name(module) = base` declares the module, makes
/// `Name(module::Call)` a variant of [`crate::Call`] and `Name(module::Answer)` one of
/// [`crate::Answer`], and gives the interface's calls the kinds `base..` in the binary form.
macro_rules! interfaces {
    ($( $(#[doc = $doc:literal])* $Top:ident($module:ident); )+) => {
        $( $(#[doc = $doc])* pub mod $module; )+

        /// Every interface as registered: its name in the trace (the module's), its base kind,
        /// what it covers, and its calls.
        pub const INTERFACES: &[$crate::event::InterfaceSchema] = &[$(
            $crate::event::InterfaceSchema {
                name: stringify!($module),
                base: $module::BASE,
                doc: concat!($($doc, "\n",)*),
                calls: $module::CALLS,
            },
        )+];

        /// A call the guest made, with the arguments replay checks: one interface's call.
        #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
        #[serde(rename_all = "kebab-case")]
        pub enum Call {
            $( $(#[doc = $doc])* $Top($module::Call), )+
        }

        /// What the host answered: one interface's answer, to a call of that interface.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Answer {
            $( $(#[doc = $doc])* $Top($module::Answer), )+
        }

        impl Call {
            /// The name of the call's interface in the trace (`clocks`, `fs`, …), as in
            /// [`INTERFACES`].
            pub fn interface(&self) -> &'static str {
                match self {
                    $( Call::$Top(_) => stringify!($module), )+
                }
            }
        }

        $(
            impl From<$module::Call> for Call {
                fn from(call: $module::Call) -> Call {
                    Call::$Top(call)
                }
            }
        )+

        impl Call {
            /// Appends the binary form of this call answered by `answer` to `out`. See each
            /// interface's `Call::encode`.
            pub(crate) fn encode(
                &self,
                answer: &Answer,
                encoder: &mut $crate::codec::Encoder,
                out: &mut Vec<u8>,
                column: &mut Vec<u8>,
            ) {
                match (self, answer) {
                    $( (Call::$Top(c), Answer::$Top(a)) => c.encode(a, encoder, out, column), )+
                    #[allow(unreachable_patterns)]
                    _ => panic!("the answer {answer:?} does not answer the call {self:?}"),
                }
            }

            /// See each interface's `Call::answer_from_json`.
            pub(crate) fn answer_from_json(
                &self,
                value: serde_json::Value,
            ) -> Result<Answer, serde_json::Error> {
                match self {
                    $( Call::$Top(c) => c.answer_from_json(value), )+
                }
            }
        }

        impl Answer {
            pub(crate) fn to_json(&self) -> serde_json::Value {
                match self {
                    $( Answer::$Top(a) => a.to_json(), )+
                }
            }
        }

        /// The decoders, by kind.
        const DECODERS: [Option<$crate::event::Decode>; $crate::event::KINDS] = {
            let mut table: [Option<$crate::event::Decode>; $crate::event::KINDS] =
                [None; $crate::event::KINDS];
            $(
                let mut i = 0;
                while i < $module::DECODE.len() {
                    table[$module::BASE as usize + i] = Some($module::DECODE[i]);
                    i += 1;
                }
            )+
            table
        };

        /// The decoder of the calls of kind `kind`, if it is one.
        #[inline]
        pub(crate) fn decoder(kind: u32) -> Option<$crate::event::Decode> {
            DECODERS.get(kind as usize).copied().flatten()
        }

        // Every interface's kinds fit below the next interface's base, and none is the repeat
        // marker.
        const _: () = {
            let bases = [$( $module::BASE ),+];
            let counts = [$( $module::Call::COUNT ),+];
            let mut i = 0;
            while i < bases.len() {
                let end = bases[i] + counts[i];
                assert!(i + 1 == bases.len() || end <= bases[i + 1], "interfaces overlap");
                let repeat = $crate::codec::REPEAT as u32;
                assert!(bases[i] > repeat || end <= repeat, "an interface holds the repeat kind");
                i += 1;
            }
        };

        impl std::fmt::Display for Call {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $( Call::$Top(c) => std::fmt::Display::fmt(c, f), )+
                }
            }
        }

        impl std::fmt::Display for Answer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $( Answer::$Top(a) => std::fmt::Display::fmt(a, f), )+
                }
            }
        }
    };
}

pub(crate) use interfaces;

impl Event {
    /// The event's call and answer, if it is a call `C`:
    /// `event.get::<random::GetRandomU64>()`.
    pub fn get<C: Request>(&self) -> Option<(&C, &C::Answer)> {
        Some((C::of_call(&self.call)?, C::of_answer(&self.answer)?))
    }

    /// The event's call and answer, to change, if it is a call `C`.
    pub fn get_mut<C: Request>(&mut self) -> Option<(&mut C, &mut C::Answer)> {
        Some((
            C::of_call_mut(&mut self.call)?,
            C::of_answer_mut(&mut self.answer)?,
        ))
    }

    /// Whether the event is a call `C`.
    pub fn is<C: Request>(&self) -> bool {
        C::of_call(&self.call).is_some()
    }
}

/// The one way an event reads, wherever it is printed (`wasm-rr show`, divergence reports):
/// `wasi:clocks/monotonic-clock.now() -> 5000000000 ns`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((c, a)) = self.get::<crate::generic::Called>()
            && let Some(text) = crate::generic::event_text(c, a)
        {
            return f.write_str(&text);
        }
        if let Some((c, a)) = self.get::<crate::generic::Finished>()
            && let Some(text) = crate::generic::finished_text(c, a)
        {
            return f.write_str(&text);
        }
        if let Some((c, a)) = self.get::<crate::generic::Opened>()
            && let Some(text) = crate::generic::opened_text(c, a)
        {
            return f.write_str(&text);
        }
        if self.is::<crate::generic::Dropped>()
            || self.is::<crate::streams::Wrote>()
            || self.is::<crate::generic::Invoked>()
            || self.is::<crate::generic::Returned>()
            || self.is::<crate::generic::Started>()
            || self.is::<crate::generic::Cancelled>()
            || self.is::<crate::generic::StreamWrote>()
            || self.is::<crate::generic::StreamRead>()
            || self.is::<crate::generic::StreamValues>()
        {
            return write!(f, "{}", self.call);
        }
        write!(f, "{} -> {}", self.call, self.answer)
    }
}

impl crate::Call {
    /// Where the recorded call `self` and the guest's call `actual` differ, in words, when a
    /// field-level account is clearer than the two calls side by side (a changed header).
    pub fn difference(&self, actual: &crate::Call) -> Option<String> {
        match (self, actual) {
            (crate::Call::Http(a), crate::Call::Http(b)) => a.difference(b),
            (crate::Call::Generic(a), crate::Call::Generic(b)) => a.difference(b),
            _ => None,
        }
    }
}

/// The JSON form of an event: `{"call": {"<interface>": {"<call>": {fields}}}, "answer": …}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEvent<C, A> {
    call: C,
    answer: A,
    /// A generic call and its answer in WAVE, for people (see `JsonWriter::event`); ignored
    /// when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wave: Option<String>,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let wave = match self.get::<crate::generic::Called>() {
            Some((c, a)) => crate::generic::event_text(c, a),
            None if self.is::<crate::generic::Finished>()
                || self.is::<crate::generic::Opened>() =>
            {
                Some(self.to_string())
            }
            None if self.is::<crate::generic::Invoked>()
                || self.is::<crate::generic::Returned>()
                || self.is::<crate::generic::Started>()
                || self.is::<crate::generic::Cancelled>()
                || self.is::<crate::generic::StreamValues>() =>
            {
                Some(self.call.to_string())
            }
            None => None,
        };
        JsonEvent {
            call: &self.call,
            answer: self.answer.to_json(),
            wave,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        let JsonEvent { call, answer, .. } =
            JsonEvent::<crate::Call, serde_json::Value>::deserialize(d)?;
        let answer = call.answer_from_json(answer).map_err(|e| {
            serde::de::Error::custom(format!("the answer to `{call}` does not fit it: {e}"))
        })?;
        Ok(Event { call, answer })
    }
}
