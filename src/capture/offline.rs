//! Saved `.pcap` / `.pcapng` files, with clear errors and partial reads.
//!
//! Two readers, same results (a test checks every corpus file with both):
//! - `Stream` (default): pcap-parser over 1 MiB reads. It is faster than libpcap (which reads
//!   4 KiB at a time) and reads pcapng files whose interfaces have different link types,
//!   which libpcap refuses to open.
//! - `Libpcap`: the system library, for formats only it knows and as the reference.

use std::fs::File;
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::{Block, SecretsType};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use crate::analysis::link::LinkType;
use crate::analysis::{Analyzer, EventSink, PacketInput, Timestamp};

/// Why a capture could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("{path}: link type {dlt} is not supported (Ethernet, Linux SLL/SLL2, NULL/LOOP and raw IP are)")]
    UnsupportedLinkType { path: PathBuf, dlt: i32 },
}

/// Which library reads the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReaderKind {
    /// pcap-parser with large reads; falls back to libpcap for formats it does not know.
    #[default]
    Auto,
    /// libpcap (the `pcap` crate).
    Libpcap,
}

/// What reading a file gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub packets: u64,
    /// Bytes of the file consumed, for progress.
    pub file_bytes_read: u64,
    /// The link type of the first interface.
    pub link_type: Option<i32>,
    /// Set when the file ended mid-record or could not be read further: everything before
    /// it was analysed.
    pub stopped_early: Option<String>,
    /// Reading was stopped on request (the progress callback said so) before the end.
    pub cancelled: bool,
    /// Packets whose captured length is shorter than their length on the wire.
    pub snap_cut_packets: u64,
    /// Packets skipped because their interface's link type is not supported.
    pub unsupported_link_packets: u64,
    /// Time of the first packet (the capture's start, the origin of relative times).
    pub first_ts: Option<Timestamp>,
    /// pcapng Decryption Secrets Blocks with TLS key log text, fed to the analyzer's key log.
    pub tls_secrets_blocks: u64,
}

/// Initial read buffer of the stream reader; it grows for larger records, up to the cap.
const STREAM_BUFFER_BYTES: usize = 1 << 20;
const MAX_RECORD_BYTES: usize = 256 << 20;

enum Backend {
    Stream {
        reader: Box<dyn PcapReaderIterator + Send>,
        /// Link type and timestamp units per pcapng interface (legacy pcap: one entry).
        interfaces: Vec<Interface>,
        nanosecond_pcap: bool,
    },
    Libpcap {
        capture: pcap::Capture<pcap::Offline>,
        link_type: LinkType,
    },
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: LinkType,
    /// Timestamp units per second.
    units_per_sec: u64,
    offset_secs: i64,
}

/// An open capture file.
pub struct OfflineReader {
    path: PathBuf,
    backend: Backend,
    first_dlt: Option<i32>,
    file_len: u64,
}

impl OfflineReader {
    /// Opens a file with the default reader.
    pub fn open(path: &Path) -> Result<OfflineReader, CaptureError> {
        Self::open_with(path, ReaderKind::Auto)
    }

    pub fn open_with(path: &Path, kind: ReaderKind) -> Result<OfflineReader, CaptureError> {
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
        if kind == ReaderKind::Auto {
            let file = File::open(path).map_err(|e| open_err(e.to_string()))?;
            match pcap_parser::create_reader(STREAM_BUFFER_BYTES, file) {
                Ok(reader) => {
                    return Ok(OfflineReader {
                        path: path.to_owned(),
                        backend: Backend::Stream {
                            reader,
                            interfaces: Vec::new(),
                            nanosecond_pcap: false,
                        },
                        first_dlt: None,
                        file_len: meta.len(),
                    });
                }
                Err(PcapError::Incomplete(_)) | Err(PcapError::Eof) => {
                    return Err(open_err("too short to be a capture file".to_owned()));
                }
                // Not a format pcap-parser knows: let libpcap try (and word the error).
                Err(_) => {}
            }
        }
        Self::open_libpcap(path, meta.len())
    }

    fn open_libpcap(path: &Path, file_len: u64) -> Result<OfflineReader, CaptureError> {
        // Nanosecond precision: libpcap scales microsecond files up, so nothing is lost.
        let capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano).map_err(|e| {
            let reason = e.to_string();
            CaptureError::Open {
                path: path.to_owned(),
                reason: if reason.contains("unknown file format") {
                    "not a pcap or pcapng capture (unknown file format)".to_owned()
                } else {
                    reason
                },
            }
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
            backend: Backend::Libpcap { capture, link_type },
            first_dlt: Some(dlt),
            file_len,
        })
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which reader is in use.
    pub fn reader_name(&self) -> &'static str {
        match self.backend {
            Backend::Stream { .. } => "pcap-parser",
            Backend::Libpcap { .. } => "libpcap",
        }
    }

    /// Feeds every packet to the analyzer. `progress` is called every 4096 packets with the
    /// bytes read so far; returning false stops reading (cancel).
    pub fn run(
        &mut self,
        analyzer: &mut dyn PacketInput,
        sink: &mut dyn EventSink,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> ReadSummary {
        // Every secret of the file before the first packet: a live recording (framescope's
        // own) writes a key log line as a Decryption Secrets Block when it reads it, which can
        // be after its connection ended (Chromium writes a spare connection's line late). The
        // libpcap backend reads them first anyway; the stream reader then meets them again in
        // order, which is harmless.
        if matches!(self.backend, Backend::Stream { .. }) && is_pcapng(&self.path) {
            feed_tls_secrets(&self.path, analyzer);
        }
        self.run_limited(analyzer, sink, progress, ReadLimit::NONE)
    }

    /// The time of the first packet of the file at `path` (reads only up to it), for the
    /// origin of "time since capture start" before the real pass starts.
    pub fn first_packet_ts(path: &Path, kind: ReaderKind) -> Option<Timestamp> {
        let mut reader = OfflineReader::open_with(path, kind).ok()?;
        let mut analyzer = Analyzer::new(crate::analysis::AnalyzerConfig::default());
        struct Ignore;
        impl EventSink for Ignore {
            fn event(&mut self, _: crate::analysis::Event<'_>) {}
        }
        reader
            .run_limited(
                &mut analyzer,
                &mut Ignore,
                &mut |_| true,
                ReadLimit {
                    packets: 1,
                    bytes: u64::MAX,
                },
            )
            .first_ts
    }

    /// `run`, stopping once `limit` is reached.
    pub(crate) fn run_limited(
        &mut self,
        analyzer: &mut dyn PacketInput,
        sink: &mut dyn EventSink,
        progress: &mut dyn FnMut(u64) -> bool,
        limit: ReadLimit,
    ) -> ReadSummary {
        let mut summary = match &mut self.backend {
            Backend::Libpcap { capture, link_type } => {
                // libpcap skips Decryption Secrets Blocks: read them with pcap-parser first.
                let blocks = feed_tls_secrets(&self.path, analyzer);
                let mut summary = run_libpcap(capture, *link_type, analyzer, sink, progress, limit);
                summary.tls_secrets_blocks = blocks;
                summary
            }
            Backend::Stream {
                reader,
                interfaces,
                nanosecond_pcap,
            } => run_stream(
                reader.as_mut(),
                interfaces,
                nanosecond_pcap,
                analyzer,
                sink,
                progress,
                limit,
            ),
        };
        if let Some(first) = summary.link_type {
            self.first_dlt = Some(first);
        }
        summary.link_type = self.first_dlt;
        summary
    }

    /// After `run`: the error to give when nothing in the file was of a supported link type
    /// (the libpcap reader refuses such files at open; the stream reader learns the link
    /// types while reading, so the caller asks here).
    pub fn unsupported_link_error(&self, summary: &ReadSummary) -> Option<CaptureError> {
        let dlt = summary.link_type.or(self.first_dlt)?;
        let nothing_supported = summary.unsupported_link_packets == summary.packets;
        (nothing_supported && !LinkType::from_dlt(dlt).is_supported()).then(|| CaptureError::UnsupportedLinkType {
            path: self.path.clone(),
            dlt,
        })
    }

    /// The first interface's link type, once known (after `run` for pcapng files).
    pub fn link_type(&self) -> Option<LinkType> {
        self.first_dlt.map(LinkType::from_dlt)
    }
}

/// Where a limited read stops: after this many packets or file bytes, whichever comes first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadLimit {
    pub packets: u64,
    pub bytes: u64,
}

impl ReadLimit {
    pub const NONE: ReadLimit = ReadLimit {
        packets: u64::MAX,
        bytes: u64::MAX,
    };

    fn reached(&self, packets: u64, bytes: u64) -> bool {
        packets >= self.packets || bytes >= self.bytes
    }
}

fn run_libpcap(
    capture: &mut pcap::Capture<pcap::Offline>,
    link_type: LinkType,
    analyzer: &mut dyn PacketInput,
    sink: &mut dyn EventSink,
    progress: &mut dyn FnMut(u64) -> bool,
    limit: ReadLimit,
) -> ReadSummary {
    let mut summary = ReadSummary {
        link_type: Some(link_type.to_linktype()),
        file_bytes_read: 24,
        ..Default::default()
    };
    loop {
        match capture.next_packet() {
            Ok(packet) => {
                let header = packet.header;
                // Nanosecond precision: the field holds nanoseconds (microsecond files scaled).
                let mut nanos = header.ts.tv_usec;
                if !(0..1_000_000_000).contains(&nanos) {
                    nanos = 0;
                    let ts = Timestamp::from_secs_nanos(header.ts.tv_sec, 0);
                    // libpcap scaled a microsecond field by 1000: say it in the file's unit.
                    let field = header.ts.tv_usec as u64;
                    let (field, units) = if field % 1000 == 0 {
                        (field / 1000, 1_000_000)
                    } else {
                        (field, 1_000_000_000)
                    };
                    analyzer.timestamp_invalid(ts, &invalid_fraction(field, units), sink);
                }
                let ts = Timestamp::from_secs_nanos(header.ts.tv_sec, nanos);
                if header.caplen < header.len {
                    summary.snap_cut_packets += 1;
                }
                summary.packets += 1;
                summary.first_ts.get_or_insert(ts);
                summary.file_bytes_read += u64::from(header.caplen) + 16;
                analyzer.push_packet(ts, link_type, packet.data, sink);
                if limit.reached(summary.packets, summary.file_bytes_read) {
                    break;
                }
                if summary.packets % 4096 == 0 && !progress(summary.file_bytes_read) {
                    summary.cancelled = true;
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

/// Whether the file starts with a pcapng Section Header Block.
fn is_pcapng(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == [0x0a, 0x0d, 0x0d, 0x0a])
}

/// Feeds the TLS key log text of a pcapng file's Decryption Secrets Blocks to the analyzer
/// (for the libpcap reader, which does not expose them); returns how many blocks it read.
/// Reads the file once more; stops quietly at the first error (the main read reports it).
fn feed_tls_secrets(path: &Path, analyzer: &mut dyn PacketInput) -> u64 {
    each_secrets_block(path, &mut |dsb| feed_secrets_block(dsb, analyzer))
}

/// The TLS key log text of every Decryption Secrets Block in the pcapng at `path`, joined
/// (empty for classic pcap or a file without secrets).
pub fn tls_secrets_text(path: &Path) -> Vec<u8> {
    let mut text = Vec::new();
    each_secrets_block(path, &mut |dsb| {
        if dsb.secrets_type != SecretsType::TlsKeyLog {
            return false;
        }
        let len = usize::try_from(dsb.secrets_len)
            .unwrap_or(usize::MAX)
            .min(dsb.data.len());
        text.extend_from_slice(dsb.data.get(..len).unwrap_or(&[]));
        if !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        true
    });
    text
}

/// Calls `f` with each Decryption Secrets Block of the file; counts the calls that returned
/// true. Unreadable files and parse errors end the walk quietly: the packet reader reports them.
fn each_secrets_block(path: &Path, f: &mut dyn FnMut(&pcap_parser::pcapng::DecryptionSecretsBlock<'_>) -> bool) -> u64 {
    let Ok(file) = File::open(path) else { return 0 };
    let Ok(mut reader) = pcap_parser::create_reader(STREAM_BUFFER_BYTES, file) else {
        return 0;
    };
    let mut blocks = 0;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::NG(Block::DecryptionSecrets(dsb)) = block
                    && f(&dsb)
                {
                    blocks += 1;
                }
                reader.consume(offset);
            }
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    blocks
}

/// The detail of a `timestamp-invalid` finding.
fn invalid_fraction(field: u64, units_per_sec: u64) -> String {
    let unit = if units_per_sec == 1_000_000 {
        "microsecond"
    } else {
        "sub-second"
    };
    format!("{unit} field {field} is not below {units_per_sec}; the fraction was ignored")
}

/// A parser error in a few words: never the input it carries (the whole read buffer).
fn short_error<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::Eof => "end of file".to_owned(),
        PcapError::BufferTooSmall => "record larger than the read buffer".to_owned(),
        PcapError::UnexpectedEof => "unexpected end of file".to_owned(),
        PcapError::ReadError => "the file could not be read".to_owned(),
        PcapError::Incomplete(_) => "incomplete record".to_owned(),
        PcapError::HeaderNotRecognized => "not a pcap or pcapng header".to_owned(),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("check failed: {}", kind.description())
        }
    }
}

/// What the record at the start of `data` is: a pcapng block by its type, or a pcap record.
fn record_name(data: &[u8], pcapng: bool) -> String {
    if !pcapng {
        return "packet record".to_owned();
    }
    let Some([a, b, c, d]) = data.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok()) else {
        return "pcapng block".to_owned();
    };
    let name = |t: u32| match t {
        0x0A0D_0D0A => Some("Section Header Block"),
        1 => Some("Interface Description Block"),
        2 => Some("Packet Block"),
        3 => Some("Simple Packet Block"),
        4 => Some("Name Resolution Block"),
        5 => Some("Interface Statistics Block"),
        6 => Some("Enhanced Packet Block"),
        0x0A => Some("Decryption Secrets Block"),
        0x0BAD | 0x4000_0BAD => Some("Custom Block"),
        _ => None,
    };
    let le = u32::from_le_bytes([a, b, c, d]);
    match name(le).or_else(|| name(u32::from_be_bytes([a, b, c, d]))) {
        Some(n) => n.to_owned(),
        None => format!("pcapng block of unknown type 0x{le:08x}"),
    }
}

fn describe_read_error(reason: &str) -> String {
    if reason.contains("truncated") {
        format!("the file ends in the middle of a packet record ({reason})")
    } else {
        reason.to_owned()
    }
}

fn interface(dlt: i32, units_per_sec: u64, offset_secs: i64) -> Interface {
    Interface {
        link_type: LinkType::from_dlt(dlt),
        units_per_sec: units_per_sec.max(1),
        offset_secs,
    }
}

/// A timestamp from a count of `units_per_sec` units since the epoch.
fn timestamp_from_units(units: u64, iface: &Interface) -> Timestamp {
    let secs = units / iface.units_per_sec;
    let frac = units % iface.units_per_sec;
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(iface.units_per_sec)) as i64;
    Timestamp::from_secs_nanos((secs as i64).saturating_add(iface.offset_secs), nanos)
}

/// Feeds a Decryption Secrets Block's TLS key log text to the analyzer; false for other
/// kinds of secrets (both readers call this: libpcap itself skips these blocks).
fn feed_secrets_block(dsb: &pcap_parser::pcapng::DecryptionSecretsBlock<'_>, analyzer: &mut dyn PacketInput) -> bool {
    if dsb.secrets_type != SecretsType::TlsKeyLog {
        return false;
    }
    let len = usize::try_from(dsb.secrets_len)
        .unwrap_or(usize::MAX)
        .min(dsb.data.len());
    analyzer.feed_keys(dsb.data.get(..len).unwrap_or(&[]));
    true
}

fn run_stream(
    reader: &mut (dyn PcapReaderIterator + Send),
    interfaces: &mut Vec<Interface>,
    nanosecond_pcap: &mut bool,
    analyzer: &mut dyn PacketInput,
    sink: &mut dyn EventSink,
    progress: &mut dyn FnMut(u64) -> bool,
    limit: ReadLimit,
) -> ReadSummary {
    let mut summary = ReadSummary::default();
    let mut pcapng = false;
    loop {
        let at_byte = reader.consumed();
        let (consumed, packet) = match reader.next() {
            Ok((offset, block)) => {
                let packet = match block {
                    PcapBlockOwned::LegacyHeader(header) => {
                        *nanosecond_pcap = header.is_nanosecond_precision();
                        let units = if *nanosecond_pcap { 1_000_000_000 } else { 1_000_000 };
                        interfaces.clear();
                        interfaces.push(interface(header.network.0, units, 0));
                        summary.link_type.get_or_insert(header.network.0);
                        None
                    }
                    PcapBlockOwned::Legacy(b) => interfaces.first().map(|iface| {
                        let mut fraction = u64::from(b.ts_usec);
                        if fraction >= iface.units_per_sec {
                            // Out of range: ignored (it was read as up to +4294 s).
                            fraction = 0;
                            let ts = timestamp_from_units(u64::from(b.ts_sec) * iface.units_per_sec, iface);
                            analyzer.timestamp_invalid(
                                ts,
                                &invalid_fraction(u64::from(b.ts_usec), iface.units_per_sec),
                                sink,
                            );
                        }
                        let units = u64::from(b.ts_sec) * iface.units_per_sec + fraction;
                        (0usize, timestamp_from_units(units, iface), b.data, b.caplen, b.origlen)
                    }),
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        // A new section starts its own list of interfaces.
                        pcapng = true;
                        interfaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        let units = pcap_parser::build_ts_resolution(idb.if_tsresol).unwrap_or(1_000_000);
                        let dlt = idb.linktype.0;
                        interfaces.push(interface(dlt, units, idb.if_tsoffset));
                        summary.link_type.get_or_insert(dlt);
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let id = epb.if_id as usize;
                        interfaces.get(id).map(|iface| {
                            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            (
                                id,
                                timestamp_from_units(units, iface),
                                epb.data,
                                epb.caplen,
                                epb.origlen,
                            )
                        })
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => interfaces.first().map(|_| {
                        // Simple packets carry no timestamp.
                        (0, Timestamp::ZERO, spb.data, spb.data.len() as u32, spb.origlen)
                    }),
                    PcapBlockOwned::NG(Block::DecryptionSecrets(dsb)) => {
                        // editcap --inject-secrets / Wireshark: TLS key log text, used with no option.
                        if feed_secrets_block(&dsb, analyzer) {
                            summary.tls_secrets_blocks += 1;
                        }
                        None
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                (offset, packet)
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if let Err(e) = reader.refill() {
                    summary.stopped_early = Some(format!("read error at byte {at_byte}: {}", short_error(&e)));
                    break;
                }
                continue;
            }
            Err(PcapError::BufferTooSmall) => {
                let bigger = reader.data().len().saturating_mul(2).max(STREAM_BUFFER_BYTES * 2);
                if bigger > MAX_RECORD_BYTES || !reader.grow(bigger) {
                    let what = record_name(reader.data(), pcapng);
                    summary.stopped_early = Some(format!(
                        "{what} at byte {at_byte} is larger than {} MiB",
                        MAX_RECORD_BYTES >> 20
                    ));
                    break;
                }
                if let Err(e) = reader.refill() {
                    summary.stopped_early = Some(format!("read error at byte {at_byte}: {}", short_error(&e)));
                    break;
                }
                continue;
            }
            Err(PcapError::UnexpectedEof) => {
                let what = record_name(reader.data(), pcapng);
                summary.stopped_early = Some(format!("the file ends in the middle of a {what} (at byte {at_byte})"));
                break;
            }
            Err(e) => {
                // Never the parser's own message: it carries the whole read buffer.
                let why = short_error(&e);
                let what = record_name(reader.data(), pcapng);
                summary.stopped_early = Some(format!("damaged {what} at byte {at_byte} ({why})"));
                break;
            }
        };
        if let Some((id, ts, data, caplen, origlen)) = packet {
            let iface = interfaces.get(id).copied();
            let data = data.get(..caplen as usize).unwrap_or(data);
            summary.packets += 1;
            summary.first_ts.get_or_insert(ts);
            if caplen < origlen {
                summary.snap_cut_packets += 1;
            }
            match iface {
                Some(iface) if iface.link_type.is_supported() => analyzer.push_packet(ts, iface.link_type, data, sink),
                _ => summary.unsupported_link_packets += 1,
            }
        }
        reader.consume(consumed);
        if limit.reached(summary.packets, reader.consumed() as u64) {
            break;
        }
        if summary.packets % 4096 == 0 && summary.packets > 0 && !progress(reader.consumed() as u64) {
            summary.cancelled = true;
            break;
        }
    }
    summary.file_bytes_read = reader.consumed() as u64;
    summary
}
