//! The probe's reports: JSON (a list of `{id, category, description, verdict, close_code,
//! detail}`), a self-contained HTML page, and the text summary printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::probe::{CaseResult, Verdict};

pub fn json(results: &[CaseResult]) -> String {
    serde_json::to_string_pretty(results).unwrap_or_else(|_| "[]".to_owned())
}

/// Verdict counts per category, in case order.
pub fn counts(results: &[CaseResult]) -> Vec<(String, BTreeMap<Verdict, usize>)> {
    let mut out: Vec<(String, BTreeMap<Verdict, usize>)> = Vec::new();
    for r in results {
        if out.last().map(|(c, _)| c != &r.category).unwrap_or(true) {
            out.push((r.category.clone(), BTreeMap::new()));
        }
        if let Some((_, m)) = out.last_mut() {
            *m.entry(r.verdict).or_default() += 1;
        }
    }
    out
}

pub fn summary(results: &[CaseResult], skipped: usize) -> String {
    let mut s = String::new();
    for (cat, m) in counts(results) {
        let parts: Vec<String> = m.iter().map(|(v, n)| format!("{n} {}", v.as_str())).collect();
        let _ = writeln!(s, "  {cat:<26} {}", parts.join(", "));
    }
    let failed = results.iter().filter(|r| r.verdict == Verdict::Fail).count();
    let _ = writeln!(
        s,
        "{} cases, {failed} failed{}",
        results.len(),
        if skipped > 0 {
            format!(", {skipped} not run (the run's time limit)")
        } else {
            String::new()
        }
    );
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn html(results: &[CaseResult], url: &str) -> String {
    let mut s = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>framescope probe</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}.pass{background:#cfc}.non-strict{background:#ffc}.fail{background:#fbb}.info{background:#ddf}.unimplemented{background:#ddd}</style></head><body>",
    );
    let _ = write!(s, "<h1>framescope probe of {}</h1>", esc(url));
    s.push_str("<table><tr><th>category</th><th>verdicts</th></tr>");
    for (cat, m) in counts(results) {
        let parts: Vec<String> = m
            .iter()
            .map(|(v, n)| format!("<span class=\"{0}\">{n} {0}</span>", v.as_str()))
            .collect();
        let _ = write!(s, "<tr><td>{}</td><td>{}</td></tr>", esc(&cat), parts.join(" "));
    }
    s.push_str("</table><h2>Cases</h2><table><tr><th>id</th><th>category</th><th>description</th><th>verdict</th><th>close code</th><th>detail</th></tr>");
    for r in results {
        let _ = write!(
            s,
            "<tr><td>{0}</td><td>{1}</td><td>{2}</td><td class=\"{3}\">{3}</td><td>{4}</td><td>{5}</td></tr>",
            esc(&r.id),
            esc(&r.category),
            esc(&r.description),
            r.verdict.as_str(),
            r.close_code.map(|c| c.to_string()).unwrap_or_default(),
            esc(&r.detail)
        );
    }
    s.push_str("</table></body></html>\n");
    s
}
