//! HAR files read as WebSocket traffic: each WebSocket entry becomes a connection and its
//! messages become message events, replayed in time order through the same `EventSink` as a
//! capture (so `--jsonl`, `--filter`, exports and the window all work on them).
//!
//! Read: Chrome DevTools' `_webSocketMessages` (`type` send/receive, `time` in epoch seconds,
//! `opcode`, `data` — text for opcode 1, base64 for the others), mitmproxy's HAR export (the
//! same fields; its URLs say `http://`), framescope's own (`_clientAddress`,
//! `_serverAddress`), and lenient variants: `sent`/`received`/`incoming`/`outgoing` types,
//! millisecond times, a missing opcode (text), a close given as `code`/`reason` fields.
//!
//! A HAR holds no packets and no frames: messages are reported with `frames` 0 and
//! `wire_len` 0, uncompressed; there are no RTT samples and no findings. An endpoint the HAR
//! does not give is `0.0.0.0:0` (the client, usually) or `0.0.0.0:PORT` (a server known by
//! name only).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

use crate::analysis::Timestamp;
use crate::analysis::event::{ConnectionEnd, ConnectionInfo, Direction, Event, EventSink, MessageEvent, MessageFacts};
use crate::analysis::http::{Handshake, RequestHead, ResponseHead};
use crate::analysis::ws::frame::OpCode;

/// Why a HAR could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not a HAR file: {0}")]
    NotHar(&'static str),
}

/// One message as the HAR gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct HarMessage {
    pub dir: Direction,
    pub ts: Timestamp,
    pub opcode: OpCode,
    pub payload: Vec<u8>,
    /// A close message's code; its reason is the payload after it (as on the wire).
    pub close_code: Option<u16>,
}

/// One WebSocket entry.
#[derive(Clone, Debug)]
pub struct HarConnection {
    pub info: ConnectionInfo,
    pub url: String,
    pub messages: Vec<HarMessage>,
}

/// A HAR's WebSocket connections, numbered in the order they started.
#[derive(Clone, Debug, Default)]
pub struct HarFile {
    pub connections: Vec<HarConnection>,
    /// Every entry of the log, WebSocket or not.
    pub entries: usize,
    /// `log.creator.name` and version, e.g. "WebInspector 537.36" or "mitmproxy 11.0.2".
    pub creator: String,
    /// The earliest time in the file (any entry's start, any message).
    pub start: Option<Timestamp>,
}

/// True when the file starts like a JSON document (a capture never does).
pub fn looks_like_har(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 64];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = file.read(&mut head).unwrap_or(0);
    let head = head.get(..n).unwrap_or_default();
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Seconds (or milliseconds, when too large to be seconds) since the epoch, to the microsecond.
fn epoch(value: &Value) -> Option<Timestamp> {
    let secs = value.as_f64().filter(|t| t.is_finite())?;
    let secs = if secs > 1e11 { secs / 1000.0 } else { secs };
    let micros = (secs * 1e6).round();
    (micros.abs() < 9e15).then(|| Timestamp::from_nanos((micros as i64).saturating_mul(1000)))
}

fn iso(value: Option<&Value>) -> Option<Timestamp> {
    let text = value?.as_str()?;
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(text, &time::format_description::well_known::Iso8601::DEFAULT))
        .ok()?;
    let nanos = i64::try_from(parsed.unix_timestamp_nanos()).ok()?;
    Some(Timestamp::from_nanos(nanos))
}

fn header_list(value: Option<&Value>) -> Vec<(String, String)> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|h| {
                    Some((
                        h.get("name")?.as_str()?.to_owned(),
                        h.get("value")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn version_minor(value: Option<&Value>) -> u8 {
    match value.and_then(Value::as_str) {
        Some(v) if v.eq_ignore_ascii_case("HTTP/1.0") => 0,
        _ => 1,
    }
}

fn is_websocket_entry(entry: &Value) -> bool {
    let resource = entry.get("_resourceType").and_then(Value::as_str);
    let url = entry
        .pointer("/request/url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    resource.is_some_and(|r| r.eq_ignore_ascii_case("websocket"))
        || entry.get("_webSocketMessages").is_some_and(Value::is_array)
        || url.starts_with("ws://")
        || url.starts_with("wss://")
        || entry.pointer("/response/status").and_then(Value::as_u64) == Some(101)
}

fn direction(kind: &str) -> Option<Direction> {
    match kind.to_ascii_lowercase().as_str() {
        "send" | "sent" | "outgoing" | "request" | "client" => Some(Direction::ClientToServer),
        "receive" | "received" | "incoming" | "response" | "server" => Some(Direction::ServerToClient),
        _ => None,
    }
}

fn decode_base64(data: &str) -> Option<Vec<u8>> {
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
    ];
    engines.iter().find_map(|e| e.decode(data.trim()).ok())
}

fn message(value: &Value, fallback_ts: Timestamp) -> Option<HarMessage> {
    let dir = direction(value.get("type")?.as_str()?)?;
    let ts = value.get("time").and_then(epoch).unwrap_or(fallback_ts);
    let opcode = value
        .get("opcode")
        .and_then(Value::as_u64)
        .and_then(|o| u8::try_from(o).ok())
        .filter(|o| *o < 16)
        .map_or(OpCode::Text, OpCode::from_u4);
    let data = value.get("data").and_then(Value::as_str).unwrap_or_default();
    let mut payload = match opcode {
        OpCode::Text => data.as_bytes().to_vec(),
        _ => decode_base64(data).unwrap_or_else(|| data.as_bytes().to_vec()),
    };
    let mut close_code = None;
    if opcode == OpCode::Close {
        if let [hi, lo, ..] = payload.as_slice() {
            close_code = Some(u16::from_be_bytes([*hi, *lo]));
        } else if let Some(code) = value
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
        {
            // Given as fields: rebuild the body as it was on the wire.
            close_code = Some(code);
            payload = code.to_be_bytes().to_vec();
            let reason = value.get("reason").and_then(Value::as_str).unwrap_or_default();
            payload.extend_from_slice(reason.as_bytes());
        }
    }
    Some(HarMessage {
        dir,
        ts,
        opcode,
        payload,
        close_code,
    })
}

fn unspecified_like(server: &SocketAddr) -> IpAddr {
    match server {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn connection(entry: &Value) -> Option<HarConnection> {
    let url_text = entry
        .pointer("/request/url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let url = url::Url::parse(url_text).ok();
    let port = url.as_ref().and_then(url::Url::port_or_known_default).unwrap_or(80);
    let path = url.as_ref().map_or_else(
        || "/".to_owned(),
        |u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
    );
    let addr = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<SocketAddr>().ok())
    };
    let server_ip = entry
        .get("serverIPAddress")
        .and_then(Value::as_str)
        .map(|s| s.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|s| s.parse::<IpAddr>().ok())
        .or_else(|| {
            url.as_ref()
                .and_then(|u| u.host_str())
                .and_then(|h| h.trim_start_matches('[').trim_end_matches(']').parse().ok())
        });
    let server = addr("_serverAddress")
        .unwrap_or_else(|| SocketAddr::new(server_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port));
    let client = addr("_clientAddress").unwrap_or_else(|| SocketAddr::new(unspecified_like(&server), 0));

    let started = iso(entry.get("startedDateTime"));
    let wait_ms = entry
        .pointer("/timings/wait")
        .and_then(Value::as_f64)
        .filter(|w| w.is_finite() && *w > 0.0)
        .unwrap_or(0.0);
    let started_ts = started.unwrap_or(Timestamp::ZERO);
    let waited = Timestamp::from_nanos(started_ts.nanos.saturating_add((wait_ms * 1e6) as i64));
    let mut messages: Vec<HarMessage> = entry
        .get("_webSocketMessages")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|m| message(m, waited)).collect())
        .unwrap_or_default();
    // Writers list messages in the order they saw them; keep that order for equal times.
    messages.sort_by_key(|m| m.ts);
    // The answer came no later than the first message: Chromium DevTools' `timings.wait` for a
    // WebSocket entry can end after the first frames (66 ms after the start, frames from 10 ms).
    let response_ts = messages.first().map_or(waited, |m| waited.min(m.ts.max(started_ts)));

    let request_headers = header_list(entry.pointer("/request/headers"));
    let response_headers = header_list(entry.pointer("/response/headers"));
    let status = entry
        .pointer("/response/status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    let handshake = (status != 0 || !response_headers.is_empty()).then(|| {
        let request = RequestHead {
            method: entry
                .pointer("/request/method")
                .and_then(Value::as_str)
                .unwrap_or("GET")
                .to_owned(),
            path: path.clone(),
            version_minor: version_minor(entry.pointer("/request/httpVersion")),
            headers: request_headers,
        };
        let response = ResponseHead {
            version_minor: version_minor(entry.pointer("/response/httpVersion")),
            status,
            reason: entry
                .pointer("/response/statusText")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            headers: response_headers,
        };
        Handshake::new(Some(request), started, response, response_ts)
    });

    let first_ts = match (started, messages.first()) {
        (Some(_), Some(m)) => response_ts.min(m.ts),
        (Some(_), None) => response_ts,
        (None, Some(m)) => m.ts,
        (None, None) => Timestamp::ZERO,
    };
    Some(HarConnection {
        info: ConnectionInfo {
            conn: 0,
            client,
            server,
            handshake,
            first_ts,
            // A HAR says nothing of TLS parameters (only the wss:// scheme).
            tls: None,
            h2_stream: None,
        },
        url: url_text.to_owned(),
        messages,
    })
}

impl HarFile {
    pub fn open(path: &Path) -> Result<HarFile, HarError> {
        let bytes = std::fs::read(path).map_err(|e| HarError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        HarFile::parse(&bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<HarFile, HarError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let root: Value = serde_json::from_slice(bytes).map_err(|e| HarError::Json(e.to_string()))?;
        let log = root.get("log").ok_or(HarError::NotHar("no \"log\" object"))?;
        let entries = log
            .get("entries")
            .and_then(Value::as_array)
            .ok_or(HarError::NotHar("no \"log.entries\" list"))?;
        let creator = log.get("creator").map_or_else(String::new, |c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let version = c.get("version").and_then(Value::as_str).unwrap_or_default();
            format!("{name} {version}").trim().to_owned()
        });
        let mut start: Option<Timestamp> = None;
        for entry in entries {
            if let Some(ts) = iso(entry.get("startedDateTime")) {
                start = Some(start.map_or(ts, |s| s.min(ts)));
            }
        }
        let mut connections: Vec<HarConnection> = entries
            .iter()
            .filter(|e| is_websocket_entry(e))
            .filter_map(connection)
            .collect();
        for c in &connections {
            let earliest = c
                .messages
                .first()
                .map_or(c.info.first_ts, |m| m.ts.min(c.info.first_ts));
            if c.info.first_ts != Timestamp::ZERO || !c.messages.is_empty() {
                start = Some(start.map_or(earliest, |s| s.min(earliest)));
            }
        }
        connections.sort_by_key(|c| c.info.first_ts);
        for (i, c) in connections.iter_mut().enumerate() {
            c.info.conn = u32::try_from(i).unwrap_or(u32::MAX);
        }
        Ok(HarFile {
            connections,
            entries: entries.len(),
            creator,
            start,
        })
    }

    pub fn messages(&self) -> usize {
        self.connections.iter().map(|c| c.messages.len()).sum()
    }

    /// Sends every connection, message and end to `sink`, in time order across connections
    /// (each connection before its first message), as the analyzer would.
    pub fn replay(&self, sink: &mut dyn EventSink) {
        // (time, what: 0 connection / 1 message / 2 end, connection, message index)
        let mut order: Vec<(Timestamp, u8, usize, usize)> =
            Vec::with_capacity(self.messages() + 2 * self.connections.len());
        for (ci, c) in self.connections.iter().enumerate() {
            order.push((c.info.first_ts, 0, ci, 0));
            for (mi, m) in c.messages.iter().enumerate() {
                order.push((m.ts.max(c.info.first_ts), 1, ci, mi));
            }
            let last = c.messages.last().map_or(c.info.first_ts, |m| m.ts.max(c.info.first_ts));
            order.push((last, 2, ci, 0));
        }
        order.sort_by_key(|&(ts, what, ci, mi)| (ts, ci, what, mi));
        for (ts, what, ci, mi) in order {
            let Some(c) = self.connections.get(ci) else {
                continue;
            };
            match what {
                0 => sink.event(Event::Connection(&c.info)),
                1 => {
                    if let Some(m) = c.messages.get(mi) {
                        let event = MessageEvent {
                            // A HAR has no frames: none counted, no bytes on the wire known.
                            facts: MessageFacts {
                                frames: 0,
                                wire_len: 0,
                                close_code: m.close_code,
                                ..MessageFacts::one_frame(c.info.conn, m.dir, m.opcode, m.ts, m.payload.len() as u64)
                            },
                            payload: &m.payload,
                            compressed_payload: None,
                        };
                        sink.event(Event::Message(&event));
                    }
                }
                _ => {
                    let closed = c.messages.iter().any(|m| m.opcode == OpCode::Close);
                    sink.event(Event::ConnectionEnded {
                        conn: c.info.conn,
                        ts,
                        how: if closed {
                            ConnectionEnd::Closed
                        } else {
                            ConnectionEnd::CaptureEnded
                        },
                        tcp: None,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a WebSocket entry Chromium's DevTools writes for an RFC 8441 stream: a
    /// `timings.wait` that ends after the first frames were already sent.
    const DEVTOOLS_ENTRY: &str = r#"{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},
      "entries":[{"_resourceType":"websocket","startedDateTime":"2026-12-02T02:44:16.760Z",
        "timings":{"send":0,"wait":66.385,"receive":2005.2},
        "request":{"method":"GET","url":"wss://localhost:47209/ws?stream=a","httpVersion":"HTTP/1.1","headers":[]},
        "response":{"status":200,"statusText":"","httpVersion":"HTTP/1.1","headers":[]},
        "_webSocketMessages":[{"type":"send","time":1796179456.769561,"opcode":1,"data":"hello"},
                              {"type":"receive","time":1796179456.80411,"opcode":1,"data":"hello"}]}]}}"#;

    #[test]
    fn a_handshake_is_answered_no_later_than_its_first_message() {
        let har = HarFile::parse(DEVTOOLS_ENTRY.as_bytes()).expect("parses");
        let conn = &har.connections[0];
        let first = conn.messages[0].ts;
        let hs = conn.info.handshake.as_ref().expect("handshake");
        assert_eq!(hs.response_ts, first);
        assert_eq!(hs.request_ts.expect("request time").nanos, 1_796_179_456_760_000_000);
        assert_eq!(conn.info.first_ts, first);
    }

    #[test]
    fn without_messages_the_answer_is_the_start_plus_the_wait() {
        let har =
            HarFile::parse(DEVTOOLS_ENTRY.replace("\"_webSocketMessages\"", "\"_none\"").as_bytes()).expect("parses");
        let hs = har.connections[0].info.handshake.as_ref().expect("handshake");
        assert_eq!(hs.response_ts.nanos, 1_796_179_456_760_000_000 + 66_385_000);
    }
}
