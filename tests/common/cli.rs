//! Running the `framescope` binary from tests and reading its JSON Lines records.

use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

/// `framescope ARGS…`, whatever its exit status.
pub fn framescope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(args)
        .output()
        .expect("run framescope")
}

/// `framescope ARGS…`, which must succeed, its standard output read as JSON Lines.
pub fn records(args: &[&str]) -> Vec<Value> {
    let out = framescope(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `framescope analyze captures/NAME --jsonl EXTRA…`.
pub fn jsonl(capture: &str, extra: &[&str]) -> Vec<Value> {
    let path = super::captures_dir().join(capture);
    let mut args = vec!["analyze", path.to_str().expect("utf8 path"), "--jsonl"];
    args.extend_from_slice(extra);
    records(&args)
}

/// The records of one `type`.
pub fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// A message record's payload bytes.
pub fn payload(record: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(record["payload_b64"].as_str().expect("payload_b64"))
        .expect("base64")
}
