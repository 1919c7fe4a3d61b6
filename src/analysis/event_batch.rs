//! Owned copies of events in batches: what crosses threads (a feed to the window, a
//! parallel worker to the merge) and is replayed into a sink later.

use std::ops::Range;

use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Event, EventSink, FlowInfo, FrameEvent, MessageEvent, MessageFacts,
    RttSample, TcpHealth,
};
use crate::analysis::findings::Finding;
use crate::analysis::time::Timestamp;

/// An owned event.
#[derive(Clone, Debug)]
pub enum OwnedEvent {
    /// Boxed: connections are rare and large; frames and messages are many and small.
    Connection(Box<ConnectionInfo>),
    Frame(FrameEvent),
    /// A message; its payload (and compressed bytes) are ranges of the batch's bytes.
    Message {
        facts: MessageFacts,
        payload: Range<usize>,
        compressed_payload: Option<Range<usize>>,
    },
    Rtt(RttSample),
    Anomaly(Finding),
    Ended {
        conn: ConnId,
        ts: Timestamp,
        how: ConnectionEnd,
        tcp: Option<Box<TcpHealth>>,
    },
    Flow(Box<FlowInfo>),
}

/// Events in arrival order and the payload bytes their messages refer to.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<OwnedEvent>,
    pub payload: Vec<u8>,
    /// Leave out messages' compressed bytes: only the window's deflate view shows them, and
    /// copying them costs a parallel export a second copy of every compressed payload.
    pub without_compressed: bool,
}

impl Batch {
    /// Replays the batch into a sink (the GUI's store).
    pub fn replay(&self, sink: &mut dyn EventSink) {
        self.replay_range(0..self.events.len(), sink);
    }

    /// Copies an event into the batch (payloads appended to its bytes).
    pub fn push(&mut self, event: Event<'_>) {
        let owned = match event {
            Event::Connection(c) => OwnedEvent::Connection(Box::new(c.clone())),
            Event::Frame(f) => OwnedEvent::Frame(f.clone()),
            Event::Message(m) => {
                let start = self.payload.len();
                self.payload.extend_from_slice(m.payload);
                let end = self.payload.len();
                let compressed_payload = m.compressed_payload.filter(|_| !self.without_compressed).map(|raw| {
                    self.payload.extend_from_slice(raw);
                    end..self.payload.len()
                });
                OwnedEvent::Message {
                    facts: m.facts,
                    payload: start..end,
                    compressed_payload,
                }
            }
            Event::Rtt(r) => OwnedEvent::Rtt(r),
            Event::Anomaly(f) => OwnedEvent::Anomaly(f.clone()),
            Event::ConnectionEnded { conn, ts, how, tcp } => OwnedEvent::Ended {
                conn,
                ts,
                how,
                tcp: tcp.map(|t| Box::new(*t)),
            },
            Event::Flow(f) => OwnedEvent::Flow(Box::new(f.clone())),
        };
        self.events.push(owned);
    }

    /// Replays the events in `range` (indices into `events`) into a sink.
    pub fn replay_range(&self, range: Range<usize>, sink: &mut dyn EventSink) {
        for event in self.events.get(range).unwrap_or(&[]) {
            match event {
                OwnedEvent::Connection(c) => sink.event(Event::Connection(c.as_ref())),
                OwnedEvent::Frame(f) => sink.event(Event::Frame(f)),
                OwnedEvent::Message {
                    facts,
                    payload,
                    compressed_payload,
                } => {
                    let event = MessageEvent {
                        facts: *facts,
                        payload: self.payload.get(payload.clone()).unwrap_or(&[]),
                        compressed_payload: compressed_payload.clone().and_then(|r| self.payload.get(r)),
                    };
                    sink.event(Event::Message(&event));
                }
                OwnedEvent::Rtt(r) => sink.event(Event::Rtt(*r)),
                OwnedEvent::Anomaly(f) => sink.event(Event::Anomaly(f)),
                OwnedEvent::Ended { conn, ts, how, tcp } => sink.event(Event::ConnectionEnded {
                    conn: *conn,
                    ts: *ts,
                    how: *how,
                    tcp: tcp.as_deref(),
                }),
                OwnedEvent::Flow(f) => sink.event(Event::Flow(f)),
            }
        }
    }
}

impl EventSink for Batch {
    fn event(&mut self, event: Event<'_>) {
        self.push(event);
    }
}
