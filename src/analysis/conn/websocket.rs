//! A flow recognised as WebSocket: both directions' frame decoders, and the connection
//! state they report into (ping/pong pairing, close handshake, finding caps).

use crate::analysis::conn::FlowCtx;
use crate::analysis::conn::budget::FindingBudget;
use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Direction, Event, FrameEvent, MessageEvent, RttSample, TcpHealth, TlsInfo,
};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::http::{CheckId, Handshake};
use crate::analysis::pool::BufferPool;
use crate::analysis::tcp::{FlowKey, GapReason, Side};
use crate::analysis::time::Timestamp;
use crate::analysis::ws::detect::SearchBuffer;
use crate::analysis::ws::frame::{FrameHeader, OpCode};
use crate::analysis::ws::rtt::PingTracker;
use crate::analysis::ws::stream::{Compression, StreamDecoder, StreamOutput};

/// A flow recognised as WebSocket.
pub struct WsConn {
    client: Side,
    decoders: [StreamDecoder; 2],
    shared: WsShared,
}

/// Connection state both directions' decoders report into.
struct WsShared {
    id: ConnId,
    pings: PingTracker,
    /// Pings dropped unpaired because too many were outstanding (one finding says so).
    pings_dropped: u32,
    budget: FindingBudget,
    closed_by: [bool; 2],
}

impl WsConn {
    /// Numbers a new connection, announces it to the sink and reports what its handshake
    /// broke. With no handshake (picked up mid-stream), `held` is what the probe found.
    /// `h2_stream` is the HTTP/2 stream carrying it (RFC 8441), if any.
    pub fn start(
        key: &FlowKey,
        client: Side,
        handshake: Option<Handshake>,
        held: [SearchBuffer; 2],
        tls: Option<TlsInfo>,
        h2_stream: Option<u32>,
        ctx: &mut FlowCtx<'_>,
    ) -> Box<WsConn> {
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
            client: key.endpoint(client),
            server: key.endpoint(client.other()),
            handshake,
            first_ts: ctx.ts,
            tls,
            h2_stream,
        };
        ctx.sink.event(Event::Connection(&info));
        let mut ws = Box::new(WsConn {
            client,
            decoders,
            shared: WsShared {
                id,
                pings: PingTracker::default(),
                pings_dropped: 0,
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
        ws
    }

    pub fn id(&self) -> ConnId {
        self.shared.id
    }

    /// True when both sides sent close frames.
    pub fn close_handshake_done(&self) -> bool {
        self.shared.closed_by.iter().all(|c| *c)
    }

    pub fn dir_of(&self, side: Side) -> Direction {
        if side == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// `side`'s next ordered bytes, starting at `offset` of its stream.
    pub fn on_data(&mut self, side: Side, offset: u64, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        let ts = ctx.ts;
        let (decoder, mut out) = self.split(self.dir_of(side), ctx);
        decoder.on_data(ts, offset, bytes, &mut out);
    }

    /// `len` bytes of `side`'s stream at `offset` were not captured.
    pub fn on_gap(&mut self, side: Side, offset: u64, len: u64, reason: GapReason, ctx: &mut FlowCtx<'_>) {
        let ts = ctx.ts;
        let (decoder, mut out) = self.split(self.dir_of(side), ctx);
        decoder.on_gap(ts, offset, len, reason, &mut out);
    }

    /// The flow ended: flush both decoders, report missed pongs and suppressed findings,
    /// and announce the end.
    pub fn finish(&mut self, how: ConnectionEnd, ctx: &mut FlowCtx<'_>) {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let ts = ctx.ts;
            let (decoder, mut out) = self.split(dir, ctx);
            decoder.finish(ts, &mut out);
        }
        let timeout = ctx.settings.pong_timeout_secs;
        let ws = &mut self.shared;
        // Only pings whose deadline passed are missed pongs: a connection that closes right
        // after a ping did not break the timeout.
        for (dir, ping) in ws.pings.expire(ctx.ts, timeout) {
            let waited = ctx.ts.millis_since(ping.ts);
            let detail = format!("ping of {} bytes unanswered after {waited:.0} ms", ping.payload.len());
            ws.report(ctx, FindingKind::PongMissing, Some(dir), ping.ts, None, detail);
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
        let client = self.client;
        let tcp = ctx.tcp_by_side.map(|by_side| TcpHealth {
            dirs: [by_side[client.index()], by_side[client.other().index()]],
        });
        ctx.sink.event(Event::ConnectionEnded {
            conn: ws.id,
            ts: ctx.ts,
            how,
            tcp: tcp.as_ref(),
        });
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
}

impl WsShared {
    /// Reports a finding on this connection unless its kind is over the cap.
    fn report(
        &mut self,
        ctx: &mut FlowCtx<'_>,
        kind: FindingKind,
        dir: Option<Direction>,
        ts: Timestamp,
        stream_offset: Option<u64>,
        detail: String,
    ) {
        if self.budget.admit(kind, ctx.settings.max_findings_per_kind) {
            let finding = Finding {
                kind,
                conn: Some(self.id),
                dir,
                ts,
                stream_offset,
                detail,
            };
            ctx.sink.event(Event::Anomaly(&finding));
        }
    }
}

/// The finding a failed checklist line becomes, and which side broke the rule.
fn handshake_finding(id: CheckId) -> (FindingKind, Direction) {
    match id {
        CheckId::SubprotocolOffered => (FindingKind::UnnegotiatedSubprotocol, Direction::ServerToClient),
        CheckId::ExtensionOffered => (FindingKind::UnnegotiatedExtension, Direction::ServerToClient),
        id if id.is_about_response() => (FindingKind::BadHandshake, Direction::ServerToClient),
        _ => (FindingKind::BadHandshake, Direction::ClientToServer),
    }
}

fn report_handshake_findings(ws: &mut WsShared, hs: &Handshake, ctx: &mut FlowCtx<'_>) {
    let ts = hs.response_ts;
    let s2c = Some(Direction::ServerToClient);
    // HTTP/2 has no Sec-WebSocket-Accept (RFC 8441 §5).
    if hs.request.is_some() && !hs.http2 {
        match (hs.accept.as_deref(), hs.expected_accept()) {
            (None, _) => {
                let detail = "101 response without Sec-WebSocket-Accept".to_owned();
                ws.report(ctx, FindingKind::MissingAccept, s2c, ts, None, detail);
            }
            (Some(got), Some(expected)) if got.trim() != expected => {
                let detail = format!("Sec-WebSocket-Accept is {got}, expected {expected}");
                ws.report(ctx, FindingKind::BadAccept, s2c, ts, None, detail);
            }
            _ => {}
        }
    }
    for check in hs.checks() {
        // The accept check was reported above with its own kinds.
        if check.passed || check.id == CheckId::Accept {
            continue;
        }
        let (kind, dir) = handshake_finding(check.id);
        let detail = format!("{}: {}", check.rule, check.detail);
        ws.report(ctx, kind, Some(dir), ts, None, detail);
    }
}

/// Routes one decoder's output to the sink, with ping/pong pairing and finding caps.
struct WsOutput<'w, 'c, 's> {
    shared: &'w mut WsShared,
    dir: Direction,
    ctx: &'c mut FlowCtx<'s>,
}

impl WsOutput<'_, '_, '_> {
    /// Remembers a ping for pairing. When too many are outstanding the oldest is dropped
    /// unpaired: that is the analyser's limit, not the peer's fault, so it is said once per
    /// connection, not per ping.
    fn remember_ping(&mut self, message: &MessageEvent<'_>) {
        if self
            .shared
            .pings
            .on_ping(self.dir, message.ts, message.payload)
            .is_none()
        {
            return;
        }
        self.shared.pings_dropped = self.shared.pings_dropped.saturating_add(1);
        if self.shared.pings_dropped == 1 {
            let detail = format!(
                "more than {} pings waiting for pongs: the oldest are no longer paired",
                crate::analysis::ws::rtt::MAX_OUTSTANDING_PINGS
            );
            self.finding(FindingKind::PingWindow, message.ts, None, detail);
        }
    }
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
            OpCode::Ping => self.remember_ping(message),
            OpCode::Pong => {
                if let Some(ping_ts) = self.shared.pings.on_pong(self.dir, message.payload) {
                    // Timestamps that go backwards (reported by the analyzer) would give a
                    // negative round trip: such a pair is no RTT sample.
                    if message.ts >= ping_ts {
                        self.ctx.sink.event(Event::Rtt(RttSample {
                            conn: self.shared.id,
                            ping_dir: self.dir.opposite(),
                            ping_ts,
                            pong_ts: message.ts,
                        }));
                    }
                }
            }
            OpCode::Close => self.shared.closed_by[self.dir.index()] = true,
            _ => {}
        }
        let timeout = self.ctx.settings.pong_timeout_secs;
        for (dir, ping) in self.shared.pings.expire(message.ts, timeout) {
            // The missed pong is the pinging direction's finding, whichever way this
            // message went.
            let detail = format!("ping of {} bytes unanswered for {timeout} s", ping.payload.len());
            self.shared
                .report(self.ctx, FindingKind::PongMissing, Some(dir), ping.ts, None, detail);
        }
    }

    fn finding(&mut self, kind: FindingKind, ts: Timestamp, stream_offset: Option<u64>, detail: String) {
        self.shared
            .report(self.ctx, kind, Some(self.dir), ts, stream_offset, detail);
    }

    fn pool(&mut self) -> Option<&mut BufferPool> {
        Some(self.ctx.pool)
    }
}
