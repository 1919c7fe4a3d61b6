//! Frame headers: parsing never panics, and what parses re-encodes to the same bytes.
#![no_main]
use framescope::analysis::ws::frame::FrameHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(h) = FrameHeader::parse(data) {
        let bytes = h.to_bytes();
        assert_eq!(&bytes[..], &data[..usize::from(h.header_len)]);
        let _ = h.violations();
    }
});
