//! The pcap-parser reader and the libpcap reader give the same events on every capture, and
//! the default reader opens pcapng files that mix link types (libpcap refuses them).

mod common;

use std::path::Path;

use framescope::analysis::event::CollectSink;
use framescope::analysis::{Analyzer, AnalyzerConfig};
use framescope::capture::{OfflineReader, ReaderKind};
use framescope::export::pcapng_writer::PcapNgWriter;

fn run(path: &Path, kind: ReaderKind) -> (String, CollectSink) {
    let mut reader = OfflineReader::open_with(path, kind).unwrap_or_else(|e| panic!("{e}"));
    let name = reader.reader_name().to_owned();
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        emit_frames: true,
        ..AnalyzerConfig::default()
    });
    let mut sink = CollectSink::default();
    let summary = reader.run(&mut analyzer, &mut sink, &mut |_| true);
    assert_eq!(summary.stopped_early, None, "{}", path.display());
    analyzer.finish(&mut sink);
    (name, sink)
}

fn assert_same(path: &Path) {
    let (fast_name, fast) = run(path, ReaderKind::Auto);
    let (lib_name, lib) = run(path, ReaderKind::Libpcap);
    assert_eq!((fast_name.as_str(), lib_name.as_str()), ("pcap-parser", "libpcap"));
    let name = path.display();
    assert_eq!(fast.connections, lib.connections, "{name}");
    assert_eq!(fast.frames, lib.frames, "{name}");
    assert_eq!(fast.messages, lib.messages, "{name}");
    assert_eq!(fast.rtts, lib.rtts, "{name}");
    assert_eq!(fast.findings, lib.findings, "{name}");
}

#[test]
fn both_readers_agree_on_the_bundled_captures() {
    let mut n = 0;
    for entry in std::fs::read_dir(common::captures_dir()).expect("captures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
            assert_same(&path);
            n += 1;
        }
    }
    assert!(n >= 5, "{n} captures");
}

#[test]
fn both_readers_agree_on_the_corpus() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    for entry in std::fs::read_dir(&corpus).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
            assert_same(&path);
        }
    }
}

#[test]
fn a_pcapng_mixing_ethernet_and_linux_sll_is_read_whole() {
    use framescope::analysis::ws::frame::OpCode;
    use framescope::export::pcap_writer::Sender;
    // The same conversation; packets alternate between an Ethernet and an SLL interface,
    // as an "any" capture next to a per-interface one would record them.
    let mut conv = common::Conversation::new("10.0.0.1:40000", "10.0.0.2:8080", 1, 2);
    conv.open();
    conv.send(Sender::Client, &common::upgrade_request(None));
    conv.send(Sender::Server, &common::upgrade_response(None));
    conv.send(
        Sender::Client,
        &common::ws_frame(true, false, OpCode::Text, common::CLIENT_KEY, b"over two links"),
    );
    let mut ng = PcapNgWriter::new(Vec::new()).expect("section");
    let eth_if = ng.add_interface(1, 65535, "eth0").expect("idb");
    let sll_if = ng.add_interface(113, 65535, "any").expect("idb");
    for (i, (ts, eth)) in conv.packets().iter().enumerate() {
        if i % 2 == 0 {
            ng.write_packet(eth_if, *ts, eth, eth.len() as u32).expect("epb");
        } else {
            // Linux SLL: packet type, ARPHRD, address length, 8 address bytes, protocol.
            let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
            sll.extend_from_slice(&eth[14..]);
            ng.write_packet(sll_if, *ts, &sll, sll.len() as u32).expect("epb");
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("mixed.pcapng");
    std::fs::write(&path, ng.into_inner().expect("bytes")).expect("write");
    // libpcap opens the file but stops at the second interface.
    let mut lib = OfflineReader::open_with(&path, ReaderKind::Libpcap).expect("libpcap opens");
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    let stopped = lib
        .run(&mut analyzer, &mut CollectSink::default(), &mut |_| true)
        .stopped_early;
    assert!(
        stopped.as_deref().is_some_and(|e| e.contains("different")),
        "libpcap: {stopped:?}"
    );
    let (_, sink) = run(&path, ReaderKind::Auto);
    assert_eq!(sink.connections.len(), 1);
    assert_eq!(sink.messages.len(), 1);
    assert_eq!(sink.messages[0].payload, b"over two links");
    assert_eq!(sink.messages[0].ts, conv.segs.iter().rev().nth(1).expect("seg").ts);
}
