//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod gui;
pub mod lo;
pub mod peers;
pub mod tshark;

use std::path::{Path, PathBuf};

use framescope::analysis::event::CollectSink;
use framescope::analysis::{Analyzer, AnalyzerConfig};
use framescope::capture::{OfflineReader, ReadSummary};

/// Skips a test whose prerequisite is missing on a user's machine, but fails it in CI
/// (`CI` set), where a skipped check would hide that it never ran.
pub fn skip_or_fail_in_ci(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {why}: this test must run in CI");
    }
    eprintln!("skipping: {why}");
}

/// `../shared/corpus`, if this checkout has it (CI does; a user's clone may not).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("MANIFEST.md").is_file() {
        Some(dir)
    } else {
        skip_or_fail_in_ci("../shared/corpus is not present in this checkout");
        None
    }
}

/// Whether `python3` can import `module` (say "websockets.asyncio.server").
pub fn python_has(module: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// Runs a whole capture through the analyzer with frame events on.
pub fn analyze_file(path: &Path) -> (CollectSink, ReadSummary) {
    analyze_file_with(
        path,
        AnalyzerConfig {
            emit_frames: true,
            ..AnalyzerConfig::default()
        },
    )
}

pub fn analyze_file_with(path: &Path, config: AnalyzerConfig) -> (CollectSink, ReadSummary) {
    analyze_file_with_keys(path, b"", config)
}

/// A whole capture through the analyzer with `keylog` (NSS key log text) fed first.
pub fn analyze_file_with_keys(path: &Path, keylog: &[u8], config: AnalyzerConfig) -> (CollectSink, ReadSummary) {
    let mut reader = OfflineReader::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut analyzer = Analyzer::new(config);
    analyzer.keylog_mut().feed(keylog);
    analyzer.keylog_mut().end_of_input();
    let mut sink = CollectSink::default();
    let summary = reader.run(&mut analyzer, &mut sink, &mut |_| true);
    analyzer.finish(&mut sink);
    (sink, summary)
}

use framescope::analysis::Timestamp;
use framescope::analysis::event::EventSink;
use framescope::analysis::link::LinkType;
use framescope::analysis::ws::frame::{FrameHeader, OpCode};
use framescope::analysis::ws::mask::apply_mask;
use framescope::export::pcap_writer::{PcapWriter, Sender, TcpFlags, TcpSessionSynth};

/// One WebSocket frame's bytes.
pub fn ws_frame(fin: bool, rsv1: bool, opcode: OpCode, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
    header.rsv1 = rsv1;
    let mut out = header.to_bytes();
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        apply_mask(&mut body, key, 0);
    }
    out.extend_from_slice(&body);
    out
}

pub const CLIENT_KEY: Option<[u8; 4]> = Some([0x12, 0x34, 0x56, 0x78]);

pub fn upgrade_request(extensions: Option<&str>) -> Vec<u8> {
    let mut req = String::from(
        "GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    );
    if let Some(ext) = extensions {
        req.push_str(&format!("Sec-WebSocket-Extensions: {ext}\r\n"));
    }
    req.push_str("\r\n");
    req.into_bytes()
}

pub fn upgrade_response(extensions: Option<&str>) -> Vec<u8> {
    let mut resp = String::from(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
    );
    if let Some(ext) = extensions {
        resp.push_str(&format!("Sec-WebSocket-Extensions: {ext}\r\n"));
    }
    resp.push_str("\r\n");
    resp.into_bytes()
}

/// A TCP segment before it is turned into packet bytes (so tests can reorder, drop, copy).
#[derive(Clone, Debug)]
pub struct Seg {
    pub ts: Timestamp,
    pub sender: Sender,
    pub seq: u32,
    pub flags: TcpFlags,
    pub payload: Vec<u8>,
}

/// Builds a TCP conversation segment by segment.
pub struct Conversation {
    pub synth: TcpSessionSynth,
    pub segs: Vec<Seg>,
    pub ts: Timestamp,
    pub mss: usize,
}

impl Conversation {
    pub fn new(client: &str, server: &str, client_isn: u32, server_isn: u32) -> Self {
        let synth = TcpSessionSynth::new(
            client.parse().expect("client addr"),
            server.parse().expect("server addr"),
            client_isn,
            server_isn,
        );
        Conversation {
            synth,
            segs: Vec::new(),
            ts: Timestamp::from_secs_micros(1_700_000_000, 0),
            mss: 1000,
        }
    }

    fn tick(&mut self) -> Timestamp {
        self.ts = Timestamp::from_nanos(self.ts.nanos + 1_000_000);
        self.ts
    }

    fn push(&mut self, sender: Sender, seq: u32, flags: TcpFlags, payload: Vec<u8>) {
        let ts = self.tick();
        self.segs.push(Seg {
            ts,
            sender,
            seq,
            flags,
            payload,
        });
    }

    pub fn open(&mut self) {
        let c = self.synth.next_seq(Sender::Client);
        self.push(Sender::Client, c, TcpFlags::SYN, vec![]);
        self.synth.skip(Sender::Client, 1);
        let s = self.synth.next_seq(Sender::Server);
        self.push(Sender::Server, s, TcpFlags::SYN_ACK, vec![]);
        self.synth.skip(Sender::Server, 1);
        let c = self.synth.next_seq(Sender::Client);
        self.push(Sender::Client, c, TcpFlags::ACK, vec![]);
    }

    /// Sends bytes as MSS-sized segments, then an ACK from the peer.
    pub fn send(&mut self, sender: Sender, data: &[u8]) {
        for piece in data.chunks(self.mss) {
            let seq = self.synth.next_seq(sender);
            self.push(sender, seq, TcpFlags::PSH_ACK, piece.to_vec());
            self.synth.skip(sender, piece.len() as u32);
        }
        let peer = if sender == Sender::Client {
            Sender::Server
        } else {
            Sender::Client
        };
        let seq = self.synth.next_seq(peer);
        self.push(peer, seq, TcpFlags::ACK, vec![]);
    }

    pub fn close(&mut self) {
        for sender in [Sender::Client, Sender::Server] {
            let seq = self.synth.next_seq(sender);
            self.push(sender, seq, TcpFlags::FIN_ACK, vec![]);
            self.synth.skip(sender, 1);
        }
    }

    /// Packet bytes of every segment, in order.
    pub fn packets(&mut self) -> Vec<(Timestamp, Vec<u8>)> {
        let segs = self.segs.clone();
        segs.iter()
            .map(|s| (s.ts, self.synth.packet(s.sender, s.seq, s.flags, &s.payload).to_vec()))
            .collect()
    }
}

/// An analyzer for keys that arrive late (a live capture re-reading a browser's
/// SSLKEYLOGFILE): each direction holds up to 1 MiB of ciphertext waiting for its key, so a
/// whole test capture waits without `tls-no-key`.
pub fn analyzer_for_late_keys() -> Analyzer {
    Analyzer::new(AnalyzerConfig {
        tls: framescope::analysis::tls::TlsLimits {
            max_waiting_bytes: 1 << 20,
            ..Default::default()
        },
        ..AnalyzerConfig::default()
    })
}

/// Every packet of a pcap file (libpcap, microsecond timestamps) with its time.
pub fn pcap_packets(path: &Path) -> Vec<(Timestamp, Vec<u8>)> {
    let mut file = pcap::Capture::from_file(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut packets = Vec::new();
    while let Ok(p) = file.next_packet() {
        let ts = Timestamp::from_secs_nanos(p.header.ts.tv_sec, p.header.ts.tv_usec * 1000);
        packets.push((ts, p.data.to_vec()));
    }
    packets
}

/// Feeds Ethernet packets straight to an analyzer (no file), with frame events on.
pub fn analyze_packets(packets: &[(Timestamp, Vec<u8>)], config: AnalyzerConfig) -> CollectSink {
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        emit_frames: true,
        ..config
    });
    let mut sink = CollectSink::default();
    for (ts, data) in packets {
        analyzer.push_packet(*ts, LinkType::Ethernet, data, &mut sink);
    }
    analyzer.finish(&mut sink);
    sink
}

/// Writes packets as a pcap file (optionally cut to `snaplen`).
pub fn write_pcap(path: &Path, packets: &[(Timestamp, Vec<u8>)], snaplen: u32) {
    let file = std::fs::File::create(path).expect("create pcap");
    let mut w = PcapWriter::with_link_type(std::io::BufWriter::new(file), 1, snaplen).expect("header");
    for (ts, data) in packets {
        w.write_packet(*ts, data).expect("write");
    }
    w.into_inner().expect("flush");
}

/// Payloads of the text and binary messages in one direction.
pub fn data_payloads(sink: &CollectSink, dir: framescope::analysis::Direction) -> Vec<Vec<u8>> {
    sink.messages
        .iter()
        .filter(|m| m.dir == dir && matches!(m.opcode, OpCode::Text | OpCode::Binary))
        .map(|m| m.payload.clone())
        .collect()
}

pub fn slugs(sink: &CollectSink) -> Vec<&'static str> {
    sink.findings.iter().map(|f| f.kind.slug()).collect()
}

/// A sink that only counts, for hostile inputs where collecting would itself be the cost.
#[derive(Default)]
pub struct CountSink {
    pub messages: u64,
    pub findings: Vec<String>,
    pub connections: u64,
}

impl EventSink for CountSink {
    fn event(&mut self, event: framescope::analysis::Event<'_>) {
        match event {
            framescope::analysis::Event::Message(_) => self.messages += 1,
            framescope::analysis::Event::Anomaly(f) => self.findings.push(f.kind.slug().to_owned()),
            framescope::analysis::Event::Connection(_) => self.connections += 1,
            _ => {}
        }
    }
}

/// Runs `serve` with a listener on 127.0.0.1:0, on its own thread and runtime (so a test's
/// client and server never share one); returns the port.
pub fn spawn_server<F, Fut>(serve: F) -> u16
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr").port()).expect("port");
            serve(listener).await;
        });
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("server port")
}

/// Accepts two WebSocket connections: the first is dropped (no close frame) after its first
/// message, the second echoes text as "echo: …". Returns the port.
pub fn dropping_server() -> u16 {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    spawn_server(move |listener| async move {
        for round in 0..2 {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(std::time::Duration::from_secs(20), listener.accept()).await
            else {
                return;
            };
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    if round == 0 {
                        break; // drop the socket: no close frame
                    }
                    if ws.send(Message::text(format!("echo: {t}"))).await.is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// What a test server received and sent, in order (data and close frames).
pub type ServerLog = std::sync::Arc<
    std::sync::Mutex<(
        Vec<tokio_tungstenite::tungstenite::Message>,
        Vec<tokio_tungstenite::tungstenite::Message>,
    )>,
>;

/// A server for one connection that speaks first and closes first: it greets with a binary
/// message, answers binary with the bytes reversed and text with "echo: …", and on the text
/// "close please" sends close 1008 "too chatty" and waits for the client's answer. Everything
/// it received and sent goes into `log`. Returns the port.
pub fn closing_server(log: ServerLog) -> u16 {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    spawn_server(move |listener| async move {
        let Ok(Ok((tcp, _))) = tokio::time::timeout(std::time::Duration::from_secs(20), listener.accept()).await else {
            return;
        };
        let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
        let record = |received: Option<&Message>, sent: Option<&Message>| {
            if let Ok(mut l) = log.lock() {
                l.0.extend(received.cloned());
                l.1.extend(sent.cloned());
            }
        };
        let greeting = Message::binary(vec![0xde, 0xad, 0xbe, 0xef]);
        record(None, Some(&greeting));
        if ws.send(greeting).await.is_err() {
            return;
        }
        while let Some(Ok(m)) = ws.next().await {
            let reply = match &m {
                Message::Text(t) if t.as_str() == "close please" => Message::Close(Some(CloseFrame {
                    code: 1008.into(),
                    reason: "too chatty".into(),
                })),
                Message::Text(t) => Message::text(format!("echo: {t}")),
                Message::Binary(b) => Message::binary(b.iter().rev().copied().collect::<Vec<u8>>()),
                Message::Close(_) => {
                    record(Some(&m), None);
                    continue;
                }
                _ => continue,
            };
            record(Some(&m), Some(&reply));
            if ws.send(reply).await.is_err() {
                break;
            }
        }
    })
}

/// A tokio-tungstenite server on 127.0.0.1 (its own thread) that echoes after `delay`; answers `{"id":N,…}` with `{"id":N,"ok":true}` when `reqresp`.
pub fn tokio_echo_server(delay: std::time::Duration, reqresp: bool) -> u16 {
    use futures_util::{SinkExt, StreamExt};
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = std_listener.local_addr().unwrap().port();
    std_listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let (tx, mut rx) = ws.split();
                    let tx = std::sync::Arc::new(tokio::sync::Mutex::new(tx));
                    while let Some(Ok(m)) = rx.next().await {
                        if !m.is_text() {
                            continue;
                        }
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let reply = if reqresp {
                                let t = m.to_text().unwrap_or_default();
                                let id: String = t
                                    .trim_start_matches("{\"id\":")
                                    .chars()
                                    .take_while(|c| c.is_ascii_digit())
                                    .collect();
                                tungstenite::Message::text(format!("{{\"id\":{id},\"ok\":true}}"))
                            } else {
                                m
                            };
                            let _ = tx.lock().await.send(reply).await;
                        });
                    }
                });
            }
        });
    });
    port
}
