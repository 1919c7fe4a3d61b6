//! Peer logs (`captures/NAME.peers.json`): what a real client logged it sent and received on
//! each WebSocket, in a form that compares with framescope's `message` records.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Payloads over this many bytes compare by length and SHA-256 (browser_page.html logs them
/// so, to keep its log small).
const BIG: usize = 4096;

/// One message as both sides can state it: opcode and payload (or, when big, its digest).
#[derive(Debug, PartialEq, Eq)]
pub struct Logged {
    pub opcode: String,
    pub payload: Payload,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Payload {
    Bytes(Vec<u8>),
    Digest { len: usize, sha256: String },
}

impl Payload {
    fn of(bytes: Vec<u8>) -> Payload {
        if bytes.len() > BIG {
            Payload::Digest {
                len: bytes.len(),
                sha256: hex(&Sha256::digest(&bytes)),
            }
        } else {
            Payload::Bytes(bytes)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A peer log entry: `{"opcode":"text","text":…}`, `{"opcode":"text","repeat":"x","times":N}`,
/// `{"opcode":"binary","hex":…}` (or `"ping"`/`"pong"`), `{"opcode":…,"bytes":N,"sha256":…}` or
/// `{"opcode":"close","code":N,"reason":…}`.
pub fn logged_message(m: &Value) -> Logged {
    let opcode = m["opcode"].as_str().expect("opcode").to_owned();
    if let Some(sha256) = m["sha256"].as_str() {
        let len = m["bytes"].as_u64().expect("bytes") as usize;
        let payload = Payload::Digest {
            len,
            sha256: sha256.to_owned(),
        };
        return Logged { opcode, payload };
    }
    let bytes = match opcode.as_str() {
        "text" => match m["text"].as_str() {
            Some(text) => text.as_bytes().to_vec(),
            None => m["repeat"]
                .as_str()
                .expect("repeat")
                .repeat(m["times"].as_u64().expect("times") as usize)
                .into_bytes(),
        },
        "binary" | "ping" | "pong" => unhex(m["hex"].as_str().expect("hex")),
        "close" => {
            let code = m["code"].as_u64().expect("code") as u16;
            let mut p = code.to_be_bytes().to_vec();
            p.extend_from_slice(m["reason"].as_str().unwrap_or("").as_bytes());
            p
        }
        other => panic!("unexpected logged opcode {other}"),
    };
    Logged {
        opcode,
        payload: Payload::of(bytes),
    }
}

/// A list of logged messages (a peer's `sent` or `received`).
pub fn logged_messages(list: &Value) -> Vec<Logged> {
    list.as_array()
        .expect("message list")
        .iter()
        .map(logged_message)
        .collect()
}

/// framescope's messages on connection `conn` in direction `dir` ("c2s"/"s2c"), in order.
pub fn decoded_messages(records: &[Value], conn: &Value, dir: &str) -> Vec<Logged> {
    super::cli::of_type(records, "message")
        .into_iter()
        .filter(|m| &m["conn"] == conn && m["dir"] == dir)
        .map(|m| Logged {
            opcode: m["opcode"].as_str().expect("opcode").to_owned(),
            payload: Payload::of(super::cli::payload(m)),
        })
        .collect()
}

pub fn read_log(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("peer log")).expect("peer log json")
}
