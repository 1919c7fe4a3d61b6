//! The command line of the `framescope` binary (clap definitions), in the library so that
//! `examples/package_docs.rs` can generate the man pages and shell completions from it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cli::analyze::AnalyzeArgs;

/// WebSocket inspector and traffic analyser.
#[derive(Parser, Debug)]
#[command(name = "framescope", version = crate::build_info::VERSION_WITH_COMMIT, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A .pcap or .pcapng file to open in the window.
    pub file: Option<PathBuf>,
    /// Select this message (its number in the message table) once it is loaded.
    #[arg(short = 'g', long, value_name = "N")]
    pub goto: Option<u32>,
    /// Display filter to apply once loaded (the `analyze --filter` language; like
    /// Wireshark's -Y).
    #[arg(short = 'Y', long = "display-filter", value_name = "EXPR")]
    pub display_filter: Option<String>,
    /// Open the "Follow WebSocket stream" window on this connection.
    #[arg(long, value_name = "CONN")]
    pub follow: Option<u32>,
    /// Which view of the lower area to show first.
    #[arg(long, value_enum, value_name = "VIEW")]
    pub view: Option<crate::gui::app::LowerTab>,
    /// Open the capture window with this interface chosen (like Wireshark's -i).
    #[arg(short = 'i', long, value_name = "NAME", conflicts_with = "file")]
    pub interface: Option<String>,
    /// BPF capture filter for the capture window (like Wireshark's -f).
    #[arg(short = 'f', long = "capture-filter", value_name = "FILTER", requires = "interface")]
    pub capture_filter: Option<String>,
    /// Start capturing right away (like Wireshark's -k).
    #[arg(short = 'k', long = "start", requires = "interface")]
    pub start: bool,
    /// Open the live connections pane and connect to this ws:// or wss:// URL (repeat for
    /// several connections, one tab each).
    #[arg(long, value_name = "URL", conflicts_with_all = ["file", "interface"])]
    pub connect: Vec<String>,
    /// Connect with this saved connection profile (from the live connections pane; repeat
    /// for several).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["file", "interface"])]
    pub profile: Vec<String>,
    /// Open the Scenarios pane with this scenario (RON).
    #[arg(long, value_name = "SCENARIO.ron")]
    pub scenario: Option<PathBuf>,
    /// With --scenario: the server to run it against (replaces the file's URL).
    #[arg(long, value_name = "URL", requires = "scenario")]
    pub scenario_url: Option<String>,
    /// With --scenario: run it at once.
    #[arg(long, requires = "scenario")]
    pub run: bool,
    /// Open the Probe pane and probe this ws:// or wss:// URL at once.
    #[arg(long, value_name = "URL")]
    pub probe: Option<String>,
    /// Decrypt wss:// traffic with this TLS key log (an SSLKEYLOGFILE); remembered, as
    /// File → TLS key log is.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decode every WebSocket message in a capture and print a report or JSON Lines.
    Analyze(AnalyzeArgs),
    /// Open a WebSocket connection, send messages, print what comes back (recorded and analysed).
    Connect(crate::cli::connect::ConnectArgs),
    /// Run a scenario (RON) against a server, or turn a captured connection into one (--from).
    Test(crate::cli::test::TestArgs),
    /// Probe a WebSocket server's RFC 6455/7692 conformance (Autobahn's case categories), or
    /// with --serve test the clients that connect.
    Probe(crate::cli::probe::ProbeArgs),
    /// Load-test a WebSocket server: virtual clients, round-trip percentiles, throughput.
    Load(crate::cli::load::LoadArgs),
}
