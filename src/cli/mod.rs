//! Headless subcommands: `analyze` (JSON Lines or a readable report), `connect`, `test`.

pub mod analyze;
pub mod connect;
pub mod summary;
pub mod test;
