//! TCP: flow keys and per-direction stream reassembly.

pub mod flow;
pub mod reassembly;

pub use flow::{FlowKey, Side};
pub use reassembly::{Chunk, GapReason, Reassembler, ReassemblyLimits, ReassemblyStats};
