//! The whole analyzer on arbitrary packets of every link type.
#![no_main]
use framescope::analysis::event::CollectSink;
use framescope::analysis::link::LinkType;
use framescope::analysis::{Analyzer, AnalyzerConfig, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut analyzer = Analyzer::new(AnalyzerConfig { max_flows: 64, emit_frames: true, ..AnalyzerConfig::default() });
    let mut sink = CollectSink::default();
    let links = [LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::Null, LinkType::RawIp];
    // Packets are separated by a 0xff 0x00 pair; the first byte of each picks the link type.
    for (i, packet) in data.split(|b| *b == 0xa5).enumerate() {
        let Some((&pick, bytes)) = packet.split_first() else { continue };
        let link = links[usize::from(pick) % links.len()];
        analyzer.push_packet(Timestamp::from_nanos(i as i64 * 1_000_000), link, bytes, &mut sink);
    }
    analyzer.finish(&mut sink);
});
