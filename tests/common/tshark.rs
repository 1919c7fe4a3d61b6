//! tshark as the oracle of the TLS part: the WebSocket frames it decodes with a key log
//! (`-o tls.keylog_file:`), and each TLS connection's negotiated version and cipher suite.

use std::path::Path;
use std::process::Command;

/// One WebSocket frame as (sender port, fin, opcode, masked, payload length).
pub type Frame = (u16, bool, u8, bool, u64);

/// Every WebSocket frame tshark decodes in `pcap` decrypted with `keys`, in capture order;
/// None when tshark is not installed.
pub fn frames(pcap: &Path, keys: &Path) -> Option<Vec<Frame>> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .arg("-o")
        .arg(format!("tls.keylog_file:{}", keys.display()))
        .args([
            "-Y",
            "websocket",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
        ])
        .args([
            "-e",
            "tcp.srcport",
            "-e",
            "websocket.fin",
            "-e",
            "websocket.opcode",
            "-e",
            "websocket.mask",
        ])
        .args([
            "-e",
            "websocket.payload_length",
            "-e",
            "websocket.payload_length_ext_16",
        ])
        .args(["-e", "websocket.payload_length_ext_64"])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut frames = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let port: u16 = cols[0].parse().unwrap();
        let field = |i: usize| -> Vec<&str> { cols.get(i).map_or(vec![], |c| c.split('|').collect()) };
        let (fins, ops, masks, lens, l16, l64) = (field(1), field(2), field(3), field(4), field(5), field(6));
        let (mut i16, mut i64) = (0, 0);
        // Several frames may share one packet: walk them in order.
        for k in 0..ops.len() {
            let short: u64 = lens[k].parse().unwrap();
            let len = match short {
                126 => {
                    i16 += 1;
                    l16[i16 - 1].parse().unwrap()
                }
                127 => {
                    i64 += 1;
                    l64[i64 - 1].parse().unwrap()
                }
                n => n,
            };
            let flag = |s: &str| s == "1" || s == "True";
            frames.push((port, flag(fins[k]), ops[k].parse().unwrap(), flag(masks[k]), len));
        }
    }
    Some(frames)
}

