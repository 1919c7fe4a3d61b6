//! A real tokio-tungstenite session on 127.0.0.1, captured with libpcap on `lo`, must
//! analyse to exactly the messages both ends sent and received.
//!
//! Needs permission to capture (root or CAP_NET_RAW): without it the test says so and
//! skips. CI runs as root. Set FRAMESCOPE_SAVE_CAPTURE=path to keep the capture (this is how
//! `captures/echo-text-binary-ping-close.pcap` was made).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode as TOpCode};

use framescope::analysis::Direction;
use framescope::analysis::ws::frame::OpCode;
use framescope::export::pcap_writer::PcapWriter;

#[derive(Debug, Default)]
struct ServerLog {
    received: Vec<Message>,
    close: Option<(u16, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokio_tungstenite_session_captured_on_lo_analyses_to_what_was_exchanged() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));
    let capture = {
        let (stop, ready) = (stop.clone(), ready.clone());
        let filter = format!("tcp port {port}");
        std::thread::Builder::new()
            .name("test-capture-lo".into())
            .spawn(move || common::lo::capture_on_lo(&filter, stop, ready, Duration::from_secs(20)))
            .expect("spawn")
    };
    let wait_start = Instant::now();
    while !ready.load(Ordering::SeqCst) && !capture.is_finished() && wait_start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if capture.is_finished() {
        match capture.join().expect("join") {
            Err(e) => {
                // CI runs as root: there a capture that cannot start is a failure, not a skip.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but capturing on lo failed: {e}"
                );
                eprintln!("skipping: cannot capture on lo ({e}); run as root or setcap cap_net_raw");
                return;
            }
            Ok(_) => panic!("capture ended before it started"),
        }
    }

    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
        let mut log = ServerLog::default();
        while let Some(msg) = ws.next().await {
            let msg = msg.expect("server read");
            match &msg {
                Message::Text(_) | Message::Binary(_) => {
                    log.received.push(msg.clone());
                    ws.send(msg).await.expect("echo");
                }
                Message::Close(frame) => {
                    // Keep reading: tungstenite answers the close, then ends the stream.
                    log.close = frame.as_ref().map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                _ => {}
            }
        }
        log
    });

    let url = format!("ws://127.0.0.1:{port}/echo?room=1");
    let (mut client, response) = tokio_tungstenite::connect_async(url.as_str()).await.expect("connect");
    assert_eq!(response.status().as_u16(), 101);
    let big: Vec<u8> = (0..65_536u32).map(|i| (i * 31 % 256) as u8).collect();
    client.send(Message::text("hello, framescope")).await.expect("send");
    client.send(Message::binary(big.clone())).await.expect("send");
    // A fragmented text message with a ping between its fragments.
    client
        .send(Message::Frame(Frame::message(
            b"frag-".to_vec(),
            TOpCode::Data(Data::Text),
            false,
        )))
        .await
        .expect("send");
    client
        .send(Message::Ping(b"rtt-probe".to_vec().into()))
        .await
        .expect("ping");
    client
        .send(Message::Frame(Frame::message(
            b"mented".to_vec(),
            TOpCode::Data(Data::Continue),
            true,
        )))
        .await
        .expect("send");
    let mut echoes = Vec::new();
    let mut pongs = 0;
    while echoes.len() < 3 {
        match client.next().await.expect("stream open").expect("client read") {
            Message::Pong(p) => {
                assert_eq!(&p[..], b"rtt-probe");
                pongs += 1;
            }
            m @ (Message::Text(_) | Message::Binary(_)) => echoes.push(m),
            _ => {}
        }
    }
    client
        .close(Some(CloseFrame {
            code: CloseCode::Library(4001),
            reason: "test over".into(),
        }))
        .await
        .expect("close");
    while let Some(Ok(_)) = client.next().await {}
    drop(client);
    let log = server.await.expect("server");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let packets = tokio::task::spawn_blocking(move || capture.join())
        .await
        .expect("join")
        .expect("thread")
        .expect("capture");
    assert_eq!(pongs, 1);
    assert!(!packets.is_empty());

    let dir = tempfile::tempdir().expect("tmp");
    let path = std::env::var("FRAMESCOPE_SAVE_CAPTURE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("session.pcap"));
    let mut writer = PcapWriter::new(std::fs::File::create(&path).expect("create")).expect("header");
    for (ts, data) in &packets {
        writer.write_packet(*ts, data).expect("write");
    }
    writer.into_inner().expect("flush");

    let (sink, summary) = common::analyze_file(&path);
    assert_eq!(summary.stopped_early, None);
    assert_eq!(sink.connections.len(), 1, "{:?}", sink.connections);
    let conn = &sink.connections[0];
    let hs = conn.handshake.as_ref().expect("handshake captured");
    assert_eq!(hs.path(), Some("/echo?room=1"));
    assert_eq!(hs.accept_valid(), Some(true));
    assert_eq!(conn.server.port(), port);

    let payloads = |dir: Direction, kinds: &[OpCode]| -> Vec<Vec<u8>> {
        sink.messages
            .iter()
            .filter(|m| m.dir == dir && kinds.contains(&m.opcode))
            .map(|m| m.payload.clone())
            .collect()
    };
    let sent: Vec<Vec<u8>> = log.received.iter().map(|m| m.clone().into_data().to_vec()).collect();
    assert_eq!(
        sent,
        vec![b"hello, framescope".to_vec(), big.clone(), b"frag-mented".to_vec()]
    );
    assert_eq!(
        payloads(Direction::ClientToServer, &[OpCode::Text, OpCode::Binary]),
        sent,
        "what the server received"
    );
    let echoed: Vec<Vec<u8>> = echoes.into_iter().map(|m| m.into_data().to_vec()).collect();
    assert_eq!(
        payloads(Direction::ServerToClient, &[OpCode::Text, OpCode::Binary]),
        echoed,
        "what the client received"
    );
    let fragmented = sink
        .messages
        .iter()
        .find(|m| m.payload == b"frag-mented")
        .expect("joined");
    assert_eq!(fragmented.frames, 2);
    assert_eq!(
        payloads(Direction::ClientToServer, &[OpCode::Ping]),
        vec![b"rtt-probe".to_vec()]
    );
    assert_eq!(sink.rtts.len(), 1);
    assert_eq!(sink.rtts[0].ping_dir, Direction::ClientToServer);
    assert!(sink.rtts[0].rtt_ms() >= 0.0 && sink.rtts[0].rtt_ms() < 5000.0);
    let client_close = sink
        .messages
        .iter()
        .find(|m| m.dir == Direction::ClientToServer && m.opcode == OpCode::Close)
        .expect("client close");
    assert_eq!(client_close.close_code, Some(4001));
    assert_eq!(log.close, Some((4001, "test over".to_owned())));
    assert_eq!(client_close.close_reason().as_deref(), Some("test over"));
    let server_close = sink
        .messages
        .iter()
        .find(|m| m.dir == Direction::ServerToClient && m.opcode == OpCode::Close)
        .expect("server answered the close");
    assert_eq!(server_close.close_code, Some(4001));
    assert_eq!(sink.ends, vec![(0, framescope::analysis::event::ConnectionEnd::Closed)]);
    assert!(
        sink.findings.is_empty(),
        "a clean session has no findings: {:?}",
        sink.findings
    );
}
