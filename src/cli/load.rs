//! `framescope load URL`: the load generator from the command line. Exit 0 when the run
//! completed without errors, 1 when errors were counted, 2 on usage errors.

use std::path::PathBuf;
use std::time::Duration;

use crate::live::target::parse_target;
use crate::live::tls::TlsOptions;
use crate::load::{LoadOptions, LoadTls, Mode, run};

#[derive(Clone, Debug, clap::Args)]
pub struct LoadArgs {
    /// ws:// or wss:// URL of the server.
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
    /// wss://: trust this PEM CA file (or the server's own self-signed certificate) besides
    /// the usual roots.
    #[arg(long, value_name = "FILE.pem")]
    pub ca_file: Option<PathBuf>,
    /// Worker threads of the client (0: one per core). With the server on the same machine,
    /// fewer can be faster.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// wss://: accept any certificate (testing only).
    #[arg(long)]
    pub insecure: bool,
    /// wss://: the server name to send (SNI) and check the certificate against, instead of
    /// the URL's host.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
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
        if !target.secure && (args.ca_file.is_some() || args.insecure || args.sni.is_some()) {
            return Err("--ca-file, --insecure and --sni are for wss:// URLs".to_owned());
        }
        let tls_options = TlsOptions {
            extra_ca_file: args.ca_file.clone(),
            accept_invalid_certs: args.insecure,
            key_log_file: None,
        };
        let tls = LoadTls::for_target(&target, &tls_options, args.sni.as_deref())?;
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
            tls,
            threads: args.threads.min(1024),
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
