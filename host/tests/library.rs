//! Library components (they export functions, and no `wasi:cli/run`): the host's calls of
//! their exports are recorded, with stock `wasmtime run --invoke` or `wasm-rr record --invoke`,
//! and their replay is a command that makes the same calls again, checking and printing each.

mod common;

use common::*;

/// The function names `library_app` exports, as `wrap` lists them.
const EXPORTS: &str = "tally, acme:text/codec.stamp, acme:text/codec.reverse, acme:text/codec.add";

/// The `nonce` of a printed `stamped` record (`…nonce: 123, …`).
fn nonce(text: &str) -> &str {
    let from = text.find("nonce: ").expect("a nonce") + "nonce: ".len();
    let len = text[from..].find(',').expect("the nonce's end");
    &text[from..from + len]
}

#[test]
fn a_library_call_recorded_by_stock_wasmtime_invoke_replays_as_a_command_with_no_flags() {
    let dir = scratch();
    let app = fixture("library_app");
    let recording = dir.path().join("app.recording.wasm");
    let wrapped = run(
        wasm_rr().arg("wrap").arg(&app).arg("-o").arg(&recording),
        None,
    );
    assert_eq!(wrapped.code, Some(0), "{}", wrapped.stderr());
    assert_eq!(
        wrapped.stderr(),
        format!(
            "wasm-rr: a library component: every call of its exports is recorded ({EXPORTS})\n\
             wasm-rr: wrote {} (recording component: call one of its exports with `wasmtime run --dir <trace-dir>::/wasm-rr --invoke 'FUNCTION(ARGS)'`, or several with `wasm-rr record --invoke … --invoke …`)\n",
            recording.display()
        )
    );
    // The recording component exports what the app exports.
    let (_, exports) = world_of(&recording);
    assert_eq!(exports, ["tally", "acme:text/codec@0.1.0"], "{exports:?}");
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let recorded = run_recording(&recording, &traces, &["--invoke", r#"stamp("hello")"#], &[]);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert_eq!(recorded.stderr(), "stamping \"hello\"\n");
    let out = recorded.stdout();
    let n = nonce(&out);
    assert_eq!(
        out,
        format!("ok({{text: \"hello\", nonce: {n}, calls: 1}})\n")
    );
    // The trace: the call, what the app read while answering it, and what it returned.
    let trace = traces.join("trace.cbor");
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let events: Vec<&str> = shown
        .lines()
        .filter(|l| l.starts_with('#') && !l.contains("stream") && !l.contains(" wrote "))
        .map(|l| l.split_once(' ').map_or(l, |(_, e)| e))
        .collect();
    assert_eq!(
        events,
        [
            r#"export call acme:text/codec.stamp("hello")"#.to_string(),
            format!("wasi:random/random.get-random-u64() -> {n}"),
            format!(
                r#"export acme:text/codec.stamp returned ok({{text: "hello", nonce: {n}, calls: 1}})"#
            ),
        ],
        "{shown}"
    );
    let summary = run(wasm_rr().args(["show", "--summary"]).arg(&trace), None).stdout();
    assert!(
        summary.contains("ended: its last export call returned\n")
            && summary.contains("a library component's exports: acme:text/codec.stamp 1 call\n"),
        "{summary}"
    );
    // The replay is a command: it makes the call again, with no flags, and prints it with its
    // result (the recorded nonce), twice the same.
    let expected = format!(
        "acme:text/codec.stamp(\"hello\") -> ok({{text: \"hello\", nonce: {n}, calls: 1}})\n"
    );
    let first = replay_on_wasmtime(dir.path(), &app, &trace);
    assert_eq!(first.code, Some(0), "{}", first.stderr());
    assert_eq!(first.stdout(), expected);
    assert_eq!(first.stderr(), "stamping \"hello\"\n");
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), first);
    let (imports, exports) = world_of(&dir.path().join("app.replay.wasm"));
    assert_eq!(exports, ["wasi:cli/run@0.2.12"]);
    assert!(
        imports
            .iter()
            .all(|i| !i.contains("random") && !i.contains("acme")),
        "{imports:?}"
    );
    assert_eq!(replay_embedded(dir.path(), &app, Some(&trace)), first);
}

#[test]
fn wasm_rr_record_makes_several_calls_on_one_instance_and_a_changed_result_diverges() {
    let dir = scratch();
    let app = fixture("library_app");
    let calls = [
        r#"stamp("hi")"#,
        r#"acme:text/codec.stamp("there")"#,
        "add(5)",
        "add(-7)",
        r#"tally(["x", "yyyy", "zzz"], 2)"#,
        r#"stamp("")"#,
        r#"reverse("abc")"#,
    ];
    let mut flags = vec!["-t", "lib.cbor"];
    for c in &calls {
        flags.extend(["--invoke", c]);
    }
    let recorded = record_embedded(dir.path(), &app, &flags, &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let out = recorded.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{out}");
    // The instance keeps its state from call to call.
    let (n1, n2) = (nonce(lines[0]), nonce(lines[1]));
    assert_eq!(
        lines[0],
        format!(r#"ok({{text: "hi", nonce: {n1}, calls: 1}})"#)
    );
    assert_eq!(
        lines[1],
        format!(r#"ok({{text: "there", nonce: {n2}, calls: 2}})"#)
    );
    assert_eq!(&lines[2..6], ["5", "-2", "2", "err(empty)"]);
    let ms = lines[6]
        .strip_prefix("\"cba@")
        .and_then(|l| l.strip_suffix('"'));
    assert!(
        ms.is_some_and(|ms| ms.parse::<u64>().is_ok()),
        "{}",
        lines[6]
    );
    let trace = dir.path().join("lib.cbor");
    let expected = format!(
        "acme:text/codec.stamp(\"hi\") -> {}\n\
         acme:text/codec.stamp(\"there\") -> {}\n\
         acme:text/codec.add(5) -> 5\n\
         acme:text/codec.add(-7) -> -2\n\
         tally([\"x\", \"yyyy\", \"zzz\"], 2) -> 2\n\
         acme:text/codec.stamp(\"\") -> err(empty)\n\
         acme:text/codec.reverse(\"abc\") -> {}\n",
        lines[0], lines[1], lines[6]
    );
    let replayed = replay_embedded(dir.path(), &app, Some(&trace));
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout(), expected);
    let again = replay_on_wasmtime(dir.path(), &app, &trace);
    assert_eq!(again.stdout(), expected);

    // A recorded result the app no longer returns is a divergence naming both.
    let mut edited = load(&trace);
    let first_returned = edited
        .events
        .iter_mut()
        .find_map(|e| e.get_mut::<wasm_rr_trace::generic::Returned>())
        .unwrap();
    first_returned.0.result = Some(wasm_rr_trace::abi::Val::Variant(
        1,
        Some(Box::new(wasm_rr_trace::abi::Val::Variant(0, None))),
    ));
    let diverged = replay_edited(dir.path(), &app, &edited);
    assert_eq!(diverged.code, Some(1), "{}", diverged.stderr());
    let err = diverged.stderr();
    assert!(
        err.contains("  expected: export acme:text/codec.stamp returned err(empty)\n")
            && err.contains(&format!(
                "  difference: acme:text/codec.stamp returned {} (recorded: err(empty))\n",
                lines[0]
            )),
        "{err}"
    );
}

#[test]
fn library_misuse_gets_one_line() {
    let dir = scratch();
    let app = fixture("library_app");
    let path = app.display();
    let no_call = record_embedded(dir.path(), &app, &[], &[], None);
    assert_eq!(no_call.code, Some(2));
    assert_eq!(
        no_call.stderr(),
        format!(
            "wasm-rr: error: {path} is a library component (it exports no wasi:cli/run): say which of its exports to call with --invoke 'FUNCTION(ARGS)'\n"
        )
    );
    for (call, why) in [
        ("nope(1)", "the component exports no function `nope`"),
        (r#"add("x")"#, "invalid value type at 4..7"),
    ] {
        let bad = record_embedded(dir.path(), &app, &["--invoke", call], &[], None);
        assert_eq!(bad.code, Some(2));
        assert_eq!(
            bad.stderr(),
            format!("wasm-rr: error: --invoke `{call}`: {why}\n")
        );
    }
    let command = fixture("print_args");
    let on_command = record_embedded(dir.path(), &command, &["--invoke", "run()"], &[], None);
    assert_eq!(on_command.code, Some(2));
    assert_eq!(
        on_command.stderr(),
        format!(
            "wasm-rr: error: --invoke calls a library component's exports, but {} is a command (it exports wasi:cli/run): give its arguments after `--`\n",
            command.display()
        )
    );
}

#[test]
fn what_a_library_recording_cannot_record_is_refused_in_one_line() {
    let dir = scratch();
    let cases = [
        (
            "package acme:lib@0.1.0;
             interface db { resource cursor { next: func() -> option<u32>; } open: func() -> cursor; }
             world lib { export db; }",
            "it exports `acme:lib/db@0.1.0`, which this version of wasm-rr cannot record: it defines the resource `cursor`, and the calls of a library's resources are not recorded yet",
        ),
        (
            "package acme:lib@0.1.0;
             interface types { record point { x: u32 } }
             world lib { use types.{point}; export area: func(p: point) -> u32; }",
            // A type of the world itself is imported by the component.
            "it imports `point`, which this version of wasm-rr cannot record: it is imported outside any interface (a function or type of the world itself), which the generic path does not record yet",
        ),
        (
            "package acme:lib@0.1.0;
             world lib { export lines: func() -> stream<string>; }",
            "it exports `lines`, which this version of wasm-rr cannot record: `lines` takes or returns a stream, which is not recorded generically yet",
        ),
        (
            "package acme:lib@0.1.0; world lib { }",
            "it exports no function: neither `wasi:cli/run`, `wasi:http/incoming-handler` nor a library's functions, so nothing could run it",
        ),
    ];
    for (wit, why) in cases {
        let mut resolve = wit_parser::Resolve::default();
        let pkg = resolve.push_str("lib.wit", wit).unwrap();
        let world = resolve.select_world(&[pkg], Some("lib")).unwrap();
        let app = dir.path().join("lib.wasm");
        std::fs::write(&app, dummy_component(&resolve, world)).unwrap();
        let out = dir.path().join("out.wasm");
        let r = try_wrap(&app, &out, None);
        assert_eq!(r.code, Some(2), "{}", r.stderr());
        assert_eq!(
            r.stderr(),
            format!("wasm-rr: error: cannot wrap {}: {why}\n", app.display())
        );
        assert!(!out.exists());
    }
}

#[test]
fn a_library_call_that_trapped_is_in_the_trace_and_its_replay_traps_the_same_way() {
    // `stamp("boom")` panics when its random draw is even: record until it does.
    let dir = scratch();
    let app = fixture("library_app");
    let (recording, traces) = wrap_for_recording(dir.path(), &app, &[]);
    let trapped = (0..64)
        .map(|attempt| {
            let name = format!("boom-{attempt}.cbor");
            let env = format!("WASM_RR_TRACE={name}");
            let r = run_recording(
                &recording,
                &traces,
                &["--env", &env, "--invoke", r#"stamp("boom")"#],
                &[],
            );
            (r, traces.join(name))
        })
        .find(|(r, _)| r.code != Some(0));
    let (recorded, trace) = trapped.expect("an even draw in 64 attempts");
    assert!(
        recorded
            .stderr()
            .contains("panicked at fixtures/library/src/lib.rs"),
        "{}",
        recorded.stderr()
    );
    let summary = run(wasm_rr().args(["show", "--summary"]).arg(&trace), None).stdout();
    assert!(
        summary.contains(
            "ended: in a call of acme:text/codec.stamp, which did not return (it trapped, was killed, or the trace was cut)\n"
        ),
        "{summary}"
    );
    // The replay makes the call again and panics at the same place, with the same message.
    let replayed = replay_on_wasmtime(dir.path(), &app, &trace);
    assert_eq!(replayed.code, recorded.code, "{}", replayed.stderr());
    let panic = |r: &Run| {
        r.stderr()
            .lines()
            .find(|l| l.contains("panicked at"))
            .map(str::to_string)
    };
    assert_eq!(panic(&replayed), panic(&recorded));
    assert!(replayed.stdout().is_empty(), "{}", replayed.stdout());
}
