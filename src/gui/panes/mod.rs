//! One file per pane. Each `*_ui` function draws and pushes commands; none starts threads or
//! opens files.

pub mod anatomy;
pub mod app_rtt;
pub mod builder;
pub mod capture;
pub mod client;
pub mod connections;
pub mod detail;
pub mod findings;
pub mod follow;
pub mod handshake;
pub mod lower;
pub mod messages;
pub mod plots;
pub mod probe;
pub mod reference;
pub mod scenarios;
pub mod status_bar;
pub mod tls_keys;
pub mod top_bar;
