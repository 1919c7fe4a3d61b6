//! The pure analysis core: bytes and timestamps in, WebSocket events out.
//!
//! Nothing in here performs IO, spawns threads or reads a clock (checked in CI by
//! `.ci/check-pure-core`). Time arrives with the bytes, so every result can be replayed
//! from a capture and fuzzed.

pub mod analyzer;
pub mod app;
pub mod conn;
pub mod event;
pub mod event_batch;
pub mod findings;
pub mod h2;
pub mod http;
pub mod latency;
pub mod link;
pub mod pool;
pub mod tcp;
pub mod time;
pub mod tls;
pub mod ws;

pub use analyzer::{Analyzer, AnalyzerConfig, AnalyzerStats, PacketInput};
pub use event::{ConnId, Direction, Event, EventSink};
pub use findings::{Finding, FindingKind};
pub use time::Timestamp;
