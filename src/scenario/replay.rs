//! A captured connection becomes a scenario (`framescope test --from CAPTURE`): the client's
//! messages are sends (with the original gaps, scaled, or none), the server's are
//! expectations of the next message — exact, except for the JSON fields marked as varying.
//! The capture is read by the engine like `analyze` reads it (pcap, pcapng or HAR).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;

use crate::analysis::event::{CollectSink, ConnectionInfo, OwnedMessage};
use crate::analysis::ws::frame::OpCode;
use crate::analysis::{Analyzer, AnalyzerConfig, Direction};
use crate::capture::OfflineReader;
use crate::capture::har::{HarFile, looks_like_har};
use crate::scenario::model::*;

/// How the sends are spaced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Timing {
    /// The capture's gaps between client messages.
    Original,
    /// Those gaps times a factor (0.5 = twice as fast).
    Scaled(f64),
    /// No waiting: each send as soon as the expectations before it are met.
    Fast,
}

impl std::str::FromStr for Timing {
    type Err = String;

    fn from_str(s: &str) -> Result<Timing, String> {
        match s {
            "original" => Ok(Timing::Original),
            "fast" => Ok(Timing::Fast),
            _ => match s.strip_prefix("scaled:").map(str::parse::<f64>) {
                Some(Ok(f)) if (0.0..=1000.0).contains(&f) => Ok(Timing::Scaled(f)),
                _ => Err(format!(
                    "'{s}' is not original, fast or scaled:FACTOR (a factor from 0 to 1000)"
                )),
            },
        }
    }
}

/// What to turn into a scenario.
pub struct ReplayOptions {
    /// The connection's number (as `analyze` numbers them); the first when `None`.
    pub conn: Option<u32>,
    pub timing: Timing,
    /// JSON paths whose values may differ (ids, times, sequence numbers).
    pub vary: Vec<String>,
}

/// The capture's WebSocket connections and messages.
struct Captured {
    connections: Vec<ConnectionInfo>,
    messages: Vec<OwnedMessage>,
    /// URLs a HAR names, by connection number.
    urls: BTreeMap<u32, String>,
}

fn read(path: &Path) -> Result<Captured, String> {
    let mut sink = CollectSink::default();
    let mut urls = BTreeMap::new();
    if looks_like_har(path) {
        let har = HarFile::open(path).map_err(|e| e.to_string())?;
        for c in &har.connections {
            urls.insert(c.info.conn, c.url.clone());
        }
        har.replay(&mut sink);
    } else {
        let mut reader = OfflineReader::open(path).map_err(|e| e.to_string())?;
        let mut analyzer = Analyzer::new(AnalyzerConfig::default());
        reader.run(&mut analyzer, &mut sink, &mut |_| true);
        analyzer.finish(&mut sink);
    }
    Ok(Captured {
        connections: sink.connections,
        messages: sink.messages,
        urls,
    })
}

/// One line per connection, for choosing `--conn`.
fn listing(c: &Captured) -> String {
    c.connections
        .iter()
        .map(|info| {
            let n = c.messages.iter().filter(|m| m.conn == info.conn).count();
            let path = info
                .handshake
                .as_ref()
                .and_then(|h| h.request.as_ref())
                .map_or("?", |r| r.path.as_str());
            format!(
                "  {}: {} -> {} {path} ({n} messages)",
                info.conn, info.client, info.server
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scenario for one connection of the capture at `path`.
pub fn scenario_from_capture(path: &Path, options: &ReplayOptions) -> Result<Scenario, String> {
    let captured = read(path)?;
    scenario_from(&captured, &file_name(path), options)
}

/// The scenario for one connection of what the window holds (`source` names it in the
/// scenario's name): the store's messages replayed as events, as the exporters read them.
pub fn scenario_from_store(
    store: &crate::store::Store,
    source: &str,
    options: &ReplayOptions,
) -> Result<Scenario, String> {
    let rows: Vec<u32> = (0..store.messages.len() as u32)
        .filter(|&i| {
            options
                .conn
                .is_none_or(|c| store.messages.get(i as usize).is_some_and(|m| m.conn == c))
        })
        .collect();
    let mut sink = CollectSink::default();
    crate::store::replay::replay(store, &rows, &mut sink);
    let captured = Captured {
        connections: sink.connections,
        messages: sink.messages,
        urls: BTreeMap::new(),
    };
    scenario_from(&captured, source, options)
}

fn scenario_from(captured: &Captured, source: &str, options: &ReplayOptions) -> Result<Scenario, String> {
    if captured.connections.is_empty() {
        return Err(format!("{source} has no WebSocket connection"));
    }
    let info = match options.conn {
        None => captured.connections.first(),
        Some(n) => captured.connections.iter().find(|c| c.conn == n),
    }
    .ok_or_else(|| {
        format!(
            "{source} has no connection {}; it has:\n{}",
            options.conn.unwrap_or_default(),
            listing(captured)
        )
    })?;
    for v in &options.vary {
        crate::scenario::vars::parse_json_path(v)?;
    }
    let messages: Vec<&OwnedMessage> = captured.messages.iter().filter(|m| m.conn == info.conn).collect();
    let request = info.handshake.as_ref().and_then(|h| h.request.as_ref());
    let url = captured.urls.get(&info.conn).cloned().unwrap_or_else(|| {
        let scheme = if info.tls.is_some() { "wss" } else { "ws" };
        let host = request
            .and_then(|r| r.header("host"))
            .map_or_else(|| info.server.to_string(), str::to_owned);
        format!("{scheme}://{host}{}", request.map_or("/", |r| r.path.as_str()))
    });
    let mut client = ClientSpec::default();
    if let Some(h) = &info.handshake {
        client.subprotocols = h.subprotocol.iter().cloned().collect();
        client.origin = request.and_then(|r| r.header("origin")).map(str::to_owned);
    }
    let name = "client".to_owned();
    let mut steps = vec![Step::Connect(ConnectStep {
        client: name.clone(),
        name: None,
        expect_status: None,
        within_ms: None,
        measure: None,
    })];
    let mut last_client_ts = None;
    let mut last_ts = info.first_ts;
    for m in messages {
        let gap_ms = m.ts.millis_since(last_ts).max(0.0);
        last_ts = m.ts;
        match m.dir {
            Direction::ClientToServer => {
                let since_prev = last_client_ts.map_or(0.0, |t| m.ts.millis_since(t).max(0.0));
                last_client_ts = Some(m.ts);
                let wait = match options.timing {
                    Timing::Original => since_prev,
                    Timing::Scaled(f) => since_prev * f,
                    Timing::Fast => 0.0,
                };
                // Below a millisecond the scheduler's own delay is larger.
                if wait >= 1.0 {
                    steps.push(Step::Sleep(SleepStep {
                        ms: wait.round() as u64,
                    }));
                }
                match send_step(m, &name) {
                    Some(Step::Close(c)) => {
                        steps.push(Step::Close(c));
                        break;
                    }
                    Some(step) => steps.push(step),
                    None => {}
                }
            }
            Direction::ServerToClient => {
                if m.opcode == OpCode::Close {
                    steps.push(Step::ExpectClose(ExpectCloseStep {
                        client: name.clone(),
                        name: None,
                        any: false,
                        code: m.close_code,
                        reason: None,
                        within_ms: within(gap_ms, options.timing),
                    }));
                    break;
                }
                if let Some(e) = expect_step(m, &name, &options.vary, within(gap_ms, options.timing)) {
                    steps.push(Step::Expect(e));
                }
            }
        }
    }
    Ok(Scenario {
        name: format!("replay of connection {} of {source}", info.conn),
        url: Some(url),
        vars: BTreeMap::new(),
        timeout_ms: default_timeout_ms(),
        clients: BTreeMap::from([(name, client)]),
        steps,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A longer limit than the default when the server took long in the capture.
fn within(gap_ms: f64, timing: Timing) -> Option<u64> {
    let scaled = match timing {
        Timing::Scaled(f) => gap_ms * f.max(1.0),
        _ => gap_ms,
    };
    let want = scaled * 2.0 + 1000.0;
    (want > default_timeout_ms() as f64).then(|| want.min(3_600_000.0).round() as u64)
}

fn send_step(m: &OwnedMessage, client: &str) -> Option<Step> {
    let mut s = SendStep {
        client: client.to_owned(),
        ..SendStep::default()
    };
    match m.opcode {
        OpCode::Text => match std::str::from_utf8(&m.payload) {
            Ok(t) => s.text = Some(t.to_owned()),
            Err(_) => s.binary_base64 = Some(base64::engine::general_purpose::STANDARD.encode(&m.payload)),
        },
        OpCode::Binary => s.binary_base64 = Some(base64::engine::general_purpose::STANDARD.encode(&m.payload)),
        // Ping payloads are sent as text; one that is not UTF-8 is left out.
        OpCode::Ping => s.ping = Some(String::from_utf8(m.payload.clone()).ok()?),
        OpCode::Close => {
            return Some(Step::Close(CloseStep {
                client: client.to_owned(),
                name: None,
                code: m.close_code.unwrap_or(1000),
                reason: m.close_reason().map(|r| r.into_owned()).unwrap_or_default(),
                expect_code: None,
                within_ms: None,
            }));
        }
        // Pongs answer the server's pings, which the client library answers by itself.
        _ => return None,
    }
    Some(Step::Send(s))
}

fn expect_step(m: &OwnedMessage, client: &str, vary: &[String], within_ms: Option<u64>) -> Option<ExpectStep> {
    let mut e = ExpectStep {
        client: client.to_owned(),
        within_ms,
        ..ExpectStep::default()
    };
    match m.opcode {
        OpCode::Text => {
            let text = String::from_utf8_lossy(&m.payload).into_owned();
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(doc) if doc.is_object() || doc.is_array() => {
                    e.ignore = vary
                        .iter()
                        .filter(|p| {
                            crate::scenario::vars::parse_json_path(p)
                                .ok()
                                .and_then(|path| crate::scenario::vars::walk(&doc, &path).map(|_| ()))
                                .is_some()
                        })
                        .cloned()
                        .collect();
                    e.json = Some(doc);
                    e.exact = true;
                }
                _ => e.text = Some(text),
            }
        }
        OpCode::Binary => e.binary_base64 = Some(base64::engine::general_purpose::STANDARD.encode(&m.payload)),
        // Server pings and pongs depend on timers, not on what was sent.
        _ => return None,
    }
    Some(e)
}

/// The scenario as RON text, readable and loadable by `load`.
pub fn to_ron(s: &Scenario) -> Result<String, String> {
    let config = ron::ser::PrettyConfig::new()
        .struct_names(true)
        .extensions(ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES);
    ron::ser::to_string_pretty(s, config).map_err(|e| format!("cannot write the scenario: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_options_parse() {
        assert_eq!("fast".parse::<Timing>(), Ok(Timing::Fast));
        assert_eq!("scaled:0.5".parse::<Timing>(), Ok(Timing::Scaled(0.5)));
        assert!("scaled:-1".parse::<Timing>().is_err());
        assert!("slow".parse::<Timing>().is_err());
    }

    #[test]
    fn a_generated_scenario_reads_back_the_same() {
        let m = |dir, opcode, payload: &str| OwnedMessage {
            facts: crate::analysis::event::MessageFacts::one_frame(
                0,
                dir,
                opcode,
                crate::analysis::Timestamp::from_nanos(0),
                payload.len() as u64,
            ),
            payload: payload.as_bytes().to_vec(),
        };
        let send = send_step(&m(Direction::ClientToServer, OpCode::Text, r#"{"a":1}"#), "c").expect("send");
        let expect = expect_step(
            &m(
                Direction::ServerToClient,
                OpCode::Text,
                r#"{"id":"x7","ok":true,"n":null}"#,
            ),
            "c",
            &["id".to_owned(), "missing".to_owned()],
            None,
        )
        .expect("expect");
        assert_eq!(expect.ignore, vec!["id".to_owned()]);
        let s = Scenario {
            name: "t".into(),
            url: Some("ws://127.0.0.1:9/".into()),
            clients: BTreeMap::from([("c".to_owned(), ClientSpec::default())]),
            steps: vec![send, Step::Expect(expect), Step::Sleep(SleepStep { ms: 5 })],
            timeout_ms: 2000,
            ..Scenario::default()
        };
        let text = to_ron(&s).expect("ron");
        let back = crate::scenario::load::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(to_ron(&back).expect("ron"), text);
        match back.steps.get(1) {
            Some(Step::Expect(e)) => {
                assert_eq!(e.json, Some(serde_json::json!({"id": "x7", "ok": true, "n": null})));
                assert!(e.exact);
            }
            other => panic!("{other:?}\n{text}"),
        }
    }
}
