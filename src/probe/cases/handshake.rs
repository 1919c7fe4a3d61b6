//! framescope's handshake and security cases (`h.*`, not Autobahn's): what a server does
//! with a broken opening handshake, a foreign Origin (cross-site WebSocket hijacking), huge
//! headers and many connections from one client.

use crate::probe::Category;
use crate::probe::cases::{Body, Case};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// A correct request: 101 with the right Sec-WebSocket-Accept.
    Baseline,
    /// The request with these changes must not be upgraded.
    MustRefuse(Change),
    /// A foreign Origin: accepted is `info` (fine for a public API, a hijacking risk when it
    /// relies on cookies), refused is `pass`.
    ForeignOrigin,
    /// A header block of this many KiB: refusing it (431/400/closing) passes, accepting it is
    /// `non-strict` (a memory-exhaustion risk).
    HugeHeaders(usize),
    /// This many connections at once from one address: how many were accepted (`info`).
    ManyConnections(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    NoVersion,
    WrongVersion,
    NoKey,
    BadKey,
    NoUpgrade,
    Post,
    Http10,
}

fn h(id: &str, description: &str, check: Check) -> Case {
    Case {
        id: id.to_owned(),
        category: Category::Handshake,
        description: description.to_owned(),
        slow: false,
        body: Body::Handshake(check),
    }
}

/// The cases: id, description, check.
const CASES: [(&str, &str, Check); 11] = {
    use Change::*;
    use Check::*;
    [
        (
            "h.1",
            "a correct opening handshake: 101 and the right Sec-WebSocket-Accept",
            Baseline,
        ),
        (
            "h.2",
            "no Sec-WebSocket-Version: must be refused (400 or 426)",
            MustRefuse(NoVersion),
        ),
        (
            "h.3",
            "Sec-WebSocket-Version: 99 (no such version; 8 is hybi-08, which some servers still speak): must be refused, ideally 426 naming 13",
            MustRefuse(WrongVersion),
        ),
        ("h.4", "no Sec-WebSocket-Key: must be refused (400)", MustRefuse(NoKey)),
        (
            "h.5",
            "a Sec-WebSocket-Key that is not 16 base64-encoded bytes: should be refused",
            MustRefuse(BadKey),
        ),
        ("h.6", "no Upgrade header: must not be upgraded", MustRefuse(NoUpgrade)),
        ("h.7", "POST instead of GET: must not be upgraded", MustRefuse(Post)),
        (
            "h.8",
            "HTTP/1.0 request: RFC 6455 needs HTTP/1.1, should not be upgraded",
            MustRefuse(Http10),
        ),
        (
            "h.9",
            "Origin: https://attacker.example (cross-site WebSocket hijacking check)",
            ForeignOrigin,
        ),
        ("h.10", "a 256 KiB request header block", HugeHeaders(256)),
        (
            "h.11",
            "50 connections at once from one client address",
            ManyConnections(50),
        ),
    ]
};

pub fn cases() -> Vec<Case> {
    CASES
        .iter()
        .map(|(id, description, check)| h(id, description, check.clone()))
        .collect()
}
