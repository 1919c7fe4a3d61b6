//! Mid-stream frame boundary detection on arbitrary bytes and segment starts.
#![no_main]
use framescope::analysis::ws::detect::{Evidence, SearchBuffer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = SearchBuffer::starting_at(0);
    let mut offset = 0u64;
    for piece in data.chunks(13) {
        buf.push(offset, piece);
        offset += piece.len() as u64;
        if let Some(b) = buf.find(Evidence::Strict) {
            assert!(b.start < buf.bytes.len());
        }
        let _ = buf.any_viable(Evidence::Lenient);
    }
});
