//! HTTP/2 below WebSocket (RFC 9113, RFC 8441): frames and HPACK header blocks. The pure
//! parsers are here; wiring RFC 8441 streams into the flow state machine is still to do.

pub mod frame;
pub mod hpack;
