//! MQTT 3.1, 3.1.1 and 5 over WebSocket: every packet type with its fields and properties;
//! packets split across WebSocket messages or packed several into one are handled exactly.

use serde_json::{Map, Value, json};

use crate::analysis::app::mqtt_props::{Reader, Res, connack_v3_name, properties, reason_name};
use crate::analysis::app::util;
use crate::analysis::app::{DecodeCtx, Decoded, Protocol};
use crate::analysis::findings::FindingKind;

/// Bytes of an unfinished packet held per direction while its remaining messages arrive.
/// MQTT allows 256 MiB packets; past this cap the held bytes are dropped with a finding
/// (`mqtt-packet-limit`) and decoding restarts at the next message.
pub const MAX_HELD_BYTES: usize = 16 << 20;
/// Topic aliases remembered per direction (MQTT 5 allows 65 535).
const MAX_TOPIC_ALIASES: usize = 1024;

const TYPES: [&str; 16] = [
    "RESERVED",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// One connection's MQTT state.
#[derive(Debug, Default)]
pub struct MqttState {
    /// Protocol level from CONNECT: 3 (3.1), 4 (3.1.1) or 5. Until seen, 3.1.1 is assumed.
    pub level: Option<u8>,
    held: [Vec<u8>; 2],
    aliases: [Vec<(u16, String)>; 2],
}

impl MqttState {
    /// Forgets the unfinished packet of one direction (its stream lost bytes).
    pub fn drop_held(&mut self, dir: crate::analysis::event::Direction) {
        if let Some(h) = self.held.get_mut(dir.index()) {
            h.clear();
        }
    }
}

/// True when a binary message starts with an MQTT CONNECT (`MQTT` or `MQIsdp` name).
pub fn looks_like_connect(p: &[u8]) -> bool {
    if p.first() != Some(&0x10) {
        return false;
    }
    let mut r = Reader::new(p.get(1..).unwrap_or(&[]));
    if r.varint("").is_err() {
        return false;
    }
    matches!(r.bin(""), Ok(b"MQTT") | Ok(b"MQIsdp"))
}

/// Splits a fixed header: (type/flags byte, header length, remaining length) or `Ok(None)`
/// when more bytes are needed.
fn fixed_header(b: &[u8]) -> Res<Option<(u8, usize, usize)>> {
    let Some(&first) = b.first() else { return Ok(None) };
    let mut len: usize = 0;
    for i in 0..4 {
        let Some(&byte) = b.get(1 + i) else { return Ok(None) };
        len |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((first, 2 + i, len)));
        }
    }
    Err("remaining length longer than 4 bytes".into())
}

/// Decodes one WebSocket message: every packet it completes, or notes a partial one.
pub fn decode(state: &mut MqttState, payload: &[u8], ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let slot = ctx.dir.index();
    let mut held = std::mem::take(state.held.get_mut(slot)?);
    let joined: &[u8] = if held.is_empty() {
        payload
    } else {
        held.extend_from_slice(payload);
        &held
    };
    let mut packets: Vec<(String, Value)> = Vec::new();
    let mut pos = 0;
    let mut partial = None;
    while pos < joined.len() {
        let rest = joined.get(pos..).unwrap_or(&[]);
        match fixed_header(rest) {
            Err(why) => {
                ctx.finding(FindingKind::MqttMalformed, why.clone());
                packets.push((format!("malformed: {why}"), json!({"type": "malformed", "error": why})));
                pos = joined.len();
            }
            Ok(None) => {
                partial = Some(rest.len());
                break;
            }
            Ok(Some((first, head_len, body_len))) => {
                let total = head_len.saturating_add(body_len);
                let Some(body) = rest.get(head_len..total) else {
                    partial = Some(rest.len());
                    break;
                };
                packets.push(packet(state, first, body, ctx));
                pos += total;
            }
        }
    }
    let mut new_held = Vec::new();
    if let Some(n) = partial {
        let tail = joined.get(joined.len().saturating_sub(n)..).unwrap_or(&[]);
        if tail.len() > MAX_HELD_BYTES {
            ctx.finding(
                FindingKind::MqttPacketLimit,
                format!("an unfinished MQTT packet passed {MAX_HELD_BYTES} held bytes; dropped"),
            );
        } else {
            new_held.extend_from_slice(tail);
        }
    }
    if let Some(h) = state.held.get_mut(slot) {
        *h = new_held;
    }
    let held_now = state.held.get(slot).map_or(0, Vec::len);
    match packets.len() {
        0 => Some(Decoded::new(
            Protocol::Mqtt,
            format!("(part of a packet, {held_now} B so far)"),
            json!({"type": "partial", "held_len": held_now}),
        )),
        1 => {
            let (summary, fields) = packets.pop()?;
            Some(Decoded::new(Protocol::Mqtt, summary, fields))
        }
        _ => {
            let summary = packets.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join("; ");
            let mut fields = packets.first().map(|(_, f)| f.clone()).unwrap_or(Value::Null);
            let all: Vec<Value> = packets.into_iter().map(|(_, f)| f).collect();
            if let Value::Object(map) = &mut fields {
                map.insert("packets".into(), Value::Array(all));
            }
            Some(Decoded::new(Protocol::Mqtt, summary, fields))
        }
    }
}

/// Decodes one whole packet into (summary, fields); malformed bodies become a finding and a
/// `malformed` entry, and decoding continues with the next packet.
fn packet(state: &mut MqttState, first: u8, body: &[u8], ctx: &mut DecodeCtx<'_>) -> (String, Value) {
    let ty_num = first >> 4;
    let flags = first & 0x0f;
    let ty = TYPES.get(usize::from(ty_num)).copied().unwrap_or("RESERVED");
    let mut f = Map::new();
    f.insert("type".into(), ty.into());
    let expected_flags = match ty_num {
        6 | 8 | 10 => Some(0b0010),
        3 => None,
        _ => Some(0),
    };
    if expected_flags.is_some_and(|e| e != flags) {
        ctx.finding(
            FindingKind::MqttMalformed,
            format!("{ty} with fixed-header flags {flags:04b} (the specification fixes them)"),
        );
    }
    let mut r = Reader::new(body);
    match body_fields(state, ty_num, flags, &mut r, &mut f, ctx) {
        Ok(summary) => {
            if r.remaining() > 0 && ty_num != 3 {
                ctx.finding(
                    FindingKind::MqttMalformed,
                    format!("{ty}: {} bytes past its fields", r.remaining()),
                );
            }
            (summary, Value::Object(f))
        }
        Err(why) => {
            ctx.finding(FindingKind::MqttMalformed, format!("{ty}: {why}"));
            f.insert("error".into(), why.clone().into());
            (format!("{ty} malformed: {why}"), Value::Object(f))
        }
    }
}

fn v5(state: &MqttState) -> bool {
    state.level == Some(5)
}

fn body_fields(
    state: &mut MqttState,
    ty_num: u8,
    flags: u8,
    r: &mut Reader<'_>,
    f: &mut Map<String, Value>,
    ctx: &mut DecodeCtx<'_>,
) -> Res<String> {
    let ty = TYPES.get(usize::from(ty_num)).copied().unwrap_or("RESERVED");
    let p = Protocol::Mqtt;
    match ty_num {
        1 => {
            let name = r.str("protocol name")?;
            let level = r.u8("protocol level")?;
            state.level = Some(level);
            let cflags = r.u8("connect flags")?;
            let keep_alive = r.u16("keep alive")?;
            f.insert("protocol_name".into(), name.into());
            f.insert("protocol_level".into(), level.into());
            f.insert(
                "version".into(),
                (match level {
                    3 => "3.1",
                    4 => "3.1.1",
                    5 => "5.0",
                    _ => "unknown",
                })
                .into(),
            );
            f.insert("clean_start".into(), (cflags & 0x02 != 0).into());
            f.insert("keep_alive".into(), keep_alive.into());
            if level == 5 {
                f.insert("properties".into(), properties(r)?);
            }
            let client_id = r.str("client id")?;
            f.insert("client_id".into(), client_id.clone().into());
            if cflags & 0x04 != 0 {
                let mut will = Map::new();
                if level == 5 {
                    will.insert("properties".into(), properties(r)?);
                }
                will.insert("topic".into(), r.str("will topic")?.into());
                let (payload, form) = util::payload_value(r.bin("will payload")?);
                will.insert("payload".into(), payload);
                will.insert("payload_format".into(), form.into());
                will.insert("qos".into(), ((cflags >> 3) & 3).into());
                will.insert("retain".into(), (cflags & 0x20 != 0).into());
                f.insert("will".into(), Value::Object(will));
            }
            if cflags & 0x80 != 0 {
                f.insert("username".into(), r.str("user name")?.into());
            }
            if cflags & 0x40 != 0 {
                f.insert("password_len".into(), r.bin("password")?.len().into());
            }
            ctx.request(p, "connect".into(), "CONNECT".into());
            Ok(format!("CONNECT {client_id} v{level}"))
        }
        2 => {
            let ack = r.u8("acknowledge flags")?;
            let code = r.u8("return code")?;
            f.insert("session_present".into(), (ack & 1 != 0).into());
            f.insert("reason_code".into(), code.into());
            let name = if v5(state) {
                f.insert("properties".into(), properties(r)?);
                reason_name(code)
            } else {
                connack_v3_name(code)
            };
            f.insert("reason".into(), name.into());
            ctx.response(p, "connect".into());
            Ok(format!("CONNACK {name}"))
        }
        3 => {
            let qos = (flags >> 1) & 3;
            let retain = flags & 1 != 0;
            let dup = flags & 8 != 0;
            if qos == 3 {
                return Err("QoS 3 is not allowed".into());
            }
            let mut topic = r.str("topic")?;
            let packet_id = if qos > 0 { Some(r.u16("packet id")?) } else { None };
            if v5(state) {
                let props = properties(r)?;
                if let Some(alias) = props.get("topic_alias").and_then(Value::as_u64) {
                    resolve_alias(state, ctx, alias as u16, &mut topic);
                }
                f.insert("properties".into(), props);
            }
            let payload = r.rest();
            f.insert("topic".into(), topic.clone().into());
            f.insert("qos".into(), qos.into());
            f.insert("retain".into(), retain.into());
            f.insert("dup".into(), dup.into());
            if let Some(id) = packet_id {
                f.insert("packet_id".into(), id.into());
                ctx.request(p, format!("p{id}"), topic.clone());
            }
            let (value, form) = util::payload_value(payload);
            f.insert("payload".into(), value);
            f.insert("payload_format".into(), form.into());
            f.insert("payload_len".into(), payload.len().into());
            let mut s = format!("PUBLISH {topic} q{qos}");
            if let Some(id) = packet_id {
                s.push_str(&format!(" #{id}"));
            }
            if retain {
                s.push_str(" retain");
            }
            Ok(s)
        }
        4..=7 => {
            let id = r.u16("packet id")?;
            f.insert("packet_id".into(), id.into());
            if v5(state) && r.remaining() > 0 {
                let code = r.u8("reason code")?;
                f.insert("reason_code".into(), code.into());
                f.insert("reason".into(), reason_name(code).into());
                if r.remaining() > 0 {
                    f.insert("properties".into(), properties(r)?);
                }
            }
            match ty_num {
                4 | 5 => ctx.response(p, format!("p{id}")),
                _ => {}
            }
            Ok(format!("{ty} #{id}"))
        }
        8 | 10 => {
            let id = r.u16("packet id")?;
            f.insert("packet_id".into(), id.into());
            if v5(state) {
                f.insert("properties".into(), properties(r)?);
            }
            let mut topics = Vec::new();
            let mut names = Vec::new();
            while r.remaining() > 0 {
                let filter = r.str("topic filter")?;
                names.push(filter.clone());
                if ty_num == 8 {
                    let opts = r.u8("subscription options")?;
                    let mut t = json!({"filter": filter, "qos": opts & 3});
                    if v5(state) {
                        t["no_local"] = (opts & 4 != 0).into();
                        t["retain_as_published"] = (opts & 8 != 0).into();
                        t["retain_handling"] = ((opts >> 4) & 3).into();
                    }
                    topics.push(t);
                } else {
                    topics.push(json!({"filter": filter}));
                }
            }
            if names.is_empty() {
                return Err("no topic filter".into());
            }
            let first = names.first().cloned().unwrap_or_default();
            f.insert("topic".into(), first.clone().into());
            if let Some(q) = topics.first().and_then(|t| t.get("qos")).cloned() {
                f.insert("qos".into(), q);
            }
            f.insert("topics".into(), Value::Array(topics));
            let tag = if ty_num == 8 { 's' } else { 'u' };
            ctx.request(p, format!("{tag}{id}"), first);
            Ok(format!("{ty} #{id} {}", names.join(" ")))
        }
        9 | 11 => {
            let id = r.u16("packet id")?;
            f.insert("packet_id".into(), id.into());
            if v5(state) {
                f.insert("properties".into(), properties(r)?);
            }
            let codes: Vec<u8> = r.rest().to_vec();
            f.insert("reason_codes".into(), codes.clone().into());
            let tag = if ty_num == 9 { 's' } else { 'u' };
            ctx.response(p, format!("{tag}{id}"));
            Ok(format!("{ty} #{id} {codes:?}"))
        }
        12 => {
            ctx.request(p, "ping".into(), "PINGREQ".into());
            Ok(ty.into())
        }
        13 => {
            ctx.response(p, "ping".into());
            Ok(ty.into())
        }
        14 | 15 => {
            if v5(state) && r.remaining() > 0 {
                let code = r.u8("reason code")?;
                f.insert("reason_code".into(), code.into());
                f.insert("reason".into(), reason_name(code).into());
                if r.remaining() > 0 {
                    f.insert("properties".into(), properties(r)?);
                }
                return Ok(format!("{ty} {}", reason_name(code)));
            }
            Ok(ty.into())
        }
        _ => Err("reserved packet type 0".into()),
    }
}

/// MQTT 5 topic aliases: a PUBLISH with a topic sets its alias, one without uses it.
fn resolve_alias(state: &mut MqttState, ctx: &mut DecodeCtx<'_>, alias: u16, topic: &mut String) {
    let Some(table) = state.aliases.get_mut(ctx.dir.index()) else {
        return;
    };
    if topic.is_empty() {
        match table.iter().find(|(a, _)| *a == alias) {
            Some((_, t)) => *topic = t.clone(),
            None => ctx.finding(
                FindingKind::MqttMalformed,
                format!("topic alias {alias} used before it was set"),
            ),
        }
    } else {
        table.retain(|(a, _)| *a != alias);
        if table.len() < MAX_TOPIC_ALIASES {
            table.push((alias, topic.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::app::PairOp;
    use crate::analysis::event::Direction;
    use crate::analysis::time::Timestamp;

    fn run(st: &mut MqttState, dir: Direction, p: &[u8]) -> (Decoded, Vec<String>, Vec<PairOp>) {
        let mut findings = Vec::new();
        let mut pairs = Vec::new();
        let mut ctx = DecodeCtx {
            conn: 0,
            dir,
            ts: Timestamp::ZERO,
            findings: &mut findings,
            pairs: &mut pairs,
        };
        let d = decode(st, p, &mut ctx).unwrap();
        (d, findings.into_iter().map(|f| f.detail).collect(), pairs)
    }

    /// PUBLISH sensors/t1, QoS 1, packet id 12, payload "21.5" (MQTT 3.1.1 bytes).
    const PUBLISH: &[u8] = &[
        0x32, 18, 0, 10, b's', b'e', b'n', b's', b'o', b'r', b's', b'/', b't', b'1', 0, 12, b'2', b'1', b'.', b'5',
    ];

    #[test]
    fn a_publish_is_summarised_like_the_issue_says() {
        let mut st = MqttState::default();
        let (d, bad, pairs) = run(&mut st, Direction::ClientToServer, PUBLISH);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(d.summary, "PUBLISH sensors/t1 q1 #12");
        assert_eq!(d.field("mqtt.topic"), Some(&json!("sensors/t1")));
        assert_eq!(d.field("mqtt.qos"), Some(&json!(1)));
        assert_eq!(d.field("mqtt.packet_id"), Some(&json!(12)));
        assert_eq!(d.field("mqtt.payload"), Some(&json!("21.5")));
        assert_eq!(pairs.len(), 1);
    }

    #[test]
    fn a_packet_split_over_three_messages_is_decoded_once_whole() {
        let mut st = MqttState::default();
        let c2s = Direction::ClientToServer;
        let (d, _, _) = run(&mut st, c2s, &PUBLISH[..1]);
        assert_eq!(d.field("mqtt.type"), Some(&json!("partial")));
        let (d, _, _) = run(&mut st, c2s, &PUBLISH[1..9]);
        assert_eq!(d.field("mqtt.type"), Some(&json!("partial")));
        let (d, bad, _) = run(&mut st, c2s, &PUBLISH[9..]);
        assert!(bad.is_empty());
        assert_eq!(d.summary, "PUBLISH sensors/t1 q1 #12");
    }

    #[test]
    fn two_packets_in_one_message_are_both_listed() {
        let mut st = MqttState::default();
        let mut both = PUBLISH.to_vec();
        both.extend_from_slice(&[0xc0, 0x00]);
        let (d, _, _) = run(&mut st, Direction::ClientToServer, &both);
        assert_eq!(d.summary, "PUBLISH sensors/t1 q1 #12; PINGREQ");
        assert_eq!(d.field("mqtt.packets.1.type"), Some(&json!("PINGREQ")));
    }

    #[test]
    fn broken_packets_become_findings() {
        let mut st = MqttState::default();
        let (_, bad, _) = run(&mut st, Direction::ClientToServer, &[0x30, 2, 0, 9]);
        assert_eq!(bad.len(), 1, "{bad:?}");
        let (_, bad, _) = run(&mut st, Direction::ServerToClient, &[0x30, 0xff, 0xff, 0xff, 0xff, 1]);
        assert_eq!(bad.len(), 1);
        let (_, bad, _) = run(&mut st, Direction::ServerToClient, &[0x36, 0]);
        assert!(bad.iter().any(|b| b.contains("QoS 3")), "{bad:?}");
    }
}
