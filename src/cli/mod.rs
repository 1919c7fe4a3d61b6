//! Headless subcommands: `analyze` (JSON Lines or a readable report), `connect`, `test`.

pub mod analyze;
pub mod command_line;
pub mod connect;
pub mod load;
pub mod probe;
pub mod summary;
pub mod test;
