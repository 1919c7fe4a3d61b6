//! Live capture from an interface through libpcap: interfaces, filter checks, the capture
//! loop (writing a pcapng alongside), counters, and what to say when capturing is not allowed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::analysis::link::LinkType;
use crate::analysis::{Analyzer, EventSink, Timestamp};
use crate::capture::keylog_follow::KeyLogFollower;
use crate::export::pcapng_writer::PcapNgWriter;

/// An interface libpcap can capture on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub loopback: bool,
    pub up: bool,
}

impl InterfaceInfo {
    /// "lo (loopback) 127.0.0.1, ::1"
    pub fn label(&self) -> String {
        let mut s = self.name.clone();
        if self.loopback {
            s.push_str(" (loopback)");
        }
        if !self.up {
            s.push_str(" (down)");
        }
        if !self.addresses.is_empty() {
            let addrs: Vec<String> = self.addresses.iter().map(ToString::to_string).collect();
            s.push_str(&format!(" {}", addrs.join(", ")));
        }
        s
    }
}

/// Every interface libpcap reports, loopback first.
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, String> {
    let mut list: Vec<InterfaceInfo> = pcap::Device::list()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|d| InterfaceInfo {
            loopback: d.flags.is_loopback(),
            up: d.flags.is_up(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect();
    list.sort_by_key(|i| (!i.loopback, !i.up, i.name.clone()));
    Ok(list)
}

/// Compiles a BPF filter without capturing; `Err` holds libpcap's message.
pub fn check_filter(filter: &str) -> Result<(), String> {
    if filter.trim().is_empty() {
        return Ok(());
    }
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| e.to_string())?;
    dead.compile(filter, true).map(|_| ()).map_err(|e| e.to_string())
}

/// How to grant capture rights, when `error` says they are missing. Never "run as root".
pub fn permission_help(error: &str) -> Option<String> {
    permission_help_for(error, crate::privileges::capture_group_exists())
}

/// `permission_help`, told whether the package's `framescope` group exists: then the
/// package already gave the binary its capabilities and only group members keep them
/// (src/privileges.rs), so joining the group is the fix, not setcap.
fn permission_help_for(error: &str, packaged: bool) -> Option<String> {
    let lower = error.to_lowercase();
    let denied = lower.contains("permission") || lower.contains("not permitted") || lower.contains("eperm");
    denied.then(|| {
        let exe = std::env::current_exe().map_or_else(|_| "framescope".to_owned(), |p| p.display().to_string());
        let group = crate::privileges::CAPTURE_GROUP;
        let join = format!("`sudo usermod -aG {group} $USER`, then log out and in again (groups are read at login)");
        let setcap = format!("`sudo setcap cap_net_raw,cap_net_admin=eip {exe}`");
        let linux = if packaged {
            format!(
                "on Linux, with the package installed, join its group: {join}; for a binary built by hand, {setcap}"
            )
        } else {
            format!("on Linux {setcap}; with the package installed, join its group instead: {join}")
        };
        format!(
            "framescope is not allowed to capture packets ({error}). Grant the right to the program, \
not root to the whole window: {linux}; \
on macOS give your user read access to /dev/bpf* (Wireshark's ChmodBPF package does this); \
on Windows install Npcap."
        )
    })
}

/// What to capture.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interface: String,
    pub filter: String,
    pub snaplen: i32,
    /// Every packet is also written here (pcapng), so the capture can be saved afterwards.
    pub record_to: PathBuf,
    /// A TLS key log file to follow as it grows: new lines decrypt the sessions they name
    /// and go into the recording as Decryption Secrets Blocks.
    pub keylog: Option<PathBuf>,
}

/// Counters of a running capture, shared with the window.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    /// Dropped by the kernel because the buffer was full (libpcap `ps_drop`).
    pub kernel_dropped: AtomicU64,
    /// Dropped by the interface or driver (libpcap `ps_ifdrop`).
    pub interface_dropped: AtomicU64,
}

/// How long a live TLS flow that ended while waiting for its key stays open for the key
/// (`AnalyzerConfig::tls_key_grace_secs`): Chromium and Firefox write a key log line from
/// another thread, and a short connection can be over before the line is in the file.
pub const LIVE_TLS_KEY_GRACE_SECS: f64 = 5.0;

/// The wall clock as a capture timestamp (live packets carry the same clock).
fn wall_clock() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(i64::try_from(since.as_nanos()).unwrap_or(i64::MAX))
}

/// Captures until `stop` is set, feeding the analyzer and recording a pcapng. TLS flows that
/// end before their key is in the key log wait for it (`LIVE_TLS_KEY_GRACE_SECS` when the
/// analyzer was configured so).
pub fn run_live<S: EventSink>(
    options: &LiveOptions,
    analyzer: &mut Analyzer,
    sink: &mut S,
    stats: &LiveStats,
    stop: &AtomicBool,
) -> Result<u64, String> {
    let describe = |e: pcap::Error| {
        let text = e.to_string();
        permission_help(&text).unwrap_or_else(|| format!("cannot capture on {}: {text}", options.interface))
    };
    let capture = pcap::Capture::from_device(options.interface.as_str())
        .map_err(describe)?
        .snaplen(options.snaplen)
        .immediate_mode(true)
        .buffer_size(32 << 20)
        .precision(pcap::Precision::Nano)
        .open()
        .map_err(describe)?;
    let mut capture = capture;
    if !options.filter.trim().is_empty() {
        capture
            .filter(&options.filter, true)
            .map_err(|e| format!("filter: {e}"))?;
    }
    let dlt = capture.get_datalink().0;
    let link = LinkType::from_dlt(dlt);
    // Non-blocking: a blocking read would wait forever while nothing matches the filter.
    let mut capture = capture.setnonblock().map_err(describe)?;
    let file = crate::capture::recordings::create_file(&options.record_to)
        .map_err(|e| format!("{}: {e}", options.record_to.display()))?;
    let mut writer = PcapNgWriter::new(std::io::BufWriter::new(file)).map_err(|e| e.to_string())?;
    let iface = writer
        .add_interface(dlt as u16, options.snaplen as u32, &options.interface)
        .map_err(|e| e.to_string())?;
    let mut keylog = options.keylog.as_deref().map(KeyLogFollower::new);
    let mut last_stats = Instant::now();
    // The recording is flushed at least every second, so a crash or kill loses at most that.
    let mut last_flush = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // Before the packet: a key written while its handshake was in flight decrypts it.
        if let Some(new_keys) = keylog.as_mut().and_then(|k| k.poll_due(analyzer.keylog_mut())) {
            writer
                .write_tls_keys(&new_keys)
                .map_err(|e| format!("recording: {e}"))?;
            analyzer.settle_waiting_keys(wall_clock(), sink);
        }
        match capture.next_packet() {
            Ok(packet) => {
                let ts = Timestamp::from_secs_nanos(packet.header.ts.tv_sec, packet.header.ts.tv_usec);
                stats.packets.fetch_add(1, Ordering::Relaxed);
                stats.bytes.fetch_add(u64::from(packet.header.len), Ordering::Relaxed);
                writer
                    .write_packet(iface, ts, packet.data, packet.header.len)
                    .map_err(|e| format!("recording: {e}"))?;
                if link.is_supported() {
                    analyzer.push_packet(ts, link, packet.data, sink);
                }
            }
            Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => {
                // Live traffic may pause for a long time right after an event: let the sink
                // pass on what it holds.
                analyzer.settle_waiting_keys(wall_clock(), sink);
                sink.pause();
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(describe(e)),
        }
        if last_flush.elapsed() >= Duration::from_secs(1) {
            last_flush = Instant::now();
            writer.flush().map_err(|e| format!("recording: {e}"))?;
        }
        if last_stats.elapsed() > Duration::from_millis(250) {
            last_stats = Instant::now();
            if let Ok(s) = capture.stats() {
                stats.kernel_dropped.store(u64::from(s.dropped), Ordering::Relaxed);
                stats
                    .interface_dropped
                    .store(u64::from(s.if_dropped), Ordering::Relaxed);
            }
        }
    }
    writer.flush().map_err(|e| e.to_string())?;
    Ok(stats.packets.load(Ordering::Relaxed))
}

/// Copies a finished recording to where the user wants it.
pub fn save_recording(recording: &Path, to: &Path) -> std::io::Result<u64> {
    std::fs::copy(recording, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_with_libpcaps_own_message() {
        assert_eq!(check_filter("tcp port 8080 and host 127.0.0.1"), Ok(()));
        assert_eq!(check_filter("  "), Ok(()));
        let err = check_filter("tcp port banana").expect_err("bad filter");
        assert!(
            err.contains("banana") || err.contains("syntax") || err.contains("unknown"),
            "{err}"
        );
    }

    #[test]
    fn permission_errors_explain_setcap_and_never_suggest_root() {
        let help = permission_help("socket: Operation not permitted").expect("recognised");
        assert!(help.contains("setcap cap_net_raw,cap_net_admin=eip"));
        assert!(help.contains("ChmodBPF") && help.contains("Npcap"));
        assert!(!help.contains("sudo framescope") && !help.contains("run as root"));
        assert_eq!(permission_help("No such device exists"), None);
    }

    #[test]
    fn permission_errors_name_the_packaged_group_first_when_it_exists() {
        let packaged = permission_help_for("socket: Operation not permitted", true).expect("recognised");
        let join = packaged.find("sudo usermod -aG framescope $USER").expect("usermod");
        assert!(packaged.contains("log out and in again"));
        assert!(join < packaged.find("setcap").expect("setcap for hand-built binaries"));
        let by_hand = permission_help_for("socket: Operation not permitted", false).expect("recognised");
        assert!(by_hand.find("setcap") < by_hand.find("usermod"), "{by_hand}");
    }

    #[test]
    fn the_loopback_interface_is_listed_and_marked() {
        let list = list_interfaces().expect("interfaces");
        let lo = list.iter().find(|i| i.loopback).expect("a loopback interface");
        assert!(lo.label().contains("(loopback)"));
        assert!(list.first().is_some_and(|i| i.loopback), "loopback sorts first");
    }
}
