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
            });
        }
    }
    partial
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::event::CollectSink;
    use crate::analysis::{Analyzer, AnalyzerConfig};
    use crate::capture::OfflineReader;

    #[test]
    fn replaying_a_loaded_capture_gives_back_its_messages() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/python-deflate-context-takeover.pcap");
        let mut reader = OfflineReader::open(&path).expect("open");
        let mut analyzer = Analyzer::new(AnalyzerConfig::default());
        let mut store = Store::default();
        let mut direct = CollectSink::default();
        struct Both<'a>(&'a mut Store, &'a mut CollectSink);
        impl EventSink for Both<'_> {
            fn event(&mut self, e: Event<'_>) {
                if let Event::Message(m) = &e {
                    self.1.event(Event::Message(m));
                }
                self.0.event(e);
            }
        }
        let mut both = Both(&mut store, &mut direct);
        reader.run(&mut analyzer, &mut both, &mut |_| true);
        analyzer.finish(&mut both);
        assert!(direct.messages.len() > 3);
        // Every second message: the subset comes back in order with its payloads.
        let rows: Vec<u32> = (0..store.messages.len() as u32).step_by(2).collect();
        let mut out = CollectSink::default();
        assert_eq!(replay(&store, &rows, &mut out), 0);
        assert_eq!(out.messages.len(), rows.len());
        for (got, &i) in out.messages.iter().zip(&rows) {
            let want = &direct.messages[i as usize];
            assert_eq!(got.payload, want.payload);
            assert_eq!(got.facts, want.facts);
        }
        assert_eq!(out.connections.len(), store.connections.len());
    }
}
