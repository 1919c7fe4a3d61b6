//! Application round trips: requests paired with their answers by protocol id (JSON-RPC id,
//! Socket.IO ack id, MQTT packet id, STOMP receipt, GraphQL operation id).

use std::collections::VecDeque;

use crate::analysis::app::Protocol;
use crate::analysis::event::{ConnId, Direction};
use crate::analysis::time::Timestamp;

/// Requests waiting for an answer per connection; past it the oldest is dropped and the
/// tracker reports `app-rtt-limit` (a peer that never answers must not grow memory).
pub const MAX_OUTSTANDING_PER_CONN: usize = 1024;

/// One pairing step a decoder found in a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairOp {
    /// A request that the other direction answers naming `id`; `key` is what latencies are
    /// grouped by (method, event, topic, operation).
    Request {
        protocol: Protocol,
        id: String,
        key: String,
    },
    /// An answer naming the `id` of a request the other direction sent.
    Response { protocol: Protocol, id: String },
}

/// One request matched with its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct AppRttSample {
    pub conn: ConnId,
    pub protocol: Protocol,
    pub key: String,
    /// Who sent the request.
    pub request_dir: Direction,
    pub request_ts: Timestamp,
    pub response_ts: Timestamp,
}

impl AppRttSample {
    pub fn rtt_ms(&self) -> f64 {
        self.response_ts.millis_since(self.request_ts)
    }
}

#[derive(Debug)]
struct Outstanding {
    protocol: Protocol,
    dir: Direction,
    id: String,
    key: String,
    ts: Timestamp,
}

/// One connection's outstanding requests, oldest first.
#[derive(Debug, Default)]
pub struct PairTable {
    waiting: VecDeque<Outstanding>,
}

/// What applying a pairing step produced.
#[derive(Debug, PartialEq)]
pub enum PairResult {
    Nothing,
    Sample(AppRttSample),
    /// The table was full: this many oldest requests were dropped unanswered.
    Dropped(usize),
}

impl PairTable {
    pub fn apply(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, op: PairOp) -> PairResult {
        match op {
            PairOp::Request { protocol, id, key } => {
                // A re-used id replaces the earlier request (MQTT reuses packet ids freely).
                self.waiting
                    .retain(|w| !(w.protocol == protocol && w.dir == dir && w.id == id));
                let mut dropped = 0;
                while self.waiting.len() >= MAX_OUTSTANDING_PER_CONN {
                    self.waiting.pop_front();
                    dropped += 1;
                }
                self.waiting.push_back(Outstanding {
                    protocol,
                    dir,
                    id,
                    key,
                    ts,
                });
                if dropped > 0 {
                    PairResult::Dropped(dropped)
                } else {
                    PairResult::Nothing
                }
            }
            PairOp::Response { protocol, id } => {
                let asker = dir.opposite();
                let found = self
                    .waiting
                    .iter()
                    .position(|w| w.protocol == protocol && w.dir == asker && w.id == id);
                match found.and_then(|i| self.waiting.remove(i)) {
                    // A response stamped before its request (a clock step back) gives no
                    // sample: an RTT is never negative.
                    Some(w) if ts < w.ts => PairResult::Nothing,
                    Some(w) => PairResult::Sample(AppRttSample {
                        conn,
                        protocol,
                        key: w.key,
                        request_dir: w.dir,
                        request_ts: w.ts,
                        response_ts: ts,
                    }),
                    None => PairResult::Nothing,
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::*;

    fn req(id: &str, key: &str) -> PairOp {
        PairOp::Request {
            protocol: Protocol::JsonRpc,
            id: id.into(),
            key: key.into(),
        }
    }

    fn resp(id: &str) -> PairOp {
        PairOp::Response {
            protocol: Protocol::JsonRpc,
            id: id.into(),
        }
    }

    #[test]
    fn an_answer_from_the_other_side_pairs_with_its_request() {
        let mut t = PairTable::default();
        let t0 = Timestamp::from_secs_micros(10, 0);
        let t1 = Timestamp::from_secs_micros(10, 2500);
        assert_eq!(t.apply(0, ClientToServer, t0, req("1", "add")), PairResult::Nothing);
        // The same side naming the id is not an answer.
        assert_eq!(t.apply(0, ClientToServer, t1, resp("1")), PairResult::Nothing);
        let PairResult::Sample(s) = t.apply(0, ServerToClient, t1, resp("1")) else {
            panic!("no sample")
        };
        assert_eq!(s.key, "add");
        assert!((s.rtt_ms() - 2.5).abs() < 1e-9);
        assert!(t.is_empty());
    }

    #[test]
    fn an_answer_stamped_before_its_request_gives_no_negative_rtt() {
        let mut t = PairTable::default();
        let t0 = Timestamp::from_secs_micros(10, 0);
        let earlier = Timestamp::from_secs_micros(8, 0);
        t.apply(0, ClientToServer, t0, req("1", "add"));
        assert_eq!(t.apply(0, ServerToClient, earlier, resp("1")), PairResult::Nothing);
        assert!(t.is_empty(), "the request is answered, just not timed");
    }

    #[test]
    fn a_full_table_drops_the_oldest_request_and_says_so() {
        let mut t = PairTable::default();
        for i in 0..MAX_OUTSTANDING_PER_CONN {
            t.apply(0, ClientToServer, Timestamp::ZERO, req(&i.to_string(), "m"));
        }
        let r = t.apply(0, ClientToServer, Timestamp::ZERO, req("new", "m"));
        assert_eq!(r, PairResult::Dropped(1));
        assert_eq!(t.len(), MAX_OUTSTANDING_PER_CONN);
        assert_eq!(
            t.apply(0, ServerToClient, Timestamp::ZERO, resp("0")),
            PairResult::Nothing
        );
    }
}
