//! Which application protocol a connection carries: the user's "decode as" rules first, then
//! the negotiated subprotocol, the request path, and finally the content of early messages.

use crate::analysis::app::{Protocol, binary, util};
use crate::analysis::event::Direction;

/// What the handshake tells about a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    pub subprotocol: Option<String>,
    /// Request target, with its query string.
    pub path: Option<String>,
    pub server_port: Option<u16>,
}

/// A forced choice: decode connections to this port and/or under this path as `protocol`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeAs {
    pub server_port: Option<u16>,
    pub path_prefix: Option<String>,
    pub protocol: Protocol,
}

impl DecodeAs {
    /// Parses `PROTO`, `PORT=PROTO` or `/PATH=PROTO` (e.g. `mqtt`, `8083=mqtt`, `/ws=stomp`).
    pub fn parse(spec: &str) -> Result<DecodeAs, String> {
        let (target, proto) = match spec.rsplit_once('=') {
            Some((t, p)) => (Some(t.trim()), p.trim()),
            None => (None, spec.trim()),
        };
        let protocol = Protocol::from_id(proto).ok_or_else(|| {
            let ids: Vec<&str> = Protocol::ALL.iter().map(|p| p.id()).collect();
            format!("unknown protocol {proto:?}; one of {}", ids.join(", "))
        })?;
        let mut rule = DecodeAs {
            server_port: None,
            path_prefix: None,
            protocol,
        };
        match target {
            None | Some("") => {}
            Some(t) if t.starts_with('/') => rule.path_prefix = Some(t.to_owned()),
            Some(t) => {
                rule.server_port = Some(
                    t.trim_start_matches(':')
                        .parse()
                        .map_err(|_| format!("{t:?} is neither a port nor a path starting with /"))?,
                )
            }
        }
        Ok(rule)
    }

    pub fn matches(&self, hints: &Hints) -> bool {
        let port_ok = self.server_port.is_none_or(|p| hints.server_port == Some(p));
        let path_ok = match &self.path_prefix {
            None => true,
            Some(prefix) => hints.path.as_deref().is_some_and(|p| p.starts_with(prefix.as_str())),
        };
        port_ok && path_ok
    }
}

/// The protocol a negotiated subprotocol names, if any.
pub fn by_subprotocol(subprotocol: &str) -> Option<Protocol> {
    let s = subprotocol.to_ascii_lowercase();
    let p = match s.as_str() {
        "mqtt" | "mqttv3.1" | "mqttv3.1.1" | "mqttv5" => Protocol::Mqtt,
        "v10.stomp" | "v11.stomp" | "v12.stomp" | "stomp" => Protocol::Stomp,
        "graphql-transport-ws" | "graphql-ws" => Protocol::GraphQl,
        "jsonrpc" | "json-rpc" | "jsonrpc-2.0" | "jsonrpc2" => Protocol::JsonRpc,
        "msgpack" | "messagepack" => Protocol::MsgPack,
        "cbor" => Protocol::Cbor,
        _ if s.starts_with("wamp.2.") => Protocol::Wamp,
        _ if s.starts_with("actioncable-") => Protocol::ActionCable,
        _ if s.contains("protobuf") || s.ends_with(".proto") || s == "proto" => Protocol::Protobuf,
        _ => return None,
    };
    Some(p)
}

/// The protocol a request path names: Socket.IO's `/socket.io/?EIO=4`, SockJS's
/// `/prefix/server/session/websocket`.
pub fn by_path(path: &str) -> Option<Protocol> {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    if route.contains("/socket.io") || query.split('&').any(|kv| kv.starts_with("EIO=")) {
        return Some(Protocol::EngineIo);
    }
    let segments: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() >= 3 && segments.last() == Some(&"websocket") {
        return Some(Protocol::SockJs);
    }
    None
}

/// The Engine.IO protocol revision a path names (`EIO=3` or `EIO=4`).
pub fn eio_version(path: Option<&str>) -> Option<u8> {
    let query = path?.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.strip_prefix("EIO=")?.parse().ok())
}

/// Recognises a protocol from one message's content (only shapes that other traffic does
/// not produce by accident). Binary MessagePack/CBOR need the whole message to parse as a
/// map or array.
pub fn by_content(dir: Direction, binary_message: bool, payload: &[u8]) -> Option<Protocol> {
    if binary_message {
        if crate::analysis::app::mqtt::looks_like_connect(payload) {
            return Some(Protocol::Mqtt);
        }
        return binary::sniff(payload);
    }
    let text = util::utf8(payload)?;
    let t = text.trim_start();
    if dir == Direction::ServerToClient && t.starts_with("0{") && t.contains("\"sid\"") {
        return Some(Protocol::EngineIo);
    }
    // SignalR's JSON records (the handshake included) end with the 0x1E record separator,
    // which JSON text never contains unescaped.
    if t.starts_with('{') && text.ends_with('\u{1e}') {
        return Some(Protocol::SignalR);
    }
    if matches!(t, "o" | "h") || t.starts_with("a[\"") || t.starts_with("c[") && dir == Direction::ServerToClient {
        return Some(Protocol::SockJs);
    }
    for start in [
        "CONNECT\n",
        "CONNECT\r\n",
        "STOMP\n",
        "STOMP\r\n",
        "CONNECTED\n",
        "CONNECTED\r\n",
    ] {
        if t.starts_with(start) {
            return Some(Protocol::Stomp);
        }
    }
    if t.starts_with('{') || t.starts_with('[') {
        let head = util::cut_str(t, 512);
        if head.contains("\"jsonrpc\"") {
            let v = util::json(text)?;
            let first = v.as_array().and_then(|a| a.first()).unwrap_or(&v);
            if util::str_of(first, "jsonrpc") == Some("2.0") {
                return Some(Protocol::JsonRpc);
            }
            return None;
        }
        if head.starts_with("{\"type\":\"connection_init\"") || head.starts_with("{\"type\":\"connection_ack\"") {
            return Some(Protocol::GraphQl);
        }
        if head.starts_with("{\"type\":\"welcome\"") || head.starts_with("{\"command\":\"subscribe\",\"identifier\"") {
            return Some(Protocol::ActionCable);
        }
        if head.starts_with("[1,\"") && head.contains("\"roles\"") {
            return Some(Protocol::Wamp);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_as_rules_parse_protocol_port_and_path() {
        assert_eq!(DecodeAs::parse("mqtt").unwrap().protocol, Protocol::Mqtt);
        let r = DecodeAs::parse("8083=stomp").unwrap();
        assert_eq!((r.server_port, r.protocol), (Some(8083), Protocol::Stomp));
        let r = DecodeAs::parse("/rpc=jsonrpc").unwrap();
        assert_eq!(r.path_prefix.as_deref(), Some("/rpc"));
        assert!(DecodeAs::parse("nonsense").is_err());
        assert!(DecodeAs::parse("x=mqtt").is_err());
    }

    #[test]
    fn paths_name_socketio_and_sockjs() {
        assert_eq!(
            by_path("/socket.io/?EIO=4&transport=websocket"),
            Some(Protocol::EngineIo)
        );
        assert_eq!(eio_version(Some("/socket.io/?EIO=3&transport=websocket")), Some(3));
        assert_eq!(by_path("/echo/123/abcd/websocket"), Some(Protocol::SockJs));
        assert_eq!(by_path("/echo/websocket"), None);
        assert_eq!(by_path("/chat"), None);
    }

    #[test]
    fn content_recognises_jsonrpc_only_with_version_2() {
        let c2s = Direction::ClientToServer;
        assert_eq!(
            by_content(c2s, false, br#"{"jsonrpc":"2.0","method":"a","id":1}"#),
            Some(Protocol::JsonRpc)
        );
        assert_eq!(by_content(c2s, false, br#"{"jsonrpc":"1.0","method":"a"}"#), None);
        assert_eq!(by_content(c2s, false, br#"{"hello":"world"}"#), None);
    }

    #[test]
    fn signalr_is_recognised_by_its_record_separator_even_without_the_handshake() {
        let s2c = Direction::ServerToClient;
        assert_eq!(
            by_content(s2c, false, b"{\"type\":1,\"target\":\"Send\",\"arguments\":[]}\x1e"),
            Some(Protocol::SignalR)
        );
        assert_eq!(
            by_content(s2c, false, b"{\"protocol\":\"json\",\"version\":1}\x1e"),
            Some(Protocol::SignalR)
        );
    }
}
