//! STOMP 1.0-1.2 frames: command, headers (with 1.1/1.2 escapes), body (JSON when it is),
//! heart-beat end-of-lines, several frames in one message.

use serde_json::{Map, Value, json};

use crate::analysis::app::util;
use crate::analysis::app::{DecodeCtx, Decoded, Protocol};
use crate::analysis::findings::FindingKind;

const COMMANDS: &[&str] = &[
    "CONNECT",
    "STOMP",
    "CONNECTED",
    "SEND",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ACK",
    "NACK",
    "BEGIN",
    "COMMIT",
    "ABORT",
    "DISCONNECT",
    "MESSAGE",
    "RECEIPT",
    "ERROR",
];

/// Decodes one message: zero or more frames (a lone EOL is a heart-beat).
pub fn decode(payload: &[u8], ctx: &mut DecodeCtx<'_>) -> Option<Decoded> {
    let mut frames: Vec<(String, Value)> = Vec::new();
    let mut rest = payload;
    loop {
        // EOLs between frames are heart-beats (STOMP 1.1 §Heart-beating).
        let skip = rest.iter().take_while(|b| **b == b'\n' || **b == b'\r').count();
        rest = rest.get(skip..).unwrap_or(&[]);
        if rest.is_empty() {
            break;
        }
        match frame(rest, ctx) {
            Ok((summary, fields, used)) => {
                frames.push((summary, fields));
                rest = rest.get(used..).unwrap_or(&[]);
            }
            Err(why) => {
                ctx.finding(FindingKind::StompMalformed, why.clone());
                frames.push((
                    format!("malformed: {why}"),
                    json!({"command": "malformed", "error": why}),
                ));
                break;
            }
        }
    }
    match frames.len() {
        0 => Some(Decoded::new(
            Protocol::Stomp,
            "heart-beat".into(),
            json!({"command": "heart-beat"}),
        )),
        1 => {
            let (s, f) = frames.pop()?;
            Some(Decoded::new(Protocol::Stomp, s, f))
        }
        _ => {
            let summary = frames.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join("; ");
            let mut fields = frames.first().map(|(_, f)| f.clone()).unwrap_or(Value::Null);
            let all: Vec<Value> = frames.into_iter().map(|(_, f)| f).collect();
            if let Value::Object(m) = &mut fields {
                m.insert("frames".into(), Value::Array(all));
            }
            Some(Decoded::new(Protocol::Stomp, summary, fields))
        }
    }
}

fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('c') => out.push(':'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses one frame from the start of `b`: (summary, fields, bytes used).
fn frame(b: &[u8], ctx: &mut DecodeCtx<'_>) -> Result<(String, Value, usize), String> {
    let head_end = memchr::memmem::find(b, b"\n\n")
        .map(|i| (i, i + 2))
        .into_iter()
        .chain(memchr::memmem::find(b, b"\r\n\r\n").map(|i| (i, i + 4)))
        .min_by_key(|(i, _)| *i)
        .ok_or("no blank line after the headers")?;
    let head = util::utf8(b.get(..head_end.0).unwrap_or(&[])).ok_or("headers are not UTF-8")?;
    let mut lines = head.lines();
    let command = lines.next().unwrap_or("").trim_end_matches('\r');
    if !COMMANDS.contains(&command) {
        return Err(format!("unknown command {:?}", util::preview_str(command)));
    }
    // CONNECT and CONNECTED headers are not escaped (STOMP 1.2 §Value Encoding).
    let escaped = !matches!(command, "CONNECT" | "CONNECTED" | "STOMP");
    let mut headers = Map::new();
    for line in lines {
        let line = line.trim_end_matches('\r');
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without a colon: {line:?}"))?;
        let (k, v) = if escaped {
            (unescape(k), unescape(v))
        } else {
            (k.to_owned(), v.to_owned())
        };
        // The first of repeated headers wins (STOMP 1.2 §Repeated Header Entries).
        headers.entry(k).or_insert(Value::String(v));
    }
    let body_start = head_end.1;
    let body_bytes = b.get(body_start..).unwrap_or(&[]);
    let (body, used) = match headers.get("content-length").and_then(Value::as_str) {
        Some(n) => {
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("content-length {n:?} is not a number"))?;
            let body = body_bytes.get(..n).ok_or("body shorter than its content-length")?;
            if body_bytes.get(n) != Some(&0) {
                return Err("no NULL after the content-length body".into());
            }
            (body, body_start + n + 1)
        }
        None => {
            let n = memchr::memchr(0, body_bytes).ok_or("frame without its terminating NULL")?;
            (body_bytes.get(..n).unwrap_or(&[]), body_start + n + 1)
        }
    };
    let mut f = Map::new();
    f.insert("command".into(), command.into());
    let destination = headers.get("destination").and_then(Value::as_str).map(str::to_owned);
    if let Some(d) = &destination {
        f.insert("destination".into(), d.clone().into());
    }
    for key in ["id", "subscription", "message-id", "receipt", "receipt-id"] {
        if let Some(v) = headers.get(key) {
            f.insert(key.replace('-', "_"), v.clone());
        }
    }
    let receipt = headers.get("receipt").and_then(Value::as_str).map(str::to_owned);
    let receipt_id = headers.get("receipt-id").and_then(Value::as_str).map(str::to_owned);
    f.insert("header".into(), Value::Object(headers));
    if !body.is_empty() {
        let (v, form) = util::payload_value(body);
        f.insert("body".into(), v);
        f.insert("body_format".into(), form.into());
    }
    f.insert("body_len".into(), body.len().into());
    if let Some(r) = receipt {
        let key = destination.clone().unwrap_or_else(|| command.to_owned());
        ctx.request(Protocol::Stomp, r, key);
    }
    if let Some(r) = receipt_id {
        ctx.response(Protocol::Stomp, r);
    }
    let mut summary = command.to_owned();
    if let Some(d) = destination {
        summary.push(' ');
        summary.push_str(&d);
    }
    if command == "ERROR"
        && let Some(m) = f.get("header").and_then(|h| h.get("message")).and_then(Value::as_str)
    {
        summary.push(' ');
        summary.push_str(&util::preview_str(m));
    }
    Ok((summary, Value::Object(f), used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::app::with_test_ctx;

    fn run(p: &[u8]) -> (Decoded, usize, usize) {
        let (d, findings, pairs) = with_test_ctx(|ctx| decode(p, ctx));
        (d.unwrap(), findings, pairs)
    }

    #[test]
    fn a_send_frame_has_command_destination_headers_and_json_body() {
        let (d, bad, pairs) =
            run(b"SEND\ndestination:/queue/a\ncontent-type:application/json\nreceipt:r-1\n\n{\"n\":1}\0");
        assert_eq!(bad, 0);
        assert_eq!(d.summary, "SEND /queue/a");
        assert_eq!(d.field("stomp.destination"), Some(&json!("/queue/a")));
        assert_eq!(d.field("stomp.header.content-type"), Some(&json!("application/json")));
        assert_eq!(d.field("stomp.body.n"), Some(&json!(1)));
        assert_eq!(pairs, 1);
    }

    #[test]
    fn a_lone_eol_is_a_heart_beat_and_escapes_are_undone() {
        assert_eq!(run(b"\n").0.summary, "heart-beat");
        let (d, _, _) = run(b"MESSAGE\r\ndestination:/topic/a\\cb\r\nmessage-id:7\r\n\r\nhi\0\n");
        assert_eq!(d.field("stomp.destination"), Some(&json!("/topic/a:b")));
        assert_eq!(d.field("stomp.body"), Some(&json!("hi")));
    }

    #[test]
    fn frames_without_null_or_with_unknown_commands_are_findings() {
        assert_eq!(run(b"SEND\ndestination:/a\n\nno null").1, 1);
        assert_eq!(run(b"HELLO\n\n\0").1, 1);
        assert_eq!(run(b"SEND\ncontent-length:99\n\nab\0").1, 1);
    }
}
