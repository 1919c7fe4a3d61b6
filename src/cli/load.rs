//! `framescope load URL`: the load generator from the command line. Exit 0 when the run
//! completed without errors, 1 when errors were counted, 2 on usage errors.

use std::path::PathBuf;
use std::time::Duration;

use crate::live::target::parse_target;
use crate::load::{LoadOptions, Mode, run};

#[derive(Clone, Debug, clap::Args)]
pub struct LoadArgs {
    /// ws:// URL of the server (wss:// is not supported by the load generator yet).
    pub url: String,
    /// Connections to hold open.
    #[arg(long, default_value_t = 10)]
    pub connections: usize,
    /// Seconds over which the connections are opened.
    #[arg(long = "ramp-up", value_name = "SECS", default_value_t = 1.0)]
    pub ramp_up: f64,
    /// Seconds to run after ramp-up.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub duration: f64,
    /// Messages per second per connection (0: only hold connections).
    #[arg(long, value_name = "MSG/S", default_value_t = 1.0)]
    pub rate: f64,
    /// Message size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    pub size: usize,
    /// Connections closed and reopened per second.
    #[arg(long, value_name = "CPS", default_value_t = 0.0)]
    pub churn: f64,
    /// echo: the server sends messages back; reqresp: it answers `{"id":N}` with text holding `"id":N`.
    #[arg(long, value_enum, default_value = "echo")]
    pub mode: Mode,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// No live lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

fn check(v: f64, lo: f64, hi: f64, what: &str) -> Result<f64, String> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{what} must be between {lo} and {hi}"))
    }
}

pub fn run_cli(args: &LoadArgs) -> u8 {
    let opts = (|| -> Result<LoadOptions, String> {
        let target = parse_target(&args.url)?;
        if target.secure {
            return Err("the load generator speaks ws:// only for now".to_owned());
        }
        if args.connections == 0 || args.connections > 200_000 {
            return Err("--connections must be between 1 and 200000".to_owned());
        }
        if args.size > 16 << 20 {
            return Err("--size must be at most 16 MiB".to_owned());
        }
        Ok(LoadOptions {
            target,
            connections: args.connections,
            ramp_up: Duration::from_secs_f64(check(args.ramp_up, 0.0, 3600.0, "--ramp-up")?),
            duration: Duration::from_secs_f64(check(args.duration, 0.1, 86_400.0, "--duration")?),
            rate: check(args.rate, 0.0, 1_000_000.0, "--rate")?,
            size: args.size,
            churn: check(args.churn, 0.0, 1_000_000.0, "--churn")?,
            mode: args.mode,
            connect_timeout: Duration::from_secs(10),
            live: !args.quiet,
        })
    })();
    let opts = match opts {
        Ok(o) => o,
        Err(e) => {
            eprintln!("framescope load: {e}");
            return 2;
        }
    };
    match run(opts) {
        Ok(report) => {
            print!("{}", report.text());
            if let Some(p) = &args.report {
                let json = serde_json::to_string_pretty(&report).unwrap_or_default();
                if let Err(e) = std::fs::write(p, json) {
                    eprintln!("framescope load: cannot write {}: {e}", p.display());
                    return 2;
                }
            }
            if report.errors.is_empty() { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!("framescope load: {e}");
            2
        }
    }
}
