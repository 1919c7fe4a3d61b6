//! How a flow's TCP connection opened: the client's SYNs and whether anything answered, so
//! that a connection attempt refused (RST after SYN: nothing listening) or never answered
//! is listed instead of vanishing — a client retrying against a dead server is a common
//! thing to debug.

use crate::analysis::link::TcpPacket;
use crate::analysis::tcp::Side;
use crate::analysis::time::Timestamp;

/// A SYN with the same sequence number this soon after the last is a copy of that packet
/// (captures on "any", merged captures), not a retransmission: Linux's first SYN
/// retransmission comes after 1 s, and no stack retransmits under 200 ms.
const SYN_COPY_NANOS: i64 = 100_000_000;

/// The opening of one flow (about 40 bytes: every half-open flow carries one).
#[derive(Clone, Copy, Debug, Default)]
pub struct Opening {
    /// The side that sent the first SYN.
    client: Option<Side>,
    /// The client's SYNs (retransmissions included, copies of one packet not).
    syns: u32,
    /// SYNs with a new initial sequence number: each is a `connect()` of its own.
    attempts: u32,
    /// Unanswered attempts made earlier from this client port (flows that ended refused
    /// before this one reused the four-tuple).
    earlier: u32,
    isn: u32,
    first_syn: Timestamp,
    last_syn: Timestamp,
    /// A SYN-ACK, or payload either way: a connection, whatever became of it.
    answered: bool,
    /// The side that sent a RST.
    reset_by: Option<Side>,
}

/// A connection attempt that got no connection, for its `flow` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedAttempt {
    pub client: Side,
    pub reason: String,
    /// Attempts from this client port without a connection, this one included.
    pub attempts: u32,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
}

impl Opening {
    /// A new flow on a four-tuple whose previous flow ended without a connection: its
    /// attempts count on.
    pub fn retry_after(previous: &Opening) -> Opening {
        Opening {
            earlier: if previous.failed() {
                previous.total_attempts()
            } else {
                0
            },
            ..Opening::default()
        }
    }

    /// One segment from `side`.
    pub fn on_segment(&mut self, ts: Timestamp, side: Side, tcp: &TcpPacket<'_>) {
        if tcp.syn && tcp.ack.is_none() {
            self.on_syn(ts, side, tcp.seq);
        } else if tcp.syn || !tcp.payload.is_empty() {
            self.answered = true;
        }
        if tcp.rst {
            self.reset_by = Some(side);
        }
    }

    fn on_syn(&mut self, ts: Timestamp, side: Side, seq: u32) {
        let repeat = self.syns > 0 && seq == self.isn;
        if repeat && ts.nanos.saturating_sub(self.last_syn.nanos) < SYN_COPY_NANOS {
            return;
        }
        if self.syns == 0 {
            self.client = Some(side);
            self.first_syn = ts;
        }
        if !repeat {
            self.attempts = self.attempts.saturating_add(1);
            self.isn = seq;
        }
        self.syns = self.syns.saturating_add(1);
        self.last_syn = ts;
    }

    /// SYNs were sent and nothing answered.
    fn failed(&self) -> bool {
        self.syns > 0 && !self.answered
    }

    fn total_attempts(&self) -> u32 {
        self.earlier.saturating_add(self.attempts)
    }

    /// The flow ended at `ts`: what its `flow` record says, when it was a connection attempt
    /// that got no connection.
    pub fn failed_attempt(&self, ts: Timestamp) -> Option<FailedAttempt> {
        let client = self.client.filter(|_| self.failed())?;
        let refused = self.reset_by == Some(client.other());
        let mut notes = Vec::new();
        if refused {
            notes.push("RST after SYN".to_owned());
        } else if self.reset_by == Some(client) {
            notes.push("the client reset the attempt".to_owned());
        }
        if self.syns > 1 {
            // Retransmissions say how long the client waited.
            let secs = self.last_syn.millis_since(self.first_syn) / 1000.0;
            notes.push(format!("SYN sent {} times over {secs:.1} s", self.syns));
        }
        let head = if refused {
            "connection refused"
        } else {
            "no answer to SYN"
        };
        let reason = if notes.is_empty() {
            head.to_owned()
        } else {
            format!("{head} ({})", notes.join(", "))
        };
        let attempts = self.total_attempts();
        let reason = if attempts > 1 {
            format!("{reason}; attempt {attempts} from this client port")
        } else {
            reason
        };
        Some(FailedAttempt {
            client,
            reason,
            attempts,
            first_ts: self.first_syn,
            last_ts: if refused { ts } else { self.last_syn },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u32, syn: bool, ack: bool, rst: bool) -> TcpPacket<'static> {
        TcpPacket {
            src: "127.0.0.1:40000".parse().expect("addr"),
            dst: "127.0.0.1:9".parse().expect("addr"),
            seq,
            ack: ack.then_some(1),
            syn,
            fin: false,
            rst,
            window: 0,
            payload: &[],
            missing_tail: 0,
        }
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn a_syn_answered_by_rst_is_refused_and_copies_do_not_count() {
        let mut o = Opening::default();
        o.on_segment(at(0), Side::Hi, &seg(7, true, false, false));
        o.on_segment(at(0), Side::Hi, &seg(7, true, false, false)); // the same packet again
        o.on_segment(at(1), Side::Lo, &seg(0, false, true, true));
        let failed = o.failed_attempt(at(1)).expect("refused");
        assert_eq!(failed.reason, "connection refused (RST after SYN)");
        assert_eq!((failed.client, failed.attempts), (Side::Hi, 1));
        assert_eq!((failed.first_ts, failed.last_ts), (at(0), at(1)));
        // The client port tries again: the next flow counts on.
        let mut again = Opening::retry_after(&o);
        again.on_segment(at(500), Side::Hi, &seg(99, true, false, false));
        again.on_segment(at(501), Side::Lo, &seg(0, false, true, true));
        let failed = again.failed_attempt(at(501)).expect("refused");
        assert_eq!(failed.attempts, 2);
        assert_eq!(
            failed.reason,
            "connection refused (RST after SYN); attempt 2 from this client port"
        );
    }

    #[test]
    fn retransmitted_syns_without_answer_are_one_attempt() {
        let mut o = Opening::default();
        for ms in [0, 1000, 3000] {
            o.on_segment(at(ms), Side::Lo, &seg(5, true, false, false));
        }
        let failed = o.failed_attempt(at(9000)).expect("no answer");
        assert_eq!(failed.reason, "no answer to SYN (SYN sent 3 times over 3.0 s)");
        assert_eq!((failed.attempts, failed.last_ts), (1, at(3000)));
    }

    #[test]
    fn an_answered_syn_is_no_failed_attempt() {
        let mut o = Opening::default();
        o.on_segment(at(0), Side::Lo, &seg(5, true, false, false));
        o.on_segment(at(1), Side::Hi, &seg(9, true, true, false));
        o.on_segment(at(2), Side::Hi, &seg(10, false, true, true));
        assert_eq!(o.failed_attempt(at(2)), None);
        assert_eq!(Opening::retry_after(&o).earlier, 0);
        // No SYN seen (picked up later): nothing to say either.
        assert_eq!(Opening::default().failed_attempt(at(2)), None);
    }
}
