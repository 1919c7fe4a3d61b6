//! One file per pane. Each `*_ui` function gets a `model::Cx` (read access to the shared
//! `Model` and the command queue) and `&mut` only to its own state; it draws and pushes
//! commands, and never starts threads, opens files or acts on a live session.

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
