//! One TCP flow's journey: unknown → HTTP (upgrade handshake) → WebSocket, or picked up
//! mid-stream by frame detection, or set aside as other traffic.
//!
//! This module is the phase machine only; each phase's work lives in its own file:
//! `http_exchange` (requests and responses before the upgrade), `probe` (frame detection
//! for flows seen mid-stream), `websocket` (the decoders and per-connection state) and
//! `budget` (the per-connection finding cap), `tls_layer` (TLS below all of it) and
//! `http2` + `h2_stream` (an HTTP/2 connection whose RFC 8441 streams are WebSockets).

mod budget;
mod h2_stream;
mod http2;
mod http_exchange;
mod mid_connection;
mod probe;
mod tls_layer;
mod websocket;

pub use http_exchange::{
    HttpExchange, HttpNote, HttpOutcome, Rejection, Upgrade, looks_like_request, looks_like_response,
};
pub use http2::H2Conn;
pub use probe::{Probe, ProbeOutcome, StreamStart, classify_start};
pub use tls_layer::{TlsLayer, tls_info};
pub use websocket::WsConn;

use crate::analysis::event::TcpDirHealth;
use crate::analysis::event::{ConnId, ConnectionEnd, Direction, Event, EventSink, FlowInfo, TlsInfo};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::h2::frame::PREFACE;
use crate::analysis::http::head::MAX_HEADERS;
use crate::analysis::pool::BufferPool;
use crate::analysis::tcp::{Chunk, FlowKey, Opening, Side};
use crate::analysis::time::Timestamp;
use crate::analysis::tls::{KeyLog, TlsLimits, looks_like_client_hello};
use crate::analysis::ws::stream::StreamLimits;
use mid_connection::{FrameWalk, looks_like_tls_records, mid_h2_reason};

/// Settings the flow state machine needs from the analyzer's configuration.
#[derive(Clone, Copy, Debug)]
pub struct ConnSettings {
    pub stream_limits: StreamLimits,
    pub max_http_head_bytes: usize,
    pub pong_timeout_secs: f64,
    pub max_findings_per_kind: u32,
    pub emit_frames: bool,
    pub tls_limits: TlsLimits,
}

/// What the flow code needs from the analyzer while handling one packet.
pub struct FlowCtx<'a> {
    pub ts: Timestamp,
    pub sink: &'a mut dyn EventSink,
    pub next_conn: &'a mut ConnId,
    pub settings: &'a ConnSettings,
    pub pool: &'a mut BufferPool,
    /// TLS secrets (key log file, pcapng Decryption Secrets Blocks).
    pub keys: &'a KeyLog,
    /// Set while a flow ends: its TCP counters by `Side`, for the connection end events.
    pub tcp_by_side: Option<[TcpDirHealth; 2]>,
}

/// The state of a flow.
pub enum Phase {
    /// Not yet classified; the probe allocates only once it holds bytes.
    Unknown(Probe),
    Http(Box<HttpExchange>),
    WebSocket(Box<WsConn>),
    /// HTTP/2 (ALPN h2 or the h2c preface): each RFC 8441 stream is a WebSocket connection.
    Http2(Box<H2Conn>),
    /// Not WebSocket (yet): bytes are dropped, but a later request line is still noticed.
    Other,
}

impl Phase {
    pub fn new() -> Phase {
        Phase::Unknown(Probe::default())
    }

    pub fn conn_id(&self) -> Option<ConnId> {
        match self {
            Phase::WebSocket(ws) => Some(ws.id()),
            _ => None,
        }
    }

    /// True when the flow carries a WebSocket connection (for HTTP/2: at least one stream).
    pub fn is_websocket(&self) -> bool {
        self.websocket_count() > 0
    }

    /// WebSocket connections the flow has carried (HTTP/2 carries several).
    pub fn websocket_count(&self) -> u64 {
        match self {
            Phase::WebSocket(_) => 1,
            Phase::Http2(h2) => h2.websockets(),
            _ => 0,
        }
    }

    /// True when both sides sent close frames.
    pub fn close_handshake_done(&self) -> bool {
        match self {
            Phase::WebSocket(ws) => ws.close_handshake_done(),
            _ => false,
        }
    }
}

impl Default for Phase {
    fn default() -> Self {
        Phase::new()
    }
}

/// Everything about a flow except its reassemblers (so both can be borrowed at once).
pub struct FlowState {
    pub key: FlowKey,
    pub phase: Phase,
    /// The side that sent the SYN, when seen.
    pub syn_client: Option<Side>,
    /// The client's SYNs and their answer: a refused or unanswered attempt is listed.
    pub opening: Opening,
    /// Bytes were lost before the flow was recognised: the handshake may be among them, so
    /// frame detection is allowed even though the stream's start was captured.
    handshake_maybe_lost: bool,
    /// The flow runs TLS: its bytes go through this layer, the phase machine sees plaintext.
    tls: Option<Box<TlsLayer>>,
    /// TLS facts for the WebSocket connection recognised inside, once decryption works.
    tls_info: Option<Box<TlsInfo>>,
    /// The TLS server chose ALPN `h2`: the plaintext is HTTP/2 and this side is its client.
    alpn_h2_client: Option<Side>,
    /// TCP overlap conflicts seen (reported up to the per-kind finding cap).
    overlap_conflicts: u32,
    /// Picked up mid-stream: when the frame search began and the bytes it was given (for
    /// the `flow` record of a flow that could not be decoded).
    searched: Option<(Timestamp, u64)>,
    /// Picked up mid-stream: each direction walked as HTTP/2 frames (`mid_connection`), so
    /// the flow record can say HTTP/2 if no WebSocket frame boundary is found.
    mid_h2: Option<Box<[FrameWalk; 2]>>,
    /// What a flow with payload was, while it is not a WebSocket connection: its `flow`
    /// record at the end says why (boxed: most flows are WebSockets or carry nothing).
    note: Option<Box<FlowNote>>,
    /// The flow's `flow` record was written: never a second one.
    listed: bool,
}

/// Why a flow with payload is not (yet) a WebSocket connection.
#[derive(Debug)]
struct FlowNote {
    first_ts: Timestamp,
    bytes: u64,
    protocol: &'static str,
    /// Set when the flow is set aside (not HTTP, an HTTP head given up…).
    reason: Option<String>,
    /// The status of the last refused upgrade.
    refused: Option<u16>,
}

/// The first bytes of a stream, escaped, for a reason line.
fn preview(bytes: &[u8]) -> String {
    let head: String = bytes
        .iter()
        .take(12)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if bytes.len() > 12 {
        format!("\"{head}…\"")
    } else {
        format!("\"{head}\"")
    }
}

impl FlowState {
    pub fn new(key: FlowKey) -> Self {
        FlowState {
            key,
            phase: Phase::new(),
            syn_client: None,
            opening: Opening::default(),
            handshake_maybe_lost: false,
            tls: None,
            tls_info: None,
            alpn_h2_client: None,
            overlap_conflicts: 0,
            searched: None,
            mid_h2: None,
            note: None,
            listed: false,
        }
    }

    /// True when the flow runs TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A piece of `side`'s ordered byte stream.
    pub fn on_chunk(&mut self, side: Side, chunk: Chunk<'_>, ctx: &mut FlowCtx<'_>) {
        if let Chunk::Conflict {
            offset,
            len,
            first_difference,
        } = chunk
        {
            self.overlap_conflict(side, offset, len, first_difference, ctx);
            return;
        }
        if self.tls.is_none()
            && let Chunk::Data { offset: 0, bytes } = chunk
            && matches!(&self.phase, Phase::Unknown(probe) if probe.holds_nothing(side) && probe.holds_nothing(side.other()))
            && looks_like_client_hello(bytes)
        {
            self.tls = Some(Box::new(TlsLayer::new(side, ctx)));
        }
        if self.tls.is_none()
            && self.syn_client.is_none()
            && let Chunk::Data { offset: 0, bytes } = chunk
            && matches!(&self.phase, Phase::Unknown(probe) if probe.holds_nothing(side) && probe.holds_nothing(side.other()))
            && self.searched.is_none()
            && looks_like_tls_records(bytes)
        {
            // Picked up mid-connection (no SYN, and records where a ClientHello would be).
            self.tls = Some(Box::new(TlsLayer::mid_connection(self.likely_client(), ctx)));
        }
        if let Some(mut tls) = self.tls.take() {
            tls.on_chunk(self, side, chunk, ctx);
            self.tls = Some(tls);
            return;
        }
        self.on_plain_chunk(side, chunk, ctx);
    }

    /// A later TCP copy of held bytes differed from the first (which was kept): one
    /// `tcp-overlap-conflict` per conflict, up to the per-kind cap, then one `finding-limit`.
    fn overlap_conflict(&mut self, side: Side, offset: u64, len: u64, first_difference: u64, ctx: &mut FlowCtx<'_>) {
        self.overlap_conflicts = self.overlap_conflicts.saturating_add(1);
        let cap = ctx.settings.max_findings_per_kind;
        let (kind, detail) = if self.overlap_conflicts <= cap {
            let detail = format!(
                "{} → {}: a later copy of {len} held bytes at stream offset {offset} differs from the first \
                 from offset {first_difference}; the first copy was kept",
                self.key.endpoint(side),
                self.key.endpoint(side.other()),
            );
            (FindingKind::TcpOverlapConflict, detail)
        } else if self.overlap_conflicts == cap + 1 {
            let detail =
                format!("more than {cap} tcp-overlap-conflict findings on this flow; the rest are not reported");
            (FindingKind::FindingLimit, detail)
        } else {
            return;
        };
        let finding = Finding {
            kind,
            conn: self.phase.conn_id(),
            dir: None,
            ts: ctx.ts,
            stream_offset: Some(offset),
            detail,
        };
        ctx.sink.event(Event::Anomaly(&finding));
    }

    /// A piece of `side`'s byte stream as the application sent it (TCP, or TLS plaintext).
    fn on_plain_chunk(&mut self, side: Side, chunk: Chunk<'_>, ctx: &mut FlowCtx<'_>) {
        match chunk {
            Chunk::Data { offset, bytes } => self.on_data(side, offset, bytes, ctx),
            // Reported in `on_chunk`, before any layer sees the stream.
            Chunk::Conflict { .. } => {}
            Chunk::Gap { offset, len, reason } => match &mut self.phase {
                Phase::WebSocket(ws) => ws.on_gap(side, offset, len, reason, ctx),
                Phase::Unknown(probe) => {
                    self.handshake_maybe_lost = true;
                    probe.on_gap(side, offset + len);
                    if let Some(walk) = self.mid_h2.as_mut().and_then(|w| w.get_mut(side.index())) {
                        walk.gap();
                    }
                }
                Phase::Http(_) => {
                    // Bytes of the handshake are missing (lost, or cut by the snap length):
                    // look for frames instead.
                    self.handshake_maybe_lost = true;
                    self.phase = Phase::Unknown(Probe::default());
                }
                Phase::Http2(h2) => h2.on_gap(&self.key, side, len, reason, ctx),
                Phase::Other => {}
            },
        }
    }

    fn on_data(&mut self, side: Side, offset: u64, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        match &mut self.phase {
            Phase::WebSocket(ws) => ws.on_data(side, offset, bytes, ctx),
            Phase::Http2(h2) => h2.on_data(&self.key, self.tls_info.as_deref(), side, bytes, ctx),
            _ if !bytes.is_empty() && self.listed => self.on_data_not_websocket(side, offset, bytes, ctx),
            _ if !bytes.is_empty() => {
                let note = self.note.get_or_insert_with(|| {
                    Box::new(FlowNote {
                        first_ts: ctx.ts,
                        bytes: 0,
                        protocol: "tcp",
                        reason: None,
                        refused: None,
                    })
                });
                note.bytes = note.bytes.saturating_add(bytes.len() as u64);
                self.on_data_not_websocket(side, offset, bytes, ctx);
            }
            _ => {}
        }
    }

    fn on_data_not_websocket(&mut self, side: Side, offset: u64, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        match &mut self.phase {
            Phase::WebSocket(ws) => ws.on_data(side, offset, bytes, ctx),
            Phase::Http2(h2) => h2.on_data(&self.key, self.tls_info.as_deref(), side, bytes, ctx),
            Phase::Http(_) => self.http_data(side, bytes, ctx),
            Phase::Other => {
                if looks_like_request(bytes) {
                    self.start_http(side, side, bytes, ctx);
                }
            }
            Phase::Unknown(probe) => {
                // A start too short to classify was held: join it to these bytes.
                let joined;
                let (offset, bytes) = match probe.take_start(side) {
                    Some((start, mut held)) => {
                        held.extend_from_slice(bytes);
                        joined = held;
                        (start, joined.as_slice())
                    }
                    None => (offset, bytes),
                };
                if probe.holds_nothing(side) && probe.holds_nothing(side.other()) {
                    match http2_start(self.alpn_h2_client, self.syn_client, side, bytes) {
                        H2Start::Client(client) => return self.start_http2(client, side, bytes, ctx),
                        H2Start::Undecided => return probe.hold_start(side, offset, bytes),
                        H2Start::No => {}
                    }
                }
                let start = if probe.holds_nothing(side) {
                    classify_start(bytes)
                } else {
                    StreamStart::Other
                };
                if start == StreamStart::Request {
                    self.start_http(side, side, bytes, ctx);
                } else if start == StreamStart::Response {
                    self.start_http(side.other(), side, bytes, ctx);
                } else if start == StreamStart::Undecided {
                    probe.hold_start(side, offset, bytes);
                } else if self.syn_client.is_some() && !self.handshake_maybe_lost {
                    // The stream's start was captured and it is not HTTP: a WebSocket
                    // connection always starts with its handshake, so this is other traffic.
                    self.phase = Phase::Other;
                    if let Some(note) = &mut self.note {
                        note.reason = Some(format!("not HTTP: the stream starts with {}", preview(bytes)));
                    }
                } else {
                    if self.searched.is_none() {
                        // Picked up mid-stream (TLS records were taken by `on_chunk`): HTTP/2
                        // frames can look like WebSocket frames, so the search goes on and
                        // the flow record tells if it fails.
                        self.mid_h2 = Some(Box::new([FrameWalk::http2(), FrameWalk::http2()]));
                    }
                    if let Some(walk) = self.mid_h2.as_mut().and_then(|w| w.get_mut(side.index())) {
                        walk.feed(bytes);
                    }
                    let outcome = probe.push(&self.key, self.syn_client, side, offset, bytes);
                    let searched = self.searched.get_or_insert((ctx.ts, 0));
                    searched.1 = searched.1.saturating_add(bytes.len() as u64);
                    match outcome {
                        ProbeOutcome::Pending => {}
                        ProbeOutcome::NotWebSocket => {
                            self.phase = Phase::Other;
                            self.list_undecoded("no WebSocket frame boundary found", ctx);
                        }
                        ProbeOutcome::WebSocket { client, held } => {
                            self.searched = None;
                            self.mid_h2 = None;
                            let tls = self.tls_info.as_deref().cloned();
                            self.phase =
                                Phase::WebSocket(WsConn::start(&self.key, client, None, *held, tls, None, ctx));
                        }
                    }
                }
            }
        }
    }

    fn start_http2(&mut self, client: Side, side: Side, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        if let Some(note) = &mut self.note {
            note.protocol = "http2";
        }
        let mut h2 = Box::new(H2Conn::new(client));
        h2.on_data(&self.key, self.tls_info.as_deref(), side, bytes, ctx);
        self.phase = Phase::Http2(h2);
    }

    /// An HTTP exchange starts with `bytes` from `side`; `client` sends the requests.
    fn start_http(&mut self, client: Side, side: Side, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        self.phase = Phase::Http(Box::new(HttpExchange::new(client)));
        self.http_data(side, bytes, ctx);
    }

    fn http_data(&mut self, side: Side, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        let Phase::Http(http) = &mut self.phase else {
            return;
        };
        let client = http.client();
        let (client_addr, server_addr) = (self.key.endpoint(client), self.key.endpoint(client.other()));
        let max_head = ctx.settings.max_http_head_bytes;
        let ts = ctx.ts;
        let mut refused = None;
        let outcome = http.push(side, bytes, ts, max_head, &mut |note: HttpNote| {
            let (kind, detail) = match note {
                HttpNote::Rejected(r) => {
                    let path = r.path.as_deref().unwrap_or("?");
                    let detail = format!(
                        "{client_addr} → {server_addr}: GET {path} answered {} {}",
                        r.status, r.reason
                    );
                    refused = Some(r.status);
                    (FindingKind::UpgradeRejected, detail)
                }
                HttpNote::TooManyHeaders { request, lines } => {
                    let what = if request { "request" } else { "response" };
                    let detail = format!(
                        "{client_addr} → {server_addr}: {what} head with {lines} header lines (more than {MAX_HEADERS})"
                    );
                    (FindingKind::HttpTooManyHeaders, detail)
                }
                HttpNote::BodyLengthMismatch { status, declared, seen } => {
                    let detail = format!(
                        "{client_addr} → {server_addr}: a {status} response declared Content-Length: {declared}, \
                         but after {seen} body bytes the server answered the next request"
                    );
                    (FindingKind::HttpBodyLengthMismatch, detail)
                }
            };
            report_flow_finding(ctx, kind, None, detail);
        });
        if let Some(note) = &mut self.note {
            note.protocol = "http";
            if refused.is_some() {
                note.refused = refused;
            }
        }
        match outcome {
            HttpOutcome::Pending => {}
            HttpOutcome::GaveUp(why) => {
                let detail = format!(
                    "{} → {}: {why}",
                    self.key.endpoint(side),
                    self.key.endpoint(side.other())
                );
                if let Some(note) = &mut self.note {
                    note.reason = Some(format!("HTTP set aside: {why}"));
                }
                report_flow_finding(ctx, FindingKind::HttpHeaderTooLong, None, detail);
                self.phase = Phase::Other;
            }
            HttpOutcome::Upgraded(upgrade) => {
                let Upgrade {
                    handshake,
                    client_rest,
                    server_rest,
                } = *upgrade;
                let tls = self.tls_info.as_deref().cloned();
                let mut ws = WsConn::start(&self.key, client, Some(handshake), Default::default(), tls, None, ctx);
                // Bytes after the header blocks belong to the frame decoders.
                for (s, rest) in [(client, client_rest), (client.other(), server_rest)] {
                    if !rest.is_empty() {
                        ws.on_data(s, 0, &rest, ctx);
                    }
                }
                self.phase = Phase::WebSocket(ws);
            }
            HttpOutcome::UpgradedH2c(upgrade) => {
                if let Some(note) = &mut self.note {
                    note.protocol = "http2";
                }
                let mut h2 = Box::new(H2Conn::upgraded(
                    &self.key,
                    self.tls_info.as_deref(),
                    client,
                    upgrade.request,
                    ctx,
                ));
                // The server's SETTINGS and stream 1's response, then the client's preface.
                for (s, rest) in [(client.other(), upgrade.server_rest), (client, upgrade.client_rest)] {
                    if !rest.is_empty() {
                        h2.on_data(&self.key, self.tls_info.as_deref(), s, &rest, ctx);
                    }
                }
                self.phase = Phase::Http2(h2);
            }
        }
    }

    /// The flow's TLS session waits for a key (`TlsSession::waits_for_key`).
    pub fn waits_for_tls_key(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.waits_for_key())
    }

    /// Whether `keys` holds the key of the flow's TLS session.
    pub fn tls_key_in(&self, keys: &KeyLog) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.key_in(keys))
    }

    /// The flow ended (or the capture did): flush decoders and report what was left.
    pub fn finish(&mut self, how: ConnectionEnd, ctx: &mut FlowCtx<'_>) {
        self.list_failed_attempt(ctx);
        // A TLS flow lists itself (`conn::tls_layer`) when it carried no WebSocket.
        let was_tls = self.tls.is_some();
        if let Some(mut tls) = self.tls.take() {
            tls.finish(self, ctx);
        }
        if !was_tls {
            self.list_other_flow(ctx);
        }
        match &mut self.phase {
            Phase::WebSocket(ws) => ws.finish(how, ctx),
            Phase::Http(http) => {
                let client = http.client();
                let mut response_unfinished = false;
                for side in [client, client.other()] {
                    if let Some((request, held)) = http.unfinished_head(side) {
                        response_unfinished |= !request;
                        let what = if request { "request" } else { "response" };
                        let detail = format!(
                            "{} → {}: {what} head unfinished when the flow ended ({held} bytes: {:?})",
                            self.key.endpoint(side),
                            self.key.endpoint(side.other()),
                            http.head_start(side),
                        );
                        report_flow_finding(ctx, FindingKind::HttpHeadIncomplete, None, detail);
                    }
                }
                if let Some(path) = http.waiting_upgrade_path()
                    && !response_unfinished
                {
                    let client = http.client();
                    let detail = format!(
                        "{} → {}: GET {path} got no response",
                        self.key.endpoint(client),
                        self.key.endpoint(client.other()),
                    );
                    report_flow_finding(ctx, FindingKind::UpgradeUnanswered, None, detail);
                }
            }
            Phase::Unknown(_) => self.list_undecoded("the flow ended before a WebSocket frame boundary was found", ctx),
            Phase::Http2(h2) => h2.finish(&self.key, self.tls_info.as_deref(), how, ctx),
            Phase::Other => {}
        }
        self.phase = Phase::Other;
    }

    /// A flow that carried payload but no WebSocket connection is listed (a `flow` record)
    /// with why: not HTTP, HTTP without an upgrade, an upgrade refused, too short to tell.
    fn list_other_flow(&mut self, ctx: &mut FlowCtx<'_>) {
        if self.phase.is_websocket() || self.searched.is_some() || self.listed {
            // A WebSocket, a mid-stream flow `list_undecoded` reports, or listed already.
            return;
        }
        let Some(note) = self.note.take() else {
            return;
        };
        let reason = match (&self.phase, note.reason, note.refused) {
            (Phase::Http2(h2), _, _) => h2.summary(),
            (_, Some(reason), _) => reason,
            (Phase::Http(_), None, Some(status)) => format!("HTTP: the upgrade was refused with status {status}"),
            (Phase::Http(http), None, None) if http.waiting_upgrade_path().is_some() => {
                "HTTP: the upgrade request got no response".to_owned()
            }
            (Phase::Http(_), None, None) => "HTTP without an upgrade to WebSocket".to_owned(),
            (Phase::Unknown(_), None, _) => format!("too short to recognise ({} bytes)", note.bytes),
            (_, None, _) => format!("not a WebSocket connection ({} bytes)", note.bytes),
        };
        let client = self.syn_client.unwrap_or_else(|| match &self.phase {
            Phase::Http(http) => http.client(),
            Phase::Http2(h2) => h2.client(),
            _ => self.likely_client(),
        });
        let info = FlowInfo {
            client: self.key.endpoint(client),
            server: self.key.endpoint(client.other()),
            protocol: note.protocol,
            tls: None,
            reason,
            first_ts: note.first_ts,
            last_ts: ctx.ts,
            h2_stream: None,
            attempts: None,
        };
        self.listed = true;
        ctx.sink.event(Event::Flow(&info));
    }

    /// A connection attempt that got no connection (refused, or no answer to its SYN) is
    /// listed: nothing else would say it happened.
    fn list_failed_attempt(&mut self, ctx: &mut FlowCtx<'_>) {
        let Some(failed) = self.opening.failed_attempt(ctx.ts) else {
            return;
        };
        let info = FlowInfo {
            client: self.key.endpoint(failed.client),
            server: self.key.endpoint(failed.client.other()),
            protocol: "tcp",
            tls: None,
            reason: failed.reason,
            first_ts: failed.first_ts,
            last_ts: failed.last_ts,
            h2_stream: None,
            attempts: Some(failed.attempts),
        };
        self.listed = true;
        ctx.sink.event(Event::Flow(&info));
    }

    /// Without a SYN: the side with the higher port is usually the client.
    fn likely_client(&self) -> Side {
        if self.key.endpoint(Side::Lo).port() < self.key.endpoint(Side::Hi).port() {
            Side::Hi
        } else {
            Side::Lo
        }
    }

    /// A flow picked up mid-stream that could not be decoded is listed (an `Event::Flow`
    /// record with the reason), never dropped silently.
    fn list_undecoded(&mut self, why: &str, ctx: &mut FlowCtx<'_>) {
        let h2 = self
            .mid_h2
            .take()
            .is_some_and(|walks| walks.iter().any(FrameWalk::is_http2));
        let Some((first_ts, bytes)) = self.searched.take() else {
            return;
        };
        // This record replaces the one `list_other_flow` would write.
        self.note = None;
        self.listed = true;
        let client = self.syn_client.unwrap_or_else(|| self.likely_client());
        let (protocol, reason) = match h2 {
            true => ("http2", mid_h2_reason(bytes)),
            false => (
                "tcp",
                format!("picked up mid-stream (its start was not captured): {why} in {bytes} bytes"),
            ),
        };
        let info = FlowInfo {
            client: self.key.endpoint(client),
            server: self.key.endpoint(client.other()),
            protocol,
            tls: None,
            reason,
            first_ts,
            last_ts: ctx.ts,
            h2_stream: None,
            attempts: None,
        };
        ctx.sink.event(Event::Flow(&info));
    }
}

/// How a stream's first bytes relate to HTTP/2.
enum H2Start {
    /// HTTP/2, with this client.
    Client(Side),
    /// A prefix of the preface: wait for more.
    Undecided,
    No,
}

/// Whether `side`'s first bytes start HTTP/2, and who its client is: ALPN h2 said so, the
/// client preface (h2c with prior knowledge), or an h2c server's SETTINGS sent before the
/// preface was captured (`syn_client` tells the server apart).
fn http2_start(alpn_h2_client: Option<Side>, syn_client: Option<Side>, side: Side, bytes: &[u8]) -> H2Start {
    if let Some(client) = alpn_h2_client {
        return H2Start::Client(client);
    }
    if bytes.starts_with(PREFACE) {
        return H2Start::Client(side);
    }
    if !bytes.is_empty() && PREFACE.starts_with(bytes) {
        return H2Start::Undecided;
    }
    if syn_client == Some(side.other()) && http2::looks_like_server_settings(bytes) {
        return H2Start::Client(side.other());
    }
    H2Start::No
}

/// A finding about a flow that is not (yet) a WebSocket connection.
fn report_flow_finding(ctx: &mut FlowCtx<'_>, kind: FindingKind, dir: Option<Direction>, detail: String) {
    let finding = Finding {
        kind,
        conn: None,
        dir,
        ts: ctx.ts,
        stream_offset: None,
        detail,
    };
    ctx.sink.event(Event::Anomaly(&finding));
}
