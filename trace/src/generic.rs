//! Events of the interfaces recorded from their WIT alone (the generic path, for every import
//! without a hand-written module: `wasi:config`, `wasi:keyvalue`, `wasi:logging`, a plugin's own
//! host API, …; see `composer/src/generic.rs`).
//!
//! All of them share one call, [`crate::generic::Called`]: the number of a function in the trace
//! header's table ([`crate::Header::generic`], a [`crate::generic::Function`] each: its
//! interface, name, and the WIT types of its parameters and result), the arguments the app
//! passed, which replay checks, and the result the host returned, which replay gives back; and
//! [`crate::generic::Dropped`], a resource handle the app dropped. Values are
//! [`crate::abi::Val`]s, read from and written to the canonical ABI by [`crate::abi`];
//! [`crate::generic::Function::call_text`] and [`crate::generic::wave`] print them in WAVE, the
//! WebAssembly value encoding that `wasmtime run --invoke` reads.

use crate::abi::{Ty, Val};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::RwLock;
use wasm_wave::value::{Type as WaveType, Value as WaveValue};
use wasm_wave::wasm::WasmValue;

/// A WIT type as the trace header keeps it, with the names of its fields, cases and flags;
/// [`WitType::layout`] reduces it to its canonical ABI layout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)] // one variant per WIT type of the same name
pub enum WitType {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    /// `list<T>`.
    List(Box<WitType>),
    /// A `record`: its fields' names and types, in order.
    Record(Vec<(String, WitType)>),
    /// `tuple<…>`.
    Tuple(Vec<WitType>),
    /// A `variant`: its cases' names and payload types.
    Variant(Vec<(String, Option<WitType>)>),
    /// An `enum`: its cases' names.
    Enum(Vec<String>),
    /// `option<T>`.
    Option(Box<WitType>),
    /// `result<T, E>`, either side possibly absent.
    Result(Option<Box<WitType>>, Option<Box<WitType>>),
    /// `flags`: their names.
    Flags(Vec<String>),
    /// `own<R>`: `resource` is R's number among the forwarded interfaces' resources, `name`
    /// its name (`bucket`).
    Own { resource: u32, name: String },
    /// `borrow<R>`.
    Borrow { resource: u32, name: String },
}

impl WitType {
    /// The canonical ABI layout of this type.
    pub fn layout(&self) -> Ty {
        let opt = |t: &Option<Box<WitType>>| t.as_deref().map(WitType::layout);
        match self {
            WitType::Bool => Ty::Bool,
            WitType::S8 => Ty::S8,
            WitType::U8 => Ty::U8,
            WitType::S16 => Ty::S16,
            WitType::U16 => Ty::U16,
            WitType::S32 => Ty::S32,
            WitType::U32 => Ty::U32,
            WitType::S64 => Ty::S64,
            WitType::U64 => Ty::U64,
            WitType::F32 => Ty::F32,
            WitType::F64 => Ty::F64,
            WitType::Char => Ty::Char,
            WitType::String => Ty::String,
            WitType::List(t) => Ty::List(Box::new(t.layout())),
            WitType::Record(fields) => Ty::Record(fields.iter().map(|(_, t)| t.layout()).collect()),
            WitType::Tuple(types) => Ty::Record(types.iter().map(WitType::layout).collect()),
            WitType::Variant(cases) => Ty::Variant(
                cases
                    .iter()
                    .map(|(_, t)| t.as_ref().map(WitType::layout))
                    .collect(),
            ),
            WitType::Enum(cases) => Ty::Variant(vec![None; cases.len()]),
            WitType::Option(t) => Ty::Variant(vec![None, Some(t.layout())]),
            WitType::Result(ok, err) => Ty::Variant(vec![opt(ok), opt(err)]),
            WitType::Flags(names) => Ty::Flags(names.len() as u32),
            WitType::Own { resource, .. } => Ty::Own(*resource),
            WitType::Borrow { resource, .. } => Ty::Borrow(*resource),
        }
    }

    /// The same type for wasm-wave, or `None` when WAVE has no such type (an empty tuple).
    fn wave(&self) -> Option<WaveType> {
        let opt = |t: &Option<Box<WitType>>| match t {
            Some(t) => t.wave().map(Some),
            None => Some(None),
        };
        Some(match self {
            WitType::Bool => WaveType::BOOL,
            WitType::S8 => WaveType::S8,
            WitType::U8 => WaveType::U8,
            WitType::S16 => WaveType::S16,
            WitType::U16 => WaveType::U16,
            WitType::S32 => WaveType::S32,
            WitType::U32 => WaveType::U32,
            WitType::S64 => WaveType::S64,
            WitType::U64 => WaveType::U64,
            WitType::F32 => WaveType::F32,
            WitType::F64 => WaveType::F64,
            WitType::Char => WaveType::CHAR,
            WitType::String => WaveType::STRING,
            WitType::List(t) => WaveType::list(t.wave()?),
            WitType::Record(fields) => WaveType::record(
                fields
                    .iter()
                    .map(|(n, t)| Some((n.as_str(), t.wave()?)))
                    .collect::<Option<Vec<_>>>()?,
            )?,
            WitType::Tuple(types) => {
                WaveType::tuple(types.iter().map(WitType::wave).collect::<Option<Vec<_>>>()?)?
            }
            WitType::Variant(cases) => WaveType::variant(
                cases
                    .iter()
                    .map(|(n, t)| {
                        let payload = match t {
                            Some(t) => Some(t.wave()?),
                            None => None,
                        };
                        Some((n.as_str(), payload))
                    })
                    .collect::<Option<Vec<_>>>()?,
            )?,
            WitType::Enum(cases) => WaveType::enum_ty(cases.iter().map(String::as_str))?,
            WitType::Option(t) => WaveType::option(t.wave()?),
            WitType::Result(ok, err) => WaveType::result(opt(ok)?, opt(err)?),
            WitType::Flags(names) => WaveType::flags(names.iter().map(String::as_str))?,
            // WAVE has no syntax for handles: a marked string, unmarked by `wave`.
            WitType::Own { .. } | WitType::Borrow { .. } => WaveType::STRING,
        })
    }
}

/// `val` (of `ty`) as a wasm-wave value of `wave` (`ty`'s wasm-wave type), or `None` when it is
/// not a value of `ty`.
fn wave_value(ty: &WitType, wave: &WaveType, val: &Val) -> Option<WaveValue> {
    use wasm_wave::wasm::WasmType;
    Some(match (ty, val) {
        (WitType::Bool, Val::Bool(v)) => WaveValue::make_bool(*v),
        (WitType::S8, Val::S8(v)) => WaveValue::make_s8(*v),
        (WitType::U8, Val::U8(v)) => WaveValue::make_u8(*v),
        (WitType::S16, Val::S16(v)) => WaveValue::make_s16(*v),
        (WitType::U16, Val::U16(v)) => WaveValue::make_u16(*v),
        (WitType::S32, Val::S32(v)) => WaveValue::make_s32(*v),
        (WitType::U32, Val::U32(v)) => WaveValue::make_u32(*v),
        (WitType::S64, Val::S64(v)) => WaveValue::make_s64(*v),
        (WitType::U64, Val::U64(v)) => WaveValue::make_u64(*v),
        (WitType::F32, Val::F32(v)) => WaveValue::make_f32(*v),
        (WitType::F64, Val::F64(v)) => WaveValue::make_f64(*v),
        (WitType::Char, Val::Char(v)) => WaveValue::make_char(*v),
        (WitType::String, Val::String(v)) => WaveValue::make_string(v.into()),
        (WitType::List(t), Val::List(items)) => {
            let elem = wave.list_element_type()?;
            let items: Option<Vec<_>> = items.iter().map(|v| wave_value(t, &elem, v)).collect();
            WaveValue::make_list(wave, items?).ok()?
        }
        (WitType::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => {
            let types: Vec<_> = wave.record_fields().map(|(_, t)| t).collect();
            let mut out = Vec::new();
            for (((name, t), w), v) in fields.iter().zip(&types).zip(vals) {
                out.push((name.as_str(), wave_value(t, w, v)?));
            }
            WaveValue::make_record(wave, out).ok()?
        }
        (WitType::Tuple(types), Val::Record(vals)) if types.len() == vals.len() => {
            let waves: Vec<_> = wave.tuple_element_types().collect();
            let mut out = Vec::new();
            for ((t, w), v) in types.iter().zip(&waves).zip(vals) {
                out.push(wave_value(t, w, v)?);
            }
            WaveValue::make_tuple(wave, out).ok()?
        }
        (WitType::Variant(cases), Val::Variant(n, payload)) => {
            let (name, _) = cases.get(*n as usize)?;
            let waves: Vec<_> = wave.variant_cases().map(|(_, t)| t).collect();
            let value = match (&cases[*n as usize].1, payload) {
                (Some(t), Some(v)) => Some(wave_value(t, waves.get(*n as usize)?.as_ref()?, v)?),
                (None, None) => None,
                _ => return None,
            };
            WaveValue::make_variant(wave, name, value).ok()?
        }
        (WitType::Enum(cases), Val::Variant(n, None)) => {
            WaveValue::make_enum(wave, cases.get(*n as usize)?).ok()?
        }
        (WitType::Option(t), Val::Variant(0, None)) => {
            let _ = t;
            WaveValue::make_option(wave, None).ok()?
        }
        (WitType::Option(t), Val::Variant(1, Some(v))) => {
            let inner = wave_value(t, &wave.option_some_type()?, v)?;
            WaveValue::make_option(wave, Some(inner)).ok()?
        }
        (WitType::Result(ok, err), Val::Variant(n @ (0 | 1), payload)) => {
            let (ok_ty, err_ty) = wave.result_types()?;
            let (t, w) = if *n == 0 { (ok, ok_ty) } else { (err, err_ty) };
            let value = match (t, w, payload) {
                (Some(t), Some(w), Some(v)) => Some(wave_value(t, &w, v)?),
                (None, None, None) => None,
                _ => return None,
            };
            let result = if *n == 0 { Ok(value) } else { Err(value) };
            WaveValue::make_result(wave, result).ok()?
        }
        (WitType::Flags(names), Val::Flags(words)) => {
            let set = names
                .iter()
                .enumerate()
                .filter(|(i, _)| words.get(i / 32).is_some_and(|w| w & (1 << (i % 32)) != 0))
                .map(|(_, n)| n.as_str());
            WaveValue::make_flags(wave, set).ok()?
        }
        (WitType::Own { name, .. } | WitType::Borrow { name, .. }, Val::Handle(n)) => {
            WaveValue::make_string(format!("{HANDLE_OPEN}{name}#{n}{HANDLE_CLOSE}").into())
        }
        _ => return None,
    })
}

/// The marks around a handle's text (`bucket#0`) in the WAVE string that stands for it.
const HANDLE_OPEN: &str = "\u{27e6}";
const HANDLE_CLOSE: &str = "\u{27e7}";

/// `val`, a value of `ty`, in WAVE (`ok(some("42"))`), and a resource handle as its resource's
/// name and number (`bucket#0`, which WAVE has no syntax for); a value that is not one of `ty`
/// (a damaged trace) is shown as it is stored, marked so.
pub fn wave(ty: &WitType, val: &Val) -> String {
    ty.wave()
        .and_then(|w| wave_value(ty, &w, val))
        .and_then(|v| wasm_wave::to_string(&v).ok())
        .map(|text| {
            text.replace(&format!("\"{HANDLE_OPEN}"), "")
                .replace(&format!("{HANDLE_CLOSE}\""), "")
        })
        .unwrap_or_else(|| format!("<not a value of its type: {val:?}>"))
}

/// A function recorded generically, as the trace header lists it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct Function {
    /// The interface, as the app imports it: `wasi:config/store@0.2.0-rc.1`.
    pub interface: String,
    /// The function's name in the interface: `get`.
    pub name: String,
    /// Its parameters' names and types, in order.
    pub params: Vec<(String, WitType)>,
    /// Its result's type, if it has one.
    pub result: Option<WitType>,
    /// Whether the function is one the app exports (a library component's, called by the
    /// host: [`Invoked`] and [`Returned`]) rather than imports ([`Called`]); `interface` is
    /// empty for a function the app's world exports itself. New in format 6.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub export: bool,
    /// For a function that returns a `stream<T>` of values other than bytes (WASI 0.3's
    /// `descriptor.read-directory`: `directory-entry`), `T`: the type of the values of its
    /// [`StreamValues`] events. New in format 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<WitType>,
    /// For a function recorded by [`Opened`] (WASI 0.3's `wasi:http` `request.new`,
    /// `consume-body`: it returns handles beside a future), the type of its future's value:
    /// its [`Finished`]'s answer, whose type is otherwise [`Function::result`] (which is then
    /// what [`Opened`] answers). New in format 11.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub future: Option<WitType>,
}

impl Function {
    /// `interface.name` without the interface's version: `wasi:config/store.get`; the name
    /// alone for a function of the app's world (`tally`).
    pub fn qualified_name(&self) -> String {
        if self.interface.is_empty() {
            return self.name.clone();
        }
        let interface = self
            .interface
            .rsplit_once('@')
            .map_or(self.interface.as_str(), |(i, _)| i);
        format!("{interface}.{}", self.name)
    }

    /// A call with `args`, in WAVE: `wasi:config/store.get("seed")`.
    pub fn call_text(&self, args: &[Val]) -> String {
        let args: Vec<String> = self
            .params
            .iter()
            .zip(args)
            .map(|((_, t), v)| wave(t, v))
            .collect();
        format!("{}({})", self.qualified_name(), args.join(", "))
    }

    /// Its result `result`, in WAVE (`ok(some("42"))`); empty for a function without one.
    pub fn result_text(&self, result: &Option<Val>) -> String {
        value_text(self.result.as_ref(), result)
    }

    /// The type of its [`Finished`]'s answer: its future's value ([`Function::future`]) or,
    /// for a function that has none, its result.
    pub fn finished_type(&self) -> Option<&WitType> {
        self.future.as_ref().or(self.result.as_ref())
    }

    /// How `actual` (the arguments of a call being replayed) differs from `recorded`: the
    /// first parameter whose value differs, by name, with both values in WAVE.
    pub fn difference(&self, recorded: &[Val], actual: &[Val]) -> Option<String> {
        self.params
            .iter()
            .zip(recorded.iter().zip(actual))
            .find(|(_, (r, a))| r != a)
            .map(|((name, t), (r, a))| {
                format!(
                    "argument `{name}` of {} is {} (recorded: {})",
                    self.qualified_name(),
                    wave(t, a),
                    wave(t, r)
                )
            })
    }
}

crate::event::interface! {
    Generic = 96;
    /// A call of a function recorded generically: function number `function` of the trace
    /// header's `generic` table, with the arguments the app passed (checked on replay); the
    /// answer is the function's result, if it has one. Values are shown in WAVE.
    Called {
        /// The function's index in the header's `generic` table, from 0.
        function: u32,
        /// The arguments, one per parameter.
        args: Vec<Val>,
    } -> Option<Val>;
    /// The app dropped its handle number `handle` of resource type `resource` (numbered as in
    /// the header's `generic` table's types), which the host then dropped too. Recorded for
    /// people, not replayed: a replay skips it (a garbage-collected app may drop its handles
    /// at other times).
    Dropped {
        /// The resource type's number.
        resource: u32,
        /// The handle's number, among its resource's, in the order they were created.
        handle: u32,
    } -> ();
    /// The host called function number `function` of the header's `generic` table, which a
    /// library component exports, with these arguments; recorded before the app runs it (so
    /// that a call that traps is in the trace). A replay makes the same call (format 6).
    Invoked {
        /// The function's index in the header's `generic` table.
        function: u32,
        /// The arguments, one per parameter.
        args: Vec<Val>,
    } -> ();
    /// The exported function number `function` returned `result` to the host (checked on
    /// replay: another result is a divergence). Format 6.
    Returned {
        /// The function's index in the header's `generic` table.
        function: u32,
        /// What it returned, if it returns anything.
        result: Option<Val>,
    } -> ();
    /// The app called function number `function`, an async function (WASI 0.3's
    /// `monotonic-clock.wait-for`), with these arguments (checked on replay). The call runs
    /// as subtask number `task` (numbered from 0, in the order the app started them) until
    /// it is [`Finished`], while the app goes on with other work. Format 8.
    Started {
        /// The subtask's number.
        task: u32,
        /// The function's index in the header's `generic` table.
        function: u32,
        /// The arguments, one per parameter.
        args: Vec<Val>,
    } -> ();
    /// The host completed subtask number `task` (a call of function number `function` that
    /// [`Started`] earlier); the answer is the function's result, if it has one. Where this
    /// event lies in the trace is when the app learnt of it, among its other events: a replay
    /// completes the subtask at the same place, so that concurrent calls finish in the
    /// recorded order. Format 8.
    Finished {
        /// The subtask's number.
        task: u32,
        /// The function's index in the header's `generic` table.
        function: u32,
    } -> Option<Val>;
    /// The app cancelled subtask number `task` (a call of function number `function` that
    /// [`Started`] earlier: a Rust future of it dropped, as `select` does with the loser), and
    /// the host's call was cancelled before it completed; the subtask returns nothing. A replay
    /// cancels it at the same place. Format 8.
    Cancelled {
        /// The subtask's number.
        task: u32,
        /// The function's index in the header's `generic` table.
        function: u32,
    } -> ();
    /// The app wrote these bytes into the `stream<u8>` it passed to subtask number `task`
    /// (WASI 0.3's `descriptor.write-via-stream`, a TCP socket's `send`), as one read of the
    /// stream took them (at most 16,288 bytes). Output, not a call the app waits on: kept for
    /// `show` and tests, and skipped by a replay. Format 9.
    StreamWrote {
        /// The subtask's number.
        task: u32,
        /// The bytes.
        data: crate::Bytes,
    } -> ();
    /// The `stream<u8>` that subtask number `task` returned to the app (WASI 0.3's
    /// `wasi:cli/stdin.read-via-stream`, a file's or a TCP socket's) gave it these bytes, in
    /// one read of the host's stream (at most 16,288 bytes). Where this event lies in the trace is when the bytes came,
    /// among the app's other events: a replay hands the app the same bytes at the same place.
    /// No bytes: the stream (of bytes or of [`StreamValues`]) ended here for the app (`task
    /// N: ended`; format 10: in format 9, the stream ends where the subtask's [`Finished`]
    /// comes, which may be later). Format 9.
    StreamRead {
        /// The subtask's number.
        task: u32,
        /// The bytes.
        data: crate::Bytes,
    } -> ();
    /// The app called function number `function`, which returns handles beside a future, or
    /// takes or returns streams and futures besides values (WASI 0.3's `wasi:http`
    /// `request.new`, `response.consume-body`), with these arguments (without its streams and
    /// futures; checked on replay). The answer is what it returned at once besides them (the
    /// handles, of type [`Function::result`]); its streams' chunks ([`StreamWrote`],
    /// [`StreamRead`]) and its future's value ([`Finished`], of type [`Function::future`])
    /// come later as subtask number `task`'s. Format 11.
    Opened {
        /// The subtask's number.
        task: u32,
        /// The function's index in the header's `generic` table.
        function: u32,
        /// The arguments, one per parameter.
        args: Vec<Val>,
    } -> Option<Val>;
    /// The `stream<T>` of values other than bytes that subtask number `task`, a call of
    /// function number `function`, returned to the app (WASI 0.3's
    /// `descriptor.read-directory`) gave it these values, in one read of the host's stream.
    /// Their type is the function's [`Function::stream`]. Like [`StreamRead`]'s bytes, a
    /// replay hands the app the same values at the same place. Format 10.
    StreamValues {
        /// The subtask's number.
        task: u32,
        /// The function's index in the header's `generic` table.
        function: u32,
        /// The values, in the order the stream gave them.
        values: Vec<Val>,
    } -> ();
}

/// The name of resource type `resource` in the registered table, if it is there.
fn resource_name(resource: u32) -> Option<String> {
    fn find(t: &WitType, resource: u32) -> Option<String> {
        let opt = |t: &Option<Box<WitType>>| t.as_deref().and_then(|t| find(t, resource));
        match t {
            WitType::Own { resource: r, name } | WitType::Borrow { resource: r, name }
                if *r == resource =>
            {
                Some(name.clone())
            }
            WitType::List(t) | WitType::Option(t) => find(t, resource),
            WitType::Record(fields) => fields.iter().find_map(|(_, t)| find(t, resource)),
            WitType::Tuple(types) => types.iter().find_map(|t| find(t, resource)),
            WitType::Variant(cases) => cases
                .iter()
                .find_map(|(_, t)| t.as_ref().and_then(|t| find(t, resource))),
            WitType::Result(ok, err) => opt(ok).or_else(|| opt(err)),
            _ => None,
        }
    }
    let table = TABLE.read().unwrap_or_else(|e| e.into_inner());
    table.iter().find_map(|f| {
        f.params
            .iter()
            .map(|(_, t)| t)
            .chain(&f.result)
            .chain(&f.future)
            .find_map(|t| find(t, resource))
    })
}

/// The table of generic functions of the last trace read in this process (by
/// [`crate::Reader::new`], [`crate::Trace::from_json`] or a [`crate::JsonWriter`]), with which
/// events print their functions by name and their values in WAVE wherever they are shown
/// (`show`, a divergence, `diff`, a timeline).
static TABLE: RwLock<Vec<Function>> = RwLock::new(Vec::new());

/// Makes `functions` (a trace header's [`crate::Header::generic`]) the table events are
/// printed with; a header without generic functions leaves it as it is.
pub fn register(functions: &[Function]) {
    if !functions.is_empty() {
        *TABLE.write().unwrap_or_else(|e| e.into_inner()) = functions.to_vec();
    }
}

/// `f` of the registered function number `function`, if there is one.
fn with_function<R>(function: u32, f: impl FnOnce(&Function) -> R) -> Option<R> {
    let table = TABLE.read().unwrap_or_else(|e| e.into_inner());
    table.get(function as usize).map(f)
}

/// Whether the registered function number `function` is `name` of an interface whose full
/// name starts with `interface` (`wasi:cli/environment@0.3.`).
pub(crate) fn is_function(function: u32, interface: &str, name: &str) -> bool {
    with_function(function, |f| f.name == name && f.interface.starts_with(interface))
        .unwrap_or(false)
}

/// The event `call -> answer` in WAVE (`wasi:config/store.get("seed") -> ok(some("42"))`), when
/// its function is in the registered table.
pub(crate) fn event_text(call: &Called, answer: &Option<Val>) -> Option<String> {
    with_function(call.function, |f| {
        let result = f.result_text(answer);
        let call = f.call_text(&call.args);
        if result.is_empty() {
            call
        } else {
            format!("{call} -> {result}")
        }
    })
}

/// `value` of type `ty`, in WAVE; empty for no value of no type.
fn value_text(ty: Option<&WitType>, value: &Option<Val>) -> String {
    match (ty, value) {
        (Some(t), Some(v)) => wave(t, v),
        (None, None) => String::new(),
        (_, other) => format!("<not its result: {other:?}>"),
    }
}

/// The event `task N: F(ARGS) opened -> RESULT` of an [`Opened`] call, in WAVE, when its
/// function is in the registered table.
pub(crate) fn opened_text(call: &Opened, answer: &Option<Val>) -> Option<String> {
    with_function(call.function, |f| {
        let text = format!("task {}: {} opened", call.task, f.call_text(&call.args));
        match f.result_text(answer) {
            r if r.is_empty() => text,
            r => format!("{text} -> {r}"),
        }
    })
}

/// The event `task N: F returned -> RESULT` of a [`Finished`] subtask, in WAVE
/// (`task 1: wasi:clocks/monotonic-clock.wait-for returned`), when its function is in the
/// registered table.
pub(crate) fn finished_text(call: &Finished, answer: &Option<Val>) -> Option<String> {
    with_function(call.function, |f| {
        let name = f.qualified_name();
        match value_text(f.finished_type(), answer) {
            r if r.is_empty() => format!("task {}: {name} returned", call.task),
            r => format!("task {}: {name} returned -> {r}", call.task),
        }
    })
}

/// A library component's export call and what it returned, in WAVE
/// (`acme:text/codec.encode("hi") -> {text: "hi", nonce: 7}`), as a replay prints it; the
/// function by number when it is not in the registered table.
pub fn export_text(function: u32, args: &[Val], result: &Option<Val>) -> String {
    with_function(function, |f| {
        let call = f.call_text(args);
        match f.result_text(result) {
            r if r.is_empty() => call,
            r => format!("{call} -> {r}"),
        }
    })
    .unwrap_or_else(|| format!("export #{function}{args:?} -> {result:?}"))
}

impl Dropped {
    /// `bucket#0`, or `resource #0 handle #0` without the table.
    fn handle_text(&self) -> String {
        match resource_name(self.resource) {
            Some(name) => format!("{name}#{}", self.handle),
            None => format!("resource #{} handle #{}", self.resource, self.handle),
        }
    }
}

impl Call {
    /// Where the recorded call `self` and the app's call `actual` differ: the parameter, by
    /// name, with both values in WAVE ([`Function::difference`]), when both call the same
    /// function of the registered table.
    pub fn difference(&self, actual: &Call) -> Option<String> {
        match (self, actual) {
            (
                Call::Called(Called { function, args }),
                Call::Called(Called {
                    function: other,
                    args: actual,
                }),
            )
            | (
                Call::Invoked(Invoked { function, args }),
                Call::Invoked(Invoked {
                    function: other,
                    args: actual,
                }),
            )
            | (
                Call::Started(Started { function, args, .. }),
                Call::Started(Started {
                    function: other,
                    args: actual,
                    ..
                }),
            )
            | (
                Call::Opened(Opened { function, args, .. }),
                Call::Opened(Opened {
                    function: other,
                    args: actual,
                    ..
                }),
            ) if function == other => {
                with_function(*function, |f| f.difference(args, actual)).flatten()
            }
            (Call::Returned(r), Call::Returned(a)) if r.function == a.function => {
                with_function(r.function, |f| {
                    format!(
                        "{} returned {} (recorded: {})",
                        f.qualified_name(),
                        f.result_text(&a.result),
                        f.result_text(&r.result)
                    )
                })
            }
            _ => None,
        }
    }
}

impl Call {
    /// The subtask this event belongs to (its `task`), and whether the app's call starts it
    /// (`started`, `opened`), rather than the host (or the trace) completing part of it (a
    /// chunk, the stream's end, the value, the cancellation); `None` for the generic path's
    /// other events.
    pub fn subtask(&self) -> Option<(u32, bool)> {
        match self {
            Call::Started(c) => Some((c.task, true)),
            Call::Opened(c) => Some((c.task, true)),
            Call::Finished(c) => Some((c.task, false)),
            Call::Cancelled(c) => Some((c.task, false)),
            Call::StreamWrote(c) => Some((c.task, false)),
            Call::StreamRead(c) => Some((c.task, false)),
            Call::StreamValues(c) => Some((c.task, false)),
            _ => None,
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Called(c) => match with_function(c.function, |func| func.call_text(&c.args)) {
                Some(text) => f.write_str(&text),
                // Without the header's table: the function by number, the values as stored.
                None => write!(f, "generic function #{}{:?}", c.function, c.args),
            },
            Call::Dropped(d) => write!(f, "drop {}", d.handle_text()),
            Call::Invoked(c) => match with_function(c.function, |func| func.call_text(&c.args)) {
                Some(text) => write!(f, "export call {text}"),
                None => write!(f, "export call #{}{:?}", c.function, c.args),
            },
            Call::Started(c) => match with_function(c.function, |func| func.call_text(&c.args)) {
                Some(text) => write!(f, "task {}: {text} started", c.task),
                None => write!(f, "task {}: generic function #{}{:?} started", c.task, c.function, c.args),
            },
            Call::Opened(c) => match with_function(c.function, |func| func.call_text(&c.args)) {
                Some(text) => write!(f, "task {}: {text} opened", c.task),
                None => write!(f, "task {}: generic function #{}{:?} opened", c.task, c.function, c.args),
            },
            Call::Cancelled(c) => match with_function(c.function, |func| func.qualified_name()) {
                Some(name) => write!(f, "task {}: {name} cancelled", c.task),
                None => write!(f, "task {}: generic function #{} cancelled", c.task, c.function),
            },
            Call::StreamWrote(c) => {
                write!(f, "task {}: wrote {}", c.task, crate::text_preview(&c.data.0))
            }
            Call::StreamRead(c) if c.data.0.is_empty() => write!(f, "task {}: ended", c.task),
            Call::StreamRead(c) => {
                write!(f, "task {}: read {}", c.task, crate::text_preview(&c.data.0))
            }
            Call::StreamValues(c) => {
                let text = with_function(c.function, |func| {
                    func.stream.as_ref().map(|t| {
                        wave(&WitType::List(Box::new(t.clone())), &Val::List(c.values.clone()))
                    })
                });
                match text.flatten() {
                    Some(text) => write!(f, "task {}: read {text}", c.task),
                    None => write!(f, "task {}: read {:?}", c.task, c.values),
                }
            }
            Call::Finished(c) => match with_function(c.function, |func| func.qualified_name()) {
                Some(name) => write!(f, "task {}: {name} returned", c.task),
                None => write!(f, "task {}: generic function #{} returned", c.task, c.function),
            },
            Call::Returned(r) => match with_function(r.function, |func| {
                (func.qualified_name(), func.result_text(&r.result))
            }) {
                Some((name, result)) if result.is_empty() => write!(f, "export {name} returned"),
                Some((name, result)) => write!(f, "export {name} returned {result}"),
                None => write!(f, "export #{} returned {:?}", r.function, r.result),
            },
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Called(Some(v)) | Answer::Finished(Some(v)) | Answer::Opened(Some(v)) => {
                write!(f, "{v:?}")
            }
            Answer::Called(None)
            | Answer::Finished(None)
            | Answer::Opened(None)
            | Answer::Started(())
            | Answer::Cancelled(())
            | Answer::StreamWrote(())
            | Answer::StreamRead(())
            | Answer::StreamValues(())
            | Answer::Dropped(())
            | Answer::Invoked(())
            | Answer::Returned(()) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_get() -> Function {
        let error = WitType::Variant(vec![
            ("upstream".into(), Some(WitType::String)),
            ("io".into(), Some(WitType::String)),
        ]);
        Function {
            interface: "wasi:config/store@0.2.0-rc.1".into(),
            name: "get".into(),
            params: vec![("key".into(), WitType::String)],
            result: Some(WitType::Result(
                Some(Box::new(WitType::Option(Box::new(WitType::String)))),
                Some(Box::new(error)),
            )),
            export: false,
            stream: None,
            future: None,
        }
    }

    #[test]
    fn calls_and_results_print_in_wave() {
        let f = config_get();
        let some = |v: Val| Val::Variant(1, Some(Box::new(v)));
        let ok = |v: Val| Val::Variant(0, Some(Box::new(v)));
        assert_eq!(
            f.call_text(&[Val::String("seed".into())]),
            r#"wasi:config/store.get("seed")"#
        );
        assert_eq!(
            f.result_text(&Some(ok(some(Val::String("4\"2".into()))))),
            r#"ok(some("4\"2"))"#
        );
        let upstream = Val::Variant(1, Some(Box::new(Val::Variant(0, Some(Box::new(Val::String("down".into())))))));
        assert_eq!(f.result_text(&Some(upstream)), r#"err(upstream("down"))"#);
        let flags = WitType::Flags(vec!["read".into(), "write".into(), "exec".into()]);
        assert_eq!(wave(&flags, &Val::Flags(vec![0b101])), "{read, exec}");
        let point = WitType::Record(vec![("x".into(), WitType::F64), ("tag".into(), WitType::Char)]);
        assert_eq!(
            wave(&point, &Val::Record(vec![Val::F64(1.5), Val::Char('λ')])),
            "{x: 1.5, tag: 'λ'}"
        );
        assert_eq!(
            wave(&WitType::Enum(vec!["red".into(), "green".into()]), &Val::Variant(1, None)),
            "green"
        );
        let bucket = WitType::Own {
            resource: 0,
            name: "bucket".into(),
        };
        let opened = WitType::Result(Some(Box::new(bucket)), None);
        assert_eq!(
            wave(&opened, &Val::Variant(0, Some(Box::new(Val::Handle(3))))),
            "ok(bucket#3)"
        );
        assert_eq!(
            wave(&WitType::U8, &Val::String("x".into())),
            r#"<not a value of its type: String("x")>"#
        );
    }

    #[test]
    fn a_changed_argument_is_named_with_both_values() {
        let f = config_get();
        assert_eq!(
            f.difference(&[Val::String("seed".into())], &[Val::String("sead".into())]),
            Some(r#"argument `key` of wasi:config/store.get is "sead" (recorded: "seed")"#.into())
        );
        assert_eq!(f.difference(&[Val::String("a".into())], &[Val::String("a".into())]), None);
    }

    #[test]
    fn nans_replay_as_the_same_bits() {
        assert_eq!(Val::F64(f64::NAN), Val::F64(f64::NAN));
        assert_ne!(Val::F64(0.0), Val::F64(-0.0));
    }
}
