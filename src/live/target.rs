//! Checking a WebSocket URL before connecting, with messages that say exactly what is wrong.

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub secure: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, e.g. `/chat?room=1`.
    pub resource: String,
    /// The URL as it will be requested.
    pub url: String,
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
    Ok(Target {
        secure,
        host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port,
        resource,
        url: url.to_string(),
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
}
