//! Stored messages replayed as events give back what the analyzer reported (the window's
//! exports go through this).

use framescope::analysis::event::{CollectSink, Event, EventSink};
use framescope::analysis::{Analyzer, AnalyzerConfig};
use framescope::capture::OfflineReader;
use framescope::store::Store;
use framescope::store::replay::replay;

#[test]
fn replaying_a_loaded_capture_gives_back_its_messages() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/python-deflate-context-takeover.pcap");
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
