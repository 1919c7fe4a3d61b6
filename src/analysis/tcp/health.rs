//! What TCP did under a connection: retransmissions, reordering, gaps and zero-window
//! periods (backpressure), counted per direction for the connection's end event.

use crate::analysis::event::TcpDirHealth;
use crate::analysis::tcp::ReassemblyStats;
use crate::analysis::time::Timestamp;

/// Zero-window periods advertised by one side: the side's receive buffer was full, so its
/// peer had to stop sending.
#[derive(Clone, Copy, Debug)]
pub struct ZeroWindowTracker {
    /// When the open period began, in nanoseconds; `NOT_ZERO` while the window is open (a
    /// plain integer, not an `Option`: every flow has two of these).
    since_nanos: i64,
    pub periods: u32,
    pub micros: u64,
}

const NOT_ZERO: i64 = i64::MIN;

impl Default for ZeroWindowTracker {
    fn default() -> Self {
        ZeroWindowTracker {
            since_nanos: NOT_ZERO,
            periods: 0,
            micros: 0,
        }
    }
}

impl ZeroWindowTracker {
    /// One segment sent by this side. SYNs carry an unscaled window and RSTs no meaningful
    /// one, so neither says anything about the receive buffer.
    pub fn on_segment(&mut self, ts: Timestamp, window: u16, syn: bool, rst: bool) {
        if syn || rst {
            return;
        }
        let open = self.since_nanos == NOT_ZERO;
        if window == 0 && open {
            self.since_nanos = ts.nanos;
            self.periods = self.periods.saturating_add(1);
        } else if window != 0 && !open {
            self.close(ts);
        }
    }

    /// The flow ended: a period still open lasts until `ts`.
    pub fn finish(&mut self, ts: Timestamp) {
        if self.since_nanos != NOT_ZERO {
            self.close(ts);
        }
    }

    fn close(&mut self, until: Timestamp) {
        let micros = until.nanos.saturating_sub(self.since_nanos).max(0) / 1000;
        self.micros = self.micros.saturating_add(micros as u64);
        self.since_nanos = NOT_ZERO;
    }
}

/// One direction's counters: what its sender's segments did (`sent`) and the zero-window
/// periods its receiver advertised (`receiver_zero_window`, tracked on the other side).
pub fn direction_health(sent: &ReassemblyStats, receiver_zero_window: &ZeroWindowTracker) -> TcpDirHealth {
    TcpDirHealth {
        segments: u64::from(sent.segments),
        retransmissions: u64::from(sent.retransmitted_segments),
        duplicate_bytes: sent.duplicate_bytes,
        out_of_order: u64::from(sent.out_of_order_segments),
        gaps: u64::from(sent.gaps),
        gap_bytes: sent.gap_bytes,
        overlap_conflicts: u64::from(sent.overlap_conflicts),
        zero_windows: u64::from(receiver_zero_window.periods),
        zero_window_micros: receiver_zero_window.micros,
    }
}

/// "1200 segments, 3 retransmitted, 2 gaps (1460 B), zero window 1× 340.0 ms": the counters
/// that are not zero, for the summary and the window.
pub fn describe(h: &TcpDirHealth) -> String {
    let mut parts = vec![format!("{} segments", h.segments)];
    if h.retransmissions > 0 {
        parts.push(format!(
            "{} retransmitted ({} B again)",
            h.retransmissions, h.duplicate_bytes
        ));
    }
    if h.out_of_order > 0 {
        parts.push(format!("{} out of order", h.out_of_order));
    }
    if h.gaps > 0 {
        parts.push(format!("{} gaps ({} B missing)", h.gaps, h.gap_bytes));
    }
    if h.overlap_conflicts > 0 {
        parts.push(format!("{} overlap conflicts", h.overlap_conflicts));
    }
    if h.zero_windows > 0 {
        let ms = h.zero_window_micros as f64 / 1000.0;
        parts.push(format!("zero window {}× {ms:.1} ms", h.zero_windows));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp { nanos: ms * 1_000_000 }
    }

    #[test]
    fn a_zero_window_period_runs_from_the_first_zero_to_the_first_opening() {
        let mut z = ZeroWindowTracker::default();
        z.on_segment(at(0), 512, false, false);
        z.on_segment(at(10), 0, false, false);
        z.on_segment(at(20), 0, false, false);
        z.on_segment(at(45), 1024, false, false);
        z.on_segment(at(50), 0, true, false);
        z.on_segment(at(60), 0, false, true);
        assert_eq!((z.periods, z.micros), (1, 35_000));
        z.on_segment(at(100), 0, false, false);
        z.finish(at(130));
        assert_eq!((z.periods, z.micros), (2, 65_000));
        let h = direction_health(&ReassemblyStats::default(), &z);
        assert_eq!(describe(&h), "0 segments, zero window 2× 65.0 ms");
    }
}
