//! One message as text to paste: hex, base64, a JSON object, or a ready `websocat` / `wscat`
//! command line that sends it again to the server it went to.

use base64::Engine as _;

use crate::analysis::event::{ConnectionInfo, MessageFacts};
use crate::analysis::ws::frame::OpCode;

/// `ws://host:port/path` (or `wss://`) of a connection: the Host header and path of its
/// upgrade request when captured, else the server's address and `/`.
pub fn connection_url(info: &ConnectionInfo) -> String {
    let scheme = if info.tls.is_some() { "wss" } else { "ws" };
    let hs = info.handshake.as_ref();
    let host = hs
        .and_then(|h| h.request.as_ref())
        .and_then(|r| r.header("host"))
        .map_or_else(|| info.server.to_string(), str::to_owned);
    let path = hs.and_then(|h| h.path()).unwrap_or("/");
    format!("{scheme}://{host}{path}")
}

/// Quotes `s` for a POSIX shell (single quotes; a quote inside becomes `'\''`).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn hex(payload: &[u8]) -> String {
    let mut out = String::with_capacity(payload.len() * 2);
    for b in payload {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

pub fn base64(payload: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(payload)
}

/// The message as one JSON object: its facts, and its payload as `text` (valid UTF-8) or
/// `base64`.
pub fn json(m: &MessageFacts, payload: &[u8], time_secs: f64) -> String {
    let mut obj = serde_json::json!({
        "conn": m.conn,
        "dir": m.dir.as_str(),
        "opcode": m.opcode.name(),
        "time": time_secs,
        "len": m.len,
        "wire_len": m.wire_len,
        "frames": m.frames,
        "compressed": m.compressed,
    });
    if let Some(code) = m.close_code {
        obj["close_code"] = code.into();
    }
    match std::str::from_utf8(payload) {
        Ok(text) if m.opcode != OpCode::Binary => obj["text"] = text.into(),
        _ => obj["base64"] = base64(payload).into(),
    }
    obj.to_string()
}

/// Subprotocol options for the commands, when the connection negotiated one.
fn subprotocol(info: &ConnectionInfo) -> Option<String> {
    info.handshake.as_ref().and_then(|h| h.subprotocol.clone())
}

/// A `websocat` command that connects and sends this one message (text as text, anything
/// else decoded from base64 and sent as binary).
pub fn websocat_command(info: &ConnectionInfo, opcode: OpCode, payload: &[u8]) -> String {
    let url = shell_quote(&connection_url(info));
    let proto = subprotocol(info).map_or(String::new(), |p| format!(" --protocol {}", shell_quote(&p)));
    match (opcode, std::str::from_utf8(payload)) {
        (OpCode::Text, Ok(text)) if !text.contains('\n') => {
            format!("printf '%s\\n' {} | websocat -1{proto} {url}", shell_quote(text))
        }
        _ => format!(
            "printf '%s' {} | base64 -d | websocat -1 -b{proto} {url}",
            shell_quote(&base64(payload))
        ),
    }
}

/// A `wscat` command that connects, sends this text message and waits a second for answers.
/// wscat sends text only: binary payloads are not offered.
pub fn wscat_command(info: &ConnectionInfo, opcode: OpCode, payload: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(payload).ok().filter(|_| opcode == OpCode::Text)?;
    let proto = subprotocol(info).map_or(String::new(), |p| format!(" -s {}", shell_quote(&p)));
    Some(format!(
        "wscat -c {}{proto} -x {} -w 1",
        shell_quote(&connection_url(info)),
        shell_quote(text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ConnectionInfo {
        ConnectionInfo {
            conn: 3,
            client: "127.0.0.1:50000".parse().expect("addr"),
            server: "127.0.0.1:8765".parse().expect("addr"),
            handshake: None,
            first_ts: crate::analysis::Timestamp::ZERO,
            tls: None,
            h2_stream: None,
        }
    }

    #[test]
    fn commands_quote_the_payload_and_reach_the_server() {
        let c = websocat_command(&info(), OpCode::Text, b"it's {\"a\":1}");
        assert_eq!(
            c,
            r#"printf '%s\n' 'it'\''s {"a":1}' | websocat -1 'ws://127.0.0.1:8765/'"#
        );
        let b = websocat_command(&info(), OpCode::Binary, &[0, 1, 2]);
        assert_eq!(
            b,
            "printf '%s' 'AAEC' | base64 -d | websocat -1 -b 'ws://127.0.0.1:8765/'"
        );
        assert_eq!(
            wscat_command(&info(), OpCode::Text, b"hi").as_deref(),
            Some("wscat -c 'ws://127.0.0.1:8765/' -x 'hi' -w 1")
        );
        assert_eq!(wscat_command(&info(), OpCode::Binary, b"hi"), None);
    }

    #[test]
    fn json_keeps_text_as_text_and_binary_as_base64() {
        let facts = MessageFacts::one_frame(
            1,
            crate::analysis::event::Direction::ServerToClient,
            OpCode::Binary,
            crate::analysis::Timestamp::ZERO,
            2,
        );
        let v: serde_json::Value = serde_json::from_str(&json(&facts, &[0xff, 0], 1.5)).expect("json");
        assert_eq!(v["base64"], "/wA=");
        assert_eq!(v["dir"], "s2c");
        assert_eq!(v["time"], 1.5);
        assert_eq!(hex(&[0xab, 1]), "ab01");
    }
}
