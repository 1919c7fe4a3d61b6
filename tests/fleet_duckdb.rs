//! The fleet recipe (docs/fleet.md, issue 17) run for real: `analyze` over several captures
//! with `--jsonl` (records tagged with their capture), DuckDB running docs/fleet/queries.sql
//! through scripts/fleet-query.py, and every number checked against `analyze --summary` of
//! each capture. Needs Python's duckdb (`make py-deps`): skipped without it, failed in CI.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const CAPTURES: [&str; 4] = [
    "synthetic-three-connections-rtt.pcap",
    "python-many-connections-scripts.pcap",
    "python-deflate-context-takeover.pcap",
    "echo-text-binary-ping-close.pcap",
];

/// One direction of one connection as the report shows it.
#[derive(Debug, Default, Clone)]
struct DirLine {
    messages: u64,
    /// Bytes on the wire as printed: exact below 1 KiB, else KiB with one decimal.
    wire_text: String,
    close_code: Option<u16>,
}

#[derive(Debug, Default, Clone)]
struct ConnReport {
    server: String,
    path: String,
    dirs: BTreeMap<String, DirLine>,
    /// samples, p50, p95, p99, max as printed.
    rtt: Option<(u64, String, String, String, String)>,
}

fn framescope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(args)
        .output()
        .expect("run framescope")
}

/// Parses the per-connection lines of `analyze --summary`.
fn report(capture: &Path) -> Vec<ConnReport> {
    let out = framescope(&[
        "analyze",
        capture.to_str().expect("utf-8 path"),
        "--summary",
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut conns: Vec<ConnReport> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('#') {
            let server = rest
                .split(" -> ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .expect("server");
            conns.push(ConnReport {
                server: server.to_owned(),
                ..Default::default()
            });
            continue;
        }
        let Some(conn) = conns.last_mut() else { continue };
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("handshake: GET ") {
            conn.path = rest.split_whitespace().next().expect("path").to_owned();
        } else if let Some((dir, rest)) = line.split_once(": ").filter(|(d, _)| *d == "c2s" || *d == "s2c") {
            let messages = rest.split_whitespace().next().expect("count").parse().expect("number");
            let wire_text = rest
                .split(" frames, ")
                .nth(1)
                .and_then(|s| s.split(" on the wire").next())
                .expect("wire bytes")
                .to_owned();
            let close = rest.rsplit(", close ").next().expect("close");
            let close_code = close.split_whitespace().next().and_then(|c| c.parse().ok());
            conn.dirs.insert(
                dir.to_owned(),
                DirLine {
                    messages,
                    wire_text,
                    close_code,
                },
            );
        } else if let Some(rest) = line.strip_prefix("RTT: ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            conn.rtt = Some((
                words[0].parse().expect("samples"),
                words[3].to_owned(),
                words[6].to_owned(),
                words[9].to_owned(),
                words[12].to_owned(),
            ));
        }
    }
    conns
}

fn bytes_text(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

fn ms(v: &Value) -> String {
    format!("{:.3}", v.as_f64().expect("a number"))
}

#[test]
fn duckdb_over_the_jsonl_of_several_captures_agrees_with_the_reports() {
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        common::skip_or_fail_in_ci("Python's duckdb is not installed (make py-deps)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let captures: Vec<_> = CAPTURES.iter().map(|c| common::captures_dir().join(c)).collect();
    let mut args = vec!["analyze".to_owned(), "--jsonl".to_owned()];
    args.extend(captures.iter().map(|p| p.display().to_string()));
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(&args)
        .output()
        .expect("run framescope");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Every record names its capture.
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).expect("a JSON record");
        let capture = record["capture"].as_str().expect("capture on every record");
        assert!(captures.iter().any(|p| p.display().to_string() == capture), "{capture}");
    }
    let fleet = dir.path().join("fleet.jsonl");
    std::fs::write(&fleet, &text).expect("write jsonl");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fleet-query.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&fleet)
        .arg("--json")
        .output()
        .expect("run the fleet queries");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut results: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).expect("utf-8").lines() {
        let v: Value = serde_json::from_str(line).expect("JSON");
        let rows = v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r.as_array().expect("row").clone())
            .collect();
        results.insert(v["query"].as_str().expect("name").to_owned(), rows);
    }

    // The reports, keyed like the queries' rows.
    let mut reports: BTreeMap<(String, u64), ConnReport> = BTreeMap::new();
    for capture in &captures {
        for (conn, r) in report(capture).into_iter().enumerate() {
            reports.insert((capture.display().to_string(), conn as u64), r);
        }
    }
    assert_eq!(reports.len(), 3 + 12 + 1 + 1);

    // Per connection and direction: messages exactly, bytes as the report rounds them.
    let rows = &results["per_connection"];
    assert_eq!(rows.len(), reports.len() * 2);
    for row in rows {
        let key = (
            row[0].as_str().expect("capture").to_owned(),
            row[1].as_u64().expect("conn"),
        );
        let dir = reports[&key].dirs[row[2].as_str().expect("dir")].clone();
        assert_eq!(row[3].as_u64(), Some(dir.messages), "{key:?}");
        assert_eq!(bytes_text(row[4].as_u64().expect("bytes")), dir.wire_text, "{key:?}");
    }

    // Top talkers: connections and messages per server.
    let mut by_server: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in reports.values() {
        let entry = by_server.entry(&r.server).or_default();
        entry.0 += 1;
        entry.1 += r.dirs.values().map(|d| d.messages).sum::<u64>();
    }
    let rows = &results["top_talkers"];
    assert_eq!(rows.len(), by_server.len());
    for row in rows {
        let (conns, messages) = by_server[row[0].as_str().expect("server")];
        assert_eq!(
            (row[1].as_u64(), row[2].as_u64()),
            (Some(conns), Some(messages)),
            "{row:?}"
        );
    }
    let wire: Vec<u64> = rows.iter().map(|r| r[3].as_u64().expect("bytes")).collect();
    assert!(wire.windows(2).all(|w| w[0] >= w[1]), "sorted by bytes: {wire:?}");

    // Close codes per server and direction.
    let mut closes: BTreeMap<(String, String, Option<u16>), u64> = BTreeMap::new();
    for r in reports.values() {
        for (dir, d) in &r.dirs {
            if d.close_code.is_some() {
                *closes.entry((r.server.clone(), dir.clone(), d.close_code)).or_default() += 1;
            }
        }
    }
    let queried: BTreeMap<(String, String, Option<u16>), u64> = results["close_codes"]
        .iter()
        .map(|r| {
            let code = r[2].as_u64().map(|c| c as u16);
            (
                (
                    r[0].as_str().unwrap().to_owned(),
                    r[1].as_str().unwrap().to_owned(),
                    code,
                ),
                r[3].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(queried, closes);
    assert!(closes.keys().any(|(_, _, c)| *c == Some(4001)) && closes.values().sum::<u64>() >= 30);

    // RTT percentiles per connection: the same samples and nearest-rank values.
    let rows = &results["rtt_per_connection"];
    let with_rtt = reports.values().filter(|r| r.rtt.is_some()).count();
    assert_eq!(rows.len(), with_rtt);
    assert!(with_rtt >= 15, "{with_rtt}");
    for row in rows {
        let key = (
            row[0].as_str().expect("capture").to_owned(),
            row[1].as_u64().expect("conn"),
        );
        let (samples, p50, p95, p99, max) = reports[&key].rtt.clone().expect("RTT in the report");
        assert_eq!(row[2].as_u64(), Some(samples), "{key:?}");
        assert_eq!(
            [ms(&row[3]), ms(&row[4]), ms(&row[5]), ms(&row[6])],
            [p50, p95, p99, max],
            "{key:?}"
        );
    }

    // Per path: a path with one connection has its numbers; /feed pools three connections.
    let per_path: BTreeMap<&str, &Vec<Value>> = results["rtt_per_path"]
        .iter()
        .map(|r| (r[0].as_str().expect("path"), r))
        .collect();
    for r in reports.values().filter(|r| r.path.starts_with("/room/")) {
        let (samples, p50, ..) = r.rtt.clone().expect("rtt");
        let row = per_path[r.path.as_str()];
        assert_eq!((row[1].as_u64(), ms(&row[2])), (Some(samples), p50), "{}", r.path);
    }
    let feed: Vec<_> = reports.values().filter(|r| r.path == "/feed").collect();
    let row = per_path["/feed"];
    let samples: u64 = feed.iter().map(|r| r.rtt.as_ref().expect("rtt").0).sum();
    assert_eq!(row[1].as_u64(), Some(samples));
    let max = feed
        .iter()
        .map(|r| r.rtt.as_ref().expect("rtt").4.clone())
        .max_by(|a, b| a.parse::<f64>().unwrap().total_cmp(&b.parse::<f64>().unwrap()));
    assert_eq!(Some(ms(&row[5])), max);
}
