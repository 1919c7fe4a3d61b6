//! One virtual client: connect (timed), upgrade (timed), then send at its rate while a reader
//! matches replies — echo: the send time travels in the payload; reqresp: a JSON id looked up
//! in a small table — until the run stops or its churn lifetime ends, then close and (with
//! churn) connect again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::load::stats::Stats;
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

/// The payload of message `seq`: its send time (µs since the run started) first, so an echo
/// carries it back.
fn payload(mode: Mode, seq: u64, sent_us: u64, size: usize) -> String {
    let mut s = match mode {
        Mode::Echo => format!("{sent_us};"),
        Mode::Reqresp => format!("{{\"id\":{seq},\"pad\":\""),
    };
    let close = if mode == Mode::Reqresp { "\"}" } else { "" };
    let fill = size.saturating_sub(s.len() + close.len());
    s.extend(std::iter::repeat_n('x', fill));
    s.push_str(close);
    s
}

/// The id of a reqresp answer: the number after `"id":`.
fn answer_id(text: &str) -> Option<u64> {
    let at = text.find("\"id\":")? + 5;
    let digits: String = text
        .get(at..)?
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
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
        let t1 = Instant::now();
        let Ok(request) = o.target.url.as_str().into_client_request() else {
            stats.error("bad URL".to_owned());
            return;
        };
        // Small buffers: tungstenite's default 128 KiB read buffer per connection would take
        // 1.3 GB at 10 000 connections.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size((o.size + 64).clamp(4096, 128 * 1024));
        let ws = match tokio::time::timeout(
            o.connect_timeout,
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config)),
        )
        .await
        {
            Err(_) => {
                stats.error("timeout".to_owned());
                backoff(&mut stop).await;
                continue;
            }
            Ok(Err(e)) => {
                stats.error(ws_error(&e));
                backoff(&mut stop).await;
                continue;
            }
            Ok(Ok((ws, _))) => ws,
        };
        Stats::record(&stats.handshake, t1.elapsed());
        stats.opened();
        let until = lifetime.map(|l| {
            let l = if first {
                l.mul_f64(((index % 97) as f64 + 1.0) / 97.0)
            } else {
                l
            };
            Instant::now() + l
        });
        first = false;
        talk(ws, o, stats, &mut stop, started, until).await;
        stats.closed();
    }
}

async fn backoff(stop: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        _ = stop.changed() => {}
    }
}

async fn talk(
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    o: &LoadOptions,
    stats: &Arc<Stats>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    started: Instant,
    until: Option<Instant>,
) {
    let (mut tx, mut rx) = ws.split();
    let pending: Arc<std::sync::Mutex<HashMap<u64, Instant>>> = Arc::default();
    let mode = o.mode;
    let reader_stats = stats.clone();
    let reader_pending = pending.clone();
    let mut reader = tokio::spawn(async move {
        while let Some(m) = rx.next().await {
            match m {
                Ok(Message::Text(t)) => {
                    reader_stats.received.fetch_add(1, Ordering::Relaxed);
                    reader_stats.bytes_received.fetch_add(t.len() as u64, Ordering::Relaxed);
                    let sent = match mode {
                        Mode::Echo => t
                            .split(';')
                            .next()
                            .and_then(|n| n.parse::<u64>().ok())
                            .map(|us| started + Duration::from_micros(us)),
                        Mode::Reqresp => {
                            answer_id(&t).and_then(|id| reader_pending.lock().ok().and_then(|mut p| p.remove(&id)))
                        }
                    };
                    if let Some(sent) = sent {
                        Stats::record(&reader_stats.rtt, sent.elapsed());
                    }
                }
                Ok(Message::Binary(b)) => {
                    reader_stats.received.fetch_add(1, Ordering::Relaxed);
                    reader_stats.bytes_received.fetch_add(b.len() as u64, Ordering::Relaxed);
                }
                Ok(Message::Close(frame)) => {
                    if let Some(f) = frame {
                        let code = u16::from(f.code);
                        if code != 1000 {
                            reader_stats.error(format!("closed with code {code}"));
                        }
                    }
                    return true;
                }
                Ok(_) => {}
                Err(e) => {
                    reader_stats.error(ws_error(&e));
                    return false;
                }
            }
        }
        reader_stats.error("dropped without a close".to_owned());
        false
    });
    let mut seq = 0u64;
    let mut tick = (o.rate > 0.0).then(|| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / o.rate));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let deadline = until.map(tokio::time::Instant::from_std);
    let mut closed_by_server = false;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => break,
            r = &mut reader => { closed_by_server = true; let _ = r; break; }
            _ = async { match tick.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {
                seq += 1;
                let now = Instant::now();
                let text = payload(mode, seq, now.duration_since(started).as_micros() as u64, o.size);
                if mode == Mode::Reqresp && let Ok(mut p) = pending.lock() {
                    // Bounded: answers that never come must not grow the table for ever.
                    if p.len() < 10_000 {
                        p.insert(seq, now);
                    }
                }
                let len = text.len() as u64;
                if tx.send(Message::text(text)).await.is_err() {
                    break;
                }
                stats.sent.fetch_add(1, Ordering::Relaxed);
                stats.bytes_sent.fetch_add(len, Ordering::Relaxed);
            }
        }
    }
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
        // Smaller than the header: never shorter than what must be carried.
        assert!(payload(Mode::Echo, 1, 99, 1).starts_with("99;"));
    }
}
