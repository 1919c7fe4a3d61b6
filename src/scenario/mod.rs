//! Scripted server tests (`framescope test`): a RON scenario of clients and steps, run by
//! scripted connections over the live client's connect and tap, recorded as one capture,
//! reported as text, JSON and JUnit XML; and the reverse, a capture turned into a scenario
//! (`replay`).

pub mod conn;
pub mod describe;
pub mod load;
pub mod load_step;
pub mod matcher;
pub mod model;
pub mod replay;
pub mod report;
pub mod runner;
pub mod vars;
