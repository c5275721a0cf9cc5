//! The generic path's imports in the test host of `wasm-rr test`: every function the app
//! imports from an interface beyond WASI's core (`wasi:keyvalue`, `wasi:config`, a platform's
//! API) is answered from the calls the trace recorded (`generic.called`), by matching: the
//! first recorded call of the same function with the same arguments not yet used, then, for a
//! repeat, the last such call again. A call with no match traps the app and fails the trace,
//! naming the call and the closest recorded one. Resources are the recorded handles' numbers
//! (wasmtime's dynamic host resources), so a handle the app got back from one call matches the
//! one recorded in the next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasm_rr_trace::abi::Val as V;
use wasm_rr_trace::generic::{Function, WitType};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceAny, ResourceDynamic, ResourceType, Val};
use wasmtime::{AsContextMut, Engine};
use wasmtime::{Result, bail, format_err as anyhow};

/// Interfaces the test host serves itself (wasmtime-wasi, wasmtime-wasi-http).
const CORE: &[&str] = &[
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "wasi:http/",
];

/// The generic calls a trace recorded, and those the app under test made.
#[derive(Default, Clone)]
pub struct Calls {
    /// The trace header's table of functions (shared, not copied, by every run and call).
    table: Arc<Vec<Function>>,
    /// Each recorded call: the function's number, its arguments and its result.
    recorded: Vec<(u32, Vec<V>, Option<V>)>,
    used: Vec<bool>,
    /// The calls the app made, as text, and whether a recorded one answered each.
    pub made: Vec<(String, Option<String>)>,
}

impl Calls {
    /// The calls in a trace with the header's `table`.
    pub fn new(table: Vec<Function>) -> Calls {
        Calls {
            table: Arc::new(table),
            ..Calls::default()
        }
    }

    /// Takes in a recorded call.
    pub fn push(&mut self, e: &wasm_rr_trace::Event) {
        if let Some((c, result)) = e.get::<wasm_rr_trace::generic::Called>() {
            // WASI 0.3's own calls are the test host's to answer (wasmtime-wasi, from the
            // inputs `recorded` reads out of them), not the matcher's.
            let core = self
                .table
                .get(c.function as usize)
                .is_some_and(|f| CORE.iter().any(|p| f.interface.starts_with(p)));
            if core {
                return;
            }
            self.recorded
                .push((c.function, c.args.clone(), result.clone()));
            self.used.push(false);
        }
    }

    /// The recorded calls no call of the app used, as text.
    pub fn unused(&self) -> Vec<String> {
        (0..self.recorded.len())
            .filter(|&i| !self.used[i])
            .map(|i| self.text(i))
            .collect()
    }

    fn text(&self, i: usize) -> String {
        let (f, args, _) = &self.recorded[i];
        match self.table.get(*f as usize) {
            Some(func) => func.call_text(args),
            None => format!("function {f}"),
        }
    }

    /// The table's number of the imported function `qualified` (`wasi:keyvalue/store.open`),
    /// and the table; `None` when the recording made no call of it, which is noted as a call
    /// with no recorded answer.
    fn function(&mut self, qualified: &str) -> Option<(usize, Arc<Vec<Function>>)> {
        let k = self
            .table
            .iter()
            .position(|f| !f.export && f.qualified_name() == qualified);
        if k.is_none() {
            self.made.push((format!("{qualified}(…)"), None));
        }
        Some((k?, self.table.clone()))
    }

    /// The recorded result of a call of function `k` with `args`, or why there is none.
    fn answer(&mut self, k: usize, args: &[V]) -> Result<Option<V>, String> {
        let text = self.table[k].call_text(args);
        let same = |(f, a, _): &(u32, Vec<V>, Option<V>)| *f as usize == k && a == args;
        let n = self.recorded.len();
        let found = (0..n)
            .find(|&i| !self.used[i] && same(&self.recorded[i]))
            .or_else(|| (0..n).rev().find(|&i| same(&self.recorded[i])));
        match found {
            Some(i) => {
                self.used[i] = true;
                self.made.push((text, Some(self.text(i))));
                Ok(self.recorded[i].2.clone())
            }
            None => {
                self.made.push((text.clone(), None));
                let closest = (0..n)
                    .find(|&i| !self.used[i] && self.recorded[i].0 as usize == k)
                    .or_else(|| (0..n).find(|&i| self.recorded[i].0 as usize == k));
                Err(match closest {
                    Some(i) => format!("{text} (the closest recorded: {})", self.text(i)),
                    None => text,
                })
            }
        }
    }
}

/// What the store gives the generic functions.
pub trait HasCalls {
    /// The trace's generic calls.
    fn calls(&self) -> Arc<Mutex<Calls>>;
}

/// Defines in `linker` every function and resource `component` imports from interfaces
/// beyond WASI's core, answered from the store's [`Calls`].
///
/// Errors: wasmtime refuses a definition.
pub fn define<T: HasCalls + 'static>(
    linker: &mut Linker<T>,
    engine: &Engine,
    component: &Component,
) -> Result<()> {
    let mut resources: HashMap<(String, String), u32> = HashMap::new();
    let mut seen: Vec<(wasmtime::component::types::ResourceType, u32)> = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(inst) = item.ty else {
            continue;
        };
        if CORE.iter().any(|c| name.starts_with(c)) {
            continue;
        }
        let iface = name.to_string();
        let unversioned = iface
            .rsplit_once('@')
            .map_or(iface.clone(), |(i, _)| i.to_string());
        let mut inst_linker = linker.instance(&iface)?;
        for (item_name, item) in inst.exports(engine) {
            match item.ty {
                ComponentItem::Resource(ty) => {
                    // A resource another interface defines (`use store.{bucket}`) is that one.
                    let n = match seen.iter().find(|(t, _)| *t == ty) {
                        Some((_, n)) => *n,
                        None => {
                            let n = seen.len() as u32;
                            seen.push((ty, n));
                            n
                        }
                    };
                    resources.insert((iface.clone(), item_name.to_string()), n);
                    inst_linker.resource(
                        item_name,
                        ResourceType::host_dynamic(n),
                        |_, _| Ok(()),
                    )?;
                }
                ComponentItem::ComponentFunc(_) => {}
                _ => {}
            }
        }
        let types = Arc::new(
            resources
                .iter()
                .filter(|((i, _), _)| *i == iface)
                .map(|((_, r), n)| (r.clone(), *n))
                .collect::<HashMap<String, u32>>(),
        );
        for (item_name, item) in inst.exports(engine) {
            if !matches!(item.ty, ComponentItem::ComponentFunc(_)) {
                continue;
            }
            let qualified = format!("{unversioned}.{item_name}");
            let types = types.clone();
            inst_linker.func_new(item_name, move |mut store, _ty, params, results| {
                let calls = store.data().calls();
                let found = calls
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .function(&qualified);
                let Some((k, table)) = found else {
                    bail!("wasm-rr test: {qualified}(…) has no recorded answer (the recording made no call of it)");
                };
                let func = &table[k];
                let args = func
                    .params
                    .iter()
                    .zip(params)
                    .map(|((_, t), v)| to_trace(t, v, &mut store))
                    .collect::<Result<Vec<V>>>()?;
                let result = calls
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .answer(k, &args)
                    .map_err(|why| anyhow!("wasm-rr test: no recorded answer to {why}"))?;
                match (&func.result, result, results.first_mut()) {
                    (Some(t), Some(v), Some(slot)) => *slot = to_wasmtime(t, &v, &types, &mut store)?,
                    (None, None, None) => {}
                    _ => bail!("wasm-rr test: the recorded answer to {qualified} is not of its type"),
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// `v`, a recorded value of type `ty`, as a wasmtime value; a handle becomes a host resource
/// whose representation is the handle's number (`types`: the resources' dynamic type numbers
/// by name).
pub fn to_wasmtime(
    ty: &WitType,
    v: &V,
    types: &HashMap<String, u32>,
    store: &mut impl AsContextMut,
) -> Result<Val> {
    let mut go = |t: &WitType, v: &V| to_wasmtime(t, v, types, &mut *store);
    Ok(match (ty, v) {
        (WitType::Bool, V::Bool(x)) => Val::Bool(*x),
        (WitType::S8, V::S8(x)) => Val::S8(*x),
        (WitType::U8, V::U8(x)) => Val::U8(*x),
        (WitType::S16, V::S16(x)) => Val::S16(*x),
        (WitType::U16, V::U16(x)) => Val::U16(*x),
        (WitType::S32, V::S32(x)) => Val::S32(*x),
        (WitType::U32, V::U32(x)) => Val::U32(*x),
        (WitType::S64, V::S64(x)) => Val::S64(*x),
        (WitType::U64, V::U64(x)) => Val::U64(*x),
        (WitType::F32, V::F32(x)) => Val::Float32(*x),
        (WitType::F64, V::F64(x)) => Val::Float64(*x),
        (WitType::Char, V::Char(x)) => Val::Char(*x),
        (WitType::String, V::String(x)) => Val::String(x.clone()),
        (WitType::List(t), V::List(items)) => {
            Val::List(items.iter().map(|i| go(t, i)).collect::<Result<_>>()?)
        }
        (WitType::Record(fields), V::Record(vals)) if fields.len() == vals.len() => Val::Record(
            fields
                .iter()
                .zip(vals)
                .map(|((n, t), v)| Ok((n.clone(), go(t, v)?)))
                .collect::<Result<_>>()?,
        ),
        (WitType::Tuple(ts), V::Record(vals)) if ts.len() == vals.len() => Val::Tuple(
            ts.iter()
                .zip(vals)
                .map(|(t, v)| go(t, v))
                .collect::<Result<_>>()?,
        ),
        (WitType::Variant(cases), V::Variant(n, payload)) => {
            let (name, t) = cases
                .get(*n as usize)
                .ok_or_else(|| anyhow!("no case {n}"))?;
            let payload = match (t, payload) {
                (Some(t), Some(p)) => Some(Box::new(go(t, p)?)),
                _ => None,
            };
            Val::Variant(name.clone(), payload)
        }
        (WitType::Enum(cases), V::Variant(n, None)) => Val::Enum(
            cases
                .get(*n as usize)
                .ok_or_else(|| anyhow!("no case {n}"))?
                .clone(),
        ),
        (WitType::Option(_), V::Variant(0, None)) => Val::Option(None),
        (WitType::Option(t), V::Variant(1, Some(p))) => Val::Option(Some(Box::new(go(t, p)?))),
        (WitType::Result(ok, err), V::Variant(n @ (0 | 1), payload)) => {
            let t = if *n == 0 { ok } else { err };
            let p = match (t, payload) {
                (Some(t), Some(p)) => Some(Box::new(go(t, p)?)),
                _ => None,
            };
            Val::Result(if *n == 0 { Ok(p) } else { Err(p) })
        }
        (WitType::Flags(names), V::Flags(words)) => Val::Flags(
            names
                .iter()
                .enumerate()
                .filter(|(i, _)| words.get(i / 32).is_some_and(|w| w & (1 << (i % 32)) != 0))
                .map(|(_, n)| n.clone())
                .collect(),
        ),
        (WitType::Own { name, .. } | WitType::Borrow { name, .. }, V::Handle(n)) => {
            let ty = *types
                .get(name)
                .ok_or_else(|| anyhow!("the app imports no resource `{name}`"))?;
            let r: ResourceAny =
                ResourceDynamic::new_own(*n, ty).try_into_resource_any(&mut *store)?;
            Val::Resource(r)
        }
        _ => bail!("a recorded value is not of its type"),
    })
}

/// `v`, a value of type `ty` the app passed, as the trace records values; a resource as its
/// handle's number.
pub fn to_trace(ty: &WitType, v: &Val, store: &mut impl AsContextMut) -> Result<V> {
    let mut go = |t: &WitType, v: &Val| to_trace(t, v, &mut *store);
    Ok(match (ty, v) {
        (_, Val::Bool(x)) => V::Bool(*x),
        (_, Val::S8(x)) => V::S8(*x),
        (_, Val::U8(x)) => V::U8(*x),
        (_, Val::S16(x)) => V::S16(*x),
        (_, Val::U16(x)) => V::U16(*x),
        (_, Val::S32(x)) => V::S32(*x),
        (_, Val::U32(x)) => V::U32(*x),
        (_, Val::S64(x)) => V::S64(*x),
        (_, Val::U64(x)) => V::U64(*x),
        (_, Val::Float32(x)) => V::F32(*x),
        (_, Val::Float64(x)) => V::F64(*x),
        (_, Val::Char(x)) => V::Char(*x),
        (_, Val::String(x)) => V::String(x.clone()),
        (WitType::List(t), Val::List(items)) => {
            V::List(items.iter().map(|i| go(t, i)).collect::<Result<_>>()?)
        }
        (WitType::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => V::Record(
            fields
                .iter()
                .zip(vals)
                .map(|((_, t), (_, v))| go(t, v))
                .collect::<Result<_>>()?,
        ),
        (WitType::Tuple(ts), Val::Tuple(vals)) if ts.len() == vals.len() => V::Record(
            ts.iter()
                .zip(vals)
                .map(|(t, v)| go(t, v))
                .collect::<Result<_>>()?,
        ),
        (WitType::Variant(cases), Val::Variant(name, payload)) => {
            let n = cases
                .iter()
                .position(|(c, _)| c == name)
                .ok_or_else(|| anyhow!("no case {name}"))?;
            let payload = match (&cases[n].1, payload) {
                (Some(t), Some(p)) => Some(Box::new(go(t, p)?)),
                _ => None,
            };
            V::Variant(n as u32, payload)
        }
        (WitType::Enum(cases), Val::Enum(name)) => V::Variant(
            cases
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| anyhow!("no case {name}"))? as u32,
            None,
        ),
        (WitType::Option(_), Val::Option(None)) => V::Variant(0, None),
        (WitType::Option(t), Val::Option(Some(p))) => V::Variant(1, Some(Box::new(go(t, p)?))),
        (WitType::Result(ok, err), Val::Result(r)) => {
            let (n, t, p) = match r {
                Ok(p) => (0, ok, p),
                Err(p) => (1, err, p),
            };
            let p = match (t, p) {
                (Some(t), Some(p)) => Some(Box::new(go(t, p)?)),
                _ => None,
            };
            V::Variant(n, p)
        }
        (WitType::Flags(names), Val::Flags(set)) => {
            let mut words = vec![0u32; names.len().div_ceil(32)];
            for (i, n) in names.iter().enumerate() {
                if set.contains(n) {
                    words[i / 32] |= 1 << (i % 32);
                }
            }
            V::Flags(words)
        }
        (WitType::Own { .. } | WitType::Borrow { .. }, Val::Resource(r)) => {
            V::Handle(ResourceDynamic::try_from_resource_any(*r, &mut *store)?.rep())
        }
        _ => bail!("a value the app passed is not of the recorded type"),
    })
}
