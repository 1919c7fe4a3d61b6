//! How mid-stream frame detection's work and time grow with the bytes searched, on hostile
//! inputs: `cargo run --example detect_growth [MAX_KIB]` prints a table per input kind.
//! Linear search shows a constant work per byte as the size doubles.

use std::time::Instant;

use framescope::analysis::ws::detect::{Evidence, SearchBuffer};
use framescope::analysis::ws::detect_inputs::{HOSTILE, Maker, noise};

/// Plausible frames of every kind back to back (random opcodes, FIN, masking and lengths):
/// many chains stay alive and meet.
fn frame_soup(len: usize) -> Vec<u8> {
    let r = noise(len, 5);
    let mut out = Vec::with_capacity(len + 300);
    let mut i = 0;
    while out.len() < len {
        let pick = |k: usize| r.get((i + k) % r.len()).copied().unwrap_or(0);
        let opcode = [0u8, 1, 2, 9, 10][usize::from(pick(0)) % 5];
        let fin = opcode >= 8 || pick(1) & 1 == 1;
        let masked = pick(2) & 1 == 1;
        let n = usize::from(pick(3)) % if opcode >= 8 { 126 } else { 300 };
        out.push((u8::from(fin) << 7) | opcode);
        let m = if masked { 0x80 } else { 0 };
        if n < 126 {
            out.push(m | n as u8);
        } else {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        if masked {
            out.extend_from_slice(&[pick(4), pick(5), pick(6), pick(7)]);
        }
        out.extend(std::iter::repeat_n(b'a', n));
        i += 8;
    }
    out
}

/// Unmasked binary frames that each end one byte before a segment end (1448-byte
/// segments): the chain is followed for ever and never becomes evidence.
fn near_misses(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 1448);
    while out.len() < len {
        let room = 1447 - (out.len() % 1448);
        let n = room.saturating_sub(4).max(126);
        out.extend_from_slice(&[0x82, 126]);
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.extend(std::iter::repeat_n(0x41, n));
    }
    out.truncate(len);
    out
}

fn search(stream: &[u8], segment: usize) -> (u64, usize, bool) {
    let mut buf = SearchBuffer::default();
    for (i, piece) in stream.chunks(segment).enumerate() {
        buf.push((i * segment) as u64, piece);
    }
    (buf.work(), buf.bytes.len(), buf.find(Evidence::Lenient).is_some())
}

fn main() {
    let max_kib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2048);
    // The unit tests' hostile inputs in full-size segments, then ones built for this table.
    let extra: [(&str, Maker, usize); 3] = [
        ("frame soup", frame_soup, 1448),
        ("frames ending 1 byte short of segment ends", near_misses, 1448),
        ("zeros in 64-byte segments", |n| vec![0; n], 64),
    ];
    let kinds = HOSTILE.iter().map(|&(name, make)| (name, make, 1448)).chain(extra);
    println!("| input | KiB | work | work/byte | ms | held KiB | boundary |");
    println!("|---|---|---|---|---|---|---|");
    for (name, make, segment) in kinds {
        let mut kib = 64;
        while kib <= max_kib {
            let stream = make(kib << 10);
            let t = Instant::now();
            let (work, held, found) = search(&stream, segment);
            let ms = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "| {name} | {kib} | {work} | {:.2} | {ms:.0} | {} | {found} |",
                work as f64 / stream.len() as f64,
                held >> 10
            );
            kib *= 2;
        }
    }
}
