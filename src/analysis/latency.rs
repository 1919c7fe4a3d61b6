//! RTT percentiles, one definition for the window and `analyze --summary`: nearest rank over
//! the exact samples while there are at most `EXACT_SAMPLES` of them, then a log-bucketed
//! histogram whose answers are within 0.5% (relative) of the exact nearest-rank value.

use std::collections::BTreeMap;

/// Samples kept exactly; past this many, memory stays constant and answers are bucketed.
pub const EXACT_SAMPLES: usize = 65_536;

/// Bucket `i` holds values near `GROWTH^i` microseconds: adjacent buckets are 1% apart, so
/// rounding to the nearest is at most 0.5% off.
const GROWTH: f64 = 1.01;

/// The value at quantile `q` (0..=1) of ascending `sorted` values: the nearest-rank
/// definition (the smallest value with at least `q` of all values at or below it).
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

/// Collects latencies in milliseconds and answers percentiles.
#[derive(Clone, Debug, Default)]
pub struct LatencyRecorder {
    /// Every sample while there are at most `EXACT_SAMPLES`; emptied when the histogram
    /// takes over.
    exact: Vec<f64>,
    sorted: bool,
    buckets: BTreeMap<u16, u64>,
    count: u64,
    min_ms: f64,
    max_ms: f64,
}

/// What the window and the report show of a set of latencies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencyRecorder {
    pub fn record_ms(&mut self, ms: f64) {
        let ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
        if self.count == 0 {
            self.min_ms = ms;
            self.max_ms = ms;
        } else {
            self.min_ms = self.min_ms.min(ms);
            self.max_ms = self.max_ms.max(ms);
        }
        self.count += 1;
        if self.count as usize <= EXACT_SAMPLES {
            self.exact.push(ms);
            self.sorted = false;
            return;
        }
        if !self.exact.is_empty() {
            for v in std::mem::take(&mut self.exact) {
                self.bucket(v);
            }
        }
        self.bucket(ms);
    }

    fn bucket(&mut self, ms: f64) {
        let micros = (ms * 1000.0).max(1.0);
        let index = (micros.ln() / GROWTH.ln()).round().clamp(0.0, f64::from(u16::MAX)) as u16;
        *self.buckets.entry(index).or_insert(0) += 1;
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
    pub fn quantile_ms(&mut self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        if self.buckets.is_empty() {
            if !self.sorted {
                self.exact.sort_by(f64::total_cmp);
                self.sorted = true;
            }
            return nearest_rank(&self.exact, q);
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

    /// Count, min, p50, p95, p99 and max; `None` without samples.
    pub fn summary(&mut self) -> Option<LatencySummary> {
        Some(LatencySummary {
            count: self.count,
            min_ms: self.min_ms()?,
            p50_ms: self.quantile_ms(0.5)?,
            p95_ms: self.quantile_ms(0.95)?,
            p99_ms: self.quantile_ms(0.99)?,
            max_ms: self.max_ms()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_one_percent() {
        let mut h = LatencyRecorder::default();
        for i in 1..=1000 {
            h.record_ms(i as f64 / 10.0);
        }
        let p50 = h.quantile_ms(0.5).expect("p50");
        let p99 = h.quantile_ms(0.99).expect("p99");
        assert!((p50 - 50.0).abs() / 50.0 < 0.011, "{p50}");
        assert!((p99 - 99.0).abs() / 99.0 < 0.011, "{p99}");
        assert_eq!(h.quantile_ms(1.0), Some(100.0));
        assert_eq!(h.min_ms(), Some(0.1));
        assert_eq!(LatencyRecorder::default().quantile_ms(0.5), None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.5), Some(50.0));
        assert_eq!(nearest_rank(&v, 0.99), Some(99.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn small_sets_are_exact_and_large_ones_within_half_a_percent() {
        let mut small = LatencyRecorder::default();
        for i in (1..=1000).rev() {
            small.record_ms(f64::from(i) * 0.37);
        }
        let exact: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 0.37).collect();
        assert_eq!(small.quantile_ms(0.95), nearest_rank(&exact, 0.95));
        // Past the exact limit the histogram answers; compare with the exact definition.
        let n = EXACT_SAMPLES as u32 * 2;
        let mut large = LatencyRecorder::default();
        let mut all = Vec::new();
        for i in 0..n {
            let v = 0.05 + f64::from(i % 9973) * 0.013;
            large.record_ms(v);
            all.push(v);
        }
        all.sort_by(f64::total_cmp);
        for q in [0.5, 0.95, 0.99] {
            let want = nearest_rank(&all, q).expect("value");
            let got = large.quantile_ms(q).expect("value");
            assert!((got - want).abs() / want <= 0.005 + 1e-9, "q {q}: {got} vs {want}");
        }
        assert_eq!(large.count(), u64::from(n));
    }
}
