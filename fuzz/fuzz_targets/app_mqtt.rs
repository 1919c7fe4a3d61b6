//! The mqtt application decoder on arbitrary messages (0xFE-separated; the first byte of each
//! piece chooses text or binary and its direction) never panics and stays bounded.
#![no_main]
use framescope::analysis::Timestamp;
use framescope::analysis::app::tracker::{AppMessage, AppOutput};
use framescope::analysis::app::{AppSettings, ConnApp, DecodeAs, Hints, Protocol};
use framescope::analysis::event::Direction;
use framescope::analysis::ws::frame::OpCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = AppSettings {
        decode_as: vec![DecodeAs {
            server_port: None,
            path_prefix: None,
            protocol: Protocol::Mqtt,
        }],
        ..AppSettings::default()
    };
    let mut app = ConnApp::new(0, Hints::default(), &settings);
    let mut out = AppOutput::default();
    for (i, piece) in data.split(|b| *b == 0xfe).enumerate() {
        let control = piece.first().copied().unwrap_or(0);
        let msg = AppMessage {
            dir: if control & 1 == 0 { Direction::ClientToServer } else { Direction::ServerToClient },
            ts: Timestamp::from_nanos(i as i64),
            opcode: if control & 2 == 0 { OpCode::Binary } else { OpCode::Text },
            payload: piece.get(1..).unwrap_or(&[]),
            complete: control & 4 == 0,
            stream_offset: None,
        };
        if let Some(d) = app.decode(&msg, &mut out) {
            assert!(!d.protocol.id().is_empty());
            let _ = d.field("mqtt.type");
            let _ = d.detail_lines();
        }
        out.clear();
    }
});
