//! Close status codes: names for the IANA registry and the RFC 6455 §7.4 wire rules.

/// The registry name of a close code, or the name of its range.
pub fn close_code_name(code: u16) -> &'static str {
    match code {
        1000 => "Normal Closure",
        1001 => "Going Away",
        1002 => "Protocol Error",
        1003 => "Unsupported Data",
        1004 => "Reserved",
        1005 => "No Status Received",
        1006 => "Abnormal Closure",
        1007 => "Invalid Frame Payload Data",
        1008 => "Policy Violation",
        1009 => "Message Too Big",
        1010 => "Mandatory Extension",
        1011 => "Internal Error",
        1012 => "Service Restart",
        1013 => "Try Again Later",
        1014 => "Bad Gateway",
        1015 => "TLS Handshake",
        3000 => "Unauthorized",
        3003 => "Forbidden",
        3008 => "Timeout",
        0..=999 => "Unused",
        1016..=2999 => "Reserved for future RFCs",
        3001..=3999 => "Registered (libraries and frameworks)",
        4000..=4999 => "Private use",
        _ => "Undefined",
    }
}

/// A close as people read it: "1008 Policy Violation: too many requests", "4000 Private
/// use", or "(no status code)".
pub fn describe_close(code: Option<u16>, reason: &str) -> String {
    match (code, reason.is_empty()) {
        (None, _) => "(no status code)".to_owned(),
        (Some(code), true) => format!("{code} {}", close_code_name(code)),
        (Some(code), false) => format!("{code} {}: {reason}", close_code_name(code)),
    }
}

/// What a close code means, for reference tables.
pub fn close_code_description(code: u16) -> &'static str {
    match code {
        1000 => "the purpose of the connection was fulfilled",
        1001 => "an endpoint is going away: a server shutting down, a browser leaving the page",
        1002 => "the peer broke the protocol",
        1003 => "the peer sent a kind of data this endpoint cannot accept (e.g. binary to a text-only endpoint)",
        1004 => "reserved; no meaning defined",
        1005 => "no status code was present; reported locally, MUST NOT be sent",
        1006 => "the connection closed without a close frame; reported locally, MUST NOT be sent",
        1007 => "a message's data was inconsistent with its type (e.g. invalid UTF-8 in a text message)",
        1008 => "a message violated the endpoint's policy",
        1009 => "a message was too big to process",
        1010 => "the client expected an extension the server did not negotiate",
        1011 => "the server met an unexpected condition",
        1012 => "the service is restarting",
        1013 => "try again later (temporary overload)",
        1014 => "a gateway or proxy got an invalid response from upstream",
        1015 => "the TLS handshake failed; reported locally, MUST NOT be sent",
        3000 => "the request lacked valid authentication",
        3003 => "authenticated, but not allowed",
        3008 => "a timeout elapsed",
        0..=999 => "not used",
        1016..=2999 => "reserved for future RFCs and extensions",
        3001..=3999 => "registered with IANA by libraries and frameworks",
        4000..=4999 => "for private use by applications; no registration",
        _ => "outside every range; invalid",
    }
}

/// True when an endpoint may send this code in a close frame (RFC 6455 §7.4.1/§7.4.2).
///
/// 1005, 1006 and 1015 are reserved for reporting locally and MUST NOT be sent.
pub fn close_code_allowed_on_wire(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Every code with a registry entry of its own, for reference tables and pickers.
pub const REGISTERED_CLOSE_CODES: &[u16] = &[
    1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 3000, 3003, 3008,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_registered_codes_and_ranges() {
        assert_eq!(close_code_name(1000), "Normal Closure");
        assert_eq!(close_code_name(1009), "Message Too Big");
        assert_eq!(close_code_name(1014), "Bad Gateway");
        assert_eq!(close_code_name(3008), "Timeout");
        assert_eq!(close_code_name(3500), "Registered (libraries and frameworks)");
        assert_eq!(close_code_name(4321), "Private use");
        assert_eq!(close_code_name(2000), "Reserved for future RFCs");
        assert_eq!(close_code_name(999), "Unused");
        assert_eq!(close_code_name(5000), "Undefined");
    }

    #[test]
    fn forbids_local_only_and_unassigned_codes_on_the_wire() {
        for ok in [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(close_code_allowed_on_wire(ok), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!close_code_allowed_on_wire(bad), "{bad}");
        }
    }
}
