//! The HTTP/1.x requests and responses a flow carries before (and instead of) a WebSocket
//! upgrade: heads parsed as they complete, bodies skipped by their declared length.
//!
//! About 420 lines of code; the rest is its unit tests.

use std::collections::VecDeque;

use crate::analysis::http::Handshake;
use crate::analysis::http::head::{
    BodyLength, HeadParse, MAX_HEADERS, RequestHead, ResponseHead, header_has_token, request_body_length,
    response_body_length,
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
    /// A request asking to switch to cleartext HTTP/2 (`Upgrade: h2c`, RFC 7540 §3.2),
    /// waiting for its response.
    h2c: Option<RequestHead>,
    /// A side whose framing was lost (chunked or until-close body, unparsable head).
    broken: [bool; 2],
    /// Bytes of each buffer already searched for the end of a head (so a head arriving a
    /// byte at a time is scanned once, not re-parsed from its start at every byte).
    scanned: [usize; 2],
    /// The server's body being skipped: (status, declared Content-Length), or `None`
    /// with `body_unknown` for chunked and until-close bodies.
    declared_body: Option<(u16, u64)>,
    body_unknown: bool,
}

/// Something worth a finding that the exchange noticed; it goes on after each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpNote {
    /// An upgrade request answered with something other than 101.
    Rejected(Rejection),
    /// A head with more header lines than `MAX_HEADERS` (it was still parsed when it fit
    /// the size cap).
    TooManyHeaders { request: bool, lines: usize },
    /// A response's declared body length was contradicted: the server answered the next
    /// request before that many bytes came.
    BodyLengthMismatch { status: u16, declared: u64, seen: u64 },
}

/// What pushing bytes led to.
#[derive(Debug)]
pub enum HttpOutcome {
    /// Nothing decided yet: more bytes are needed.
    Pending,
    /// A 101 answered the upgrade: the flow is WebSocket from here on.
    Upgraded(Box<Upgrade>),
    /// A 101 answered an `Upgrade: h2c` request: the flow is HTTP/2 from here on, and the
    /// request is stream 1's.
    UpgradedH2c(Box<H2cUpgrade>),
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

/// An HTTP/1.1 request upgraded to cleartext HTTP/2, and the bytes after the heads.
#[derive(Debug)]
pub struct H2cUpgrade {
    /// The request, when it was captured; its response comes on stream 1.
    pub request: Option<RequestHead>,
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

/// Where the head at the start of a buffer ends.
enum HeadEnd {
    At(usize),
    Wait,
    TooLong,
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
            h2c: None,
            broken: [false; 2],
            scanned: [0; 2],
            declared_body: None,
            body_unknown: false,
        }
    }

    /// A head that was started but not finished, as (is it a request, bytes held): for a
    /// finding when the flow ends.
    pub fn unfinished_head(&self, side: Side) -> Option<(bool, usize)> {
        let i = side.index();
        let is_client = side == self.client;
        let held = self.bufs.get(i).map_or(0, Vec::len);
        let early_frames = is_client && self.upgrade.is_some();
        let skipping = self.skip[i] > 0 || self.broken[i];
        (held > 0 && !early_frames && !skipping).then_some((is_client, held))
    }

    /// The start of `side`'s unfinished head (for a finding's detail), up to its first line.
    pub fn head_start(&self, side: Side) -> String {
        let buf = self.bufs.get(side.index()).map_or(&[][..], Vec::as_slice);
        let line = buf.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let line = line.get(..line.len().min(80)).unwrap_or(&[]);
        String::from_utf8_lossy(line)
            .trim()
            .chars()
            .map(|c| if c.is_control() { '.' } else { c })
            .collect()
    }

    /// The side that sends requests.
    pub fn client(&self) -> Side {
        self.client
    }

    /// The path of an upgrade request still waiting for its response.
    pub fn waiting_upgrade_path(&self) -> Option<&str> {
        self.upgrade.as_ref().map(|(r, _)| r.path.as_str())
    }

    /// `side`'s next ordered bytes (one segment's, or what is left of it), at time `ts`.
    /// What is worth a finding (rejected upgrades, too many headers, a body length
    /// contradicted) goes to `notes` as it is seen; the exchange goes on after each.
    pub fn push(
        &mut self,
        side: Side,
        mut bytes: &[u8],
        ts: Timestamp,
        max_head_bytes: usize,
        notes: &mut dyn FnMut(HttpNote),
    ) -> HttpOutcome {
        let i = side.index();
        let is_client = side == self.client;
        if !is_client && (self.skip[i] > 0 || (self.broken[i] && self.body_unknown)) {
            self.resume_after_body(i, bytes, notes);
        }
        if self.broken[i] {
            return HttpOutcome::Pending;
        }
        let skip = self.skip[i].min(bytes.len() as u64) as usize;
        self.skip[i] -= skip as u64;
        bytes = bytes.get(skip..).unwrap_or(&[]);
        self.bufs[i].extend_from_slice(bytes);
        loop {
            if self.skip[i] > 0 {
                let n = self.skip[i].min(self.bufs[i].len() as u64) as usize;
                self.bufs[i].drain(..n);
                self.skip[i] -= n as u64;
                self.scanned[i] = 0;
            }
            if self.bufs[i].is_empty() {
                return HttpOutcome::Pending;
            }
            // While an upgrade request waits for its response, later client bytes are
            // early WebSocket frames (or, for h2c, the HTTP/2 preface): hold them.
            if is_client && (self.upgrade.is_some() || self.h2c.is_some()) {
                if self.bufs[i].len() > max_head_bytes {
                    return HttpOutcome::GaveUp("client sent too much before the upgrade response");
                }
                return HttpOutcome::Pending;
            }
            let step = match self.head_end(i, max_head_bytes, is_client, notes) {
                HeadEnd::Wait => Step::Wait,
                HeadEnd::TooLong => Step::Done(HttpOutcome::GaveUp(if is_client {
                    "request head too long"
                } else {
                    "response head too long"
                })),
                HeadEnd::At(end) if is_client => self.parse_request(i, end, ts, notes),
                HeadEnd::At(end) => self.parse_response(i, end, ts, notes),
            };
            match step {
                Step::Continue => {}
                Step::Wait => return HttpOutcome::Pending,
                Step::Done(outcome) => return outcome,
            }
        }
    }

    /// Finds the end of the head at the start of buffer `i`, scanning only bytes not
    /// scanned before. Empty lines before a head are dropped (RFC 9112 §2.2).
    fn head_end(&mut self, i: usize, max_head_bytes: usize, request: bool, notes: &mut dyn FnMut(HttpNote)) -> HeadEnd {
        let Some(buf) = self.bufs.get_mut(i) else {
            return HeadEnd::Wait;
        };
        if self.scanned[i] == 0 {
            let blank = buf.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
            buf.drain(..blank);
        }
        // A head ends with an empty line: LF, optional CR, LF.
        let from = self.scanned[i].saturating_sub(2);
        let found = buf.get(from..).and_then(|tail| {
            tail.windows(2).enumerate().find_map(|(k, w)| match w {
                [b'\n', b'\n'] => Some(from + k + 2),
                [b'\n', b'\r'] if tail.get(k + 2) == Some(&b'\n') => Some(from + k + 3),
                _ => None,
            })
        });
        match found {
            Some(end) if end <= max_head_bytes => HeadEnd::At(end),
            Some(_) => self.too_long(i, request, notes),
            None if buf.len() > max_head_bytes => self.too_long(i, request, notes),
            None => {
                self.scanned[i] = buf.len();
                HeadEnd::Wait
            }
        }
    }

    /// A head grew past the cap; more header lines than can be parsed is said too.
    fn too_long(&mut self, i: usize, request: bool, notes: &mut dyn FnMut(HttpNote)) -> HeadEnd {
        let lines = self
            .bufs
            .get(i)
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
        if lines > MAX_HEADERS + 1 {
            notes(HttpNote::TooManyHeaders {
                request,
                lines: lines.saturating_sub(1),
            });
        }
        HeadEnd::TooLong
    }

    /// Parses the request head that ends at `end` in the client buffer (index `i`).
    fn parse_request(&mut self, i: usize, end: usize, ts: Timestamp, notes: &mut dyn FnMut(HttpNote)) -> Step {
        self.scanned[i] = 0;
        let Some(buf) = self.bufs.get_mut(i) else {
            return Step::Wait;
        };
        match RequestHead::parse(buf.get(..end).unwrap_or(&[])) {
            HeadParse::Complete(head, len) => {
                buf.drain(..len);
                if head.headers.len() > MAX_HEADERS {
                    notes(HttpNote::TooManyHeaders {
                        request: true,
                        lines: head.headers.len(),
                    });
                }
                let is_upgrade = header_has_token(&head.headers, "upgrade", "websocket");
                self.pending.push_back((head.method.clone(), is_upgrade));
                if is_upgrade {
                    self.upgrade = Some((head, ts));
                } else if header_has_token(&head.headers, "upgrade", "h2c") {
                    self.skip_body(i, request_body_length(&head));
                    self.h2c = Some(head);
                } else {
                    self.skip_body(i, request_body_length(&head));
                }
                Step::Continue
            }
            HeadParse::Partial | HeadParse::Invalid(_) => {
                self.broken[i] = true;
                buf.clear();
                Step::Wait
            }
        }
    }

    /// Parses the response head that ends at `end` in the server buffer (index `i`).
    fn parse_response(&mut self, i: usize, end: usize, ts: Timestamp, notes: &mut dyn FnMut(HttpNote)) -> Step {
        self.scanned[i] = 0;
        let parsed = ResponseHead::parse(self.bufs.get(i).and_then(|b| b.get(..end)).unwrap_or(&[]));
        let head = match parsed {
            HeadParse::Complete(head, len) => {
                if let Some(buf) = self.bufs.get_mut(i) {
                    buf.drain(..len);
                }
                if head.headers.len() > MAX_HEADERS {
                    notes(HttpNote::TooManyHeaders {
                        request: false,
                        lines: head.headers.len(),
                    });
                }
                head
            }
            HeadParse::Partial | HeadParse::Invalid(_) => {
                self.broken[i] = true;
                if let Some(buf) = self.bufs.get_mut(i) {
                    buf.clear();
                }
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
        if head.status == 101 && header_has_token(&head.headers, "upgrade", "h2c") {
            self.pending.pop_front();
            return Step::Done(HttpOutcome::UpgradedH2c(Box::new(H2cUpgrade {
                request: self.h2c.take(),
                server_rest: std::mem::take(&mut self.bufs[i]),
                client_rest: std::mem::take(&mut self.bufs[self.client.index()]),
            })));
        }
        if (100..200).contains(&head.status) {
            return Step::Continue;
        }
        let (method, was_upgrade) = self.pending.pop_front().unwrap_or_default();
        if self.pending.is_empty() {
            // The h2c request, if any, was answered without switching: HTTP/1.1 goes on.
            self.h2c = None;
        }
        if was_upgrade || self.upgrade.is_some() {
            let request = self.upgrade.take();
            notes(HttpNote::Rejected(Rejection {
                path: request.map(|(r, _)| r.path),
                status: head.status,
                reason: head.reason.clone(),
            }));
        }
        let length = response_body_length(&head, Some(method.as_str()));
        self.declared_body = match length {
            BodyLength::Bytes(n) if n > 0 => Some((head.status, n)),
            _ => None,
        };
        self.body_unknown = matches!(length, BodyLength::Chunked | BodyLength::UntilClose);
        self.skip_body(i, length);
        Step::Continue
    }

    /// The server is inside a body (declared length, chunked or until close) while the
    /// client waits for an answer to a later request: a segment that starts like a
    /// response is that answer, whatever the body's length said. Resumes parsing there;
    /// a contradicted Content-Length is a note.
    fn resume_after_body(&mut self, i: usize, bytes: &[u8], notes: &mut dyn FnMut(HttpNote)) {
        let waiting = self.upgrade.is_some() || !self.pending.is_empty();
        if !waiting || !looks_like_response(bytes) {
            return;
        }
        if let Some((status, declared)) = self.declared_body.take()
            && self.skip[i] > 0
        {
            let seen = declared.saturating_sub(self.skip[i]);
            notes(HttpNote::BodyLengthMismatch { status, declared, seen });
        }
        self.skip[i] = 0;
        self.broken[i] = false;
        self.body_unknown = false;
        self.scanned[i] = 0;
        if let Some(buf) = self.bufs.get_mut(i) {
            buf.clear();
        }
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
        x.push(side, bytes, Timestamp::from_nanos(0), MAX_HEAD, &mut |note| {
            if let HttpNote::Rejected(r) = note {
                rejections.push(r)
            }
        })
    }

    const H2C: &[u8] = b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n\
Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n";

    #[test]
    fn an_h2c_upgrade_hands_the_request_and_the_http2_bytes_over() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        assert!(matches!(push(&mut x, Side::Lo, H2C, &mut rej), HttpOutcome::Pending));
        // The preface sent right after the request is held, not parsed as a request head.
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        assert!(matches!(
            push(&mut x, Side::Lo, preface, &mut rej),
            HttpOutcome::Pending
        ));
        let settings = [0u8, 0, 0, 4, 0, 0, 0, 0, 0];
        let mut answer = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".to_vec();
        answer.extend_from_slice(&settings);
        match push(&mut x, Side::Hi, &answer, &mut rej) {
            HttpOutcome::UpgradedH2c(u) => {
                assert_eq!(u.request.as_ref().map(|r| r.path.as_str()), Some("/hello"));
                assert_eq!(u.server_rest, settings);
                assert_eq!(u.client_rest, preface);
            }
            other => panic!("{other:?}"),
        }
        assert!(rej.is_empty());
    }

    #[test]
    fn an_h2c_upgrade_answered_in_http1_goes_on_as_http1() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        assert!(matches!(push(&mut x, Side::Lo, H2C, &mut rej), HttpOutcome::Pending));
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        assert!(matches!(push(&mut x, Side::Hi, ok, &mut rej), HttpOutcome::Pending));
        // The next request is a WebSocket upgrade, as on any keep-alive connection.
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
        let mut long = b"GET / HTTP/1.1\r\n".to_vec();
        long.extend(std::iter::repeat_n(b'a', 100));
        let outcome = x.push(Side::Lo, &long, Timestamp::from_nanos(0), 64, &mut |_| {});
        assert!(matches!(outcome, HttpOutcome::GaveUp("request head too long")));
    }

    #[test]
    fn heads_one_byte_at_a_time_and_after_empty_lines_give_the_same_upgrade() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        let mut request = b"\r\n".to_vec();
        request.extend_from_slice(UPGRADE);
        for b in request.chunks(1) {
            assert!(matches!(push(&mut x, Side::Lo, b, &mut rej), HttpOutcome::Pending));
        }
        assert_eq!(x.waiting_upgrade_path(), Some("/chat"));
        for (k, b) in SWITCHING.chunks(1).enumerate() {
            let outcome = push(&mut x, Side::Hi, b, &mut rej);
            if k + 1 < SWITCHING.len() {
                assert!(matches!(outcome, HttpOutcome::Pending), "byte {k}");
                assert_eq!(x.unfinished_head(Side::Hi), Some((false, k + 1)));
            } else {
                assert!(matches!(outcome, HttpOutcome::Upgraded(ref u) if u.handshake.accept_valid() == Some(true)));
            }
        }
    }

    #[test]
    fn a_contradicted_content_length_is_noted_and_the_next_response_parsed() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut notes = Vec::new();
        let mut note = |n| notes.push(n);
        let ts = Timestamp::from_nanos(0);
        x.push(Side::Lo, b"GET / HTTP/1.1\r\n\r\n", ts, MAX_HEAD, &mut note);
        x.push(
            Side::Hi,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc",
            ts,
            MAX_HEAD,
            &mut note,
        );
        // A body segment that merely starts like a response, with no request waiting: body.
        x.push(Side::Hi, b"HTTP/1.1 is in the body", ts, MAX_HEAD, &mut note);
        x.push(Side::Lo, UPGRADE, ts, MAX_HEAD, &mut note);
        let outcome = x.push(Side::Hi, SWITCHING, ts, MAX_HEAD, &mut note);
        assert!(matches!(outcome, HttpOutcome::Upgraded(_)));
        assert_eq!(
            notes,
            vec![HttpNote::BodyLengthMismatch {
                status: 200,
                declared: 1000,
                seen: 26
            }]
        );
    }

    #[test]
    fn a_chunked_response_then_an_upgrade_on_the_same_connection_is_followed() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut rej = Vec::new();
        push(&mut x, Side::Lo, b"GET / HTTP/1.1\r\n\r\n", &mut rej);
        push(
            &mut x,
            Side::Hi,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            &mut rej,
        );
        push(&mut x, Side::Lo, UPGRADE, &mut rej);
        assert!(matches!(
            push(&mut x, Side::Hi, SWITCHING, &mut rej),
            HttpOutcome::Upgraded(_)
        ));
    }

    #[test]
    fn more_than_128_headers_are_parsed_and_noted() {
        let mut x = HttpExchange::new(Side::Lo);
        let mut notes = Vec::new();
        let mut request = UPGRADE[..UPGRADE.len() - 2].to_vec();
        for i in 0..150 {
            request.extend(format!("X-{i}: {i}\r\n").into_bytes());
        }
        request.extend_from_slice(b"\r\n");
        x.push(Side::Lo, &request, Timestamp::from_nanos(0), MAX_HEAD, &mut |n| {
            notes.push(n)
        });
        assert_eq!(
            notes,
            vec![HttpNote::TooManyHeaders {
                request: true,
                lines: 155
            }]
        );
        assert_eq!(x.waiting_upgrade_path(), Some("/chat"));
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
