//! TLS below the phase machine: a flow whose first client bytes are a ClientHello has its
//! bytes decrypted by a [`TlsSession`], and the plaintext runs through the phase machine
//! (HTTP upgrade, WebSocket) exactly as a cleartext TCP stream would.

use crate::analysis::conn::{FlowCtx, FlowState, Phase};
use crate::analysis::event::{Direction, Event, FlowInfo, TlsInfo};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::tcp::{Chunk, GapReason, Side};
use crate::analysis::time::Timestamp;
use crate::analysis::tls::{KeyLog, TlsFacts, TlsOutput, TlsSession};

/// The TLS state of a flow.
pub struct TlsLayer {
    client: Side,
    session: TlsSession,
    /// A WebSocket connection was recognised inside (else the flow is listed as a `flow`).
    carried_websocket: bool,
    first_ts: Timestamp,
}

/// The facts of a session as the record format shows them.
pub fn tls_info(facts: &TlsFacts) -> TlsInfo {
    TlsInfo {
        version: facts.version_name(),
        cipher_suite: facts.cipher_suite_name(),
        sni: facts.sni.clone(),
        alpn: facts.alpn.clone(),
        decrypted: facts.decrypted,
        early_data: facts.early_data.map(|e| e.name()),
        client_random: None,
    }
}

impl TlsLayer {
    pub fn new(client: Side, ctx: &FlowCtx<'_>) -> TlsLayer {
        TlsLayer {
            client,
            session: TlsSession::new(ctx.settings.tls_limits),
            carried_websocket: false,
            first_ts: ctx.ts,
        }
    }

    /// A TLS connection picked up mid-connection (its first bytes are records): the key
    /// log's TLS 1.3 traffic secrets are tried on its records (`tls::mid_search`); `client`
    /// is a guess the search corrects.
    pub fn mid_connection(client: Side, ctx: &FlowCtx<'_>) -> TlsLayer {
        let mut layer = TlsLayer::new(client, ctx);
        layer.session.start_mid_connection();
        layer
    }

    fn dir_of(&self, side: Side) -> Direction {
        if side == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    pub fn info(&self) -> TlsInfo {
        TlsInfo {
            client_random: self.session.client_random().copied(),
            ..tls_info(self.session.facts())
        }
    }

    /// A piece of `side`'s TCP stream: decrypted, the plaintext goes to `flow`'s phase machine.
    pub fn on_chunk(&mut self, flow: &mut FlowState, side: Side, chunk: Chunk<'_>, ctx: &mut FlowCtx<'_>) {
        let dir = self.dir_of(side);
        let keys = ctx.keys;
        let packet_ts = ctx.ts;
        let mut out = Plaintext {
            flow,
            ctx,
            client: self.client,
        };
        match chunk {
            Chunk::Data { offset, bytes } => self.session.push(dir, offset, bytes, packet_ts, keys, &mut out),
            Chunk::Gap { offset, len, .. } => self.session.gap(dir, offset, len, packet_ts, keys, &mut out),
            // Reported by the flow before TLS sees the chunk.
            Chunk::Conflict { .. } => {}
        }
        out.ctx.ts = packet_ts;
        self.client = out.client;
        self.carried_websocket |= out.flow.phase.is_websocket();
        // The facts the next WebSocket connection inside will carry.
        if out.flow.tls_info.is_none() && self.session.facts().decrypted {
            out.flow.tls_info = Some(Box::new(self.info()));
        }
    }

    /// The session's client records wait for a key (`TlsSession::waits_for_key`).
    pub fn waits_for_key(&self) -> bool {
        self.session.waits_for_key()
    }

    /// Whether `keys` holds the session's secrets.
    pub fn key_in(&self, keys: &KeyLog) -> bool {
        self.session.key_in(keys)
    }

    /// The flow ended: report a missing key, and list the flow when it carried no WebSocket.
    pub fn finish(&mut self, flow: &mut FlowState, ctx: &mut FlowCtx<'_>) {
        let packet_ts = ctx.ts;
        let keys = ctx.keys;
        let mut out = Plaintext {
            flow,
            ctx,
            client: self.client,
        };
        // A key that came after the session's last data (Chromium writes a spare connection's
        // line after its handshake, and nothing follows but FIN) still decrypts what waited.
        self.session.retry_keys(keys, &mut out);
        self.session.finish(packet_ts, &mut out);
        out.ctx.ts = packet_ts;
        self.client = out.client;
        self.carried_websocket |= out.flow.phase.is_websocket();
        if out.flow.tls_info.is_none() && self.session.facts().decrypted {
            out.flow.tls_info = Some(Box::new(self.info()));
        }
        if self.carried_websocket {
            return;
        }
        let facts = self.session.facts();
        let reason = match (facts.problem, &flow.phase) {
            (Some(problem), _) => problem.reason().to_owned(),
            (None, Phase::Http2(h2)) => h2.summary(),
            (None, _) if facts.version.is_none() => "TLS handshake not completed".to_owned(),
            (None, _) => match facts.alpn.as_deref() {
                Some(alpn) if alpn != "http/1.1" => format!("no WebSocket upgrade (ALPN {alpn})"),
                _ => "no WebSocket upgrade".to_owned(),
            },
        };
        let info = FlowInfo {
            client: flow.key.endpoint(self.client),
            server: flow.key.endpoint(self.client.other()),
            protocol: "tls",
            tls: Some(self.info()),
            reason,
            first_ts: self.first_ts,
            last_ts: packet_ts,
            h2_stream: None,
            attempts: None,
        };
        ctx.sink.event(Event::Flow(&info));
    }
}

/// Routes a session's output into the flow's phase machine and the sink.
struct Plaintext<'f, 'c, 'x> {
    flow: &'f mut FlowState,
    ctx: &'c mut FlowCtx<'x>,
    client: Side,
}

impl Plaintext<'_, '_, '_> {
    fn side_of(&self, dir: Direction) -> Side {
        match dir {
            Direction::ClientToServer => self.client,
            Direction::ServerToClient => self.client.other(),
        }
    }
}

impl TlsOutput for Plaintext<'_, '_, '_> {
    fn roles_swapped(&mut self) {
        self.client = self.client.other();
    }

    fn decrypting(&mut self, facts: &TlsFacts, client_random: Option<&[u8; 32]>) {
        if self.flow.tls_info.is_none() {
            self.flow.tls_info = Some(Box::new(TlsInfo {
                client_random: client_random.copied(),
                ..tls_info(facts)
            }));
        }
    }

    fn plaintext(&mut self, dir: Direction, ts: Timestamp, plain_offset: u64, bytes: &[u8]) {
        let side = self.side_of(dir);
        self.ctx.ts = ts;
        self.flow.on_plain_chunk(
            side,
            Chunk::Data {
                offset: plain_offset,
                bytes,
            },
            self.ctx,
        );
    }

    fn plaintext_gap(&mut self, dir: Direction, ts: Timestamp, plain_offset: u64, len: u64) {
        let side = self.side_of(dir);
        self.ctx.ts = ts;
        self.flow.on_plain_chunk(
            side,
            Chunk::Gap {
                offset: plain_offset,
                len,
                reason: GapReason::NotCaptured,
            },
            self.ctx,
        );
    }

    fn finding(
        &mut self,
        dir: Direction,
        kind: FindingKind,
        ts: Timestamp,
        stream_offset: Option<u64>,
        detail: String,
    ) {
        let conn = match &self.flow.phase {
            Phase::WebSocket(ws) => Some(ws.id()),
            _ => None,
        };
        let where_ = format!(
            "{} → {}: ",
            self.flow.key.endpoint(self.side_of(dir)),
            self.flow.key.endpoint(self.side_of(dir).other())
        );
        let finding = Finding {
            kind,
            conn,
            dir: conn.map(|_| dir),
            ts,
            stream_offset,
            detail: if conn.is_some() { detail } else { where_ + &detail },
        };
        self.ctx.sink.event(Event::Anomaly(&finding));
    }

    fn alpn(&mut self, protocol: &str) {
        // The plaintext will be HTTP/2 whichever side speaks first.
        self.flow.alpn_h2_client = (protocol == "h2").then_some(self.client);
    }
}
