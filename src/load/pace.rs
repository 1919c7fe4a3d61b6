//! When a virtual client sends: message k (from 0) is due k/rate seconds after the client
//! started talking. The client wakes at most once per `QUANTUM` and sends everything due in
//! one write — at high rates one timer and one system call carry several messages, each
//! still stamped with the moment it was built, so round trips stay exact.

use std::time::{Duration, Instant};

/// The shortest sleep between two sends of one client. Below 1/rate it batches; tokio's
/// timer ticks in milliseconds anyway.
pub const QUANTUM: Duration = Duration::from_millis(5);

/// Most messages sent in one wake-up; a client further behind yields and goes on at once,
/// so one connection never starves the others on its worker thread.
pub const MAX_BURST: u64 = 256;

#[derive(Clone, Debug)]
pub struct Pace {
    start: Instant,
    rate: f64,
    sent: u64,
}

impl Pace {
    /// `None` when the rate is 0 (the client only holds its connection).
    pub fn new(start: Instant, rate: f64) -> Option<Pace> {
        (rate > 0.0 && rate.is_finite()).then_some(Pace { start, rate, sent: 0 })
    }

    /// Messages due by `now` not yet sent: how many to send now (at most `MAX_BURST`).
    pub fn due(&self, now: Instant) -> u64 {
        self.owed(now).min(MAX_BURST)
    }

    fn owed(&self, now: Instant) -> u64 {
        let scheduled = (now.saturating_duration_since(self.start).as_secs_f64() * self.rate).floor() as u64 + 1;
        scheduled.saturating_sub(self.sent)
    }

    pub fn sent(&mut self, n: u64) {
        self.sent += n;
    }

    pub fn total_sent(&self) -> u64 {
        self.sent
    }

    /// When to wake next: at once when still behind, else when the next message is due but
    /// no sooner than `QUANTUM` from now.
    pub fn next_wake(&self, now: Instant) -> Instant {
        if self.owed(now) > 0 {
            return now;
        }
        let next_due = self.start + Duration::from_secs_f64(self.sent as f64 / self.rate);
        next_due.max(now + QUANTUM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_rates_send_one_message_per_wake_at_its_time() {
        let t0 = Instant::now();
        let mut p = Pace::new(t0, 20.0).unwrap();
        assert_eq!(p.due(t0), 1, "the first message goes at once");
        p.sent(1);
        assert_eq!(p.due(t0 + Duration::from_millis(49)), 0);
        assert_eq!(p.next_wake(t0), t0 + Duration::from_millis(50));
        assert_eq!(p.due(t0 + Duration::from_millis(50)), 1);
    }

    #[test]
    fn fast_rates_batch_per_quantum_and_catch_up_in_bounded_bursts() {
        let t0 = Instant::now();
        let mut p = Pace::new(t0, 1000.0).unwrap();
        p.sent(p.due(t0));
        // Next due in 1 ms, but the client sleeps a quantum and then sends the 5 owed.
        assert_eq!(p.next_wake(t0), t0 + QUANTUM);
        assert_eq!(p.due(t0 + QUANTUM), 5);
        // Two seconds behind: 2000 owed, sent MAX_BURST at a time with no sleep between.
        let late = t0 + Duration::from_secs(2);
        assert_eq!(p.due(late), MAX_BURST);
        p.sent(MAX_BURST);
        assert_eq!(p.next_wake(late), late);
        assert_eq!(p.total_sent(), 1 + MAX_BURST);
        assert!(Pace::new(t0, 0.0).is_none());
    }
}
