//! The HTTP exchange tracker (requests and responses before an upgrade) on arbitrary bytes
//! pushed in arbitrary pieces from both sides: heads split anywhere, bodies with any
//! declared length, too many headers, heads past the cap, responses that end bodies early.
#![no_main]
use framescope::analysis::Timestamp;
use framescope::analysis::conn::{HttpExchange, HttpOutcome};
use framescope::analysis::tcp::Side;
use libfuzzer_sys::fuzz_target;

/// Small enough that the head cap is reached often.
const MAX_HEAD: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let mut x = HttpExchange::new(Side::Lo);
    let mut rest = data;
    let mut ts = 0i64;
    // Each piece: one control byte (bit 7: side; bits 0-6: length), then that many bytes.
    while let Some((&control, tail)) = rest.split_first() {
        let side = if control & 0x80 == 0 { Side::Lo } else { Side::Hi };
        let len = usize::from(control & 0x7f).min(tail.len());
        let (piece, after) = tail.split_at(len);
        rest = after;
        ts += 1;
        let mut notes = 0usize;
        let outcome = x.push(side, piece, Timestamp::from_nanos(ts), MAX_HEAD, &mut |_| notes += 1);
        for s in [Side::Lo, Side::Hi] {
            if let Some((_, held)) = x.unfinished_head(s) {
                assert!(held > 0);
                let _ = x.head_start(s);
            }
        }
        match outcome {
            HttpOutcome::Pending => {}
            HttpOutcome::GaveUp(_) => return,
            HttpOutcome::Upgraded(upgrade) => {
                let _ = upgrade.handshake.checks();
                let _ = upgrade.handshake.accept_valid();
                return;
            }
            // An `Upgrade: h2c` answered 101: the rest of the bytes are HTTP/2's.
            HttpOutcome::UpgradedH2c(_) => return,
        }
        let _ = x.waiting_upgrade_path();
    }
});
