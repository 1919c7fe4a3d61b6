//! The baseline of `scripts/bench.sh`: read every packet of a capture with libpcap and do
//! nothing else (sums the captured bytes so the loop cannot be optimised away).

fn main() {
    let path = std::env::args().nth(1).expect("usage: pcap_iterate FILE");
    let mut cap = pcap::Capture::from_file(&path).expect("open");
    let (mut packets, mut bytes) = (0u64, 0u64);
    while let Ok(p) = cap.next_packet() {
        packets += 1;
        bytes += p.data.len() as u64;
    }
    println!("{packets} packets, {bytes} bytes");
}
