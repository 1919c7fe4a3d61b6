//! HAR 1.2 export (`analyze --har OUT`): one entry per WebSocket connection, its upgrade
//! request and response, and its messages in Chrome DevTools' `_webSocketMessages` form:
//! `{"type":"send"|"receive","time":<epoch seconds>,"opcode":1,"data":"…"}`, text as text and
//! every other opcode's payload in base64 (as Chrome's `payloadData`).
//!
//! A HAR is one JSON document, so the messages are held in memory until `write`.
//! Two fields beyond Chrome's keep what a HAR has no place for: `_clientAddress` and
//! `_serverAddress` (the TCP endpoints) on each entry; the reader uses them when present.

use std::io::{self, Write};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::analysis::Timestamp;
use crate::analysis::event::{ConnectionInfo, Direction, Event, EventSink, MessageEvent};
use crate::analysis::ws::frame::OpCode;

struct HarConn {
    info: ConnectionInfo,
    messages: Vec<Value>,
}

/// Collects connections and messages, then writes them as one HAR document.
#[derive(Default)]
pub struct HarWriter {
    conns: Vec<HarConn>,
    /// Position in `conns` of each connection number (a filter may pass only some).
    by_conn: Vec<Option<usize>>,
    messages: u64,
}

/// RFC 3339 in UTC, as HAR's `startedDateTime` wants ("2024-01-02T03:04:05.678901Z").
pub fn iso8601(ts: Timestamp) -> String {
    let micros = ts.nanos.div_euclid(1000);
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Epoch seconds with microsecond precision, as Chrome writes message times.
fn epoch_secs(ts: Timestamp) -> f64 {
    let micros = (ts.nanos as i128 + 500).div_euclid(1000);
    micros as f64 / 1e6
}

fn headers(list: &[(String, String)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect(),
    )
}

fn query_string(path: &str) -> Value {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    Value::Array(
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect(),
    )
}

impl HarWriter {
    pub fn new() -> Self {
        HarWriter::default()
    }

    /// Messages collected.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    fn push_message(&mut self, m: &MessageEvent<'_>) {
        let at = self.by_conn.get(m.conn as usize).copied().flatten();
        let Some(conn) = at.and_then(|at| self.conns.get_mut(at)) else {
            return;
        };
        let data = if m.opcode == OpCode::Text {
            String::from_utf8_lossy(m.payload).into_owned()
        } else {
            base64::engine::general_purpose::STANDARD.encode(m.payload)
        };
        conn.messages.push(json!({
            "type": match m.dir {
                Direction::ClientToServer => "send",
                Direction::ServerToClient => "receive",
            },
            "time": epoch_secs(m.ts),
            "opcode": m.opcode.as_u4(),
            "data": data,
        }));
        self.messages += 1;
    }

    fn entry(conn: &HarConn) -> Value {
        let info = &conn.info;
        let hs = info.handshake.as_ref();
        let request = hs.and_then(|h| h.request.as_ref());
        let path = request.map_or("/", |r| r.path.as_str());
        let host = request
            .and_then(|r| r.header("host"))
            .map_or_else(|| info.server.to_string(), str::to_owned);
        let scheme = if info.server.port() == 443 { "wss" } else { "ws" };
        let started = hs.and_then(|h| h.request_ts).unwrap_or(info.first_ts);
        let wait_ms = hs.map_or(0.0, |h| h.response_ts.millis_since(started).max(0.0));
        let (status, status_text, response_headers) = match hs {
            Some(h) => (
                h.response.status,
                h.response.reason.clone(),
                headers(&h.response.headers),
            ),
            // The upgrade was not captured: there is no response to show.
            None => (0, String::new(), json!([])),
        };
        json!({
            "startedDateTime": iso8601(started),
            "time": wait_ms,
            "request": {
                "method": request.map_or("GET", |r| r.method.as_str()),
                "url": format!("{scheme}://{host}{path}"),
                "httpVersion": format!("HTTP/1.{}", request.map_or(1, |r| r.version_minor)),
                "cookies": [],
                "headers": request.map_or(json!([]), |r| headers(&r.headers)),
                "queryString": query_string(path),
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": status,
                "statusText": status_text,
                "httpVersion": format!("HTTP/1.{}", hs.map_or(1, |h| h.response.version_minor)),
                "cookies": [],
                "headers": response_headers,
                "content": {"size": 0, "mimeType": "x-unknown"},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": 0,
            },
            "cache": {},
            "timings": {
                "blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
                "send": 0, "wait": wait_ms, "receive": 0,
            },
            "serverIPAddress": info.server.ip().to_string(),
            "connection": info.client.port().to_string(),
            "_clientAddress": info.client.to_string(),
            "_serverAddress": info.server.to_string(),
            "_resourceType": "websocket",
            "_webSocketMessages": conn.messages,
        })
    }

    /// The whole document.
    pub fn to_value(&self) -> Value {
        json!({
            "log": {
                "version": "1.2",
                "creator": {"name": "framescope", "version": env!("CARGO_PKG_VERSION")},
                "pages": [],
                "entries": self.conns.iter().map(Self::entry).collect::<Vec<_>>(),
            }
        })
    }

    pub fn write(&self, mut out: impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut out, &self.to_value()).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

impl EventSink for HarWriter {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connection(info) => {
                let id = info.conn as usize;
                if self.by_conn.len() <= id {
                    self.by_conn.resize(id + 1, None);
                }
                if let Some(slot) = self.by_conn.get_mut(id) {
                    *slot = Some(self.conns.len());
                }
                self.conns.push(HarConn {
                    info: info.clone(),
                    messages: Vec::new(),
                });
            }
            Event::Message(m) => self.push_message(m),
            _ => {}
        }
    }
}
