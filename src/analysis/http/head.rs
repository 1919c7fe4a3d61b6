//! Parsing HTTP/1.x request and response heads (with httparse) into owned values.

/// Headers a head is expected to carry at most. A head with more is still parsed (with
/// room for one header per line it has) and its reader reports `http-too-many-headers`.
pub const MAX_HEADERS: usize = 128;

/// Room for every header line of `buf` (each header takes a line), for heads with more
/// than `MAX_HEADERS`.
fn header_room(buf: &[u8]) -> Vec<httparse::Header<'static>> {
    let lines = buf.iter().filter(|b| **b == b'\n').count();
    vec![httparse::EMPTY_HEADER; lines + 1]
}

/// An HTTP request line and its headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub path: String,
    /// Minor version: 1 for HTTP/1.1.
    pub version_minor: u8,
    pub headers: Vec<(String, String)>,
}

/// An HTTP status line and its headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub version_minor: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

/// Result of trying to parse a head from the start of a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadParse<T> {
    /// A whole head, and how many bytes it took (including the blank line).
    Complete(T, usize),
    /// Need more bytes; nothing consumed.
    Partial,
    /// Not an HTTP head.
    Invalid(String),
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).trim().to_owned()))
        .collect()
}

impl RequestHead {
    pub fn parse(buf: &[u8]) -> HeadParse<RequestHead> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match Self::parse_with(buf, &mut headers) {
            HeadParse::Invalid(e) if e == httparse::Error::TooManyHeaders.to_string() => {
                Self::parse_with(buf, &mut header_room(buf))
            }
            other => other,
        }
    }

    fn parse_with<'b>(buf: &'b [u8], headers: &mut [httparse::Header<'b>]) -> HeadParse<RequestHead> {
        let mut req = httparse::Request::new(headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(len)) => HeadParse::Complete(
                RequestHead {
                    method: req.method.unwrap_or_default().to_owned(),
                    path: req.path.unwrap_or_default().to_owned(),
                    version_minor: req.version.unwrap_or(1),
                    headers: owned_headers(req.headers),
                },
                len,
            ),
            Ok(httparse::Status::Partial) => HeadParse::Partial,
            Err(err) => HeadParse::Invalid(err.to_string()),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

impl ResponseHead {
    pub fn parse(buf: &[u8]) -> HeadParse<ResponseHead> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match Self::parse_with(buf, &mut headers) {
            HeadParse::Invalid(e) if e == httparse::Error::TooManyHeaders.to_string() => {
                Self::parse_with(buf, &mut header_room(buf))
            }
            other => other,
        }
    }

    fn parse_with<'b>(buf: &'b [u8], headers: &mut [httparse::Header<'b>]) -> HeadParse<ResponseHead> {
        let mut resp = httparse::Response::new(headers);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(len)) => HeadParse::Complete(
                ResponseHead {
                    version_minor: resp.version.unwrap_or(1),
                    status: resp.code.unwrap_or(0),
                    reason: resp.reason.unwrap_or_default().to_owned(),
                    headers: owned_headers(resp.headers),
                },
                len,
            ),
            Ok(httparse::Status::Partial) => HeadParse::Partial,
            Err(err) => HeadParse::Invalid(err.to_string()),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// The first value of a header, by case-insensitive name.
pub fn header_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every comma-separated element of every header with this name, trimmed, in order.
pub fn header_list<'h>(headers: &'h [(String, String)], name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// True if any comma-separated token of the header equals `token` (case-insensitive).
pub fn header_has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    header_list(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// How the body after a head is delimited, for skipping non-upgrade exchanges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    Bytes(u64),
    Chunked,
    /// Until the connection closes (a response without a length).
    UntilClose,
}

/// Body length of a request (RFC 9112 §6.3): requests without a length have no body.
pub fn request_body_length(head: &RequestHead) -> BodyLength {
    body_length(&head.headers).unwrap_or(BodyLength::Bytes(0))
}

/// Body length of a response to a request with `request_method`.
pub fn response_body_length(head: &ResponseHead, request_method: Option<&str>) -> BodyLength {
    if request_method.is_some_and(|m| m.eq_ignore_ascii_case("HEAD"))
        || (100..200).contains(&head.status)
        || head.status == 204
        || head.status == 304
    {
        return BodyLength::Bytes(0);
    }
    body_length(&head.headers).unwrap_or(BodyLength::UntilClose)
}

fn body_length(headers: &[(String, String)]) -> Option<BodyLength> {
    if header_has_token(headers, "transfer-encoding", "chunked") {
        return Some(BodyLength::Chunked);
    }
    header_value(headers, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(BodyLength::Bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_in_pieces() {
        let raw =
            b"GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\nrest";
        for cut in 0..raw.len() - 4 {
            assert_eq!(RequestHead::parse(&raw[..cut]), HeadParse::Partial, "cut {cut}");
        }
        match RequestHead::parse(raw) {
            HeadParse::Complete(head, len) => {
                assert_eq!(len, raw.len() - 4);
                assert_eq!(head.method, "GET");
                assert_eq!(head.path, "/chat?x=1");
                assert_eq!(head.header("UPGRADE"), Some("websocket"));
                assert!(header_has_token(&head.headers, "connection", "upgrade"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_bytes_that_are_not_http() {
        assert!(matches!(
            RequestHead::parse(b"\x16\x03\x01\x02\x00"),
            HeadParse::Invalid(_)
        ));
        assert!(matches!(
            ResponseHead::parse(b"SSH-2.0-OpenSSH\r\n"),
            HeadParse::Invalid(_)
        ));
    }

    #[test]
    fn works_out_body_lengths() {
        let resp = match ResponseHead::parse(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\n\r\n") {
            HeadParse::Complete(h, _) => h,
            other => panic!("{other:?}"),
        };
        assert_eq!(response_body_length(&resp, Some("GET")), BodyLength::Bytes(12));
        assert_eq!(response_body_length(&resp, Some("HEAD")), BodyLength::Bytes(0));
        let chunked = match ResponseHead::parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") {
            HeadParse::Complete(h, _) => h,
            other => panic!("{other:?}"),
        };
        assert_eq!(response_body_length(&chunked, None), BodyLength::Chunked);
    }
}
