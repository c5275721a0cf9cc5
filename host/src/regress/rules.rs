//! Noise rules for `wasm-rr test` (`--rules FILE`, by default `wasm-rr-test.toml` beside the
//! traces): what to leave out when comparing what the app produced with the recording, and
//! the outgoing requests a new version may make that the recording does not hold.
//!
//! ```toml
//! [ignore]                       # for every trace
//! headers = ["date", "x-request-id"]
//! json = ["$.id", "$.items[*].updated"]
//! regex = ['\d{4}-\d\d-\d\dT[0-9:.]+Z']
//!
//! [[allow]]                      # an outgoing request no recording holds
//! method = "GET"                 # any method when left out
//! url = "/audit$"                # a regex, searched in the request's full URL
//! status = 200                   # default 502
//! headers = { content-type = "text/plain" }
//! body = "ok"
//!
//! [trace."req-01796422718617785790-abd69ce4.cbor"]   # for one trace, by file name
//! ignore.headers = ["x-debug"]
//! ```

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The name of the rules file `wasm-rr test` looks for beside the traces.
pub const DEFAULT_FILE: &str = "wasm-rr-test.toml";

/// What a rules file holds: rules for every trace, and more for some traces.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// What to leave out of every comparison.
    #[serde(default)]
    pub ignore: Ignore,
    /// Outgoing requests every trace may make beyond the recorded ones.
    #[serde(default)]
    pub allow: Vec<Allow>,
    /// Rules for one trace each, by its file name; added to the global ones.
    #[serde(default)]
    pub trace: BTreeMap<String, TraceRules>,
}

/// The rules of one trace (`[trace."NAME"]`).
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct TraceRules {
    /// What to leave out of this trace's comparison.
    #[serde(default)]
    pub ignore: Ignore,
    /// Outgoing requests this trace may make beyond the recorded ones.
    #[serde(default)]
    pub allow: Vec<Allow>,
}

/// What to leave out when comparing.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    /// Response headers (any case) whose presence and values are not compared.
    #[serde(default)]
    pub headers: Vec<String>,
    /// JSONPath expressions (RFC 9535): the values they select in a JSON response body are
    /// not compared.
    #[serde(default)]
    pub json: Vec<String>,
    /// Regular expressions: text they match in response bodies, header values, stdout and
    /// stderr is not compared.
    #[serde(default)]
    pub regex: Vec<String>,
}

/// An outgoing request a new version may make that the recording does not hold, and the
/// response it gets.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// The method (any case); any method when absent.
    pub method: Option<String>,
    /// A regular expression searched in the request's full URL (`http://host:port/path?q`).
    pub url: String,
    /// The response's status; 502 when absent.
    #[serde(default = "bad_gateway")]
    pub status: u16,
    /// The response's headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The response's body.
    #[serde(default)]
    pub body: String,
}

fn bad_gateway() -> u16 {
    502
}

/// The rules that apply to one trace, compiled.
#[derive(Default)]
pub struct Rules {
    /// Headers to leave out, lowercase.
    pub headers: Vec<String>,
    /// JSONPath queries to leave out.
    pub json: Vec<serde_json_path::JsonPath>,
    /// Text to leave out.
    pub regex: Vec<regex::Regex>,
    /// Extra outgoing requests, with their regexes.
    pub allow: Vec<(Allow, regex::Regex)>,
}

impl RulesFile {
    /// Reads and checks the rules file at `path`. Errors name the file and the problem.
    pub fn load(path: &Path) -> Result<RulesFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: RulesFile =
            toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), one_line(&e)))?;
        // Every expression is checked now, not when a trace needs it.
        file.rules_for("")
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        for (name, t) in &file.trace {
            compile(&t.ignore, &t.allow)
                .map_err(|e| anyhow!("{}: [trace.\"{name}\"]: {e}", path.display()))?;
        }
        Ok(file)
    }

    /// The rules for the trace whose file name is `name`: the global ones and its own.
    ///
    /// Errors: an expression that does not compile.
    pub fn rules_for(&self, name: &str) -> Result<Rules> {
        let mut rules = compile(&self.ignore, &self.allow)?;
        if let Some(own) = self.trace.get(name) {
            let more = compile(&own.ignore, &own.allow)?;
            rules.headers.extend(more.headers);
            rules.json.extend(more.json);
            rules.regex.extend(more.regex);
            // A trace's own allowances come first.
            let mut allow = more.allow;
            allow.append(&mut rules.allow);
            rules.allow = allow;
        }
        Ok(rules)
    }
}

fn compile(ignore: &Ignore, allow: &[Allow]) -> Result<Rules> {
    let regex =
        |r: &str| regex::Regex::new(r).map_err(|e| anyhow!("bad regex `{r}`: {}", one_line(&e)));
    Ok(Rules {
        headers: ignore
            .headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        json: ignore
            .json
            .iter()
            .map(|p| {
                serde_json_path::JsonPath::parse(p)
                    .map_err(|e| anyhow!("bad JSONPath `{p}`: {}", one_line(&e)))
            })
            .collect::<Result<_>>()?,
        regex: ignore
            .regex
            .iter()
            .map(|r| regex(r))
            .collect::<Result<_>>()?,
        allow: allow
            .iter()
            .map(|a| Ok((a.clone(), regex(&a.url)?)))
            .collect::<Result<_>>()?,
    })
}

/// An error's text on one line.
fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Rules {
    /// Whether the response header `name` is left out.
    pub fn ignores_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// `text` with what the regexes match replaced by `<ignored>`.
    pub fn mask_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for r in &self.regex {
            out = r.replace_all(&out, "<ignored>").into_owned();
        }
        out
    }

    /// A body as compared: when JSONPath rules apply and it is JSON, pretty-printed with the
    /// values they select replaced by `"<ignored>"`; then (as text) masked by the regexes.
    pub fn mask_body(&self, body: &[u8]) -> String {
        if !self.json.is_empty()
            && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body)
        {
            for path in &self.json {
                let pointers: Vec<String> = path
                    .query_located(&value)
                    .locations()
                    .map(|l| l.to_json_pointer())
                    .collect();
                for p in pointers {
                    if let Some(v) = value.pointer_mut(&p) {
                        *v = serde_json::Value::String("<ignored>".into());
                    }
                }
            }
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            return self.mask_text(&(pretty + "\n"));
        }
        self.mask_text(&String::from_utf8_lossy(body))
    }

    /// The allowance for an outgoing request `method` `url` that no recording holds, if any.
    pub fn allowed(&self, method: &str, url: &str) -> Option<&Allow> {
        self.allow.iter().find_map(|(a, r)| {
            let method_ok = a
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
            (method_ok && r.is_match(url)).then_some(a)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str, trace: &str) -> Rules {
        let file: RulesFile = toml::from_str(toml_text).unwrap();
        file.rules_for(trace).unwrap()
    }

    #[test]
    fn json_paths_and_regexes_leave_values_out() {
        let r = rules(
            "[ignore]\njson = ['$.id', '$.items[*].at']\nregex = ['req-[0-9a-f]+']\n",
            "t.cbor",
        );
        let a = br#"{"id": 1, "items": [{"at": "x", "n": 1}], "note": "req-12ab done"}"#;
        let b = br#"{"id": 2, "items": [{"at": "y", "n": 1}], "note": "req-99ff done"}"#;
        assert_eq!(r.mask_body(a), r.mask_body(b));
        assert_eq!(
            r.mask_body(a),
            "{\n  \"id\": \"<ignored>\",\n  \"items\": [\n    {\n      \"at\": \"<ignored>\",\n      \"n\": 1\n    }\n  ],\n  \"note\": \"<ignored> done\"\n}\n"
        );
        // Another value is still a difference; text that is no JSON is masked as text.
        let c = br#"{"id": 2, "items": [{"at": "y", "n": 2}], "note": "req-99ff done"}"#;
        assert_ne!(r.mask_body(a), r.mask_body(c));
        assert_eq!(r.mask_body(b"id req-7 ok"), "id <ignored> ok");
    }

    #[test]
    fn a_trace_has_its_own_rules_besides_the_global_ones() {
        let text = "[ignore]\nheaders = ['Date']\n[[allow]]\nurl = '/metrics$'\n[trace.\"a.cbor\"]\nignore.headers = ['x-debug']\nallow = [{ method = 'post', url = '^http://up/', status = 201, body = 'ok' }]\n";
        let a = rules(text, "a.cbor");
        let b = rules(text, "b.cbor");
        assert!(a.ignores_header("date") && a.ignores_header("X-Debug"));
        assert!(b.ignores_header("DATE") && !b.ignores_header("x-debug"));
        let own = a.allowed("POST", "http://up/x").unwrap();
        assert_eq!((own.status, own.body.as_str()), (201, "ok"));
        assert!(a.allowed("GET", "http://up/x").is_none());
        let global = b.allowed("GET", "http://h:1/metrics").unwrap();
        assert_eq!((global.status, global.body.as_str()), (502, ""));
        assert!(b.allowed("POST", "http://up/x").is_none());
    }

    #[test]
    fn bad_rules_are_named_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wasm-rr-test.toml");
        for (text, said) in [
            ("[ignore]\njson = ['$..[']\n", "bad JSONPath `$..[`: "),
            ("[[allow]]\nurl = '('\n", "bad regex `(`: "),
            ("[[allow]]\nstatus = 200\n", "missing field `url`"),
            (
                "[trace.\"x.cbor\"]\nignore.regex = ['[']\n",
                "[trace.\"x.cbor\"]: bad regex `[`: ",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = RulesFile::load(&path).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("{}: ", path.display())) && e.contains(said),
                "{e}"
            );
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}
