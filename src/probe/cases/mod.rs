//! The case catalogue: every case with its id (Autobahn's where the case is theirs), category,
//! description and body, and the `--cases` selection.

pub mod basic;
pub mod bulk;
pub mod close;
pub mod fragments;
pub mod handshake;
pub mod limits;
pub mod utf8;

use crate::probe::Category;
use crate::probe::script::Script;

/// What a case runs.
#[derive(Clone)]
pub enum Body {
    /// Autobahn-style: frames out, events in, judged by `script::judge`.
    Script(Script),
    /// A script built when the case runs (megabytes of payload not held by the catalogue).
    Lazy(std::sync::Arc<dyn Fn() -> Script + Send + Sync>),
    /// Many echoed messages in a row (9.7/9.8 round trips, 12/13 permessage-deflate).
    Bulk(bulk::Bulk),
    /// The opening handshake and connection limits (`h.*`).
    Handshake(handshake::Check),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Script(s) => s.fmt(f),
            Body::Lazy(_) => f.write_str("Lazy(..)"),
            Body::Bulk(b) => b.fmt(f),
            Body::Handshake(h) => h.fmt(f),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    pub category: Category,
    pub description: String,
    /// Runs only with `--slow` (big payloads, many messages).
    pub slow: bool,
    pub body: Body,
}

pub fn case(id: &str, category: Category, description: &str, script: Script) -> Case {
    Case {
        id: id.to_owned(),
        category,
        description: description.to_owned(),
        slow: false,
        body: Body::Script(script),
    }
}

/// Every case, in report order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(basic::framing());
    v.extend(basic::ping_pong());
    v.extend(basic::reserved_bits());
    v.extend(basic::opcodes());
    v.extend(fragments::cases());
    v.extend(utf8::cases());
    v.extend(close::cases());
    v.extend(limits::cases());
    v.extend(bulk::round_trip_cases());
    v.extend(limits::misc());
    v.extend(bulk::deflate_cases());
    v.extend(handshake::cases());
    v
}

/// Parses `--cases 5.*,6.4.1,h.*` into patterns; `Err` names a bad one.
pub fn parse_selection(text: &str) -> Result<Vec<String>, String> {
    let pats: Vec<String> = text
        .split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if pats.is_empty() {
        return Err("--cases is empty: give ids or patterns such as 5.*,6.4.1".to_owned());
    }
    for p in &pats {
        if !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '*') {
            return Err(format!(
                "'{p}' is not a case id or pattern (ids look like 5.19, 6.4.1, h.3; * matches the rest)"
            ));
        }
    }
    Ok(pats)
}

/// Whether `id` matches a pattern: exact, or a prefix ending in `*` (`5.*` is 5.1…5.20;
/// `6.4*` is 6.4.x).
pub fn matches(id: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => id == pattern,
    }
}

/// The cases a run does: the selection (all by default), slow ones only with `slow` or when
/// named exactly.
pub fn select(patterns: Option<&[String]>, slow: bool) -> Vec<Case> {
    all()
        .into_iter()
        .filter(|c| match patterns {
            None => !c.slow || slow,
            Some(pats) => pats
                .iter()
                .any(|p| matches(&c.id, p) && (!c.slow || slow || !p.ends_with('*'))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_patterns_select_them() {
        let cases = all();
        let mut ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate case ids");
        let five = select(Some(&parse_selection("5.*").unwrap()), false);
        assert_eq!(five.len(), 20);
        assert!(five.iter().all(|c| c.id.starts_with("5.")));
        assert!(matches("6.4.1", "6.4*"));
        assert!(!matches("6.41", "6.4.*"));
        assert!(parse_selection("5.*;rm").is_err());
        // 6.5 ... 6.23: the UTF-8 sequences of Markus Kuhn's test file, as Autobahn numbers them.
        assert!(cases.iter().any(|c| c.id == "6.23.7"));
        assert!(!cases.iter().any(|c| c.id == "6.24.1"));
        // Slow cases run only when asked for.
        assert!(select(None, false).iter().all(|c| !c.slow));
        assert_eq!(select(Some(&["9.1.6".to_owned()]), false).len(), 1);
    }
}
