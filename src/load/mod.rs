//! `framescope load URL` (issue 15 part 2): virtual clients on tokio — ramp-up, a target
//! connection count, churn, a message rate and size per client, echo or request/response
//! matching — with connect-time, handshake-time and round-trip percentiles from HDR
//! histograms, throughput, errors by kind, a live line per second and a JSON report.
//! `client.rs` is one virtual client, `stats.rs` the shared counters and report.

pub mod client;
pub mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::live::target::Target;

/// How replies are matched to requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The server sends each message back; the send time travels in the payload.
    Echo,
    /// The server answers a JSON request `{"id":N,…}` with any text containing `"id":N`.
    Reqresp,
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
}

/// Runs the load and returns the report. Every client stops at the end of ramp-up +
/// duration; closing gets 2 s more, then the runtime is dropped.
pub fn run(opts: LoadOptions) -> Result<stats::Report, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let stats = Arc::new(stats::Stats::new());
    let started = Instant::now();
    let end = started + opts.ramp_up + opts.duration;
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
            let (o, s, stop) = (opts.clone(), stats.clone(), stop_rx.clone());
            handles.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                client::run(i, &o, &s, stop, started).await;
            }));
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last = stats.snapshot();
        while Instant::now() < end {
            tokio::select! {
                _ = tick.tick() => {
                    let now = stats.snapshot();
                    if opts.live {
                        eprintln!("{}", stats::live_line(started.elapsed(), &last, &now));
                    }
                    last = now;
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(end)) => {}
            }
        }
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
    Ok(stats.report(
        started
            .elapsed()
            .min(end.saturating_duration_since(started) + Duration::from_secs(2)),
    ))
}
