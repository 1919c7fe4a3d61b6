//! Application protocols decoded from real sessions between real libraries
//! (`captures/app-*.pcap`, recorded by `captures/make_app_captures.py`), run through
//! `framescope analyze --jsonl`. Expected values are what the script told the peers to send.

mod common;

use std::process::Command;

use serde_json::{Value, json};

use common::cli::jsonl;

/// The `app` objects of message records, in order, with the message's direction.
fn apps(records: &[Value]) -> Vec<(String, Value)> {
    records
        .iter()
        .filter(|r| r["type"] == "message" && r.get("app").is_some())
        .map(|r| (r["dir"].as_str().unwrap_or("").to_owned(), r["app"].clone()))
        .collect()
}

fn rtts<'a>(records: &'a [Value], protocol: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["type"] == "app_rtt" && r["protocol"] == protocol)
        .collect()
}

fn find(apps: &[(String, Value)], pred: impl Fn(&Value) -> bool) -> &Value {
    &apps
        .iter()
        .find(|(_, a)| pred(a))
        .unwrap_or_else(|| panic!("no such app message in {apps:#?}"))
        .1
}

fn no_anomalies(records: &[Value]) {
    let bad: Vec<&Value> = records.iter().filter(|r| r["type"] == "anomaly").collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn socketio_events_acks_namespaces_and_a_binary_attachment_are_decoded() {
    let records = jsonl("app-socketio.pcap", &[]);
    no_anomalies(&records);
    let apps = apps(&records);
    let open = &apps[0].1;
    assert_eq!((apps[0].0.as_str(), &open["protocol"]), ("s2c", &json!("engineio")));
    assert_eq!(open["fields"]["type"], "open");
    let chat = find(&apps, |a| a["fields"]["event"] == "chat");
    assert_eq!(chat["protocol"], "socketio");
    assert_eq!(chat["fields"]["type"], "EVENT");
    assert_eq!(chat["fields"]["nsp"], "/");
    assert_eq!(chat["fields"]["args"], json!(["hi", 42]));
    assert_eq!(chat["summary"], r#"EVENT / "chat" ["hi",42]"#);
    let reply = find(&apps, |a| a["fields"]["event"] == "reply");
    assert_eq!(reply["fields"]["args"], json!([{"echo": "hi", "n": 42}]));
    // The Buffer argument arrives as a binary message joined to its placeholder.
    let joined = find(&apps, |a| {
        a["fields"]["event"] == "upload" && a["fields"].get("attachment").is_some()
    });
    assert_eq!(joined["fields"]["type"], "BINARY_EVENT");
    assert_eq!(joined["fields"]["args"][0]["hex"], "0102030405");
    assert_eq!(joined["fields"]["args"][1], "photo.bin");
    let add = find(&apps, |a| a["fields"]["event"] == "add");
    let ack_id = add["fields"]["ack_id"].clone();
    let ack = find(&apps, |a| {
        a["fields"]["type"] == "ACK" && a["fields"]["ack_id"] == ack_id && a["fields"]["nsp"] == "/"
    });
    assert_eq!(ack["fields"]["args"], json!([5]));
    let join = find(&apps, |a| a["fields"]["event"] == "join");
    assert_eq!(join["fields"]["nsp"], "/chat");
    let keys: Vec<&str> = rtts(&records, "socketio")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(keys, ["upload", "add", "join"]);
}

#[test]
fn mqtt_311_and_5_sessions_show_topics_qos_retain_properties_and_round_trips() {
    let records = jsonl("app-mqtt.pcap", &[]);
    no_anomalies(&records);
    let apps = apps(&records);
    assert!(apps.iter().all(|(_, a)| a["protocol"] == "mqtt"));
    let connect = find(&apps, |a| a["fields"]["client_id"] == "fs-v311");
    assert_eq!(
        (connect["fields"]["type"].clone(), connect["fields"]["version"].clone()),
        (json!("CONNECT"), json!("3.1.1"))
    );
    let connect5 = find(&apps, |a| a["fields"]["client_id"] == "fs-v5");
    assert_eq!(connect5["fields"]["version"], "5.0");
    assert_eq!(connect5["fields"]["properties"]["session_expiry_interval"], 30);
    let t1 = find(&apps, |a| a["fields"]["topic"] == "sensors/t1");
    assert_eq!(
        (t1["fields"]["qos"].clone(), t1["fields"]["payload"].clone()),
        (json!(1), json!("21.5"))
    );
    let t2 = find(&apps, |a| a["fields"]["topic"] == "sensors/t2");
    assert_eq!(
        (t2["fields"]["qos"].clone(), t2["fields"]["payload"].clone()),
        (json!(0), json!({"t": 19.0}))
    );
    let retained = find(&apps, |a| a["fields"]["topic"] == "status/fs");
    assert_eq!(retained["fields"]["retain"], true);
    let t3 = find(&apps, |a| a["fields"]["topic"] == "sensors/t3");
    assert_eq!(t3["fields"]["properties"]["user_properties"], json!([["unit", "C"]]));
    // The broker's delivery of sensors/t1 and its PUBACK arrived packed in one message.
    let packed = find(&apps, |a| a["fields"].get("packets").is_some());
    assert_eq!(packed["fields"]["packets"].as_array().map(Vec::len), Some(2));
    let keys: Vec<&str> = rtts(&records, "mqtt")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    for key in [
        "CONNECT",
        "sensors/#",
        "sensors/t1",
        "status/fs",
        "status/#",
        "sensors/t3",
    ] {
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
}

#[test]
fn stomp_frames_from_stompjs_show_command_destination_json_body_and_receipts() {
    let records = jsonl("app-stomp.pcap", &[]);
    no_anomalies(&records);
    let apps = apps(&records);
    let commands: Vec<&str> = apps
        .iter()
        .filter_map(|(_, a)| a["fields"]["command"].as_str())
        .collect();
    assert_eq!(
        commands,
        [
            "CONNECT",
            "CONNECTED",
            "SUBSCRIBE",
            "SEND",
            "RECEIPT",
            "MESSAGE",
            "DISCONNECT",
            "RECEIPT"
        ]
    );
    let send = find(&apps, |a| a["fields"]["command"] == "SEND");
    assert_eq!(send["summary"], "SEND /queue/a");
    assert_eq!(send["fields"]["header"]["receipt"], "r-1");
    assert_eq!(send["fields"]["body"], json!({"n": 1, "text": "hello stomp"}));
    let message = find(&apps, |a| a["fields"]["command"] == "MESSAGE");
    assert_eq!(message["fields"]["body"]["text"], "hello stomp");
    let keys: Vec<&str> = rtts(&records, "stomp")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(keys, ["/queue/a", "DISCONNECT"]);
}

#[test]
fn graphql_ws_subscription_and_query_are_decoded_and_timed_to_the_first_next() {
    let records = jsonl("app-graphql-ws.pcap", &[]);
    no_anomalies(&records);
    let apps = apps(&records);
    let sub = find(&apps, |a| a["fields"]["operation"] == "Greetings");
    assert_eq!(sub["fields"]["type"], "subscribe");
    let nexts: Vec<&Value> = apps
        .iter()
        .filter(|(_, a)| a["fields"]["type"] == "next" && a["fields"]["id"] == sub["fields"]["id"])
        .map(|(_, a)| &a["fields"]["data"]["greetings"])
        .collect();
    assert_eq!(nexts, [&json!("Hi"), &json!("Bonjour"), &json!("Hola")]);
    let hello = find(&apps, |a| a["fields"]["operation"] == "Hello");
    assert_eq!(hello["fields"]["variables"], json!({"name": "framescope"}));
    let keys: Vec<&str> = rtts(&records, "graphql")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(keys, ["Greetings", "Hello"]);
}

#[test]
fn jsonrpc_requests_notifications_batches_and_errors_pair_by_id() {
    let records = jsonl("app-jsonrpc.pcap", &[]);
    no_anomalies(&records);
    let apps = apps(&records);
    let kinds: Vec<&str> = apps.iter().filter_map(|(_, a)| a["fields"]["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "request",
            "response",
            "notification",
            "batch",
            "batch",
            "request",
            "error"
        ]
    );
    assert_eq!(apps[0].1["fields"]["method"], "add");
    assert_eq!(apps[0].1["fields"]["params"], json!([2, 3]));
    assert_eq!(apps[1].1["fields"]["result"], 5);
    assert_eq!(apps[4].1["fields"]["items"][1]["result"], "x");
    assert_eq!(apps[6].1["fields"]["error"]["code"], -32601);
    let keys: Vec<&str> = rtts(&records, "jsonrpc")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(keys, ["add", "add", "echo", "nope"]);
    assert!(
        rtts(&records, "jsonrpc")
            .iter()
            .all(|r| r["rtt_ms"].as_f64().is_some_and(|ms| ms > 0.0))
    );
}

#[test]
fn messagepack_and_cbor_messages_are_recognised_by_content_and_shown_as_trees() {
    let records = jsonl("app-msgpack-cbor.pcap", &[]);
    no_anomalies(&records);
    let apps = apps(&records);
    let protocols: Vec<&str> = apps.iter().filter_map(|(_, a)| a["protocol"].as_str()).collect();
    assert_eq!(protocols, ["msgpack", "msgpack", "cbor", "cbor"]);
    assert_eq!(
        apps[0].1["fields"]["value"],
        json!({"op": "add", "args": [1, 2], "tags": ["a", "b"]})
    );
    assert_eq!(apps[1].1["fields"]["value"], json!({"result": 3, "op": "add"}));
    assert_eq!(apps[2].1["fields"]["value"]["blob"]["hex"], "000102");
    assert_eq!(apps[3].1["fields"]["value"], json!({"result": 12, "op": "mul"}));
}

#[test]
fn decode_as_forces_a_protocol_and_no_app_turns_decoding_off() {
    // The JSON-RPC text forced to STOMP is malformed STOMP: findings, not a crash.
    let records = jsonl("app-jsonrpc.pcap", &["--decode-as", "/rpc=stomp"]);
    assert!(apps(&records).iter().all(|(_, a)| a["protocol"] == "stomp"));
    assert!(records.iter().any(|r| r["kind"] == "stomp-malformed"));
    let records = jsonl("app-jsonrpc.pcap", &["--no-app"]);
    assert!(apps(&records).is_empty());
    assert!(rtts(&records, "jsonrpc").is_empty());
}

#[test]
fn captures_without_application_protocols_get_no_app_fields() {
    let records = jsonl("synthetic-mixed-json.pcap", &[]);
    assert!(records.iter().filter(|r| r["type"] == "message").count() > 100);
    assert!(apps(&records).is_empty(), "{:#?}", apps(&records).first());
}

#[test]
fn protobuf_well_known_types_are_walked_without_a_schema() {
    let records = jsonl("app-protobuf.pcap", &[]);
    no_anomalies(&records);
    let apps = apps(&records);
    assert_eq!(apps.len(), 2, "{apps:#?}");
    assert!(apps.iter().all(|(_, a)| a["protocol"] == "protobuf"));
    // Struct: field 1 is a repeated map entry {1: key, 2: Value}; Value.number_value is
    // field 2 (a double), Value.string_value field 3.
    let entries = apps[0].1["fields"]["fields"]["1"].as_array().expect("repeated entries");
    let celsius = entries.iter().find(|e| e["1"] == "celsius").expect("celsius entry");
    assert_eq!(celsius["2"]["2"]["double"], 21.5);
    let sensor = entries.iter().find(|e| e["1"] == "sensor").expect("sensor entry");
    assert_eq!(sensor["2"]["3"], "t1");
    // Timestamp: seconds (field 1) and nanos (field 2) as varints.
    assert_eq!(apps[1].1["fields"]["fields"], json!({"1": 1_700_000_000u64, "2": 500}));
}

#[test]
fn protobuf_messages_decode_with_the_users_message_types_per_direction() {
    let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sensor.proto");
    let proto = proto.to_str().expect("utf8 path");
    let records = jsonl(
        "app-protobuf.pcap",
        &[
            "--proto",
            proto,
            "--proto-message",
            "c2s=google.protobuf.Struct",
            "--proto-message",
            "s2c=google.protobuf.Timestamp",
        ],
    );
    no_anomalies(&records);
    let apps = apps(&records);
    assert_eq!(apps[0].1["fields"]["message_type"], "google.protobuf.Struct");
    assert_eq!(apps[0].1["fields"]["value"], json!({"sensor": "t1", "celsius": 21.5}));
    let at = apps[1].1["fields"]["value"].as_str().expect("timestamp text");
    assert!(at.starts_with("2023-11-14T22:13:20.0000005"), "{at}");
    // An unknown type is refused before reading the capture.
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args([
            "analyze",
            "captures/app-protobuf.pcap",
            "--jsonl",
            "--proto-message",
            "no.Such",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run framescope");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no.Such"));
}

#[test]
fn display_filters_read_application_fields() {
    let summaries = |capture: &str, filter: &str| -> Vec<String> {
        jsonl(capture, &["--filter", filter])
            .iter()
            .filter(|r| r["type"] == "message")
            .map(|r| r["app"]["summary"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        summaries("app-mqtt.pcap", r#"mqtt.topic == "sensors/t3""#),
        ["PUBLISH sensors/t3 q1 #2"]
    );
    assert_eq!(summaries("app-mqtt.pcap", "mqtt.retain == true").len(), 2);
    assert_eq!(
        summaries("app-mqtt.pcap", r#"mqtt.client_id == "fs-v5""#),
        ["CONNECT fs-v5 v5"]
    );
    assert_eq!(
        summaries("app-socketio.pcap", r#"socketio.event == "add""#),
        [r#"EVENT / "add" [2,3] #1"#]
    );
    assert_eq!(
        summaries(
            "app-socketio.pcap",
            r#"socketio.nsp == "/chat" && socketio.type == "ACK""#
        )
        .len(),
        1
    );
    assert_eq!(summaries("app-socketio.pcap", r#"engineio.type == "open""#).len(), 1);
    assert_eq!(
        summaries("app-stomp.pcap", r#"stomp.command == "SEND""#),
        ["SEND /queue/a"]
    );
    assert_eq!(
        summaries("app-stomp.pcap", r#"stomp.header.receipt-id == "r-1""#),
        ["RECEIPT"]
    );
    assert_eq!(
        summaries("app-graphql-ws.pcap", r#"graphql.operation == "Hello""#).len(),
        1
    );
    assert_eq!(summaries("app-jsonrpc.pcap", "jsonrpc.error.code == -32601").len(), 1);
    assert_eq!(summaries("app-jsonrpc.pcap", r#"jsonrpc.method == "add""#).len(), 2);
    assert_eq!(summaries("app-msgpack-cbor.pcap", "cbor").len(), 2);
}
