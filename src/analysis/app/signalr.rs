//! ASP.NET Core SignalR hub protocols: the JSON handshake, JSON records ended by 0x1E, and
//! the MessagePack protocol (varint length-prefixed arrays) chosen in the handshake.

use serde_json::{Map, Value, json};

use crate::analysis::app::{DecodeCtx, Decoded, Protocol, binary, util};
use crate::analysis::findings::FindingKind;

const TYPES: [&str; 10] = [
    "Handshake",
    "Invocation",
    "StreamItem",
    "Completion",
    "StreamInvocation",
    "CancelInvocation",
    "Ping",
    "Close",
    "Ack",
    "Sequence",
];

/// One connection's SignalR state: which hub protocol the handshake chose.
#[derive(Debug, Default)]
pub struct SignalRState {
    pub messagepack: bool,
}

pub fn decode(
    state: &mut SignalRState,
    binary_message: bool,
    payload: &[u8],
    ctx: &mut DecodeCtx<'_>,
) -> Option<Decoded> {
    let records: Vec<(String, Value)> = if binary_message {
        msgpack_records(payload, ctx)
    } else {
        let Some(text) = util::utf8(payload) else {
            ctx.finding(FindingKind::SignalRMalformed, "SignalR text message is not UTF-8");
            return None;
        };
        if !text.ends_with('\u{1e}') {
            ctx.finding(FindingKind::SignalRMalformed, "JSON record without its 0x1E terminator");
        }
        text.split('\u{1e}')
            .filter(|r| !r.is_empty())
            .map(|r| json_record(state, r, ctx))
            .collect()
    };
    let mut records = records;
    match records.len() {
        0 => None,
        1 => {
            let (s, f) = records.pop()?;
            Some(Decoded::new(Protocol::SignalR, s, f))
        }
        _ => {
            let summary = records.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join("; ");
            let mut fields = records.first().map(|(_, f)| f.clone()).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut fields {
                m.insert(
                    "records".into(),
                    Value::Array(records.into_iter().map(|(_, f)| f).collect()),
                );
            }
            Some(Decoded::new(Protocol::SignalR, summary, fields))
        }
    }
}

fn json_record(state: &mut SignalRState, r: &str, ctx: &mut DecodeCtx<'_>) -> (String, Value) {
    let Some(Value::Object(m)) = util::json(r) else {
        ctx.finding(
            FindingKind::SignalRMalformed,
            format!("record is not a JSON object: {}", util::preview_str(r)),
        );
        return ("invalid".into(), json!({"type": "invalid"}));
    };
    // The handshake: {"protocol":"json","version":1} and its answer {} or {"error":…}.
    let Some(code) = m.get("type").and_then(Value::as_u64) else {
        if let Some(p) = m.get("protocol").and_then(Value::as_str) {
            state.messagepack = p.eq_ignore_ascii_case("messagepack");
            let mut f = m.clone();
            f.insert("type".into(), "Handshake".into());
            return (
                format!("Handshake {p} v{}", m.get("version").unwrap_or(&Value::Null)),
                Value::Object(f),
            );
        }
        let mut f = m.clone();
        f.insert("type".into(), "Handshake".into());
        let s = match m.get("error") {
            Some(e) => format!("Handshake error {}", util::preview(e)),
            None => "Handshake accepted".into(),
        };
        return (s, Value::Object(f));
    };
    let mut f = Map::new();
    let name = TYPES.get(code as usize).copied().unwrap_or("unknown");
    f.insert("type".into(), name.into());
    f.insert("type_code".into(), code.into());
    for (from, to) in [
        ("invocationId", "invocation_id"),
        ("target", "target"),
        ("arguments", "arguments"),
        ("streamIds", "stream_ids"),
        ("item", "item"),
        ("result", "result"),
        ("error", "error"),
        ("allowReconnect", "allow_reconnect"),
        ("sequenceId", "sequence_id"),
        ("headers", "headers"),
    ] {
        if let Some(v) = m.get(from) {
            f.insert(to.into(), v.clone());
        }
    }
    finish(f, ctx)
}

/// Adds pairing and builds the summary of one hub message.
fn finish(f: Map<String, Value>, ctx: &mut DecodeCtx<'_>) -> (String, Value) {
    let name = f.get("type").and_then(Value::as_str).unwrap_or("?").to_owned();
    let id = f.get("invocation_id").filter(|v| !v.is_null()).map(util::id_text);
    let target = f.get("target").and_then(Value::as_str);
    match (name.as_str(), &id) {
        ("Invocation" | "StreamInvocation", Some(i)) => {
            ctx.request(Protocol::SignalR, i.clone(), target.unwrap_or("?").to_owned())
        }
        ("Completion" | "StreamItem", Some(i)) => ctx.response(Protocol::SignalR, i.clone()),
        _ => {}
    }
    let mut s = name.clone();
    if let Some(t) = target {
        s.push(' ');
        s.push_str(t);
    }
    if let Some(a) = f.get("arguments") {
        s.push(' ');
        s.push_str(&util::preview(a));
    }
    if let Some(i) = &id {
        s.push_str(&format!(" #{i}"));
    }
    for key in ["item", "result", "error"] {
        if let Some(v) = f.get(key).filter(|v| !v.is_null()) {
            s.push(' ');
            s.push_str(&util::preview(v));
        }
    }
    (s, Value::Object(f))
}

/// MessagePack hub messages: each is a varint length, then an array `[type, …]`.
fn msgpack_records(p: &[u8], ctx: &mut DecodeCtx<'_>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        let mut len: usize = 0;
        let mut used = 0;
        for i in 0..5 {
            let Some(&b) = rest.get(i) else { break };
            len |= usize::from(b & 0x7f) << (7 * i);
            used = i + 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let Some(body) = rest.get(used..used.saturating_add(len)) else {
            ctx.finding(
                FindingKind::SignalRMalformed,
                "MessagePack record longer than the message",
            );
            break;
        };
        rest = rest.get(used + len..).unwrap_or(&[]);
        let items = match binary::msgpack_value(body) {
            Ok((Value::Array(items), _)) => items,
            _ => {
                ctx.finding(FindingKind::SignalRMalformed, "MessagePack record is not an array");
                out.push(("invalid".into(), json!({"type": "invalid"})));
                continue;
            }
        };
        let code = items.first().and_then(Value::as_u64).unwrap_or(u64::MAX);
        let layout: &[&str] = match code {
            1 | 4 => &["headers", "invocation_id", "target", "arguments", "stream_ids"],
            2 => &["headers", "invocation_id", "item"],
            3 => &["headers", "invocation_id", "result_kind", "result"],
            5 => &["headers", "invocation_id"],
            7 => &["error", "allow_reconnect"],
            8 | 9 => &["sequence_id"],
            _ => &[],
        };
        let mut f = Map::new();
        f.insert(
            "type".into(),
            TYPES.get(code as usize).copied().unwrap_or("unknown").into(),
        );
        f.insert("type_code".into(), code.into());
        for (k, v) in layout.iter().zip(items.iter().skip(1)) {
            f.insert((*k).into(), v.clone());
        }
        // A Completion's result kind 1 means the value is an error message.
        if code == 3
            && f.get("result_kind").and_then(Value::as_u64) == Some(1)
            && let Some(e) = f.remove("result")
        {
            f.insert("error".into(), e);
        }
        out.push(finish(f, ctx));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::app::with_test_ctx;

    fn run(st: &mut SignalRState, binary: bool, p: &[u8]) -> (Decoded, usize, usize) {
        let (d, findings, pairs) = with_test_ctx(|ctx| decode(st, binary, p, ctx));
        (d.unwrap(), findings, pairs)
    }

    #[test]
    fn json_records_split_on_the_separator() {
        let mut st = SignalRState::default();
        let (d, bad, _) = run(&mut st, false, b"{\"protocol\":\"json\",\"version\":1}\x1e");
        assert_eq!((d.summary.as_str(), bad), ("Handshake json v1", 0));
        let (d, bad, pairs) = run(
            &mut st,
            false,
            b"{\"type\":1,\"invocationId\":\"0\",\"target\":\"Send\",\"arguments\":[\"a\"]}\x1e{\"type\":6}\x1e",
        );
        assert_eq!((bad, pairs), (0, 1));
        assert_eq!(d.summary, "Invocation Send [\"a\"] #0; Ping");
        assert_eq!(d.field("signalr.target"), Some(&json!("Send")));
    }

    #[test]
    fn messagepack_invocations_are_read_from_their_length_prefix() {
        let mut st = SignalRState { messagepack: true };
        // [1, {}, "1", "Send", ["x"]] with a 1-byte length prefix.
        let body = [
            0x95, 0x01, 0x80, 0xa1, b'1', 0xa4, b'S', b'e', b'n', b'd', 0x91, 0xa1, b'x',
        ];
        let mut p = vec![body.len() as u8];
        p.extend_from_slice(&body);
        let (d, bad, pairs) = run(&mut st, true, &p);
        assert_eq!((bad, pairs), (0, 1));
        assert_eq!(d.field("signalr.type"), Some(&json!("Invocation")));
        assert_eq!(d.field("signalr.arguments.0"), Some(&json!("x")));
    }
}
