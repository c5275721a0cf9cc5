//! `wasm-rr view`: a trace's timeline as one self-contained HTML page.
//!
//! The page is [`TEMPLATE`] with three things inlined: Apache ECharts (vendored in
//! `host/assets/echarts`, minified, with its licence), the timeline's data as JSON (gathered by
//! [`wasm_rr_trace::timeline`], one event at a time), and the page's script
//! (`host/assets/view/view.js`). Opening it needs no network.

use crate::files;
use anyhow::{Context, Result, anyhow};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use wasm_rr_trace::timeline::{Timeline, TimelineBuilder};

/// The page, with the markers `/*ECHARTS*/`, `/*DATA*/`, `/*APP*/` and `/*ECHARTS_VERSION*/`.
const TEMPLATE: &str = include_str!("../assets/view/view.html");
/// The page's script.
const APP: &str = include_str!("../assets/view/view.js");
/// Apache ECharts, minified (`dist/echarts.min.js` of the npm package).
const ECHARTS: &str = include_str!("../assets/echarts/echarts.min.js");
/// The vendored ECharts' version.
const ECHARTS_VERSION: &str = "6.1.0";

/// What the page's script reads: the trace's file name and its timeline.
#[derive(Serialize)]
struct Page<'a> {
    name: &'a str,
    #[serde(flatten)]
    timeline: &'a Timeline,
}

/// Which events a page holds and how much of their text.
pub struct ViewOptions {
    /// The first event.
    pub from: u64,
    /// The last event (lowered to hold at most `timeline::MAX_EVENTS`).
    pub to: u64,
    /// The budget for the events' text, in bytes.
    pub text_budget: usize,
}

/// Reads the trace at `path` once, one event at a time, and writes its timeline page to
/// `output` (atomically). Returns the timeline, for the command's closing line.
pub fn write_page(path: &Path, output: &Path, options: &ViewOptions) -> Result<Timeline> {
    let (input, header) = files::TraceInput::open_with_header(path)?;
    let scan = input.scan(path)?;
    let mut builder = TimelineBuilder::new(&header, options.from, options.to, options.text_budget);
    for e in input.events(path)? {
        builder.push(&e?);
    }
    let timeline = builder.finish(files::storage(path, &scan)?);
    if timeline.lane.is_empty() && timeline.events > 0 {
        return Err(anyhow!(
            "{}: no events in the page: the trace has {} (#0 to #{}), and --from is {}",
            path.display(),
            timeline.events,
            timeline.events - 1,
            options.from
        ));
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let json = serde_json::to_string(&Page {
        name: &name,
        timeline: &timeline,
    })
    .context("cannot encode the timeline")?;
    // In a <script> element, `</script>` or `<!--` inside a string would end or change it; JSON
    // may spell `<` as `\u003c` anywhere it occurs (only in strings).
    let json = json.replace('<', "\\u003c");
    let (before, after) = TEMPLATE
        .split_once("/*DATA*/")
        .expect("the template has a data marker");
    let before = before
        .replace("/*ECHARTS_VERSION*/", ECHARTS_VERSION)
        .replace("/*ECHARTS*/", ECHARTS);
    let after = after.replace("/*APP*/", APP);
    files::write_atomic_with(output, |f| {
        let mut w = std::io::BufWriter::new(f);
        w.write_all(before.as_bytes())?;
        w.write_all(json.as_bytes())?;
        w.write_all(after.as_bytes())?;
        w.flush()?;
        Ok(())
    })?;
    Ok(timeline)
}
