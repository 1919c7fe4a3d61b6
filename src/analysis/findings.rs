//! RFC 6455 / RFC 7692 violations and capture problems, as data with stable slugs.

use crate::analysis::event::{ConnId, Direction};
use crate::analysis::time::Timestamp;

/// What went wrong. The slug of each kind is a public interface (`anomaly.kind` in
/// JSON Lines): add kinds freely, never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    // --- RFC 6455 framing ---
    UnmaskedClientFrame,
    MaskedServerFrame,
    ControlTooLong,
    FragmentedControl,
    RsvWithoutExtension,
    Rsv1OnContinuation,
    Rsv1OnControl,
    ReservedOpcode,
    UnexpectedContinuation,
    MessageInterrupted,
    NonMinimalLength,
    LengthMsbSet,
    InvalidUtf8,
    BadClosePayload,
    BadCloseCode,
    DataAfterClose,
    PongMissing,
    /// More pings were outstanding than the pairing window holds.
    PingWindow,
    /// A packet's timestamp is a second or more earlier than the latest before it.
    TimestampBackwards,
    /// A packet record's sub-second field is out of range (10^6 µs or 10^9 ns or more).
    TimestampInvalid,
    // --- handshake ---
    BadAccept,
    MissingAccept,
    UpgradeRejected,
    UpgradeUnanswered,
    BadHandshake,
    UnnegotiatedSubprotocol,
    UnnegotiatedExtension,
    HttpHeaderTooLong,
    /// A head has more header lines than a head is expected to carry.
    HttpTooManyHeaders,
    /// A head was started but the flow ended before it was complete.
    HttpHeadIncomplete,
    /// A response's Content-Length was contradicted by the next response.
    HttpBodyLengthMismatch,
    // --- permessage-deflate ---
    InflateFailed,
    InflateLimit,
    // --- limits and capture problems ---
    MessageLimit,
    MessageStartNotCaptured,
    MessageIncomplete,
    MessageDamaged,
    TcpGap,
    /// A later copy of TCP bytes differed from the first copy (which was kept).
    TcpOverlapConflict,
    TruncatedPacket,
    IpFragment,
    MalformedPacket,
    FlowLimit,
    FindingLimit,
    ResyncFailed,
    /// Bytes before the first frame boundary found (a frame whose start was not captured)
    /// were not decoded.
    BytesSkipped,
    CaptureTruncated,
    // --- TLS (wss://) ---
    TlsNoKey,
    TlsDecryptFailed,
    TlsRecordLost,
    TlsBadRecord,
    TlsUnsupported,
    TlsAlert,
    // --- HTTP/2 (RFC 8441 WebSockets) ---
    /// An extended CONNECT before the server allowed it (SETTINGS_ENABLE_CONNECT_PROTOCOL).
    H2ConnectNotEnabled,
    /// `:protocol` on a request whose method is not CONNECT.
    H2ProtocolWithoutConnect,
    /// A malformed frame, header block or preface (decoding may stop for that direction).
    H2ProtocolError,
    /// A header block, HPACK table size or frame past framescope's caps.
    H2Limit,
    // --- application protocols (issue 16) ---
    EngineIoBadPacket,
    SocketIoBadPacket,
    MqttMalformed,
    MqttPacketLimit,
    StompMalformed,
    GraphQlMalformed,
    JsonRpcMalformed,
    SignalRMalformed,
    WampMalformed,
    ActionCableMalformed,
    SockJsMalformed,
    MsgPackMalformed,
    CborMalformed,
    ProtobufMalformed,
    AppRttLimit,
}

impl FindingKind {
    /// Every kind, for reference tables and tests.
    pub const ALL: &'static [FindingKind] = &[
        FindingKind::UnmaskedClientFrame,
        FindingKind::MaskedServerFrame,
        FindingKind::ControlTooLong,
        FindingKind::FragmentedControl,
        FindingKind::RsvWithoutExtension,
        FindingKind::Rsv1OnContinuation,
        FindingKind::Rsv1OnControl,
        FindingKind::ReservedOpcode,
        FindingKind::UnexpectedContinuation,
        FindingKind::MessageInterrupted,
        FindingKind::NonMinimalLength,
        FindingKind::LengthMsbSet,
        FindingKind::InvalidUtf8,
        FindingKind::BadClosePayload,
        FindingKind::BadCloseCode,
        FindingKind::DataAfterClose,
        FindingKind::PongMissing,
        FindingKind::PingWindow,
        FindingKind::TimestampBackwards,
        FindingKind::TimestampInvalid,
        FindingKind::BadAccept,
        FindingKind::MissingAccept,
        FindingKind::UpgradeRejected,
        FindingKind::UpgradeUnanswered,
        FindingKind::BadHandshake,
        FindingKind::UnnegotiatedSubprotocol,
        FindingKind::UnnegotiatedExtension,
        FindingKind::HttpHeaderTooLong,
        FindingKind::HttpTooManyHeaders,
        FindingKind::HttpHeadIncomplete,
        FindingKind::HttpBodyLengthMismatch,
        FindingKind::InflateFailed,
        FindingKind::InflateLimit,
        FindingKind::MessageLimit,
        FindingKind::MessageStartNotCaptured,
        FindingKind::MessageIncomplete,
        FindingKind::MessageDamaged,
        FindingKind::TcpGap,
        FindingKind::TcpOverlapConflict,
        FindingKind::TruncatedPacket,
        FindingKind::IpFragment,
        FindingKind::MalformedPacket,
        FindingKind::FlowLimit,
        FindingKind::FindingLimit,
        FindingKind::ResyncFailed,
        FindingKind::BytesSkipped,
        FindingKind::CaptureTruncated,
        FindingKind::TlsNoKey,
        FindingKind::TlsDecryptFailed,
        FindingKind::TlsRecordLost,
        FindingKind::TlsBadRecord,
        FindingKind::TlsUnsupported,
        FindingKind::TlsAlert,
        FindingKind::H2ConnectNotEnabled,
        FindingKind::H2ProtocolWithoutConnect,
        FindingKind::H2ProtocolError,
        FindingKind::H2Limit,
        FindingKind::EngineIoBadPacket,
        FindingKind::SocketIoBadPacket,
        FindingKind::MqttMalformed,
        FindingKind::MqttPacketLimit,
        FindingKind::StompMalformed,
        FindingKind::GraphQlMalformed,
        FindingKind::JsonRpcMalformed,
        FindingKind::SignalRMalformed,
        FindingKind::WampMalformed,
        FindingKind::ActionCableMalformed,
        FindingKind::SockJsMalformed,
        FindingKind::MsgPackMalformed,
        FindingKind::CborMalformed,
        FindingKind::ProtobufMalformed,
        FindingKind::AppRttLimit,
    ];

    /// The stable short name used in JSON Lines and reports.
    pub fn slug(self) -> &'static str {
        use FindingKind::*;
        match self {
            UnmaskedClientFrame => "unmasked-client-frame",
            MaskedServerFrame => "masked-server-frame",
            ControlTooLong => "control-too-long",
            FragmentedControl => "fragmented-control",
            RsvWithoutExtension => "rsv-without-extension",
            Rsv1OnContinuation => "rsv1-on-continuation",
            Rsv1OnControl => "rsv1-on-control",
            ReservedOpcode => "reserved-opcode",
            UnexpectedContinuation => "unexpected-continuation",
            MessageInterrupted => "message-interrupted",
            NonMinimalLength => "non-minimal-length",
            LengthMsbSet => "length-msb-set",
            InvalidUtf8 => "invalid-utf8",
            BadClosePayload => "bad-close-payload",
            BadCloseCode => "bad-close-code",
            DataAfterClose => "data-after-close",
            PongMissing => "pong-missing",
            PingWindow => "ping-window",
            TimestampBackwards => "timestamp-backwards",
            TimestampInvalid => "timestamp-invalid",
            BadAccept => "bad-accept",
            MissingAccept => "missing-accept",
            UpgradeRejected => "upgrade-rejected",
            UpgradeUnanswered => "upgrade-unanswered",
            BadHandshake => "bad-handshake",
            UnnegotiatedSubprotocol => "unnegotiated-subprotocol",
            UnnegotiatedExtension => "unnegotiated-extension",
            HttpHeaderTooLong => "http-header-too-long",
            HttpTooManyHeaders => "http-too-many-headers",
            HttpHeadIncomplete => "http-head-incomplete",
            HttpBodyLengthMismatch => "http-body-length-mismatch",
            InflateFailed => "inflate-failed",
            InflateLimit => "inflate-limit",
            MessageLimit => "message-limit",
            MessageStartNotCaptured => "message-start-not-captured",
            MessageIncomplete => "message-incomplete",
            MessageDamaged => "message-damaged",
            TcpGap => "tcp-gap",
            TcpOverlapConflict => "tcp-overlap-conflict",
            TruncatedPacket => "truncated-packet",
            IpFragment => "ip-fragment",
            MalformedPacket => "malformed-packet",
            FlowLimit => "flow-limit",
            FindingLimit => "finding-limit",
            ResyncFailed => "resync-failed",
            BytesSkipped => "bytes-skipped",
            CaptureTruncated => "capture-truncated",
            TlsNoKey => "tls-no-key",
            TlsDecryptFailed => "tls-decrypt-failed",
            TlsRecordLost => "tls-record-lost",
            TlsBadRecord => "tls-bad-record",
            TlsUnsupported => "tls-unsupported",
            TlsAlert => "tls-alert",
            H2ConnectNotEnabled => "h2-connect-not-enabled",
            H2ProtocolWithoutConnect => "h2-protocol-without-connect",
            H2ProtocolError => "h2-protocol-error",
            H2Limit => "h2-limit",
            EngineIoBadPacket => "engineio-bad-packet",
            SocketIoBadPacket => "socketio-bad-packet",
            MqttMalformed => "mqtt-malformed",
            MqttPacketLimit => "mqtt-packet-limit",
            StompMalformed => "stomp-malformed",
            GraphQlMalformed => "graphql-malformed",
            JsonRpcMalformed => "jsonrpc-malformed",
            SignalRMalformed => "signalr-malformed",
            WampMalformed => "wamp-malformed",
            ActionCableMalformed => "actioncable-malformed",
            SockJsMalformed => "sockjs-malformed",
            MsgPackMalformed => "msgpack-malformed",
            CborMalformed => "cbor-malformed",
            ProtobufMalformed => "protobuf-malformed",
            AppRttLimit => "app-rtt-limit",
        }
    }

    /// One sentence explaining the finding and the rule behind it, for reports and the GUI.
    pub fn explanation(self) -> &'static str {
        use FindingKind::*;
        match self {
            UnmaskedClientFrame => "RFC 6455 §5.1: a client MUST mask every frame it sends.",
            MaskedServerFrame => "RFC 6455 §5.1: a server MUST NOT mask the frames it sends.",
            ControlTooLong => "RFC 6455 §5.5: control frames carry at most 125 bytes of payload.",
            FragmentedControl => "RFC 6455 §5.5: control frames MUST NOT be fragmented.",
            RsvWithoutExtension => "RFC 6455 §5.2: RSV bits MUST be 0 unless a negotiated extension defines them.",
            Rsv1OnContinuation => "RFC 7692 §6.1: RSV1 is set only on the first frame of a compressed message.",
            Rsv1OnControl => "RFC 7692 §6.1: RSV1 MUST NOT be set on control frames.",
            ReservedOpcode => "RFC 6455 §5.2: opcodes 3-7 and 0xB-0xF are reserved.",
            UnexpectedContinuation => "RFC 6455 §5.4: a continuation frame arrived with no message in progress.",
            MessageInterrupted => "RFC 6455 §5.4: a new data message started before the previous one finished.",
            NonMinimalLength => "RFC 6455 §5.2: the payload length MUST use the minimal number of bytes.",
            LengthMsbSet => "RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.",
            InvalidUtf8 => "RFC 6455 §8.1: text messages and close reasons MUST be valid UTF-8.",
            BadClosePayload => "RFC 6455 §5.5.1: a close payload is empty or starts with a 2-byte status code.",
            BadCloseCode => "RFC 6455 §7.4: this status code must not appear on the wire or is unassigned.",
            DataAfterClose => "RFC 6455 §5.5.1: an endpoint MUST NOT send data frames after its close frame.",
            PongMissing => "A ping got no matching pong within the configured time.",
            PingWindow => "More pings were waiting for pongs than are remembered; the oldest were dropped unpaired.",
            TimestampBackwards => {
                "A packet is timestamped earlier than the packet before it (clock step or merged captures)."
            }
            TimestampInvalid => {
                "A packet record's fraction of a second is out of range (a million microseconds or more); it was ignored."
            }
            BadAccept => "RFC 6455 §4.2.2: Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)).",
            MissingAccept => "RFC 6455 §4.1: the 101 response has no Sec-WebSocket-Accept.",
            UpgradeRejected => "The server answered the WebSocket upgrade with a status other than 101.",
            UpgradeUnanswered => "An upgrade request got no response in the capture.",
            BadHandshake => "The upgrade request or response misses a header RFC 6455 §4 requires.",
            UnnegotiatedSubprotocol => "RFC 6455 §4.1: the server selected a subprotocol the client did not offer.",
            UnnegotiatedExtension => "RFC 6455 §9.1: the server accepted an extension the client did not offer.",
            HttpHeaderTooLong => "An HTTP header block exceeded the size cap and was not parsed.",
            HttpTooManyHeaders => {
                "An HTTP head carries more than 128 header lines (a head past the size cap is not parsed)."
            }
            HttpHeadIncomplete => "An HTTP request or response head was not complete when the flow ended.",
            HttpBodyLengthMismatch => {
                "RFC 9112 §6.3: a response's Content-Length claimed more bytes than came before the next response."
            }
            InflateFailed => "RFC 7692 §7.2.2: the compressed payload could not be inflated.",
            InflateLimit => "Inflating this message exceeded the decompression cap (possible bomb).",
            MessageLimit => "The message exceeded the message size cap; its bytes were cut there.",
            MessageStartNotCaptured => "The capture starts in the middle of a message; its fragments were skipped.",
            MessageIncomplete => "The capture ended before this message was complete.",
            MessageDamaged => "Bytes of this message were not captured; it was not reported.",
            TcpGap => "TCP bytes were never captured (lost segment or capture drop).",
            TcpOverlapConflict => {
                "Overlapping TCP segments carried different bytes (IDS evasion or corruption); the first copy was kept, as Linux does."
            }
            TruncatedPacket => "The packet was cut by the snap length; its missing bytes are a gap.",
            IpFragment => "IP fragments are not reassembled; this fragment was skipped.",
            MalformedPacket => "The packet's headers could not be parsed.",
            FlowLimit => "Too many flows at once; the least recently active were dropped.",
            FindingLimit => "Too many findings of one kind on this connection; the rest were counted.",
            ResyncFailed => "No WebSocket frame boundary could be found after lost bytes; data was skipped.",
            BytesSkipped => {
                "Bytes before the first frame boundary found (inside a frame whose start was not captured, or \
                 after lost bytes) were skipped; everything after was decoded."
            }
            CaptureTruncated => "The capture file ends in the middle of a record; what came before was read.",
            TlsNoKey => "No key log line or decryption secret matches this TLS session's client random.",
            TlsDecryptFailed => {
                "A TLS record failed its integrity check (AEAD tag, or CBC MAC and padding): wrong or mismatched keys, or damaged bytes."
            }
            TlsRecordLost => {
                "Bytes of a TLS record were not captured; the record is lost and decryption resumes at the next record."
            }
            TlsBadRecord => {
                "RFC 8446 §5.1 / RFC 5246 §6.2: this TLS record header is impossible (type, version or length)."
            }
            TlsUnsupported => "This TLS version or cipher suite cannot be decrypted by framescope.",
            TlsAlert => "RFC 8446 §6: a TLS alert other than close_notify ended or disturbed the session.",
            H2ConnectNotEnabled => {
                "RFC 8441 §3: an extended CONNECT needs the server's SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 first."
            }
            H2ProtocolWithoutConnect => "RFC 8441 §4: only a CONNECT request may carry the :protocol pseudo-header.",
            H2ProtocolError => {
                "RFC 9113: a malformed HTTP/2 preface, frame or header block; the direction may no longer be decoded."
            }
            H2Limit => {
                "An HTTP/2 header block, HPACK table size, frame or stream count passed framescope's caps (flood or bomb)."
            }
            EngineIoBadPacket => {
                "Engine.IO: a packet starts with a type digit 0-6 (open, close, ping, pong, message, upgrade, noop)."
            }
            SocketIoBadPacket => {
                "Socket.IO: the packet does not follow <type>[<attachments>-][<nsp>,][<ack id>][JSON]."
            }
            MqttMalformed => {
                "MQTT: the packet breaks the fixed header, variable header or payload rules of MQTT 3.1.1/5."
            }
            MqttPacketLimit => "MQTT: an unfinished packet exceeded the bytes held per direction; it was dropped.",
            StompMalformed => "STOMP: a frame is a command line, header lines, a blank line and a body ended by NULL.",
            GraphQlMalformed => "GraphQL over WebSocket: every message is a JSON object with a known type.",
            JsonRpcMalformed => {
                "JSON-RPC 2.0: a message is a request, notification or response object with \"jsonrpc\":\"2.0\"."
            }
            SignalRMalformed => {
                "SignalR: hub messages are JSON records ended by 0x1E or length-prefixed MessagePack arrays."
            }
            WampMalformed => "WAMP: every message is an array starting with a known message code.",
            ActionCableMalformed => "Action Cable: messages are JSON objects with a command, a type or a message.",
            SockJsMalformed => {
                "SockJS: frames are o, h, a[…], m\"…\" or c[code,reason] (clients send JSON arrays of strings)."
            }
            MsgPackMalformed => "The message is not one well-formed MessagePack value.",
            CborMalformed => "The message is not one well-formed CBOR value (RFC 8949).",
            ProtobufMalformed => "The message breaks the Protocol Buffers wire format.",
            AppRttLimit => "Too many application requests waited for an answer; the oldest were no longer tracked.",
        }
    }

    /// True for findings about the capture rather than the peers' behaviour.
    pub fn is_capture_problem(self) -> bool {
        use FindingKind::*;
        matches!(
            self,
            MessageStartNotCaptured
                | MessageIncomplete
                | MessageDamaged
                | TcpGap
                | TruncatedPacket
                | IpFragment
                | MalformedPacket
                | FlowLimit
                | FindingLimit
                | TimestampBackwards
                | TimestampInvalid
                | ResyncFailed
                | BytesSkipped
                | CaptureTruncated
                | UpgradeUnanswered
                | HttpHeadIncomplete
                | TlsNoKey
                | TlsRecordLost
        )
    }
}

/// One finding, located as precisely as the layer that found it can.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub conn: Option<ConnId>,
    pub dir: Option<Direction>,
    pub ts: Timestamp,
    /// Offset in the direction's TCP byte stream where the problem starts, when known.
    pub stream_offset: Option<u64>,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slug_is_unique_and_lowercase_kebab() {
        let mut seen = std::collections::HashSet::new();
        for kind in FindingKind::ALL {
            let slug = kind.slug();
            assert!(seen.insert(slug), "duplicate slug {slug}");
            assert!(
                slug.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{slug}"
            );
            assert!(!kind.explanation().is_empty());
        }
    }
}
