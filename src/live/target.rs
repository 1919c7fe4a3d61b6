//! Checking a WebSocket URL before connecting, with messages that say exactly what is wrong.

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub secure: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, e.g. `/chat?room=1`.
    pub resource: String,
    /// The URL as it will be requested (without user name and password).
    pub url: String,
    /// A user name and password written in the URL (`ws://user:pass@host/`), sent as HTTP
    /// Basic authorization, as curl and browsers do.
    pub credentials: Option<Credentials>,
}

/// A user name and password from a URL, percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Never print the password, not even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

impl Target {
    /// The `Authorization` header value for the URL's credentials.
    pub fn basic_authorization(&self) -> Option<String> {
        use base64::Engine as _;
        self.credentials.as_ref().map(|c| {
            let pair = format!("{}:{}", c.user, c.password);
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        })
    }
}

/// The password written in a URL's authority, if any: its byte range in `text`.
fn password_span(text: &str) -> Option<std::ops::Range<usize>> {
    let after_scheme = text.find("://")? + 3;
    let rest = text.get(after_scheme..)?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_len)?;
    let at = authority.rfind('@')?;
    let colon = authority.get(..at)?.find(':')?;
    Some(after_scheme + colon + 1..after_scheme + at)
}

/// The URL text with its password (if it has one) shown as `***`: for titles, logs and
/// status lines.
pub fn hide_password(text: &str) -> String {
    match password_span(text) {
        Some(span) => format!(
            "{}***{}",
            text.get(..span.start).unwrap_or_default(),
            text.get(span.end..).unwrap_or_default()
        ),
        None => text.to_owned(),
    }
}

/// The URL text without its password (`user@host`): what a saved profile keeps.
pub fn drop_password(text: &str) -> String {
    match password_span(text) {
        // The span starts after the ':' that goes with it.
        Some(span) => format!(
            "{}{}",
            text.get(..span.start.saturating_sub(1)).unwrap_or_default(),
            text.get(span.end..).unwrap_or_default()
        ),
        None => text.to_owned(),
    }
}

pub fn parse_target(text: &str) -> Result<Target, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter a URL such as ws://localhost:8080/chat".to_owned());
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!("'{text}' has no scheme: start it with ws:// or wss://"));
    };
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "ws" => false,
        "wss" => true,
        "http" => return Err("the scheme is http://: WebSocket URLs use ws:// (or wss:// for TLS)".to_owned()),
        "https" => return Err("the scheme is https://: WebSocket URLs over TLS use wss://".to_owned()),
        other => return Err(format!("unknown scheme '{other}://': use ws:// or wss://")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_part = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_part.matches(':').count() > 1 && !host_part.starts_with('[') {
        return Err(format!(
            "'{host_part}' looks like an IPv6 address: put it in brackets, e.g. {scheme}://[{}]:8080/",
            host_part.rsplit_once(':').map_or(host_part, |(h, _)| h)
        ));
    }
    // Checked before parsing: URL rules would read `ws:///chat` as host "chat".
    if host_part.is_empty() || (host_part.starts_with(':') && host_part.matches(':').count() == 1) {
        return Err("the URL has no host".to_owned());
    }
    let url = url::Url::parse(text).map_err(|e| match e {
        url::ParseError::EmptyHost => "the URL has no host".to_owned(),
        url::ParseError::InvalidPort => "the port must be a number from 1 to 65535".to_owned(),
        url::ParseError::InvalidIpv6Address => "the IPv6 address in brackets is not valid".to_owned(),
        other => format!("not a valid URL: {other}"),
    })?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the URL has no host")?
        .to_owned();
    if url.fragment().is_some() {
        return Err("WebSocket URLs cannot have a #fragment (RFC 6455 §3)".to_owned());
    }
    let port = url.port().unwrap_or(if secure { 443 } else { 80 });
    if port == 0 {
        return Err("the port must be a number from 1 to 65535".to_owned());
    }
    let mut resource = url.path().to_owned();
    if resource.is_empty() {
        resource.push('/');
    }
    if let Some(q) = url.query() {
        resource.push('?');
        resource.push_str(q);
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| Credentials {
        user: decode(url.username()),
        password: decode(url.password().unwrap_or("")),
    });
    let mut url = url;
    // Never part of the request: the credentials go in the Authorization header.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(Target {
        secure,
        host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port,
        resource,
        url: url.to_string(),
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ws_and_wss_with_defaults() {
        let t = parse_target("ws://localhost:8080/chat?room=1").expect("valid");
        assert_eq!(
            (t.secure, t.host.as_str(), t.port, t.resource.as_str()),
            (false, "localhost", 8080, "/chat?room=1")
        );
        let t = parse_target("wss://example.test").expect("valid");
        assert_eq!((t.secure, t.port, t.resource.as_str()), (true, 443, "/"));
        let t = parse_target("ws://[::1]:9001/x").expect("valid");
        assert_eq!(t.host, "::1");
    }

    #[test]
    fn says_exactly_what_is_wrong() {
        let err = |s: &str| parse_target(s).expect_err(s);
        assert!(err("").contains("enter a URL"));
        assert!(err("localhost:8080").contains("no scheme"));
        assert!(err("http://example.test/").contains("use ws://"));
        assert!(err("https://example.test/").contains("wss://"));
        assert!(err("ftp://example.test/").contains("unknown scheme"));
        assert!(err("ws://::1:8080/").contains("brackets"));
        assert!(err("ws://localhost:99999/").contains("1 to 65535"));
        assert!(err("ws://localhost:0/").contains("1 to 65535"));
        assert!(err("ws:///chat").contains("no host"));
        assert!(err("ws://localhost/#top").contains("#fragment"));
    }

    #[test]
    fn credentials_in_the_url_become_basic_authorization_and_leave_the_url() {
        let t = parse_target("ws://alice:s%40cret@example.test:8080/feed?x=1").expect("valid");
        let c = t.credentials.as_ref().expect("credentials");
        assert_eq!((c.user.as_str(), c.password.as_str()), ("alice", "s@cret"));
        assert_eq!(t.url, "ws://example.test:8080/feed?x=1");
        // base64("alice:s@cret")
        assert_eq!(t.basic_authorization().as_deref(), Some("Basic YWxpY2U6c0BjcmV0"));
        assert!(!format!("{t:?}").contains("s@cret") && !format!("{t:?}").contains("s%40cret"));
        assert_eq!(
            parse_target("ws://example.test/").expect("valid").basic_authorization(),
            None
        );

        assert_eq!(hide_password("ws://alice:s%40cret@h:1/p@q"), "ws://alice:***@h:1/p@q");
        assert_eq!(drop_password("ws://alice:s%40cret@h:1/p"), "ws://alice@h:1/p");
        assert_eq!(hide_password("ws://alice@h/"), "ws://alice@h/");
        assert_eq!(drop_password("ws://h/a:b@c"), "ws://h/a:b@c");
        assert_eq!(hide_password("not a url"), "not a url");
    }
}
