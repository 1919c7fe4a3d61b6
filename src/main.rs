//! The `framescope` binary: command-line arguments to a subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use framescope::cli::analyze::{self, AnalyzeArgs};

/// WebSocket inspector and traffic analyser.
#[derive(Parser, Debug)]
#[command(name = "framescope", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A capture to open (until the window exists, this prints the analyze report).
    file: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode every WebSocket message in a capture and print a report or JSON Lines.
    Analyze(AnalyzeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match (cli.command, cli.file) {
        (Some(Command::Analyze(args)), _) => ExitCode::from(analyze::run(&args)),
        (None, Some(file)) => {
            let args = AnalyzeArgs {
                file,
                jsonl: false,
                summary: true,
                max_message_bytes: 64 << 20,
                max_inflated_bytes: 64 << 20,
                pong_timeout: 30.0,
                max_flows: 100_000,
                quiet: false,
                reader: framescope::capture::ReaderKind::Auto,
            };
            ExitCode::from(analyze::run(&args))
        }
        (None, None) => {
            eprintln!("framescope: the window is not built yet; try `framescope analyze FILE` (see --help)");
            ExitCode::from(2)
        }
    }
}
