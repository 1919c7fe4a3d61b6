//! libpcap: reading saved captures (and, later, live interfaces) into the analyzer.

pub mod har;
pub mod keylog_follow;
pub mod live;
pub mod offline;
pub mod parallel;
pub mod recordings;
pub mod subset;

pub use offline::{CaptureError, OfflineReader, ReadSummary, ReaderKind};
