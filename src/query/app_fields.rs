//! Application-protocol fields for the filter (issue 16): the names `analysis::app` decoders
//! answer (`mqtt.topic`, `socketio.event`, …), registered once, and their values read from a
//! message's [`Decoded`] value.

use std::sync::Once;

use serde_json::Value;

use crate::analysis::app::{Decoded, Protocol};
use crate::query::{AppFields, FieldDef, FieldKind, Leaf, register_app_field};

/// (name, description) of every application field a filter may name. Array elements and
/// header names are listed for the common cases (`socketio.args.0`…`7`, STOMP headers).
const FIELDS: &[(&str, &str)] = &[
    (
        "socketio.type",
        "Socket.IO packet type: CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK",
    ),
    ("socketio.nsp", "Socket.IO namespace (`/`, `/chat`)"),
    ("socketio.event", "Socket.IO event name"),
    ("socketio.ack_id", "Socket.IO ack id"),
    ("socketio.args", "Socket.IO event or ack arguments (an array)"),
    ("socketio.args.0", "first Socket.IO argument"),
    ("socketio.args.1", "second Socket.IO argument"),
    ("socketio.args.2", "third Socket.IO argument"),
    ("socketio.args.3", "fourth Socket.IO argument"),
    ("socketio.args.4", "fifth Socket.IO argument"),
    ("socketio.args.5", "sixth Socket.IO argument"),
    ("socketio.args.6", "seventh Socket.IO argument"),
    ("socketio.args.7", "eighth Socket.IO argument"),
    (
        "socketio.attachments",
        "binary attachments a Socket.IO packet announces",
    ),
    (
        "engineio.type",
        "Engine.IO packet type: open, close, ping, pong, message, upgrade, noop",
    ),
    ("engineio.sid", "Engine.IO session id (open packet)"),
    ("mqtt.type", "MQTT packet type: CONNECT, PUBLISH, SUBSCRIBE, …"),
    (
        "mqtt.topic",
        "MQTT topic (PUBLISH) or first topic filter (SUBSCRIBE, UNSUBSCRIBE)",
    ),
    ("mqtt.qos", "MQTT QoS (0-2)"),
    ("mqtt.retain", "MQTT retain flag"),
    ("mqtt.dup", "MQTT duplicate flag"),
    ("mqtt.packet_id", "MQTT packet identifier"),
    ("mqtt.client_id", "MQTT client identifier (CONNECT)"),
    ("mqtt.version", "MQTT version of a CONNECT: 3.1, 3.1.1 or 5.0"),
    ("mqtt.reason_code", "MQTT reason or return code"),
    ("mqtt.payload", "MQTT PUBLISH payload (JSON, text or hex)"),
    ("mqtt.payload_len", "MQTT PUBLISH payload length in bytes"),
    (
        "stomp.command",
        "STOMP command: CONNECT, SEND, SUBSCRIBE, MESSAGE, RECEIPT, ERROR, …",
    ),
    ("stomp.destination", "STOMP destination header"),
    ("stomp.body", "STOMP body (JSON, text or hex)"),
    ("stomp.header.destination", "STOMP header destination"),
    ("stomp.header.content-type", "STOMP header content-type"),
    ("stomp.header.content-length", "STOMP header content-length"),
    ("stomp.header.receipt", "STOMP header receipt"),
    ("stomp.header.receipt-id", "STOMP header receipt-id"),
    ("stomp.header.id", "STOMP header id"),
    ("stomp.header.subscription", "STOMP header subscription"),
    ("stomp.header.message-id", "STOMP header message-id"),
    ("stomp.header.ack", "STOMP header ack"),
    ("stomp.header.transaction", "STOMP header transaction"),
    ("stomp.header.accept-version", "STOMP header accept-version"),
    ("stomp.header.version", "STOMP header version"),
    ("stomp.header.host", "STOMP header host"),
    ("stomp.header.login", "STOMP header login"),
    ("stomp.header.heart-beat", "STOMP header heart-beat"),
    ("stomp.header.message", "STOMP header message (ERROR)"),
    (
        "graphql.type",
        "GraphQL over WebSocket message type: subscribe, next, complete, start, data, …",
    ),
    ("graphql.id", "GraphQL operation id"),
    ("graphql.operation", "GraphQL operation name"),
    ("graphql.query", "GraphQL document"),
    ("jsonrpc.method", "JSON-RPC method"),
    ("jsonrpc.id", "JSON-RPC id"),
    (
        "jsonrpc.kind",
        "JSON-RPC kind: request, notification, response, error, batch",
    ),
    ("jsonrpc.error.code", "JSON-RPC error code"),
    ("jsonrpc.error.message", "JSON-RPC error message"),
    (
        "signalr.type",
        "SignalR hub message type: Invocation, StreamItem, Completion, Ping, Close, …",
    ),
    ("signalr.target", "SignalR invocation target"),
    ("signalr.invocation_id", "SignalR invocation id"),
    ("wamp.type", "WAMP message type: HELLO, CALL, RESULT, PUBLISH, EVENT, …"),
    ("wamp.procedure", "WAMP procedure URI"),
    ("wamp.topic", "WAMP topic URI"),
    ("wamp.request", "WAMP request id"),
    ("actioncable.type", "Action Cable server message type"),
    ("actioncable.command", "Action Cable client command"),
    ("actioncable.channel", "Action Cable channel"),
    (
        "sockjs.type",
        "SockJS frame type: open, heartbeat, array, message, close, send",
    ),
    ("msgpack.type", "MessagePack top-level type: map, array, …"),
    ("cbor.type", "CBOR top-level type: map, array, …"),
    ("protobuf.message_type", "protobuf message type (with --proto-message)"),
];

/// Registers the protocol names (a truth test: `mqtt`) and every field of [`FIELDS`].
pub fn register_app_protocol_fields() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for p in Protocol::ALL {
            register_app_field(FieldDef {
                name: p.id(),
                kind: FieldKind::Bool,
                description: "the message belongs to this application protocol",
            });
        }
        for (name, description) in FIELDS {
            register_app_field(FieldDef {
                name,
                kind: FieldKind::Dynamic,
                description,
            });
        }
    });
}

fn leaf(v: &Value) -> Leaf {
    match v {
        Value::Null => Leaf::Null,
        Value::Bool(b) => Leaf::Bool(*b),
        Value::Number(n) => match n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)) {
            Some(i) => Leaf::Int(i),
            None => Leaf::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Leaf::Str(s.clone()),
        Value::Array(a) => Leaf::Array { len: a.len() },
        Value::Object(_) => Leaf::Object,
    }
}

impl AppFields for Decoded {
    fn field(&self, name: &str) -> Option<Leaf> {
        if Protocol::from_id(name).is_some() {
            // A protocol name tests membership (absent on other protocols' messages, as on
            // messages without one); a Socket.IO message is Engine.IO too.
            let hit = name == self.protocol.id() || (name == "engineio" && self.protocol == Protocol::SocketIo);
            return hit.then_some(Leaf::Bool(true));
        }
        Decoded::field(self, name).map(leaf)
    }
}
