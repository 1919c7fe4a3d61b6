//! A constant-memory latency histogram with about 1% relative error, for RTT percentiles.

use std::collections::BTreeMap;

/// Log-spaced buckets: bucket `i` holds values near `1.01^i` microseconds.
#[derive(Clone, Debug, Default)]
pub struct LogHistogram {
    buckets: BTreeMap<u16, u64>,
    count: u64,
    min_ms: f64,
    max_ms: f64,
}

const GROWTH: f64 = 1.01;

impl LogHistogram {
    pub fn record_ms(&mut self, ms: f64) {
        let ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
        let micros = (ms * 1000.0).max(1.0);
        let index = (micros.ln() / GROWTH.ln()).round().clamp(0.0, f64::from(u16::MAX)) as u16;
        *self.buckets.entry(index).or_insert(0) += 1;
        if self.count == 0 {
            self.min_ms = ms;
            self.max_ms = ms;
        } else {
            self.min_ms = self.min_ms.min(ms);
            self.max_ms = self.max_ms.max(ms);
        }
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min_ms(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min_ms)
    }

    pub fn max_ms(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max_ms)
    }

    /// The value at quantile `q` (0..=1), in milliseconds, clamped to the observed range.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        if rank >= self.count {
            return Some(self.max_ms);
        }
        let mut seen = 0;
        for (&index, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                let micros = GROWTH.powi(i32::from(index));
                return Some((micros / 1000.0).clamp(self.min_ms, self.max_ms));
            }
        }
        Some(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_one_percent() {
        let mut h = LogHistogram::default();
        for i in 1..=1000 {
            h.record_ms(i as f64 / 10.0);
        }
        let p50 = h.quantile_ms(0.5).expect("p50");
        let p99 = h.quantile_ms(0.99).expect("p99");
        assert!((p50 - 50.0).abs() / 50.0 < 0.011, "{p50}");
        assert!((p99 - 99.0).abs() / 99.0 < 0.011, "{p99}");
        assert_eq!(h.quantile_ms(1.0), Some(100.0));
        assert_eq!(h.min_ms(), Some(0.1));
        assert_eq!(LogHistogram::default().quantile_ms(0.5), None);
    }
}
