//! One virtual client: connect (timed), TLS for `wss://` (timed), upgrade (timed), then send
//! at its rate (`pace.rs`: everything due in one write) while a reader task matches replies —
//! echo: the send time travels in the payload; reqresp: a JSON id looked up in a small table —
//! until the run stops or its churn lifetime ends, then close and (with churn) connect again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::load::pace::Pace;
use crate::load::stats::{Stats, Tally};
use crate::load::{LoadOptions, Mode};

/// Why a connection attempt failed, in the report's words.
fn classify(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "refused".to_owned(),
        std::io::ErrorKind::TimedOut => "timeout".to_owned(),
        std::io::ErrorKind::ConnectionReset => "reset".to_owned(),
        k => format!("connect: {k}"),
    }
}

fn ws_error(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Http(resp) => {
            let s = resp.status().as_u16();
            if s >= 500 {
                "5xx".to_owned()
            } else {
                format!("http {s}")
            }
        }
        E::Io(io) => classify(io),
        E::ConnectionClosed | E::AlreadyClosed => "closed".to_owned(),
        E::Protocol(p) => format!("protocol: {p}"),
        other => format!("websocket: {other}"),
    }
}

/// A failed TLS handshake as an error kind, in the command line's words.
fn tls_error(e: &std::io::Error, name: &str) -> String {
    use crate::live::session::ConnectError;
    match crate::live::tls::describe_tls_error(e, name) {
        // The live client's hint names its form's options; here they are flags.
        ConnectError::Certificate(why) => format!("tls certificate: {why} (--ca-file, --insecure, --sni)"),
        ConnectError::Tls(why) => format!("tls: {why}"),
        other => format!("tls: {other}"),
    }
}

/// The payload of message `seq`: its send time (µs since the run started) first, so an echo
/// carries it back.
fn payload(mode: Mode, seq: u64, sent_us: u64, size: usize) -> String {
    use std::fmt::Write as _;
    const FILL: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    let mut s = String::with_capacity(size.max(32));
    let close = match mode {
        Mode::Echo => {
            let _ = write!(s, "{sent_us};");
            ""
        }
        Mode::Reqresp => {
            let _ = write!(s, "{{\"id\":{seq},\"pad\":\"");
            "\"}"
        }
    };
    let mut fill = size.saturating_sub(s.len() + close.len());
    while fill > 0 {
        let n = fill.min(FILL.len());
        s.push_str(FILL.get(..n).unwrap_or_default());
        fill -= n;
    }
    s.push_str(close);
    s
}

/// The send time an echo carries: the digits before the first `;`, in µs since the start.
fn echoed_send_us(text: &str) -> Option<u64> {
    let end = text.find(';')?;
    text.get(..end)?.parse().ok()
}

/// The id of a reqresp answer: the number after `"id":`.
fn answer_id(text: &str) -> Option<u64> {
    let at = text.find("\"id\":")? + 5;
    let rest = text.get(at..)?.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest.get(..digits)?.parse().ok()
}

pub async fn run(
    index: usize,
    o: &LoadOptions,
    stats: &Arc<Stats>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    started: Instant,
) {
    let host = o.target.host.trim_start_matches('[').trim_end_matches(']').to_owned();
    // With churn each connection lives connections/churn seconds on average; the first ones
    // are staggered so closes spread out.
    let lifetime = (o.churn > 0.0).then(|| Duration::from_secs_f64(o.connections as f64 / o.churn));
    let mut first = true;
    while !*stop.borrow() {
        let t0 = Instant::now();
        let tcp =
            match tokio::time::timeout(o.connect_timeout, TcpStream::connect((host.as_str(), o.target.port))).await {
                Err(_) => {
                    stats.error("timeout".to_owned());
                    backoff(&mut stop).await;
                    continue;
                }
                Ok(Err(e)) => {
                    stats.error(classify(&e));
                    backoff(&mut stop).await;
                    continue;
                }
                Ok(Ok(t)) => t,
            };
        let _ = tcp.set_nodelay(true);
        Stats::record(&stats.connect, t0.elapsed());
        let until = lifetime.map(|l| {
            let l = if first {
                l.mul_f64(((index % 97) as f64 + 1.0) / 97.0)
            } else {
                l
            };
            Instant::now() + l
        });
        first = false;
        let talked = match &o.tls {
            None => upgrade_and_talk(tcp, o, stats, &mut stop, started, until).await,
            Some(tls) => {
                let t1 = Instant::now();
                let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
                match tokio::time::timeout(o.connect_timeout, connector.connect(tls.server_name.clone(), tcp)).await {
                    Err(_) => Err("tls: timeout".to_owned()),
                    Ok(Err(e)) => Err(tls_error(&e, &tls.name)),
                    Ok(Ok(stream)) => {
                        Stats::record(&stats.tls, t1.elapsed());
                        upgrade_and_talk(stream, o, stats, &mut stop, started, until).await
                    }
                }
            }
        };
        if let Err(kind) = talked {
            stats.error(kind);
            backoff(&mut stop).await;
        }
    }
}

/// The upgrade (timed) over `stream`, then the talk; `Err` is the error kind when the
/// upgrade failed.
async fn upgrade_and_talk<S>(
    stream: S,
    o: &LoadOptions,
    stats: &Arc<Stats>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    started: Instant,
    until: Option<Instant>,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let t1 = Instant::now();
    let request = o
        .target
        .url
        .as_str()
        .into_client_request()
        .map_err(|_| "bad URL".to_owned())?;
    // Small buffers: tungstenite's default 128 KiB read buffer per connection would take
    // 1.3 GB at 10 000 connections.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size((o.size + 64).clamp(4096, 128 * 1024));
    let ws = match tokio::time::timeout(
        o.connect_timeout,
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)),
    )
    .await
    {
        Err(_) => return Err("timeout".to_owned()),
        Ok(Err(e)) => return Err(ws_error(&e)),
        Ok(Ok((ws, _))) => ws,
    };
    Stats::record(&stats.handshake, t1.elapsed());
    stats.opened();
    talk(ws, o, stats, stop, started, until).await;
    stats.closed();
    Ok(())
}

async fn backoff(stop: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        _ = stop.changed() => {}
    }
}

type Pending = Arc<std::sync::Mutex<HashMap<u64, Instant>>>;

/// Reads until the connection ends: counts every message and times the replies. True when
/// the server closed with a close frame.
async fn read_replies<S>(
    mut rx: futures_util::stream::SplitStream<WebSocketStream<S>>,
    mode: Mode,
    stats: Arc<Stats>,
    pending: Pending,
    started: Instant,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut tally = Tally::new(stats);
    while let Some(m) = rx.next().await {
        match m {
            Ok(Message::Text(t)) => {
                let now = Instant::now();
                let sent = match mode {
                    Mode::Echo => echoed_send_us(&t).map(|us| started + Duration::from_micros(us)),
                    Mode::Reqresp => answer_id(&t).and_then(|id| pending.lock().ok().and_then(|mut p| p.remove(&id))),
                };
                tally.received(t.len() as u64, sent.map(|s| now.saturating_duration_since(s)), now);
            }
            Ok(Message::Binary(b)) => tally.received(b.len() as u64, None, Instant::now()),
            Ok(Message::Close(frame)) => {
                if let Some(f) = frame {
                    let code = u16::from(f.code);
                    if code != 1000 {
                        tally.stats().error(format!("closed with code {code}"));
                    }
                }
                return true;
            }
            Ok(_) => {}
            Err(e) => {
                tally.stats().error(ws_error(&e));
                return false;
            }
        }
    }
    tally.stats().error("dropped without a close".to_owned());
    false
}

async fn talk<S>(
    ws: WebSocketStream<S>,
    o: &LoadOptions,
    stats: &Arc<Stats>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    started: Instant,
    until: Option<Instant>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut tx, rx) = ws.split();
    let pending: Pending = Arc::default();
    let mode = o.mode;
    let mut reader = tokio::spawn(read_replies(rx, mode, stats.clone(), pending.clone(), started));
    let mut tally = Tally::new(stats.clone());
    let mut pace = Pace::new(Instant::now(), o.rate);
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
    // Pinned once and reset: a new timer per loop turn would cost a timer-wheel entry each.
    let wake = tokio::time::sleep_until(if pace.is_some() {
        tokio::time::Instant::now()
    } else {
        far
    });
    tokio::pin!(wake);
    let end = tokio::time::sleep_until(until.map_or(far, tokio::time::Instant::from_std));
    tokio::pin!(end);
    let mut closed_by_server = false;
    'run: loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = &mut end => break,
            r = &mut reader => { closed_by_server = true; let _ = r; break; }
            _ = &mut wake => {
                let Some(p) = pace.as_mut() else { continue };
                let now = Instant::now();
                let due = p.due(now);
                let mut bytes = 0u64;
                for _ in 0..due {
                    let seq = p.total_sent() + 1;
                    let text = payload(mode, seq, now.duration_since(started).as_micros() as u64, o.size);
                    if mode == Mode::Reqresp && let Ok(mut table) = pending.lock() {
                        // Bounded: answers that never come must not grow the table for ever.
                        if table.len() < 10_000 {
                            table.insert(seq, now);
                        }
                    }
                    bytes += text.len() as u64;
                    // Into tungstenite's write buffer; one flush below writes the batch.
                    if tx.feed(Message::text(text)).await.is_err() {
                        break 'run;
                    }
                    p.sent(1);
                }
                if due > 0 && tx.flush().await.is_err() {
                    break;
                }
                let now = Instant::now();
                tally.sent(due, bytes);
                tally.flush_if_due(now);
                wake.as_mut().reset(tokio::time::Instant::from_std(p.next_wake(now)));
            }
        }
    }
    drop(tally);
    if !closed_by_server {
        let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(Message::Close(None))).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut reader).await;
        reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_the_asked_size_and_carry_what_is_matched() {
        let e = payload(Mode::Echo, 1, 123_456, 32);
        assert_eq!(e.len(), 32);
        assert!(e.starts_with("123456;"));
        let r = payload(Mode::Reqresp, 42, 0, 40);
        assert_eq!(r.len(), 40);
        assert_eq!(answer_id(&r), Some(42));
        assert_eq!(answer_id("{\"ok\":1, \"id\": 7}"), Some(7));
        assert_eq!(answer_id("no id"), None);
        assert_eq!(echoed_send_us(&e), Some(123_456));
        assert_eq!(echoed_send_us("x;"), None);
        let big = payload(Mode::Echo, 1, 5, 1000);
        assert_eq!(big.len(), 1000);
        assert!(big.ends_with('x'));
        // Smaller than the header: never shorter than what must be carried.
        assert!(payload(Mode::Echo, 1, 99, 1).starts_with("99;"));
    }
}
