//! The WebSocket opening handshake: what was offered, what was accepted, and the accept check.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::analysis::http::extensions::{DeflateParams, Extension};
use crate::analysis::http::head::{RequestHead, ResponseHead, header_has_token, header_list};
use crate::analysis::time::Timestamp;

/// The GUID every server appends to the client's key (RFC 6455 §1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `base64(SHA-1(key + GUID))`: the Sec-WebSocket-Accept a server must send for `key`.
pub fn expected_accept(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(WEBSOCKET_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Each step from Sec-WebSocket-Key to Sec-WebSocket-Accept, for the handshake walkthrough.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptSteps {
    pub key: String,
    pub key_and_guid: String,
    pub sha1_hex: String,
    pub accept: String,
}

pub fn accept_steps(key: &str) -> AcceptSteps {
    let key = key.trim().to_owned();
    let key_and_guid = format!("{key}{WEBSOCKET_GUID}");
    let digest = Sha1::digest(key_and_guid.as_bytes());
    AcceptSteps {
        sha1_hex: digest.iter().map(|b| format!("{b:02x}")).collect(),
        accept: base64::engine::general_purpose::STANDARD.encode(digest),
        key,
        key_and_guid,
    }
}

/// A request/response pair that upgraded (or tried to upgrade) a connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Handshake {
    /// `None` when only the response was captured.
    pub request: Option<RequestHead>,
    pub response: ResponseHead,
    pub request_ts: Option<Timestamp>,
    pub response_ts: Timestamp,
    pub key: Option<String>,
    pub accept: Option<String>,
    pub offered_subprotocols: Vec<String>,
    pub subprotocol: Option<String>,
    pub offered_extensions: Vec<Extension>,
    pub extensions: Vec<Extension>,
    /// An RFC 8441 extended CONNECT on an HTTP/2 stream: the heads hold the decoded header
    /// lists (pseudo-headers first, as sent), there is no key and no accept.
    pub http2: bool,
}

/// Which rule of RFC 6455 §4 a checklist line is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckId {
    RequestMethod,
    RequestVersion,
    RequestHost,
    RequestUpgrade,
    RequestConnection,
    RequestKey,
    RequestWebSocketVersion,
    /// RFC 8441 §4: an extended CONNECT names the protocol in `:protocol`.
    RequestProtocol,
    ResponseStatus,
    ResponseUpgrade,
    ResponseConnection,
    Accept,
    SubprotocolOffered,
    ExtensionOffered,
}

impl CheckId {
    /// The rule in words, as the checklist shows it.
    pub fn rule(self) -> &'static str {
        match self {
            CheckId::RequestMethod => "request method is GET",
            CheckId::RequestVersion => "request is HTTP/1.1 or later",
            CheckId::RequestHost => "request has Host",
            CheckId::RequestUpgrade => "request Upgrade: websocket",
            CheckId::RequestConnection => "request Connection: Upgrade",
            CheckId::RequestKey => "Sec-WebSocket-Key is 16 random bytes in base64",
            CheckId::RequestWebSocketVersion => "Sec-WebSocket-Version: 13",
            CheckId::RequestProtocol => "request :protocol is websocket (RFC 8441)",
            CheckId::ResponseStatus => "response status 101",
            CheckId::ResponseUpgrade => "response Upgrade: websocket",
            CheckId::ResponseConnection => "response Connection: Upgrade",
            CheckId::Accept => "Sec-WebSocket-Accept = base64(SHA-1(key + GUID))",
            CheckId::SubprotocolOffered => "selected subprotocol was offered",
            CheckId::ExtensionOffered => "accepted extension was offered",
        }
    }

    /// True for rules the server's response breaks (else the client's request does).
    pub fn is_about_response(self) -> bool {
        matches!(
            self,
            CheckId::ResponseStatus
                | CheckId::ResponseUpgrade
                | CheckId::ResponseConnection
                | CheckId::Accept
                | CheckId::SubprotocolOffered
                | CheckId::ExtensionOffered
        )
    }
}

/// One line of the handshake checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeCheck {
    pub id: CheckId,
    /// `id.rule()`: the rule in words.
    pub rule: &'static str,
    pub passed: bool,
    pub detail: String,
}

impl Handshake {
    pub fn new(
        request: Option<RequestHead>,
        request_ts: Option<Timestamp>,
        response: ResponseHead,
        response_ts: Timestamp,
    ) -> Handshake {
        let req_headers: &[(String, String)] = request.as_ref().map_or(&[], |r| &r.headers);
        Handshake {
            key: request
                .as_ref()
                .and_then(|r| r.header("sec-websocket-key"))
                .map(str::to_owned),
            accept: response.header("sec-websocket-accept").map(str::to_owned),
            offered_subprotocols: header_list(req_headers, "sec-websocket-protocol")
                .map(str::to_owned)
                .collect(),
            subprotocol: response
                .header("sec-websocket-protocol")
                .map(str::to_owned)
                .filter(|s| !s.is_empty()),
            offered_extensions: Extension::parse_list(
                req_headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
                    .map(|(_, v)| v.as_str()),
            ),
            extensions: Extension::parse_list(
                response
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
                    .map(|(_, v)| v.as_str()),
            ),
            request,
            request_ts,
            response,
            response_ts,
            http2: false,
        }
    }

    /// An RFC 8441 stream's handshake: the CONNECT request's and the response's header
    /// lists as HPACK decoded them.
    pub fn http2(
        request: RequestHead,
        request_ts: Timestamp,
        response: ResponseHead,
        response_ts: Timestamp,
    ) -> Handshake {
        let mut hs = Handshake::new(Some(request), Some(request_ts), response, response_ts);
        hs.http2 = true;
        hs
    }

    /// "2" for an HTTP/2 stream, else the HTTP/1.x version of the request (or response).
    pub fn http_version(&self) -> &'static str {
        let minor = match &self.request {
            Some(r) => r.version_minor,
            None => self.response.version_minor,
        };
        match (self.http2, minor) {
            (true, _) => "2",
            (false, 0) => "1.0",
            (false, _) => "1.1",
        }
    }

    pub fn path(&self) -> Option<&str> {
        self.request.as_ref().map(|r| r.path.as_str())
    }

    pub fn expected_accept(&self) -> Option<String> {
        self.key.as_deref().map(expected_accept)
    }

    /// `Some(true)` when the accept matches the key; `None` when either is missing.
    pub fn accept_valid(&self) -> Option<bool> {
        let expected = self.expected_accept()?;
        let accept = self.accept.as_deref()?;
        Some(accept.trim() == expected)
    }

    /// The accepted permessage-deflate parameters, if compression was agreed.
    pub fn deflate(&self) -> Option<DeflateParams> {
        DeflateParams::from_accepted(&self.extensions)
    }

    /// Every RFC 6455 §4 requirement on the two heads, passing or failing.
    pub fn checks(&self) -> Vec<HandshakeCheck> {
        if self.http2 {
            return self.http2_checks();
        }
        let mut checks = Vec::new();
        let mut check = |id: CheckId, passed: bool, detail: String| {
            checks.push(HandshakeCheck {
                id,
                rule: id.rule(),
                passed,
                detail,
            })
        };
        if let Some(req) = &self.request {
            check(CheckId::RequestMethod, req.method == "GET", req.method.clone());
            check(
                CheckId::RequestVersion,
                req.version_minor >= 1,
                format!("HTTP/1.{}", req.version_minor),
            );
            check(CheckId::RequestHost, req.header("host").is_some(), String::new());
            check(
                CheckId::RequestUpgrade,
                header_has_token(&req.headers, "upgrade", "websocket"),
                req.header("upgrade").unwrap_or("(missing)").to_owned(),
            );
            check(
                CheckId::RequestConnection,
                header_has_token(&req.headers, "connection", "upgrade"),
                req.header("connection").unwrap_or("(missing)").to_owned(),
            );
            let key_ok = self.key.as_deref().is_some_and(|k| {
                base64::engine::general_purpose::STANDARD
                    .decode(k.trim())
                    .is_ok_and(|raw| raw.len() == 16)
            });
            check(
                CheckId::RequestKey,
                key_ok,
                self.key.clone().unwrap_or_else(|| "(missing)".to_owned()),
            );
            let version = req.header("sec-websocket-version").unwrap_or("(missing)");
            check(CheckId::RequestWebSocketVersion, version == "13", version.to_owned());
        }
        check(
            CheckId::ResponseStatus,
            self.response.status == 101,
            format!("{} {}", self.response.status, self.response.reason),
        );
        check(
            CheckId::ResponseUpgrade,
            header_has_token(&self.response.headers, "upgrade", "websocket"),
            self.response.header("upgrade").unwrap_or("(missing)").to_owned(),
        );
        check(
            CheckId::ResponseConnection,
            header_has_token(&self.response.headers, "connection", "upgrade"),
            self.response.header("connection").unwrap_or("(missing)").to_owned(),
        );
        if self.request.is_some() {
            let expected = self.expected_accept().unwrap_or_default();
            check(
                CheckId::Accept,
                self.accept_valid() == Some(true),
                format!(
                    "got {}, expected {expected}",
                    self.accept.as_deref().unwrap_or("(missing)")
                ),
            );
            if let Some(chosen) = &self.subprotocol {
                check(
                    CheckId::SubprotocolOffered,
                    self.offered_subprotocols.iter().any(|o| o == chosen),
                    chosen.clone(),
                );
            }
            for ext in &self.extensions {
                check(
                    CheckId::ExtensionOffered,
                    self.offered_extensions
                        .iter()
                        .any(|o| o.name.eq_ignore_ascii_case(&ext.name)),
                    ext.name.clone(),
                );
            }
        }
        checks
    }

    /// RFC 8441 §4-5 on an HTTP/2 stream: CONNECT with `:protocol websocket`,
    /// `sec-websocket-version: 13`, a 2xx answer, and only offered choices.
    fn http2_checks(&self) -> Vec<HandshakeCheck> {
        let mut checks = Vec::new();
        let mut check = |id: CheckId, rule: &'static str, passed: bool, detail: String| {
            checks.push(HandshakeCheck {
                id,
                rule,
                passed,
                detail,
            })
        };
        if let Some(req) = &self.request {
            let method = req.header(":method").unwrap_or("(missing)");
            check(
                CheckId::RequestMethod,
                "request :method is CONNECT",
                method == "CONNECT",
                method.to_owned(),
            );
            let protocol = req.header(":protocol").unwrap_or("(missing)");
            check(
                CheckId::RequestProtocol,
                CheckId::RequestProtocol.rule(),
                protocol.eq_ignore_ascii_case("websocket"),
                protocol.to_owned(),
            );
            let version = req.header("sec-websocket-version").unwrap_or("(missing)");
            check(
                CheckId::RequestWebSocketVersion,
                CheckId::RequestWebSocketVersion.rule(),
                version == "13",
                version.to_owned(),
            );
        }
        let status = self.response.status;
        check(
            CheckId::ResponseStatus,
            "response :status is 2xx",
            (200..300).contains(&status),
            status.to_string(),
        );
        if let Some(chosen) = &self.subprotocol {
            check(
                CheckId::SubprotocolOffered,
                CheckId::SubprotocolOffered.rule(),
                self.offered_subprotocols.iter().any(|o| o == chosen),
                chosen.clone(),
            );
        }
        for ext in &self.extensions {
            check(
                CheckId::ExtensionOffered,
                CheckId::ExtensionOffered.rule(),
                self.offered_extensions
                    .iter()
                    .any(|o| o.name.eq_ignore_ascii_case(&ext.name)),
                ext.name.clone(),
            );
        }
        checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::http::head::HeadParse;

    #[test]
    fn walks_through_the_rfc_6455_sample_key() {
        let s = accept_steps("dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            s.key_and_guid,
            "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        );
        assert_eq!(s.sha1_hex, "b37a4f2cc0624f1690f64606cf385945b2bec4ea");
        assert_eq!(s.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn computes_the_rfc_6455_sample_accept() {
        assert_eq!(
            expected_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn head<T>(p: HeadParse<T>) -> T {
        match p {
            HeadParse::Complete(h, _) => h,
            other => panic!("not complete: {}", matches!(other, HeadParse::Partial)),
        }
    }

    #[test]
    fn records_offers_choices_and_checks() {
        let req = head(RequestHead::parse(
            b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ));
        let resp = head(ResponseHead::parse(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12\r\n\r\n",
        ));
        let hs = Handshake::new(Some(req), None, resp, Timestamp::ZERO);
        assert_eq!(hs.accept_valid(), Some(true));
        assert_eq!(hs.offered_subprotocols, vec!["chat", "superchat"]);
        assert_eq!(hs.subprotocol.as_deref(), Some("chat"));
        assert_eq!(
            hs.extensions[0].to_string(),
            "permessage-deflate; client_max_window_bits=12"
        );
        assert_eq!(hs.deflate().and_then(|d| d.client_max_window_bits), Some(12));
        let failed: Vec<_> = hs.checks().into_iter().filter(|c| !c.passed).collect();
        assert!(failed.is_empty(), "{failed:?}");
    }
}
