//! One TCP flow's journey: unknown → HTTP (upgrade handshake) → WebSocket, or picked up
//! mid-stream by frame detection, or set aside as other traffic.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Direction, Event, EventSink, FrameEvent, MessageEvent, RttSample,
};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::http::Handshake;
use crate::analysis::http::head::{
    BodyLength, HeadParse, RequestHead, ResponseHead, header_has_token, request_body_length, response_body_length,
};
use crate::analysis::pool::BufferPool;
use crate::analysis::tcp::{Chunk, FlowKey, Side};
use crate::analysis::time::Timestamp;
use crate::analysis::ws::detect::{Evidence, SearchBuffer};
use crate::analysis::ws::frame::{FrameHeader, OpCode};
use crate::analysis::ws::rtt::PingTracker;
use crate::analysis::ws::stream::{Compression, StreamDecoder, StreamLimits, StreamOutput};

/// Settings the flow state machine needs from the analyzer's configuration.
#[derive(Clone, Copy, Debug)]
pub struct ConnSettings {
    pub stream_limits: StreamLimits,
    pub max_http_head_bytes: usize,
    pub pong_timeout_secs: f64,
    pub max_findings_per_kind: u32,
    pub emit_frames: bool,
}

/// What the flow code needs from the analyzer while handling one packet.
pub struct FlowCtx<'a> {
    pub ts: Timestamp,
    pub sink: &'a mut dyn EventSink,
    pub next_conn: &'a mut ConnId,
    pub settings: &'a ConnSettings,
    pub pool: &'a mut BufferPool,
}

/// Methods that start an HTTP/1.x request line (enough to recognise a request start).
const HTTP_METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"OPTIONS ",
    b"DELETE ",
    b"PATCH ",
    b"CONNECT ",
];

fn looks_like_request(bytes: &[u8]) -> bool {
    HTTP_METHODS.iter().any(|m| bytes.starts_with(m))
}

fn looks_like_response(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.")
}

/// Segments a side may show without a plausible frame before the flow is set aside.
const PROBE_SEGMENTS: usize = 3;
const PROBE_MAX_SEGMENTS: usize = 48;

/// The state of a flow.
pub enum Phase {
    Unknown(Box<Probe>),
    Http(Box<HttpExchange>),
    WebSocket(Box<WsConn>),
    /// Not WebSocket (yet): bytes are dropped, but a later request line is still noticed.
    Other,
}

/// Bytes of both sides held while deciding what a flow carries.
#[derive(Default)]
pub struct Probe {
    bufs: [SearchBuffer; 2],
    gave_up: [bool; 2],
}

/// One HTTP request/response exchange stream before the upgrade.
pub struct HttpExchange {
    client: Side,
    /// Unparsed bytes per side (indexed by `Side::index`).
    bufs: [Vec<u8>; 2],
    /// Body bytes still to skip per side.
    skip: [u64; 2],
    /// Requests waiting for a response: (method, is_upgrade).
    pending: VecDeque<(String, bool)>,
    upgrade: Option<(RequestHead, Timestamp)>,
    broken: [bool; 2],
}

/// A flow recognised as WebSocket.
pub struct WsConn {
    pub client: Side,
    decoders: [StreamDecoder; 2],
    shared: WsShared,
}

/// Connection state both directions' decoders report into.
struct WsShared {
    id: ConnId,
    pings: PingTracker,
    budget: FindingBudget,
    closed_by: [bool; 2],
}

/// Per-connection cap on findings of each kind (invariant: every table is bounded).
#[derive(Default)]
struct FindingBudget {
    counts: FxHashMap<FindingKind, u32>,
}

impl FindingBudget {
    /// True if this finding may still be reported.
    fn admit(&mut self, kind: FindingKind, cap: u32) -> bool {
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        *n <= cap
    }

    fn suppressed(&self, cap: u32) -> Vec<(FindingKind, u32)> {
        let mut v: Vec<_> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > cap)
            .map(|(k, n)| (*k, *n - cap))
            .collect();
        v.sort();
        v
    }
}

impl Phase {
    pub fn new() -> Phase {
        Phase::Unknown(Box::default())
    }

    pub fn conn_id(&self) -> Option<ConnId> {
        match self {
            Phase::WebSocket(ws) => Some(ws.shared.id),
            _ => None,
        }
    }

    pub fn is_websocket(&self) -> bool {
        matches!(self, Phase::WebSocket(_))
    }

    /// True when both sides sent close frames.
    pub fn close_handshake_done(&self) -> bool {
        match self {
            Phase::WebSocket(ws) => ws.shared.closed_by.iter().all(|c| *c),
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
    /// Bytes were lost before the flow was recognised: the handshake may be among them, so
    /// frame detection is allowed even though the stream's start was captured.
    handshake_maybe_lost: bool,
}

impl FlowState {
    pub fn new(key: FlowKey) -> Self {
        FlowState {
            key,
            phase: Phase::new(),
            syn_client: None,
            handshake_maybe_lost: false,
        }
    }

    /// A piece of `side`'s ordered byte stream.
    pub fn on_chunk(&mut self, side: Side, chunk: Chunk<'_>, ctx: &mut FlowCtx<'_>) {
        match chunk {
            Chunk::Data { offset, bytes } => self.on_data(side, offset, bytes, ctx),
            Chunk::Gap { offset, len, reason } => match &mut self.phase {
                Phase::WebSocket(ws) => {
                    let dir = ws.dir_of(side);
                    let ts = ctx.ts;
                    let (decoder, mut out) = ws.split(dir, ctx);
                    decoder.on_gap(ts, offset, len, reason, &mut out);
                }
                Phase::Unknown(probe) => {
                    self.handshake_maybe_lost = true;
                    probe.bufs[side.index()].clear_at(offset + len);
                }
                Phase::Http(_) => {
                    // Bytes of the handshake are missing (lost, or cut by the snap length):
                    // look for frames instead.
                    self.handshake_maybe_lost = true;
                    self.phase = Phase::Unknown(Box::default());
                }
                Phase::Other => {}
            },
        }
    }

    fn on_data(&mut self, side: Side, offset: u64, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        match &mut self.phase {
            Phase::WebSocket(ws) => {
                let dir = ws.dir_of(side);
                let ts = ctx.ts;
                let (decoder, mut out) = ws.split(dir, ctx);
                decoder.on_data(ts, offset, bytes, &mut out);
            }
            Phase::Http(_) => self.http_data(side, bytes, ctx),
            Phase::Other => {
                if looks_like_request(bytes) {
                    self.phase = Phase::Http(Box::new(HttpExchange::new(side)));
                    self.http_data(side, bytes, ctx);
                }
            }
            Phase::Unknown(probe) => {
                let buf = &probe.bufs[side.index()];
                if buf.bytes.is_empty() && looks_like_request(bytes) {
                    self.phase = Phase::Http(Box::new(HttpExchange::new(side)));
                    self.http_data(side, bytes, ctx);
                } else if buf.bytes.is_empty() && looks_like_response(bytes) {
                    self.phase = Phase::Http(Box::new(HttpExchange::new(side.other())));
                    self.http_data(side, bytes, ctx);
                } else if self.syn_client.is_some() && !self.handshake_maybe_lost {
                    // The stream's start was captured and it is not HTTP: a WebSocket
                    // connection always starts with its handshake, so this is other traffic.
                    self.phase = Phase::Other;
                } else {
                    self.probe_data(side, offset, bytes, ctx);
                }
            }
        }
    }

    fn probe_data(&mut self, side: Side, offset: u64, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        let Phase::Unknown(probe) = &mut self.phase else {
            return;
        };
        let buf = &mut probe.bufs[side.index()];
        buf.push(offset, bytes);
        if let Some(found) = buf.find(Evidence::Strict) {
            // This side's frames are masked exactly when it is the client.
            let client = if found.masked {
                side
            } else if let Some(c) = self.syn_client {
                c
            } else if self.key.endpoint(side).port() < self.key.endpoint(side.other()).port() {
                // Unmasked on both sides and no SYN: the lower port is usually the server.
                side.other()
            } else {
                side
            };
            let bufs = std::mem::take(&mut probe.bufs);
            self.become_websocket(client, None, bufs, ctx);
            return;
        }
        if (buf.segments_seen >= PROBE_SEGMENTS && !buf.any_viable(Evidence::Strict))
            || buf.segments_seen > PROBE_MAX_SEGMENTS
        {
            probe.gave_up[side.index()] = true;
            buf.clear_at(offset + bytes.len() as u64);
            if probe.gave_up.iter().all(|g| *g) {
                self.phase = Phase::Other;
            }
        }
    }

    fn http_data(&mut self, side: Side, mut bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        let Phase::Http(http) = &mut self.phase else {
            return;
        };
        let i = side.index();
        if http.broken[i] {
            return;
        }
        let skip = http.skip[i].min(bytes.len() as u64) as usize;
        http.skip[i] -= skip as u64;
        bytes = bytes.get(skip..).unwrap_or(&[]);
        http.bufs[i].extend_from_slice(bytes);
        let is_client = side == http.client;
        loop {
            let http = match &mut self.phase {
                Phase::Http(h) => h,
                _ => return,
            };
            if http.skip[i] > 0 {
                let n = http.skip[i].min(http.bufs[i].len() as u64) as usize;
                http.bufs[i].drain(..n);
                http.skip[i] -= n as u64;
            }
            if http.bufs[i].is_empty() {
                return;
            }
            // While an upgrade request waits for its response, later client bytes are
            // early WebSocket frames: hold them.
            if is_client && http.upgrade.is_some() {
                if http.bufs[i].len() > ctx.settings.max_http_head_bytes {
                    self.give_up_http(side, ctx, "client sent too much before the upgrade response");
                }
                return;
            }
            let progressed = if is_client {
                self.parse_request(side, ctx)
            } else {
                self.parse_response(side, ctx)
            };
            if !progressed {
                return;
            }
        }
    }

    fn give_up_http(&mut self, side: Side, ctx: &mut FlowCtx<'_>, why: &str) {
        report_flow_finding(
            ctx,
            FindingKind::HttpHeaderTooLong,
            None,
            format!(
                "{} → {}: {why}",
                self.key.endpoint(side),
                self.key.endpoint(side.other())
            ),
        );
        self.phase = Phase::Other;
    }

    /// Parses one request head from the client buffer. Returns true if it consumed bytes.
    fn parse_request(&mut self, side: Side, ctx: &mut FlowCtx<'_>) -> bool {
        let Phase::Http(http) = &mut self.phase else {
            return false;
        };
        let i = side.index();
        match RequestHead::parse(&http.bufs[i]) {
            HeadParse::Complete(head, len) => {
                http.bufs[i].drain(..len);
                let is_upgrade = header_has_token(&head.headers, "upgrade", "websocket");
                http.pending.push_back((head.method.clone(), is_upgrade));
                if is_upgrade {
                    http.upgrade = Some((head, ctx.ts));
                } else {
                    match request_body_length(&head) {
                        BodyLength::Bytes(n) => http.skip[i] = n,
                        BodyLength::Chunked | BodyLength::UntilClose => http.broken[i] = true,
                    }
                }
                true
            }
            HeadParse::Partial => {
                if http.bufs[i].len() > ctx.settings.max_http_head_bytes {
                    self.give_up_http(side, ctx, "request head too long");
                }
                false
            }
            HeadParse::Invalid(_) => {
                http.broken[i] = true;
                http.bufs[i].clear();
                false
            }
        }
    }

    /// Parses one response head from the server buffer. Returns true if it consumed bytes.
    fn parse_response(&mut self, side: Side, ctx: &mut FlowCtx<'_>) -> bool {
        let Phase::Http(http) = &mut self.phase else {
            return false;
        };
        let i = side.index();
        match ResponseHead::parse(&http.bufs[i]) {
            HeadParse::Complete(head, len) => {
                http.bufs[i].drain(..len);
                if head.status == 101
                    && (http.upgrade.is_some() || header_has_token(&head.headers, "upgrade", "websocket"))
                {
                    let client = http.client;
                    let request = http.upgrade.take();
                    let server_rest = std::mem::take(&mut http.bufs[i]);
                    let client_rest = std::mem::take(&mut http.bufs[client.index()]);
                    let handshake = Handshake::new(
                        request.as_ref().map(|(r, _)| r.clone()),
                        request.as_ref().map(|(_, t)| *t),
                        head,
                        ctx.ts,
                    );
                    self.become_websocket(client, Some(handshake), Default::default(), ctx);
                    if let Phase::WebSocket(ws) = &mut self.phase {
                        // Bytes after the header blocks belong to the frame decoders.
                        for (s, rest) in [(client, client_rest), (client.other(), server_rest)] {
                            if !rest.is_empty() {
                                let dir = ws.dir_of(s);
                                let ts = ctx.ts;
                                let (decoder, mut out) = ws.split(dir, ctx);
                                decoder.on_data(ts, 0, &rest, &mut out);
                            }
                        }
                    }
                    return false;
                }
                if (100..200).contains(&head.status) {
                    return true;
                }
                let (method, was_upgrade) = http.pending.pop_front().unwrap_or_default();
                if was_upgrade || http.upgrade.is_some() {
                    let request = http.upgrade.take();
                    let path = request.as_ref().map_or("?", |(r, _)| r.path.as_str());
                    report_flow_finding(
                        ctx,
                        FindingKind::UpgradeRejected,
                        None,
                        format!(
                            "{} → {}: GET {path} answered {} {}",
                            self.key.endpoint(http.client),
                            self.key.endpoint(http.client.other()),
                            head.status,
                            head.reason
                        ),
                    );
                }
                let Phase::Http(http) = &mut self.phase else {
                    return false;
                };
                match response_body_length(&head, Some(method.as_str())) {
                    BodyLength::Bytes(n) => http.skip[i] = n,
                    BodyLength::Chunked | BodyLength::UntilClose => http.broken[i] = true,
                }
                true
            }
            HeadParse::Partial => {
                if http.bufs[i].len() > ctx.settings.max_http_head_bytes {
                    self.give_up_http(side, ctx, "response head too long");
                }
                false
            }
            HeadParse::Invalid(_) => {
                http.broken[i] = true;
                http.bufs[i].clear();
                false
            }
        }
    }

    fn become_websocket(
        &mut self,
        client: Side,
        handshake: Option<Handshake>,
        held: [SearchBuffer; 2],
        ctx: &mut FlowCtx<'_>,
    ) {
        let id = *ctx.next_conn;
        *ctx.next_conn = ctx.next_conn.saturating_add(1);
        let limits = ctx.settings.stream_limits;
        let (c2s_comp, s2c_comp) = match handshake.as_ref().map(Handshake::deflate) {
            None => (Compression::Unknown, Compression::Unknown),
            Some(None) => (Compression::NotNegotiated, Compression::NotNegotiated),
            Some(Some(p)) => (
                Compression::Deflate {
                    no_context_takeover: p.client_no_context_takeover,
                },
                Compression::Deflate {
                    no_context_takeover: p.server_no_context_takeover,
                },
            ),
        };
        let [lo_buf, hi_buf] = held;
        let (client_buf, server_buf) = match client {
            Side::Lo => (lo_buf, hi_buf),
            Side::Hi => (hi_buf, lo_buf),
        };
        let decoders = if handshake.is_some() {
            [
                StreamDecoder::synced(id, Direction::ClientToServer, c2s_comp, limits),
                StreamDecoder::synced(id, Direction::ServerToClient, s2c_comp, limits),
            ]
        } else {
            [
                StreamDecoder::searching(id, Direction::ClientToServer, c2s_comp, limits, client_buf),
                StreamDecoder::searching(id, Direction::ServerToClient, s2c_comp, limits, server_buf),
            ]
        };
        let info = ConnectionInfo {
            conn: id,
            client: self.key.endpoint(client),
            server: self.key.endpoint(client.other()),
            handshake,
            first_ts: ctx.ts,
        };
        ctx.sink.event(Event::Connection(&info));
        let mut ws = Box::new(WsConn {
            client,
            decoders,
            shared: WsShared {
                id,
                pings: PingTracker::default(),
                budget: FindingBudget::default(),
                closed_by: [false; 2],
            },
        });
        if let Some(hs) = &info.handshake {
            report_handshake_findings(&mut ws.shared, hs, ctx);
        } else {
            for dir in [Direction::ClientToServer, Direction::ServerToClient] {
                let ts = ctx.ts;
                let (decoder, mut out) = ws.split(dir, ctx);
                decoder.resume(ts, &mut out);
            }
        }
        self.phase = Phase::WebSocket(ws);
    }

    /// The flow ended (or the capture did): flush decoders and report what was left.
    pub fn finish(&mut self, how: ConnectionEnd, ctx: &mut FlowCtx<'_>) {
        match &mut self.phase {
            Phase::WebSocket(ws) => {
                for dir in [Direction::ClientToServer, Direction::ServerToClient] {
                    let ts = ctx.ts;
                    let (decoder, mut out) = ws.split(dir, ctx);
                    decoder.finish(ts, &mut out);
                }
                let timeout = ctx.settings.pong_timeout_secs;
                let ws = &mut ws.shared;
                // Only pings whose deadline passed are missed pongs: a connection that
                // closes right after a ping did not break the timeout.
                let stale = ws.pings.expire(ctx.ts, timeout);
                for (dir, ping) in stale {
                    let waited = ctx.ts.millis_since(ping.ts);
                    report_ws_finding(
                        ws,
                        ctx,
                        FindingKind::PongMissing,
                        Some(dir),
                        ping.ts,
                        None,
                        format!("ping of {} bytes unanswered after {waited:.0} ms", ping.payload.len()),
                    );
                }
                let cap = ctx.settings.max_findings_per_kind;
                for (kind, n) in ws.budget.suppressed(cap) {
                    let finding = Finding {
                        kind: FindingKind::FindingLimit,
                        conn: Some(ws.id),
                        dir: None,
                        ts: ctx.ts,
                        stream_offset: None,
                        detail: format!("{n} more {} findings not reported", kind.slug()),
                    };
                    ctx.sink.event(Event::Anomaly(&finding));
                }
                let how = if how != ConnectionEnd::Reset && ws.closed_by.iter().all(|c| *c) {
                    ConnectionEnd::Closed
                } else {
                    how
                };
                ctx.sink.event(Event::ConnectionEnded {
                    conn: ws.id,
                    ts: ctx.ts,
                    how,
                });
            }
            Phase::Http(http) => {
                if let Some((req, _)) = &http.upgrade {
                    report_flow_finding(
                        ctx,
                        FindingKind::UpgradeUnanswered,
                        None,
                        format!(
                            "{} → {}: GET {} got no response",
                            self.key.endpoint(http.client),
                            self.key.endpoint(http.client.other()),
                            req.path
                        ),
                    );
                }
            }
            Phase::Unknown(_) | Phase::Other => {}
        }
        self.phase = Phase::Other;
    }
}

impl HttpExchange {
    fn new(client: Side) -> Self {
        HttpExchange {
            client,
            bufs: Default::default(),
            skip: [0; 2],
            pending: VecDeque::new(),
            upgrade: None,
            broken: [false; 2],
        }
    }
}

impl WsConn {
    pub fn id(&self) -> ConnId {
        self.shared.id
    }

    /// One direction's decoder and an output that reports into the shared state.
    fn split<'w, 'c, 's>(
        &'w mut self,
        dir: Direction,
        ctx: &'c mut FlowCtx<'s>,
    ) -> (&'w mut StreamDecoder, WsOutput<'w, 'c, 's>) {
        let decoder = &mut self.decoders[dir.index()];
        (
            decoder,
            WsOutput {
                shared: &mut self.shared,
                dir,
                ctx,
            },
        )
    }

    pub fn dir_of(&self, side: Side) -> Direction {
        if side == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }
}

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

fn report_ws_finding(
    ws: &mut WsShared,
    ctx: &mut FlowCtx<'_>,
    kind: FindingKind,
    dir: Option<Direction>,
    ts: Timestamp,
    stream_offset: Option<u64>,
    detail: String,
) {
    if ws.budget.admit(kind, ctx.settings.max_findings_per_kind) {
        let finding = Finding {
            kind,
            conn: Some(ws.id),
            dir,
            ts,
            stream_offset,
            detail,
        };
        ctx.sink.event(Event::Anomaly(&finding));
    }
}

fn report_handshake_findings(ws: &mut WsShared, hs: &Handshake, ctx: &mut FlowCtx<'_>) {
    let ts = hs.response_ts;
    if hs.request.is_some() {
        match (hs.accept.as_deref(), hs.expected_accept()) {
            (None, _) => report_ws_finding(
                ws,
                ctx,
                FindingKind::MissingAccept,
                Some(Direction::ServerToClient),
                ts,
                None,
                "101 response without Sec-WebSocket-Accept".to_owned(),
            ),
            (Some(got), Some(expected)) if got.trim() != expected => report_ws_finding(
                ws,
                ctx,
                FindingKind::BadAccept,
                Some(Direction::ServerToClient),
                ts,
                None,
                format!("Sec-WebSocket-Accept is {got}, expected {expected}"),
            ),
            _ => {}
        }
    }
    for check in hs.checks() {
        if check.passed || check.rule.starts_with("Sec-WebSocket-Accept") {
            continue;
        }
        let (kind, dir) = match check.rule {
            "selected subprotocol was offered" => (FindingKind::UnnegotiatedSubprotocol, Direction::ServerToClient),
            "accepted extension was offered" => (FindingKind::UnnegotiatedExtension, Direction::ServerToClient),
            rule if rule.starts_with("response") => (FindingKind::BadHandshake, Direction::ServerToClient),
            _ => (FindingKind::BadHandshake, Direction::ClientToServer),
        };
        report_ws_finding(
            ws,
            ctx,
            kind,
            Some(dir),
            ts,
            None,
            format!("{}: {}", check.rule, check.detail),
        );
    }
}

/// Routes one decoder's output to the sink, with ping/pong pairing and finding caps.
struct WsOutput<'w, 'c, 's> {
    shared: &'w mut WsShared,
    dir: Direction,
    ctx: &'c mut FlowCtx<'s>,
}

impl StreamOutput for WsOutput<'_, '_, '_> {
    fn frame(&mut self, ts: Timestamp, header: &FrameHeader, stream_offset: u64) {
        if self.ctx.settings.emit_frames {
            let frame = FrameEvent {
                conn: self.shared.id,
                dir: self.dir,
                ts,
                header: *header,
                stream_offset,
            };
            self.ctx.sink.event(Event::Frame(&frame));
        }
    }

    fn message(&mut self, message: &MessageEvent<'_>) {
        self.ctx.sink.event(Event::Message(message));
        match message.opcode {
            OpCode::Ping => {
                if let Some(lost) = self.shared.pings.on_ping(self.dir, message.ts, message.payload) {
                    self.finding(
                        FindingKind::PongMissing,
                        lost.ts,
                        None,
                        "ping never answered (pushed out by later pings)".to_owned(),
                    );
                }
            }
            OpCode::Pong => {
                if let Some(ping_ts) = self.shared.pings.on_pong(self.dir, message.payload) {
                    self.ctx.sink.event(Event::Rtt(RttSample {
                        conn: self.shared.id,
                        ping_dir: self.dir.opposite(),
                        ping_ts,
                        pong_ts: message.ts,
                    }));
                }
            }
            OpCode::Close => self.shared.closed_by[self.dir.index()] = true,
            _ => {}
        }
        let timeout = self.ctx.settings.pong_timeout_secs;
        for (dir, ping) in self.shared.pings.expire(message.ts, timeout) {
            let finding_dir = self.dir;
            self.dir = dir;
            self.finding(
                FindingKind::PongMissing,
                ping.ts,
                None,
                format!("ping of {} bytes unanswered for {timeout} s", ping.payload.len()),
            );
            self.dir = finding_dir;
        }
    }

    fn finding(&mut self, kind: FindingKind, ts: Timestamp, stream_offset: Option<u64>, detail: String) {
        if self.shared.budget.admit(kind, self.ctx.settings.max_findings_per_kind) {
            let finding = Finding {
                kind,
                conn: Some(self.shared.id),
                dir: Some(self.dir),
                ts,
                stream_offset,
                detail,
            };
            self.ctx.sink.event(Event::Anomaly(&finding));
        }
    }

    fn take_buffer(&mut self) -> Vec<u8> {
        self.ctx.pool.take()
    }

    fn give_back(&mut self, buf: Vec<u8>) {
        self.ctx.pool.give_back(buf);
    }
}
