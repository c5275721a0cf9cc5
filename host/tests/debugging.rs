//! From a recorded failure to the line of code behind it: `wasm-rr replay --calls` and
//! `--until`, `wasm-rr diff`, and `wasm-rr debug` under lldb and gdb, on the `dice` fixture
//! (Rust, unoptimised, with DWARF: `dice_debug`), which panics when it rolls a six, and its C
//! twin (`c_dice_debug`, `-O0 -g`), which aborts.
//!
//! The traces are recorded on stock `wasmtime run` until one run fails and one passes.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// Where `fixtures/src/bin/dice.rs` draws a random number (`roll_die`), and where it panics
/// (`check`).
const DRAW_LINE: &str = "dice.rs:19";
const PANIC_LINE: u32 = 26;

/// Two recordings of `dice_debug 6` (six rolls) on stock wasmtime: one that rolled a six and
/// panicked, one that did not.
struct Runs {
    _dir: tempfile::TempDir,
    app: PathBuf,
    failing: PathBuf,
    passing: PathBuf,
}

fn record_until_both() -> Runs {
    record_fixture_until_both("dice_debug")
}

fn record_fixture_until_both(name: &str) -> Runs {
    let dir = scratch();
    let app = dir.path().join(format!("{name}.wasm"));
    std::fs::copy(fixture(name), &app).unwrap();
    let recording = dir.path().join("dice.recording.wasm");
    wrap(&app, &recording, None);
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let (mut failing, mut passing) = (None, None);
    // A run passes with probability (5/6)^6 = 0.33: 60 runs give both but for 1 in 10^10.
    for i in 0..60 {
        if failing.is_some() && passing.is_some() {
            break;
        }
        let run = run_recording(&recording, &traces, &[], &["6"]);
        let kept = traces.join(format!("run{i}.cbor"));
        std::fs::rename(traces.join("trace.cbor"), &kept).unwrap();
        if run.stderr().contains("rolled a six") {
            assert_ne!(run.code, Some(0));
            failing.get_or_insert(kept);
        } else {
            assert_eq!(run.code, Some(0), "{}", run.stderr());
            assert!(run.stdout().ends_with("no six\n"), "{}", run.stdout());
            passing.get_or_insert(kept);
        }
    }
    Runs {
        app,
        failing: failing.expect("no run rolled a six in 60"),
        passing: passing.expect("every run of 60 rolled a six"),
        _dir: dir,
    }
}

/// The random draws of `--calls=wasi:random` output: (event, value, frame text).
fn draws(stderr: &str) -> Vec<(u64, u64, String)> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('#')?;
            let (event, rest) = rest.split_once(" wasi:random/random.get-random-u64() -> ")?;
            let (value, frame) = rest.split_once("  at ")?;
            Some((
                event.parse().unwrap(),
                value.parse().unwrap(),
                frame.to_string(),
            ))
        })
        .collect()
}

fn replay(app: &Path, trace: &Path, extra: &[&str]) -> Run {
    run(
        wasm_rr().arg("replay").arg(app).arg(trace).args(extra),
        None,
    )
}

#[test]
fn calls_name_the_source_line_of_each_draw_and_until_stops_before_the_panic() {
    let runs = record_until_both();

    // Every random draw, with the app's frame that made it.
    let replayed = replay(&runs.app, &runs.failing, &["--calls=wasi:random"]);
    assert_eq!(replayed.code, Some(134), "{}", replayed.stderr());
    let err = replayed.stderr();
    let draws = draws(&err);
    assert!(!draws.is_empty() && draws.len() <= 6, "{err}");
    for (_, _, frame) in &draws {
        assert!(
            frame.starts_with("dice::roll_die (") && frame.ends_with(&format!("{DRAW_LINE})")),
            "{frame}"
        );
    }
    // The last draw is the six, the ones before are not.
    let faces: Vec<u64> = draws.iter().map(|(_, v, _)| v % 6 + 1).collect();
    assert_eq!(faces.last(), Some(&6), "{faces:?}");
    assert!(
        faces[..faces.len() - 1].iter().all(|&f| f != 6),
        "{faces:?}"
    );
    // Only wasi:random events are printed.
    assert!(
        err.lines()
            .filter(|l| l.starts_with('#'))
            .all(|l| l.contains(" wasi:random/")),
        "{err}"
    );
    // The app's output is replayed as it was.
    for (i, face) in faces.iter().enumerate() {
        assert!(
            replayed
                .stdout()
                .contains(&format!("roll {}: {face}\n", i + 1)),
            "{}",
            replayed.stdout()
        );
    }

    // Every event, numbered as `show` numbers them.
    let all = replay(&runs.app, &runs.failing, &["--calls"]);
    let numbers: Vec<u64> = all
        .stderr()
        .lines()
        .filter_map(|l| l.strip_prefix('#')?.split_once(' ')?.0.parse().ok())
        .collect();
    // (The bytes the app wrote are kept in the trace, but are not calls: a replay passes over
    // them.)
    let shown = run(wasm_rr().arg("show").arg(&runs.failing), None).stdout();
    let calls: Vec<u64> = shown
        .lines()
        .filter(|l| !l.contains(" wrote "))
        .filter_map(|l| l.strip_prefix('#')?.split_once(' ')?.0.parse().ok())
        .collect();
    assert_eq!(numbers, calls);
    assert!(
        all.stderr()
            .contains("#0 wasi:cli/environment.get-arguments() -> [\"dice.recording.wasm\", \"6\"]  at dice::main ("),
        "{}",
        all.stderr()
    );

    // --frames all: the whole stack of the app, its own frame marked.
    let frames = replay(
        &runs.app,
        &runs.failing,
        &["--calls=wasi:random", "--frames", "all"],
    );
    let err = frames.stderr();
    assert!(err.contains("<- the app's call"), "{err}");
    assert!(
        err.contains("wasip2::imports::wasi::random::random::get_random_u64 ("),
        "{err}"
    );
    assert!(err.contains("dice::main ("), "{err}");

    // --until the failing draw: replays it and stops before the panic, exit status 0.
    let (six, value, _) = draws.last().unwrap().clone();
    let until = replay(&runs.app, &runs.failing, &["--until", &six.to_string()]);
    assert_eq!(until.code, Some(0), "{}", until.stderr());
    let err = until.stderr();
    assert!(!err.contains("rolled a six"), "{err}");
    assert!(
        err.contains(&format!(
            "wasm-rr: stopped after event {six}, replayed to the app's call:\n  #{six} wasi:random/random.get-random-u64() -> {value}\nthe app's stack, innermost first:\n"
        )),
        "{err}"
    );
    let marked = err
        .lines()
        .find(|l| l.ends_with("<- the app's call"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(marked.contains("dice::roll_die ("), "{marked}");
    assert!(marked.contains(DRAW_LINE), "{marked}");
    assert!(!until.stdout().contains(&format!("roll {}:", faces.len())));

    // Bad input: an event past the end.
    let past = replay(&runs.app, &runs.failing, &["--until", "100000"]);
    assert_eq!(past.code, Some(2));
    let events = load(&runs.failing).events.len();
    assert_eq!(
        past.stderr(),
        format!(
            "wasm-rr: error: --until 100000: {} has {events} events, #0 to #{}\n",
            runs.failing.display(),
            events - 1
        )
    );
    // The passing run replays with --calls too, and says so.
    let passing = replay(&runs.app, &runs.passing, &["--calls=wasi:random"]);
    assert_eq!(passing.code, Some(0), "{}", passing.stderr());
    assert_eq!(draws_of(&passing).len(), 6);
}

fn draws_of(run: &Run) -> Vec<(u64, u64, String)> {
    draws(&run.stderr())
}

#[test]
fn diff_names_the_first_differing_draw() {
    let runs = record_until_both();
    let diff = |a: &Path, b: &Path, extra: &[&str]| {
        run(wasm_rr().arg("diff").arg(a).arg(b).args(extra), None)
    };
    let (pass, fail) = (&runs.passing, &runs.failing);
    let first_draw = |t: &Path| draws_of(&replay(&runs.app, t, &["--calls=wasi:random"]))[0].1;

    let out = diff(pass, fail, &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr());
    let expected = format!(
        "{} and {} differ; the first difference follows 1 event(s) alike:\n    #0 wasi:cli/environment.get-arguments() -> [\"dice.recording.wasm\", \"6\"]\n  {}: #1 wasi:random/random.get-random-u64() -> {}\n  {}: #1 wasi:random/random.get-random-u64() -> {}\n  (the same call, answered differently)\ndifferences by interface (events only in one of them):\n",
        pass.display(),
        fail.display(),
        pass.display(),
        first_draw(pass),
        fail.display(),
        first_draw(fail)
    );
    assert!(out.stdout().starts_with(&expected), "{}", out.stdout());
    // The failing run wrote to stderr; the passing one did not.
    let stderr_row = out
        .stdout()
        .lines()
        .find(|l| l.trim_start().starts_with("stderr "))
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .unwrap_or_else(|| panic!("{}", out.stdout()));
    assert_eq!(stderr_row[1], "0", "{stderr_row:?}");
    assert_ne!(stderr_row[2], "0", "{stderr_row:?}");

    // Equal traces: exit status 0.
    let same = diff(fail, fail, &[]);
    assert_eq!(same.code, Some(0));
    assert!(
        same.stdout().contains(" are the same: "),
        "{}",
        same.stdout()
    );

    // --ignore: without the draws (and stdout), the first difference is the panic's stderr.
    let ignoring = diff(
        pass,
        fail,
        &["--ignore", "wasi:random", "--ignore", "stdout"],
    );
    assert_eq!(ignoring.code, Some(1));
    let text = ignoring.stdout();
    assert!(
        text.contains("differ (ignoring wasi:random, stdout)"),
        "{text}"
    );
    assert!(!text.contains("get-random-u64"), "{text}");

    // Traces of two components are refused, naming both.
    let other_dir = scratch();
    let other_app = fixture("print_random");
    let (recorded, other) = record_on_wasmtime(other_dir.path(), &other_app, &[], &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let refused = diff(pass, &other, &[]);
    assert_eq!(refused.code, Some(2));
    let sha = |t: &Path| load(t).header.component_sha256;
    assert_eq!(
        refused.stderr(),
        format!(
            "wasm-rr: error: cannot compare {p} and {o}: they are traces of two components ({p} is of sha256 {}, {o} of sha256 {})\n",
            sha(pass),
            sha(&other),
            p = pass.display(),
            o = other.display()
        )
    );
}

/// `wasm-rr debug` with `args`; fails with a hint when the debugger is missing (scripts/setup
/// installs lldb-19 and gdb).
fn debug(runs: &Runs, trace: &Path, args: &[&str]) -> Run {
    let r = run(
        wasm_rr().arg("debug").arg(&runs.app).arg(trace).args(args),
        None,
    );
    assert!(
        !r.stderr().contains("is not on PATH") && !r.stderr().contains("no source debugger"),
        "{}: run scripts/setup",
        r.stderr()
    );
    r
}

#[test]
fn gdb_stops_at_a_breakpoint_on_the_failing_line_with_a_backtrace_through_the_app() {
    let runs = record_until_both();
    let out = debug(
        &runs,
        &runs.failing,
        &[
            "--debugger",
            "gdb",
            "--",
            "-batch",
            "-ex",
            &format!("break dice.rs:{PANIC_LINE}"),
            "-ex",
            "run",
            "-ex",
            "bt",
        ],
    );
    let text = out.stdout();
    assert!(
        out.stderr().starts_with(&format!(
            "wasm-rr: starting gdb on the replay of {} (set breakpoints in the app's source, then run)\n",
            runs.failing.display()
        )),
        "{}",
        out.stderr()
    );
    assert!(text.contains("hit Breakpoint 1, dice::check ("), "{text}");
    let bt: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert!(
        bt[0].contains("dice::check (") && bt[0].ends_with(&format!("dice.rs:{PANIC_LINE}")),
        "{bt:?}"
    );
    assert!(
        bt[1].contains("dice::main ()") && bt[1].contains("dice.rs:12"),
        "{bt:?}"
    );

    // --event: gdb stops in wasm-rr's hook while that event is replayed; the replay names the
    // app's frame.
    let six = draws_of(&replay(&runs.app, &runs.failing, &["--calls=wasi:random"]))
        .last()
        .unwrap()
        .0;
    let at = debug(
        &runs,
        &runs.failing,
        &[
            "--debugger",
            "gdb",
            "--event",
            &six.to_string(),
            "--",
            "-batch",
            "-ex",
            "run",
            "-ex",
            "bt 1",
        ],
    );
    // (A release build of wasm-rr has no DWARF: gdb shows no arguments.)
    assert!(
        at.stdout().contains("hit Breakpoint 1, ")
            && at.stdout().contains("wasm_rr_event_breakpoint ("),
        "{}",
        at.stdout()
    );
    assert!(
        at.stderr().contains(&format!(
            "wasm-rr: replaying #{six} wasi:random/random.get-random-u64() -> "
        )) && at
            .stderr()
            .contains("wasm-rr: the app made this call in dice::roll_die ("),
        "{}",
        at.stderr()
    );
}

#[test]
fn lldb_shows_the_recorded_value_and_event_stops_in_the_apps_call() {
    let runs = record_until_both();
    let draws = draws_of(&replay(&runs.app, &runs.failing, &["--calls=wasi:random"]));
    let out = debug(
        &runs,
        &runs.failing,
        &[
            "--debugger",
            "lldb",
            "--",
            "-b",
            "-o",
            "breakpoint set -f dice.rs -l 20",
            "-o",
            "run",
            "-o",
            "frame variable draw",
        ],
    );
    // The first draw, as recorded, in the app's local variable.
    let text = out.stdout();
    assert!(
        text.contains(&format!("(unsigned long) draw = {}\n", draws[0].1)),
        "{text}"
    );

    // --event N of the failing draw: lldb stops in dice::roll_die, and `finish` returns six.
    let (six, _, _) = draws.last().unwrap();
    let at = debug(
        &runs,
        &runs.failing,
        &[
            "--debugger",
            "lldb",
            "--event",
            &six.to_string(),
            "--",
            "-b",
            "-o",
            "run",
            "-o",
            "finish",
        ],
    );
    let text = at.stdout();
    let stop = text
        .split("stop reason = breakpoint")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    let frame = stop.lines().nth(1).unwrap_or_default();
    assert!(
        frame.contains("dice::roll_die") && frame.contains(DRAW_LINE),
        "{frame}\n{text}"
    );
    assert!(
        text.contains("Return value: (unsigned long) $0 = 6\n"),
        "{text}"
    );

    // Bad input: an event past the end, before any debugger starts.
    let past = run(
        wasm_rr()
            .arg("debug")
            .arg(&runs.app)
            .arg(&runs.failing)
            .args(["--event", "100000"]),
        None,
    );
    assert_eq!(past.code, Some(2));
    assert!(
        past.stderr()
            .starts_with("wasm-rr: error: --event 100000: "),
        "{}",
        past.stderr()
    );
}

#[test]
fn a_c_guest_built_with_g_shows_its_lines_and_locals() {
    let runs = record_fixture_until_both("c_dice_debug");
    let replayed = replay(&runs.app, &runs.failing, &["--calls=wasi:random"]);
    let err = replayed.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('#')).collect();
    assert!(!lines.is_empty(), "{err}");
    for l in &lines {
        assert!(
            l.contains(" wasi:random/random.get-random-bytes(8) -> 8 bytes  at roll_die (")
                && l.ends_with("c_dice.c:12)"),
            "{l}"
        );
    }
    // The C program's main is `main`, not wasi-libc's `__main_argc_argv`.
    let all = replay(
        &runs.app,
        &runs.failing,
        &["--calls=wasi:random", "--frames", "all"],
    );
    assert!(all.stderr().contains(": main ("), "{}", all.stderr());

    // gdb shows C locals: the first recorded draw, which made the first roll.
    let out = debug(
        &runs,
        &runs.failing,
        &[
            "--debugger",
            "gdb",
            "--",
            "-batch",
            "-ex",
            "break c_dice.c:13",
            "-ex",
            "run",
            "-ex",
            "info locals",
        ],
    );
    let text = out.stdout();
    let draw: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("draw = "))
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    let first_roll = replayed
        .stdout()
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("roll 1: "))
        .map(|f| f.parse::<u64>().unwrap())
        .unwrap_or_else(|| panic!("{}", replayed.stdout()));
    assert_eq!(draw % 6 + 1, first_roll);
}
