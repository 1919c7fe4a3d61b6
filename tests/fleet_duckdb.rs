//! The fleet recipe (docs/fleet.md, issue 17) run for real: `analyze` over several captures
//! with `--jsonl` (records tagged with their capture) and with `--parquet` (one table per
//! record type), DuckDB running docs/fleet/queries.sql over each through
//! scripts/fleet-query.py, and every number checked against `analyze --summary` of each
//! capture; the Parquet tables also against the JSON Lines record by record. Needs Python's
//! duckdb (`make py-deps`): skipped without it, failed in CI.

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

type Results = BTreeMap<String, Vec<Vec<Value>>>;

fn has_duckdb() -> bool {
    let found = common::python_has("duckdb");
    if !found {
        common::skip_or_fail_in_ci("Python's duckdb is not installed (make py-deps)");
    }
    found
}

fn capture_paths() -> Vec<std::path::PathBuf> {
    CAPTURES.iter().map(|c| common::captures_dir().join(c)).collect()
}

/// `analyze ARGS… CAPTURES…`, which must succeed; its standard output.
fn analyze_all(args: &[&str], captures: &[std::path::PathBuf]) -> String {
    let mut all: Vec<String> = vec!["analyze".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all.extend(captures.iter().map(|p| p.display().to_string()));
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(&all)
        .output()
        .expect("run framescope");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs scripts/fleet-query.py on a JSON Lines file or a Parquet folder.
fn fleet_query(input: &Path) -> Results {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fleet-query.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(input)
        .arg("--json")
        .output()
        .expect("run the fleet queries");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut results = Results::new();
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
    results
}

/// DuckDB's rows of one SQL query (through Python, as JSON).
fn duckdb_rows(sql: &str) -> Vec<Vec<Value>> {
    let script =
        "import duckdb, json, sys\nprint(json.dumps(duckdb.connect().execute(sys.argv[1]).fetchall(), default=str))";
    let out = Command::new("python3")
        .args(["-c", script, sql])
        .output()
        .expect("run duckdb");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON rows")
}

/// Floats as the report prints them (the JSON Lines round `rtt_ms` to three decimals; the
/// Parquet tables keep the exact value), everything else as is.
fn normalised(results: &Results) -> Results {
    results
        .iter()
        .map(|(name, rows)| {
            let rows = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|v| match v {
                            Value::Number(n) if n.is_f64() => Value::String(ms(v)),
                            other => other.clone(),
                        })
                        .collect()
                })
                .collect();
            (name.clone(), rows)
        })
        .collect()
}

/// The reports of every capture, keyed like the queries' rows.
fn reports(captures: &[std::path::PathBuf]) -> BTreeMap<(String, u64), ConnReport> {
    let mut reports = BTreeMap::new();
    for capture in captures {
        for (conn, r) in report(capture).into_iter().enumerate() {
            reports.insert((capture.display().to_string(), conn as u64), r);
        }
    }
    assert_eq!(reports.len(), 3 + 12 + 1 + 1);
    reports
}

#[test]
fn duckdb_over_the_jsonl_of_several_captures_agrees_with_the_reports() {
    if !has_duckdb() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let captures = capture_paths();
    let text = analyze_all(&["--jsonl"], &captures);
    // Every record names its capture.
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).expect("a JSON record");
        let capture = record["capture"].as_str().expect("capture on every record");
        assert!(captures.iter().any(|p| p.display().to_string() == capture), "{capture}");
    }
    let fleet = dir.path().join("fleet.jsonl");
    std::fs::write(&fleet, &text).expect("write jsonl");
    check_against_reports(&fleet_query(&fleet), &reports(&captures));
}

#[test]
fn duckdb_over_the_parquet_of_several_captures_agrees_with_the_reports_and_the_jsonl() {
    if !has_duckdb() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let captures = capture_paths();
    let out = dir.path().join("fleet");
    let printed = analyze_all(&["--parquet", out.to_str().expect("utf-8")], &captures);
    assert_eq!(printed, "", "--parquet alone prints nothing");
    let mut tables: Vec<String> = std::fs::read_dir(&out)
        .expect("the Parquet folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            "anomalies.parquet",
            "app_rtts.parquet",
            "connections.parquet",
            "ends.parquet",
            "flows.parquet",
            "messages.parquet",
            "rtts.parquet"
        ]
    );
    let parquet = fleet_query(&out);
    check_against_reports(&parquet, &reports(&captures));

    // The same query results as over the JSON Lines of the same captures.
    let fleet = dir.path().join("fleet.jsonl");
    std::fs::write(&fleet, analyze_all(&["--jsonl"], &captures)).expect("write jsonl");
    let jsonl = fleet_query(&fleet);
    assert_eq!(normalised(&parquet), normalised(&jsonl));

    // Record by record: every message's typed columns equal its JSON Lines record, in the
    // same order within each capture (payloads as the bytes the JSON Lines carry in base64).
    let table = |name: &str| format!("'{}'", out.join(name).display());
    let parquet_messages = duckdb_rows(&format!(
        "SELECT capture, conn, dir, epoch_us(ts), epoch_us(first_ts), opcode, frames, compressed, wire_len, len, \
         base64(payload), close_code, close_reason, truncated, decoded FROM read_parquet({}) ",
        table("messages.parquet")
    ));
    let jsonl_messages = duckdb_rows(&format!(
        "SELECT capture, conn, dir, CAST(round(ts * 1e6) AS BIGINT), CAST(round(first_ts * 1e6) AS BIGINT), opcode, \
         frames, compressed, wire_len, len, payload_b64, close_code, close_reason, coalesce(truncated, false), \
         coalesce(decoded, true) FROM read_json('{}', format = 'newline_delimited', columns = {{capture: 'VARCHAR', \
         type: 'VARCHAR', conn: 'BIGINT', dir: 'VARCHAR', ts: 'DECIMAL(18,6)', first_ts: 'DECIMAL(18,6)', \
         opcode: 'VARCHAR', frames: 'BIGINT', compressed: 'BOOLEAN', wire_len: 'BIGINT', len: 'BIGINT', \
         payload_b64: 'VARCHAR', close_code: 'INTEGER', close_reason: 'VARCHAR', truncated: 'BOOLEAN', \
         decoded: 'BOOLEAN'}}) WHERE type = 'message'",
        fleet.display()
    ));
    let by_capture = |rows: Vec<Vec<Value>>| {
        let mut grouped: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
        for row in rows {
            grouped
                .entry(row[0].as_str().expect("capture").to_owned())
                .or_default()
                .push(row);
        }
        grouped
    };
    let (parquet_messages, jsonl_messages) = (by_capture(parquet_messages), by_capture(jsonl_messages));
    assert_eq!(parquet_messages.len(), CAPTURES.len());
    assert!(parquet_messages.values().map(Vec::len).sum::<usize>() > 100);
    assert_eq!(parquet_messages, jsonl_messages);

    // Every other table has one row per record of its type.
    let counts = duckdb_rows(&format!(
        "SELECT type, count(*) FROM read_json('{}', format = 'newline_delimited', columns = {{type: 'VARCHAR'}}) \
         GROUP BY type ORDER BY type",
        fleet.display()
    ));
    for row in counts {
        let (kind, count) = (row[0].as_str().expect("type"), row[1].as_u64().expect("count"));
        let file = match kind {
            "connection" => "connections.parquet",
            "message" => "messages.parquet",
            "rtt" => "rtts.parquet",
            "anomaly" => "anomalies.parquet",
            "end" => "ends.parquet",
            "flow" => "flows.parquet",
            "app_rtt" => "app_rtts.parquet",
            other => panic!("a record type without a table: {other}"),
        };
        let rows = duckdb_rows(&format!("SELECT count(*) FROM read_parquet({})", table(file)));
        assert_eq!(rows[0][0].as_u64(), Some(count), "{file}");
    }
}

#[test]
fn one_capture_names_itself_first_and_write_errors_exit_2() {
    if !has_duckdb() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = common::captures_dir().join("python-deflate-context-takeover.pcap");
    let out = dir.path().join("one");
    analyze_all(
        &["--parquet", out.to_str().expect("utf-8")],
        std::slice::from_ref(&capture),
    );
    let columns = duckdb_rows(&format!(
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{}'))",
        out.join("messages.parquet").display()
    ));
    let names: Vec<&str> = columns.iter().map(|c| c[0].as_str().expect("name")).collect();
    assert_eq!(names.get(..2), Some(&["capture", "conn"][..]), "{names:?}");
    let named = duckdb_rows(&format!(
        "SELECT DISTINCT capture FROM read_parquet('{}')",
        out.join("messages.parquet").display()
    ));
    assert_eq!(named, vec![vec![Value::String(capture.display().to_string())]]);
    let types: BTreeMap<&str, &str> = columns
        .iter()
        .map(|c| (c[0].as_str().expect("name"), c[1].as_str().expect("type")))
        .collect();
    assert_eq!(types["ts"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(types["payload"], "BLOB");
    assert_eq!(types["compressed"], "BOOLEAN");
    assert_eq!(types["close_code"], "INTEGER");
    let compressed = duckdb_rows(&format!(
        "SELECT count(*) FILTER (WHERE compressed), count(*) FROM read_parquet('{}')",
        out.join("messages.parquet").display()
    ));
    let (compressed, all) = (
        compressed[0][0].as_u64().expect("n"),
        compressed[0][1].as_u64().expect("n"),
    );
    assert!(compressed > 0 && compressed < all, "{compressed} of {all}");

    // OUT is a file: nothing can be created in it.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"x").expect("a file");
    let run = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_framescope"))
            .args(["analyze", "--parquet", out.to_str().expect("utf-8"), "--quiet"])
            .arg(&capture)
            .output()
            .expect("run framescope")
    };
    let failed = run(&blocked);
    assert_eq!(failed.status.code(), Some(2));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot create the Parquet folder"), "{err}");

    // A table whose writes fail (the disk is full): one line naming it, exit 2.
    let full = dir.path().join("full");
    std::fs::create_dir(&full).expect("dir");
    std::os::unix::fs::symlink("/dev/full", full.join("messages.parquet")).expect("symlink");
    let failed = run(&full);
    assert_eq!(failed.status.code(), Some(2));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("messages.parquet") && err.contains("No space left"),
        "{err}"
    );
}

fn check_against_reports(results: &Results, reports: &BTreeMap<(String, u64), ConnReport>) {
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

/// One capture per run still names its capture, so the folders of separate runs (a
/// scheduler's map step, one run per file) read as one table.
#[test]
fn parquet_folders_of_separate_runs_read_as_one_table() {
    if !has_duckdb() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let captures = capture_paths();
    for (i, capture) in captures.iter().enumerate() {
        let out = dir.path().join(i.to_string());
        analyze_all(
            &["--parquet", out.to_str().expect("utf-8")],
            std::slice::from_ref(capture),
        );
    }
    let pattern = dir.path().join("*").join("messages.parquet");
    let counted = duckdb_rows(&format!(
        "SELECT capture, count(*) FROM read_parquet('{}') GROUP BY capture ORDER BY capture",
        pattern.display()
    ));
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for line in analyze_all(&["--jsonl"], &captures).lines() {
        let record: Value = serde_json::from_str(line).expect("a JSON record");
        if record["type"] == "message" {
            *expected
                .entry(record["capture"].as_str().expect("capture").to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(expected.len(), captures.len());
    let counted: BTreeMap<String, u64> = counted
        .iter()
        .map(|row| {
            (
                row[0].as_str().expect("capture").to_owned(),
                row[1].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(counted, expected);
}
