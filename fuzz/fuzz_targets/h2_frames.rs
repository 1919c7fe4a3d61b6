//! HTTP/2 on arbitrary bytes, at two depths: the frame reader, CONTINUATION joining and HPACK
//! decoding alone (one dynamic table per direction, as on a connection); and the whole
//! connection layer (`conn::http2`: preface, SETTINGS, streams, RFC 8441 WebSockets, the
//! frame decoders behind them) through the analyzer, as an h2c TCP flow on raw IPv4 packets.
#![no_main]
use framescope::analysis::event::CollectSink;
use framescope::analysis::h2::frame::{BlockOutcome, FrameEvent, FrameReader, HeaderBlock, PREFACE};
use framescope::analysis::h2::hpack::Decoder;
use framescope::analysis::link::LinkType;
use framescope::analysis::{Analyzer, AnalyzerConfig, Timestamp};
use libfuzzer_sys::fuzz_target;

const CLIENT: ([u8; 4], u16) = ([127, 0, 0, 1], 40000);
const SERVER: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);

/// A raw IPv4 + TCP packet (checksums are not checked by the analyzer).
fn packet(from_client: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let ((src, sport), (dst, dport)) = if from_client { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
    let total = (40 + payload.len()) as u16;
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// The input as an h2c flow: records of [direction byte][length byte][bytes], the client's
/// preface first.
fn connection_layer(data: &[u8]) {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    let mut analyzer = Analyzer::new(AnalyzerConfig { max_flows: 8, emit_frames: true, ..AnalyzerConfig::default() });
    let mut sink = CollectSink::default();
    let mut seq = [1000u32, 5000u32];
    let mut n = 0i64;
    let mut send = |analyzer: &mut Analyzer, sink: &mut CollectSink, c: bool, flags: u8, bytes: &[u8]| {
        let (me, peer) = if c { (0, 1) } else { (1, 0) };
        let p = packet(c, seq[me], seq[peer], flags, bytes);
        seq[me] = seq[me].wrapping_add(bytes.len() as u32 + u32::from(flags & SYN != 0));
        n += 1;
        analyzer.push_packet(Timestamp::from_nanos(n * 1_000_000), LinkType::RawIp, &p, sink);
    };
    send(&mut analyzer, &mut sink, true, SYN, &[]);
    send(&mut analyzer, &mut sink, false, SYN | ACK, &[]);
    send(&mut analyzer, &mut sink, true, ACK, PREFACE);
    let mut rest = data;
    while let [dir, len, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        let (bytes, after) = tail.split_at(take);
        send(&mut analyzer, &mut sink, dir & 1 == 0, ACK, bytes);
        rest = after;
    }
    analyzer.finish(&mut sink);
}

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
    connection_layer(data);
});
