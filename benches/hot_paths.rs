//! Criterion benches of the hot paths: unmasking, frame decoding, TCP reassembly, inflating.
//! Whole-capture throughput against tshark and libpcap is `scripts/bench.sh`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, FlushCompress};
use framescope::analysis::Timestamp;
use framescope::analysis::event::{Direction, MessageEvent};
use framescope::analysis::findings::FindingKind;
use framescope::analysis::tcp::reassembly::Segment;
use framescope::analysis::tcp::{Reassembler, ReassemblyLimits};
use framescope::analysis::ws::deflate::MessageInflater;
use framescope::analysis::ws::frame::{FrameHeader, OpCode};
use framescope::analysis::ws::mask::{apply_mask, extend_unmasked};
use framescope::analysis::ws::stream::{Compression as WsCompression, StreamDecoder, StreamLimits, StreamOutput};

struct CountOut(u64);

impl StreamOutput for CountOut {
    fn frame(&mut self, _: Timestamp, _: &FrameHeader, _: u64) {}
    fn message(&mut self, m: &MessageEvent<'_>) {
        self.0 += m.payload.len() as u64;
    }
    fn finding(&mut self, _: FindingKind, _: Timestamp, _: Option<u64>, _: String) {}
}

fn masked_frames(count: usize, size: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    let payload = "héllo wörld ".repeat(size / 13 + 1).into_bytes();
    for i in 0..count {
        let key = (i as u32).to_be_bytes();
        let h = FrameHeader::new(true, OpCode::Text, Some(key), size as u64);
        wire.extend(h.to_bytes());
        let start = wire.len();
        wire.extend_from_slice(&payload[..size]);
        apply_mask(&mut wire[start..], key, 0);
    }
    wire
}

fn unmasking(c: &mut Criterion) {
    let data = vec![0x5au8; 1 << 20];
    let mut g = c.benchmark_group("unmask");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("extend_unmasked 1 MiB", |b| {
        let mut out = Vec::with_capacity(data.len());
        b.iter(|| {
            out.clear();
            extend_unmasked(&mut out, black_box(&data), Some([1, 2, 3, 4]), 1);
            black_box(out.len())
        })
    });
    g.finish();
}

fn decoding(c: &mut Criterion) {
    let wire = masked_frames(2000, 500);
    let mut g = c.benchmark_group("stream decoder");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("2000 masked 500-byte text frames in 1448-byte segments", |b| {
        b.iter(|| {
            let mut d = StreamDecoder::synced(
                0,
                Direction::ClientToServer,
                WsCompression::NotNegotiated,
                StreamLimits::default(),
            );
            let mut out = CountOut(0);
            let mut offset = 0;
            for seg in wire.chunks(1448) {
                d.on_data(Timestamp::ZERO, offset, seg, &mut out);
                offset += seg.len() as u64;
            }
            black_box(out.0)
        })
    });
    g.finish();
}

fn reassembly(c: &mut Criterion) {
    let data = vec![7u8; 1 << 20];
    let segments: Vec<(u32, &[u8])> = data
        .chunks(1448)
        .enumerate()
        .map(|(i, s)| ((i * 1448) as u32, s))
        .collect();
    let mut g = c.benchmark_group("reassembly");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, swap) in [("in order", false), ("neighbours swapped", true)] {
        let mut order = segments.clone();
        if swap {
            for i in (0..order.len() - 1).step_by(2) {
                order.swap(i, i + 1);
            }
        }
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut r = Reassembler::new();
                let mut delivered = 0usize;
                let limits = ReassemblyLimits::default();
                for (seq, payload) in &order {
                    let seg = Segment {
                        ts: Timestamp::ZERO,
                        seq: *seq,
                        syn: false,
                        fin: false,
                        payload,
                        missing_tail: 0,
                    };
                    r.push(seg, &limits, &mut |chunk| {
                        if let framescope::analysis::tcp::Chunk::Data { bytes, .. } = chunk {
                            delivered += bytes.len();
                        }
                    });
                }
                black_box(delivered)
            })
        });
    }
    g.finish();
}

fn inflating(c: &mut Criterion) {
    let text: Vec<u8> = (0..200)
        .flat_map(|i| format!("{{\"seq\":{i},\"text\":\"message number {i}\"}}").into_bytes())
        .collect();
    let mut compressor = Compress::new(Compression::default(), false);
    let mut compressed = Vec::with_capacity(text.len());
    compressor
        .compress_vec(&text, &mut compressed, FlushCompress::Sync)
        .expect("deflate");
    compressed.truncate(compressed.len() - 4);
    let mut g = c.benchmark_group("inflate");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("one JSON message, fresh context", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            let mut inflater = MessageInflater::new(true);
            black_box(inflater.inflate_message(&compressed, &mut out, 1 << 20))
        })
    });
    g.finish();
}

criterion_group!(benches, unmasking, decoding, reassembly, inflating);
criterion_main!(benches);
