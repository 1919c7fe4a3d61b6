//! `framescope test SCENARIO.ron`: runs a scenario against a server and reports (text,
//! `--report` JSON, `--junit` XML), recording the run as one pcapng; and `framescope test
//! --from CAPTURE --out SCENARIO.ron`, which turns a captured connection into a scenario.
//! Exit status: 0 all passed, 1 a step failed, 2 a usage or file error.

use std::path::{Path, PathBuf};

use crate::live::recorder::open_recording;
use crate::scenario::replay::{ReplayOptions, Timing, scenario_from_capture, to_ron};
use crate::scenario::runner::RunOptions;
use crate::scenario::{load, report, runner};

#[derive(Clone, Debug, clap::Args)]
pub struct TestArgs {
    /// The scenario file (RON).
    #[arg(required_unless_present = "from", conflicts_with = "from")]
    pub scenario: Option<PathBuf>,
    /// Replaces the scenario's default URL (clients without an absolute url of their own).
    #[arg(long)]
    pub url: Option<String>,
    /// Sets a variable, `NAME=VALUE` (VALUE read as JSON when it parses, else as text;
    /// repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Writes the results as JSON.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Writes the results as JUnit XML (each top-level step a test case).
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
    /// Records every connection of the run in one pcapng.
    #[arg(long, value_name = "FILE.pcapng")]
    pub record: Option<PathBuf>,
    /// Prints nothing but the final line (and failures).
    #[arg(long, short)]
    pub quiet: bool,
    /// Turns a connection of this capture (pcap, pcapng or HAR) into a scenario.
    #[arg(long, value_name = "CAPTURE", requires = "out")]
    pub from: Option<PathBuf>,
    /// With --from: the connection's number (as `analyze` numbers them; default the first).
    #[arg(long, value_name = "N", requires = "from")]
    pub conn: Option<u32>,
    /// With --from: where the scenario is written.
    #[arg(long, value_name = "SCENARIO.ron", requires = "from")]
    pub out: Option<PathBuf>,
    /// With --from: gaps between sends as captured (original), scaled:FACTOR, or fast.
    #[arg(long, default_value = "original", requires = "from")]
    pub timing: String,
    /// With --from: JSON fields that may differ in the server's answers (ids, times),
    /// comma-separated paths such as `seq,user.id`.
    #[arg(long, value_delimiter = ',', requires = "from")]
    pub vary: Vec<String>,
}

/// Runs the command; returns the exit status.
pub fn run(args: &TestArgs) -> u8 {
    let result = match &args.from {
        Some(capture) => replay(args, capture),
        None => scenario(args),
    };
    match result {
        Ok(status) => status,
        Err(e) => {
            eprintln!("framescope: {e}");
            2
        }
    }
}

fn replay(args: &TestArgs, capture: &Path) -> Result<u8, String> {
    let out = args.out.as_ref().ok_or("--from needs --out SCENARIO.ron")?;
    let timing: Timing = args.timing.parse().map_err(|e| format!("--timing: {e}"))?;
    let vary = args
        .vary
        .iter()
        .map(|p| p.trim().trim_start_matches("json.").to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let s = scenario_from_capture(
        capture,
        &ReplayOptions {
            conn: args.conn,
            timing,
            vary,
        },
    )?;
    let text = to_ron(&s)?;
    std::fs::write(out, text + "\n").map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    if !args.quiet {
        let sends = s
            .steps
            .iter()
            .filter(|st| matches!(st, crate::scenario::model::Step::Send(_)))
            .count();
        let expects = s
            .steps
            .iter()
            .filter(|st| matches!(st, crate::scenario::model::Step::Expect(_)))
            .count();
        eprintln!(
            "wrote {} ({}: {sends} sends, {expects} expectations); run it with framescope test {} [--url ws://…]",
            out.display(),
            s.name,
            out.display()
        );
    }
    Ok(0)
}

/// `NAME=VALUE` with VALUE as JSON when it parses (numbers, true), else as a string.
fn parse_var(text: &str) -> Result<(String, serde_json::Value), String> {
    let (name, value) = text
        .split_once('=')
        .filter(|(n, _)| !n.trim().is_empty())
        .ok_or_else(|| format!("--var '{text}' is not NAME=VALUE"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
    Ok((name.trim().to_owned(), value))
}

fn scenario(args: &TestArgs) -> Result<u8, String> {
    let path = args
        .scenario
        .as_ref()
        .ok_or("give a scenario file, or --from CAPTURE")?;
    let vars = args.vars.iter().map(|v| parse_var(v)).collect::<Result<Vec<_>, _>>()?;
    let names: Vec<String> = vars.iter().map(|(n, _)| n.clone()).collect();
    let s = load::load(path, &names)?;
    if let Some(url) = &args.url {
        crate::live::target::parse_target(url).map_err(|e| format!("--url: {e}"))?;
    }
    // Outputs are opened before anything connects, so a bad path costs no test run.
    let recording = match &args.record {
        Some(p) => Some((
            open_recording(p).map_err(|e| format!("cannot record to {}: {e}", p.display()))?,
            p.clone(),
        )),
        None => None,
    };
    for p in args.report.iter().chain(args.junit.iter()) {
        std::fs::File::create(p).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    let r = runner::run(
        &s,
        RunOptions {
            url: args.url.clone(),
            vars,
            recording,
            file: path.clone(),
            progress: None,
        },
    )?;
    if args.quiet {
        print!("{}", report::failures_text(&r));
    } else {
        print!("{}", report::text(&r));
    }
    if let Some(p) = &args.report {
        let json = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?;
        std::fs::write(p, json + "\n").map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = &args.junit {
        std::fs::write(p, report::junit(&r)).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(if r.passed { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_are_json_when_they_parse() {
        assert_eq!(parse_var("n=3"), Ok(("n".to_owned(), serde_json::json!(3))));
        assert_eq!(
            parse_var("t=alice-token"),
            Ok(("t".to_owned(), serde_json::json!("alice-token")))
        );
        assert_eq!(parse_var("e="), Ok(("e".to_owned(), serde_json::json!(""))));
        assert!(parse_var("=3").is_err());
        assert!(parse_var("x").is_err());
    }
}
