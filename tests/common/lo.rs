//! Capturing on `lo` with libpcap for tests that record real peers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use framescope::analysis::Timestamp;

/// Captures packets on `lo` matching `filter` until `stop` is set (at most `limit`).
pub fn capture_on_lo(
    filter: &str,
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
    limit: Duration,
) -> Result<Vec<(Timestamp, Vec<u8>)>, String> {
    let mut cap = pcap::Capture::from_device("lo")
        .map_err(|e| e.to_string())?
        .snaplen(262_144)
        .buffer_size(64 << 20)
        .immediate_mode(true)
        .precision(pcap::Precision::Nano)
        .open()
        .map_err(|e| e.to_string())?;
    cap.filter(filter, true).map_err(|e| e.to_string())?;
    // Non-blocking: next_packet() would otherwise block while nothing matches the filter.
    let mut cap = cap.setnonblock().map_err(|e| e.to_string())?;
    ready.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let mut packets = Vec::new();
    let mut quiet_since_stop = 0;
    while started.elapsed() < limit {
        match cap.next_packet() {
            Ok(p) => {
                let ts = Timestamp::from_secs_nanos(p.header.ts.tv_sec, p.header.ts.tv_usec);
                packets.push((ts, p.data.to_vec()));
            }
            Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => {
                if stop.load(Ordering::SeqCst) {
                    quiet_since_stop += 1;
                    if quiet_since_stop > 20 {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(packets)
}

/// Captured packets: time and bytes from the link layer up.
pub type Packets = Vec<(Timestamp, Vec<u8>)>;

/// Runs `work` while capturing on `lo` with `filter`; returns what `work` returned and the
/// packets. `None` (after `skip_or_fail_in_ci`) when this machine cannot capture.
pub fn capture_lo_while<T>(filter: &str, work: impl FnOnce() -> T) -> Option<(T, Packets)> {
    if let Err(e) = pcap::Capture::from_device("lo").and_then(|c| c.open()) {
        crate::common::skip_or_fail_in_ci(&format!("cannot capture on lo ({e})"));
        return None;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));
    let capture = {
        let (filter, stop, ready) = (filter.to_owned(), stop.clone(), ready.clone());
        std::thread::spawn(move || capture_on_lo(&filter, stop, ready, Duration::from_secs(60)))
    };
    let started = Instant::now();
    while !ready.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let result = work();
    stop.store(true, Ordering::SeqCst);
    let packets = capture.join().expect("capture thread").expect("capture");
    Some((result, packets))
}
