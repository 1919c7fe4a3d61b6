//! Replays stored messages as analyzer events, so every exporter that reads events (JSON
//! Lines, CSV, HAR) writes what the window shows with no second writer.

use crate::analysis::event::{Event, EventSink, MessageEvent};
use crate::store::Store;

/// Sends the connections of `rows`, the messages of `rows` (in the order given), their RTT
/// samples and findings, and the connections' ends to `sink`. Payloads the store kept only
/// in part are sent as kept; the count of such messages is returned.
pub fn replay(store: &Store, rows: &[u32], sink: &mut dyn EventSink) -> u64 {
    let mut wanted = vec![false; store.connections.len()];
    for &i in rows {
        if let Some(m) = store.messages.get(i as usize)
            && let Some(w) = wanted.get_mut(m.conn as usize)
        {
            *w = true;
        }
    }
    let is_wanted = |conn: u32| wanted.get(conn as usize).copied().unwrap_or(false);
    for c in store.connections.iter().filter(|c| is_wanted(c.info.conn)) {
        sink.event(Event::Connection(&c.info));
    }
    let mut partial = 0;
    for &i in rows {
        let Some(m) = store.messages.get(i as usize) else {
            continue;
        };
        if !m.payload_fully_kept() {
            partial += 1;
        }
        let compressed = store.compressed_payload(m);
        sink.event(Event::Message(&MessageEvent {
            facts: m.facts,
            payload: store.payload(m),
            compressed_payload: m.compressed.then_some(compressed),
        }));
    }
    for r in store.rtts.iter().filter(|r| is_wanted(r.conn)) {
        sink.event(Event::Rtt(*r));
    }
    for f in store.findings.iter().filter(|f| f.finding.conn.is_some_and(is_wanted)) {
        sink.event(Event::Anomaly(&f.finding));
    }
    for c in store.connections.iter().filter(|c| is_wanted(c.info.conn)) {
        if let Some(how) = c.end {
            sink.event(Event::ConnectionEnded {
                conn: c.info.conn,
                ts: c.last_ts,
                how,
                tcp: c.tcp.as_ref(),
            });
        }
    }
    partial
}
