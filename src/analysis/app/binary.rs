//! MessagePack (rmpv) and CBOR (ciborium) messages as JSON-like trees, and a sniffer that
//! recognises either only when the whole message parses as one map or array.

use serde_json::{Map, Number, Value};

use crate::analysis::app::util;
use crate::analysis::app::{DecodeCtx, Decoded, Protocol};
use crate::analysis::findings::FindingKind;

/// Nesting depth accepted in MessagePack and CBOR values (deeper ones are malformed here):
/// keeps recursion bounded on hostile input.
pub const MAX_DEPTH: usize = 64;
/// Binary/text leaves kept as hex in trees, in bytes.
const BYTES_PREVIEW: usize = 256;

fn bytes_value(b: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert("binary_len".into(), b.len().into());
    m.insert("hex".into(), util::hex(b.get(..BYTES_PREVIEW).unwrap_or(b)).into());
    Value::Object(m)
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

/// Characters kept of a map key that is not text (its JSON text).
const MAX_KEY_CHARS: usize = 256;

/// A map key as JSON object keys need it: text as is, anything else as its JSON text, cut
/// at `MAX_KEY_CHARS`. The cut matters: a key that is a map whose key is a map… is escaped
/// again at every level, doubling its length each time, so a 400-byte CBOR or MessagePack
/// message of 64 nested one-pair maps would otherwise build a key of 2^64 characters (found
/// by the `app_cbor` fuzz target as a timeout).
fn key_text(k: Value) -> String {
    match k {
        Value::String(s) => s,
        other => {
            let mut text = other.to_string();
            if let Some((cut, _)) = text.char_indices().nth(MAX_KEY_CHARS) {
                text.truncate(cut);
                text.push('…');
            }
            text
        }
    }
}

/// One MessagePack value from the start of `bytes`, and the bytes it used.
pub fn msgpack_value(bytes: &[u8]) -> Result<(Value, usize), String> {
    let mut rd = bytes;
    let v = rmpv::decode::read_value_ref_with_max_depth(&mut rd, MAX_DEPTH).map_err(|e| e.to_string())?;
    Ok((msgpack_to_json(&v), bytes.len() - rd.len()))
}

fn msgpack_to_json(v: &rmpv::ValueRef<'_>) -> Value {
    use rmpv::ValueRef as V;
    match v {
        V::Nil => Value::Null,
        V::Boolean(b) => Value::Bool(*b),
        V::Integer(i) => i
            .as_u64()
            .map(Value::from)
            .or_else(|| i.as_i64().map(Value::from))
            .unwrap_or(Value::Null),
        V::F32(f) => float(f64::from(*f)),
        V::F64(f) => float(*f),
        V::String(s) => match s.as_str() {
            Some(t) => Value::String(t.to_owned()),
            None => bytes_value(s.as_bytes()),
        },
        V::Binary(b) => bytes_value(b),
        V::Array(items) => Value::Array(items.iter().map(msgpack_to_json).collect()),
        V::Map(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (key_text(msgpack_to_json(k)), msgpack_to_json(v)))
                .collect(),
        ),
        V::Ext(ty, data) => {
            let mut m = Map::new();
            m.insert("ext_type".into(), (*ty).into());
            m.insert("hex".into(), util::hex(data).into());
            Value::Object(m)
        }
    }
}

/// One CBOR value from the start of `bytes`, and the bytes it used.
pub fn cbor_value(bytes: &[u8]) -> Result<(Value, usize), String> {
    let mut rd = bytes;
    let v: ciborium::Value =
        ciborium::de::from_reader_with_recursion_limit(&mut rd, MAX_DEPTH).map_err(|e| format!("{e:?}"))?;
    Ok((cbor_to_json(v), bytes.len() - rd.len()))
}

fn cbor_to_json(v: ciborium::Value) -> Value {
    use ciborium::Value as V;
    match v {
        V::Null => Value::Null,
        V::Bool(b) => Value::Bool(b),
        V::Integer(i) => {
            let i = i128::from(i);
            u64::try_from(i)
                .map(Value::from)
                .or_else(|_| i64::try_from(i).map(Value::from))
                .unwrap_or_else(|_| Value::String(i.to_string()))
        }
        V::Float(f) => float(f),
        V::Text(t) => Value::String(t),
        V::Bytes(b) => bytes_value(&b),
        V::Array(items) => Value::Array(items.into_iter().map(cbor_to_json).collect()),
        V::Map(pairs) => Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (key_text(cbor_to_json(k)), cbor_to_json(v)))
                .collect(),
        ),
        V::Tag(tag, inner) => {
            let mut m = Map::new();
            m.insert("tag".into(), tag.into());
            m.insert("value".into(), cbor_to_json(*inner));
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

fn is_container(v: &Value) -> bool {
    v.is_object() || v.is_array()
}

/// MessagePack or CBOR when the whole message is exactly one map or array in it (at least
/// 3 bytes, so a stray byte is not taken for an empty array; MessagePack wins a tie), else
/// protobuf when the message is plausibly one (`protobuf::plausible`).
pub fn sniff(p: &[u8]) -> Option<Protocol> {
    if p.len() < 3 {
        return None;
    }
    let whole = |r: Result<(Value, usize), String>| matches!(r, Ok((v, n)) if n == p.len() && is_container(&v));
    if whole(msgpack_value(p)) {
        return Some(Protocol::MsgPack);
    }
    if whole(cbor_value(p)) {
        return Some(Protocol::Cbor);
    }
    if crate::analysis::app::protobuf::plausible(p) {
        return Some(Protocol::Protobuf);
    }
    None
}

/// Decodes a whole message as MessagePack or CBOR (`protocol` says which).
pub fn decode(protocol: Protocol, p: &[u8], ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let (result, kind) = match protocol {
        Protocol::Cbor => (cbor_value(p), FindingKind::CborMalformed),
        _ => (msgpack_value(p), FindingKind::MsgPackMalformed),
    };
    match result {
        Ok((value, used)) => {
            if used != p.len() {
                ctx.finding(kind, format!("{} bytes after the first value", p.len() - used));
            }
            Some(tree(protocol, value))
        }
        Err(why) => {
            ctx.finding(kind, why.clone());
            Some(Decoded::new(
                protocol,
                format!("malformed: {}", util::preview_str(&why)),
                util::obj([("type", "malformed".into()), ("error", why.into())]),
            ))
        }
    }
}

/// A decoded value as `{type, value}` fields with a `map {…}` / `array […]` summary.
pub fn tree(protocol: Protocol, value: Value) -> Decoded {
    let ty = match &value {
        Value::Object(_) => "map",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "nil",
    };
    let summary = format!("{ty} {}", util::preview(&value));
    Decoded::new(protocol, summary, util::obj([("type", ty.into()), ("value", value)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn msgpack_map_is_recognised_and_becomes_a_tree() {
        // {"op":"add","n":[1,2]} as MessagePack
        let p = [0x82, 0xa2, b'o', b'p', 0xa3, b'a', b'd', b'd', 0xa1, b'n', 0x92, 1, 2];
        assert_eq!(sniff(&p), Some(Protocol::MsgPack));
        assert_eq!(msgpack_value(&p).unwrap().0, json!({"op":"add","n":[1,2]}));
    }

    #[test]
    fn cbor_map_is_recognised_and_becomes_a_tree() {
        // {"a": h'0102', "b": 1.5} as CBOR
        let p = [0xa2, 0x61, b'a', 0x42, 1, 2, 0x61, b'b', 0xf9, 0x3e, 0x00];
        assert_eq!(sniff(&p), Some(Protocol::Cbor));
        assert_eq!(
            cbor_value(&p).unwrap().0,
            json!({"a":{"binary_len":2,"hex":"0102"},"b":1.5})
        );
    }

    /// One-pair maps nested as each other's keys, `depth` deep, as CBOR (0xa1) or
    /// MessagePack (0x81): a key escaped again at every level.
    fn maps_as_keys(map_of_one: u8, depth: usize) -> Vec<u8> {
        let mut bytes = vec![map_of_one; depth];
        bytes.extend(std::iter::repeat_n(0x00, depth + 1));
        bytes
    }

    #[test]
    fn maps_nested_as_keys_give_keys_of_bounded_length() {
        for depth in [20, 30] {
            for (value, used) in [
                cbor_value(&maps_as_keys(0xa1, depth)).expect("valid CBOR"),
                msgpack_value(&maps_as_keys(0x81, depth)).expect("valid MessagePack"),
            ] {
                assert_eq!(used, 2 * depth + 1);
                let Value::Object(map) = value else {
                    panic!("a map: {value}")
                };
                let key = map.keys().next().expect("one key");
                assert!(key.chars().count() <= MAX_KEY_CHARS + 1, "{} chars", key.len());
                assert!(key.ends_with('…'), "{key}");
            }
        }
    }

    #[test]
    fn random_bytes_and_huge_declared_lengths_are_not_recognised() {
        assert_eq!(sniff(b"\x00\x01\x02\x03 hello"), None);
        assert_eq!(sniff(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0x00]), None);
        assert_eq!(sniff(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
