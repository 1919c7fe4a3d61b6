//! The body of the application decoders' fuzz targets, kept here so each target is one call:
//! arbitrary bytes become a connection's messages (0xFE-separated; the first byte of each
//! piece chooses text or binary, its direction and whether it is complete), decoded as one
//! forced protocol. Decoding must never panic and must stay bounded.

use crate::analysis::app::tracker::{AppMessage, AppOutput};
use crate::analysis::app::{AppSettings, ConnApp, DecodeAs, Hints, Protocol};
use crate::analysis::event::Direction;
use crate::analysis::time::Timestamp;
use crate::analysis::ws::frame::OpCode;

/// Decodes `data` as `protocol` and reads `field` (and the detail lines) of every result.
pub fn decode_arbitrary(protocol: Protocol, field: &str, data: &[u8]) {
    let settings = AppSettings {
        decode_as: vec![DecodeAs {
            server_port: None,
            path_prefix: None,
            protocol,
        }],
        ..AppSettings::default()
    };
    let mut app = ConnApp::new(0, Hints::default(), &settings);
    let mut out = AppOutput::default();
    for (i, piece) in data.split(|b| *b == 0xfe).enumerate() {
        let control = piece.first().copied().unwrap_or(0);
        let msg = AppMessage {
            dir: if control & 1 == 0 {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            },
            ts: Timestamp::from_nanos(i as i64),
            opcode: if control & 2 == 0 { OpCode::Binary } else { OpCode::Text },
            payload: piece.get(1..).unwrap_or(&[]),
            complete: control & 4 == 0,
            stream_offset: None,
        };
        if let Some(d) = app.decode(&msg, &mut out) {
            assert!(!d.protocol.id().is_empty());
            let _ = d.field(field);
            let _ = d.detail_lines();
        }
        out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arbitrary_bytes_decode_without_panicking_for_every_binary_protocol() {
        let data: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for (protocol, field) in [
            (Protocol::Mqtt, "mqtt.type"),
            (Protocol::MsgPack, "msgpack.type"),
            (Protocol::Cbor, "cbor.type"),
            (Protocol::Protobuf, "protobuf.type"),
            (Protocol::SocketIo, "socketio.type"),
        ] {
            decode_arbitrary(protocol, field, &data);
        }
    }
}
