//! Issue 14 item 3: captures that start inside large frames. A real capture (Python
//! websockets both ends, a rate-limited `lo` in a network namespace, tcpdump started while a
//! 512 KiB client frame and a 1 MiB server frame were in flight) must give the connection,
//! a `bytes-skipped` finding per direction, and every later message exactly as the peers
//! logged sending it. `captures/make_midframe_capture.py` records it; the committed capture
//! is checked everywhere, a fresh recording where network namespaces can be made.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use framescope::analysis::Direction;
use framescope::analysis::event::CollectSink;
use framescope::analysis::findings::FindingKind;
use framescope::analysis::ws::frame::OpCode;
use sha2::{Digest, Sha256};

/// One message as a peer logged sending it.
#[derive(Debug, PartialEq)]
struct Sent {
    kind: String,
    len: u64,
    sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The messages of `dir` that were sent after tcpdump began listening (all of them must
/// decode), and how many were sent before (their frames are the unknown tails).
fn sent_after_capture_start(log: &serde_json::Value, dir: &str) -> (Vec<Sent>, usize) {
    let listening = log["capture"]["listening"].as_f64().expect("listening time");
    let all = log[dir].as_array().expect("direction log");
    let before = all
        .iter()
        .filter(|e| e["t"].as_f64().is_some_and(|t| t < listening))
        .count();
    let after = all
        .iter()
        .filter(|e| e["t"].as_f64().is_some_and(|t| t >= listening))
        .map(|e| Sent {
            kind: e["type"].as_str().unwrap_or("?").to_owned(),
            len: e["len"].as_u64().unwrap_or(0),
            sha256: e["sha256"].as_str().unwrap_or("?").to_owned(),
        })
        .collect();
    (after, before)
}

fn decoded(sink: &CollectSink, dir: Direction) -> Vec<Sent> {
    sink.messages
        .iter()
        .filter(|m| m.facts.dir == dir && matches!(m.facts.opcode, OpCode::Text | OpCode::Binary))
        .map(|m| Sent {
            kind: if m.facts.opcode == OpCode::Text {
                "text"
            } else {
                "binary"
            }
            .to_owned(),
            len: m.payload.len() as u64,
            sha256: hex(&Sha256::digest(&m.payload)),
        })
        .collect()
}

/// The checks shared by the committed capture and a fresh recording.
fn check(pcap: &Path, log: &Path) {
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(log).expect("read the peers' log")).expect("peers' log is JSON");
    let (sink, _) = analyze_file(pcap);
    assert_eq!(sink.connections.len(), 1, "the connection appears: {:?}", sink.flows);
    assert!(sink.connections[0].handshake.is_none(), "picked up mid-stream");
    assert_eq!(sink.connections[0].server.port(), 9417, "direction from masking");
    assert!(sink.flows.is_empty(), "no flow left undecoded: {:?}", sink.flows);
    for (dir, name) in [(Direction::ClientToServer, "c2s"), (Direction::ServerToClient, "s2c")] {
        let (expected, before) = sent_after_capture_start(&log, name);
        assert_eq!(before, 1, "{name}: one big frame was in flight when tcpdump started");
        assert!(expected.len() >= 3, "{name}: later messages were logged");
        assert_eq!(decoded(&sink, dir), expected, "{name}: every later message, exactly");
        let skipped: Vec<_> = sink
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::BytesSkipped && f.dir == Some(dir))
            .collect();
        assert_eq!(
            skipped.len(),
            1,
            "{name}: one bytes-skipped finding: {:?}",
            sink.findings
        );
        let offset = skipped[0].stream_offset.expect("offset of the first boundary");
        assert!(offset > 1000, "{name}: the tail skipped is real: {offset}");
        assert!(
            skipped[0].detail.starts_with(&format!("{offset} bytes inside a frame")),
            "{}",
            skipped[0].detail
        );
    }
}

#[test]
fn committed_capture_decodes_everything_after_the_unknown_tails() {
    let dir = captures_dir();
    check(&dir.join("midframe-512k-1m.pcap"), &dir.join("midframe-512k-1m.json"));
}

/// Records afresh in a network namespace (root, `ip`, `tc`, tcpdump, Python websockets).
/// Skips with the reason where that is impossible; CI runs as root on Debian, where it must
/// run.
#[test]
fn fresh_recording_in_a_rate_limited_namespace() {
    let must_run = std::env::var_os("CI").is_some() && is_root();
    let skip = |why: &str| {
        if must_run {
            panic!("CI runs as root but {why}");
        }
        eprintln!("skipping the recording: {why}");
    };
    if !is_root() {
        return skip("not root (network namespaces need CAP_NET_ADMIN)");
    }
    for tool in ["ip", "tc", "tcpdump", "python3"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            return skip(&format!("{tool} is not installed (make deps)"));
        }
    }
    if !Command::new("python3")
        .args(["-c", "import websockets"])
        .status()
        .is_ok_and(|s| s.success())
    {
        return skip("Python websockets is not installed (make py-deps)");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (pcap, log) = (tmp.path().join("midframe.pcap"), tmp.path().join("midframe.json"));
    let script = captures_dir().join("make_midframe_capture.py");
    let out = Command::new("timeout")
        .args(["180", "python3"])
        .arg(&script)
        .args([&pcap, &log])
        .output()
        .expect("run the recording script");
    match out.status.code() {
        Some(0) => {}
        Some(3) => return skip("`ip netns add` failed here"),
        _ => panic!(
            "recording failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
    check(&pcap, &log);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
