//! `json.<path>` fields: the path syntax, and a lookup that walks a payload to one value
//! without building the whole document (serde_json drives the parse; siblings are skipped
//! with `IgnoredAny`, so only the value found is allocated).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// The value found at a path. Objects and arrays are reported without their contents.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Array { len: usize },
    Object,
}

/// Parses what follows `json` in a field name (`.a.b`, `.items[0].id`, `["a.b"]`), or
/// `Err((byte offset within rest, message))`.
pub fn parse_path(rest: &str) -> Result<Vec<Seg>, (usize, String)> {
    let bytes = rest.as_bytes();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'.') => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && !matches!(bytes.get(end), Some(b'.' | b'[')) {
                    end += 1;
                }
                if end == start {
                    return Err((i, "expected a key after '.'".to_owned()));
                }
                segs.push(Seg::Key(rest.get(start..end).unwrap_or_default().to_owned()));
                i = end;
            }
            Some(b'[') => {
                let close = find_bracket_end(rest, i).ok_or((i, "'[' is not closed by ']'".to_owned()))?;
                let inner = rest.get(i + 1..close).unwrap_or_default();
                if inner.starts_with('"') {
                    let tokens = crate::query::lexer::lex(inner).map_err(|e| (i + 1 + e.byte_offset, e.message))?;
                    match tokens.as_slice() {
                        [t] => match &t.kind {
                            crate::query::lexer::TokenKind::Str(key) => {
                                let key = String::from_utf8(key.clone())
                                    .map_err(|_| (i + 1, "a JSON key must be UTF-8".to_owned()))?;
                                segs.push(Seg::Key(key));
                            }
                            _ => return Err((i + 1, "expected a quoted key".to_owned())),
                        },
                        _ => return Err((i + 1, "expected one quoted key".to_owned())),
                    }
                } else {
                    let index = inner
                        .parse::<usize>()
                        .map_err(|_| (i + 1, format!("'{inner}' is not an array index")))?;
                    segs.push(Seg::Index(index));
                }
                i = close + 1;
            }
            _ => return Err((i, "expected '.' or '[' in a JSON path".to_owned())),
        }
    }
    Ok(segs)
}

/// The `]` closing the bracket at `open`, skipping a quoted key's escaped quotes.
fn find_bracket_end(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = open + 1;
    let mut quoted = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b']' if !quoted => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value at `path` in `payload`, or `None` when the payload is not one JSON value or has
/// nothing there. Duplicate keys: the last one wins (as in Python's `json` and serde_json).
pub fn lookup(payload: &[u8], path: &[Seg]) -> Option<Leaf> {
    // Cheap refusal of payloads that cannot be JSON, before any parsing.
    let first = payload.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(payload);
    let found = PathSeed { path }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    found
}

struct PathSeed<'p> {
    path: &'p [Seg],
}

impl<'de> DeserializeSeed<'de> for PathSeed<'_> {
    type Value = Option<Leaf>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(PathVisitor { path: self.path })
    }
}

struct PathVisitor<'p> {
    path: &'p [Seg],
}

impl PathVisitor<'_> {
    fn scalar(&self, leaf: Leaf) -> Option<Leaf> {
        self.path.is_empty().then_some(leaf)
    }
}

impl<'de> Visitor<'de> for PathVisitor<'_> {
    type Value = Option<Leaf>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Int(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Int(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.path.is_empty().then(|| Leaf::Str(v.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut index = 0usize;
        match self.path.split_first() {
            None => {
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    index += 1;
                }
                found = Some(Leaf::Array { len: index });
            }
            Some((Seg::Index(want), rest)) => loop {
                if index == *want {
                    match seq.next_element_seed(PathSeed { path: rest })? {
                        Some(value) => found = value,
                        None => break,
                    }
                } else if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                index += 1;
            },
            Some((Seg::Key(_), _)) => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        match self.path.split_first() {
            None => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                found = Some(Leaf::Object);
            }
            Some((Seg::Key(want), rest)) => {
                while let Some(hit) = map.next_key_seed(KeyIs { want })? {
                    if hit {
                        found = map.next_value_seed(PathSeed { path: rest })?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Some((Seg::Index(_), _)) => while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {},
        }
        Ok(found)
    }
}

/// Deserialises an object key into "is it the one we want", without keeping it.
struct KeyIs<'k> {
    want: &'k str,
}

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<Seg> {
        parse_path(s).expect("path parses")
    }

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            path(r#".items[0].id["a.b"]"#),
            vec![
                Seg::Key("items".into()),
                Seg::Index(0),
                Seg::Key("id".into()),
                Seg::Key("a.b".into())
            ]
        );
        assert_eq!(path(""), vec![]);
        assert!(parse_path(".a..b").is_err());
        assert!(parse_path("[x]").is_err());
    }

    #[test]
    fn lookup_finds_nested_values_and_skips_the_rest() {
        let doc = br#"{"type":"order.paid","items":[{"id":2},{"id":7,"tags":["a"]}],"n":null,"ok":true,"x":1.5,"type2":{"k":"v"}}"#;
        assert_eq!(lookup(doc, &path(".type")), Some(Leaf::Str("order.paid".into())));
        assert_eq!(lookup(doc, &path(".items[1].id")), Some(Leaf::Int(7)));
        assert_eq!(lookup(doc, &path(".items[2].id")), None);
        assert_eq!(lookup(doc, &path(".items")), Some(Leaf::Array { len: 2 }));
        assert_eq!(lookup(doc, &path(".items[1].tags[0]")), Some(Leaf::Str("a".into())));
        assert_eq!(lookup(doc, &path(".n")), Some(Leaf::Null));
        assert_eq!(lookup(doc, &path(".ok")), Some(Leaf::Bool(true)));
        assert_eq!(lookup(doc, &path(".x")), Some(Leaf::Float(1.5)));
        assert_eq!(lookup(doc, &path(".type2")), Some(Leaf::Object));
        assert_eq!(lookup(doc, &path(".type.x")), None);
        assert_eq!(lookup(doc, &path("")), Some(Leaf::Object));
    }

    #[test]
    fn escaped_keys_match_and_broken_json_finds_nothing() {
        assert_eq!(lookup(br#"{"a\"b":1}"#, &path(r#"["a\"b"]"#)), Some(Leaf::Int(1)));
        assert_eq!(lookup(br#"{"k":"\u00e9"}"#, &path(".k")), Some(Leaf::Str("é".into())));
        assert_eq!(lookup(br#"{"a":1"#, &path(".a")), None);
        assert_eq!(lookup(br#"{"a":1} x"#, &path(".a")), None);
        assert_eq!(lookup(b"hello", &path(".a")), None);
        assert_eq!(lookup(br#"{"a":1,"a":2}"#, &path(".a")), Some(Leaf::Int(2)));
    }
}
