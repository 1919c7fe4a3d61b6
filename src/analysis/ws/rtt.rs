//! Pairing pongs with pings: same payload, opposite direction, oldest first.

use std::collections::VecDeque;

use crate::analysis::event::Direction;
use crate::analysis::time::Timestamp;

/// Pings remembered per direction (each at most 125 bytes of payload, so at most about
/// 180 KiB per direction); past this the oldest are dropped unpaired and the connection gets
/// one `ping-window` finding, not a `pong-missing` per ping (a burst of pings answered late is
/// not a burst of missing pongs).
pub const MAX_OUTSTANDING_PINGS: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutstandingPing {
    pub ts: Timestamp,
    pub payload: Vec<u8>,
}

/// Outstanding pings of one connection.
#[derive(Debug, Default)]
pub struct PingTracker {
    /// Indexed by the ping's direction.
    outstanding: [VecDeque<OutstandingPing>; 2],
}

impl PingTracker {
    /// Remembers a ping. Returns a ping pushed out by the cap: it is no longer paired.
    pub fn on_ping(&mut self, dir: Direction, ts: Timestamp, payload: &[u8]) -> Option<OutstandingPing> {
        let queue = &mut self.outstanding[dir.index()];
        let evicted = if queue.len() >= MAX_OUTSTANDING_PINGS {
            queue.pop_front()
        } else {
            None
        };
        queue.push_back(OutstandingPing {
            ts,
            payload: payload.to_vec(),
        });
        evicted
    }

    /// A pong travelling in `pong_dir`: returns the time of the ping it answers.
    ///
    /// RFC 6455 §5.5.3: a pong answers the most recent ping, but may skip some; pairing by
    /// payload from the oldest outstanding ping handles both. Pings skipped over by this
    /// pong are kept: an unanswered one is reported when it times out.
    pub fn on_pong(&mut self, pong_dir: Direction, payload: &[u8]) -> Option<Timestamp> {
        let queue = &mut self.outstanding[pong_dir.opposite().index()];
        let pos = queue.iter().position(|p| p.payload == payload)?;
        queue.remove(pos).map(|p| p.ts)
    }

    /// Removes and returns pings older than `timeout_secs` at `now`, with their direction.
    pub fn expire(&mut self, now: Timestamp, timeout_secs: f64) -> Vec<(Direction, OutstandingPing)> {
        // Called for every message: cheap when nothing is outstanding or nothing is due.
        let due = |p: &OutstandingPing| now.millis_since(p.ts) >= timeout_secs * 1000.0;
        if !self.outstanding.iter().any(|q| q.front().is_some_and(due)) {
            return Vec::new();
        }
        self.take_where(|p| now.millis_since(p.ts) >= timeout_secs * 1000.0)
    }

    fn take_where(&mut self, mut pred: impl FnMut(&OutstandingPing) -> bool) -> Vec<(Direction, OutstandingPing)> {
        let mut out = Vec::new();
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let queue = &mut self.outstanding[dir.index()];
            let mut kept = VecDeque::with_capacity(queue.len());
            for p in queue.drain(..) {
                if pred(&p) {
                    out.push((dir, p));
                } else {
                    kept.push_back(p);
                }
            }
            *queue = kept;
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.outstanding.iter().all(VecDeque::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn pairs_by_payload_in_the_opposite_direction() {
        let mut p = PingTracker::default();
        p.on_ping(Direction::ClientToServer, t(0), b"a");
        p.on_ping(Direction::ClientToServer, t(10), b"b");
        p.on_ping(Direction::ServerToClient, t(12), b"a");
        // A pong from the server answers the client's ping "b".
        assert_eq!(p.on_pong(Direction::ServerToClient, b"b"), Some(t(10)));
        // The same payload cannot be answered twice.
        assert_eq!(p.on_pong(Direction::ServerToClient, b"b"), None);
        // A pong from the client answers the server's ping "a", not the client's.
        assert_eq!(p.on_pong(Direction::ClientToServer, b"a"), Some(t(12)));
        let expired = p.expire(t(40_000), 30.0);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].0, Direction::ClientToServer);
        assert_eq!(expired[0].1.payload, b"a");
        assert!(p.is_empty());
    }

    #[test]
    fn ten_thousand_pings_answered_late_all_pair_within_the_window_or_are_dropped_quietly() {
        let mut p = PingTracker::default();
        let mut evicted = 0;
        for i in 0..10_000u32 {
            if p.on_ping(Direction::ClientToServer, t(i64::from(i)), &i.to_be_bytes())
                .is_some()
            {
                evicted += 1;
            }
        }
        assert_eq!(evicted, 10_000 - MAX_OUTSTANDING_PINGS);
        // The pongs of the pings still remembered all pair, in any order.
        let paired = (0..10_000u32)
            .rev()
            .filter(|i| p.on_pong(Direction::ServerToClient, &i.to_be_bytes()).is_some())
            .count();
        assert_eq!(paired, MAX_OUTSTANDING_PINGS);
        assert!(p.is_empty());
    }
}
