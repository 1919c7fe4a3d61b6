//! The window's TLS key log setting and "Save shown connections as pcapng": two real wss://
//! sessions (Python `websockets`, TLS 1.3 and TLS 1.2) merged into one capture show nothing
//! decrypted until the key log is chosen, then both; saving one connection writes only its
//! packets with its keys embedded, and that file decrypts alone.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use framescope::analysis::Timestamp;
use framescope::export::pcap_writer::PcapWriter;
use framescope::gui::commands::Command;

/// The packets of a capture file, with its link type.
fn packets_of(path: &Path) -> (i32, Vec<(Timestamp, Vec<u8>)>) {
    let mut cap = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano).unwrap();
    let dlt = cap.get_datalink().0;
    let mut out = Vec::new();
    while let Ok(p) = cap.next_packet() {
        out.push((
            Timestamp::from_secs_nanos(p.header.ts.tv_sec, p.header.ts.tv_usec),
            p.data.to_vec(),
        ));
    }
    (dlt, out)
}

/// Both captures in one file (by time), and both key logs in one file.
fn merged(dir: &Path) -> (PathBuf, PathBuf, usize) {
    let caps = common::captures_dir();
    let (dlt, mut all) = packets_of(&caps.join("tls13-aes128gcm.pcap"));
    let first_len = all.len();
    let (dlt2, more) = packets_of(&caps.join("tls12-ecdhe-chacha20.pcap"));
    assert_eq!(dlt, dlt2);
    all.extend(more);
    all.sort_by_key(|(ts, _)| *ts);
    let pcap = dir.join("two-wss.pcap");
    let mut w = PcapWriter::with_link_type(std::fs::File::create(&pcap).unwrap(), dlt as u32, 262_144).unwrap();
    for (ts, data) in &all {
        w.write_packet(*ts, data).unwrap();
    }
    drop(w);
    let keys = dir.join("two-wss.keys");
    let mut text = std::fs::read(caps.join("tls13-aes128gcm.keys")).unwrap();
    text.extend(std::fs::read(caps.join("tls12-ecdhe-chacha20.keys")).unwrap());
    std::fs::write(&keys, text).unwrap();
    (pcap, keys, first_len)
}

fn settle(harness: &mut egui_kittest::Harness<'static, framescope::gui::FramescopeApp>) {
    harness.run_steps(2);
    let started = Instant::now();
    while harness.state().is_loading() && started.elapsed() < Duration::from_secs(20) {
        harness.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    harness.run_steps(3);
}

#[test]
fn choosing_the_key_log_decrypts_the_open_capture_and_a_saved_connection_carries_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, keys, tls13_packets) = merged(dir.path());
    let mut harness = common::gui::loaded(&pcap);
    {
        let app = harness.state();
        assert!(app.store.connections.is_empty(), "no key: no WebSocket connection");
        assert_eq!(app.store.flows.len(), 2, "both TLS flows listed as flows");
        assert!(
            app.store.flows.iter().all(|f| f.reason.contains("without a key")),
            "{:?}",
            app.store.flows
        );
    }
    harness.state_mut().push(Command::SetKeylog(Some(keys.clone())));
    settle(&mut harness);
    {
        let app = harness.state();
        assert_eq!(app.settings.tls_keylog.as_deref(), Some(keys.as_path()));
        assert_eq!(
            app.store.connections.len(),
            2,
            "the capture was read again with the keys"
        );
        assert_eq!(app.store.messages.len(), 24);
        assert!(
            app.store
                .connections
                .iter()
                .all(|c| c.info.tls.as_ref().is_some_and(|t| t.decrypted))
        );
    }
    // The strip shows each server with a lock.
    let server = harness.state().store.connections[0].info.server;
    harness.get_by_label(&format!("🔒 {server}"));

    // The TLS 1.3 connection alone.
    let tls13 = harness
        .state()
        .store
        .connections
        .iter()
        .find(|c| c.info.tls.as_ref().and_then(|t| t.version.as_deref()) == Some("1.3"))
        .map(|c| c.info.conn)
        .unwrap();
    harness.state_mut().push(Command::SelectConnection(Some(tls13)));
    harness.run_steps(3);
    let out = dir.path().join("one.pcapng");
    harness.state_mut().export_connections_to(&out);
    let status = harness
        .state()
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(
        status.contains(&format!("saved {tls13_packets} packets of 1 connection")),
        "{status}"
    );
    let tls13_key_lines = std::fs::read_to_string(common::captures_dir().join("tls13-aes128gcm.keys"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert!(
        status.contains(&format!("{tls13_key_lines} TLS key log line")),
        "{status}"
    );

    // The saved file decrypts with no key log: its Decryption Secrets Block is enough.
    let (sink, summary) = common::analyze_file(&out);
    assert_eq!(summary.tls_secrets_blocks, 1);
    assert_eq!(sink.connections.len(), 1);
    assert_eq!(sink.messages.len(), 12);
    assert!(
        sink.connections[0]
            .tls
            .as_ref()
            .is_some_and(|t| t.decrypted && t.version.as_deref() == Some("1.3"))
    );
    assert!(
        sink.flows.is_empty(),
        "the other connection's packets were left out: {:?}",
        sink.flows
    );
}
