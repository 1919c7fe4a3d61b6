//! Variables: `${name}` in strings and JSON, `${env:NAME}` from the environment, captured
//! values, and JSON paths in the filter language's syntax (`user.id`, `items[0]`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::query::json::{Seg, parse_path};

/// The variables of a run.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

impl Vars {
    pub fn new(values: BTreeMap<String, Value>) -> Self {
        Vars { values }
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    fn get(&self, name: &str) -> Result<Value, String> {
        if let Some(env) = name.strip_prefix("env:") {
            return std::env::var(env)
                .map(Value::String)
                .map_err(|_| format!("environment variable {env} is not set (used as ${{env:{env}}})"));
        }
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("variable '{name}' is not set (set it with vars, Set, capture or --var)"))
    }

    /// `text` with every `${name}` replaced by the variable's value (a string as itself,
    /// anything else as JSON); `$${` stands for a literal `${`.
    pub fn interpolate(&self, text: &str) -> Result<String, String> {
        if !text.contains("${") {
            return Ok(text.to_owned());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(rest.get(..at).unwrap_or_default());
            let after = rest.get(at..).unwrap_or_default();
            if let Some(tail) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("${") {
                let end = tail
                    .find('}')
                    .ok_or_else(|| format!("'${{' without a closing '}}' in \"{text}\""))?;
                let name = tail.get(..end).unwrap_or_default().trim();
                match self.get(name)? {
                    Value::String(s) => out.push_str(&s),
                    other => out.push_str(&other.to_string()),
                }
                rest = tail.get(end + 1..).unwrap_or_default();
            } else {
                out.push('$');
                rest = after.get(1..).unwrap_or_default();
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `value` with variables put in: a string that is exactly `${name}` becomes the
    /// variable's value with its type (a number stays a number); other strings are
    /// interpolated as text; object keys too.
    pub fn resolve(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => match whole_reference(s) {
                Some(name) => self.get(name)?,
                None => Value::String(self.interpolate(s)?),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect::<Result<_, _>>()?),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    out.insert(self.interpolate(k)?, self.resolve(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// `name` when `s` is exactly `${name}`.
fn whole_reference(s: &str) -> Option<&str> {
    let name = s.strip_prefix("${")?.strip_suffix('}')?;
    (!name.contains(['{', '}', '$'])).then_some(name.trim())
}

/// Every variable name `text` refers to (for checks before the run).
pub fn references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let escaped = at > 0 && rest.as_bytes().get(at - 1) == Some(&b'$');
        let tail = rest.get(at + 2..).unwrap_or_default();
        let Some(end) = tail.find('}') else { break };
        if !escaped {
            names.push(tail.get(..end).unwrap_or_default().trim().to_owned());
        }
        rest = tail.get(end + 1..).unwrap_or_default();
    }
    names
}

/// A JSON path as the filter language writes it after `json.`: `seq`, `user.id`,
/// `items[0].id`, `["a.b"]`.
pub fn parse_json_path(path: &str) -> Result<Vec<Seg>, String> {
    let full = if path.starts_with('[') {
        path.to_owned()
    } else {
        format!(".{path}")
    };
    parse_path(&full).map_err(|(at, why)| format!("bad JSON path '{path}' at character {}: {why}", at.max(1)))
}

/// The value at `path` in `value`.
pub fn walk<'v>(value: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    let mut at = value;
    for seg in path {
        at = match (seg, at) {
            (Seg::Key(k), Value::Object(map)) => map.get(k)?,
            (Seg::Index(i), Value::Array(items)) => items.get(*i)?,
            // `items.0` reads like `items[0]`.
            (Seg::Key(k), Value::Array(items)) => items.get(k.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Removes the value at `path` (for fields a comparison ignores).
pub fn remove(value: &mut Value, path: &[Seg]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = value;
    for seg in parents {
        let next = match (seg, at) {
            (Seg::Key(k), Value::Object(map)) => map.get_mut(k),
            (Seg::Index(i), Value::Array(items)) => items.get_mut(*i),
            (Seg::Key(k), Value::Array(items)) => k.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return,
        }
    }
    match (last, at) {
        (Seg::Key(k), Value::Object(map)) => {
            map.shift_remove(k);
        }
        // An ignored array element is blanked, so later indices keep their meaning.
        (Seg::Index(i), Value::Array(items)) => {
            if let Some(v) = items.get_mut(*i) {
                *v = Value::Null;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("seq", json!(7));
        v.set("user", json!("A"));
        v
    }

    #[test]
    fn strings_are_interpolated_and_whole_references_keep_their_type() {
        let v = vars();
        assert_eq!(v.interpolate("m-${seq} by ${user}").as_deref(), Ok("m-7 by A"));
        assert_eq!(
            v.interpolate("cost $5, literal $${seq}").as_deref(),
            Ok("cost $5, literal ${seq}")
        );
        assert_eq!(
            v.resolve(&json!({"seq": "${seq}", "t": "n${seq}", "${user}": [1, "${user}"]})),
            Ok(json!({"seq": 7, "t": "n7", "A": [1, "A"]}))
        );
        let err = v.interpolate("${nope}").expect_err("unset");
        assert!(err.contains("'nope' is not set"), "{err}");
        assert!(v.interpolate("${seq").is_err());
        assert_eq!(references("a ${x} $${y} ${ z }"), vec!["x".to_owned(), "z".to_owned()]);
    }

    #[test]
    fn paths_walk_objects_and_arrays_and_remove_fields() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}, "d.e": 1});
        let p = parse_json_path("a.b[1].c").expect("path");
        assert_eq!(walk(&doc, &p), Some(&json!("x")));
        assert_eq!(walk(&doc, &parse_json_path("a.b.0").expect("path")), Some(&json!(10)));
        assert_eq!(
            walk(&doc, &parse_json_path("[\"d.e\"]").expect("path")),
            Some(&json!(1))
        );
        assert_eq!(walk(&doc, &parse_json_path("a.z").expect("path")), None);
        let mut m = doc.clone();
        remove(&mut m, &parse_json_path("a.b[1].c").expect("path"));
        assert_eq!(m, json!({"a": {"b": [10, {}]}, "d.e": 1}));
        assert!(parse_json_path("a..b").is_err());
    }
}
