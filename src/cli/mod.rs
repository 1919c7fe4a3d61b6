//! Headless subcommands: `analyze` (JSON Lines or a readable report), `connect`, `test`.

pub mod analyze;
pub mod analyze_many;
pub mod command_line;
pub mod connect;
pub mod inputs;
pub mod load;
pub mod probe;
pub mod summary;
pub mod test;
