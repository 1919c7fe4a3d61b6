//! HTTP/1.1 Upgrade handshake: request/response heads, the accept check, extension params.

pub mod extensions;
pub mod handshake;
pub mod head;

pub use extensions::{DeflateParams, Extension};
pub use handshake::{CheckId, Handshake, HandshakeCheck, expected_accept};
pub use head::{HeadParse, RequestHead, ResponseHead};
