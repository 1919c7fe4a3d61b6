//! Does a received message match an `Expect`? Each check says in words why not, so a failed
//! step shows what arrived and which part of it differed.

use base64::Engine as _;
use serde_json::Value;

use crate::analysis::ws::builder::parse_hex;
use crate::scenario::model::{Cmp, ExpectStep, MsgKind};
use crate::scenario::vars::{Vars, parse_json_path, remove, walk};

/// A message as a scripted client received it.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: its code and reason (`None` for an empty close body).
    Close(Option<u16>, String),
}

/// Longest preview of a message in a report.
const PREVIEW_CHARS: usize = 200;

impl Msg {
    pub fn is_control(&self) -> bool {
        matches!(self, Msg::Ping(_) | Msg::Pong(_))
    }

    /// The message in a few words for a report: text as it is (cut), bytes as hex.
    pub fn preview(&self) -> String {
        match self {
            Msg::Text(t) => format!("text {}", cut(t)),
            Msg::Binary(b) => format!("binary {} bytes {}", b.len(), hex_preview(b)),
            Msg::Ping(b) => format!("ping {}", hex_preview(b)),
            Msg::Pong(b) => format!("pong {}", hex_preview(b)),
            Msg::Close(code, reason) => match code {
                Some(code) => format!(
                    "close {}",
                    crate::analysis::ws::close::describe_close(Some(*code), reason)
                ),
                None => "close without a code".to_owned(),
            },
        }
    }
}

/// `s` shortened to `PREVIEW_CHARS` characters, marked when cut.
pub fn cut(s: &str) -> String {
    match s.char_indices().nth(PREVIEW_CHARS) {
        Some((at, _)) => format!("{}… ({} bytes)", s.get(..at).unwrap_or_default(), s.len()),
        None => s.to_owned(),
    }
}

fn hex_preview(b: &[u8]) -> String {
    let shown: String = b.iter().take(32).map(|x| format!("{x:02x}")).collect();
    if b.len() > 32 { format!("{shown}…") } else { shown }
}

/// An expectation with its variables put in, ready to test messages.
pub struct Matcher {
    kind: Option<MsgKind>,
    text: Option<String>,
    regex: Option<regex::Regex>,
    json: Option<Value>,
    exact: bool,
    ignore: Vec<Vec<crate::query::json::Seg>>,
    fields: Vec<(String, Vec<crate::query::json::Seg>, Cmp)>,
    schema: Option<jsonschema::Validator>,
    bytes: Option<Vec<u8>>,
}

/// What a matching message gave: values for `capture`.
pub struct Matched {
    pub captures: Vec<(String, Value)>,
}

impl Matcher {
    /// Builds the checks of `e` with the current variables; a bad regex, path, schema or
    /// byte string is an error (checked before the run too, see `load`).
    pub fn new(e: &ExpectStep, vars: &Vars) -> Result<Matcher, String> {
        let regex = match &e.regex {
            Some(r) => {
                let r = vars.interpolate(r)?;
                Some(regex::Regex::new(&r).map_err(|err| format!("bad regex {r:?}: {err}"))?)
            }
            None => None,
        };
        let json = e.json.as_ref().map(|j| vars.resolve(j)).transpose()?;
        let ignore = e.ignore.iter().map(|p| parse_json_path(p)).collect::<Result<_, _>>()?;
        let mut fields = Vec::new();
        for (path, cmp) in &e.fields {
            let cmp = resolve_cmp(cmp, vars)?;
            if let Cmp::Matches(r) = &cmp {
                regex::Regex::new(r).map_err(|err| format!("bad regex {r:?} for {path}: {err}"))?;
            }
            fields.push((path.clone(), parse_json_path(path)?, cmp));
        }
        let schema = match &e.schema {
            Some(s) => Some(jsonschema::validator_for(s).map_err(|err| format!("bad JSON Schema: {err}"))?),
            None => None,
        };
        let bytes = expected_bytes(e.binary_hex.as_deref(), e.binary_base64.as_deref(), vars)?;
        Ok(Matcher {
            kind: e.kind,
            text: e.text.as_deref().map(|t| vars.interpolate(t)).transpose()?,
            regex,
            json,
            exact: e.exact,
            ignore,
            fields,
            schema,
            bytes,
        })
    }

    /// Whether this expectation is about control frames (pings, pongs): other expectations
    /// skip them.
    pub fn wants_control(&self) -> bool {
        matches!(self.kind, Some(MsgKind::Ping | MsgKind::Pong))
    }

    /// Ok with the captures when `msg` matches, else why not.
    pub fn check(&self, msg: &Msg, e: &ExpectStep) -> Result<Matched, String> {
        match (self.kind, msg) {
            (Some(MsgKind::Ping), Msg::Ping(_)) | (Some(MsgKind::Pong), Msg::Pong(_)) => {}
            (Some(MsgKind::Ping | MsgKind::Pong), _) => return Err("not the control frame expected".into()),
            (Some(MsgKind::Text | MsgKind::Json), Msg::Text(_)) | (Some(MsgKind::Binary), Msg::Binary(_)) => {}
            (Some(k), _) => return Err(format!("expected a {k:?} message")),
            (None, _) => {}
        }
        let text = match msg {
            Msg::Text(t) => Some(t.as_str()),
            _ => None,
        };
        let payload: &[u8] = match msg {
            Msg::Text(t) => t.as_bytes(),
            Msg::Binary(b) | Msg::Ping(b) | Msg::Pong(b) => b,
            Msg::Close(..) => &[],
        };
        if let Some(want) = &self.text
            && text != Some(want.as_str())
        {
            return Err(format!("text is not {}", cut(want)));
        }
        if let Some(want) = &self.bytes
            && payload != want.as_slice()
        {
            return Err(format!("bytes are not {}", hex_preview(want)));
        }
        let mut groups: Vec<Option<String>> = Vec::new();
        if let Some(re) = &self.regex {
            let Some(t) = text else {
                return Err(format!("not text, so not matched by /{}/", re.as_str()));
            };
            let Some(caps) = re.captures(t) else {
                return Err(format!("text does not match /{}/", re.as_str()));
            };
            groups = caps.iter().map(|g| g.map(|m| m.as_str().to_owned())).collect();
        }
        let needs_json = self.json.is_some()
            || !self.fields.is_empty()
            || self.schema.is_some()
            || self.kind == Some(MsgKind::Json)
            || e.capture.values().any(|src| !src.starts_with('$'));
        let doc = if needs_json {
            let t = text.ok_or("not a text message, so not JSON")?;
            Some(serde_json::from_str::<Value>(t).map_err(|err| format!("not JSON: {err}"))?)
        } else {
            None
        };
        if let Some(doc) = &doc {
            if let Some(want) = &self.json {
                if self.exact {
                    let (mut got, mut want) = (doc.clone(), want.clone());
                    for p in &self.ignore {
                        remove(&mut got, p);
                        remove(&mut want, p);
                    }
                    if !json_equal(&got, &want) {
                        return Err(format!("JSON differs: {}", first_difference(&want, &got, "")));
                    }
                } else {
                    contains(doc, want, "")?;
                }
            }
            for (name, path, cmp) in &self.fields {
                compare(walk(doc, path), cmp).map_err(|why| format!("{name}: {why}"))?;
            }
            if let Some(schema) = &self.schema
                && let Err(err) = schema.validate(doc)
            {
                return Err(format!("fails the JSON Schema at '{}': {err}", err.instance_path()));
            }
        }
        let mut captures = Vec::new();
        for (var, source) in &e.capture {
            let value = if source == "$text" {
                text.map(|t| Value::String(t.to_owned()))
            } else if let Some(n) = source.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                groups.get(n).cloned().flatten().map(Value::String)
            } else {
                let path = parse_json_path(source)?;
                doc.as_ref().and_then(|d| walk(d, &path)).cloned()
            };
            match value {
                Some(v) => captures.push((var.clone(), v)),
                None => return Err(format!("nothing to capture into {var} from {source}")),
            }
        }
        Ok(Matched { captures })
    }
}

fn resolve_cmp(cmp: &Cmp, vars: &Vars) -> Result<Cmp, String> {
    Ok(match cmp {
        Cmp::Eq(v) => Cmp::Eq(vars.resolve(v)?),
        Cmp::Ne(v) => Cmp::Ne(vars.resolve(v)?),
        Cmp::Lt(v) => Cmp::Lt(vars.resolve(v)?),
        Cmp::Le(v) => Cmp::Le(vars.resolve(v)?),
        Cmp::Gt(v) => Cmp::Gt(vars.resolve(v)?),
        Cmp::Ge(v) => Cmp::Ge(vars.resolve(v)?),
        Cmp::Matches(r) => Cmp::Matches(vars.interpolate(r)?),
        Cmp::Contains(v) => Cmp::Contains(vars.resolve(v)?),
        Cmp::OneOf(vs) => Cmp::OneOf(vs.iter().map(|v| vars.resolve(v)).collect::<Result<_, _>>()?),
        Cmp::Exists => Cmp::Exists,
        Cmp::Absent => Cmp::Absent,
    })
}

/// The bytes a binary expectation or send spells (hex or base64), if it names any.
pub fn expected_bytes(hex: Option<&str>, b64: Option<&str>, vars: &Vars) -> Result<Option<Vec<u8>>, String> {
    if let Some(h) = hex {
        let h = vars.interpolate(h)?;
        return parse_hex(&h).map(Some).map_err(|e| format!("'{h}' is not hex: {e}"));
    }
    if let Some(b) = b64 {
        let b = vars.interpolate(b)?;
        return base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map(Some)
            .map_err(|e| format!("'{b}' is not base64: {e}"));
    }
    Ok(None)
}

/// JSON equality where numbers compare by value (1 == 1.0), as people mean it.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64() && x.as_f64().is_some(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Ok when `got` contains `want`: objects may have more keys, everything else is equal.
fn contains(got: &Value, want: &Value, at: &str) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let path = join(at, k);
                match g.get(k) {
                    Some(gv) => contains(gv, wv, &path)?,
                    None => return Err(format!("{path}: missing (expected {})", cut(&wv.to_string()))),
                }
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                contains(gv, wv, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ if json_equal(got, want) => Ok(()),
        _ => Err(format!(
            "{}: expected {}, got {}",
            if at.is_empty() { "the message" } else { at },
            cut(&want.to_string()),
            cut(&got.to_string())
        )),
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// Where two unequal documents first differ, in words.
fn first_difference(want: &Value, got: &Value, at: &str) -> String {
    let here = if at.is_empty() { "the message" } else { at };
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    None => return format!("{} missing", join(at, k)),
                    Some(gv) if !json_equal(wv, gv) => return first_difference(wv, gv, &join(at, k)),
                    _ => {}
                }
            }
            match g.keys().find(|k| !w.contains_key(*k)) {
                Some(extra) => format!("{} not expected", join(at, extra)),
                None => format!("{here} differs"),
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                if !json_equal(wv, gv) {
                    return first_difference(wv, gv, &format!("{at}[{i}]"));
                }
            }
            format!("{here} differs")
        }
        _ => format!(
            "{here}: expected {}, got {}",
            cut(&want.to_string()),
            cut(&got.to_string())
        ),
    }
}

/// Applies one field comparison.
pub fn compare(got: Option<&Value>, cmp: &Cmp) -> Result<(), String> {
    let shown = |v: Option<&Value>| v.map_or("nothing (absent)".to_owned(), |v| cut(&v.to_string()));
    let order = |want: &Value| -> Result<std::cmp::Ordering, String> {
        let g = got.ok_or_else(|| format!("absent, expected a value to compare with {want}"))?;
        match (g, want) {
            (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b).ok_or_else(|| "not comparable".to_owned()),
                _ => Err("not comparable".to_owned()),
            },
            (Value::String(a), Value::String(b)) => Ok(a.cmp(b)),
            _ => Err(format!("{} cannot be compared with {want}", shown(got))),
        }
    };
    use std::cmp::Ordering::*;
    let (ok, what) = match cmp {
        Cmp::Eq(w) => (got.is_some_and(|g| json_equal(g, w)), format!("== {w}")),
        Cmp::Ne(w) => (got.is_some_and(|g| !json_equal(g, w)), format!("!= {w}")),
        Cmp::Lt(w) => (order(w)? == Less, format!("< {w}")),
        Cmp::Le(w) => (order(w)? != Greater, format!("<= {w}")),
        Cmp::Gt(w) => (order(w)? == Greater, format!("> {w}")),
        Cmp::Ge(w) => (order(w)? != Less, format!(">= {w}")),
        Cmp::Matches(r) => {
            let re = regex::Regex::new(r).map_err(|e| format!("bad regex {r:?}: {e}"))?;
            (
                matches!(got, Some(Value::String(s)) if re.is_match(s)),
                format!("matching /{r}/"),
            )
        }
        Cmp::Contains(w) => (
            match (got, w) {
                (Some(Value::String(s)), Value::String(part)) => s.contains(part.as_str()),
                (Some(Value::Array(items)), w) => items.iter().any(|i| json_equal(i, w)),
                _ => false,
            },
            format!("containing {w}"),
        ),
        Cmp::OneOf(ws) => (
            got.is_some_and(|g| ws.iter().any(|w| json_equal(g, w))),
            format!("one of {}", Value::Array(ws.clone())),
        ),
        Cmp::Exists => (got.is_some(), "present".to_owned()),
        Cmp::Absent => (got.is_none(), "absent".to_owned()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {what}, got {}", shown(got)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(f: impl FnOnce(&mut ExpectStep)) -> ExpectStep {
        let mut e = ExpectStep {
            client: "a".into(),
            ..ExpectStep::default()
        };
        f(&mut e);
        e
    }

    fn run(e: &ExpectStep, vars: &Vars, msg: &str) -> Result<Vec<(String, Value)>, String> {
        Matcher::new(e, vars)?
            .check(&Msg::Text(msg.into()), e)
            .map(|m| m.captures)
    }

    #[test]
    fn json_subset_fields_and_captures() {
        let mut vars = Vars::default();
        vars.set("last", json!(4));
        let e = expect(|e| {
            e.json = Some(json!({"type": "message", "from": "A"}));
            e.fields.insert("seq".into(), Cmp::Gt(json!("${last}")));
            e.capture.insert("last".into(), "seq".into());
        });
        let ok = run(
            &e,
            &vars,
            r#"{"type":"message","room":"r","from":"A","text":"x","seq":5}"#,
        );
        assert_eq!(ok, Ok(vec![("last".to_owned(), json!(5))]));
        let wrong_from = run(&e, &vars, r#"{"type":"message","from":"B","seq":5}"#).expect_err("from");
        assert_eq!(wrong_from, r#"from: expected "A", got "B""#);
        let stale = run(&e, &vars, r#"{"type":"message","from":"A","seq":4}"#).expect_err("seq");
        assert_eq!(stale, "seq: expected > 4, got 4");
        let missing = run(&e, &vars, r#"{"type":"message","seq":9}"#).expect_err("missing");
        assert_eq!(missing, r#"from: missing (expected "A")"#);
        assert!(run(&e, &vars, "hello").expect_err("not json").starts_with("not JSON"));
    }

    #[test]
    fn exact_json_ignores_marked_fields_and_numbers_compare_by_value() {
        let e = expect(|e| {
            e.json = Some(json!({"a": 1, "id": "x", "t": [1, 2]}));
            e.exact = true;
            e.ignore = vec!["id".into()];
        });
        let vars = Vars::default();
        assert!(run(&e, &vars, r#"{"t":[1,2.0],"id":"other","a":1.0}"#).is_ok());
        assert_eq!(
            run(&e, &vars, r#"{"a":1,"id":"x","t":[1,2],"extra":true}"#).expect_err("extra"),
            "JSON differs: extra not expected"
        );
        assert_eq!(
            run(&e, &vars, r#"{"a":1,"id":"x","t":[1,3]}"#).expect_err("differs"),
            "JSON differs: t[1]: expected 2, got 3"
        );
    }

    #[test]
    fn regex_schema_bytes_and_kinds() {
        let vars = Vars::default();
        let e = expect(|e| {
            e.regex = Some(r"^hello (\w+)$".into());
            e.capture.insert("who".into(), "$1".into());
        });
        assert_eq!(run(&e, &vars, "hello bob"), Ok(vec![("who".to_owned(), json!("bob"))]));
        assert!(
            run(&e, &vars, "bye bob")
                .expect_err("no match")
                .contains("does not match")
        );
        let s = expect(|e| {
            e.schema = Some(
                json!({"type": "object", "required": ["seq"], "properties": {"seq": {"type": "integer", "minimum": 1}}}),
            );
        });
        assert!(run(&s, &vars, r#"{"seq":3}"#).is_ok());
        let err = run(&s, &vars, r#"{"seq":0}"#).expect_err("minimum");
        assert!(err.starts_with("fails the JSON Schema at '/seq'"), "{err}");
        let b = expect(|e| e.binary_hex = Some("01 02 ff".into()));
        let m = Matcher::new(&b, &vars).expect("matcher");
        assert!(m.check(&Msg::Binary(vec![1, 2, 255]), &b).is_ok());
        assert!(m.check(&Msg::Binary(vec![1, 2]), &b).is_err());
        let ping = expect(|e| e.kind = Some(MsgKind::Ping));
        let m = Matcher::new(&ping, &vars).expect("matcher");
        assert!(m.wants_control());
        assert!(m.check(&Msg::Ping(vec![]), &ping).is_ok());
        assert!(m.check(&Msg::Text("x".into()), &ping).is_err());
        let bad = expect(|e| e.regex = Some("(".into()));
        assert!(Matcher::new(&bad, &vars).is_err());
    }

    #[test]
    fn field_comparisons() {
        let v = json!(5);
        assert!(compare(Some(&v), &Cmp::Ge(json!(5))).is_ok());
        assert!(compare(Some(&v), &Cmp::Lt(json!(5))).is_err());
        assert!(compare(Some(&v), &Cmp::OneOf(vec![json!(1), json!(5.0)])).is_ok());
        assert!(compare(None, &Cmp::Absent).is_ok());
        assert_eq!(
            compare(None, &Cmp::Eq(json!(1))).expect_err("absent"),
            "expected == 1, got nothing (absent)"
        );
        assert!(compare(Some(&json!("abc")), &Cmp::Matches("^a".into())).is_ok());
        assert!(compare(Some(&json!(["x", "y"])), &Cmp::Contains(json!("y"))).is_ok());
        assert!(compare(Some(&json!("x")), &Cmp::Gt(json!(1))).is_err());
    }
}
