//! `framescope load URL` (issue 15 part 2): virtual clients on tokio — ramp-up, a target
//! connection count, churn, a message rate and size per client, echo or request/response
//! matching, over `ws://` or `wss://` — with connect-time, TLS-time, handshake-time and
//! round-trip percentiles from HDR histograms, throughput, errors by kind, a live line per
//! second and a JSON report. `client.rs` is one virtual client, `pace.rs` when it sends,
//! `stats.rs` the shared counters and report, `cancel.rs` the handle that stops a run early.

pub mod cancel;
pub mod client;
pub mod pace;
pub mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::live::target::Target;
use crate::live::tls::TlsOptions;

pub use cancel::Cancel;

/// How replies are matched to requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The server sends each message back; the send time travels in the payload.
    Echo,
    /// The server answers a JSON request `{"id":N,…}` with any text containing `"id":N`.
    Reqresp,
}

/// What every `wss://` connection of a run uses: one rustls configuration (so sessions can
/// resume) and the name sent as SNI and checked in the certificate.
#[derive(Clone, Debug)]
pub struct LoadTls {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: rustls_pki_types::ServerName<'static>,
    /// `server_name` as text, for error messages.
    pub name: String,
}

impl LoadTls {
    /// For a `wss://` target: the live client's certificate checks (`options`: CA file,
    /// accept-any), and `sni` instead of the URL's host when given. `None` for `ws://`.
    pub fn for_target(target: &Target, options: &TlsOptions, sni: Option<&str>) -> Result<Option<LoadTls>, String> {
        if !target.secure {
            return Ok(None);
        }
        Ok(Some(LoadTls {
            config: crate::live::tls::tls_config(options).map_err(|e| e.to_string())?,
            server_name: crate::live::tls::server_name(&target.host, sni)?,
            name: sni.unwrap_or(&target.host).to_owned(),
        }))
    }
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub target: Target,
    pub connections: usize,
    pub ramp_up: Duration,
    pub duration: Duration,
    /// Messages per second per connection (0: connect only).
    pub rate: f64,
    pub size: usize,
    /// Connections closed and reopened per second over the whole run (0: none).
    pub churn: f64,
    pub mode: Mode,
    pub connect_timeout: Duration,
    /// Print a line per second to stderr.
    pub live: bool,
    /// Required for `wss://` targets (see `LoadTls::for_target`).
    pub tls: Option<LoadTls>,
    /// Runtime worker threads (0: one per core).
    pub threads: usize,
}

/// Runs the load to its end and returns the report.
pub fn run(opts: LoadOptions) -> Result<stats::Report, String> {
    run_until(opts, &Cancel::new())
}

/// Runs the load until its end or until `cancel` is cancelled, whichever comes first, and
/// returns the report (marked `stopped_early` in the second case). Every client stops at
/// the end; closing gets 2 s more, then the runtime is dropped.
pub fn run_until(opts: LoadOptions, cancel: &Cancel) -> Result<stats::Report, String> {
    if opts.target.secure && opts.tls.is_none() {
        return Err("a wss:// target needs TLS settings (LoadTls::for_target)".to_owned());
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if opts.threads > 0 {
        builder.worker_threads(opts.threads);
    }
    let rt = builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let stats = Arc::new(stats::Stats::new());
    let started = Instant::now();
    let end = started + opts.ramp_up + opts.duration;
    let mut stopped_early = false;
    // Replies counted after ramp-up, to the end: the steady rate.
    let mut steady: Option<(Instant, u64)> = None;
    let mut steady_end: Option<(Instant, u64)> = None;
    rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let opts = Arc::new(opts);
        let mut handles = Vec::with_capacity(opts.connections);
        for i in 0..opts.connections {
            let delay = if opts.connections > 1 {
                opts.ramp_up.mul_f64(i as f64 / opts.connections as f64)
            } else {
                Duration::ZERO
            };
            let (o, s, mut stop) = (opts.clone(), stats.clone(), stop_rx.clone());
            handles.push(tokio::spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => client::run(i, &o, &s, stop, started).await,
                    _ = stop.changed() => {}
                }
            }));
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last = stats.snapshot();
        let until = tokio::time::Instant::from_std(end);
        let ramped = tokio::time::sleep_until(tokio::time::Instant::from_std(started + opts.ramp_up));
        tokio::pin!(ramped);
        let mut ramping = true;
        loop {
            tokio::select! {
                _ = &mut ramped, if ramping => {
                    ramping = false;
                    steady = Some((Instant::now(), stats.received.load(std::sync::atomic::Ordering::Relaxed)));
                }
                _ = tick.tick() => {
                    let now = stats.snapshot();
                    if opts.live {
                        eprintln!("{}", stats::live_line(started.elapsed(), &last, &now));
                    }
                    last = now;
                }
                _ = tokio::time::sleep_until(until) => break,
                _ = cancel.cancelled() => {
                    stopped_early = true;
                    break;
                }
            }
        }
        steady_end = Some((
            Instant::now(),
            stats.received.load(std::sync::atomic::Ordering::Relaxed),
        ));
        let _ = stop_tx.send(true);
        let grace = tokio::time::Instant::now() + Duration::from_secs(2);
        for h in handles {
            if tokio::time::timeout_at(grace, h).await.is_err() {
                break;
            }
        }
    });
    // Clients still closing are dropped with the runtime.
    rt.shutdown_timeout(Duration::from_millis(200));
    let elapsed = started.elapsed();
    let elapsed = if stopped_early {
        elapsed
    } else {
        elapsed.min(end.saturating_duration_since(started) + Duration::from_secs(2))
    };
    let mut report = stats.report(elapsed, stopped_early);
    if let (Some((t0, n0)), Some((t1, n1))) = (steady, steady_end) {
        let secs = t1.saturating_duration_since(t0).as_secs_f64();
        // Replies still counted in clients' tallies arrive up to 100 ms late; a window of
        // under a second would be mostly that.
        if secs >= 1.0 {
            report.steady_messages_per_second = Some(n1.saturating_sub(n0) as f64 / secs);
        }
    }
    Ok(report)
}
