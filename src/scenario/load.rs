//! Reading a scenario file and checking it before anything connects: a RON error names its
//! line and column, a step naming an unknown client, a bad regex, JSON path, schema or byte
//! string, or an undefined variable names the step.

use std::collections::BTreeSet;
use std::path::Path;

use ron::extensions::Extensions;

use crate::scenario::matcher::expected_bytes;
use crate::scenario::model::*;
use crate::scenario::vars::{Vars, parse_json_path, references};

/// Largest repeat count and longest wait a file may ask for: a mistake (an extra zero)
/// should not hold a CI job for a day.
const MAX_TIMES: u32 = 1_000_000;
const MAX_MS: u64 = 3_600_000;

/// The RON options scenario files are read with: `Some(…)` may be left out, and a step's
/// fields are written straight inside its name (`Send(client: "a", text: "hi")`).
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// Reads and checks a scenario file.
pub fn load(path: &Path, extra_vars: &[String]) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let scenario = parse(&text).map_err(|e| format!("{}:{e}", path.display()))?;
    check(&scenario, extra_vars)?;
    Ok(scenario)
}

/// Parses scenario text; the error starts with `line:col:`.
pub fn parse(text: &str) -> Result<Scenario, String> {
    ron_options()
        .from_str::<Scenario>(text)
        .map_err(|e| format!("{}:{}: {}", e.span.start.line, e.span.start.col, e.code))
}

/// Checks what can be checked before the run.
pub fn check(s: &Scenario, extra_vars: &[String]) -> Result<(), String> {
    if s.timeout_ms == 0 || s.timeout_ms > MAX_MS {
        return Err(format!("timeout_ms must be from 1 to {MAX_MS}"));
    }
    let mut defined: BTreeSet<String> = s.vars.keys().cloned().collect();
    defined.extend(extra_vars.iter().cloned());
    defined.insert(crate::scenario::runner::RUN_VAR.to_owned());
    collect_defined(&s.steps, &mut defined);
    let cx = Cx { s, defined: &defined };
    for (name, c) in &s.clients {
        let at = format!("client '{name}'");
        for text in c
            .url
            .iter()
            .chain(c.headers.values())
            .chain(c.secret_headers.values())
            .chain(c.origin.iter())
        {
            cx.refs(text, &at)?;
        }
    }
    let mut measured = BTreeSet::new();
    collect_measured(&s.steps, &mut measured);
    cx.steps(&s.steps, "", &measured)
}

struct Cx<'a> {
    s: &'a Scenario,
    defined: &'a BTreeSet<String>,
}

/// Variables some step sets: captures, `Set`, repeat counters.
fn collect_defined(steps: &[Step], out: &mut BTreeSet<String>) {
    for step in steps {
        match step {
            Step::Expect(e) => out.extend(e.capture.keys().cloned()),
            Step::Set(s) => {
                out.insert(s.var.clone());
            }
            Step::Repeat(r) => {
                out.insert(r.var.clone());
                collect_defined(&r.steps, out);
            }
            Step::Parallel(p) => collect_defined(&p.steps, out),
            Step::Group(g) => collect_defined(&g.steps, out),
            _ => {}
        }
    }
}

fn collect_measured(steps: &[Step], out: &mut BTreeSet<String>) {
    for step in steps {
        match step {
            Step::Expect(e) => out.extend(e.measure.iter().cloned()),
            Step::Connect(c) => out.extend(c.measure.iter().cloned()),
            Step::Repeat(r) => collect_measured(&r.steps, out),
            Step::Parallel(p) => collect_measured(&p.steps, out),
            Step::Group(g) => collect_measured(&g.steps, out),
            _ => {}
        }
    }
}

fn json_refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.extend(references(s)),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_refs(v, out)),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.extend(references(k));
                json_refs(v, out);
            }
        }
        _ => {}
    }
}

impl Cx<'_> {
    fn refs(&self, text: &str, at: &str) -> Result<(), String> {
        self.names(references(text), at)
    }

    fn names(&self, names: Vec<String>, at: &str) -> Result<(), String> {
        for n in names {
            if !n.starts_with("env:") && !self.defined.contains(&n) {
                return Err(format!(
                    "{at}: variable '{n}' is never set (by vars, Set, capture, a Repeat's var or --var)"
                ));
            }
        }
        Ok(())
    }

    fn json(&self, v: &serde_json::Value, at: &str) -> Result<(), String> {
        let mut names = Vec::new();
        json_refs(v, &mut names);
        self.names(names, at)
    }

    fn client(&self, name: &str, at: &str) -> Result<(), String> {
        if self.s.clients.contains_key(name) {
            return Ok(());
        }
        let known: Vec<&str> = self.s.clients.keys().map(String::as_str).collect();
        Err(format!(
            "{at}: no client named '{name}' (clients: {})",
            known.join(", ")
        ))
    }

    fn wait(&self, ms: Option<u64>, at: &str) -> Result<(), String> {
        match ms {
            Some(ms) if ms > MAX_MS => Err(format!("{at}: {ms} ms is longer than the {MAX_MS} ms allowed")),
            _ => Ok(()),
        }
    }

    fn steps(&self, steps: &[Step], prefix: &str, measured: &BTreeSet<String>) -> Result<(), String> {
        for (i, step) in steps.iter().enumerate() {
            let path = if prefix.is_empty() {
                format!("{}", i + 1)
            } else {
                format!("{prefix}.{}", i + 1)
            };
            let at = format!("step {path} ({})", variant(step));
            self.step(step, &path, &at, measured)?;
        }
        Ok(())
    }

    fn step(&self, step: &Step, path: &str, at: &str, measured: &BTreeSet<String>) -> Result<(), String> {
        match step {
            Step::Connect(c) => {
                self.client(&c.client, at)?;
                self.wait(c.within_ms, at)?;
            }
            Step::Send(s) => {
                self.client(&s.client, at)?;
                let given = [
                    s.text.is_some(),
                    s.json.is_some(),
                    s.binary_hex.is_some(),
                    s.binary_base64.is_some(),
                    s.ping.is_some(),
                    s.app.is_some(),
                ]
                .iter()
                .filter(|g| **g)
                .count();
                if given != 1 {
                    return Err(format!(
                        "{at}: give exactly one of text, json, binary_hex, binary_base64, ping, app (found {given})"
                    ));
                }
                if let Some(app) = &s.app {
                    app.build().map_err(|e| format!("{at}: {e}"))?;
                }
                for t in s
                    .text
                    .iter()
                    .chain(s.binary_hex.iter())
                    .chain(s.binary_base64.iter())
                    .chain(s.ping.iter())
                {
                    self.refs(t, at)?;
                }
                if let Some(j) = &s.json {
                    self.json(j, at)?;
                }
                expected_bytes(literal(&s.binary_hex), literal(&s.binary_base64), &Vars::default())
                    .map_err(|e| format!("{at}: {e}"))?;
                if let Some(p) = literal(&s.ping)
                    && p.len() > 125
                {
                    return Err(format!("{at}: a ping carries at most 125 bytes"));
                }
            }
            Step::Close(c) => {
                self.client(&c.client, at)?;
                self.wait(c.within_ms, at)?;
                if c.reason.len() > 123 {
                    return Err(format!("{at}: a close reason is at most 123 bytes"));
                }
            }
            Step::Expect(e) => {
                self.client(&e.client, at)?;
                self.wait(e.within_ms, at)?;
                for t in e.text.iter().chain(e.regex.iter()) {
                    self.refs(t, at)?;
                }
                if let Some(j) = &e.json {
                    self.json(j, at)?;
                }
                if let Some(r) = e.regex.as_deref().filter(|r| !r.contains("${")) {
                    regex::Regex::new(r).map_err(|err| format!("{at}: bad regex: {err}"))?;
                }
                for p in e.ignore.iter().chain(e.fields.keys()) {
                    parse_json_path(p).map_err(|err| format!("{at}: {err}"))?;
                }
                for c in e.fields.values() {
                    match c {
                        Cmp::Matches(r) if !r.contains("${") => {
                            regex::Regex::new(r).map_err(|err| format!("{at}: bad regex: {err}"))?;
                        }
                        Cmp::Matches(r) => self.refs(r, at)?,
                        Cmp::Eq(v)
                        | Cmp::Ne(v)
                        | Cmp::Lt(v)
                        | Cmp::Le(v)
                        | Cmp::Gt(v)
                        | Cmp::Ge(v)
                        | Cmp::Contains(v) => {
                            self.json(v, at)?;
                        }
                        Cmp::OneOf(vs) => vs.iter().try_for_each(|v| self.json(v, at))?,
                        Cmp::Exists | Cmp::Absent => {}
                    }
                }
                for source in e.capture.values() {
                    if source == "$text" {
                        continue;
                    }
                    if let Some(n) = source.strip_prefix('$') {
                        if n.parse::<usize>().is_err() || e.regex.is_none() {
                            return Err(format!(
                                "{at}: capture source {source:?}: use a JSON path, $text, or $1.. with a regex"
                            ));
                        }
                        continue;
                    }
                    parse_json_path(source).map_err(|err| format!("{at}: {err}"))?;
                }
                if let Some(schema) = &e.schema {
                    jsonschema::validator_for(schema).map_err(|err| format!("{at}: bad JSON Schema: {err}"))?;
                }
                expected_bytes(literal(&e.binary_hex), literal(&e.binary_base64), &Vars::default())
                    .map_err(|err| format!("{at}: {err}"))?;
            }
            Step::ExpectClose(e) => {
                self.client(&e.client, at)?;
                self.wait(e.within_ms, at)?;
            }
            Step::ExpectSilence(s) => {
                self.client(&s.client, at)?;
                self.wait(Some(s.for_ms), at)?;
            }
            Step::ExpectDrop(d) => {
                self.client(&d.client, at)?;
                self.wait(d.within_ms, at)?;
            }
            Step::Sleep(s) => self.wait(Some(s.ms), at)?,
            Step::Disconnect(c) | Step::Reconnect(c) => self.client(&c.client, at)?,
            Step::Set(s) => self.json(&s.value, at)?,
            Step::Repeat(r) => {
                if r.times == 0 || r.times > MAX_TIMES {
                    return Err(format!("{at}: times must be from 1 to {MAX_TIMES}"));
                }
                self.steps(&r.steps, path, measured)?;
            }
            Step::Parallel(p) => self.steps(&p.steps, path, measured)?,
            Step::Group(g) => self.steps(&g.steps, path, measured)?,
            Step::Load(l) => crate::scenario::load_step::check(l).map_err(|e| format!("{at}: {e}"))?,
            Step::Timing(t) => {
                if !measured.contains(&t.measure) {
                    return Err(format!(
                        "{at}: no step measures '{}' (an Expect or Connect with measure: \"{}\")",
                        t.measure, t.measure
                    ));
                }
                if t.below_ms.is_none() && t.at_least_ms.is_none() {
                    return Err(format!("{at}: give below_ms or at_least_ms"));
                }
            }
        }
        Ok(())
    }
}

/// A byte string or ping payload without variables (those are checked when sent).
fn literal(t: &Option<String>) -> Option<&str> {
    t.as_deref().filter(|t| !t.contains("${"))
}

fn variant(step: &Step) -> &'static str {
    match step {
        Step::Connect(_) => "Connect",
        Step::Send(_) => "Send",
        Step::Close(_) => "Close",
        Step::Expect(_) => "Expect",
        Step::ExpectClose(_) => "ExpectClose",
        Step::ExpectSilence(_) => "ExpectSilence",
        Step::ExpectDrop(_) => "ExpectDrop",
        Step::Sleep(_) => "Sleep",
        Step::Disconnect(_) => "Disconnect",
        Step::Reconnect(_) => "Reconnect",
        Step::Set(_) => "Set",
        Step::Repeat(_) => "Repeat",
        Step::Parallel(_) => "Parallel",
        Step::Group(_) => "Group",
        Step::Timing(_) => "Timing",
        Step::Load(_) => "Load",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"Scenario(
    name: "small",
    url: "ws://127.0.0.1:1/",
    vars: {"n": 1},
    clients: {"a": (), "b": (url: "/other", secret_headers: {"Authorization": "Bearer ${env:TOKEN}"})},
    steps: [
        Connect(client: "a"),
        Send(client: "a", json: {"type": "hello", "n": "${n}"}, timer: "t"),
        Expect(client: "a", json: {"type": "hi"}, fields: {"seq": Gt(0)}, capture: {"s": "seq"}, measure: "t", within_ms: 500),
        Repeat(times: 3, steps: [Send(client: "a", text: "m-${i} ${s}")]),
        Timing(measure: "t", stat: P95, below_ms: 200),
    ],
)"#;

    #[test]
    fn a_small_scenario_reads_with_implicit_some_and_unwrapped_steps() {
        let s = parse(SMALL).expect("parses");
        check(&s, &[]).expect("checks");
        assert_eq!(s.name, "small");
        assert_eq!(s.timeout_ms, 2000);
        assert_eq!(s.steps.len(), 5);
        match s.steps.get(2) {
            Some(Step::Expect(e)) => {
                assert_eq!(e.within_ms, Some(500));
                assert_eq!(e.json, Some(serde_json::json!({"type": "hi"})));
                assert!(matches!(e.fields.get("seq"), Some(Cmp::Gt(v)) if v == &serde_json::json!(0)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let err = parse("Scenario(\n  clients: {},\n  stepz: [],\n)").expect_err("unknown field");
        assert!(err.starts_with("3:"), "{err}");
        assert!(err.contains("stepz"), "{err}");
        let err = parse("Scenario(clients: {}, steps: [Expect(client: \"a\", withn_ms: 3)])").expect_err("typo");
        assert!(err.starts_with("1:"), "{err}");
        assert!(err.contains("withn_ms"), "{err}");
    }

    #[test]
    fn mistakes_are_found_before_the_run() {
        let bad = |edit: &str, from: &str| {
            let text = SMALL.replace(from, edit);
            let s = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            check(&s, &[]).expect_err("refused")
        };
        assert_eq!(
            bad("Connect(client: \"c\")", "Connect(client: \"a\")"),
            "step 1 (Connect): no client named 'c' (clients: a, b)"
        );
        assert!(bad("m-${j}", "m-${i}").starts_with("step 4.1 (Send): variable 'j' is never set"));
        assert!(bad("Timing(measure: \"u\"", "Timing(measure: \"t\"").contains("no step measures 'u'"));
        assert!(bad("fields: {\"seq\": Matches(\"(\")}", "fields: {\"seq\": Gt(0)}").contains("bad regex"));
        assert!(bad("text: \"x\", json: {}", "json: {\"type\": \"hello\", \"n\": \"${n}\"}").contains("exactly one"));
        assert!(bad("times: 0", "times: 3").contains("times must be"));
    }
}
