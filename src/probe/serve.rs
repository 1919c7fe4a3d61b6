//! `framescope probe --serve ADDR`: the mirror image, testing a client that connects. Each
//! connection gets the next test: its handshake is checked, then the server sends what the
//! test needs (a ping, a broken frame, a close) and judges the client's reaction through the
//! engine's decoder for the client's direction (which flags unmasked frames). Over plain TCP
//! or, with a certificate and key, TLS (rustls) for clients of `wss://`. Bounded by a
//! connection count and a time limit; a summary at the end.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::analysis::event::{Direction, MessageEvent, OwnedMessage};
use crate::analysis::findings::FindingKind;
use crate::analysis::http::handshake::expected_accept;
use crate::analysis::time::Timestamp;
use crate::analysis::ws::builder::FrameSpec;
use crate::analysis::ws::frame::{FrameHeader, OpCode};
use crate::analysis::ws::stream::{Compression, StreamDecoder, StreamLimits, StreamOutput};
use crate::probe::{CaseResult, Verdict};

/// The tests, one per connection, in order.
pub const TESTS: [(&str, &str); 5] = [
    (
        "c.1",
        "handshake, masking, a ping answered with the same payload, our close 1000 echoed",
    ),
    (
        "c.2",
        "a frame with reserved opcode 3 from the server: the client must fail the connection (1002)",
    ),
    (
        "c.3",
        "a ping of 126 octets from the server: the client must fail the connection (1002)",
    ),
    (
        "c.4",
        "invalid UTF-8 in a text message from the server: the client must fail the connection (1007)",
    ),
    (
        "c.5",
        "a masked frame from the server: the client must fail the connection (1002)",
    ),
];

#[derive(Default)]
struct Seen {
    messages: Vec<OwnedMessage>,
    findings: Vec<(FindingKind, String)>,
    ended: bool,
}

impl StreamOutput for Seen {
    fn frame(&mut self, _ts: Timestamp, _h: &FrameHeader, _o: u64) {}
    fn message(&mut self, m: &MessageEvent<'_>) {
        self.messages.push(OwnedMessage::from(m));
    }
    fn finding(&mut self, kind: FindingKind, _ts: Timestamp, _o: Option<u64>, detail: String) {
        self.findings.push((kind, detail));
    }
}

fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    FrameSpec {
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode,
        mask,
        length_form: Default::default(),
        payload: payload.to_vec(),
    }
    .to_bytes()
}

/// Reads what the client sends for up to `wait`, decoding as we go; stops early once a
/// message with `until_opcode` has come (or the client has gone).
async fn watch<S: AsyncRead + Unpin>(
    tcp: &mut S,
    dec: &mut StreamDecoder,
    offset: &mut u64,
    seen: &mut Seen,
    wait: Duration,
    until_opcode: OpCode,
) {
    let until = tokio::time::Instant::now() + wait;
    let mut buf = vec![0u8; 64 * 1024];
    while !seen.ended && !seen.messages.iter().any(|m| m.opcode == until_opcode) {
        match tokio::time::timeout_at(until, tcp.read(&mut buf)).await {
            Err(_) => return,
            Ok(Ok(0)) | Ok(Err(_)) => seen.ended = true,
            Ok(Ok(n)) => {
                let data = buf.get(..n).unwrap_or_default();
                dec.on_data(crate::live::tap::now(), *offset, data, seen);
                *offset += n as u64;
            }
        }
    }
}

/// Checks a request head; `Err` is why it is not a valid upgrade, `Ok` has the key and notes.
fn check_request(head: &[u8]) -> Result<(String, Vec<String>), String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err("not an HTTP request".to_owned()),
    }
    let get = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
    };
    let mut notes = Vec::new();
    if req.method != Some("GET") {
        return Err(format!("method {:?}, not GET", req.method));
    }
    if !get("Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return Err("no 'Upgrade: websocket'".to_owned());
    }
    if !get("Connection").is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade"))) {
        return Err("no 'Connection: Upgrade'".to_owned());
    }
    if get("Sec-WebSocket-Version").as_deref() != Some("13") {
        return Err("Sec-WebSocket-Version is not 13".to_owned());
    }
    let key = get("Sec-WebSocket-Key").ok_or("no Sec-WebSocket-Key")?;
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(&key) {
        Ok(k) if k.len() == 16 => {}
        _ => return Err(format!("Sec-WebSocket-Key '{key}' is not 16 base64-encoded bytes")),
    }
    if get("Host").is_none() {
        notes.push("no Host header".to_owned());
    }
    Ok((key, notes))
}

/// The result row of test number `test`.
fn result(test: usize, verdict: Verdict, close_code: Option<u16>, detail: String) -> CaseResult {
    let (id, desc) = TESTS.get(test).copied().unwrap_or(("c.?", ""));
    CaseResult {
        id: id.to_owned(),
        category: "c client".to_owned(),
        description: desc.to_owned(),
        verdict,
        close_code,
        detail,
        behavior: None,
        millis: 0,
    }
}

async fn one<S: AsyncRead + AsyncWrite + Unpin>(mut tcp: S, test: usize) -> CaseResult {
    let mk = |verdict: Verdict, close_code: Option<u16>, detail: String| result(test, verdict, close_code, detail);
    // The request head.
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while memchr::memmem::find(&head, b"\r\n\r\n").is_none() {
        match tokio::time::timeout_at(until, tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 && head.len() < 64 * 1024 => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
            _ => return mk(Verdict::Fail, None, "no complete upgrade request within 5 s".to_owned()),
        }
    }
    let (key, mut notes) = match check_request(&head) {
        Ok(k) => k,
        Err(e) => {
            let _ = tcp
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            return mk(Verdict::Fail, None, format!("bad upgrade request: {e}"));
        }
    };
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        expected_accept(&key)
    );
    if tcp.write_all(answer.as_bytes()).await.is_err() {
        return mk(Verdict::Fail, None, "the client went away after its request".to_owned());
    }
    let mut dec = StreamDecoder::synced(
        0,
        Direction::ClientToServer,
        Compression::NotNegotiated,
        StreamLimits::default(),
    );
    let mut offset = 0u64;
    let mut seen = Seen::default();
    let header_end = memchr::memmem::find(&head, b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(head.len());
    if let Some(early) = head.get(header_end..).filter(|e| !e.is_empty()) {
        dec.on_data(crate::live::tap::now(), 0, early, &mut seen);
        offset = early.len() as u64;
    }
    let close_of = |s: &Seen| {
        s.messages
            .iter()
            .find(|m| m.opcode == OpCode::Close)
            .map(|m| m.close_code)
    };
    let (send, want_code): (Vec<u8>, u16) = match test {
        0 => {
            let _ = tcp.write_all(&frame(9, b"framescope-ping", None)).await;
            watch(
                &mut tcp,
                &mut dec,
                &mut offset,
                &mut seen,
                Duration::from_secs(3),
                OpCode::Pong,
            )
            .await;
            let pong = seen
                .messages
                .iter()
                .find(|m| m.opcode == OpCode::Pong)
                .map(|m| m.payload.clone());
            let _ = tcp.write_all(&frame(8, &1000u16.to_be_bytes(), None)).await;
            watch(
                &mut tcp,
                &mut dec,
                &mut offset,
                &mut seen,
                Duration::from_secs(3),
                OpCode::Close,
            )
            .await;
            let unmasked = seen
                .findings
                .iter()
                .any(|(k, _)| *k == FindingKind::UnmaskedClientFrame);
            let code = close_of(&seen).flatten();
            let mut fails = Vec::new();
            if unmasked {
                fails.push("the client sent unmasked frames".to_owned());
            }
            match &pong {
                Some(p) if p.as_slice() == b"framescope-ping" => {}
                Some(p) => fails.push(format!(
                    "the pong carried '{}' instead of the ping's payload",
                    String::from_utf8_lossy(p)
                )),
                None => fails.push("no pong within 3 s".to_owned()),
            }
            if close_of(&seen).is_none() {
                fails.push("our close was not answered with a close".to_owned());
            }
            for (k, d) in &seen.findings {
                notes.push(format!("{}: {d}", k.slug()));
            }
            let verdict = if fails.is_empty() { Verdict::Pass } else { Verdict::Fail };
            fails.extend(notes);
            return mk(
                verdict,
                code,
                if fails.is_empty() {
                    "ping answered, frames masked, close echoed".to_owned()
                } else {
                    fails.join("; ")
                },
            );
        }
        1 => (frame(3, b"", None), 1002),
        2 => (frame(9, &[0xfe; 126], None), 1002),
        3 => (
            frame(
                1,
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
                None,
            ),
            1007,
        ),
        _ => (frame(1, b"masked", Some([1, 2, 3, 4])), 1002),
    };
    let _ = tcp.write_all(&send).await;
    watch(
        &mut tcp,
        &mut dec,
        &mut offset,
        &mut seen,
        Duration::from_secs(2),
        OpCode::Close,
    )
    .await;
    let closed = close_of(&seen);
    let (verdict, detail) = match closed {
        Some(Some(c)) if c == want_code => (Verdict::Pass, format!("the client failed the connection with {c}")),
        Some(code) => (
            Verdict::NonStrict,
            format!("the client closed with {code:?}, expected {want_code}"),
        ),
        None if seen.ended => (
            Verdict::NonStrict,
            "the client dropped TCP without a close frame".to_owned(),
        ),
        None => (Verdict::Fail, "the client kept the connection open".to_owned()),
    };
    let _ = tcp.shutdown().await;
    mk(verdict, closed.flatten(), detail)
}

/// Serves `max_clients` connections (each the next test, cycling) or until `limit` passes.
pub async fn serve(
    addr: SocketAddr,
    max_clients: usize,
    limit: Duration,
    progress: &mut (dyn FnMut(&CaseResult) + Send),
) -> Result<Vec<CaseResult>, String> {
    serve_tls(addr, None, max_clients, limit, progress).await
}

/// How long a client gets for its TLS handshake.
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// `serve` over TLS when `tls` is given (see `live::tls::server_config`). A client whose TLS
/// handshake fails (it refused the certificate, or spoke plain HTTP) fails that test, with
/// rustls's reason.
pub async fn serve_tls(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    max_clients: usize,
    limit: Duration,
    progress: &mut (dyn FnMut(&CaseResult) + Send),
) -> Result<Vec<CaseResult>, String> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let until = tokio::time::Instant::now() + limit;
    let mut out = Vec::new();
    for n in 0..max_clients {
        let (tcp, _) = match tokio::time::timeout_at(until, listener.accept()).await {
            Err(_) => break,
            Ok(Err(e)) => return Err(format!("accept failed: {e}")),
            Ok(Ok(c)) => c,
        };
        let _ = tcp.set_nodelay(true);
        let test = n % TESTS.len();
        let r = match &acceptor {
            None => one(tcp, test).await,
            Some(a) => match tokio::time::timeout(TLS_HANDSHAKE_LIMIT, a.accept(tcp)).await {
                Ok(Ok(stream)) => one(stream, test).await,
                Ok(Err(e)) => result(test, Verdict::Fail, None, format!("the TLS handshake failed: {e}")),
                Err(_) => result(
                    test,
                    Verdict::Fail,
                    None,
                    format!("no TLS handshake within {} s", TLS_HANDSHAKE_LIMIT.as_secs()),
                ),
            },
        };
        progress(&r);
        out.push(r);
    }
    Ok(out)
}
