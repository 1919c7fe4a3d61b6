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

/// A TLS connection's ServerHello as tshark reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// The client's TCP port (the ServerHello's destination).
    pub client_port: u16,
    /// supported_versions when present (TLS 1.3), else the legacy version.
    pub version: u16,
    pub cipher_suite: u16,
    pub extensions: Vec<u16>,
}

fn hex_u16(text: &str) -> u16 {
    u16::from_str_radix(text.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("tshark value {text}"))
}

/// `tshark -r PCAP [-o tls.keylog_file:KEYS] -Y FILTER -T fields -e …`, one Vec per packet;
/// None when tshark is not installed.
fn fields(pcap: &Path, keys: Option<&Path>, filter: &str, names: &[&str]) -> Option<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap);
    if let Some(keys) = keys {
        cmd.arg("-o").arg(format!("tls.keylog_file:{}", keys.display()));
    }
    cmd.args(["-Y", filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for name in names {
        cmd.args(["-e", name]);
    }
    let out = cmd.output().ok()?;
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    Some(
        text.lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect(),
    )
}

/// Every ServerHello of the capture, in capture order (a HelloRetryRequest is one too).
pub fn server_hellos(pcap: &Path) -> Option<Vec<ServerHello>> {
    let rows = fields(
        pcap,
        None,
        "tls.handshake.type == 2",
        &[
            "tcp.dstport",
            "tls.handshake.version",
            "tls.handshake.extensions.supported_version",
            "tls.handshake.ciphersuite",
            "tls.handshake.extension.type",
        ],
    )?;
    Some(
        rows.iter()
            .map(|r| {
                let first = |i: usize| r[i].split(',').next().unwrap_or("").to_owned();
                let supported = first(2);
                ServerHello {
                    client_port: r[0].parse().expect("port"),
                    version: hex_u16(if supported.is_empty() { &r[1] } else { &supported }),
                    cipher_suite: hex_u16(&first(3)),
                    extensions: r[4]
                        .split(',')
                        .filter(|t| !t.is_empty())
                        .map(|t| t.parse().expect("type"))
                        .collect(),
                }
            })
            .collect(),
    )
}

/// The client ports of the TLS 1.3 connections whose server accepted 0-RTT data: its
/// EncryptedExtensions (decrypted with `keys`) carry early_data (42).
pub fn early_data_accepted(pcap: &Path, keys: &Path) -> Option<Vec<u16>> {
    let rows = fields(
        pcap,
        Some(keys),
        "tls.handshake.type == 8 && tls.handshake.extension.type == 42",
        &["tcp.dstport"],
    )?;
    Some(rows.iter().map(|r| r[0].parse().expect("port")).collect())
}

/// framescope's frames (`CollectSink` of an analysis with `emit_frames`) in tshark's terms:
/// the sender's port is that of the frame's own connection.
pub fn framescope_frames(sink: &framescope::analysis::event::CollectSink) -> Vec<Frame> {
    use framescope::analysis::Direction;
    sink.frames
        .iter()
        .map(|f| {
            let conn = sink
                .connections
                .iter()
                .find(|c| c.conn == f.conn)
                .expect("the frame's connection");
            let sender = match f.dir {
                Direction::ClientToServer => conn.client.port(),
                Direction::ServerToClient => conn.server.port(),
            };
            (
                sender,
                f.header.fin,
                f.header.opcode.as_u4(),
                f.header.mask.is_some(),
                f.header.payload_len,
            )
        })
        .collect()
}
