//! The fields a display filter can name: built-in ones, `json.<path>`, and fields that
//! application-protocol decoders register at run time (`mqtt.topic`); autocomplete over them.

use std::sync::RwLock;

/// The type of a field's values, which decides the literals and operators it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Whole numbers (`len`, `conn`, `close.code`).
    Int,
    /// Real numbers (`time`, `rtt_ms`).
    Float,
    /// True or false; a bare name tests for true.
    Bool,
    /// Text (`client`, `path`, `close.reason`).
    Str,
    /// Payload bytes compared with string literals (`text`, `payload`).
    Bytes,
    /// `text`, `binary`, `ping`, `pong`, `close`, `continuation`, `reserved-N` or 0-15.
    Opcode,
    /// `c2s` or `s2c`.
    Dir,
    /// The set of finding slugs on a message; `==` is true when any of them is equal.
    Finding,
    /// A value found in a JSON payload or by an application decoder: its type is known only
    /// when the message is looked at.
    Dynamic,
}

/// A field of the filter language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: FieldKind,
    pub description: &'static str,
}

/// Which built-in field a name denotes (resolved once, at compile time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Conn,
    Dir,
    Opcode,
    Len,
    WireLen,
    Frames,
    Compressed,
    Truncated,
    Decoded,
    Time,
    Ts,
    CloseCode,
    CloseReason,
    Text,
    Payload,
    RttMs,
    Finding,
    Client,
    Server,
    ClientIp,
    ClientPort,
    ServerIp,
    ServerPort,
    Path,
    Host,
    Subprotocol,
    /// `json` alone: the payload is one JSON value.
    Json,
}

const fn def(name: &'static str, kind: FieldKind, description: &'static str) -> FieldDef {
    FieldDef {
        name,
        kind,
        description,
    }
}

/// Every built-in field, in the order the reference lists them.
pub const BUILTIN_FIELDS: &[(Builtin, FieldDef)] = &[
    (
        Builtin::Conn,
        def(
            "conn",
            FieldKind::Int,
            "connection number (as in the connection records)",
        ),
    ),
    (
        Builtin::Dir,
        def("dir", FieldKind::Dir, "direction: c2s (client to server) or s2c"),
    ),
    (
        Builtin::Opcode,
        def(
            "opcode",
            FieldKind::Opcode,
            "text, binary, ping, pong, close, continuation, reserved-N (or the number 0-15)",
        ),
    ),
    (
        Builtin::Len,
        def("len", FieldKind::Int, "decoded payload length in bytes"),
    ),
    (
        Builtin::WireLen,
        def(
            "wire_len",
            FieldKind::Int,
            "bytes on the wire: every frame's header, mask and payload",
        ),
    ),
    (
        Builtin::Frames,
        def("frames", FieldKind::Int, "number of frames the message was sent in"),
    ),
    (
        Builtin::Compressed,
        def("compressed", FieldKind::Bool, "sent with permessage-deflate (RSV1)"),
    ),
    (
        Builtin::Truncated,
        def("truncated", FieldKind::Bool, "the payload was cut by a size cap"),
    ),
    (
        Builtin::Decoded,
        def(
            "decoded",
            FieldKind::Bool,
            "false when a compressed message could not be inflated",
        ),
    ),
    (
        Builtin::Time,
        def("time", FieldKind::Float, "seconds since the capture's first packet"),
    ),
    (Builtin::Ts, def("ts", FieldKind::Float, "seconds since the Unix epoch")),
    (
        Builtin::CloseCode,
        def("close.code", FieldKind::Int, "status code of a close message"),
    ),
    (
        Builtin::CloseReason,
        def(
            "close.reason",
            FieldKind::Str,
            "reason text of a close message that has a code",
        ),
    ),
    (
        Builtin::Text,
        def(
            "text",
            FieldKind::Bytes,
            "payload of a text message (absent on other opcodes)",
        ),
    ),
    (
        Builtin::Payload,
        def("payload", FieldKind::Bytes, "payload bytes of any message"),
    ),
    (
        Builtin::RttMs,
        def(
            "rtt_ms",
            FieldKind::Float,
            "round trip in milliseconds, on a ping and its pong",
        ),
    ),
    (
        Builtin::Finding,
        def(
            "finding",
            FieldKind::Finding,
            "slug of a finding on the message (e.g. invalid-utf8)",
        ),
    ),
    (
        Builtin::Client,
        def("client", FieldKind::Str, "client endpoint, address:port"),
    ),
    (
        Builtin::Server,
        def("server", FieldKind::Str, "server endpoint, address:port"),
    ),
    (Builtin::ClientIp, def("client.ip", FieldKind::Str, "client address")),
    (Builtin::ClientPort, def("client.port", FieldKind::Int, "client port")),
    (Builtin::ServerIp, def("server.ip", FieldKind::Str, "server address")),
    (Builtin::ServerPort, def("server.port", FieldKind::Int, "server port")),
    (
        Builtin::Path,
        def("path", FieldKind::Str, "request path of the upgrade (with the query)"),
    ),
    (
        Builtin::Host,
        def("host", FieldKind::Str, "Host header of the upgrade request"),
    ),
    (
        Builtin::Subprotocol,
        def("subprotocol", FieldKind::Str, "subprotocol the server chose"),
    ),
    (
        Builtin::Json,
        def(
            "json",
            FieldKind::Dynamic,
            "the payload parsed as JSON; json.a.b, json.items[0].id, json[\"key.with.dots\"]",
        ),
    ),
];

/// The built-in field of that exact name.
pub fn builtin(name: &str) -> Option<(Builtin, FieldDef)> {
    BUILTIN_FIELDS.iter().find(|(_, d)| d.name == name).copied()
}

/// Fields added by application-protocol decoders. A filter naming one compiles once it is
/// registered; its values come from [`crate::query::AppFields`] on each message.
static APP_FIELDS: RwLock<Vec<FieldDef>> = RwLock::new(Vec::new());

/// Registers an application field such as `mqtt.topic` (or a protocol name such as `mqtt`,
/// which then works as a truth test). Registering a name twice keeps the first; a name that
/// is a built-in field is refused (returns false).
pub fn register_app_field(field: FieldDef) -> bool {
    if builtin(field.name).is_some() || field.name == "json" || field.name.starts_with("json.") {
        return false;
    }
    let Ok(mut fields) = APP_FIELDS.write() else {
        return false;
    };
    if !fields.iter().any(|f| f.name == field.name) {
        fields.push(field);
    }
    true
}

/// The registered application field of that name.
pub fn app_field(name: &str) -> Option<FieldDef> {
    APP_FIELDS
        .read()
        .ok()
        .and_then(|fields| fields.iter().find(|f| f.name == name).copied())
}

/// Every field name (built-in, then registered) that starts with `prefix`, for autocomplete.
/// `json.` is offered as a prefix of its own, since its paths are the payload's.
pub fn complete(prefix: &str) -> Vec<FieldDef> {
    let mut out: Vec<FieldDef> = BUILTIN_FIELDS
        .iter()
        .map(|(_, d)| *d)
        .filter(|d| d.name.starts_with(prefix))
        .collect();
    if let Ok(fields) = APP_FIELDS.read() {
        out.extend(fields.iter().filter(|d| d.name.starts_with(prefix)).copied());
    }
    out
}

/// The values a field's comparisons accept as bare words, for autocomplete after an operator.
pub fn value_words(kind: FieldKind) -> Vec<String> {
    match kind {
        FieldKind::Opcode => ["text", "binary", "ping", "pong", "close", "continuation"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        FieldKind::Dir => vec!["c2s".to_owned(), "s2c".to_owned()],
        FieldKind::Bool => vec!["true".to_owned(), "false".to_owned()],
        FieldKind::Finding => crate::analysis::findings::FindingKind::ALL
            .iter()
            .map(|k| k.slug().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_lists_fields_by_prefix_including_registered_ones() {
        let names: Vec<_> = complete("close.").iter().map(|d| d.name).collect();
        assert_eq!(names, ["close.code", "close.reason"]);
        let names: Vec<_> = complete("c").iter().map(|d| d.name).collect();
        assert_eq!(
            names,
            [
                "conn",
                "compressed",
                "close.code",
                "close.reason",
                "client",
                "client.ip",
                "client.port"
            ]
        );
        assert!(register_app_field(def("zzcomplete.topic", FieldKind::Dynamic, "test")));
        let names: Vec<_> = complete("zzcomplete").iter().map(|d| d.name).collect();
        assert_eq!(names, ["zzcomplete.topic"]);
    }

    #[test]
    fn a_built_in_name_cannot_be_registered_again() {
        assert!(!register_app_field(def("len", FieldKind::Int, "x")));
        assert!(!register_app_field(def("json.x", FieldKind::Int, "x")));
        assert_eq!(builtin("len").map(|(b, _)| b), Some(Builtin::Len));
    }
}
