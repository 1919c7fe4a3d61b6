//! Engine.IO v3/v4 packets and the Socket.IO v4/v5 packets they carry, with binary
//! attachments joined to the event or ack whose placeholders they fill.

use serde_json::{Map, Value, json};

use crate::analysis::app::util::{self, obj};
use crate::analysis::app::{DecodeCtx, Decoded, Protocol};
use crate::analysis::findings::FindingKind;

/// Most attachments one Socket.IO packet may announce; a larger count is malformed here
/// (the reference implementations send one per Buffer argument).
pub const MAX_ATTACHMENTS: u64 = 1000;
/// Bytes of each attachment kept (as hex) in the joined event's fields.
const ATTACHMENT_PREVIEW_BYTES: usize = 64;

const EIO_TYPES: [&str; 7] = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];
const SIO_TYPES: [&str; 7] = [
    "CONNECT",
    "DISCONNECT",
    "EVENT",
    "ACK",
    "CONNECT_ERROR",
    "BINARY_EVENT",
    "BINARY_ACK",
];

/// A binary event or ack whose attachments are still arriving in one direction.
#[derive(Debug, Clone)]
struct Pending {
    fields: Value,
    expected: usize,
    attachments: Vec<Value>,
}

/// One connection's Engine.IO state.
#[derive(Debug, Default)]
pub struct EioState {
    /// 3 or 4 when the path said so (`EIO=3`: binary packets carry a leading type byte).
    pub version: Option<u8>,
    pending: [Option<Pending>; 2],
}

impl EioState {
    pub fn new(version: Option<u8>) -> EioState {
        EioState {
            version,
            pending: [None, None],
        }
    }
}

/// Decodes one WebSocket message of an Engine.IO connection.
pub fn decode(state: &mut EioState, binary: bool, payload: &[u8], ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    if binary {
        return decode_binary(state, payload, ctx);
    }
    let Some(text) = util::utf8(payload) else {
        ctx.finding(FindingKind::EngineIoBadPacket, "Engine.IO text packet is not UTF-8");
        return None;
    };
    let mut chars = text.chars();
    let Some(kind) = chars
        .next()
        .and_then(|c| c.to_digit(10))
        .and_then(|d| EIO_TYPES.get(d as usize))
    else {
        ctx.finding(
            FindingKind::EngineIoBadPacket,
            format!(
                "Engine.IO packet type {:?} is not 0-6",
                util::preview_str(util::cut_str(text, 8))
            ),
        );
        return Some(Decoded::new(
            Protocol::EngineIo,
            format!("malformed {}", util::preview_str(text)),
            json!({"type": "malformed"}),
        ));
    };
    let data = text.get(1..).unwrap_or("");
    match *kind {
        "message" => Some(decode_socketio(state, data, ctx)),
        "open" => {
            let handshake = util::json(data).unwrap_or(Value::Null);
            let sid = util::str_of(&handshake, "sid").unwrap_or("?").to_owned();
            let mut fields = Map::new();
            fields.insert("type".into(), "open".into());
            if let Value::Object(h) = handshake {
                fields.extend(h);
            } else {
                ctx.finding(
                    FindingKind::EngineIoBadPacket,
                    "Engine.IO open packet without its JSON handshake",
                );
            }
            Some(Decoded::new(
                Protocol::EngineIo,
                format!("open sid={sid}"),
                Value::Object(fields),
            ))
        }
        other => {
            let summary = if data.is_empty() {
                other.to_owned()
            } else {
                format!("{other} {}", util::preview_str(data))
            };
            let fields = obj([
                ("type", other.into()),
                ("data", if data.is_empty() { Value::Null } else { data.into() }),
            ]);
            Some(Decoded::new(Protocol::EngineIo, summary, fields))
        }
    }
}

fn decode_binary(state: &mut EioState, payload: &[u8], ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    // Engine.IO v3 prefixes binary packets with their type byte (4, message); v4 does not.
    let data = match (state.version, payload.first()) {
        (Some(3), Some(4)) => payload.get(1..).unwrap_or(&[]),
        _ => payload,
    };
    let slot = ctx.dir.index();
    let Some(mut pending) = state.pending.get_mut(slot).and_then(Option::take) else {
        let fields = json!({"type": "message", "binary": true, "len": data.len()});
        return Some(Decoded::new(
            Protocol::EngineIo,
            format!("binary message {} B", data.len()),
            fields,
        ));
    };
    let index = pending.attachments.len();
    let keep = data.get(..ATTACHMENT_PREVIEW_BYTES).unwrap_or(data);
    pending
        .attachments
        .push(json!({"_binary": true, "len": data.len(), "hex": util::hex(keep)}));
    let mut fields = pending.fields.clone();
    if let Value::Object(map) = &mut fields {
        map.insert("attachment".into(), json!(index));
        map.insert("attachments".into(), json!(pending.expected));
    }
    let done = pending.attachments.len() >= pending.expected;
    if done {
        // Every placeholder now has its bytes: this message carries the joined packet.
        if let Some(args) = fields.get_mut("args") {
            fill_placeholders(args, &pending.attachments);
        }
        if let Some(data) = fields.get_mut("data") {
            fill_placeholders(data, &pending.attachments);
        }
    } else if let Some(p) = state.pending.get_mut(slot) {
        *p = Some(pending.clone());
    }
    let summary = format!(
        "{} (attachment {}/{}, {} B)",
        summarise_sio(&fields),
        index + 1,
        pending.expected,
        data.len()
    );
    Some(Decoded::new(Protocol::SocketIo, summary, fields))
}

/// Replaces `{"_placeholder":true,"num":N}` objects with the attachment they name.
fn fill_placeholders(v: &mut Value, attachments: &[Value]) {
    match v {
        Value::Object(map) => {
            if map.get("_placeholder") == Some(&Value::Bool(true)) {
                let num = map.get("num").and_then(Value::as_u64).unwrap_or(u64::MAX);
                if let Some(a) = usize::try_from(num).ok().and_then(|n| attachments.get(n)) {
                    *v = a.clone();
                }
                return;
            }
            for child in map.values_mut() {
                fill_placeholders(child, attachments);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| fill_placeholders(c, attachments)),
        _ => {}
    }
}

/// Parses `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`.
fn decode_socketio(state: &mut EioState, s: &str, ctx: &mut DecodeCtx<'_>) -> Decoded {
    match parse_socketio(s) {
        Ok(mut fields) => {
            let ty = util::str_of(&fields, "type").unwrap_or("").to_owned();
            let nsp = util::str_of(&fields, "nsp").unwrap_or("/").to_owned();
            let ack = fields.get("ack_id").and_then(Value::as_u64);
            let event = util::str_of(&fields, "event").map(str::to_owned);
            if let (Some(ack), Some(event)) = (ack, &event) {
                ctx.request(Protocol::SocketIo, format!("{nsp}#{ack}"), event.clone());
            }
            if let (Some(ack), "ACK" | "BINARY_ACK") = (ack, ty.as_str()) {
                ctx.response(Protocol::SocketIo, format!("{nsp}#{ack}"));
            }
            let expected = fields.get("attachments").and_then(Value::as_u64).unwrap_or(0);
            let mut summary = summarise_sio(&fields);
            if expected > 0 {
                summary.push_str(&format!(
                    " ({expected} attachment{})",
                    if expected == 1 { "" } else { "s" }
                ));
                if let Some(slot) = state.pending.get_mut(ctx.dir.index()) {
                    if slot.is_some() {
                        ctx.finding(
                            FindingKind::SocketIoBadPacket,
                            "a binary packet started before the previous one's attachments arrived",
                        );
                    }
                    *slot = Some(Pending {
                        fields: fields.clone(),
                        expected: usize::try_from(expected).unwrap_or(usize::MAX),
                        attachments: Vec::new(),
                    });
                }
            }
            if let Value::Object(map) = &mut fields {
                map.insert("engineio".into(), json!({"type": "message"}));
            }
            Decoded::new(Protocol::SocketIo, summary, fields)
        }
        Err(why) => {
            ctx.finding(FindingKind::SocketIoBadPacket, why.clone());
            Decoded::new(
                Protocol::SocketIo,
                format!("malformed: {why}"),
                json!({"type": "malformed", "engineio": {"type": "message"}, "data": util::preview_str(s)}),
            )
        }
    }
}

pub fn parse_socketio(s: &str) -> Result<Value, String> {
    let bytes = s.as_bytes();
    let Some(ty) = bytes.first().and_then(|b| SIO_TYPES.get(b.wrapping_sub(b'0') as usize)) else {
        return Err(format!("Socket.IO packet type {:?} is not 0-6", util::cut_str(s, 1)));
    };
    let mut pos = 1;
    let mut attachments = None;
    if matches!(*ty, "BINARY_EVENT" | "BINARY_ACK") {
        let digits = count_digits(bytes.get(pos..).unwrap_or(&[]));
        let n: u64 = s
            .get(pos..pos + digits)
            .and_then(|d| d.parse().ok())
            .ok_or("binary packet without its attachment count")?;
        if bytes.get(pos + digits) != Some(&b'-') || n > MAX_ATTACHMENTS {
            return Err(format!("bad attachment count in {}", util::preview_str(s)));
        }
        attachments = Some(n);
        pos += digits + 1;
    }
    let mut nsp = "/";
    if bytes.get(pos) == Some(&b'/') {
        let rest = s.get(pos..).unwrap_or("");
        let end = rest.find(',').unwrap_or(rest.len());
        nsp = rest.get(..end).unwrap_or("/");
        pos += end + usize::from(end < rest.len());
    }
    let digits = count_digits(bytes.get(pos..).unwrap_or(&[]));
    let mut ack_id = None;
    if digits > 0 {
        ack_id = Some(
            s.get(pos..pos + digits)
                .and_then(|d| d.parse::<u64>().ok())
                .ok_or("ack id too large")?,
        );
        pos += digits;
    }
    let body = s.get(pos..).unwrap_or("");
    let data = if body.is_empty() {
        None
    } else {
        Some(util::json(body).ok_or_else(|| format!("{ty} data is not JSON: {}", util::preview_str(body)))?)
    };
    let mut f = Map::new();
    f.insert("type".into(), (*ty).into());
    f.insert("nsp".into(), nsp.into());
    if let Some(a) = ack_id {
        f.insert("ack_id".into(), a.into());
    }
    if let Some(n) = attachments {
        f.insert("attachments".into(), n.into());
    }
    match (*ty, data) {
        ("EVENT" | "BINARY_EVENT", Some(Value::Array(mut items))) => {
            if items.is_empty() || !items.first().is_some_and(Value::is_string) {
                return Err(format!("{ty} without an event name"));
            }
            let name = items.remove(0);
            f.insert("event".into(), name);
            f.insert("args".into(), Value::Array(items));
        }
        ("EVENT" | "BINARY_EVENT", _) => return Err(format!("{ty} data is not an array")),
        ("ACK" | "BINARY_ACK", Some(Value::Array(items))) => {
            f.insert("args".into(), Value::Array(items));
        }
        ("ACK" | "BINARY_ACK", _) => return Err(format!("{ty} data is not an array")),
        (_, Some(d)) => {
            f.insert("data".into(), d);
        }
        (_, None) => {}
    }
    Ok(Value::Object(f))
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `EVENT /chat "message" ["hi"] #3`, `ACK /chat #3 ["ok"]`, `CONNECT /chat`.
fn summarise_sio(f: &Value) -> String {
    let ty = util::str_of(f, "type").unwrap_or("?");
    let nsp = util::str_of(f, "nsp").unwrap_or("/");
    let mut s = format!("{ty} {nsp}");
    if let Some(event) = f.get("event") {
        s.push(' ');
        s.push_str(&event.to_string());
    }
    let ack = f.get("ack_id").and_then(Value::as_u64);
    if let (Some(ack), "ACK" | "BINARY_ACK") = (ack, ty) {
        s.push_str(&format!(" #{ack}"));
    }
    if let Some(args) = f.get("args") {
        s.push(' ');
        s.push_str(&util::preview(args));
    } else if let Some(data) = f.get("data") {
        s.push(' ');
        s.push_str(&util::preview(data));
    }
    if let (Some(ack), false) = (ack, matches!(ty, "ACK" | "BINARY_ACK")) {
        s.push_str(&format!(" #{ack}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::app::PairOp;
    use crate::analysis::event::Direction;
    use crate::analysis::time::Timestamp;

    fn run(state: &mut EioState, dir: Direction, binary: bool, p: &[u8]) -> (Option<Decoded>, usize, Vec<PairOp>) {
        let mut findings = Vec::new();
        let mut pairs = Vec::new();
        let mut ctx = DecodeCtx {
            conn: 0,
            dir,
            ts: Timestamp::ZERO,
            findings: &mut findings,
            pairs: &mut pairs,
        };
        let d = decode(state, binary, p, &mut ctx);
        (d, findings.len(), pairs)
    }

    #[test]
    fn an_event_with_namespace_and_ack_id_is_decoded_and_summarised() {
        let mut st = EioState::new(Some(4));
        let (d, bad, pairs) = run(
            &mut st,
            Direction::ClientToServer,
            false,
            br#"42/chat,7["message","hi"]"#,
        );
        let d = d.unwrap();
        assert_eq!(bad, 0);
        assert_eq!(d.protocol, Protocol::SocketIo);
        assert_eq!(d.summary, r#"EVENT /chat "message" ["hi"] #7"#);
        assert_eq!(d.field("socketio.event"), Some(&json!("message")));
        assert_eq!(d.field("socketio.ack_id"), Some(&json!(7)));
        assert_eq!(d.field("socketio.args.0"), Some(&json!("hi")));
        assert_eq!(d.field("engineio.type"), Some(&json!("message")));
        assert_eq!(pairs.len(), 1);
    }

    #[test]
    fn binary_attachments_join_their_placeholder_event() {
        let mut st = EioState::new(Some(4));
        let c2s = Direction::ClientToServer;
        let (d, _, _) = run(
            &mut st,
            c2s,
            false,
            br#"451-["upload",{"_placeholder":true,"num":0},"x"]"#,
        );
        assert_eq!(d.unwrap().field("socketio.type"), Some(&json!("BINARY_EVENT")));
        let (d, bad, _) = run(&mut st, c2s, true, &[1, 2, 3]);
        let d = d.unwrap();
        assert_eq!(bad, 0);
        assert_eq!(d.field("socketio.event"), Some(&json!("upload")));
        assert_eq!(d.field("socketio.args.0.hex"), Some(&json!("010203")));
        assert_eq!(d.field("socketio.args.1"), Some(&json!("x")));
        // The attachment was consumed: the next binary message is plain Engine.IO.
        let (d, _, _) = run(&mut st, c2s, true, &[9]);
        assert_eq!(d.unwrap().protocol, Protocol::EngineIo);
    }

    #[test]
    fn malformed_packets_are_findings_not_panics() {
        let mut st = EioState::default();
        for bad in [
            "",
            "9",
            "4x",
            "42[",
            "45-[]",
            "42/chat,",
            "4299999999999999999999999[\"a\"]",
            "42{}",
        ] {
            let (_, n, _) = run(&mut st, Direction::ServerToClient, false, bad.as_bytes());
            assert!(n >= 1, "{bad:?} gave no finding");
        }
    }

    #[test]
    fn engineio_open_packet_keeps_its_handshake_fields() {
        let mut st = EioState::default();
        let (d, _, _) = run(
            &mut st,
            Direction::ServerToClient,
            false,
            br#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#,
        );
        let d = d.unwrap();
        assert_eq!(d.summary, "open sid=abc");
        assert_eq!(d.field("engineio.pingInterval"), Some(&json!(25000)));
    }
}
