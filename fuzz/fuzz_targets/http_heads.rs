//! HTTP heads, extension lists and the handshake checklist on arbitrary bytes.
#![no_main]
use framescope::analysis::http::{Extension, Handshake, HeadParse, RequestHead, ResponseHead};
use framescope::analysis::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.len() / 2;
    let req = RequestHead::parse(&data[..split]);
    let resp = ResponseHead::parse(&data[split..]);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Extension::parse_list([text]);
    }
    if let (HeadParse::Complete(req, _), HeadParse::Complete(resp, _)) = (req, resp) {
        let hs = Handshake::new(Some(req), None, resp, Timestamp::ZERO);
        let _ = hs.checks();
        let _ = hs.deflate();
        let _ = hs.accept_valid();
    }
});
