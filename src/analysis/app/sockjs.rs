//! SockJS framing over its raw WebSocket transport: `o`, `h`, `a[…]`, `m"…"`, `c[code,"reason"]`
//! from the server, JSON arrays of strings from the client; STOMP inside is decoded too.

use serde_json::{Map, Value, json};

use crate::analysis::app::{DecodeCtx, Decoded, Protocol, stomp, util};
use crate::analysis::findings::FindingKind;

pub fn decode(text: &str, ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let mut f = Map::new();
    let (ty, messages): (&str, Option<Value>) = match text.as_bytes().first() {
        Some(b'o') if text.len() == 1 => ("open", None),
        Some(b'h') if text.len() == 1 => ("heartbeat", None),
        Some(b'a') => ("array", util::json(text.get(1..).unwrap_or(""))),
        Some(b'm') => ("message", util::json(text.get(1..).unwrap_or("")).map(|v| json!([v]))),
        Some(b'c') => ("close", util::json(text.get(1..).unwrap_or(""))),
        // The client sends a JSON array of strings (or one string).
        Some(b'[') => ("send", util::json(text)),
        Some(b'"') => ("send", util::json(text).map(|v| json!([v]))),
        _ => ("invalid", None),
    };
    let bad =
        ty == "invalid" || (!matches!(ty, "open" | "heartbeat") && messages.as_ref().is_none_or(|v| !v.is_array()));
    if bad {
        ctx.finding(
            FindingKind::SockJsMalformed,
            format!("not a SockJS frame: {}", util::preview_str(text)),
        );
        return Some(Decoded::new(
            Protocol::SockJs,
            format!("invalid {}", util::preview_str(text)),
            json!({"type": "invalid"}),
        ));
    }
    f.insert("type".into(), ty.into());
    let mut summary = ty.to_owned();
    if ty == "close" {
        let m = messages.unwrap_or(Value::Null);
        if let Some(code) = m.get(0) {
            f.insert("code".into(), code.clone());
            summary.push_str(&format!(" {code}"));
        }
        if let Some(reason) = m.get(1).and_then(Value::as_str) {
            f.insert("reason".into(), reason.into());
            summary.push_str(&format!(" {reason}"));
        }
    } else if let Some(Value::Array(list)) = messages {
        // A STOMP frame inside the first message is decoded as a nested layer
        // (so `stomp.command` filters see it).
        if let Some(inner) = list.first().and_then(Value::as_str)
            && inner.starts_with(|c: char| c.is_ascii_uppercase())
            && inner.contains('\n')
            && let Some(d) = stomp::decode(inner.as_bytes(), ctx)
        {
            summary = format!("{ty} STOMP {}", d.summary);
            f.insert("stomp".into(), d.fields);
        } else {
            summary.push(' ');
            summary.push_str(&util::preview(&Value::Array(list.clone())));
        }
        f.insert("messages".into(), Value::Array(list));
    }
    Some(Decoded::new(Protocol::SockJs, summary, Value::Object(f)))
}
