//! The `framescope` binary: the window by default, or a headless subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use framescope::cli::analyze::{self, AnalyzeArgs};

/// WebSocket inspector and traffic analyser.
#[derive(Parser, Debug)]
#[command(name = "framescope", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A .pcap or .pcapng file to open in the window.
    file: Option<PathBuf>,
    /// Select this message (its number in the message table) once it is loaded.
    #[arg(short = 'g', long, value_name = "N")]
    goto: Option<u32>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode every WebSocket message in a capture and print a report or JSON Lines.
    Analyze(AnalyzeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Analyze(args)) => ExitCode::from(analyze::run(&args)),
        None => match framescope::gui::run(cli.file, cli.goto) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("framescope: cannot open the window: {e}");
                eprintln!("(headless use: framescope analyze FILE; see --help)");
                ExitCode::from(1)
            }
        },
    }
}
