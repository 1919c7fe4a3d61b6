//! The `framescope` binary: the window by default, or a headless subcommand.

use std::process::ExitCode;

use clap::Parser;

use framescope::cli::analyze;
use framescope::cli::command_line::{Cli, Command};

fn main() -> ExitCode {
    // Before anything reads input: only the framescope group keeps the package's capture rights.
    if let Err(e) = framescope::privileges::keep_capture_rights_for_group_only() {
        eprintln!("framescope: {e}");
        return ExitCode::from(1);
    }
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
            keylog: cli.keylog,
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
