//! Saving some connections of a capture as a pcapng of their own: only their packets, with
//! the TLS keys that decrypt them embedded (Decryption Secrets Block), so the file stands
//! alone in framescope, Wireshark or tshark.

use core::net::SocketAddr;
use std::path::Path;

use crate::analysis::Timestamp;
use crate::analysis::link::{Decoded, LinkType, decode};
use crate::export::pcapng_writer::PcapNgWriter;

/// One connection to keep: its TCP endpoints and when the analyzer saw it.
#[derive(Clone, Copy, Debug)]
pub struct KeptConnection {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// The TLS client random, when it ran over TLS: the key log lines to embed.
    pub client_random: Option<[u8; 32]>,
}

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubsetSummary {
    pub packets_written: u64,
    pub key_lines: usize,
}

/// The packets of one kept connection: from its opening SYN (the last one on the same
/// endpoints before the analyzer saw the connection) up to the next opening SYN after it
/// ended, so a port reused later does not come along.
#[derive(Clone, Copy, Debug)]
struct Window {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
}

fn same_endpoints(k: &KeptConnection, src: SocketAddr, dst: SocketAddr) -> bool {
    (src == k.client && dst == k.server) || (src == k.server && dst == k.client)
}

/// What `each_packet` calls with every packet: (time, link type, captured bytes, length on
/// the wire); an error stops the walk.
type PacketVisitor<'a> = dyn FnMut(Timestamp, i32, &[u8], u32) -> Result<(), String> + 'a;

/// Every packet of `source`, handed to `f`; returns how many were read.
fn each_packet(source: &Path, f: &mut PacketVisitor<'_>) -> Result<u64, String> {
    let mut capture = pcap::Capture::from_file_with_precision(source, pcap::Precision::Nano)
        .map_err(|e| format!("{}: {e}", source.display()))?;
    let dlt = capture.get_datalink().0;
    let mut n = 0u64;
    loop {
        match capture.next_packet() {
            Ok(p) => {
                n += 1;
                let ts = Timestamp::from_secs_nanos(p.header.ts.tv_sec, p.header.ts.tv_usec);
                f(ts, dlt, p.data, p.header.len)?;
            }
            Err(pcap::Error::NoMorePackets) => return Ok(n),
            // A truncated file: what it holds was written.
            Err(_) if n > 0 => return Ok(n),
            Err(e) => return Err(format!("{}: {e}", source.display())),
        }
    }
}

/// The TCP endpoints and whether it is an opening SYN, for a packet of a supported link.
fn endpoints(dlt: i32, data: &[u8]) -> Option<(SocketAddr, SocketAddr, bool)> {
    match decode(LinkType::from_dlt(dlt), data) {
        Decoded::Tcp(t) => Some((t.src, t.dst, t.syn && t.ack.is_none())),
        _ => None,
    }
}

/// The key log lines (`LABEL <client random hex> <secret hex>`) that belong to a kept
/// connection, from `keylog` text (a file, Decryption Secrets Blocks, or both joined).
pub fn keys_for(keylog: &[u8], kept: &[KeptConnection]) -> Vec<u8> {
    let randoms: Vec<String> = kept
        .iter()
        .filter_map(|k| k.client_random)
        .map(|r| r.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let mut out = Vec::new();
    for line in keylog.split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let mut fields = text.split_ascii_whitespace();
        let (Some(_label), Some(random)) = (fields.next(), fields.next()) else {
            continue;
        };
        if randoms.iter().any(|r| r.eq_ignore_ascii_case(random)) {
            out.extend_from_slice(text.trim_end().as_bytes());
            out.push(b'\n');
        }
    }
    out
}

/// Writes the packets of `kept` from `source` to `to` (pcapng), with the lines of `keylog`
/// that decrypt them in a Decryption Secrets Block before the first packet.
pub fn write_connections(
    source: &Path,
    kept: &[KeptConnection],
    keylog: &[u8],
    to: &Path,
) -> Result<SubsetSummary, String> {
    // First pass: where each kept connection's packets start and stop.
    let mut windows: Vec<Window> = kept
        .iter()
        .map(|_| Window {
            from: None,
            until: None,
        })
        .collect();
    each_packet(source, &mut |ts, dlt, data, _| {
        if let Some((src, dst, opening)) = endpoints(dlt, data)
            && opening
        {
            for (k, w) in kept.iter().zip(windows.iter_mut()) {
                if !same_endpoints(k, src, dst) {
                    continue;
                }
                if ts <= k.first_ts {
                    w.from = Some(ts);
                } else if ts > k.last_ts && w.until.is_none() {
                    w.until = Some(ts);
                }
            }
        }
        Ok(())
    })?;
    let file = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut writer = PcapNgWriter::new(std::io::BufWriter::new(file)).map_err(|e| e.to_string())?;
    let keys = keys_for(keylog, kept);
    let mut summary = SubsetSummary {
        key_lines: keys.iter().filter(|&&b| b == b'\n').count(),
        ..SubsetSummary::default()
    };
    writer.write_tls_keys(&keys).map_err(|e| e.to_string())?;
    let mut interface: Option<(i32, u32)> = None;
    each_packet(source, &mut |ts, dlt, data, orig_len| {
        let Some((src, dst, _)) = endpoints(dlt, data) else {
            return Ok(());
        };
        let wanted = kept.iter().zip(&windows).any(|(k, w)| {
            same_endpoints(k, src, dst)
                && w.from.is_none_or(|from| ts >= from)
                && w.until.is_none_or(|until| ts < until)
        });
        if !wanted {
            return Ok(());
        }
        let id = match interface {
            Some((d, id)) if d == dlt => id,
            _ => {
                let id = writer
                    .add_interface(dlt as u16, 262_144, "")
                    .map_err(|e| e.to_string())?;
                interface = Some((dlt, id));
                id
            }
        };
        writer.write_packet(id, ts, data, orig_len).map_err(|e| e.to_string())?;
        summary.packets_written += 1;
        Ok(())
    })?;
    writer.flush().map_err(|e| e.to_string())?;
    Ok(summary)
}
