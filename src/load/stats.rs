//! Counters and HDR histograms shared by every virtual client, the live line and the report.
//! Round trips and message counts are first kept in each client's `Tally` and added to the
//! shared ones in batches: at 100 000 messages a second, one lock or atomic per message on
//! two cores' shared cache lines was a measurable share of the client's time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

pub struct Stats {
    pub connect: Mutex<Histogram<u64>>,
    pub handshake: Mutex<Histogram<u64>>,
    pub tls: Mutex<Histogram<u64>>,
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
            tls: Mutex::new(histogram()),
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

    pub fn report(&self, elapsed: Duration, stopped_early: bool) -> Report {
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
            steady_messages_per_second: None,
            bytes_per_second: bytes as f64 / secs,
            connect_ms: Percentiles::of(&self.connect),
            handshake_ms: Percentiles::of(&self.handshake),
            tls_ms: Percentiles::of(&self.tls),
            rtt_ms: Percentiles::of(&self.rtt),
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
            stopped_early,
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
    /// Replies per second over the whole run, ramp-up and closing included.
    pub messages_per_second: f64,
    /// Replies per second from the end of ramp-up to the end (when that is a second or more).
    pub steady_messages_per_second: Option<f64>,
    pub bytes_per_second: f64,
    pub connect_ms: Percentiles,
    pub handshake_ms: Percentiles,
    /// The TLS handshake of `wss://` connections (count 0 for `ws://`).
    pub tls_ms: Percentiles,
    pub rtt_ms: Percentiles,
    pub errors: BTreeMap<String, u64>,
    /// The run was cancelled before its end.
    pub stopped_early: bool,
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
        if let Some(steady) = self.steady_messages_per_second {
            s.push_str(&format!("  after ramp-up: {steady:.0} msg/s\n"));
        }
        if self.stopped_early {
            s.push_str("  stopped before its end\n");
        }
        s.push_str(&p("connect", &self.connect_ms));
        if self.tls_ms.count > 0 {
            s.push_str(&p("tls", &self.tls_ms));
        }
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

/// One client's counts and round trips not yet added to the shared `Stats`: added when
/// `FLUSH_SAMPLES` have gathered, `FLUSH_EVERY` has passed (so the live line stays current),
/// and when dropped.
pub struct Tally {
    stats: Arc<Stats>,
    rtt_us: Vec<u64>,
    sent: u64,
    bytes_sent: u64,
    received: u64,
    bytes_received: u64,
    last_flush: Instant,
}

const FLUSH_SAMPLES: usize = 256;
const FLUSH_EVERY: Duration = Duration::from_millis(100);

impl Tally {
    pub fn new(stats: Arc<Stats>) -> Tally {
        Tally {
            stats,
            // Grows to FLUSH_SAMPLES at most; 10 000 idle clients keep none.
            rtt_us: Vec::new(),
            sent: 0,
            bytes_sent: 0,
            received: 0,
            bytes_received: 0,
            last_flush: Instant::now(),
        }
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    pub fn sent(&mut self, messages: u64, bytes: u64) {
        self.sent += messages;
        self.bytes_sent += bytes;
    }

    /// A message received at `now`, with its round trip when it answered one of ours.
    pub fn received(&mut self, bytes: u64, rtt: Option<Duration>, now: Instant) {
        self.received += 1;
        self.bytes_received += bytes;
        if let Some(d) = rtt {
            self.rtt_us.push((d.as_micros() as u64).max(1));
        }
        self.flush_if_due(now);
    }

    pub fn flush_if_due(&mut self, now: Instant) {
        if self.rtt_us.len() >= FLUSH_SAMPLES || now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush(now);
        }
    }

    pub fn flush(&mut self, now: Instant) {
        self.last_flush = now;
        let s = &self.stats;
        for (counter, value) in [
            (&s.sent, &mut self.sent),
            (&s.bytes_sent, &mut self.bytes_sent),
            (&s.received, &mut self.received),
            (&s.bytes_received, &mut self.bytes_received),
        ] {
            if *value > 0 {
                counter.fetch_add(std::mem::take(value), Ordering::Relaxed);
            }
        }
        if !self.rtt_us.is_empty()
            && let Ok(mut h) = s.rtt.lock()
        {
            for us in self.rtt_us.drain(..) {
                h.saturating_record(us);
            }
        }
        self.rtt_us.clear();
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        self.flush(Instant::now());
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
