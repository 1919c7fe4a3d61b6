//! Application messages built by framescope (`live::app_send`), sent by scenario files
//! (`Send(app: …)`) to real servers on 127.0.0.1: python-socketio (tests/servers/
//! socketio_server.py, which logs every event it receives) and Mosquitto behind
//! tests/servers/mqtt_ws_relay.py (Mosquitto answers and delivers only what it parsed). The run's recording is then
//! decoded by `analyze --jsonl`, so what was sent is also checked as framescope reads it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs a scenario; returns the report's step statuses and the recording's JSON Lines.
fn run_scenario(dir: &Path, scenario: &str, url: &str) -> (Vec<(String, String)>, Vec<Value>) {
    let file = dir.join("s.ron");
    std::fs::write(&file, scenario).expect("write scenario");
    let (report, record) = (dir.join("r.json"), dir.join("run.pcapng"));
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["test", path_str(&file), "--url", url])
        .args(["--report", path_str(&report), "--record", path_str(&record)])
        .output()
        .expect("run framescope test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let steps = r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap_or("").to_owned(),
                s["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["analyze", path_str(&record), "--jsonl"])
        .output()
        .expect("run framescope analyze");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    (steps, records)
}

/// The `app` objects of the recording's messages, with their direction.
fn apps(records: &[Value]) -> Vec<(String, Value)> {
    records
        .iter()
        .filter(|r| r["type"] == "message" && r.get("app").is_some())
        .map(|r| (r["dir"].as_str().unwrap_or("").to_owned(), r["app"].clone()))
        .collect()
}

const SOCKETIO: &str = r#"Scenario(
    name: "socket.io",
    clients: { "c": () },
    steps: [
        Connect(client: "c"),
        Expect(client: "c", regex: "^0\\{.*\"sid\""),
        Send(client: "c", app: SocketIoConnect(namespace: "/")),
        Expect(client: "c", regex: "^40\\{"),
        Send(client: "c", app: SocketIoConnect(namespace: "/chat")),
        Expect(client: "c", regex: "^40/chat,\\{"),
        Send(client: "c", app: SocketIoEmit(namespace: "/chat", event: "message", args: ["hi", {"n": 1}], ack: 7)),
        Expect(client: "c", regex: "^43/chat,7\\[\\[\"got\",\"message\",\"hi\",\\{\"n\":1\\}\\]\\]$"),
        Send(client: "c", app: SocketIoEmit(namespace: "/", event: "add", args: [2, 3])),
        Sleep(ms: 200),
    ],
)"#;

#[test]
fn a_socketio_emit_built_by_a_scenario_reaches_python_socketio_and_is_acknowledged() {
    let child = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/socketio_server.py"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let Ok(child) = child else {
        common::skip_or_fail_in_ci("python3 cannot be started");
        return;
    };
    let mut server = Server(child);
    let mut lines = BufReader::new(server.0.stdout.take().expect("stdout")).lines();
    let port = match lines.next() {
        Some(Ok(l)) if l.starts_with("PORT ") => l[5..].trim().to_owned(),
        other => {
            // python-socketio or aiohttp missing: `make py-deps` installs them.
            common::skip_or_fail_in_ci(&format!("the socket.io server did not start: {other:?}"));
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (steps, records) = run_scenario(dir.path(), SOCKETIO, &url);
    assert!(steps.iter().all(|(_, s)| s == "pass"), "{steps:?}");
    drop(server.0.kill());
    // What the server logged it received: exactly the events the scenario built.
    let got: Vec<Value> = lines
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert_eq!(
        got,
        [
            json!({"nsp": "/chat", "event": "message", "args": ["hi", {"n": 1}]}),
            json!({"nsp": "/", "event": "add", "args": [2, 3]}),
        ]
    );
    // And as framescope decodes the recording: the emit and its ack, paired.
    let apps = apps(&records);
    let emit = apps
        .iter()
        .find(|(d, a)| d == "c2s" && a["fields"]["event"] == "message")
        .expect("the emit");
    assert_eq!(emit.1["fields"]["ack_id"], 7);
    assert_eq!(emit.1["fields"]["nsp"], "/chat");
    let rtts = records
        .iter()
        .filter(|r| r["type"] == "app_rtt" && r["protocol"] == "socketio")
        .count();
    assert_eq!(rtts, 1);
}

/// A free port on 127.0.0.1 (closed again before Mosquitto binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn mqtt_scenario(publish_qos0_hex: &str) -> String {
    format!(
        r#"Scenario(
    name: "mqtt",
    clients: {{ "m": (subprotocols: ["mqtt"]), "v5": (subprotocols: ["mqtt"]) }},
    steps: [
        Connect(client: "m"),
        Send(client: "m", app: MqttConnect(client_id: "fs-test")),
        Expect(client: "m", binary_hex: "20020000"),
        Send(client: "m", app: MqttSubscribe(packet_id: 1, topic: "fs/#", qos: 1)),
        Expect(client: "m", binary_hex: "9003000101"),
        Send(client: "m", app: MqttPublish(topic: "fs/t1", payload: "21.5")),
        Expect(client: "m", binary_hex: "{publish_qos0_hex}"),
        Send(client: "m", app: MqttPublish(topic: "other/t", payload: "x", qos: 1, packet_id: 9)),
        Expect(client: "m", binary_hex: "40020009"),
        Connect(client: "v5"),
        Send(client: "v5", app: MqttConnect(client_id: "fs-v5", v5: true)),
        Expect(client: "v5", kind: Binary),
        Send(client: "v5", app: MqttPublish(topic: "fs/t5", payload: "five", qos: 1, packet_id: 3, v5: true)),
        // Delivered to m at QoS 1 with Mosquitto's first packet id: 0x32, topic, id 1, payload.
        Expect(client: "m", binary_hex: "320d000566732f7435000166697665"),
    ],
)"#
    )
}

#[test]
fn mqtt_packets_built_by_a_scenario_are_answered_and_delivered_by_mosquitto() {
    let broker_port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .expect("write conf");
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        common::skip_or_fail_in_ci("mosquitto is not installed (apt mosquitto; make py-deps)");
        return;
    };
    let _broker = Server(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", broker_port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "mosquitto did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Mosquitto's own websockets listener does not start on Debian 12 (see the relay).
    let relay = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/mqtt_ws_relay.py"))
        .arg(broker_port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3");
    let mut relay = Server(relay);
    let mut lines = BufReader::new(relay.0.stdout.take().expect("stdout")).lines();
    let port = match lines.next() {
        Some(Ok(l)) if l.starts_with("PORT ") => l[5..].trim().to_owned(),
        other => panic!("the relay did not start: {other:?}"),
    };
    let built = framescope::live::app_send::AppSend::MqttPublish {
        topic: "fs/t1".into(),
        payload: "21.5".into(),
        qos: 0,
        retain: false,
        packet_id: None,
        v5: false,
    };
    let framescope::live::app_send::Built::Binary(bytes) = built.build().expect("builds") else {
        panic!("MQTT is binary");
    };
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let (steps, records) = run_scenario(dir.path(), &mqtt_scenario(&hex), &format!("ws://127.0.0.1:{port}/mqtt"));
    assert!(steps.iter().all(|(_, s)| s == "pass"), "{steps:?}");
    // The recording, decoded: what was sent and what Mosquitto made of it.
    let apps = apps(&records);
    let types = |dir: &str| -> Vec<String> {
        apps.iter()
            .filter(|(d, _)| d == dir)
            .map(|(_, a)| a["fields"]["type"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        types("c2s"),
        ["CONNECT", "SUBSCRIBE", "PUBLISH", "PUBLISH", "CONNECT", "PUBLISH"]
    );
    let delivered: Vec<Value> = apps
        .iter()
        .filter(|(d, a)| d == "s2c" && a["fields"]["type"] == "PUBLISH")
        .map(|(_, a)| json!([a["fields"]["topic"], a["fields"]["payload"]]))
        .collect();
    assert_eq!(delivered, [json!(["fs/t1", "21.5"]), json!(["fs/t5", "five"])]);
    let v5 = apps
        .iter()
        .find(|(_, a)| a["fields"]["client_id"] == "fs-v5")
        .expect("the v5 CONNECT");
    assert_eq!(v5.1["fields"]["version"], "5.0");
}
