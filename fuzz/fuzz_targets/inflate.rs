//! permessage-deflate inflation of arbitrary bytes stays within its cap.
#![no_main]
use framescope::analysis::ws::deflate::MessageInflater;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut inflater = MessageInflater::new(false);
    for piece in data.split(|b| *b == 0xfe) {
        let mut out = Vec::new();
        let _ = inflater.inflate_message(piece, &mut out, 1 << 16);
        assert!(out.len() <= 1 << 16);
    }
});
