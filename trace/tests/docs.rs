//! The event reference in the book (`docs/src/events.md`) is generated from the interfaces'
//! declarations, so that it cannot go stale: this test fails when it differs, and
//! `WASM_RR_BLESS=1 cargo test -p wasm-rr-trace --test docs` writes it anew.

use std::fmt::Write;
use wasm_rr_trace::{CallSchema, INTERFACES};

/// A Rust type as `stringify!` gives it (`Result < Bytes, StreamError >`), as written.
fn ty(t: &str) -> String {
    t.replace(" < ", "<")
        .replace("< ", "<")
        .replace(" <", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
}

/// A doc comment on one line.
fn line(doc: &str) -> String {
    doc.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

fn arguments(call: &CallSchema) -> String {
    if call.fields.is_empty() {
        return "—".into();
    }
    call.fields
        .iter()
        .map(|f| {
            let mut a = format!("`{}`: `{}`", f.json_name(), ty(f.ty));
            let doc = line(f.doc);
            if !doc.is_empty() {
                let _ = write!(a, " ({})", doc.trim_end_matches('.'));
            }
            a
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn reference() -> String {
    let mut out = String::from(
        "# Events\n\n\
         Every event of a trace is a call of one of these interfaces and the host's answer. \
         This page is generated from their declarations in `trace/src/` (the module of each \
         interface's name), with `WASM_RR_BLESS=1 cargo test -p wasm-rr-trace --test docs`; \
         [The trace format](trace-format.md) says how events are stored.\n\n\
         In JSON an event is `{\"call\": {INTERFACE: {CALL: {ARGUMENTS}}}, \"answer\": ANSWER}`: \
         the interface's and the call's names as below, the arguments by name (in kebab case), \
         and the answer in its JSON form (see [The trace format](trace-format.md#json-form)). \
         In the binary form, the kind number stands for the interface and the call, and the \
         arguments and then the answer follow in the order given here.\n",
    );
    for i in INTERFACES {
        let last = i.base as usize + i.calls.len() - 1;
        let _ = write!(
            out,
            "\n## `{}`: kinds {} to {}\n\n{}\n\n| kind | call | arguments | answer | what |\n|---|---|---|---|---|\n",
            i.name,
            i.base,
            last,
            line(i.doc)
        );
        for (k, call) in i.calls.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | `{}` | {} |",
                i.base as usize + k,
                call.json_name(),
                arguments(call),
                ty(call.answer),
                line(call.doc).replace('|', "\\|"),
            );
        }
    }
    out
}

#[test]
fn the_event_reference_is_generated_from_the_declarations() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src/events.md");
    let now = reference();
    if std::env::var_os("WASM_RR_BLESS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == now,
        "{} is not what the declarations give; run `WASM_RR_BLESS=1 cargo test -p wasm-rr-trace --test docs`",
        path.display()
    );
}
