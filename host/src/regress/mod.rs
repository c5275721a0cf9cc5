//! `wasm-rr test APP TRACE…`: recorded traffic as regression tests. Each trace's inputs are
//! given to APP (which may be a newer build than the one recorded) on a test host
//! ([`world`]), and what it produces is compared with what the trace recorded ([`compare`]),
//! under noise rules ([`rules`]). Traces run in parallel; one line per trace says whether it
//! passed, with the differences of those that failed, and a summary line
//! `N passed, M failed`; `--junit` writes a JUnit XML report; `--update` takes what the app
//! produces now as the expectation (`TRACE.expected.json`), leaving the trace as it is.

mod compare;
mod files;
mod generic;
pub mod recorded;
pub mod rules;
mod sockets;
mod world;

use crate::files::file_name;
use anyhow::{Context, Result, anyhow, bail};
use recorded::{Produced, Recorded};
use rules::{Rules, RulesFile};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What `wasm-rr test` was asked.
pub struct TestOptions {
    /// The app to test (a component: a command or a `wasi:http` handler, not wrapped).
    pub app: PathBuf,
    /// Traces, and directories of traces.
    pub traces: Vec<PathBuf>,
    /// The rules file; by default `wasm-rr-test.toml` in each trace's directory, if there is
    /// one.
    pub rules: Option<PathBuf>,
    /// Where to write a JUnit XML report.
    pub junit: Option<PathBuf>,
    /// Take what the app produces as the new expectation.
    pub update: bool,
    /// How many traces run at once.
    pub jobs: usize,
    /// How long one trace's run may take before it is stopped (and fails).
    pub timeout: Duration,
}

/// The suffix of the file beside a trace that `--update` writes, holding what the app is now
/// expected to produce.
pub const EXPECTED_SUFFIX: &str = ".expected.json";

/// One trace's outcome.
struct Outcome {
    /// The trace, as named on the command line or found in a directory.
    path: PathBuf,
    /// What was tested: the request line, or the command's arguments.
    what: String,
    /// The differences (empty: it passed).
    failures: Vec<String>,
    /// The account of the app's calls out (see [`compare::call_summary`]).
    calls: Vec<String>,
    /// What the app asked that nothing answered (see [`compare::unanswered`]).
    unanswered: Vec<String>,
    /// What the app produced (for `--update`), when it ran.
    produced: Option<Produced>,
    elapsed: Duration,
}

/// Runs `wasm-rr test`. Returns the exit status: 0 when every trace passed (or, with
/// `--update`, was updated), 1 otherwise.
///
/// Errors (exit status 2): the app or a rules file cannot be read, a path names no trace.
pub fn test(opts: &TestOptions) -> Result<i32> {
    let traces = find_traces(&opts.traces)?;
    let wasm = crate::files::read(&opts.app)?;
    if wasm_rr_composer::is_wrapped(&wasm) {
        bail!(
            "{} is a component wasm-rr wrapped (a recording or self-replaying one): give `wasm-rr test` the app as built",
            opts.app.display()
        );
    }
    let mut p3 = false;
    if let Ok((imports, _)) = wasm_rr_composer::component_world_unchecked(&wasm) {
        for import in imports.iter().filter(|i| wasm_rr_composer::is_wasi_p3(i)) {
            p3 = true;
            if let Some(why) = world::p3_unserved(import) {
                bail!(
                    "{} imports `{import}`: {why} (replay its traces with `wasm-rr replay`)",
                    opts.app.display()
                );
            }
        }
    }
    let app = world::App::new(&wasm, p3).map_err(|e| anyhow!("{}: {e}", opts.app.display()))?;
    let explicit = opts
        .rules
        .as_deref()
        .map(RulesFile::load)
        .transpose()?
        .map(Arc::new);
    // Each directory's rules file, read once.
    let mut by_dir: Vec<(PathBuf, Arc<RulesFile>)> = Vec::new();
    // The rules files read, to say which.
    let mut read: Vec<PathBuf> = opts.rules.iter().cloned().collect();
    let mut jobs = Vec::new();
    for path in traces {
        let file = match &explicit {
            Some(f) => f.clone(),
            None => {
                let dir = crate::files::parent_dir(&path);
                match by_dir.iter().find(|(d, _)| *d == dir) {
                    Some((_, f)) => f.clone(),
                    None => {
                        let candidate = dir.join(rules::DEFAULT_FILE);
                        let f = Arc::new(if candidate.exists() {
                            read.push(candidate.clone());
                            RulesFile::load(&candidate)?
                        } else {
                            RulesFile::default()
                        });
                        by_dir.push((dir, f.clone()));
                        f
                    }
                }
            }
        };
        let name = file_name(&path);
        let rules = Arc::new(file.rules_for(&name)?);
        jobs.push((path, rules));
    }
    let count = jobs.len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.jobs.max(1))
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
    let app = Arc::new(app);
    let mut stdout = std::io::stdout().lock();
    let plural = if count == 1 { "" } else { "s" };
    let rules_read = if read.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = read.iter().map(|p| p.display().to_string()).collect();
        format!("; rules from {}", names.join(", "))
    };
    writeln!(
        stdout,
        "testing {} against {count} trace{plural} ({} at a time{rules_read})",
        opts.app.display(),
        opts.jobs.max(1).min(count.max(1))
    )?;
    let outcomes = runtime.block_on(async {
        let limit = Arc::new(tokio::sync::Semaphore::new(opts.jobs.max(1)));
        let mut handles = Vec::new();
        let timeout = opts.timeout;
        for (path, rules) in jobs {
            let app = app.clone();
            let limit = limit.clone();
            handles.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                test_one(&app, path, rules, timeout).await
            }));
        }
        // Reported in the order given, each as soon as it and those before it are done.
        let mut outcomes = Vec::new();
        for h in handles {
            let o = h
                .await
                .map_err(|e| anyhow!("internal error: a test failed to run: {e}"))?;
            report(&mut stdout, &o, opts.update)?;
            outcomes.push(o);
        }
        anyhow::Ok(outcomes)
    })?;
    let failed = outcomes.iter().filter(|o| !o.failures.is_empty()).count();
    let mut code = i32::from(failed > 0);
    if opts.update {
        code = update(&mut stdout, &outcomes)?;
    } else {
        writeln!(stdout, "{} passed, {failed} failed", count - failed)?;
    }
    if let Some(junit) = &opts.junit {
        write_junit(junit, &opts.app, &outcomes)?;
    }
    Ok(code)
}

/// The traces in `paths`: files as given, directories' `*.cbor` and `*.json` files (but
/// `*.expected.json`) in name order.
///
/// Errors: a path does not exist, or a directory holds no trace.
fn find_traces(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|f| {
                let name = file_name(f);
                f.is_file()
                    && (name.ends_with(".cbor")
                        || name.ends_with(".json") && !name.ends_with(EXPECTED_SUFFIX))
            })
            .collect();
        if found.is_empty() {
            bail!(
                "{}: no traces (*.cbor, *.json) in this directory",
                p.display()
            );
        }
        found.sort();
        out.append(&mut found);
    }
    Ok(out)
}

/// The file beside `trace` holding what the app is expected to produce, after `--update`.
fn expected_path(trace: &Path) -> PathBuf {
    let mut name = trace.as_os_str().to_owned();
    name.push(EXPECTED_SUFFIX);
    PathBuf::from(name)
}

/// Tests `app` against the trace at `path`.
async fn test_one(
    app: &world::App,
    path: PathBuf,
    rules: Arc<Rules>,
    timeout: Duration,
) -> Outcome {
    let mut outcome = Outcome {
        what: String::new(),
        path,
        failures: Vec::new(),
        calls: Vec::new(),
        unanswered: Vec::new(),
        produced: None,
        elapsed: Duration::ZERO,
    };
    let recorded = match recorded::read(&outcome.path) {
        Ok(r) => r,
        Err(e) => {
            outcome.failures.push(format!("{e:#}"));
            return outcome;
        }
    };
    outcome.what = match &recorded.inputs.incoming {
        Some((head, _)) => format!(
            "{} {}",
            wasm_rr_trace::http::method_name(&head.method),
            head.path_with_query.as_deref().unwrap_or("/")
        ),
        None if !recorded.inputs.invocations.is_empty() => {
            let n = recorded.inputs.invocations.len();
            format!("{n} export call{}", if n == 1 { "" } else { "s" })
        }
        None => recorded.inputs.args.join(" "),
    };
    if let Some(why) = &recorded.unsupported {
        outcome.failures.push(format!(
            "cannot be tested: {why}, which `wasm-rr test` does not serve yet"
        ));
        return outcome;
    }
    let handler = app.is_handler();
    if handler != recorded.inputs.incoming.is_some() {
        outcome.failures.push(if handler {
            "cannot be tested: it is a command's trace, and the app is a wasi:http handler".into()
        } else {
            "cannot be tested: it is a request's trace, and the app is a command".into()
        });
        return outcome;
    }
    let (expected, compare_output) = match expectation(&outcome.path, &recorded) {
        Ok(e) => e,
        Err(e) => {
            outcome.failures.push(format!("{e:#}"));
            return outcome;
        }
    };
    match app.run(&recorded.inputs, rules.clone(), timeout).await {
        Ok(run) => {
            outcome.failures = compare::differences(&expected, &run, &rules, compare_output);
            outcome.calls = compare::call_summary(&run);
            outcome.unanswered = compare::unanswered(&run);
            outcome.elapsed = run.elapsed;
            outcome.produced = Some(run.produced);
        }
        Err(e) => outcome.failures.push(format!("{e:#}")),
    }
    outcome
}

/// What the app is expected to produce: the trace's `.expected.json` when there is one, else
/// what the trace recorded; and whether its output is compared (not when the trace keeps
/// none).
fn expectation(trace: &Path, recorded: &Recorded) -> Result<(Produced, bool)> {
    let path = expected_path(trace);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let produced: Produced = serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "{}: not an expectation of wasm-rr test: {e}",
                path.display()
            )
        })?;
        return Ok((produced, true));
    }
    Ok((recorded.produced.clone(), !recorded.keeps_no_output))
}

/// Prints one trace's line, and its differences when it failed.
fn report(out: &mut impl Write, o: &Outcome, update: bool) -> Result<()> {
    let what = if o.what.is_empty() {
        String::new()
    } else {
        format!(" ({})", o.what)
    };
    let verdict = match (o.failures.is_empty(), update) {
        (true, _) => "PASS",
        (false, false) => "FAIL",
        (false, true) => "DIFF",
    };
    writeln!(out, "{verdict} {}{what}", o.path.display())?;
    if !o.failures.is_empty() {
        for f in &o.failures {
            for (i, line) in f.lines().enumerate() {
                let indent = if i == 0 { "    " } else { "      " };
                writeln!(out, "{indent}{line}")?;
            }
        }
        for line in &o.calls {
            writeln!(out, "    {line}")?;
        }
    }
    Ok(())
}

/// `--update`: writes what the app produced as each changed trace's expectation. A trace in
/// which the app asked something nothing answered (a request, call, connection or lookup) is
/// not updated: an expectation gives no answers (a rule can allow a request). Returns the
/// exit status: 1 when a trace could not be updated.
fn update(out: &mut impl Write, outcomes: &[Outcome]) -> Result<i32> {
    let (mut updated, mut same, mut refused) = (0, 0, 0);
    for o in outcomes {
        let Some(produced) = &o.produced else {
            refused += 1;
            continue;
        };
        if o.failures.is_empty() {
            same += 1;
            continue;
        }
        if let Some(f) = o.unanswered.first() {
            writeln!(
                out,
                "not updated {}: {f}; an expectation cannot answer it (allow a request in {}, or record the trace again)",
                o.path.display(),
                rules::DEFAULT_FILE
            )?;
            refused += 1;
            continue;
        }
        let path = expected_path(&o.path);
        let text = serde_json::to_string_pretty(produced)? + "\n";
        crate::files::write_atomic(&path, text.as_bytes())?;
        writeln!(out, "updated {}", path.display())?;
        updated += 1;
    }
    writeln!(
        out,
        "{updated} updated, {same} unchanged, {refused} not updated"
    )?;
    Ok(i32::from(refused > 0))
}

/// Writes a JUnit XML report of `outcomes` to `path`: one test suite named after the app, one
/// test case per trace.
fn write_junit(path: &Path, app: &Path, outcomes: &[Outcome]) -> Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("wasm-rr test");
    let mut suite = TestSuite::new(file_name(app));
    for o in outcomes {
        let status = if o.failures.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(o.failures[0].lines().next().unwrap_or_default());
            s.set_description(o.failures.join("\n"));
            s
        };
        let mut case = TestCase::new(o.path.display().to_string(), status);
        case.set_classname(file_name(app));
        case.set_time(o.elapsed);
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    let xml = report
        .to_string()
        .map_err(|e| anyhow!("cannot write the JUnit report: {e}"))?;
    crate::files::write_atomic(path, xml.as_bytes())
}
