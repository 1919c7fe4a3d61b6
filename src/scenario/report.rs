//! A run's results and their three forms: the readable report, `--report out.json` and
//! `--junit out.xml`. JUnit XML is written by hand: five escapes and three element kinds do
//! not need an XML crate in the binary (the tests read it back with quick-xml).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skipped,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skipped => "skip",
        }
    }
}

/// One step's result; groups, repeats and parallel steps hold their steps' results.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// "3.2.1": the step's place (a repeat's iterations are numbered like steps).
    pub path: String,
    pub title: String,
    pub status: Status,
    pub duration_ms: f64,
    /// On failure, what arrived instead; on success, what matched (a message, a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The client the step acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepResult>,
    /// The message the step matched or, on failure, the one that arrived instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageRef>,
}

/// A message in the run's recording: the connection by its client port, the message by its
/// place among what one side sent on it, so the window can find it in the recording it
/// opens. Received: among everything the server sent (control frames included, as the
/// analyzer counts them). Sent (`sent`): among what the scenario's steps sent, which is
/// every client message but the pongs the WebSocket library answers pings with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MessageRef {
    pub client_port: u16,
    /// 0 for the first message of that side on the connection.
    pub index: u32,
    /// The step sent this message (else it read it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sent: bool,
}

/// A named measurement's statistics, in milliseconds (nearest-rank percentiles, as
/// `analysis::latency` defines them for the whole project).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MeasureSummary {
    pub count: u64,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub passed: u32,
    pub failed: u32,
    pub skipped: u32,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub file: String,
    /// The default server (after `--url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub passed: bool,
    /// Cancelled before its end (see `runner::run_until`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
    pub duration_ms: f64,
    /// Leaf steps (not groups, repeats or parallel blocks) by status.
    pub counts: Counts,
    pub steps: Vec<StepResult>,
    pub measurements: BTreeMap<String, MeasureSummary>,
    /// WebSocket connections opened (each a connection of the recording).
    pub connections: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
}

fn is_container(s: &StepResult) -> bool {
    !s.steps.is_empty()
}

/// Counts leaf steps.
pub fn count(steps: &[StepResult], c: &mut Counts) {
    for s in steps {
        if is_container(s) {
            count(&s.steps, c);
        } else {
            match s.status {
                Status::Pass => c.passed += 1,
                Status::Fail => c.failed += 1,
                Status::Skipped => c.skipped += 1,
            }
        }
    }
}

/// The readable report. Passing repeats are shown as one line; a failing one shows its
/// failing iteration.
pub fn text(r: &RunReport) -> String {
    let mut out = String::new();
    let name = if r.scenario.is_empty() {
        "scenario"
    } else {
        r.scenario.as_str()
    };
    let _ = writeln!(
        out,
        "{name} ({}){}",
        r.file,
        r.url.as_ref().map_or(String::new(), |u| format!(" against {u}"))
    );
    for s in &r.steps {
        step_lines(&mut out, s, 1);
    }
    if !r.measurements.is_empty() {
        let _ = writeln!(out, "measurements (ms):");
        for (name, m) in &r.measurements {
            let _ = writeln!(
                out,
                "  {name}: n={} min {:.2} p50 {:.2} p90 {:.2} p95 {:.2} p99 {:.2} max {:.2} mean {:.2}",
                m.count, m.min_ms, m.p50_ms, m.p90_ms, m.p95_ms, m.p99_ms, m.max_ms, m.mean_ms
            );
        }
    }
    let _ = writeln!(
        out,
        "{}: {} steps passed, {} failed, {} skipped in {:.2} s; {} connection{}{}",
        if r.stopped_early {
            "STOPPED"
        } else if r.passed {
            "PASSED"
        } else {
            "FAILED"
        },
        r.counts.passed,
        r.counts.failed,
        r.counts.skipped,
        r.duration_ms / 1000.0,
        r.connections,
        if r.connections == 1 { "" } else { "s" },
        r.recording
            .as_ref()
            .map_or(String::new(), |p| format!(", recorded to {p}"))
    );
    out
}

/// Only the failed steps (with what arrived instead) and the final line: `--quiet`.
pub fn failures_text(r: &RunReport) -> String {
    let mut out = String::new();
    let mut stack: Vec<&StepResult> = r.steps.iter().rev().collect();
    while let Some(s) = stack.pop() {
        if s.status == Status::Fail && s.steps.is_empty() {
            let _ = writeln!(out, "FAIL {} {}", s.path, s.title);
            for line in s.detail.as_deref().unwrap_or_default().lines() {
                let _ = writeln!(out, "     {line}");
            }
        }
        stack.extend(s.steps.iter().rev());
    }
    if let Some(last) = text(r).lines().last() {
        let _ = writeln!(out, "{last}");
    }
    out
}

fn step_lines(out: &mut String, s: &StepResult, depth: usize) {
    let _ = writeln!(
        out,
        "{:indent$}{} {:>9} {} {}",
        "",
        s.status.label(),
        format_ms(s.duration_ms),
        s.path,
        s.title,
        indent = depth * 2
    );
    if let Some(d) = &s.detail
        && s.status == Status::Fail
    {
        for line in d.lines() {
            let _ = writeln!(out, "{:indent$}{line}", "", indent = depth * 2 + 15);
        }
    }
    let repeat = s.steps.first().is_some_and(|c| c.title.starts_with("iteration "));
    for child in &s.steps {
        // A passing repeat's iterations are all alike: its line says enough.
        if repeat && child.status != Status::Fail {
            continue;
        }
        step_lines(out, child, depth + 1);
    }
}

fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

/// JUnit XML: the scenario is a test suite, each top-level step a test case (a `Group`
/// reads as a named test), failing with the first failed step inside it.
pub fn junit(r: &RunReport) -> String {
    let name = if r.scenario.is_empty() {
        r.file.as_str()
    } else {
        r.scenario.as_str()
    };
    let failures = r.steps.iter().filter(|s| s.status == Status::Fail).count();
    let skipped = r.steps.iter().filter(|s| s.status == Status::Skipped).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
        xml(name),
        r.steps.len(),
        r.duration_ms / 1000.0
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
        xml(name),
        r.steps.len(),
        r.duration_ms / 1000.0
    );
    for s in &r.steps {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{} {}\" time=\"{:.3}\"",
            xml(name),
            xml(&s.path),
            xml(&s.title),
            s.duration_ms / 1000.0
        );
        match s.status {
            Status::Pass => out.push_str("/>\n"),
            Status::Skipped => out.push_str(">\n      <skipped/>\n    </testcase>\n"),
            Status::Fail => {
                let first = first_failure(s).unwrap_or(s);
                let detail = first.detail.clone().unwrap_or_default();
                let _ = write!(
                    out,
                    ">\n      <failure message=\"{} {}: {}\">{}</failure>\n    </testcase>\n",
                    xml(&first.path),
                    xml(&first.title),
                    xml(detail.lines().next().unwrap_or_default()),
                    xml(&failure_trace(s))
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The first failed leaf step under `s`.
pub fn first_failure(s: &StepResult) -> Option<&StepResult> {
    if s.status != Status::Fail {
        return None;
    }
    if s.steps.is_empty() {
        return Some(s);
    }
    s.steps.iter().find_map(first_failure)
}

/// Every failed step under `s`, one per line with its detail.
fn failure_trace(s: &StepResult) -> String {
    let mut out = String::new();
    let mut stack = vec![s];
    while let Some(s) = stack.pop() {
        if s.status == Status::Fail && s.steps.is_empty() {
            let _ = writeln!(out, "{} {}: {}", s.path, s.title, s.detail.as_deref().unwrap_or(""));
        }
        stack.extend(s.steps.iter().rev());
    }
    out
}

/// Text escaped for XML attributes and content; characters XML 1.0 cannot hold at all
/// (most control characters) become U+FFFD.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(xml("a<b>&\"c'\n\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;&#10;\u{fffd}");
    }
}
