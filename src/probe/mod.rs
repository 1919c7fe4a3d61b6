//! `framescope probe`: an RFC 6455 / 7692 conformance probe of a server (Autobahn's case
//! categories and ids where a case is theirs, plus framescope's handshake and security cases),
//! and `probe --serve`, its mirror image for clients.
//!
//! Frames are built with the engine's frame builder and written on framescope's own TCP/TLS
//! stream (`wire`), the server's bytes are decoded by the engine's `StreamDecoder`, cases are
//! scripts judged with Autobahn's rules (`script`), the catalogue is in `cases`, the runner in
//! `run`, reports in `report`, and the client tester in `serve`.

pub mod cases;
pub mod report;
pub mod run;
pub mod script;
pub mod serve;
pub mod wire;

use serde::Serialize;

/// The case groups, numbered as Autobahn numbers them (`h` is framescope's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Framing,
    PingPong,
    ReservedBits,
    Opcodes,
    Fragmentation,
    Utf8,
    Close,
    Limits,
    Misc,
    Deflate,
    Handshake,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Framing => "1 framing",
            Category::PingPong => "2 ping/pong",
            Category::ReservedBits => "3 reserved bits",
            Category::Opcodes => "4 opcodes",
            Category::Fragmentation => "5 fragmentation",
            Category::Utf8 => "6 UTF-8 handling",
            Category::Close => "7 close handling",
            Category::Limits => "9 limits/performance",
            Category::Misc => "10 misc",
            Category::Deflate => "12/13 permessage-deflate",
            Category::Handshake => "h handshake/security",
        }
    }
}

/// Autobahn's verdict on the events a case saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    Ok,
    NonStrict,
    Informational,
    Unimplemented,
    Failed,
}

/// Autobahn's verdict on how the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseBehavior {
    Ok,
    /// The wrong endpoint started the closing (the server did not fail a connection it had
    /// to fail, or failed one it had to keep).
    Failed,
    Unclean,
    WrongCode,
    /// The probe had to drop TCP (the server did not).
    FailedByClient,
    Informational,
}

/// One case's verdict in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    NonStrict,
    Info,
    Unimplemented,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::NonStrict => "non-strict",
            Verdict::Info => "info",
            Verdict::Unimplemented => "unimplemented",
            Verdict::Fail => "fail",
        }
    }
}

/// Autobahn's two columns made one verdict. The events' behaviour decides, as in Autobahn's
/// overview table; the closing adds: the wrong endpoint closing fails any case (it is how a
/// server that ignores a broken frame shows), an unclean closing fails only category 7
/// (close handling is its topic; elsewhere it is noted in the detail), a wrong code is
/// non-strict outside category 7 (where the case itself fails on it).
pub fn verdict(category: Category, behavior: Behavior, close: CloseBehavior) -> Verdict {
    let base = match behavior {
        Behavior::Ok => Verdict::Pass,
        Behavior::NonStrict => Verdict::NonStrict,
        Behavior::Informational => Verdict::Info,
        Behavior::Unimplemented => Verdict::Unimplemented,
        Behavior::Failed => Verdict::Fail,
    };
    if matches!(base, Verdict::Fail | Verdict::Info | Verdict::Unimplemented) {
        return base;
    }
    match close {
        CloseBehavior::Failed => Verdict::Fail,
        CloseBehavior::Unclean if category == Category::Close => Verdict::Fail,
        CloseBehavior::WrongCode if base == Verdict::Pass => Verdict::NonStrict,
        _ => base,
    }
}

/// One row of the report.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub category: String,
    pub description: String,
    pub verdict: Verdict,
    /// The close code the server sent, if it sent a close frame with one.
    pub close_code: Option<u16>,
    pub detail: String,
    /// Autobahn's behaviour columns (for comparing with kosoku), not in the JSON report.
    #[serde(skip)]
    pub behavior: Option<(Behavior, CloseBehavior)>,
    #[serde(skip)]
    pub millis: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_counts_where_it_is_the_topic() {
        use Behavior as B;
        use CloseBehavior as C;
        assert_eq!(verdict(Category::Framing, B::Ok, C::Ok), Verdict::Pass);
        // A server that ignored a reserved opcode: no events (OK) but we had to close.
        assert_eq!(verdict(Category::Opcodes, B::Ok, C::Failed), Verdict::Fail);
        // A server that drops TCP instead of answering our close: only category 7 fails.
        assert_eq!(verdict(Category::Framing, B::Ok, C::Unclean), Verdict::Pass);
        assert_eq!(verdict(Category::Close, B::Ok, C::Unclean), Verdict::Fail);
        assert_eq!(
            verdict(Category::Fragmentation, B::Ok, C::WrongCode),
            Verdict::NonStrict
        );
        assert_eq!(verdict(Category::Utf8, B::NonStrict, C::Ok), Verdict::NonStrict);
        assert_eq!(verdict(Category::Close, B::Informational, C::Failed), Verdict::Info);
        assert_eq!(serde_json::to_string(&Verdict::NonStrict).unwrap(), "\"non-strict\"");
    }
}
