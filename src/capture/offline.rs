//! Saved `.pcap` / `.pcapng` files through libpcap, with clear errors and partial reads.

use std::path::{Path, PathBuf};

use crate::analysis::link::LinkType;
use crate::analysis::{Analyzer, EventSink, Timestamp};

/// Why a capture could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "{path}: link type {dlt} is not supported (Ethernet, Linux SLL/SLL2, NULL/LOOP and raw IP are)"
    )]
    UnsupportedLinkType { path: PathBuf, dlt: i32 },
}

/// What reading a file gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub packets: u64,
    /// Bytes of the file consumed (record headers included), for progress.
    pub file_bytes_read: u64,
    pub link_type: Option<i32>,
    /// Set when the file ended mid-record or libpcap reported an error after some packets:
    /// everything before it was analysed.
    pub stopped_early: Option<String>,
    /// Packets whose captured length is shorter than their length on the wire.
    pub snap_cut_packets: u64,
}

/// An open capture file.
pub struct OfflineReader {
    path: PathBuf,
    capture: pcap::Capture<pcap::Offline>,
    link_type: LinkType,
    dlt: i32,
    file_len: u64,
}

/// Bytes of a pcap record header; used to estimate progress through the file.
const RECORD_OVERHEAD_BYTES: u64 = 16;

impl OfflineReader {
    pub fn open(path: &Path) -> Result<OfflineReader, CaptureError> {
        let open_err = |reason: String| CaptureError::Open {
            path: path.to_owned(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| open_err(e.to_string()))?;
        if meta.is_dir() {
            return Err(open_err("is a directory, not a capture file".to_owned()));
        }
        if meta.len() == 0 {
            return Err(open_err("empty file, not a capture".to_owned()));
        }
        // Nanosecond precision: libpcap scales microsecond files up, so nothing is lost.
        let capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano)
            .map_err(|e| {
                let reason = e.to_string();
                open_err(if reason.contains("unknown file format") {
                    "not a pcap or pcapng capture (unknown file format)".to_owned()
                } else {
                    reason
                })
            })?;
        let dlt = capture.get_datalink().0;
        let link_type = LinkType::from_dlt(dlt);
        if !link_type.is_supported() {
            return Err(CaptureError::UnsupportedLinkType {
                path: path.to_owned(),
                dlt,
            });
        }
        Ok(OfflineReader {
            path: path.to_owned(),
            capture,
            link_type,
            dlt,
            file_len: meta.len(),
        })
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Feeds every packet to the analyzer. `progress` is called every 4096 packets with the
    /// bytes read so far; returning false stops reading (cancel).
    pub fn run(
        &mut self,
        analyzer: &mut Analyzer,
        sink: &mut dyn EventSink,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> ReadSummary {
        let mut summary = ReadSummary {
            link_type: Some(self.dlt),
            file_bytes_read: 24,
            ..Default::default()
        };
        loop {
            match self.capture.next_packet() {
                Ok(packet) => {
                    let header = packet.header;
                    let ts = Timestamp::from_secs_nanos(header.ts.tv_sec, header.ts.tv_usec);
                    if header.caplen < header.len {
                        summary.snap_cut_packets += 1;
                    }
                    summary.packets += 1;
                    summary.file_bytes_read += u64::from(header.caplen) + RECORD_OVERHEAD_BYTES;
                    analyzer.push_packet(ts, self.link_type, packet.data, sink);
                    if summary.packets % 4096 == 0 && !progress(summary.file_bytes_read) {
                        summary.stopped_early = Some("cancelled".to_owned());
                        break;
                    }
                }
                Err(pcap::Error::NoMorePackets) => break,
                Err(err) => {
                    summary.stopped_early = Some(describe_read_error(&err.to_string()));
                    break;
                }
            }
        }
        summary
    }
}

fn describe_read_error(reason: &str) -> String {
    if reason.contains("truncated") {
        format!("the file ends in the middle of a packet record ({reason})")
    } else {
        reason.to_owned()
    }
}
