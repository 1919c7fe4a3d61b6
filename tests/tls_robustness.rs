//! Arbitrary input never panics the TLS session, the key log parser, the HTTP/2 frame reader
//! or the HPACK decoder, and their buffers stay within their documented caps (a quick,
//! always-run companion of the cargo-fuzz targets in `fuzz/`).

use framescope::analysis::findings::FindingKind;
use framescope::analysis::h2::frame::{FrameEvent, FrameReader, HeaderBlock, MAX_HELD_FRAME_BYTES};
use framescope::analysis::h2::hpack::Decoder;
use framescope::analysis::tls::keylog::MAX_LINE_BYTES;
use framescope::analysis::tls::{KeyLog, TlsLimits, TlsOutput, TlsSession};
use framescope::analysis::{Direction, Timestamp};
use proptest::prelude::*;

#[derive(Default)]
struct Count {
    plaintext_bytes: u64,
    findings: u64,
}

impl TlsOutput for Count {
    fn plaintext(&mut self, _: Direction, _: Timestamp, _: u64, bytes: &[u8]) {
        self.plaintext_bytes += bytes.len() as u64;
    }
    fn plaintext_gap(&mut self, _: Direction, _: Timestamp, _: u64, _: u64) {}
    fn finding(&mut self, _: Direction, _: FindingKind, _: Timestamp, _: Option<u64>, _: String) {
        self.findings += 1;
    }
}

/// A ClientHello record for client random 00…00, so keys are found and decryption is tried.
fn client_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend([0u8; 32]); // random
    body.extend([0, 0, 2, 0x13, 0x01, 1, 0, 0, 0]); // session id, one suite, compression, no extensions
    let mut hs = vec![1, 0, 0, body.len() as u8];
    hs.extend(body);
    let mut rec = vec![22, 3, 1, 0, hs.len() as u8];
    rec.extend(hs);
    rec
}

fn keys() -> KeyLog {
    let zeros = "00".repeat(32);
    let text: String = [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ]
    .iter()
    .map(|l| format!("{l} {zeros} {zeros}\n"))
    .collect();
    KeyLog::from_text(text.as_bytes())
}

proptest! {
    #[test]
    fn any_record_stream_with_gaps_is_findings_not_panics(
        steps in prop::collection::vec((any::<bool>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)), 0..40)
    ) {
        let keys = keys();
        let mut session = TlsSession::new(TlsLimits::default());
        let mut out = Count::default();
        let hello = client_hello();
        session.push(Direction::ClientToServer, 0, &hello, Timestamp::ZERO, &keys, &mut out);
        let mut offsets = [hello.len() as u64, 0];
        for (server, gap, bytes) in steps {
            let dir = if server { Direction::ServerToClient } else { Direction::ClientToServer };
            let i = dir.index();
            if gap {
                session.gap(dir, offsets[i], bytes.len() as u64 + 1, Timestamp::ZERO, &keys, &mut out);
                offsets[i] += bytes.len() as u64 + 1;
            } else {
                session.push(dir, offsets[i], &bytes, Timestamp::ZERO, &keys, &mut out);
                offsets[i] += bytes.len() as u64;
            }
        }
        session.finish(Timestamp::ZERO, &mut out);
        // Random bytes never pass an AEAD tag check.
        prop_assert_eq!(out.plaintext_bytes, 0);
    }

    #[test]
    fn any_key_log_text_in_any_pieces_is_counted_not_fatal(text in prop::collection::vec(any::<u8>(), 0..4000), piece in 1usize..64) {
        let mut log = KeyLog::new();
        for p in text.chunks(piece) {
            log.feed(p);
        }
        log.end_of_input();
        // Blank lines count too (as comments): every newline-separated piece is a line.
        let lines = text.split(|b| *b == b'\n').count() as u64;
        let stats = log.stats();
        prop_assert!(stats.secrets + stats.ignored_lines + stats.comments <= lines + 1);
        let _ = MAX_LINE_BYTES;
    }

    #[test]
    fn any_http2_bytes_are_frames_or_errors_within_caps(data in prop::collection::vec(any::<u8>(), 0..3000), piece in 1usize..100) {
        let mut reader = FrameReader::new();
        let mut block = HeaderBlock::default();
        let mut hpack = Decoder::new();
        for p in data.chunks(piece) {
            reader.push(p, &mut |ev| {
                if let FrameEvent::Frame { header, payload } = ev
                    && let framescope::analysis::h2::frame::BlockOutcome::Complete { block, .. } = block.push(&header, payload)
                {
                    let _ = hpack.decode(block);
                }
            });
            prop_assert!(reader.held_bytes() <= MAX_HELD_FRAME_BYTES + 9);
        }
        let _ = Decoder::new().decode(&data);
    }
}
