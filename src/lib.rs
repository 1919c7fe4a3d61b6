//! framescope: WebSocket traffic analysis (library half of the `framescope` binary).

pub mod analysis;
pub mod build_info;
pub mod capture;
pub mod cli;
pub mod export;
pub mod gui;
pub mod live;
pub mod load;
pub mod privileges;
pub mod probe;
pub mod query;
pub mod scenario;
pub mod store;
