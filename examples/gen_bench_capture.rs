//! Writes a large synthetic WebSocket capture for `scripts/bench.sh`.
//!
//! usage: gen_bench_capture (uncompressed|mixed|small) SIZE_MB OUT.pcap
//!
//! `small` is the uncompressed mix with every message 20-200 bytes: a million messages in
//! about 200 MB, for the window's frame-time benchmark.
//!
//! Many interleaved connections on 1448-byte segments; clients mask, servers do not; message
//! sizes from 64 B to 64 KiB; text is JSON-like UTF-8. In `mixed`, half the connections
//! negotiate permessage-deflate with context takeover and a third of their messages are
//! sent as three fragments (RSV1 on the first only).

use std::io::BufWriter;

use framescope::analysis::Timestamp;
use framescope::analysis::ws::deflate::MessageDeflater;
use framescope::analysis::ws::frame::{FrameHeader, OpCode};
use framescope::analysis::ws::mask::apply_mask;
use framescope::export::pcap_writer::{PcapWriter, Sender, TcpSessionSynth};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A vocabulary of 512 pseudo-words (3-10 letters) plus a few non-ASCII ones, so the text
/// compresses like real chat/JSON traffic (about 3:1), not like a handful of repeated words.
fn vocabulary() -> Vec<String> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut words: Vec<String> = (0..512)
        .map(|_| {
            let len = 3 + rng.below(8) as usize;
            (0..len).map(|_| (b'a' + rng.below(26) as u8) as char).collect()
        })
        .collect();
    words.extend(["über", "naïve", "日本語", "🚀"].map(String::from));
    words
}

/// JSON records (ids, UUIDs, prices, timestamps, free text) up to `target` bytes.
fn text_payload(rng: &mut Rng, words: &[String], seq: u64, target: usize) -> Vec<u8> {
    let mut s = format!("{{\"seq\":{seq},\"items\":[");
    while s.len() < target {
        let uuid = format!(
            "{:08x}-{:04x}-{:04x}-{:012x}",
            rng.next() as u32,
            rng.next() as u16,
            rng.next() as u16,
            rng.next() & 0xffff_ffff_ffff
        );
        s.push_str(&format!(
            "{{\"id\":{},\"uuid\":\"{uuid}\",\"user\":\"user-{}\",\"price\":{}.{:02},\"qty\":{},\"ts\":{}.{:06},\"text\":\"",
            rng.below(1_000_000),
            rng.below(5000),
            rng.below(10_000),
            rng.below(100),
            rng.below(500),
            1_700_000_000 + rng.below(100_000),
            rng.below(1_000_000)
        ));
        for _ in 0..(3 + rng.below(12)) {
            s.push_str(&words[rng.below(words.len() as u64) as usize]);
            s.push(' ');
        }
        s.push_str("\"},");
    }
    s.push_str("{}]}");
    s.into_bytes()
}

fn size(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=69 => 64 + rng.below(448) as usize,
        70..=94 => 1024 + rng.below(7 * 1024) as usize,
        _ => 16 * 1024 + rng.below(48 * 1024) as usize,
    }
}

fn frame(fin: bool, rsv1: bool, opcode: OpCode, mask: Option<[u8; 4]>, payload: &[u8], out: &mut Vec<u8>) {
    let mut h = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
    h.rsv1 = rsv1;
    out.extend_from_slice(&h.to_bytes());
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

struct Conn {
    synth: TcpSessionSynth,
    deflate: Option<[MessageDeflater; 2]>,
    left: u32,
    seq: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 || !["uncompressed", "mixed", "small"].contains(&args[1].as_str()) {
        eprintln!("usage: gen_bench_capture (uncompressed|mixed|small) SIZE_MB OUT.pcap");
        std::process::exit(2);
    }
    let mixed = args[1] == "mixed";
    let small = args[1] == "small";
    let target_bytes: u64 = args[2].parse::<u64>().expect("SIZE_MB") << 20;
    let file = std::fs::File::create(&args[3]).expect("create output");
    let written = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counting = CountingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        written: written.clone(),
    };
    let mut w = PcapWriter::new(counting).expect("header");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let words = vocabulary();
    let mut ts = Timestamp::from_secs_micros(1_700_000_000, 0);
    let mut next_port = 10_000u16;
    let new_conn = |rng: &mut Rng, w: &mut PcapWriter<CountingWriter>, ts: Timestamp, port: u16| {
        let client = format!("10.1.{}.{}:{port}", port >> 8, port & 0xff)
            .parse()
            .expect("addr");
        let mut synth = TcpSessionSynth::new(
            client,
            "10.0.0.1:8080".parse().expect("addr"),
            rng.next() as u32,
            rng.next() as u32,
        );
        let compressed = mixed && rng.below(2) == 0;
        synth.open(w, ts).expect("write");
        let ext = if compressed {
            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        } else {
            ""
        };
        let req = format!(
            "GET /bench HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        );
        synth.send(w, ts, Sender::Client, req.as_bytes()).expect("write");
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{ext}\r\n"
        );
        synth.send(w, ts, Sender::Server, resp.as_bytes()).expect("write");
        Conn {
            synth,
            // Level 6, zlib's default, which Node's ws and Python's websockets use.
            deflate: compressed.then(|| [MessageDeflater::new(6, false), MessageDeflater::new(6, false)]),
            left: 50 + rng.below(500) as u32,
            seq: 0,
        }
    };
    let mut conns: Vec<Conn> = Vec::new();
    for _ in 0..200 {
        next_port = next_port.wrapping_add(1).max(10_000);
        conns.push(new_conn(&mut rng, &mut w, ts, next_port));
    }
    let (mut messages, mut compressed_messages) = (0u64, 0u64);
    let mut wire = Vec::with_capacity(1 << 17);
    while written.get() < target_bytes {
        let i = rng.below(conns.len() as u64) as usize;
        ts = Timestamp::from_nanos(ts.nanos + 20_000);
        let c = &mut conns[i];
        for sender in [Sender::Client, Sender::Server] {
            let len = if small {
                20 + rng.below(180) as usize
            } else {
                size(&mut rng)
            };
            let binary = rng.below(10) == 0;
            let data = if binary {
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                text_payload(&mut rng, &words, c.seq, len)
            };
            c.seq += 1;
            let mask = (sender == Sender::Client).then(|| (rng.next() as u32).to_be_bytes());
            let opcode = if binary { OpCode::Binary } else { OpCode::Text };
            wire.clear();
            match &mut c.deflate {
                Some(compressors) if !binary => {
                    let z = compressors[usize::from(sender == Sender::Server)]
                        .compress_message(&data)
                        .expect("deflate");
                    if rng.below(3) == 0 && z.len() >= 3 {
                        let third = z.len() / 3;
                        frame(false, true, opcode, mask, &z[..third], &mut wire);
                        frame(
                            false,
                            false,
                            OpCode::Continuation,
                            mask,
                            &z[third..2 * third],
                            &mut wire,
                        );
                        frame(true, false, OpCode::Continuation, mask, &z[2 * third..], &mut wire);
                    } else {
                        frame(true, true, opcode, mask, &z, &mut wire);
                    }
                    compressed_messages += 1;
                }
                _ => frame(true, false, opcode, mask, &data, &mut wire),
            }
            c.synth.send(&mut w, ts, sender, &wire).expect("write");
            messages += 1;
        }
        c.left -= 1;
        if c.left == 0 {
            wire.clear();
            frame(
                true,
                false,
                OpCode::Close,
                Some([1, 2, 3, 4]),
                &1000u16.to_be_bytes(),
                &mut wire,
            );
            c.synth.send(&mut w, ts, Sender::Client, &wire).expect("write");
            wire.clear();
            frame(true, false, OpCode::Close, None, &1000u16.to_be_bytes(), &mut wire);
            c.synth.send(&mut w, ts, Sender::Server, &wire).expect("write");
            c.synth.close(&mut w, ts).expect("write");
            messages += 2;
            next_port = next_port.wrapping_add(1).max(10_000);
            conns[i] = new_conn(&mut rng, &mut w, ts, next_port);
        }
    }
    w.into_inner().expect("flush");
    eprintln!(
        "wrote {} ({} MB, {messages} messages, {compressed_messages} compressed)",
        args[3],
        written.get() >> 20
    );
}

struct CountingWriter {
    inner: BufWriter<std::fs::File>,
    written: std::rc::Rc<std::cell::Cell<u64>>,
}

impl std::io::Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written.set(self.written.get() + n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
