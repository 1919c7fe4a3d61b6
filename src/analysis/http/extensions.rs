//! `Sec-WebSocket-Extensions` values (RFC 6455 §9.1) and permessage-deflate parameters (RFC 7692 §7.1).

use std::fmt;

/// One extension with its parameters, in the order they were written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub params: Vec<(String, Option<String>)>,
}

impl fmt::Display for Extension {
    /// Writes the extension as it would appear in a header: `name; k=v; flag`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (key, value) in &self.params {
            match value {
                Some(v) => write!(f, "; {key}={v}")?,
                None => write!(f, "; {key}")?,
            }
        }
        Ok(())
    }
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

impl Extension {
    /// Parses every extension of one or more header values.
    pub fn parse_list<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Extension> {
        let mut out = Vec::new();
        for value in values {
            for element in split_unquoted(value, ',') {
                let mut pieces = split_unquoted(element, ';').into_iter().map(str::trim);
                let Some(name) = pieces.next().filter(|n| !n.is_empty()) else {
                    continue;
                };
                let params = pieces
                    .filter(|p| !p.is_empty())
                    .map(|p| match p.split_once('=') {
                        Some((k, v)) => (k.trim().to_owned(), Some(v.trim().trim_matches('"').to_owned())),
                        None => (p.to_owned(), None),
                    })
                    .collect();
                out.push(Extension {
                    name: name.to_owned(),
                    params,
                });
            }
        }
        out
    }

    pub fn param(&self, key: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_deref())
    }
}

/// What a permessage-deflate agreement means for each direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// The parameters of the accepted `permessage-deflate`, if the server accepted it.
    pub fn from_accepted(accepted: &[Extension]) -> Option<DeflateParams> {
        let ext = accepted
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case("permessage-deflate"))?;
        let bits = |key: &str| ext.param(key).flatten().and_then(|v| v.parse::<u8>().ok());
        Some(DeflateParams {
            server_no_context_takeover: ext.param("server_no_context_takeover").is_some(),
            client_no_context_takeover: ext.param("client_no_context_takeover").is_some(),
            server_max_window_bits: bits("server_max_window_bits"),
            client_max_window_bits: bits("client_max_window_bits"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offers_with_parameters() {
        let exts = Extension::parse_list([
            "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\"",
            "x-webkit-deflate-frame",
        ]);
        assert_eq!(exts.len(), 3);
        assert_eq!(exts[0].to_string(), "permessage-deflate; client_max_window_bits");
        assert_eq!(exts[1].param("server_max_window_bits"), Some(Some("10")));
        assert_eq!(exts[2].name, "x-webkit-deflate-frame");
    }

    #[test]
    fn reads_deflate_params_from_the_accepted_extension() {
        let accepted =
            Extension::parse_list(["permessage-deflate; server_no_context_takeover; client_max_window_bits=12"]);
        let p = DeflateParams::from_accepted(&accepted).expect("accepted");
        assert!(p.server_no_context_takeover);
        assert!(!p.client_no_context_takeover);
        assert_eq!(p.client_max_window_bits, Some(12));
        assert_eq!(p.server_max_window_bits, None);
        assert_eq!(DeflateParams::from_accepted(&[]), None);
    }
}
