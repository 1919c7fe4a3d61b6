//! TCP: flow keys and per-direction stream reassembly.

pub mod flow;
pub mod health;
pub mod opening;
pub mod reassembly;

pub use flow::{FlowKey, Side};
pub use health::ZeroWindowTracker;
pub use opening::Opening;
pub use reassembly::{Chunk, GapReason, Reassembler, ReassemblyLimits, ReassemblyStats};
