//! Live connections: the app's own WebSocket client (tokio + tokio-tungstenite), with a byte
//! tap between the transport and the WebSocket layer so the analysis engine sees the exact
//! handshake and frames, masks included, and the session can be saved as a capture.

pub mod app_send;
pub mod client;
pub mod compose;
pub mod options;
pub mod recorder;
pub mod session;
pub mod talk;
pub mod tap;
pub mod target;
pub mod tls;
