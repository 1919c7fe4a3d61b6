//! One probe connection: framescope's own TCP (or TLS) stream, a hand-written upgrade request,
//! crafted bytes written exactly as given (tokio-tungstenite would refuse broken frames), and
//! the server's bytes decoded by the engine's `StreamDecoder`, every byte tapped to the run's
//! recording.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::analysis::event::{Direction, MessageEvent, OwnedMessage};
use crate::analysis::findings::FindingKind;
use crate::analysis::time::Timestamp;
use crate::analysis::ws::frame::FrameHeader;
use crate::analysis::ws::stream::{Compression, StreamDecoder, StreamLimits, StreamOutput};
use crate::live::recorder::SessionRecorder;
use crate::live::tap::{TapObserver, now};
use crate::live::target::Target;

/// Anything a probe can talk over: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The run's recording, shared by the connections of consecutive cases: the pcapng waits in
/// `pending` until the first connection gives the recorder its endpoints.
#[derive(Default)]
pub struct RecState {
    pub pending: Option<crate::live::recorder::Recording>,
    pub rec: Option<SessionRecorder>,
}

pub type SharedRecorder = Arc<Mutex<RecState>>;

/// How a connection is opened.
#[derive(Clone)]
pub struct Dial {
    pub target: Target,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub timeout: Duration,
    pub recorder: Option<SharedRecorder>,
}

/// An open TCP/TLS stream, not yet upgraded.
pub struct Socket {
    pub io: Box<dyn Io>,
    /// Records this connection (false for the extra connections of a many-connections case:
    /// one recording holds one connection at a time).
    pub tapped: bool,
    pub recorder: Option<SharedRecorder>,
}

impl Socket {
    fn tap(&self, dir: Direction, data: &[u8]) {
        tap(self.tapped, &self.recorder, dir, data);
    }

    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.tap(Direction::ClientToServer, data);
        self.io.write_all(data).await?;
        self.io.flush().await
    }
}

fn tap(tapped: bool, recorder: &Option<SharedRecorder>, dir: Direction, data: &[u8]) {
    if !tapped || data.is_empty() {
        return;
    }
    if let Some(r) = recorder
        && let Ok(mut guard) = r.lock()
        && let Some(rec) = guard.rec.as_mut()
    {
        rec.bytes(dir, now(), data);
    }
}

/// Resolves and connects (TLS when the URL is wss://); `record` starts a new connection in
/// the recording.
pub async fn dial(d: &Dial, record: bool) -> Result<Socket, String> {
    let host = d.target.host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(d.timeout, tokio::net::lookup_host((host.as_str(), d.target.port)))
            .await
            .map_err(|_| format!("resolving {host} timed out"))?
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
    let mut last = format!("{host} resolved to no address");
    for addr in addrs {
        match tokio::time::timeout(d.timeout, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => {
                let _ = tcp.set_nodelay(true);
                let local = tcp.local_addr().map_err(|e| e.to_string())?;
                if record
                    && let Some(r) = &d.recorder
                    && let Ok(mut guard) = r.lock()
                {
                    let state = &mut *guard;
                    match state.rec.as_mut() {
                        Some(rec) => rec.reconnect(local, addr),
                        None => {
                            let file = state.pending.take();
                            state.rec = Some(SessionRecorder::new(local, addr, Box::new(Discard), file));
                        }
                    }
                }
                let io: Box<dyn Io> = match &d.tls {
                    None => Box::new(tcp),
                    Some(config) => {
                        let name = rustls_pki_types::ServerName::try_from(host.clone())
                            .map_err(|_| format!("'{host}' is not a valid TLS server name"))?;
                        let connector = tokio_rustls::TlsConnector::from(config.clone());
                        let tls = tokio::time::timeout(d.timeout, connector.connect(name, tcp))
                            .await
                            .map_err(|_| "the TLS handshake timed out".to_owned())?
                            .map_err(|e| crate::live::tls::describe_tls_error(&e, &host).to_string())?;
                        Box::new(tls)
                    }
                };
                return Ok(Socket {
                    io,
                    tapped: record,
                    recorder: d.recorder.clone(),
                });
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("connection to {addr} refused: nothing is listening there");
            }
            Ok(Err(e)) => last = format!("cannot connect to {addr}: {e}"),
            Err(_) => last = format!("connecting to {addr} timed out"),
        }
    }
    Err(last)
}

/// An event sink that keeps nothing: the recorder's analyzer only needs somewhere to put events.
struct Discard;
impl crate::analysis::EventSink for Discard {
    fn event(&mut self, _event: crate::analysis::Event<'_>) {}
}

/// The server's answer to an upgrade request.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Bytes after the head (the first frames, when the server was quick).
    pub rest: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Most bytes of a response head read (RFC 6455 servers answer in a few hundred).
const MAX_HEAD: usize = 64 * 1024;

/// Writes `request` and reads the response head. `Err` when the server closed or timed out
/// before a whole head came.
pub async fn upgrade(sock: &mut Socket, request: &[u8], timeout: Duration) -> Result<Answer, String> {
    sock.write(request)
        .await
        .map_err(|e| format!("writing the upgrade request failed: {e}"))?;
    let mut buf = Vec::with_capacity(1024);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut chunk = [0u8; 4096];
        let n = match tokio::time::timeout_at(deadline, sock.io.read(&mut chunk)).await {
            Err(_) => return Err("no answer to the upgrade request in time".to_owned()),
            Ok(Err(e)) => return Err(format!("the connection failed during the upgrade: {e}")),
            Ok(Ok(0)) => return Err("the server closed the connection without answering the upgrade".to_owned()),
            Ok(Ok(n)) => n,
        };
        let got = chunk.get(..n).unwrap_or_default();
        sock.tap(Direction::ServerToClient, got);
        buf.extend_from_slice(got);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                return Ok(Answer {
                    status: resp.code.unwrap_or(0),
                    headers: resp
                        .headers
                        .iter()
                        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                        .collect(),
                    rest: buf.get(len..).unwrap_or_default().to_vec(),
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err("the answer's head is over 64 KiB".to_owned()),
            Err(e) => return Err(format!("the answer is not HTTP: {e}")),
        }
    }
}

/// What the reader task reports.
#[derive(Debug)]
pub enum Incoming {
    Message(OwnedMessage),
    /// A rule the server broke in what it sent (a finding slug and detail).
    Finding(&'static str, String),
    /// The server closed TCP (or it failed).
    Ended(String),
}

struct ToChannel<'a> {
    out: &'a mut Vec<Incoming>,
}

impl StreamOutput for ToChannel<'_> {
    fn frame(&mut self, _ts: Timestamp, _header: &FrameHeader, _offset: u64) {}
    fn message(&mut self, m: &MessageEvent<'_>) {
        self.out.push(Incoming::Message(OwnedMessage::from(m)));
    }
    fn finding(&mut self, kind: FindingKind, _ts: Timestamp, _offset: Option<u64>, detail: String) {
        self.out.push(Incoming::Finding(kind.slug(), detail));
    }
}

/// The largest message the probe keeps (the 9.x cases echo up to 16 MiB).
const MAX_MESSAGE: usize = 20 << 20;

/// An upgraded connection: a writer and the reader task's channel.
pub struct Conn {
    pub writer: WriteHalf<Box<dyn Io>>,
    pub events: mpsc::Receiver<Incoming>,
    tapped: bool,
    recorder: Option<SharedRecorder>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Conn {
    /// Starts reading the server's frames (after `answer`'s leftover bytes).
    pub fn start(sock: Socket, rest: Vec<u8>, compression: Compression) -> Conn {
        let Socket { io, tapped, recorder } = sock;
        let (read, writer) = tokio::io::split(io);
        let (tx, events) = mpsc::channel(4096);
        let reader = tokio::spawn(read_loop(read, rest, compression, tx, tapped, recorder.clone()));
        Conn {
            writer,
            events,
            tapped,
            recorder,
            reader,
        }
    }

    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        tap(self.tapped, &self.recorder, Direction::ClientToServer, data);
        self.writer.write_all(data).await?;
        self.writer.flush().await
    }

    /// Closes our side of TCP (FIN): after a closing handshake, or when giving up.
    pub async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(200), self.writer.shutdown()).await;
    }
}

async fn read_loop(
    mut read: ReadHalf<Box<dyn Io>>,
    rest: Vec<u8>,
    compression: Compression,
    tx: mpsc::Sender<Incoming>,
    tapped: bool,
    recorder: Option<SharedRecorder>,
) {
    let limits = StreamLimits {
        max_message_bytes: MAX_MESSAGE,
        max_inflated_bytes: MAX_MESSAGE,
    };
    let mut decoder = StreamDecoder::synced(0, Direction::ServerToClient, compression, limits);
    let mut offset = 0u64;
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = Some(rest);
    loop {
        let data: Vec<u8> = match first.take() {
            Some(r) => r,
            None => match read.read(&mut buf).await {
                Ok(0) => {
                    let _ = tx.send(Incoming::Ended("the server closed TCP".to_owned())).await;
                    return;
                }
                Ok(n) => {
                    let got = buf.get(..n).unwrap_or_default();
                    tap(tapped, &recorder, Direction::ServerToClient, got);
                    got.to_vec()
                }
                Err(e) => {
                    let _ = tx.send(Incoming::Ended(format!("TCP failed: {e}"))).await;
                    return;
                }
            },
        };
        if data.is_empty() {
            continue;
        }
        decoder.on_data(now(), offset, &data, &mut ToChannel { out: &mut pending });
        offset += data.len() as u64;
        for item in pending.drain(..) {
            if tx.send(item).await.is_err() {
                return;
            }
        }
    }
}
