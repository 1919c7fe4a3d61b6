//! The TLS record layer and session on arbitrary bytes: both directions, split anywhere,
//! with gaps. A ClientHello/ServerHello prefix and a key log matching its client random make
//! the fuzzer reach the decryption paths (tag failures, sequence trials after loss, 0-RTT
//! records held, skipped or passed on).
#![no_main]
use framescope::analysis::findings::FindingKind;
use framescope::analysis::tls::{KeyLog, TlsLimits, TlsOutput, TlsSession};
use framescope::analysis::{Direction, Timestamp};
use libfuzzer_sys::fuzz_target;

struct Sink;

impl TlsOutput for Sink {
    fn plaintext(&mut self, _: Direction, _: Timestamp, _: u64, _: &[u8]) {}
    fn plaintext_gap(&mut self, _: Direction, _: Timestamp, _: u64, _: u64) {}
    fn finding(&mut self, _: Direction, _: FindingKind, _: Timestamp, _: Option<u64>, _: String) {}
}

fuzz_target!(|data: &[u8]| {
    let zeros = "00".repeat(32);
    let keys = KeyLog::from_text(
        format!(
            "CLIENT_RANDOM {zeros} {m}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {zeros} {zeros}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {zeros} {zeros}\nCLIENT_TRAFFIC_SECRET_0 {zeros} {zeros}\n\
             SERVER_TRAFFIC_SECRET_0 {zeros} {zeros}\nCLIENT_EARLY_TRAFFIC_SECRET {zeros} {zeros}\n",
            m = "00".repeat(48)
        )
        .as_bytes(),
    );
    let mut session = TlsSession::new(TlsLimits {
        max_waiting_bytes: 4096,
        ..TlsLimits::default()
    });
    let mut offsets = [0u64; 2];
    let mut rest = data;
    // Each step: a control byte (direction, data or gap, length) and then the bytes.
    while let Some((&control, tail)) = rest.split_first() {
        let dir = if control & 1 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
        let len = usize::from(control >> 2) * 7 + 1;
        let i = dir.index();
        if control & 2 == 0 {
            let take = len.min(tail.len());
            session.push(dir, offsets[i], &tail[..take], Timestamp::ZERO, &keys, &mut Sink);
            offsets[i] += take as u64;
            rest = &tail[take..];
        } else {
            session.gap(dir, offsets[i], len as u64, Timestamp::ZERO, &keys, &mut Sink);
            offsets[i] += len as u64;
            rest = tail;
        }
    }
    session.finish(Timestamp::ZERO, &mut Sink);
    let _ = session.facts();
});
