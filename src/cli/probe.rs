//! `framescope probe URL`: the conformance probe from the command line (and `--serve ADDR`,
//! its client-testing mirror). Exit 0 when no case failed, 1 otherwise, 2 on usage errors.

use std::path::PathBuf;
use std::time::Duration;

use crate::live::target::parse_target;
use crate::live::tls::{TlsOptions, tls_config};
use crate::probe::cases;
use crate::probe::report;
use crate::probe::run::{RunOptions, run_all};
use crate::probe::wire::{RecState, SharedRecorder};
use crate::probe::{CaseResult, Verdict};

#[derive(Clone, Debug, clap::Args)]
pub struct ProbeArgs {
    /// ws:// or wss:// URL of the server to probe.
    #[arg(required_unless_present = "serve", conflicts_with = "serve")]
    pub url: Option<String>,
    /// Cases to run: ids or prefixes with `*`, comma-separated (e.g. `5.*,6.4.1,h.*`).
    #[arg(long, value_name = "IDS")]
    pub cases: Option<String>,
    /// Also run the slow cases (messages over 1 MiB, 12/13 with 32 KiB and more).
    #[arg(long)]
    pub slow: bool,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Write the report as an HTML page.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Record every case's connection to a pcapng (one connection per case).
    #[arg(long, value_name = "FILE.pcapng")]
    pub record: Option<PathBuf>,
    /// Most seconds one case may take.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub case_timeout: f64,
    /// Most seconds the whole run may take.
    #[arg(long, value_name = "SECS", default_value_t = 1800.0)]
    pub total_timeout: f64,
    /// Trust this PEM CA file for wss://.
    #[arg(long, value_name = "FILE.pem")]
    pub ca_file: Option<PathBuf>,
    /// Accept any TLS certificate.
    #[arg(long)]
    pub insecure: bool,
    /// Print nothing but the summary.
    #[arg(long)]
    pub quiet: bool,
    /// Test clients instead: listen here; each connecting client gets the next test.
    #[arg(long, value_name = "ADDR:PORT")]
    pub serve: Option<String>,
    /// With --serve: how many connections to test before stopping.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub clients: usize,
    /// With --serve: serve wss:// with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "CERT.pem", requires = "tls_key", requires = "serve")]
    pub tls_cert: Option<PathBuf>,
    /// With --serve: the PEM private key of --tls-cert.
    #[arg(long, value_name = "KEY.pem", requires = "tls_cert", requires = "serve")]
    pub tls_key: Option<PathBuf>,
}

fn secs(v: f64, what: &str) -> Result<Duration, String> {
    if v.is_finite() && (0.1..=86_400.0).contains(&v) {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(format!("{what} must be between 0.1 and 86400 seconds"))
    }
}

fn print_row(r: &CaseResult) {
    let code = r.close_code.map(|c| format!(" [{c}]")).unwrap_or_default();
    eprintln!(
        "{:<8} {:<13} {}{code}  {}",
        r.id,
        r.verdict.as_str(),
        r.description,
        if r.verdict == Verdict::Pass { "" } else { &r.detail }
    );
}

fn write_reports(args: &ProbeArgs, results: &[CaseResult], url: &str) -> Result<(), String> {
    if let Some(p) = &args.report {
        std::fs::write(p, report::json(results)).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = &args.html {
        std::fs::write(p, report::html(results, url)).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

pub fn run(args: &ProbeArgs) -> u8 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("framescope probe: {e}");
            2
        }
    }
}

fn run_inner(args: &ProbeArgs) -> Result<u8, String> {
    let case_timeout = secs(args.case_timeout, "--case-timeout")?;
    let total = secs(args.total_timeout, "--total-timeout")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let quiet = args.quiet;
    let mut progress = move |r: &CaseResult| {
        if !quiet {
            print_row(r);
        }
    };
    if let Some(addr) = &args.serve {
        let addr: std::net::SocketAddr = addr
            .parse()
            .map_err(|_| format!("--serve '{addr}' is not ADDRESS:PORT"))?;
        if args.clients == 0 || args.clients > 10_000 {
            return Err("--clients must be between 1 and 10000".to_owned());
        }
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(crate::live::tls::server_config(cert, key)?),
            _ => None,
        };
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        eprintln!(
            "framescope probe: serving client tests on {scheme}://{addr}/ ({} connections at most, {} s)",
            args.clients,
            total.as_secs()
        );
        let results = rt.block_on(crate::probe::serve::serve_tls(
            addr,
            tls,
            args.clients,
            total,
            &mut progress,
        ))?;
        print!("{}", report::summary(&results, 0));
        write_reports(args, &results, &format!("clients of {scheme}://{addr}/"))?;
        return Ok(
            if results.iter().any(|r| r.verdict == Verdict::Fail) || results.is_empty() {
                1
            } else {
                0
            },
        );
    }
    let url = args.url.clone().unwrap_or_default();
    let target = parse_target(&url)?;
    let patterns = args.cases.as_deref().map(cases::parse_selection).transpose()?;
    let selected = cases::select(patterns.as_deref(), args.slow);
    if selected.is_empty() {
        return Err(format!(
            "--cases '{}' matches no case",
            args.cases.clone().unwrap_or_default()
        ));
    }
    let tls = if target.secure {
        let opts = TlsOptions {
            extra_ca_file: args.ca_file.clone(),
            accept_invalid_certs: args.insecure,
            key_log_file: None,
        };
        Some(tls_config(&opts).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let recorder: Option<SharedRecorder> = match &args.record {
        Some(p) => {
            let file =
                crate::live::recorder::open_recording(p).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            Some(std::sync::Arc::new(std::sync::Mutex::new(RecState {
                pending: Some(file),
                rec: None,
            })))
        }
        None => None,
    };
    // A server that cannot be reached at all is a usage problem, not 500 failed cases.
    let reach = crate::probe::wire::Dial {
        target: target.clone(),
        tls: tls.clone(),
        timeout: Duration::from_secs(10).min(case_timeout),
        recorder: None,
    };
    rt.block_on(crate::probe::wire::dial(&reach, false))
        .map_err(|e| format!("cannot reach the server: {e}"))?;
    let opts = RunOptions {
        target,
        tls,
        cases: selected,
        connect_timeout: Duration::from_secs(10).min(case_timeout),
        case_timeout,
        total_timeout: total,
        recorder,
    };
    let (results, skipped) = rt.block_on(run_all(opts, &mut progress));
    print!("{}", report::summary(&results, skipped));
    write_reports(args, &results, &url)?;
    Ok(if results.iter().any(|r| r.verdict == Verdict::Fail) || skipped > 0 {
        1
    } else {
        0
    })
}
