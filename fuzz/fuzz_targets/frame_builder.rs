//! The frame builder's inputs: arbitrary hex text, and arbitrary bytes decoded with every
//! combination of direction and deflate, never panic.
#![no_main]
use framescope::analysis::ws::builder::{inspect, parse_hex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_hex(text);
    }
    for (from_client, deflate) in [(true, false), (false, true)] {
        let seen = inspect(data, from_client, deflate);
        assert!(seen.messages.iter().all(|m| m.payload.len() <= 1 << 20));
    }
});
