//! A scenario's `Load` step: `framescope load`'s engine (`crate::load`) run with the step's
//! numbers, then judged by its thresholds (latency percentiles, errors, throughput). The
//! step passes with the load report in its detail, or fails naming every threshold missed.

use std::time::Duration;

use crate::load::stats::{Percentiles, Report};
use crate::load::{LoadOptions, Mode};
use crate::scenario::model::{LoadMeasure, LoadMode, LoadStep, Stat};

/// Bounds checked before the run (a typo must not start a million clients).
const MAX_CONNECTIONS: usize = 100_000;
const MAX_DURATION_MS: u64 = 3_600_000;
const MAX_RATE: f64 = 100_000.0;
const MAX_SIZE: usize = 16 << 20;

/// Checks a load step's numbers and thresholds before anything runs.
pub fn check(l: &LoadStep) -> Result<(), String> {
    if l.connections == 0 || l.connections > MAX_CONNECTIONS {
        return Err(format!("connections must be from 1 to {MAX_CONNECTIONS}"));
    }
    if l.duration_ms == 0 || l.duration_ms > MAX_DURATION_MS || l.ramp_up_ms > MAX_DURATION_MS {
        return Err(format!(
            "duration_ms must be from 1 to {MAX_DURATION_MS}, ramp_up_ms at most that"
        ));
    }
    if !(l.rate.is_finite() && (0.0..=MAX_RATE).contains(&l.rate)) {
        return Err(format!("rate must be from 0 to {MAX_RATE} messages a second"));
    }
    if !(l.churn.is_finite() && l.churn >= 0.0) {
        return Err("churn must be 0 or more connections a second".to_owned());
    }
    if l.size > MAX_SIZE {
        return Err(format!("size must be at most {MAX_SIZE} bytes"));
    }
    for t in &l.thresholds {
        if matches!(t.stat, Stat::Min | Stat::Mean) {
            return Err(format!(
                "a load threshold's stat is P50, P90, P95, P99 or Max, not {}",
                t.stat.label()
            ));
        }
        if !(t.below_ms.is_finite() && t.below_ms > 0.0) {
            return Err("a load threshold's below_ms must be above 0".to_owned());
        }
        if t.measure == LoadMeasure::RoundTrip && l.rate == 0.0 {
            return Err("a round-trip threshold needs a rate above 0".to_owned());
        }
    }
    Ok(())
}

/// Runs the load against `url` (until its end or `cancel`) and judges it; `Ok` carries the
/// report as the step's note. A cancelled run fails with the report so far.
pub fn run(l: &LoadStep, url: &str, cancel: &crate::load::Cancel) -> Result<Option<String>, String> {
    check(l)?;
    let target = crate::live::target::parse_target(url)?;
    // wss:// with the usual roots: a scenario's load step has no TLS options of its own.
    let tls = crate::load::LoadTls::for_target(&target, &Default::default(), None)?;
    let report = crate::load::run_until(
        LoadOptions {
            target,
            connections: l.connections,
            ramp_up: Duration::from_millis(l.ramp_up_ms),
            duration: Duration::from_millis(l.duration_ms),
            rate: l.rate,
            size: l.size,
            churn: l.churn,
            mode: match l.mode {
                LoadMode::Echo => Mode::Echo,
                LoadMode::Reqresp => Mode::Reqresp,
            },
            connect_timeout: Duration::from_secs(10),
            live: false,
            tls,
            threads: 0,
        },
        cancel,
    )?;
    let text = report.text().trim_end().to_owned();
    if report.stopped_early {
        return Err(format!("{}\n{text}", crate::scenario::runner::STOPPED));
    }
    let missed = judge(l, &report);
    if missed.is_empty() {
        Ok(Some(text))
    } else {
        Err(format!("{}\n{text}", missed.join("; ")))
    }
}

/// Every threshold the report misses, in words.
pub fn judge(l: &LoadStep, r: &Report) -> Vec<String> {
    let mut missed = Vec::new();
    for t in &l.thresholds {
        let (name, p) = match t.measure {
            LoadMeasure::RoundTrip => ("round trip", &r.rtt_ms),
            LoadMeasure::Connect => ("connect", &r.connect_ms),
            LoadMeasure::Handshake => ("handshake", &r.handshake_ms),
        };
        match stat(p, t.stat) {
            None => missed.push(format!("no {name} samples to judge {} by", t.stat.label())),
            Some(v) if v >= t.below_ms => missed.push(format!(
                "{} of {name} = {v:.2} ms, not below {} ms",
                t.stat.label(),
                t.below_ms
            )),
            Some(_) => {}
        }
    }
    let errors: u64 = r.errors.values().sum();
    if errors > l.max_errors {
        let kinds: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        missed.push(format!(
            "{errors} errors, more than the {} allowed ({})",
            l.max_errors,
            kinds.join(", ")
        ));
    }
    if let Some(min) = l.min_messages_per_second
        && r.messages_per_second < min
    {
        missed.push(format!("{:.0} replies a second, below {min}", r.messages_per_second));
    }
    missed
}

fn stat(p: &Percentiles, s: Stat) -> Option<f64> {
    if p.count == 0 {
        return None;
    }
    match s {
        Stat::P50 => Some(p.p50),
        Stat::P90 => Some(p.p90),
        Stat::P95 => Some(p.p95),
        Stat::P99 => Some(p.p99),
        Stat::Max => Some(p.max),
        Stat::Min | Stat::Mean => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::LoadThreshold;

    fn step(thresholds: Vec<LoadThreshold>) -> LoadStep {
        LoadStep {
            name: None,
            url: None,
            connections: 2,
            ramp_up_ms: 0,
            duration_ms: 100,
            rate: 10.0,
            size: 64,
            churn: 0.0,
            mode: LoadMode::Echo,
            thresholds,
            max_errors: 0,
            min_messages_per_second: None,
        }
    }

    #[test]
    fn thresholds_are_judged_against_the_report() {
        let mut report = Report {
            seconds: 1.0,
            connections_opened: 2,
            peak_open: 2,
            messages_sent: 20,
            messages_received: 20,
            messages_per_second: 20.0,
            steady_messages_per_second: None,
            bytes_per_second: 1280.0,
            connect_ms: Percentiles::default(),
            handshake_ms: Percentiles::default(),
            tls_ms: Percentiles::default(),
            rtt_ms: Percentiles {
                count: 20,
                p50: 1.0,
                p90: 2.0,
                p95: 3.0,
                p99: 9.0,
                max: 12.0,
            },
            errors: Default::default(),
            stopped_early: false,
        };
        let l = step(vec![
            LoadThreshold {
                measure: LoadMeasure::RoundTrip,
                stat: Stat::P95,
                below_ms: 5.0,
            },
            LoadThreshold {
                measure: LoadMeasure::RoundTrip,
                stat: Stat::P99,
                below_ms: 5.0,
            },
        ]);
        assert_eq!(judge(&l, &report), vec!["p99 of round trip = 9.00 ms, not below 5 ms"]);
        report.errors.insert("refused".to_owned(), 3);
        let missed = judge(&l, &report);
        assert_eq!(missed.len(), 2);
        assert!(
            missed[1].starts_with("3 errors, more than the 0 allowed (refused: 3)"),
            "{missed:?}"
        );
    }

    #[test]
    fn checks_refuse_what_the_histograms_cannot_say() {
        let l = step(vec![LoadThreshold {
            measure: LoadMeasure::Connect,
            stat: Stat::Mean,
            below_ms: 5.0,
        }]);
        assert!(check(&l).unwrap_err().contains("not mean"));
        let mut l = step(Vec::new());
        l.connections = 0;
        assert!(check(&l).is_err());
    }
}
