//! Arbitrary input never panics the TLS session (AEAD and TLS 1.2 CBC record layers), the key
//! log parser, the HTTP/2 frame reader or the HPACK decoder, and their buffers stay within their documented caps (a quick,
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
    decrypt_failures: u64,
}

impl TlsOutput for Count {
    fn plaintext(&mut self, _: Direction, _: Timestamp, _: u64, bytes: &[u8]) {
        self.plaintext_bytes += bytes.len() as u64;
    }
    fn plaintext_gap(&mut self, _: Direction, _: Timestamp, _: u64, _: u64) {}
    fn finding(&mut self, _: Direction, kind: FindingKind, _: Timestamp, _: Option<u64>, _: String) {
        self.findings += 1;
        self.decrypt_failures += u64::from(kind == FindingKind::TlsDecryptFailed);
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

/// A ServerHello record choosing `suite`, with RFC 7366's encrypt_then_mac extension when
/// `etm`.
fn server_hello(suite: u16, etm: bool) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend([0x55u8; 32]); // random
    body.push(0); // session id
    body.extend(suite.to_be_bytes());
    body.push(0); // compression
    if etm {
        body.extend([0, 4, 0, 22, 0, 0]);
    }
    let mut hs = vec![2, 0, 0, body.len() as u8];
    hs.extend(body);
    let mut rec = vec![22, 3, 3, 0, hs.len() as u8];
    rec.extend(hs);
    rec
}

/// The TLS 1.2 CBC suites, by their ids.
const CBC_SUITES: &[u16] = &[
    0x002F, 0x0035, 0x003C, 0x003D, 0x0033, 0x0039, 0x0067, 0x006B, 0xC009, 0xC00A, 0xC013, 0xC014, 0xC023, 0xC024,
    0xC027, 0xC028,
];

proptest! {
    #[test]
    fn any_cbc_record_bodies_with_gaps_are_findings_not_panics(
        suite in prop::sample::select(CBC_SUITES),
        etm in any::<bool>(),
        steps in prop::collection::vec((any::<bool>(), 0u8..3, prop::collection::vec(any::<u8>(), 0..400)), 0..40)
    ) {
        // A TLS 1.2 session whose keys are found (CLIENT_RANDOM 00…00), past both
        // ChangeCipherSpecs: every application record goes through the CBC record layer.
        let keys = KeyLog::from_text(format!("CLIENT_RANDOM {} {}\n", "00".repeat(32), "00".repeat(48)).as_bytes());
        let mut session = TlsSession::new(TlsLimits::default());
        let mut out = Count::default();
        let ccs = [20u8, 3, 3, 0, 1, 1];
        let hello = client_hello();
        let server = [server_hello(suite, etm), ccs.to_vec()].concat();
        // In the order of a real handshake: the client's ChangeCipherSpec follows the
        // ServerHello.
        session.push(Direction::ClientToServer, 0, &hello, Timestamp::ZERO, &keys, &mut out);
        session.push(Direction::ServerToClient, 0, &server, Timestamp::ZERO, &keys, &mut out);
        session.push(Direction::ClientToServer, hello.len() as u64, &ccs, Timestamp::ZERO, &keys, &mut out);
        let client = [hello, ccs.to_vec()].concat();
        prop_assert_eq!(session.facts().cipher_suite, Some(suite));
        let mut offsets = [client.len() as u64, server.len() as u64];
        let first_is_record = steps.first().is_some_and(|s| s.1 == 0 && !s.2.is_empty());
        for (server, kind, bytes) in steps {
            let dir = if server { Direction::ServerToClient } else { Direction::ClientToServer };
            let i = dir.index();
            let data = match kind {
                // A well-formed header around random bytes: one record for the CBC layer.
                0 => [vec![23, 3, 3], (bytes.len() as u16).to_be_bytes().to_vec(), bytes].concat(),
                1 => {
                    session.gap(dir, offsets[i], bytes.len() as u64 + 1, Timestamp::ZERO, &keys, &mut out);
                    offsets[i] += bytes.len() as u64 + 1;
                    continue;
                }
                _ => bytes,
            };
            session.push(dir, offsets[i], &data, Timestamp::ZERO, &keys, &mut out);
            offsets[i] += data.len() as u64;
        }
        session.finish(Timestamp::ZERO, &mut out);
        // Random bytes never pass an HMAC check; a first whole record reached it.
        prop_assert_eq!(out.plaintext_bytes, 0);
        prop_assert!(!first_is_record || out.decrypt_failures > 0);
    }

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
