//! Several sources in one sink: `Renumber` gives each source's connections their own numbers
//! in the shared sink (the window's live sessions all feed one store this way).

use framescope::analysis::event::{CollectSink, Event, EventSink, Renumber};
use framescope::analysis::{Analyzer, AnalyzerConfig};
use framescope::capture::OfflineReader;

fn analyse(path: &str, sink: &mut dyn EventSink) {
    let mut reader = OfflineReader::open(std::path::Path::new(path)).expect("open");
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    reader.run(&mut analyzer, sink, &mut |_| true);
    analyzer.finish(sink);
}

#[test]
fn two_sources_share_one_sink_without_mixing_their_connections() {
    let a_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/python-deflate-context-takeover.pcap"
    );
    let b_path = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/echo-text-binary-ping-close.pcap");
    let (mut alone_a, mut alone_b) = (CollectSink::default(), CollectSink::default());
    analyse(a_path, &mut alone_a);
    analyse(b_path, &mut alone_b);
    assert!(!alone_a.connections.is_empty() && !alone_b.connections.is_empty());

    let mut shared = CollectSink::default();
    let (mut map_a, mut map_b) = (Vec::new(), Vec::new());
    analyse(
        a_path,
        &mut Renumber {
            inner: &mut shared,
            map: &mut map_a,
            next: 0,
        },
    );
    let next = shared.connections.len() as u32;
    analyse(
        b_path,
        &mut Renumber {
            inner: &mut shared,
            map: &mut map_b,
            next,
        },
    );
    let (na, nb) = (alone_a.connections.len() as u32, alone_b.connections.len() as u32);
    assert_eq!(map_a, (0..na).collect::<Vec<_>>());
    assert_eq!(map_b, (na..na + nb).collect::<Vec<_>>());
    let ids: Vec<u32> = shared.connections.iter().map(|c| c.conn).collect();
    assert_eq!(ids, (0..na + nb).collect::<Vec<_>>());
    // Every message is there once, on its source's connection moved by the offset.
    let expected: Vec<(u32, Vec<u8>)> = alone_a
        .messages
        .iter()
        .map(|m| (m.conn, m.payload.clone()))
        .chain(alone_b.messages.iter().map(|m| (m.conn + na, m.payload.clone())))
        .collect();
    let got: Vec<(u32, Vec<u8>)> = shared.messages.iter().map(|m| (m.conn, m.payload.clone())).collect();
    assert_eq!(got, expected);
    assert_eq!(shared.rtts.len(), alone_a.rtts.len() + alone_b.rtts.len());
    assert_eq!(shared.ends.len(), alone_a.ends.len() + alone_b.ends.len());

    // An event about a connection the source never announced goes nowhere.
    let before = shared.ends.len();
    let mut late = Renumber {
        inner: &mut shared,
        map: &mut map_b,
        next,
    };
    late.event(Event::ConnectionEnded {
        conn: nb + 5,
        ts: framescope::analysis::Timestamp::from_nanos(0),
        how: framescope::analysis::event::ConnectionEnd::Closed,
        tcp: None,
    });
    assert_eq!(shared.ends.len(), before);
}
