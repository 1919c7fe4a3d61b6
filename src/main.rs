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
    /// Display filter to apply once loaded (the `analyze --filter` language; like
    /// Wireshark's -Y).
    #[arg(short = 'Y', long = "display-filter", value_name = "EXPR")]
    display_filter: Option<String>,
    /// Open the "Follow WebSocket stream" window on this connection.
    #[arg(long, value_name = "CONN")]
    follow: Option<u32>,
    /// Which view of the lower area to show first.
    #[arg(long, value_enum, value_name = "VIEW")]
    view: Option<framescope::gui::app::LowerTab>,
    /// Open the capture window with this interface chosen (like Wireshark's -i).
    #[arg(short = 'i', long, value_name = "NAME", conflicts_with = "file")]
    interface: Option<String>,
    /// BPF capture filter for the capture window (like Wireshark's -f).
    #[arg(short = 'f', long = "capture-filter", value_name = "FILTER", requires = "interface")]
    capture_filter: Option<String>,
    /// Start capturing right away (like Wireshark's -k).
    #[arg(short = 'k', long = "start", requires = "interface")]
    start: bool,
    /// Open the live connections pane and connect to this ws:// or wss:// URL (repeat for
    /// several connections, one tab each).
    #[arg(long, value_name = "URL", conflicts_with_all = ["file", "interface"])]
    connect: Vec<String>,
    /// Connect with this saved connection profile (from the live connections pane; repeat
    /// for several).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["file", "interface"])]
    profile: Vec<String>,
    /// Open the Scenarios pane with this scenario (RON).
    #[arg(long, value_name = "SCENARIO.ron")]
    scenario: Option<PathBuf>,
    /// With --scenario: the server to run it against (replaces the file's URL).
    #[arg(long, value_name = "URL", requires = "scenario")]
    scenario_url: Option<String>,
    /// With --scenario: run it at once.
    #[arg(long, requires = "scenario")]
    run: bool,
    /// Open the Probe pane and probe this ws:// or wss:// URL at once.
    #[arg(long, value_name = "URL")]
    probe: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode every WebSocket message in a capture and print a report or JSON Lines.
    Analyze(AnalyzeArgs),
    /// Open a WebSocket connection, send messages, print what comes back (recorded and analysed).
    Connect(framescope::cli::connect::ConnectArgs),
    /// Run a scenario (RON) against a server, or turn a captured connection into one (--from).
    Test(framescope::cli::test::TestArgs),
    /// Probe a WebSocket server's RFC 6455/7692 conformance (Autobahn's case categories), or
    /// with --serve test the clients that connect.
    Probe(framescope::cli::probe::ProbeArgs),
    /// Load-test a WebSocket server: virtual clients, round-trip percentiles, throughput.
    Load(framescope::cli::load::LoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Analyze(args)) => ExitCode::from(analyze::run(&args)),
        Some(Command::Connect(args)) => ExitCode::from(framescope::cli::connect::run(&args)),
        Some(Command::Test(args)) => ExitCode::from(framescope::cli::test::run(&args)),
        Some(Command::Probe(args)) => ExitCode::from(framescope::cli::probe::run(&args)),
        Some(Command::Load(args)) => ExitCode::from(framescope::cli::load::run_cli(&args)),
        None => match framescope::gui::run(framescope::gui::StartOptions {
            file: cli.file,
            goto: cli.goto,
            view: cli.view,
            display_filter: cli.display_filter,
            follow: cli.follow,
            interface: cli.interface,
            capture_filter: cli.capture_filter.unwrap_or_default(),
            start_capture: cli.start,
            connect: cli.connect,
            profiles: cli.profile,
            scenario: cli.scenario,
            scenario_url: cli.scenario_url,
            run_scenario: cli.run,
            probe: cli.probe,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("framescope: cannot open the window: {e}");
                eprintln!("(headless use: framescope analyze FILE; see --help)");
                ExitCode::from(1)
            }
        },
    }
}
