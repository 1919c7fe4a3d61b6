//! What TCP did under a connection: retransmissions, reordering, gaps and zero-window
//! periods (backpressure), counted per direction for the connection's end event.

use crate::analysis::event::TcpDirHealth;
use crate::analysis::tcp::ReassemblyStats;
use crate::analysis::time::Timestamp;

/// Zero-window periods advertised by one side: the side's receive buffer was full, so its
/// peer had to stop sending.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZeroWindowTracker {
    since: Option<Timestamp>,
    pub periods: u64,
    pub micros: u64,
}

impl ZeroWindowTracker {
    /// One segment sent by this side. SYNs carry an unscaled window and RSTs no meaningful
    /// one, so neither says anything about the receive buffer.
    pub fn on_segment(&mut self, ts: Timestamp, window: u16, syn: bool, rst: bool) {
        if syn || rst {
            return;
        }
        match (window, self.since) {
            (0, None) => {
                self.since = Some(ts);
                self.periods += 1;
            }
            (0, Some(_)) => {}
            (_, Some(since)) => {
                self.close(since, ts);
                self.since = None;
            }
            (_, None) => {}
        }
    }

    /// The flow ended: a period still open lasts until `ts`.
    pub fn finish(&mut self, ts: Timestamp) {
        if let Some(since) = self.since.take() {
            self.close(since, ts);
        }
    }

    fn close(&mut self, since: Timestamp, until: Timestamp) {
        let micros = until.nanos.saturating_sub(since.nanos).max(0) / 1000;
        self.micros = self.micros.saturating_add(micros as u64);
    }
}

/// One direction's counters: what its sender's segments did (`sent`) and the zero-window
/// periods its receiver advertised (`receiver_zero_window`, tracked on the other side).
pub fn direction_health(sent: &ReassemblyStats, receiver_zero_window: &ZeroWindowTracker) -> TcpDirHealth {
    TcpDirHealth {
        segments: sent.segments,
        retransmissions: sent.retransmitted_segments,
        duplicate_bytes: sent.duplicate_bytes,
        out_of_order: sent.out_of_order_segments,
        gaps: sent.gaps,
        gap_bytes: sent.gap_bytes,
        overlap_conflicts: sent.overlap_conflicts,
        zero_windows: receiver_zero_window.periods,
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
