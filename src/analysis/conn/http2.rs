//! An HTTP/2 connection in the flow state machine (RFC 9113, RFC 8441): the client preface,
//! both directions' frames, SETTINGS_ENABLE_CONNECT_PROTOCOL, header blocks joined across
//! CONTINUATION and HPACK-decoded in order per direction (one dynamic table per direction,
//! shared by all streams), and the streams (`h2_stream`) they open. Each WebSocket stream is
//! a connection of its own; every cap that bites is a finding.

use std::collections::BTreeMap;

use crate::analysis::conn::budget::FindingBudget;
use crate::analysis::conn::h2_stream::{H2Stream, StreamEnv};
use crate::analysis::conn::{FlowCtx, report_flow_finding};
use crate::analysis::event::{ConnectionEnd, Direction, TlsInfo};
use crate::analysis::findings::FindingKind;
use crate::analysis::h2::frame::{
    self, BlockOutcome, FrameEvent, FrameHeader, FrameReader, HeaderBlock, MAX_HELD_FRAME_BYTES, PREFACE,
};
use crate::analysis::h2::hpack::{self, HpackError};
use crate::analysis::tcp::{FlowKey, GapReason, Side};

/// Streams open at once that are tracked; a peer's SETTINGS_MAX_CONCURRENT_STREAMS is
/// usually 100 to 1000. Past it new streams are not decoded (`h2-limit`).
pub const MAX_OPEN_STREAMS: usize = 4096;

/// True when `bytes` (a server's first bytes) start with an HTTP/2 SETTINGS frame on
/// stream 0: an h2c server that spoke before the client's preface was captured.
pub fn looks_like_server_settings(bytes: &[u8]) -> bool {
    FrameHeader::parse(bytes).is_some_and(|h| {
        h.kind == frame::SETTINGS && h.stream_id == 0 && h.len % 6 == 0 && h.len <= 6 * 64 && h.flags & !1 == 0
    })
}

/// The HTTP/2 state of a flow.
pub struct H2Conn {
    client: Side,
    /// Frame readers per direction (`Direction::index`), apart from the rest so a reader
    /// can call back into the state.
    readers: [FrameReader; 2],
    state: H2State,
}

/// Everything but the frame readers.
struct H2State {
    client: Side,
    /// Client preface bytes still expected.
    preface_left: usize,
    /// Per direction: no longer decoded (a gap, a bad preface).
    stopped: [bool; 2],
    /// Per direction: the HPACK table may differ from the peer's; header blocks are not
    /// decoded any more.
    hpack_lost: [bool; 2],
    blocks: [HeaderBlock; 2],
    hpack: [hpack::Decoder; 2],
    /// The server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    connect_enabled: bool,
    streams: BTreeMap<u32, H2Stream>,
    budget: FindingBudget,
    requests: u64,
    websockets: u64,
}

/// Who the connection's findings and streams are about.
struct ConnEnv<'a> {
    key: &'a FlowKey,
    tls: Option<&'a TlsInfo>,
}

impl H2Conn {
    /// An HTTP/1.1 connection upgraded with `Upgrade: h2c` (RFC 7540 §3.2): the request
    /// that asked for it is stream 1's, half closed by the client; its response comes as
    /// HTTP/2 on stream 1. The client still sends the preface first.
    pub fn upgraded(
        key: &FlowKey,
        tls: Option<&TlsInfo>,
        client: Side,
        request: Option<crate::analysis::http::head::RequestHead>,
        ctx: &mut FlowCtx<'_>,
    ) -> H2Conn {
        let mut conn = H2Conn::new(client);
        if let Some(request) = request {
            let host = request.header("host").unwrap_or("").to_owned();
            let fields: Vec<hpack::Field> = [
                (":method", request.method.as_str()),
                (":scheme", "http"),
                (":path", request.path.as_str()),
                (":authority", host.as_str()),
            ]
            .into_iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
            let env = ConnEnv { key, tls };
            let senv = conn.state.stream_env(&env);
            conn.state.requests += 1;
            let stream = H2Stream::request(1, fields, true, false, &senv, ctx);
            conn.state.streams.insert(1, stream);
        }
        conn
    }

    /// `client` sends the preface (first, before its frames).
    pub fn new(client: Side) -> H2Conn {
        H2Conn {
            client,
            readers: Default::default(),
            state: H2State {
                client,
                preface_left: PREFACE.len(),
                stopped: [false; 2],
                hpack_lost: [false; 2],
                blocks: Default::default(),
                hpack: Default::default(),
                connect_enabled: false,
                streams: BTreeMap::new(),
                budget: FindingBudget::default(),
                requests: 0,
                websockets: 0,
            },
        }
    }

    pub fn client(&self) -> Side {
        self.client
    }

    /// WebSocket streams recognised so far.
    pub fn websockets(&self) -> u64 {
        self.state.websockets
    }

    /// Why the connection is not a WebSocket connection, for its `flow` record.
    pub fn summary(&self) -> String {
        format!(
            "HTTP/2 without a WebSocket stream ({} requests, each listed on its own)",
            self.state.requests
        )
    }

    fn dir_of(&self, side: Side) -> Direction {
        if side == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// `side`'s next ordered bytes.
    pub fn on_data(
        &mut self,
        key: &FlowKey,
        tls: Option<&TlsInfo>,
        side: Side,
        mut bytes: &[u8],
        ctx: &mut FlowCtx<'_>,
    ) {
        let dir = self.dir_of(side);
        let env = ConnEnv { key, tls };
        let state = &mut self.state;
        if state.stopped[dir.index()] {
            return;
        }
        if dir == Direction::ClientToServer && state.preface_left > 0 {
            let n = state.preface_left.min(bytes.len());
            let expected = PREFACE.get(PREFACE.len() - state.preface_left..).unwrap_or(&[]);
            let (head, rest) = bytes.split_at(n);
            if expected.get(..n) != Some(head) {
                state.stopped[dir.index()] = true;
                let detail = "the client's bytes do not start with the HTTP/2 connection preface; \
                              its frames are not decoded"
                    .to_owned();
                state.report(&env, ctx, FindingKind::H2ProtocolError, dir, detail);
                return;
            }
            state.preface_left -= n;
            bytes = rest;
        }
        let reader = &mut self.readers[dir.index()];
        reader.push(bytes, &mut |event| state.on_event(&env, dir, event, ctx));
    }

    /// `len` bytes of `side`'s stream were not captured. Inside one DATA frame's payload the
    /// frame boundaries are still known: that stream's bytes have a gap (its WebSocket
    /// decoder handles it as a TCP gap) and every later frame decodes. Anywhere else frame
    /// boundaries and the HPACK table are lost, so that direction is no longer decoded.
    pub fn on_gap(&mut self, key: &FlowKey, side: Side, len: u64, reason: GapReason, ctx: &mut FlowCtx<'_>) {
        let dir = self.dir_of(side);
        let env = ConnEnv { key, tls: None };
        if self.state.stopped[dir.index()] {
            return;
        }
        if let Some((header, skipped, done)) = self.readers[dir.index()].lose(len) {
            if skipped {
                let detail = format!(
                    "{len} bytes not captured inside a skipped {} frame on stream {}; the frames after it still decode",
                    kind_name(header.kind),
                    header.stream_id
                );
                self.state.report(&env, ctx, FindingKind::TcpGap, dir, detail);
            } else {
                self.state.on_data_gap(&env, dir, header, len, done, reason, ctx);
            }
            return;
        }
        if !std::mem::replace(&mut self.state.stopped[dir.index()], true) {
            let detail = format!(
                "{len} bytes of HTTP/2 frames not captured: frame boundaries and the header table are lost, \
                 the rest of this direction is not decoded"
            );
            self.state.report(&env, ctx, FindingKind::TcpGap, dir, detail);
        }
    }

    /// The flow ended: every stream still open ends with it, in stream order.
    pub fn finish(&mut self, key: &FlowKey, tls: Option<&TlsInfo>, how: ConnectionEnd, ctx: &mut FlowCtx<'_>) {
        let env = StreamEnv {
            key,
            client: self.client,
            tls,
        };
        for (_, stream) in std::mem::take(&mut self.state.streams) {
            stream.finish(how, &env, ctx);
        }
        let cap = ctx.settings.max_findings_per_kind;
        for (kind, n) in self.state.budget.suppressed(cap) {
            let detail = format!(
                "{}: {n} more {} findings on this HTTP/2 connection not reported",
                env.endpoints(),
                kind.slug()
            );
            report_flow_finding(ctx, FindingKind::FindingLimit, None, detail);
        }
    }
}

/// A frame's type for messages.
fn kind_name(kind: u8) -> String {
    match kind {
        frame::DATA => "DATA".into(),
        frame::HEADERS => "HEADERS".into(),
        frame::PRIORITY => "PRIORITY".into(),
        frame::RST_STREAM => "RST_STREAM".into(),
        frame::SETTINGS => "SETTINGS".into(),
        frame::PUSH_PROMISE => "PUSH_PROMISE".into(),
        frame::PING => "PING".into(),
        frame::GOAWAY => "GOAWAY".into(),
        frame::WINDOW_UPDATE => "WINDOW_UPDATE".into(),
        frame::CONTINUATION => "CONTINUATION".into(),
        other => format!("type {other:#x}"),
    }
}

/// A header frame's outcome, owned (the block borrows the joiner).
enum Block {
    Pending,
    Decoded(FrameHeader, Result<Vec<hpack::Field>, HpackError>),
    Broken(&'static str),
}

impl H2State {
    /// A connection-level finding, capped per kind.
    fn report(&mut self, env: &ConnEnv<'_>, ctx: &mut FlowCtx<'_>, kind: FindingKind, dir: Direction, detail: String) {
        if !self.budget.admit(kind, ctx.settings.max_findings_per_kind) {
            return;
        }
        let (from, to) = match dir {
            Direction::ClientToServer => (self.client, self.client.other()),
            Direction::ServerToClient => (self.client.other(), self.client),
        };
        let detail = format!("{} → {}: {detail}", env.key.endpoint(from), env.key.endpoint(to));
        report_flow_finding(ctx, kind, Some(dir), detail);
    }

    fn stream_env<'a>(&self, env: &ConnEnv<'a>) -> StreamEnv<'a> {
        StreamEnv {
            key: env.key,
            client: self.client,
            tls: env.tls,
        }
    }

    fn side_of(&self, dir: Direction) -> Side {
        match dir {
            Direction::ClientToServer => self.client,
            Direction::ServerToClient => self.client.other(),
        }
    }

    fn on_event(&mut self, env: &ConnEnv<'_>, dir: Direction, event: FrameEvent<'_>, ctx: &mut FlowCtx<'_>) {
        match event {
            FrameEvent::Frame { header, payload } => self.on_frame(env, dir, header, payload, ctx),
            FrameEvent::Data {
                header,
                piece,
                frame_done,
            } => self.on_data_piece(env, dir, header, piece, frame_done, ctx),
            FrameEvent::Oversized { header } => {
                let detail = format!(
                    "a {} frame of {} bytes on stream {} is over the {} KiB held per frame; skipped",
                    kind_name(header.kind),
                    header.len,
                    header.stream_id,
                    MAX_HELD_FRAME_BYTES / 1024
                );
                self.report(env, ctx, FindingKind::H2Limit, dir, detail);
                if matches!(header.kind, frame::HEADERS | frame::CONTINUATION | frame::PUSH_PROMISE) {
                    self.lose_hpack(env, dir, ctx);
                }
            }
        }
    }

    /// A header block of `dir` was not decoded: later blocks may refer to table entries it
    /// added, so none is decoded any more (RFC 9113 §4.3: a COMPRESSION_ERROR ends the
    /// connection).
    fn lose_hpack(&mut self, env: &ConnEnv<'_>, dir: Direction, ctx: &mut FlowCtx<'_>) {
        if !std::mem::replace(&mut self.hpack_lost[dir.index()], true) {
            let detail = "a header block was lost: later header blocks of this side are not decoded".to_owned();
            self.report(env, ctx, FindingKind::H2ProtocolError, dir, detail);
        }
    }

    fn on_frame(
        &mut self,
        env: &ConnEnv<'_>,
        dir: Direction,
        header: FrameHeader,
        payload: &[u8],
        ctx: &mut FlowCtx<'_>,
    ) {
        let i = dir.index();
        // Once a block was lost, header frames are not joined or decoded any more.
        if !self.hpack_lost[i] {
            let block = match self.blocks[i].push(&header, payload) {
                BlockOutcome::Pending => Block::Pending,
                BlockOutcome::Complete { first, block } => Block::Decoded(first, self.hpack[i].decode(block)),
                BlockOutcome::Broken(why) => Block::Broken(why),
            };
            match block {
                Block::Pending => {}
                Block::Decoded(first, Ok(fields)) => self.on_headers(env, dir, first, fields, ctx),
                Block::Decoded(first, Err(e)) => {
                    let kind = match e {
                        HpackError::TableSizeTooLarge(_) | HpackError::HeaderListTooLarge => FindingKind::H2Limit,
                        _ => FindingKind::H2ProtocolError,
                    };
                    let detail = format!("HPACK, stream {}: {e}", first.stream_id);
                    self.report(env, ctx, kind, dir, detail);
                    self.lose_hpack(env, dir, ctx);
                }
                Block::Broken(why) => {
                    let kind = if why.contains("flood") {
                        FindingKind::H2Limit
                    } else {
                        FindingKind::H2ProtocolError
                    };
                    let detail = format!("stream {}: {why}", header.stream_id);
                    self.report(env, ctx, kind, dir, detail);
                    self.lose_hpack(env, dir, ctx);
                }
            }
        }
        match header.kind {
            frame::SETTINGS if !header.has(frame::FLAG_ACK) => {
                if payload.len() % 6 != 0 || header.stream_id != 0 {
                    let detail = format!(
                        "SETTINGS of {} bytes on stream {} (a multiple of 6 on stream 0 expected)",
                        payload.len(),
                        header.stream_id
                    );
                    self.report(env, ctx, FindingKind::H2ProtocolError, dir, detail);
                }
                if dir == Direction::ServerToClient {
                    for (id, value) in frame::settings(payload) {
                        if id == frame::SETTINGS_ENABLE_CONNECT_PROTOCOL {
                            self.connect_enabled = value == 1;
                        }
                    }
                }
            }
            frame::RST_STREAM => {
                if let Some(stream) = self.streams.remove(&header.stream_id) {
                    stream.finish(ConnectionEnd::Reset, &self.stream_env(env), ctx);
                }
            }
            _ => {}
        }
    }

    /// A whole, decoded header block: a request opens a stream, anything else belongs to
    /// one already open.
    fn on_headers(
        &mut self,
        env: &ConnEnv<'_>,
        dir: Direction,
        first: FrameHeader,
        fields: Vec<hpack::Field>,
        ctx: &mut FlowCtx<'_>,
    ) {
        if first.kind == frame::PUSH_PROMISE {
            return; // decoded for the table only; pushed responses carry no WebSocket
        }
        let id = first.stream_id;
        let end_stream = first.has(frame::FLAG_END_STREAM);
        let senv = self.stream_env(env);
        if let Some(stream) = self.streams.get_mut(&id) {
            let was_ws = stream.is_websocket();
            stream.headers(dir, fields, end_stream, &senv, ctx);
            if !was_ws && stream.is_websocket() {
                self.websockets += 1;
            }
            self.close_if_done(id, &senv, ctx);
            return;
        }
        if dir == Direction::ServerToClient || id == 0 {
            return; // a response whose request was not seen (or a pushed stream)
        }
        if self.streams.len() >= MAX_OPEN_STREAMS {
            let detail = format!("more than {MAX_OPEN_STREAMS} streams open at once: stream {id} is not decoded");
            self.report(env, ctx, FindingKind::H2Limit, dir, detail);
            return;
        }
        self.requests += 1;
        let stream = H2Stream::request(id, fields, end_stream, self.connect_enabled, &senv, ctx);
        self.streams.insert(id, stream);
    }

    fn on_data_piece(
        &mut self,
        env: &ConnEnv<'_>,
        dir: Direction,
        header: FrameHeader,
        piece: &[u8],
        frame_done: bool,
        ctx: &mut FlowCtx<'_>,
    ) {
        let id = header.stream_id;
        let side = self.side_of(dir);
        let bytes = if header.has(frame::FLAG_PADDED) {
            // Padded DATA up to the held-frame cap arrives whole.
            if frame_done && header.len as usize <= MAX_HELD_FRAME_BYTES {
                match frame::unpadded(&header, piece) {
                    Some(body) => body,
                    None => {
                        let detail = format!("stream {id}: DATA padding longer than the frame");
                        self.report(env, ctx, FindingKind::H2ProtocolError, dir, detail);
                        return;
                    }
                }
            } else {
                piece
            }
        } else {
            piece
        };
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.data(side, dir, bytes, ctx);
        self.end_piece(env, dir, header, frame_done, ctx);
    }

    /// `len` bytes of one DATA frame's payload were lost (`done`: up to its end).
    #[allow(clippy::too_many_arguments)]
    fn on_data_gap(
        &mut self,
        env: &ConnEnv<'_>,
        dir: Direction,
        header: FrameHeader,
        len: u64,
        done: bool,
        reason: GapReason,
        ctx: &mut FlowCtx<'_>,
    ) {
        let id = header.stream_id;
        let side = self.side_of(dir);
        let told_websocket = match self.streams.get_mut(&id) {
            Some(stream) => stream.gap(side, len, reason, ctx),
            None => false,
        };
        if !told_websocket {
            // A WebSocket stream reports the gap itself, at its offset; others only here.
            let detail =
                format!("{len} bytes of a DATA frame on stream {id} not captured; the frames after it still decode");
            self.report(env, ctx, FindingKind::TcpGap, dir, detail);
        }
        self.end_piece(env, dir, header, done, ctx);
    }

    /// After a piece (or a lost piece) of a DATA frame: the frame's END_STREAM, once the
    /// frame is `done`, ends `dir` of its stream, and a stream both sides ended is closed.
    fn end_piece(&mut self, env: &ConnEnv<'_>, dir: Direction, header: FrameHeader, done: bool, ctx: &mut FlowCtx<'_>) {
        let id = header.stream_id;
        if done
            && header.has(frame::FLAG_END_STREAM)
            && let Some(stream) = self.streams.get_mut(&id)
        {
            stream.end(dir);
        }
        let senv = self.stream_env(env);
        self.close_if_done(id, &senv, ctx);
    }

    /// Ends and forgets a stream both sides ended.
    fn close_if_done(&mut self, id: u32, env: &StreamEnv<'_>, ctx: &mut FlowCtx<'_>) {
        let Some(stream) = self.streams.get(&id) else {
            return;
        };
        if !stream.is_done() {
            return;
        }
        if let Some(stream) = self.streams.remove(&id) {
            stream.finish(ConnectionEnd::TcpClosed, env, ctx);
        }
    }
}
