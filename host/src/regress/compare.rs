//! Compares what the app under test produced with what a trace (or its `.expected.json`)
//! says it should, under the noise rules, as lines for people.

use super::recorded::{Output, Produced};
use super::rules::Rules;
use super::world::{Answered, Run};
use std::fmt::Write;

/// The differences between `expected` and `run`, each a block of lines (indented for the
/// report); none when the run passes. `compare_output`: the expectation keeps what the app
/// wrote (stdout, stderr, bodies), so it is compared.
pub fn differences(
    expected: &Produced,
    run: &Run,
    rules: &Rules,
    compare_output: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let actual = &run.produced;
    if let Some(trap) = &run.trap {
        out.push(format!("it trapped: {trap}"));
    }
    if let (Some(e), Some(a)) = (expected.exit, actual.exit)
        && e != a
    {
        out.push(format!("exit status: recorded {e}, now {a}"));
    }
    match (&expected.response, &actual.response) {
        (Some(e), Some(a)) => {
            if (e.status, &e.error) != (a.status, &a.error) {
                let show = |r: &super::recorded::Response| match (&r.status, &r.error) {
                    (Some(s), _) => s.to_string(),
                    (None, Some(e)) => format!("the error {e}"),
                    (None, None) => "no status".into(),
                };
                out.push(format!("response: recorded {}, now {}", show(e), show(a)));
            }
            // An error has no headers or body to compare.
            if e.error.is_none() && a.error.is_none() {
                headers(&e.headers, &a.headers, rules, &mut out);
                if compare_output {
                    body("response body", &e.body, &a.body, rules, true, &mut out);
                }
            }
        }
        (Some(_), None) => out.push("no response: the app is no wasi:http handler".into()),
        _ => {}
    }
    if expected.returns != actual.returns {
        body(
            "the list of export calls",
            &lines(&expected.returns),
            &lines(&actual.returns),
            rules,
            false,
            &mut out,
        );
    }
    if compare_output {
        body(
            "stdout",
            &expected.stdout,
            &actual.stdout,
            rules,
            false,
            &mut out,
        );
        body(
            "stderr",
            &expected.stderr,
            &actual.stderr,
            rules,
            false,
            &mut out,
        );
    }
    files(expected, actual, rules, compare_output, &mut out);
    out.extend(unanswered(run));
    requests(expected, run, &mut out);
    let to = |r: &Option<String>| r.clone().unwrap_or_else(|| "any address".into());
    out.extend(
        run.calls_unused
            .iter()
            .map(|c| format!("call not made: {c}")),
    );
    out.extend(
        run.connections_unused
            .iter()
            .map(|r| format!("TCP connection not made: {r}")),
    );
    out.extend(
        run.udp_unused
            .iter()
            .map(|r| format!("UDP socket not used: to {}", to(r))),
    );
    out.extend(
        run.lookups_unused
            .iter()
            .map(|n| format!("name lookup not made: {n}")),
    );
    for (remote, e, a) in &run.udp_sent {
        if e != a {
            body(
                &format!("the datagrams sent on the UDP socket to {}", to(remote)),
                &lines(e),
                &lines(a),
                rules,
                false,
                &mut out,
            );
        }
    }
    if compare_output {
        for (remote, e, a) in &run.connections_sent {
            body(
                &format!("what was sent to {remote}"),
                e,
                a,
                rules,
                false,
                &mut out,
            );
        }
    }
    out
}

/// Everything the app asked that nothing answered: requests no recording or rule answered,
/// calls, TCP connections, UDP sockets and name lookups no recorded one answered, a line each.
/// A trace with any cannot be accepted by `--update`: an expectation gives no answers.
pub fn unanswered(run: &Run) -> Vec<String> {
    let mut out = Vec::new();
    for s in &run.sent {
        if let Answered::Unmatched(closest) = &s.answer {
            let closest = closest
                .as_ref()
                .map_or(String::new(), |c| format!(" (the closest recorded: {c})"));
            out.push(format!(
                "request with no recorded answer: {}{closest}",
                s.line
            ));
        }
    }
    fn no_answer(what: &str, made: impl Iterator<Item = (String, bool)>) -> Vec<String> {
        made.filter(|(_, answered)| !answered)
            .map(|(m, _)| format!("{what} with no recorded answer: {m}"))
            .collect()
    }
    out.extend(no_answer(
        "call",
        run.calls_made.iter().map(|(c, a)| (c.clone(), a.is_some())),
    ));
    out.extend(no_answer(
        "TCP connection",
        run.connections_made.iter().cloned(),
    ));
    out.extend(no_answer(
        "UDP socket",
        run.udp_made
            .iter()
            .map(|(r, a)| (format!("to {}", r.as_deref().unwrap_or("any address")), *a)),
    ));
    out.extend(no_answer("name lookup", run.lookups_made.iter().cloned()));
    out
}

/// Lines as one text, each ended by a newline, to compare as a unified diff.
fn lines(l: &[String]) -> Output {
    Output::of(
        l.iter()
            .map(|x| format!("{x}\n"))
            .collect::<String>()
            .as_bytes(),
    )
}

/// The files written: those the recording wrote and the app did not, those it wrote
/// otherwise (a unified diff, where the trace keeps their bytes), and those only it wrote.
fn files(
    expected: &Produced,
    actual: &Produced,
    rules: &Rules,
    compare_output: bool,
    out: &mut Vec<String>,
) {
    for (path, e) in &expected.files {
        match (actual.files.get(path), e) {
            (None, _) => out.push(format!("file not written: {path}")),
            (Some(Some(a)), Some(e)) if compare_output => {
                body(&format!("file {path}"), e, a, rules, false, out)
            }
            _ => {}
        }
    }
    for (path, a) in &actual.files {
        if !expected.files.contains_key(path) {
            let len = a.as_ref().map_or(0, |a| a.len);
            out.push(format!(
                "file written that the recording did not write: {path} ({len} B)"
            ));
        }
    }
}

/// The headers that differ, one line each (names compared in any case, values in order).
fn headers(
    expected: &[(String, String)],
    actual: &[(String, String)],
    rules: &Rules,
    out: &mut Vec<String>,
) {
    let mut names: Vec<String> = expected
        .iter()
        .chain(actual)
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !rules.ignores_header(n))
        .collect();
    names.sort();
    names.dedup();
    let values = |hs: &[(String, String)], name: &str| -> Vec<String> {
        hs.iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| rules.mask_text(v))
            .collect()
    };
    let show = |vs: &[String]| match vs {
        [] => "none".to_string(),
        [v] => format!("{v:?}"),
        _ => format!("{vs:?}"),
    };
    for name in names {
        let (e, a) = (values(expected, &name), values(actual, &name));
        if e != a {
            out.push(format!(
                "response header {name}: recorded {}, now {}",
                show(&e),
                show(&a)
            ));
        }
    }
}

/// A unified diff of `what` (a body, stdout or stderr) when it differs.
fn body(
    what: &str,
    expected: &Output,
    actual: &Output,
    rules: &Rules,
    is_body: bool,
    out: &mut Vec<String>,
) {
    let kept = expected.bytes();
    let mut now = actual.bytes();
    let mut note = String::new();
    if !expected.complete() {
        // The trace keeps the first bytes: those are compared, and the length.
        if now.len() as u64 != expected.len {
            out.push(format!(
                "{what}: recorded {} bytes, now {}",
                expected.len,
                now.len()
            ));
        }
        now.truncate(kept.len());
        note = format!(
            " (the trace keeps its first {} of {} bytes)",
            kept.len(),
            expected.len
        );
    }
    let mask = |b: &[u8]| {
        if is_body {
            rules.mask_body(b)
        } else {
            rules.mask_text(&String::from_utf8_lossy(b))
        }
    };
    let (e, a) = (mask(&kept), mask(&now));
    if e == a {
        return;
    }
    let mut text = format!("{what} differs{note}:\n");
    let diff = similar::TextDiff::from_lines(&e, &a);
    let _ = write!(
        text,
        "{}",
        diff.unified_diff()
            .context_radius(2)
            .header("recorded", "now")
    );
    if !e.is_empty() && !e.ends_with('\n') || !a.is_empty() && !a.ends_with('\n') {
        text.push_str("\\ (no newline at the end)\n");
    }
    out.push(text.trim_end().to_string());
}

/// The outgoing requests recorded (or expected) and not made, and those made more often.
fn requests(expected: &Produced, run: &Run, out: &mut Vec<String>) {
    // The recorded requests not made, unless an expectation says they are no longer made.
    let mut wanted = expected.requests.clone();
    let mut extra = Vec::new();
    for s in &run.sent {
        match wanted.iter().position(|w| *w == s.line) {
            Some(i) => {
                wanted.remove(i);
            }
            // Beyond the expected ones: fine when a rule allows it, said above when nothing
            // answered it; otherwise a repeat, answered like the recorded one.
            None if matches!(s.answer, Answered::Recorded(_)) => extra.push(&s.line),
            None => {}
        }
    }
    for w in wanted {
        out.push(format!("request not made: {w}"));
    }
    for x in extra {
        out.push(format!("request made more often than recorded: {x}"));
    }
}

/// The account of the app's calls out: a line for its outgoing requests and one for its calls
/// of other interfaces, each saying how many were answered from the recording, by a rule, or
/// not at all, and how many recorded ones it did not make.
pub fn call_summary(run: &Run) -> Vec<String> {
    let line = |what: &str, matched: usize, allowed: usize, unmatched: usize, unused: usize| {
        let mut parts = vec![format!("{matched} matched")];
        if allowed > 0 {
            parts.push(format!("{allowed} allowed by a rule"));
        }
        if unmatched > 0 {
            parts.push(format!("{unmatched} with no recorded answer"));
        }
        if unused > 0 {
            parts.push(format!("{unused} recorded and not made"));
        }
        format!("{what}: {}", parts.join(", "))
    };
    let mut out = Vec::new();
    if !run.sent.is_empty() || !run.unused.is_empty() {
        let count =
            |f: &dyn Fn(&Answered) -> bool| run.sent.iter().filter(|s| f(&s.answer)).count();
        out.push(line(
            "outgoing requests",
            count(&|a| matches!(a, Answered::Recorded(_))),
            count(&|a| *a == Answered::Allowed),
            count(&|a| matches!(a, Answered::Unmatched(_))),
            run.unused.len(),
        ));
    }
    // Those answered from the recording or not at all: whether each was, and how many
    // recorded ones were not made.
    let answered = |what: &str, made: Vec<bool>, unused: usize| {
        let matched = made.iter().filter(|a| **a).count();
        (!made.is_empty() || unused > 0)
            .then(|| line(what, matched, 0, made.len() - matched, unused))
    };
    out.extend(
        [
            answered(
                "TCP connections",
                run.connections_made.iter().map(|(_, a)| *a).collect(),
                run.connections_unused.len(),
            ),
            answered(
                "UDP sockets",
                run.udp_made.iter().map(|(_, a)| *a).collect(),
                run.udp_unused.len(),
            ),
            answered(
                "name lookups",
                run.lookups_made.iter().map(|(_, a)| *a).collect(),
                run.lookups_unused.len(),
            ),
            answered(
                "calls of other interfaces",
                run.calls_made.iter().map(|(_, a)| a.is_some()).collect(),
                run.calls_unused.len(),
            ),
        ]
        .into_iter()
        .flatten(),
    );
    out
}
