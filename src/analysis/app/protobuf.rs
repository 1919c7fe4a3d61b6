//! Protocol Buffers without a schema: a wire-format walker giving field numbers, wire types
//! and values, with nested messages guessed where a length-delimited field parses as one.
//! (Hand-written because prost decodes only into known types; the wire format is 5 rules.)

use serde_json::{Map, Value};

use crate::analysis::app::{DecodeCtx, Decoded, Protocol, util};
use crate::analysis::findings::FindingKind;

/// Nested messages guessed at most this deep; deeper bytes stay bytes.
pub const MAX_DEPTH: usize = 16;
/// Fields listed per message; past it the rest is counted.
const MAX_FIELDS: usize = 1000;

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Walks one message; `Err` names the first offset that breaks the wire format.
pub fn walk(b: &[u8], depth: usize) -> Result<Value, String> {
    // Field numbers in order of first appearance, with every value (repeated fields).
    let mut seen: Vec<(u64, Vec<Value>)> = Vec::new();
    let mut pos = 0;
    let mut count = 0;
    while pos < b.len() {
        let at = pos;
        let key = varint(b, &mut pos).ok_or_else(|| format!("bad field key at byte {at}"))?;
        let number = key >> 3;
        if number == 0 || number > 536_870_911 {
            return Err(format!("field number {number} at byte {at}"));
        }
        let value = match key & 7 {
            0 => Value::from(varint(b, &mut pos).ok_or_else(|| format!("bad varint at byte {pos}"))?),
            1 => {
                let s = b.get(pos..pos + 8).ok_or("fixed64 past the end")?;
                pos += 8;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                let mut m = Map::new();
                m.insert("fixed64".into(), u64::from_le_bytes(a).into());
                if let Some(n) = serde_json::Number::from_f64(f64::from_le_bytes(a)) {
                    m.insert("double".into(), Value::Number(n));
                }
                Value::Object(m)
            }
            5 => {
                let s = b.get(pos..pos + 4).ok_or("fixed32 past the end")?;
                pos += 4;
                let mut a = [0u8; 4];
                a.copy_from_slice(s);
                let mut m = Map::new();
                m.insert("fixed32".into(), u32::from_le_bytes(a).into());
                if let Some(n) = serde_json::Number::from_f64(f64::from(f32::from_le_bytes(a))) {
                    m.insert("float".into(), Value::Number(n));
                }
                Value::Object(m)
            }
            2 => {
                let len = varint(b, &mut pos).ok_or_else(|| format!("bad length at byte {pos}"))?;
                let len = usize::try_from(len).map_err(|_| "length too large")?;
                let end = pos.checked_add(len).ok_or("length overflow")?;
                let s = b
                    .get(pos..end)
                    .ok_or_else(|| format!("field {number}: {len} bytes past the end"))?;
                pos = end;
                length_delimited(s, depth)
            }
            3 => {
                // A group (deprecated): its fields run to the matching end-group key.
                let start = pos;
                let end = group_end(b, &mut pos, number).ok_or("group without its end")?;
                let inner = b.get(start..end).unwrap_or(&[]);
                walk(inner, depth + 1).unwrap_or_else(|_| Value::String(util::hex(inner)))
            }
            w => return Err(format!("wire type {w} at byte {at}")),
        };
        count += 1;
        if count > MAX_FIELDS {
            continue;
        }
        match seen.iter_mut().find(|(n, _)| *n == number) {
            Some((_, values)) => values.push(value),
            None => seen.push((number, vec![value])),
        }
    }
    let mut fields = Map::new();
    for (number, mut values) in seen {
        let v = if values.len() == 1 {
            values.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(values)
        };
        fields.insert(number.to_string(), v);
    }
    if count > MAX_FIELDS {
        fields.insert("fields_not_listed".into(), (count - MAX_FIELDS).into());
    }
    Ok(Value::Object(fields))
}

/// Finds the end of a group started before `pos`; returns the offset of its end key.
fn group_end(b: &[u8], pos: &mut usize, number: u64) -> Option<usize> {
    let mut depth = 1u32;
    loop {
        let at = *pos;
        let key = varint(b, pos)?;
        match key & 7 {
            0 => {
                varint(b, pos)?;
            }
            1 => *pos = pos.checked_add(8).filter(|p| *p <= b.len())?,
            5 => *pos = pos.checked_add(4).filter(|p| *p <= b.len())?,
            2 => {
                let len = usize::try_from(varint(b, pos)?).ok()?;
                *pos = pos.checked_add(len).filter(|p| *p <= b.len())?;
            }
            3 => depth = depth.checked_add(1)?,
            4 => {
                depth -= 1;
                if depth == 0 {
                    return (key >> 3 == number).then_some(at);
                }
            }
            _ => return None,
        }
    }
}

/// Bytes, text or a nested message: a nested guess must parse whole and hold a field.
fn length_delimited(s: &[u8], depth: usize) -> Value {
    if let Some(t) = util::utf8(s)
        && t.chars().all(|c| !c.is_control() || c.is_whitespace())
    {
        return Value::String(util::cut_str(t, util::MAX_FIELD_PAYLOAD_BYTES).to_owned());
    }
    if depth < MAX_DEPTH
        && !s.is_empty()
        && let Ok(v) = walk(s, depth + 1)
    {
        return v;
    }
    Value::String(util::hex(s))
}

/// Field numbers a message recognised by content may use: schemas number their fields from 1
/// and rarely past a few hundred, while random bytes give large numbers quickly.
const SNIFF_MAX_FIELD_NUMBER: u64 = 2047;

/// True when a binary message is plausibly a protobuf message: the whole of it walks as the
/// wire format, with at least two fields, small field numbers and no groups at the top.
pub fn plausible(p: &[u8]) -> bool {
    if p.len() < 2 {
        return false;
    }
    let mut pos = 0;
    let mut fields = 0;
    while pos < p.len() {
        let Some(key) = varint(p, &mut pos) else { return false };
        let number = key >> 3;
        if number == 0 || number > SNIFF_MAX_FIELD_NUMBER {
            return false;
        }
        let ok = match key & 7 {
            0 => varint(p, &mut pos).is_some(),
            1 => advance(&mut pos, 8, p.len()),
            5 => advance(&mut pos, 4, p.len()),
            2 => varint(p, &mut pos)
                .and_then(|n| usize::try_from(n).ok())
                .is_some_and(|n| advance(&mut pos, n, p.len())),
            _ => false,
        };
        if !ok {
            return false;
        }
        fields += 1;
    }
    fields >= 2
}

fn advance(pos: &mut usize, n: usize, len: usize) -> bool {
    match pos.checked_add(n) {
        Some(end) if end <= len => {
            *pos = end;
            true
        }
        _ => false,
    }
}

pub fn decode(p: &[u8], ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    match walk(p, 0) {
        Ok(v) => {
            let n = v.as_object().map_or(0, Map::len);
            let summary = format!("{n} field{} {}", if n == 1 { "" } else { "s" }, util::preview(&v));
            Some(Decoded::new(Protocol::Protobuf, summary, util::obj([("fields", v)])))
        }
        Err(why) => {
            ctx.finding(FindingKind::ProtobufMalformed, why.clone());
            Some(Decoded::new(
                Protocol::Protobuf,
                format!("malformed: {why}"),
                util::obj([("error", why.into())]),
            ))
        }
    }
}

/// Decodes with the user's message type; a message that does not fit it is a finding and is
/// shown without the schema.
pub fn decode_with_schema(
    desc: &prost_reflect::MessageDescriptor,
    p: &[u8],
    ctx: &mut DecodeCtx<'_>,
) -> Option<Decoded> {
    match crate::analysis::app::protobuf_schema::decode(desc, p) {
        Ok(value) => {
            let name = desc.full_name().to_owned();
            let summary = format!("{name} {}", util::preview(&value));
            Some(Decoded::new(
                Protocol::Protobuf,
                summary,
                util::obj([("message_type", name.into()), ("value", value)]),
            ))
        }
        Err(why) => {
            ctx.finding(
                FindingKind::ProtobufMalformed,
                format!("not a {}: {why}", desc.full_name()),
            );
            decode(p, ctx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_specification_example_and_a_nested_message_are_walked() {
        // field 1 = 150 (the protobuf documentation's example), field 2 = "hi",
        // field 3 = nested { 1: 1 }, field 4 repeated 1, 2.
        let p = [
            0x08, 0x96, 0x01, 0x12, 2, b'h', b'i', 0x1a, 2, 0x08, 0x01, 0x20, 1, 0x20, 2,
        ];
        assert_eq!(walk(&p, 0).unwrap(), json!({"1":150,"2":"hi","3":{"1":1},"4":[1,2]}));
    }

    #[test]
    fn plausibility_needs_two_small_numbered_fields_covering_every_byte() {
        assert!(plausible(&[0x08, 0x96, 0x01, 0x12, 2, b'h', b'i']));
        assert!(!plausible(&[0x08, 0x96, 0x01]));
        assert!(!plausible(b"hello world"));
        assert!(!plausible(b"{\"a\":1}"));
        assert!(!plausible(&[0x08, 0x01, 0x12, 9, 1]));
    }

    #[test]
    fn broken_wire_data_is_an_error_not_a_panic() {
        for bad in [
            &[0x08][..],
            &[0x12, 5, 1],
            &[0x0f],
            &[0x00, 0x01],
            &[0x0b, 0x08, 0x01],
            &[0xff; 11],
        ] {
            assert!(walk(bad, 0).is_err(), "{bad:?}");
        }
    }
}
