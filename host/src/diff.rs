//! `wasm-rr diff A B`: where two traces of one component part ways.
//!
//! Each trace is read once, one event at a time, keeping a hash of each event's text (its call
//! and answer, as `wasm-rr show` prints them) and its lane (`timeline::lane_name`): 16 bytes an
//! event. The two sequences are aligned with `similar`'s Myers diff, so an event that only one
//! run made shows as that one event, not as every later event differing. The events of the
//! first difference and those just before it are then read again for their text. Where both
//! traces keep what the app wrote (format 7), stdout and stderr that differ are shown as a
//! unified diff of their lines.

use crate::files::{TraceInput, file_name};
use anyhow::{Result, bail};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use wasm_rr_trace::StreamId;
use wasm_rr_trace::streams::Wrote;
use wasm_rr_trace::timeline::{lane_name, names_event};

/// The most events of one trace `diff` compares (16 bytes each in memory: 160 MiB).
pub const MAX_EVENTS: u64 = 10_000_000;
/// How long the alignment may take before `similar` settles for a coarser one (still
/// correct, with fewer events matched up).
const DEADLINE: Duration = Duration::from_secs(10);
/// How many events before the first difference are shown.
const BEFORE: usize = 3;

/// One trace's events, as `diff` compares them.
struct Events {
    /// Hash of each compared event's text, in order.
    hashes: Vec<u64>,
    /// Each compared event's index in the trace (the `#N` of `show`).
    index: Vec<u64>,
    /// Each compared event's lane.
    lane: Vec<&'static str>,
}

fn read_events(path: &Path, input: &TraceInput, events: u64, ignore: &[String]) -> Result<Events> {
    if events > MAX_EVENTS {
        bail!(
            "{}: {events} events; diff compares traces of at most {MAX_EVENTS}",
            path.display()
        );
    }
    let mut out = Events {
        hashes: Vec::with_capacity(events as usize),
        index: Vec::with_capacity(events as usize),
        lane: Vec::with_capacity(events as usize),
    };
    for (i, e) in input.events(path)?.enumerate() {
        let e = e?;
        let text = e.to_string();
        if ignore.iter().any(|i| names_event(i, &e, &text)) {
            continue;
        }
        let lane = lane_name(&e);
        let mut h = std::hash::DefaultHasher::new();
        text.hash(&mut h);
        out.hashes.push(h.finish());
        out.index.push(i as u64);
        out.lane.push(lane);
    }
    Ok(out)
}

/// The text of events `wanted` (indices, ascending) of a trace.
fn texts(path: &Path, input: &TraceInput, wanted: &[u64]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    for (i, e) in input.events(path)?.enumerate() {
        let Some(&&w) = next.peek() else { break };
        if i as u64 == w {
            out.push(e?.to_string());
            next.next();
        }
    }
    Ok(out)
}

/// Compares the traces at `a` and `b` (of one component), leaving out events of the
/// interfaces in `ignore`; prints the first difference and a summary by interface. Returns
/// the exit status: 0 when they are the same, 1 when they differ.
///
/// Errors (exit status 2): a trace cannot be read, or the traces are of two components.
pub fn diff(a: &Path, b: &Path, ignore: &[String]) -> Result<i32> {
    let (input_a, header_a) = TraceInput::open_with_header(a)?;
    let (input_b, header_b) = TraceInput::open_with_header(b)?;
    if header_a.component_sha256 != header_b.component_sha256 {
        bail!(
            "cannot compare {} and {}: they are traces of two components ({} is of sha256 {}, {} of sha256 {})",
            a.display(),
            b.display(),
            a.display(),
            header_a.component_sha256,
            b.display(),
            header_b.component_sha256
        );
    }
    let scan_a = input_a.scan(a)?;
    let scan_b = input_b.scan(b)?;
    let ea = read_events(a, &input_a, scan_a.events, ignore)?;
    let eb = read_events(b, &input_b, scan_b.events, ignore)?;
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &ea.hashes,
        &eb.hashes,
        Some(Instant::now() + DEADLINE),
    );

    let mut out = std::io::stdout().lock();
    let ignoring = if ignore.is_empty() {
        String::new()
    } else {
        format!(" (ignoring {})", ignore.join(", "))
    };
    let Some(first) = ops.iter().find(|op| op.tag() != similar::DiffTag::Equal) else {
        writeln!(
            out,
            "{} and {} are the same: {} events compared{ignoring}",
            a.display(),
            b.display(),
            ea.hashes.len()
        )?;
        return Ok(0);
    };

    // The first difference: the events each side has there, and those alike before it.
    let (ra, rb) = (first.old_range(), first.new_range());
    let at_a = (!ra.is_empty()).then(|| ea.index[ra.start]);
    let at_b = (!rb.is_empty()).then(|| eb.index[rb.start]);
    let before: Vec<u64> = ea.index[ra.start.saturating_sub(BEFORE)..ra.start].to_vec();
    writeln!(
        out,
        "{} and {} differ{ignoring}; the first difference follows {} event(s) alike:",
        a.display(),
        b.display(),
        ra.start
    )?;
    let wanted_a: Vec<u64> = before.iter().copied().chain(at_a).collect();
    let text_a = texts(a, &input_a, &wanted_a)?;
    let text_b = texts(b, &input_b, &Vec::from_iter(at_b))?;
    let (before_text, first_a) = text_a.split_at(before.len().min(text_a.len()));
    for (i, t) in before.iter().zip(before_text) {
        writeln!(out, "    #{i} {t}")?;
    }
    let (first_a, first_b) = (first_a.first(), text_b.first());
    for (path, event, text, other) in [(a, at_a, first_a, b), (b, at_b, first_b, a)] {
        match (event, text) {
            (Some(i), Some(t)) => writeln!(out, "  {}: #{i} {t}", path.display())?,
            _ => writeln!(
                out,
                "  {}: (no event here: {} has one this run did not make)",
                path.display(),
                other.display()
            )?,
        }
    }
    if let (Some(ta), Some(tb)) = (first_a, first_b) {
        let call = |t: &str| t.split(" -> ").next().unwrap_or_default().to_string();
        if call(ta) == call(tb) {
            writeln!(out, "  (the same call, answered differently)")?;
        }
    }

    // A summary: events each side has that the other has not, by lane.
    let mut lanes: Vec<(&str, u64, u64)> = Vec::new();
    let mut count =
        |lane: &'static str, a: u64, b: u64| match lanes.iter_mut().find(|l| l.0 == lane) {
            Some(l) => {
                l.1 += a;
                l.2 += b;
            }
            None => lanes.push((lane, a, b)),
        };
    for op in &ops {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        for i in op.old_range() {
            count(ea.lane[i], 1, 0);
        }
        for i in op.new_range() {
            count(eb.lane[i], 0, 1);
        }
    }
    let width = lanes.iter().map(|l| l.0.len()).max().unwrap_or(0).max(9);
    writeln!(
        out,
        "differences by interface (events only in one of them):"
    )?;
    writeln!(
        out,
        "  {:<width$}  {:>10}  {:>10}",
        "interface",
        file_name(a),
        file_name(b)
    )?;
    for (lane, na, nb) in &lanes {
        writeln!(out, "  {lane:<width$}  {na:>10}  {nb:>10}")?;
    }
    // What the app printed, line by line, where the traces keep it.
    if header_a.output_bytes > 0 && header_b.output_bytes > 0 {
        for stream in [StreamId::STDOUT, StreamId::STDERR] {
            let (kept_a, cut_a) = kept_output(a, &input_a, stream)?;
            let (kept_b, cut_b) = kept_output(b, &input_b, stream)?;
            if kept_a == kept_b {
                continue;
            }
            let cut = if cut_a || cut_b {
                format!(", its first {} MiB", MAX_OUTPUT_BYTES >> 20)
            } else {
                String::new()
            };
            writeln!(out, "{stream} differs (as the traces keep it{cut}):")?;
            let (text_a, text_b) = (
                String::from_utf8_lossy(&kept_a),
                String::from_utf8_lossy(&kept_b),
            );
            let diff = similar::TextDiff::from_lines(&text_a, &text_b);
            write!(
                out,
                "{}",
                diff.unified_diff()
                    .header(&a.display().to_string(), &b.display().to_string())
            )?;
        }
    }
    Ok(1)
}

/// The most bytes of a stream's kept output `diff` compares.
const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// What the trace at `path` keeps of what the app wrote to `stream` (its `wrote` events), at
/// most [`MAX_OUTPUT_BYTES`], and whether there was more.
fn kept_output(path: &Path, input: &TraceInput, stream: StreamId) -> Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    for e in input.events(path)? {
        let e = e?;
        if let Some((w, _)) = e.get::<Wrote>()
            && w.stream == stream
        {
            let room = MAX_OUTPUT_BYTES - kept.len();
            if w.data.0.len() > room {
                kept.extend_from_slice(&w.data.0[..room]);
                return Ok((kept, true));
            }
            kept.extend_from_slice(&w.data.0);
        }
    }
    Ok((kept, false))
}
