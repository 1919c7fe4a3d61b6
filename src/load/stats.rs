//! Counters and HDR histograms shared by every virtual client (one mutex per histogram:
//! recording is a few nanoseconds, far below a message's cost), the live line and the report.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

pub struct Stats {
    pub connect: Mutex<Histogram<u64>>,
    pub handshake: Mutex<Histogram<u64>>,
    pub rtt: Mutex<Histogram<u64>>,
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub bytes_received: AtomicU64,
    pub open: AtomicU64,
    pub peak_open: AtomicU64,
    pub connects: AtomicU64,
    pub errors: Mutex<BTreeMap<String, u64>>,
}

/// Microseconds from 1 µs to 10 minutes, 3 significant digits.
fn histogram() -> Histogram<u64> {
    // Constant, valid bounds (hdrhistogram checks 1 <= low, high >= 2 * low, digits <= 5).
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant histogram bounds are valid")
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    pub sent: u64,
    pub received: u64,
    pub open: u64,
    pub errors: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            connect: Mutex::new(histogram()),
            handshake: Mutex::new(histogram()),
            rtt: Mutex::new(histogram()),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            open: AtomicU64::new(0),
            peak_open: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn record(h: &Mutex<Histogram<u64>>, d: Duration) {
        if let Ok(mut h) = h.lock() {
            h.saturating_record((d.as_micros() as u64).max(1));
        }
    }

    pub fn error(&self, kind: String) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(kind).or_default() += 1;
        }
    }

    pub fn opened(&self) {
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_open.fetch_max(now, Ordering::Relaxed);
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            open: self.open.load(Ordering::Relaxed),
            errors: self.errors.lock().map(|e| e.values().sum()).unwrap_or(0),
        }
    }

    pub fn report(&self, elapsed: Duration) -> Report {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let received = self.received.load(Ordering::Relaxed);
        let bytes = self.bytes_received.load(Ordering::Relaxed) + self.bytes_sent.load(Ordering::Relaxed);
        Report {
            seconds: secs,
            connections_opened: self.connects.load(Ordering::Relaxed),
            peak_open: self.peak_open.load(Ordering::Relaxed),
            messages_sent: self.sent.load(Ordering::Relaxed),
            messages_received: received,
            messages_per_second: received as f64 / secs,
            bytes_per_second: bytes as f64 / secs,
            connect_ms: Percentiles::of(&self.connect),
            handshake_ms: Percentiles::of(&self.handshake),
            rtt_ms: Percentiles::of(&self.rtt),
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Mutex<Histogram<u64>>) -> Percentiles {
        let Ok(h) = h.lock() else { return Percentiles::default() };
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seconds: f64,
    pub connections_opened: u64,
    pub peak_open: u64,
    pub messages_sent: u64,
    pub messages_received: u64,
    pub messages_per_second: f64,
    pub bytes_per_second: f64,
    pub connect_ms: Percentiles,
    pub handshake_ms: Percentiles,
    pub rtt_ms: Percentiles,
    pub errors: BTreeMap<String, u64>,
}

impl Report {
    pub fn text(&self) -> String {
        let p = |name: &str, x: &Percentiles| {
            format!(
                "  {name:<10} n={:<9} p50 {:.3}  p90 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3} ms\n",
                x.count, x.p50, x.p90, x.p95, x.p99, x.max
            )
        };
        let mut s = format!(
            "{:.1} s: {} connections opened (peak {} open), {} messages sent, {} received ({:.0} msg/s, {:.1} MB/s)\n",
            self.seconds,
            self.connections_opened,
            self.peak_open,
            self.messages_sent,
            self.messages_received,
            self.messages_per_second,
            self.bytes_per_second / 1e6
        );
        s.push_str(&p("connect", &self.connect_ms));
        s.push_str(&p("handshake", &self.handshake_ms));
        s.push_str(&p("round trip", &self.rtt_ms));
        if self.errors.is_empty() {
            s.push_str("  no errors\n");
        }
        for (k, n) in &self.errors {
            s.push_str(&format!("  error: {k}: {n}\n"));
        }
        s
    }
}

pub fn live_line(t: Duration, last: &Snapshot, now: &Snapshot) -> String {
    format!(
        "[{:>5.1}s] open {:>6}  sent {:>8}/s  received {:>8}/s  errors {}",
        t.as_secs_f64(),
        now.open,
        now.sent.saturating_sub(last.sent),
        now.received.saturating_sub(last.received),
        now.errors
    )
}
