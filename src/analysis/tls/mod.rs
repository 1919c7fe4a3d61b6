//! TLS below HTTP: key logs, the record layer, handshake fields, the key schedule and
//! record decryption, tied together by [`TlsSession`] for one connection.

pub mod cbc_record;
pub mod crypto;
pub mod handshake;
pub mod keylog;
pub mod mid_search;
pub mod record;
pub mod session;
pub mod suites;

pub use keylog::KeyLog;
pub use session::{EarlyData, TlsFacts, TlsLimits, TlsOutput, TlsProblem, TlsSession};

/// True when `bytes` (a flow's first client bytes) start like a TLS handshake record
/// carrying a ClientHello: type 22, version 3.x, a sane length, handshake type 1.
pub fn looks_like_client_hello(bytes: &[u8]) -> bool {
    match bytes {
        [22, 3, minor, l0, l1, rest @ ..] => {
            let len = usize::from(u16::from_be_bytes([*l0, *l1]));
            *minor <= 4 && len > 0 && len <= record::MAX_RECORD_BODY_BYTES && rest.first().is_none_or(|t| *t == 1)
        }
        _ => false,
    }
}
