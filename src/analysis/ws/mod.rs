//! WebSocket framing: headers, unmasking, message assembly, permessage-deflate, close codes,
//! ping/pong pairing and frame-boundary detection for captures that start mid-stream.

pub mod anatomy;
pub mod builder;
pub mod close;
pub mod deflate;
pub mod detect;
#[doc(hidden)]
pub mod detect_inputs;
pub mod frame;
pub mod mask;
pub mod rtt;
pub mod stream;

pub use close::{close_code_allowed_on_wire, close_code_name};
pub use frame::{FrameHeader, OpCode};
