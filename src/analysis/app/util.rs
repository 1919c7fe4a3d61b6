//! Small helpers the application decoders share: UTF-8 and JSON checks, previews, hex.

use serde_json::{Map, Value};

/// Longest payload text or hex kept inside decoded fields, in bytes: the exact bytes stay in
/// the message itself (`payload_b64`), fields only need enough to read and filter on.
pub const MAX_FIELD_PAYLOAD_BYTES: usize = 16 * 1024;
/// Longest argument preview in a one-line summary, in characters.
pub const MAX_SUMMARY_ARG_CHARS: usize = 60;

pub fn utf8(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// Parses a JSON text; `None` when it is not JSON. serde_json limits nesting to 128 levels.
pub fn json(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().min(MAX_FIELD_PAYLOAD_BYTES) * 2);
    for b in bytes.iter().take(MAX_FIELD_PAYLOAD_BYTES) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A payload as the most readable value: parsed JSON (object or array), text, or hex, with
/// the name of the form chosen. Long payloads are cut to [`MAX_FIELD_PAYLOAD_BYTES`].
pub fn payload_value(bytes: &[u8]) -> (Value, &'static str) {
    if let Some(text) = utf8(bytes) {
        let trimmed = text.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Some(v) = json(text)
        {
            return (v, "json");
        }
        return (Value::String(cut_str(text, MAX_FIELD_PAYLOAD_BYTES).to_owned()), "text");
    }
    (Value::String(hex(bytes)), "hex")
}

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a character boundary.
pub fn cut_str(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Compact JSON for a summary, cut to [`MAX_SUMMARY_ARG_CHARS`] characters with an ellipsis.
pub fn preview(v: &Value) -> String {
    let s = v.to_string();
    preview_str(&s)
}

pub fn preview_str(s: &str) -> String {
    if s.chars().count() <= MAX_SUMMARY_ARG_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_SUMMARY_ARG_CHARS).collect();
    out.push('…');
    out
}

/// A JSON id (number or string) as pairing key text.
pub fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Builds a JSON object from key/value pairs, skipping `Value::Null` values.
pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        if !v.is_null() {
            map.insert(k.to_owned(), v);
        }
    }
    Value::Object(map)
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Appends `key: value` lines for a tree, indented two spaces per level.
pub fn tree_lines(v: &Value, depth: usize, out: &mut Vec<String>) {
    const MAX_LINES: usize = 2000;
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if out.len() >= MAX_LINES {
                    return;
                }
                if child.is_object() || child.is_array() && !child.as_array().is_some_and(Vec::is_empty) {
                    out.push(format!("{pad}{k}:"));
                    tree_lines(child, depth + 1, out);
                } else {
                    out.push(format!("{pad}{k}: {}", scalar_text(child)));
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if out.len() >= MAX_LINES {
                    return;
                }
                if child.is_object() || child.is_array() {
                    out.push(format!("{pad}[{i}]:"));
                    tree_lines(child, depth + 1, out);
                } else {
                    out.push(format!("{pad}[{i}]: {}", scalar_text(child)));
                }
            }
        }
        other => out.push(format!("{pad}{}", scalar_text(other))),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_str_never_splits_a_character() {
        assert_eq!(cut_str("héllo", 2), "h");
        assert_eq!(cut_str("héllo", 3), "hé");
        assert_eq!(cut_str("abc", 10), "abc");
    }

    #[test]
    fn payload_value_prefers_json_then_text_then_hex() {
        assert_eq!(payload_value(b"{\"t\":21.5}"), (serde_json::json!({"t": 21.5}), "json"));
        assert_eq!(payload_value(b"21.5"), (Value::String("21.5".into()), "text"));
        assert_eq!(payload_value(&[0xff, 0x00]), (Value::String("ff00".into()), "hex"));
    }
}
