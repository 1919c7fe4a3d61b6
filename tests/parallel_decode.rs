//! Parallel decode (issue 17): `analyze --jsonl` with 2 and 4 workers prints exactly the
//! bytes of the one-worker run, over every capture in captures/ and the shared corpus; and
//! in-process, sweeps of idle flows and the end of input merge back in the one-analyzer
//! order across workers.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use framescope::analysis::Timestamp;
use framescope::analysis::event::{Event, EventSink};
use framescope::analysis::link::LinkType;
use framescope::analysis::{Analyzer, AnalyzerConfig};
use framescope::capture::parallel::{CaptureDecoder, ParallelAnalyzer};
use framescope::export::pcap_writer::Sender;

fn jsonl(capture: &Path, threads: usize) -> Vec<u8> {
    let mut args = vec![
        "analyze".to_owned(),
        capture.display().to_string(),
        "--jsonl".to_owned(),
        "--threads".to_owned(),
        threads.to_string(),
    ];
    let keys = capture.with_extension("keys");
    if keys.is_file() {
        args.extend(["--keylog".to_owned(), keys.display().to_string()]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(&args)
        .output()
        .expect("run framescope");
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "{}: {:?} {}",
        capture.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    files
}

fn assert_identical(files: &[PathBuf]) -> usize {
    let mut records = 0;
    for file in files {
        let one = jsonl(file, 1);
        for threads in [2, 4] {
            let many = jsonl(file, threads);
            if many != one {
                let line = one
                    .split(|b| *b == b'\n')
                    .zip(many.split(|b| *b == b'\n'))
                    .position(|(a, b)| a != b);
                panic!(
                    "{} with {threads} workers differs from one worker (first at line {line:?})",
                    file.display()
                );
            }
        }
        records += one.iter().filter(|b| **b == b'\n').count();
    }
    records
}

#[test]
fn every_sample_capture_decodes_to_the_same_bytes_with_2_and_4_workers() {
    let files = captures_in(&common::captures_dir());
    assert!(files.len() >= 20, "{} captures", files.len());
    let records = assert_identical(&files);
    // The comparison is worth something only if the captures say a lot.
    assert!(records > 1000, "{records} records");
}

#[test]
fn every_corpus_capture_decodes_to_the_same_bytes_with_2_and_4_workers() {
    let Some(dir) = common::corpus_dir() else { return };
    let files = captures_in(&dir);
    assert!(files.len() >= 20, "{} corpus captures", files.len());
    let records = assert_identical(&files);
    assert!(records > 100, "{records} records");
}

/// Every event of the whole run, in order, as text (connection ends included, which JSON
/// Lines does not print).
#[derive(Default)]
struct Transcript(Vec<String>);

impl EventSink for Transcript {
    fn event(&mut self, event: Event<'_>) {
        self.0.push(format!("{event:?}"));
    }
}

fn decode(packets: &[(Timestamp, Vec<u8>)], decoder: &mut dyn CaptureDecoder) -> Vec<String> {
    let mut sink = Transcript::default();
    for (ts, data) in packets {
        decoder.push_packet(*ts, LinkType::Ethernet, data, &mut sink);
    }
    decoder.finish(&mut sink);
    sink.0
}

/// Connections that open and close, connections left idle past the hour the sweep allows,
/// closed ones lingering, and one busy connection making the packet count pass two sweeps
/// (every 65 536 TCP packets).
fn sweep_traffic() -> Vec<(Timestamp, Vec<u8>)> {
    let mut packets = Vec::new();
    let start = 1_700_000_000_i64;
    for i in 0..120u32 {
        let mut conv = common::Conversation::new(
            &format!("10.0.{}.{}:{}", i / 200, i % 200 + 1, 40000 + i),
            "10.9.9.9:80",
            1000 * i,
            7000 * i,
        );
        conv.ts = Timestamp::from_secs_nanos(start + i64::from(i) * 60, 0);
        conv.open();
        conv.send(Sender::Client, &common::upgrade_request(None));
        conv.send(Sender::Server, &common::upgrade_response(None));
        let text = format!("hello from {i}");
        let mask = Some([1, 2, 3, (i % 250) as u8]);
        conv.send(
            Sender::Client,
            &common::ws_frame(
                true,
                false,
                framescope::analysis::ws::frame::OpCode::Text,
                mask,
                text.as_bytes(),
            ),
        );
        if i % 3 == 0 {
            conv.close();
        }
        packets.extend(conv.packets());
    }
    // The busy one, from the start to well past the others' hour of idleness.
    let mut busy = common::Conversation::new("10.1.1.1:50000", "10.9.9.9:80", 5, 9);
    busy.ts = Timestamp::from_secs_nanos(start, 500_000_000);
    busy.open();
    busy.send(Sender::Client, &common::upgrade_request(None));
    busy.send(Sender::Server, &common::upgrade_response(None));
    let step = 4 * 3600 * 1_000_000_000_i64 / 70_000;
    for n in 0..70_000u32 {
        busy.ts = Timestamp::from_nanos(busy.ts.nanos + step);
        let sender = if n % 2 == 0 { Sender::Server } else { Sender::Client };
        let mask = (sender == Sender::Client).then_some([9, 8, 7, 6]);
        busy.send(
            sender,
            &common::ws_frame(
                true,
                false,
                framescope::analysis::ws::frame::OpCode::Binary,
                mask,
                &n.to_be_bytes(),
            ),
        );
    }
    packets.extend(busy.packets());
    packets.sort_by_key(|(ts, _)| *ts);
    packets
}

#[test]
fn sweeps_and_the_end_of_input_merge_in_the_one_analyzer_order() {
    let packets = sweep_traffic();
    assert!(packets.len() > 2 * 65_536, "{} packets", packets.len());
    let one = decode(&packets, &mut Analyzer::new(AnalyzerConfig::default()));
    let count = |what: &str| one.iter().filter(|e| e.contains(what)).count();
    assert_eq!(count("Connection(ConnectionInfo"), 121);
    // 40 closed by FIN; of the 80 left open, those idle for an hour when a sweep ran were
    // ended by it (before the end of input ended the rest, the busy one last).
    assert_eq!(count("how: TcpClosed"), 40);
    assert_eq!(count("how: CaptureEnded"), 81);
    let busy_end = one
        .iter()
        .rposition(|e| e.contains("how: CaptureEnded"))
        .expect("an end");
    assert!(
        one.iter()
            .take(busy_end)
            .filter(|e| e.contains("how: CaptureEnded"))
            .count()
            == 80
    );
    let first_end = one
        .iter()
        .position(|e| e.contains("how: CaptureEnded"))
        .expect("an end");
    let messages_after_first_end = one.iter().skip(first_end).filter(|e| e.starts_with("Message(")).count();
    assert!(
        messages_after_first_end > 1000,
        "the sweep ran mid-capture: {messages_after_first_end}"
    );
    for threads in [2, 3, 4] {
        let many = decode(&packets, &mut ParallelAnalyzer::new(AnalyzerConfig::default(), threads));
        assert_eq!(many.len(), one.len(), "{threads} workers");
        if let Some(i) = one.iter().zip(&many).position(|(a, b)| a != b) {
            panic!("{threads} workers differ at event {i}: {} vs {}", one[i], many[i]);
        }
    }
}

/// The default worker count (issue 17): one unless the capture is large, costly to decode by
/// what its start shows, and that cost is spread over flows (one flow is never split).
#[test]
fn the_default_worker_count_follows_the_probe_of_the_capture_start() {
    use framescope::capture::ReaderKind;
    use framescope::capture::parallel::{PARALLEL_MIN_FILE_BYTES, default_threads, probe_capture};

    let dir = common::captures_dir();
    let probe = |name: &str, keys: Option<&str>| {
        let keys = keys.map(|k| std::fs::read(dir.join(k)).expect("key log"));
        probe_capture(
            &dir.join(name),
            ReaderKind::Auto,
            AnalyzerConfig::default(),
            keys.as_deref(),
        )
    };
    // Many connections, half with permessage-deflate: costly and spread.
    let mixed = probe("synthetic-mixed-json.pcap", None);
    assert!(mixed.expensive() && mixed.spread(), "{mixed:?}");
    assert!(
        mixed.busiest_flow_bytes > 0 && mixed.busiest_flow_bytes * 5 < mixed.expensive_bytes,
        "{mixed:?}"
    );
    // Context takeover on one connection: most bytes inflate, all on one flow.
    let deflate = probe("python-deflate-context-takeover.pcap", None);
    assert!(deflate.packet_bytes > 0 && deflate.expensive_bytes > 0, "{deflate:?}");
    assert!(deflate.expensive() && !deflate.spread(), "{deflate:?}");
    assert_eq!(deflate.busiest_flow_bytes, deflate.expensive_bytes);
    // Decrypted TLS: every message's bytes were decrypted; without the key log none were.
    let tls = probe("tls13-aes128gcm.pcap", Some("tls13-aes128gcm.keys"));
    assert!(tls.expensive(), "{tls:?}");
    let locked = probe("tls13-aes128gcm.pcap", None);
    assert_eq!(locked.expensive_bytes, 0, "{locked:?}");
    // Two wss:// connections of about the same size: spread; two WebSocket streams of one
    // HTTP/2 connection: one flow.
    let two = probe(
        "chromium-http1-tls-two-websockets.pcap",
        Some("chromium-http1-tls-two-websockets.keys"),
    );
    assert!(two.expensive() && two.spread(), "{two:?}");
    let h2 = probe(
        "h2-tls-hypercorn-two-websockets-and-get.pcap",
        Some("h2-tls-hypercorn-two-websockets-and-get.keys"),
    );
    assert!(h2.expensive_bytes > 0 && !h2.spread(), "{h2:?}");
    // Plain text and binary messages: nothing costly.
    let plain = probe("echo-text-binary-ping-close.pcap", None);
    assert!(plain.packet_bytes > 0 && plain.expensive_bytes == 0, "{plain:?}");

    let big = PARALLEL_MIN_FILE_BYTES;
    assert_eq!(default_threads(big, 8, || mixed), 7);
    assert_eq!(default_threads(big, 8, || two), 7);
    assert_eq!(
        default_threads(big, 2, || mixed),
        2,
        "2 cores: two workers and the reader"
    );
    assert_eq!(default_threads(big, 1, || mixed), 1);
    assert_eq!(default_threads(big, 8, || deflate), 1, "one busy flow");
    assert_eq!(default_threads(big, 8, || h2), 1, "one busy flow");
    assert_eq!(default_threads(big, 8, || plain), 1);
    assert_eq!(default_threads(big - 1, 8, || mixed), 1, "small captures");
    // The probe is not run when the size already decides.
    assert_eq!(default_threads(big - 1, 8, || panic!("probed a small capture")), 1);
}
