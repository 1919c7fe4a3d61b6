//! Capture timestamps: nanoseconds since the Unix epoch, carried with the bytes.

use std::fmt;

/// A point in capture time, in nanoseconds since the Unix epoch.
///
/// The analysis core never reads a clock: every timestamp comes from the caller
/// (a pcap record header or the live byte tap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub nanos: i64,
}

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp { nanos: 0 };

    pub fn from_nanos(nanos: i64) -> Self {
        Timestamp { nanos }
    }

    pub fn from_secs_nanos(secs: i64, nanos: i64) -> Self {
        Timestamp {
            nanos: secs.saturating_mul(1_000_000_000).saturating_add(nanos),
        }
    }

    pub fn from_secs_micros(secs: i64, micros: i64) -> Self {
        Self::from_secs_nanos(secs, micros.saturating_mul(1000))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> f64 {
        self.nanos.saturating_sub(earlier.nanos) as f64 / 1e6
    }

    pub fn saturating_add_secs(self, secs: u64) -> Timestamp {
        let add = i64::try_from(secs).unwrap_or(i64::MAX / 1_000_000_000);
        Timestamp {
            nanos: self.nanos.saturating_add(add.saturating_mul(1_000_000_000)),
        }
    }
}

/// Writes seconds since the epoch with microsecond precision, e.g. `1732181234.123456`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Round to the nearest microsecond, then split; handles negative times too.
        let micros = (self.nanos as i128 + 500).div_euclid(1000);
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        write!(f, "{secs}.{frac:06}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_seconds_with_six_decimals() {
        let ts = Timestamp::from_secs_micros(1_732_181_234, 123_456);
        assert_eq!(ts.to_string(), "1732181234.123456");
        assert_eq!(Timestamp::from_secs_nanos(5, 999_999_600).to_string(), "6.000000");
        assert_eq!(Timestamp::from_secs_nanos(0, 7).to_string(), "0.000000");
    }

    #[test]
    fn millis_since_measures_the_difference() {
        let a = Timestamp::from_secs_micros(10, 0);
        let b = Timestamp::from_secs_micros(10, 410);
        assert!((b.millis_since(a) - 0.41).abs() < 1e-9);
    }
}
