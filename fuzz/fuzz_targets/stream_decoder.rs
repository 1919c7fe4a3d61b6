//! One direction's decoder fed arbitrary bytes in arbitrary pieces, with gaps.
#![no_main]
use framescope::analysis::event::{Direction, MessageEvent};
use framescope::analysis::findings::FindingKind;
use framescope::analysis::tcp::GapReason;
use framescope::analysis::ws::frame::FrameHeader;
use framescope::analysis::ws::stream::{Compression, StreamDecoder, StreamLimits, StreamOutput};
use framescope::analysis::Timestamp;
use libfuzzer_sys::fuzz_target;

struct Null;
impl StreamOutput for Null {
    fn frame(&mut self, _: Timestamp, _: &FrameHeader, _: u64) {}
    fn message(&mut self, m: &MessageEvent<'_>) {
        assert!(m.payload.len() <= 1 << 16);
    }
    fn finding(&mut self, _: FindingKind, _: Timestamp, _: Option<u64>, _: String) {}
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let compression = match control % 3 {
        0 => Compression::NotNegotiated,
        1 => Compression::Deflate { no_context_takeover: control & 4 != 0 },
        _ => Compression::Unknown,
    };
    let limits = StreamLimits { max_message_bytes: 1 << 16, max_inflated_bytes: 1 << 16 };
    let mut d = StreamDecoder::synced(0, Direction::ServerToClient, compression, limits);
    let mut offset = 0u64;
    for (i, piece) in rest.chunks(usize::from(control % 17) + 1).enumerate() {
        if i % 11 == 10 {
            d.on_gap(Timestamp::ZERO, offset, piece.len() as u64, GapReason::NotCaptured, &mut Null);
        } else {
            d.on_data(Timestamp::ZERO, offset, piece, &mut Null);
        }
        offset += piece.len() as u64;
    }
    d.finish(Timestamp::ZERO, &mut Null);
});
