//! `LiveClient` (the engine behind the live connection window) against real tokio-tungstenite
//! servers on 127.0.0.1: heartbeat pings answered and timed, a server that stops answering
//! (missed pong, then a 1001 close), and a session recorded to pcapng that re-reads to the
//! same messages, and a server that speaks first (binary) and closes first (1008).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use framescope::analysis::event::{CollectSink, Event, EventSink};
use framescope::analysis::ws::frame::OpCode;
use framescope::live::client::{ClientCommand, ClientState, Heartbeat, LiveClient, SessionMarkKind, SessionOptions};
use framescope::live::session::{ConnectOptions, TlsOptions};
use framescope::live::target::parse_target;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Forwards events into a collector the test can read.
struct Shared(Arc<Mutex<CollectSink>>);

impl EventSink for Shared {
    fn event(&mut self, event: Event<'_>) {
        if let Ok(mut s) = self.0.lock() {
            s.event(event);
        }
    }
}

/// A server for one connection on its own thread; `answer` false makes it stop reading after
/// the handshake (so pings go unanswered) for `silent_for`. Returns the port.
fn server(answer: bool, silent_for: Duration) -> u16 {
    common::spawn_server(move |listener| async move {
        let Ok(Ok((tcp, _))) = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await else {
            return;
        };
        let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
        if !answer {
            tokio::time::sleep(silent_for).await;
            return;
        }
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m
                && ws.send(Message::text(format!("echo: {t}"))).await.is_err()
            {
                break;
            }
        }
    })
}

fn options(port: u16) -> ConnectOptions {
    ConnectOptions {
        target: parse_target(&format!("ws://127.0.0.1:{port}/hb")).expect("url"),
        headers: Vec::new(),
        subprotocols: Vec::new(),
        origin: None,
        timeout: Duration::from_secs(5),
        tls: TlsOptions::default(),
    }
}

/// Starts a client with a sink the test can read.
fn start(options: ConnectOptions, session: SessionOptions) -> (LiveClient, Arc<Mutex<CollectSink>>) {
    let collected = Arc::new(Mutex::new(CollectSink::default()));
    let client =
        LiveClient::start(options, session, Box::new(Shared(collected.clone())), Arc::new(|| {})).expect("start");
    (client, collected)
}

fn wait_for(client: &LiveClient, done: impl Fn(&ClientState) -> bool) -> ClientState {
    let started = Instant::now();
    loop {
        let state = client.state();
        if done(&state) || started.elapsed() > Duration::from_secs(10) {
            return state;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn heartbeat_pings_are_answered_timed_and_recorded() {
    let port = server(true, Duration::ZERO);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("session.pcapng");
    let session = SessionOptions {
        heartbeat: Some(Heartbeat {
            every: Duration::from_millis(100),
            pong_timeout: Duration::from_secs(2),
            close_on_miss: true,
        }),
        recording: Some(framescope::live::recorder::open_recording(&path).expect("recording")),
        reconnect: None,
        secrets: Vec::new(),
    };
    let (client, collected) = start(options(port), session);
    assert!(wait_for(&client, ClientState::is_open).is_open());
    assert!(client.send(ClientCommand::Text("one".to_owned())));
    let started = Instant::now();
    while collected.lock().expect("lock").rtts.len() < 4 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(client.send(ClientCommand::Close(1000, "bye".to_owned())));
    let end = wait_for(&client, ClientState::is_finished);
    assert!(
        matches!(&end, ClientState::Closed(why) if why.contains("framescope sent 1000 Normal Closure: bye")),
        "{end:?}"
    );
    let pings = client
        .counters
        .heartbeat_pings
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        client.counters.missed_pongs.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    drop(client);

    let sink = collected.lock().expect("lock");
    let sent_pings: Vec<&[u8]> = sink
        .messages
        .iter()
        .filter(|m| m.opcode == OpCode::Ping)
        .map(|m| m.payload.as_slice())
        .collect();
    assert_eq!(sent_pings.len() as u32, pings);
    assert!(pings >= 4, "{pings} pings");
    // Heartbeat payloads: "fshb" and a sequence number from 1.
    assert_eq!(sent_pings[0], b"fshb\0\0\0\x01");
    assert_eq!(sent_pings[1], b"fshb\0\0\0\x02");
    assert!(sink.rtts.len() >= 4);
    assert!(sink.rtts.iter().all(|r| r.rtt_ms() >= 0.0 && r.rtt_ms() < 2000.0));

    // The recording re-reads to the same messages.
    let (reread, summary) = common::analyze_file(&path);
    assert_eq!(summary.stopped_early, None);
    let payloads = |s: &CollectSink| -> Vec<(OpCode, Vec<u8>)> {
        s.messages.iter().map(|m| (m.opcode, m.payload.clone())).collect()
    };
    assert_eq!(payloads(&reread), payloads(&sink));
    assert!(
        sink.messages
            .iter()
            .any(|m| m.opcode == OpCode::Text && m.payload == b"echo: one")
    );
}

#[test]
fn a_missed_pong_is_counted_and_closes_the_connection() {
    let port = server(false, Duration::from_secs(8));
    let session = SessionOptions {
        heartbeat: Some(Heartbeat {
            every: Duration::from_millis(100),
            pong_timeout: Duration::from_millis(300),
            close_on_miss: true,
        }),
        recording: None,
        reconnect: None,
        secrets: Vec::new(),
    };
    let (client, collected) = start(options(port), session);
    let end = wait_for(&client, ClientState::is_finished);
    assert!(
        matches!(&end, ClientState::Closed(why) if why.contains("did not answer the close")),
        "{end:?}"
    );
    assert_eq!(
        client.counters.missed_pongs.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    drop(client);
    let sink = collected.lock().expect("lock");
    let close = sink
        .messages
        .iter()
        .find(|m| m.opcode == OpCode::Close)
        .expect("close sent");
    assert_eq!(close.close_code, Some(1001));
    assert_eq!(close.close_reason().as_deref(), Some("no pong within 300ms"));
    assert!(sink.rtts.is_empty());
}

#[test]
fn an_abrupt_drop_is_followed_by_a_reconnect_with_backoff() {
    let port = common::dropping_server();
    let session = SessionOptions {
        reconnect: Some(framescope::live::client::Reconnect {
            base: Duration::from_millis(200),
            max: Duration::from_secs(2),
            attempts: 3,
        }),
        ..SessionOptions::default()
    };
    let (client, collected) = start(options(port), session);
    assert!(wait_for(&client, ClientState::is_open).is_open());
    assert!(client.send(ClientCommand::Text("first".to_owned())));
    let waiting = wait_for(&client, |s| matches!(s, ClientState::Reconnecting { .. }));
    match &waiting {
        ClientState::Reconnecting {
            attempt,
            of,
            after,
            why,
        } => {
            assert_eq!((*attempt, *of), (1, 3));
            assert!(*after >= Duration::from_millis(100) && *after <= Duration::from_millis(200));
            assert!(
                why.contains("without a close frame") || why.contains("connection lost"),
                "{why}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(wait_for(&client, ClientState::is_open).is_open());
    assert!(client.send(ClientCommand::Text("second".to_owned())));
    let started = Instant::now();
    while !collected
        .lock()
        .expect("lock")
        .messages
        .iter()
        .any(|m| m.payload == b"echo: second")
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(client.send(ClientCommand::Close(1000, String::new())));
    let end = wait_for(&client, ClientState::is_finished);
    assert!(
        matches!(&end, ClientState::Closed(why) if why.contains("framescope sent 1000 Normal Closure")),
        "{end:?}"
    );
    assert_eq!(client.counters.reconnects.load(std::sync::atomic::Ordering::Relaxed), 1);
    // The timeline's marks: the drop, the attempt after its wait, the reconnection, in order.
    let marks = client.marks();
    let kinds: Vec<_> = marks.iter().map(|m| m.kind.clone()).collect();
    assert!(
        matches!(
            kinds.as_slice(),
            [
                SessionMarkKind::Dropped(_),
                SessionMarkKind::Attempt { attempt: 1, of: 3 },
                SessionMarkKind::Reconnected
            ]
        ),
        "{kinds:?}"
    );
    let waited = marks[1].at.millis_since(marks[0].at);
    assert!((100.0..1000.0).contains(&waited), "backoff wait {waited} ms");
    assert!(marks[2].at >= marks[1].at);
    drop(client);
    let sink = collected.lock().expect("lock");
    // Two connections, each with its own messages.
    assert_eq!(sink.connections.len(), 2);
    let texts: Vec<(_, &[u8])> = sink
        .messages
        .iter()
        .filter(|m| m.opcode == OpCode::Text)
        .map(|m| (m.conn, m.payload.as_slice()))
        .collect();
    let (first, second) = (sink.connections[0].conn, sink.connections[1].conn);
    assert_eq!(
        texts,
        vec![
            (first, &b"first"[..]),
            (second, &b"second"[..]),
            (second, &b"echo: second"[..])
        ]
    );
}

#[test]
#[allow(clippy::result_large_err)] // tungstenite's handshake callback signature
fn secret_header_values_reach_the_server_but_not_the_recording() {
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let port = common::spawn_server(move |listener| async move {
        let Ok(Ok((tcp, _))) = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await else {
            return;
        };
        let callback = |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                        resp: tokio_tungstenite::tungstenite::handshake::server::Response| {
            let auth = req.headers().get("authorization").map(|v| v.as_bytes().to_vec());
            let _ = seen_tx.send(auth);
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
            .await
            .expect("handshake");
        while let Some(Ok(_)) = ws.next().await {}
    });
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("secret.pcapng");
    let mut opts = options(port);
    opts.headers = vec![("Authorization".to_owned(), "Bearer s3cret-token".to_owned())];
    let session = SessionOptions {
        recording: Some(framescope::live::recorder::open_recording(&path).expect("recording")),
        secrets: vec!["Bearer s3cret-token".to_owned()],
        ..SessionOptions::default()
    };
    let (client, collected) = start(opts, session);
    assert!(wait_for(&client, ClientState::is_open).is_open());
    assert!(client.send(ClientCommand::Close(1000, String::new())));
    assert!(wait_for(&client, ClientState::is_finished).is_finished());
    drop(client);
    let seen = seen_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("server saw the request");
    assert_eq!(seen.as_deref(), Some(&b"Bearer s3cret-token"[..]));
    let recorded = std::fs::read(&path).expect("recording");
    let has = |needle: &[u8]| recorded.windows(needle.len()).any(|w| w == needle);
    assert!(!has(b"s3cret"));
    // (the http crate sends header names in lower case)
    assert!(has(b"authorization: *******************\r\n"));
    // The handshake still decodes (same length, so the stream is intact).
    let (reread, _) = common::analyze_file(&path);
    assert_eq!(reread.connections.len(), 1);
    assert!(reread.connections[0].handshake.is_some());
    assert_eq!(reread.messages.len(), collected.lock().expect("lock").messages.len());
}

#[test]
fn a_server_that_greets_in_binary_and_closes_with_a_code_is_followed_exactly() {
    let log: common::ServerLog = Arc::default();
    let port = common::closing_server(log.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("session.pcapng");
    let session = SessionOptions {
        recording: Some(framescope::live::recorder::open_recording(&path).expect("recording")),
        ..SessionOptions::default()
    };
    let (client, collected) = start(options(port), session);
    assert!(wait_for(&client, ClientState::is_open).is_open());
    assert!(client.send(ClientCommand::Binary(vec![1, 2, 3, 0])));
    assert!(client.send(ClientCommand::Text("hello".to_owned())));
    assert!(client.send(ClientCommand::Text("close please".to_owned())));
    let end = wait_for(&client, ClientState::is_finished);
    assert_eq!(
        end,
        ClientState::Closed("closed by the server: 1008 Policy Violation: too chatty".to_owned())
    );
    drop(client);

    let sink = collected.lock().expect("lock");
    let seen = |dir: framescope::analysis::Direction| -> Vec<(OpCode, Vec<u8>)> {
        sink.messages
            .iter()
            .filter(|m| m.dir == dir)
            .map(|m| (m.opcode, m.payload.clone()))
            .collect()
    };
    let as_wire = |m: &Message| -> (OpCode, Vec<u8>) {
        match m {
            Message::Text(t) => (OpCode::Text, t.as_bytes().to_vec()),
            Message::Binary(b) => (OpCode::Binary, b.to_vec()),
            Message::Close(Some(f)) => {
                let mut p = u16::from(f.code).to_be_bytes().to_vec();
                p.extend_from_slice(f.reason.as_bytes());
                (OpCode::Close, p)
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let (received, sent) = log.lock().expect("log").clone();
    // Exactly what the server received and sent, in order: the greeting, two echoes, its
    // close; and from the client two messages, the trigger and the answer to the close
    // (same code, as RFC 6455 §5.5.1 suggests).
    assert_eq!(
        seen(framescope::analysis::Direction::ServerToClient),
        sent.iter().map(as_wire).collect::<Vec<_>>()
    );
    assert_eq!(
        seen(framescope::analysis::Direction::ClientToServer),
        received.iter().map(as_wire).collect::<Vec<_>>()
    );
    assert_eq!(sent.len(), 4);
    assert_eq!(as_wire(&sent[1]), (OpCode::Binary, vec![0, 3, 2, 1]));
    let closes: Vec<Option<u16>> = sink
        .messages
        .iter()
        .filter(|m| m.opcode == OpCode::Close)
        .map(|m| m.close_code)
        .collect();
    assert_eq!(closes, vec![Some(1008), Some(1008)]);
    assert!(sink.findings.is_empty(), "{:?}", sink.findings);

    // The recording re-reads to the same messages.
    let (reread, summary) = common::analyze_file(&path);
    assert_eq!(summary.stopped_early, None);
    let all = |s: &CollectSink| -> Vec<(framescope::analysis::Direction, OpCode, Vec<u8>)> {
        s.messages
            .iter()
            .map(|m| (m.dir, m.opcode, m.payload.clone()))
            .collect()
    };
    assert_eq!(all(&reread), all(&sink));
    assert_eq!(
        reread.ends,
        vec![(0, framescope::analysis::event::ConnectionEnd::Closed)]
    );
}
