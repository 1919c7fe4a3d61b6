//! Writes the man pages and shell completions the packages install, generated from the clap
//! definitions (`framescope::cli::command_line`), so they cannot drift from the binary.
//!
//! `cargo run --example package_docs -- OUT_DIR` writes `OUT_DIR/man/framescope*.1` (one page
//! per subcommand) and `OUT_DIR/completions/{framescope.bash,_framescope,framescope.fish}`.
//! An example rather than a subcommand: clap_mangen and clap_complete stay dev-dependencies,
//! out of the shipped binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use framescope::cli::command_line::Cli;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: package_docs OUT_DIR");
        return ExitCode::from(2);
    };
    match write_all(&out) {
        Ok(count) => {
            println!("wrote {count} files under {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("package_docs: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn write_all(out: &std::path::Path) -> std::io::Result<usize> {
    let man_dir = out.join("man");
    let completion_dir = out.join("completions");
    std::fs::create_dir_all(&man_dir)?;
    std::fs::create_dir_all(&completion_dir)?;
    // Not pre-built: generate_to disables the `help` pseudo-subcommand before building, and a
    // built command would bring framescope-help*.1 pages along.
    clap_mangen::generate_to(Cli::command(), &man_dir)?;
    let mut written = std::fs::read_dir(&man_dir)?.count();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "framescope", &completion_dir)?;
        written += 1;
    }
    Ok(written)
}
