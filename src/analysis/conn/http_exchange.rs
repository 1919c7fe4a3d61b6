//! The HTTP/1.x requests and responses a flow carries before (and instead of) a WebSocket
//! upgrade: heads parsed as they complete, bodies skipped by their declared length.

use std::collections::VecDeque;

use crate::analysis::http::Handshake;
use crate::analysis::http::head::{
    BodyLength, HeadParse, RequestHead, ResponseHead, header_has_token, request_body_length, response_body_length,
};
use crate::analysis::tcp::Side;
use crate::analysis::time::Timestamp;

/// Methods that start an HTTP/1.x request line (enough to recognise a request start).
pub(crate) const HTTP_METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"OPTIONS ",
    b"DELETE ",
    b"PATCH ",
    b"CONNECT ",
];

pub fn looks_like_request(bytes: &[u8]) -> bool {
    HTTP_METHODS.iter().any(|m| bytes.starts_with(m))
}

pub fn looks_like_response(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.")
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
    /// A side whose framing was lost (chunked or until-close body, unparsable head).
    broken: [bool; 2],
}

/// What pushing bytes led to.
#[derive(Debug)]
pub enum HttpOutcome {
    /// Nothing decided yet: more bytes are needed.
    Pending,
    /// A 101 answered the upgrade: the flow is WebSocket from here on.
    Upgraded(Box<Upgrade>),
    /// A head grew past the cap: the flow is set aside (the reason is for a finding).
    GaveUp(&'static str),
}

/// A completed upgrade and the bytes each side sent after its head (early frames).
#[derive(Debug)]
pub struct Upgrade {
    pub handshake: Handshake,
    pub client_rest: Vec<u8>,
    pub server_rest: Vec<u8>,
}

/// An upgrade request answered with something other than 101.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The upgrade request's path, when the request was captured.
    pub path: Option<String>,
    pub status: u16,
    pub reason: String,
}

/// What one head parse did.
enum Step {
    /// A head was consumed; look for the next one.
    Continue,
    /// Wait for more bytes.
    Wait,
    Done(HttpOutcome),
}

impl HttpExchange {
    pub fn new(client: Side) -> Self {
        HttpExchange {
            client,
            bufs: Default::default(),
            skip: [0; 2],
            pending: VecDeque::new(),
            upgrade: None,
            broken: [false; 2],
        }
    }

    /// The side that sends requests.
    pub fn client(&self) -> Side {
        self.client
    }

    /// The path of an upgrade request still waiting for its response.
    pub fn waiting_upgrade_path(&self) -> Option<&str> {
        self.upgrade.as_ref().map(|(r, _)| r.path.as_str())
    }

    /// `side`'s next ordered bytes, at time `ts`. Rejected upgrades are passed to `rejected`
    /// as they are seen; the exchange goes on after them.
    pub fn push(
        &mut self,
        side: Side,
        mut bytes: &[u8],
        ts: Timestamp,
        max_head_bytes: usize,
        rejected: &mut dyn FnMut(Rejection),
    ) -> HttpOutcome {
        let i = side.index();
        if self.broken[i] {
            return HttpOutcome::Pending;
        }
        let skip = self.skip[i].min(bytes.len() as u64) as usize;
        self.skip[i] -= skip as u64;
        bytes = bytes.get(skip..).unwrap_or(&[]);
        self.bufs[i].extend_from_slice(bytes);
        let is_client = side == self.client;
        loop {
            if self.skip[i] > 0 {
                let n = self.skip[i].min(self.bufs[i].len() as u64) as usize;
                self.bufs[i].drain(..n);
                self.skip[i] -= n as u64;
            }
            if self.bufs[i].is_empty() {
                return HttpOutcome::Pending;
            }
            // While an upgrade request waits for its response, later client bytes are
            // early WebSocket frames: hold them.
            if is_client && self.upgrade.is_some() {
                if self.bufs[i].len() > max_head_bytes {
                    return HttpOutcome::GaveUp("client sent too much before the upgrade response");
                }
                return HttpOutcome::Pending;
            }
            let step = if is_client {
                self.parse_request(i, ts, max_head_bytes)
            } else {
                self.parse_response(i, ts, max_head_bytes, rejected)
            };
            match step {
                Step::Continue => {}
                Step::Wait => return HttpOutcome::Pending,
                Step::Done(outcome) => return outcome,
            }
        }
    }

    /// Parses one request head from the client buffer (index `i`).
    fn parse_request(&mut self, i: usize, ts: Timestamp, max_head_bytes: usize) -> Step {
        let buf = &mut self.bufs[i];
        match RequestHead::parse(buf) {
            HeadParse::Complete(head, len) => {
                buf.drain(..len);
                let is_upgrade = header_has_token(&head.headers, "upgrade", "websocket");
                self.pending.push_back((head.method.clone(), is_upgrade));
                if is_upgrade {
                    self.upgrade = Some((head, ts));
                } else {
                    self.skip_body(i, request_body_length(&head));
                }
                Step::Continue
            }
            HeadParse::Partial if buf.len() > max_head_bytes => {
                Step::Done(HttpOutcome::GaveUp("request head too long"))
            }
            HeadParse::Partial => Step::Wait,
            HeadParse::Invalid(_) => {
                self.broken[i] = true;
                buf.clear();
                Step::Wait
            }
        }
    }

    /// Parses one response head from the server buffer (index `i`).
    fn parse_response(
        &mut self,
        i: usize,
        ts: Timestamp,
        max_head_bytes: usize,
        rejected: &mut dyn FnMut(Rejection),
    ) -> Step {
        let head = match ResponseHead::parse(&self.bufs[i]) {
            HeadParse::Complete(head, len) => {
                self.bufs[i].drain(..len);
                head
            }
            HeadParse::Partial if self.bufs[i].len() > max_head_bytes => {
                return Step::Done(HttpOutcome::GaveUp("response head too long"));
            }
            HeadParse::Partial => return Step::Wait,
            HeadParse::Invalid(_) => {
                self.broken[i] = true;
                self.bufs[i].clear();
                return Step::Wait;
            }
        };
        if head.status == 101 && (self.upgrade.is_some() || header_has_token(&head.headers, "upgrade", "websocket")) {
            let request = self.upgrade.take();
            let server_rest = std::mem::take(&mut self.bufs[i]);
            let client_rest = std::mem::take(&mut self.bufs[self.client.index()]);
            let (request, request_ts) = match request {
                Some((r, t)) => (Some(r), Some(t)),
                None => (None, None),
            };
            let handshake = Handshake::new(request, request_ts, head, ts);
            return Step::Done(HttpOutcome::Upgraded(Box::new(Upgrade {
                handshake,
                client_rest,
                server_rest,
            })));
        }
        if (100..200).contains(&head.status) {
            return Step::Continue;
        }
        let (method, was_upgrade) = self.pending.pop_front().unwrap_or_default();
        if was_upgrade || self.upgrade.is_some() {
            let request = self.upgrade.take();
            rejected(Rejection {
                path: request.map(|(r, _)| r.path),
                status: head.status,
                reason: head.reason.clone(),
            });
        }
        self.skip_body(i, response_body_length(&head, Some(method.as_str())));
        Step::Continue
    }

    fn skip_body(&mut self, i: usize, length: BodyLength) {
        match length {
            BodyLength::Bytes(n) => self.skip[i] = n,
            BodyLength::Chunked | BodyLength::UntilClose => self.broken[i] = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_HEAD: usize = 64 << 10;

    const UPGRADE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    const SWITCHING: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    fn push(x: &mut HttpExchange, side: Side, bytes: &[u8], rejections: &mut Vec<Rejection>) -> HttpOutcome {
        x.push(side, bytes, Timestamp::from_nanos(0), MAX_HEAD, &mut |r| {
            rejections.push(r)
        })
    }

    #[test]
    fn an_upgrade_split_across_pushes_completes_with_the_early_frames_kept() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        let (a, b) = UPGRADE.split_at(7);
        assert!(matches!(push(&mut x, Side::Lo, a, &mut rej), HttpOutcome::Pending));
        assert!(matches!(push(&mut x, Side::Lo, b, &mut rej), HttpOutcome::Pending));
        assert_eq!(x.waiting_upgrade_path(), Some("/chat"));
        // A frame the client sent before the response arrived is held, not parsed as HTTP.
        assert!(matches!(
            push(&mut x, Side::Lo, b"\x81\x80abcd", &mut rej),
            HttpOutcome::Pending
        ));
        let mut response = SWITCHING.to_vec();
        response.extend_from_slice(b"\x81\x02hi");
        match push(&mut x, Side::Hi, &response, &mut rej) {
            HttpOutcome::Upgraded(u) => {
                assert_eq!(u.handshake.path(), Some("/chat"));
                assert_eq!(u.handshake.accept_valid(), Some(true));
                assert_eq!(u.client_rest, b"\x81\x80abcd");
                assert_eq!(u.server_rest, b"\x81\x02hi");
            }
            other => panic!("expected an upgrade, got {other:?}"),
        }
        assert!(rej.is_empty());
    }

    #[test]
    fn a_keep_alive_request_with_a_body_is_skipped_before_the_upgrade() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        let post = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        assert!(matches!(push(&mut x, Side::Lo, post, &mut rej), HttpOutcome::Pending));
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes";
        assert!(matches!(push(&mut x, Side::Hi, ok, &mut rej), HttpOutcome::Pending));
        assert!(matches!(
            push(&mut x, Side::Lo, UPGRADE, &mut rej),
            HttpOutcome::Pending
        ));
        assert!(matches!(
            push(&mut x, Side::Hi, SWITCHING, &mut rej),
            HttpOutcome::Upgraded(_)
        ));
        assert!(rej.is_empty());
    }

    #[test]
    fn a_refused_upgrade_is_reported_and_the_exchange_goes_on() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        push(&mut x, Side::Lo, UPGRADE, &mut rej);
        let forbidden = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno";
        assert!(matches!(
            push(&mut x, Side::Hi, forbidden, &mut rej),
            HttpOutcome::Pending
        ));
        assert_eq!(
            rej,
            vec![Rejection {
                path: Some("/chat".to_owned()),
                status: 403,
                reason: "Forbidden".to_owned()
            }]
        );
        assert_eq!(x.waiting_upgrade_path(), None);
        // A second try on the same connection still upgrades.
        push(&mut x, Side::Lo, UPGRADE, &mut rej);
        assert!(matches!(
            push(&mut x, Side::Hi, SWITCHING, &mut rej),
            HttpOutcome::Upgraded(_)
        ));
    }

    #[test]
    fn an_interim_response_does_not_answer_the_upgrade() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        push(&mut x, Side::Lo, UPGRADE, &mut rej);
        let mut both = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
        both.extend_from_slice(SWITCHING);
        assert!(matches!(
            push(&mut x, Side::Hi, &both, &mut rej),
            HttpOutcome::Upgraded(_)
        ));
        assert!(rej.is_empty());
    }

    #[test]
    fn a_head_past_the_cap_gives_up_with_its_reason() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        let mut long = b"GET / HTTP/1.1\r\n".to_vec();
        long.extend(std::iter::repeat_n(b'a', 100));
        let outcome = x.push(Side::Lo, &long, Timestamp::from_nanos(0), 64, &mut |r| rej.push(r));
        assert!(matches!(outcome, HttpOutcome::GaveUp("request head too long")));
    }

    #[test]
    fn a_chunked_body_stops_tracking_that_side_only() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        let chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        push(&mut x, Side::Lo, chunked, &mut rej);
        // The client side is lost: even an upgrade request is not recognised any more.
        push(&mut x, Side::Lo, UPGRADE, &mut rej);
        assert_eq!(x.waiting_upgrade_path(), None);
    }

    #[test]
    fn request_and_response_starts_are_recognised() {
        assert!(looks_like_request(b"GET / HTTP/1.1"));
        assert!(looks_like_request(b"CONNECT host:443 HTTP/1.1"));
        assert!(!looks_like_request(b"\x16\x03\x01"));
        assert!(looks_like_response(b"HTTP/1.1 101"));
        assert!(!looks_like_response(b"HTTP/2"));
    }
}
