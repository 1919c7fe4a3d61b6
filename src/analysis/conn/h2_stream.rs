//! One HTTP/2 stream of a connection (RFC 9113 §5): its request, its response, and what it
//! became — a WebSocket connection (RFC 8441 extended CONNECT answered 2xx, whose DATA in
//! each direction is the byte stream the frame decoders read) or a plain HTTP request,
//! listed as a `flow` record when it ends.

use crate::analysis::conn::FlowCtx;
use crate::analysis::conn::report_flow_finding;
use crate::analysis::conn::websocket::WsConn;
use crate::analysis::event::{ConnectionEnd, Direction, Event, FlowInfo, TlsInfo};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::h2::hpack::Field;
use crate::analysis::http::Handshake;
use crate::analysis::http::head::{RequestHead, ResponseHead, header_value};
use crate::analysis::tcp::{FlowKey, GapReason, Side};
use crate::analysis::time::Timestamp;

/// What a stream needs from its connection.
pub struct StreamEnv<'a> {
    pub key: &'a FlowKey,
    pub client: Side,
    pub tls: Option<&'a TlsInfo>,
}

impl StreamEnv<'_> {
    /// "client → server" for finding details.
    pub fn endpoints(&self) -> String {
        format!(
            "{} → {}",
            self.key.endpoint(self.client),
            self.key.endpoint(self.client.other())
        )
    }
}

/// A header list as text, in the order it was sent (pseudo-headers first).
fn text_fields(fields: Vec<Field>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}

/// One stream, from its request headers on.
pub struct H2Stream {
    id: u32,
    request: RequestHead,
    request_ts: Timestamp,
    /// `:method CONNECT` with `:protocol websocket` (RFC 8441 §4).
    wants_websocket: bool,
    /// The extended CONNECT came before the server's SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    connect_not_enabled: bool,
    /// The final (non-1xx) response status.
    status: Option<u16>,
    ws: Option<Box<WsConn>>,
    /// DATA bytes per direction (the WebSocket stream offsets).
    data_bytes: [u64; 2],
    /// END_STREAM seen per direction.
    ended: [bool; 2],
}

impl H2Stream {
    /// A new stream from its request header list. `connect_enabled`: the server has sent
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    pub fn request(
        id: u32,
        fields: Vec<Field>,
        end_stream: bool,
        connect_enabled: bool,
        env: &StreamEnv<'_>,
        ctx: &mut FlowCtx<'_>,
    ) -> H2Stream {
        let headers = text_fields(fields);
        let method = header_value(&headers, ":method").unwrap_or("").to_owned();
        let path = header_value(&headers, ":path").unwrap_or("").to_owned();
        let protocol = header_value(&headers, ":protocol").map(str::to_owned);
        if let Some(protocol) = &protocol
            && method != "CONNECT"
        {
            let detail = format!(
                "{}: stream {id}: :protocol {protocol} on a {method} request",
                env.endpoints()
            );
            report_flow_finding(ctx, FindingKind::H2ProtocolWithoutConnect, None, detail);
        }
        let wants_websocket =
            method == "CONNECT" && protocol.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("websocket"));
        let mut ended = [false; 2];
        ended[Direction::ClientToServer.index()] = end_stream;
        H2Stream {
            id,
            request: RequestHead {
                method,
                path,
                version_minor: 0,
                headers,
            },
            request_ts: ctx.ts,
            wants_websocket,
            connect_not_enabled: wants_websocket && !connect_enabled,
            status: None,
            ws: None,
            data_bytes: [0; 2],
            ended,
        }
    }

    pub fn is_websocket(&self) -> bool {
        self.ws.is_some()
    }

    /// Both directions ended the stream.
    pub fn is_done(&self) -> bool {
        self.ended.iter().all(|e| *e)
    }

    /// A header block on this stream after its request: the response (1xx ones skipped),
    /// or trailers.
    pub fn headers(
        &mut self,
        dir: Direction,
        fields: Vec<Field>,
        end_stream: bool,
        env: &StreamEnv<'_>,
        ctx: &mut FlowCtx<'_>,
    ) {
        if end_stream {
            self.ended[dir.index()] = true;
        }
        if dir == Direction::ClientToServer || self.status.is_some() {
            return; // trailers
        }
        let headers = text_fields(fields);
        let status = header_value(&headers, ":status").and_then(|s| s.parse::<u16>().ok());
        let Some(status) = status else {
            let detail = format!(
                "{}: stream {}: a response without a valid :status",
                env.endpoints(),
                self.id
            );
            report_flow_finding(
                ctx,
                FindingKind::H2ProtocolError,
                Some(Direction::ServerToClient),
                detail,
            );
            return;
        };
        if (100..200).contains(&status) {
            return;
        }
        self.status = Some(status);
        if !self.wants_websocket {
            return;
        }
        if !(200..300).contains(&status) {
            let detail = format!(
                "{}: stream {}: CONNECT {} (:protocol websocket) answered {status}",
                env.endpoints(),
                self.id,
                self.request.path
            );
            report_flow_finding(ctx, FindingKind::UpgradeRejected, None, detail);
            return;
        }
        let response = ResponseHead {
            version_minor: 0,
            status,
            reason: String::new(),
            headers,
        };
        let handshake = Handshake::http2(self.request.clone(), self.request_ts, response, ctx.ts);
        let ws = WsConn::start(
            env.key,
            env.client,
            Some(handshake),
            Default::default(),
            env.tls.cloned(),
            Some(self.id),
            ctx,
        );
        if self.connect_not_enabled {
            let finding = Finding {
                kind: FindingKind::H2ConnectNotEnabled,
                conn: Some(ws.id()),
                dir: Some(Direction::ClientToServer),
                ts: self.request_ts,
                stream_offset: None,
                detail: format!(
                    "stream {}: extended CONNECT sent before the server's SETTINGS_ENABLE_CONNECT_PROTOCOL = 1",
                    self.id
                ),
            };
            ctx.sink.event(Event::Anomaly(&finding));
        }
        self.ws = Some(ws);
    }

    /// A piece of a DATA frame's payload (padding removed) from `side`.
    pub fn data(&mut self, side: Side, dir: Direction, bytes: &[u8], ctx: &mut FlowCtx<'_>) {
        let offset = &mut self.data_bytes[dir.index()];
        let at = *offset;
        *offset = offset.saturating_add(bytes.len() as u64);
        if let Some(ws) = &mut self.ws
            && !bytes.is_empty()
        {
            ws.on_data(side, at, bytes, ctx);
        }
    }

    /// `len` bytes of `side`'s DATA were not captured (inside one DATA frame). True when a
    /// WebSocket decoder took the gap (and reports it).
    pub fn gap(&mut self, side: Side, len: u64, reason: GapReason, ctx: &mut FlowCtx<'_>) -> bool {
        let Some(ws) = &mut self.ws else {
            return false;
        };
        let offset = &mut self.data_bytes[ws.dir_of(side).index()];
        let at = *offset;
        *offset = offset.saturating_add(len);
        ws.on_gap(side, at, len, reason, ctx);
        true
    }

    /// `dir` sent END_STREAM.
    pub fn end(&mut self, dir: Direction) {
        self.ended[dir.index()] = true;
    }

    /// The stream is over (both END_STREAMs, RST_STREAM, or the connection ended): the
    /// WebSocket connection ends, a plain request is listed.
    pub fn finish(mut self, how: ConnectionEnd, env: &StreamEnv<'_>, ctx: &mut FlowCtx<'_>) {
        if let Some(ws) = &mut self.ws {
            ws.finish(how, ctx);
            return;
        }
        let what = match (self.wants_websocket, self.status) {
            (true, Some(status)) => format!("refused with status {status}"),
            (true, None) => "got no response".to_owned(),
            (false, Some(status)) => format!("answered {status}: not a WebSocket"),
            (false, None) => "got no response: not a WebSocket".to_owned(),
        };
        let method = if self.wants_websocket {
            "CONNECT (:protocol websocket)"
        } else {
            self.request.method.as_str()
        };
        let info = FlowInfo {
            client: env.key.endpoint(env.client),
            server: env.key.endpoint(env.client.other()),
            protocol: "http2",
            tls: env.tls.cloned(),
            reason: format!(
                "HTTP/2 stream {}: {method} {} {what} ({} bytes of DATA)",
                self.id,
                self.request.path,
                self.data_bytes.iter().sum::<u64>()
            ),
            first_ts: self.request_ts,
            last_ts: ctx.ts,
            h2_stream: Some(self.id),
            attempts: None,
        };
        ctx.sink.event(Event::Flow(&info));
    }
}
