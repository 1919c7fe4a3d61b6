//! HTTP/2 frames, header blocks across CONTINUATION and HPACK decoding on arbitrary bytes
//! (one dynamic table per direction, as on a connection).
#![no_main]
use framescope::analysis::h2::frame::{BlockOutcome, FrameEvent, FrameReader, HeaderBlock};
use framescope::analysis::h2::hpack::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::new();
    let mut block = HeaderBlock::default();
    let mut hpack = Decoder::new();
    for piece in data.chunks(usize::from(data.first().copied().unwrap_or(7)).max(1)) {
        reader.push(piece, &mut |ev| {
            if let FrameEvent::Frame { header, payload } = ev
                && let BlockOutcome::Complete { block, .. } = block.push(&header, payload)
            {
                let _ = hpack.decode(block);
            }
        });
    }
    // The raw bytes as one header block, too.
    let _ = Decoder::new().decode(data);
});
