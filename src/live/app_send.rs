//! Application messages to send (issue 16): a Socket.IO emit with its arguments and ack id,
//! MQTT CONNECT/SUBSCRIBE/PUBLISH as binary packets (3.1.1 or 5), STOMP CONNECT/SEND/
//! SUBSCRIBE frames, GraphQL over WebSocket `connection_init`/`subscribe`. The live
//! composer's form and scenario files (`Send(client: "a", app: MqttPublish(…))`) build their
//! bytes here, so testing such a server needs no hand-made bytes.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The protocol level byte of MQTT 3.1.1 and 5 CONNECT packets.
const MQTT_311: u8 = 4;
const MQTT_5: u8 = 5;

/// One application message, as written in a scenario file or filled in by the form.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub enum AppSend {
    /// Socket.IO: join a namespace (`40` or `40/chat,`), needed before emitting in it.
    SocketIoConnect {
        #[serde(default)]
        namespace: String,
    },
    /// Socket.IO: `42/chat,17["event",args…]`; with `ack` the server's answer names that id.
    SocketIoEmit {
        #[serde(default)]
        namespace: String,
        event: String,
        #[serde(default)]
        args: Vec<Value>,
        #[serde(default)]
        ack: Option<u64>,
    },
    MqttConnect {
        client_id: String,
        #[serde(default = "default_keep_alive")]
        keep_alive: u16,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        /// MQTT 5 (properties, empty here) instead of 3.1.1.
        #[serde(default)]
        v5: bool,
    },
    MqttSubscribe {
        packet_id: u16,
        topic: String,
        #[serde(default)]
        qos: u8,
        #[serde(default)]
        v5: bool,
    },
    MqttPublish {
        topic: String,
        #[serde(default)]
        payload: String,
        #[serde(default)]
        qos: u8,
        #[serde(default)]
        retain: bool,
        /// Needed for QoS 1 and 2.
        #[serde(default)]
        packet_id: Option<u16>,
        #[serde(default)]
        v5: bool,
    },
    StompConnect {
        #[serde(default = "default_stomp_host")]
        host: String,
        #[serde(default)]
        login: Option<String>,
        #[serde(default)]
        passcode: Option<String>,
    },
    StompSend {
        destination: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        content_type: Option<String>,
        #[serde(default)]
        receipt: Option<String>,
    },
    StompSubscribe {
        id: String,
        destination: String,
        #[serde(default)]
        receipt: Option<String>,
    },
    /// GraphQL over WebSocket: the first message of both protocols.
    GraphqlInit,
    /// `graphql-transport-ws` `subscribe` (or the legacy `subscriptions-transport-ws`
    /// `start` with `legacy`).
    GraphqlSubscribe {
        id: String,
        query: String,
        #[serde(default)]
        variables: Option<Value>,
        #[serde(default)]
        operation_name: Option<String>,
        #[serde(default)]
        legacy: bool,
    },
}

fn default_keep_alive() -> u16 {
    60
}

fn default_stomp_host() -> String {
    "/".to_owned()
}

/// A built message: text or binary, as the WebSocket sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Built {
    Text(String),
    Binary(Vec<u8>),
}

impl AppSend {
    /// The message's bytes, or why they cannot be built (a field out of its range).
    pub fn build(&self) -> Result<Built, String> {
        Ok(match self {
            AppSend::SocketIoConnect { namespace } => Built::Text(format!("40{}", nsp_prefix(namespace))),
            AppSend::SocketIoEmit {
                namespace,
                event,
                args,
                ack,
            } => {
                let mut items = vec![Value::String(event.clone())];
                items.extend(args.iter().cloned());
                let ack = ack.map(|a| a.to_string()).unwrap_or_default();
                Built::Text(format!("42{}{ack}{}", nsp_prefix(namespace), Value::Array(items)))
            }
            AppSend::MqttConnect {
                client_id,
                keep_alive,
                username,
                password,
                v5,
            } => Built::Binary(mqtt_connect(
                client_id,
                *keep_alive,
                username.as_deref(),
                password.as_deref(),
                *v5,
            )?),
            AppSend::MqttSubscribe {
                packet_id,
                topic,
                qos,
                v5,
            } => {
                check_qos(*qos)?;
                if *packet_id == 0 {
                    return Err("an MQTT SUBSCRIBE needs a packet id from 1 to 65535".into());
                }
                let mut body = packet_id.to_be_bytes().to_vec();
                if *v5 {
                    body.push(0); // no properties
                }
                put_mqtt_str(&mut body, topic)?;
                body.push(*qos);
                Built::Binary(mqtt_packet(0x82, &body)?)
            }
            AppSend::MqttPublish {
                topic,
                payload,
                qos,
                retain,
                packet_id,
                v5,
            } => {
                check_qos(*qos)?;
                let mut body = Vec::new();
                put_mqtt_str(&mut body, topic)?;
                if *qos > 0 {
                    match packet_id {
                        Some(id) if *id > 0 => body.extend_from_slice(&id.to_be_bytes()),
                        _ => return Err("an MQTT PUBLISH with QoS 1 or 2 needs a packet id from 1 to 65535".into()),
                    }
                }
                if *v5 {
                    body.push(0);
                }
                body.extend_from_slice(payload.as_bytes());
                let flags = (qos << 1) | u8::from(*retain);
                Built::Binary(mqtt_packet(0x30 | flags, &body)?)
            }
            AppSend::StompConnect { host, login, passcode } => {
                let mut headers = vec![("accept-version", "1.2,1.1,1.0".to_owned()), ("host", host.clone())];
                if let Some(l) = login {
                    headers.push(("login", l.clone()));
                }
                if let Some(p) = passcode {
                    headers.push(("passcode", p.clone()));
                }
                Built::Text(stomp_frame("CONNECT", &headers, ""))
            }
            AppSend::StompSend {
                destination,
                body,
                content_type,
                receipt,
            } => {
                let mut headers = vec![("destination", destination.clone())];
                if let Some(t) = content_type {
                    headers.push(("content-type", t.clone()));
                }
                headers.push(("content-length", body.len().to_string()));
                if let Some(r) = receipt {
                    headers.push(("receipt", r.clone()));
                }
                Built::Text(stomp_frame("SEND", &headers, body))
            }
            AppSend::StompSubscribe {
                id,
                destination,
                receipt,
            } => {
                let mut headers = vec![
                    ("id", id.clone()),
                    ("destination", destination.clone()),
                    ("ack", "auto".to_owned()),
                ];
                if let Some(r) = receipt {
                    headers.push(("receipt", r.clone()));
                }
                Built::Text(stomp_frame("SUBSCRIBE", &headers, ""))
            }
            AppSend::GraphqlInit => Built::Text(json!({"type": "connection_init"}).to_string()),
            AppSend::GraphqlSubscribe {
                id,
                query,
                variables,
                operation_name,
                legacy,
            } => {
                let mut payload = json!({ "query": query });
                if let Some(v) = variables {
                    payload["variables"] = v.clone();
                }
                if let Some(n) = operation_name {
                    payload["operationName"] = Value::String(n.clone());
                }
                let kind = if *legacy { "start" } else { "subscribe" };
                Built::Text(json!({"id": id, "type": kind, "payload": payload}).to_string())
            }
        })
    }

    /// A short description for reports and the composer (`MQTT PUBLISH sensors/t1`).
    pub fn describe(&self) -> String {
        match self {
            AppSend::SocketIoConnect { namespace } => format!("Socket.IO CONNECT {}", or_root(namespace)),
            AppSend::SocketIoEmit { namespace, event, .. } => {
                format!("Socket.IO EVENT {} {event:?}", or_root(namespace))
            }
            AppSend::MqttConnect { client_id, .. } => format!("MQTT CONNECT {client_id}"),
            AppSend::MqttSubscribe { topic, .. } => format!("MQTT SUBSCRIBE {topic}"),
            AppSend::MqttPublish { topic, .. } => format!("MQTT PUBLISH {topic}"),
            AppSend::StompConnect { .. } => "STOMP CONNECT".to_owned(),
            AppSend::StompSend { destination, .. } => format!("STOMP SEND {destination}"),
            AppSend::StompSubscribe { destination, .. } => format!("STOMP SUBSCRIBE {destination}"),
            AppSend::GraphqlInit => "GraphQL connection_init".to_owned(),
            AppSend::GraphqlSubscribe { id, .. } => format!("GraphQL subscribe {id}"),
        }
    }
}

fn or_root(namespace: &str) -> &str {
    if namespace.is_empty() { "/" } else { namespace }
}

/// `/chat,` for a namespace other than the main one (which is written as nothing).
fn nsp_prefix(namespace: &str) -> String {
    match namespace.trim() {
        "" | "/" => String::new(),
        n if n.starts_with('/') => format!("{n},"),
        n => format!("/{n},"),
    }
}

fn check_qos(qos: u8) -> Result<(), String> {
    if qos > 2 {
        return Err(format!("MQTT QoS is 0, 1 or 2, not {qos}"));
    }
    Ok(())
}

fn put_mqtt_str(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    let len =
        u16::try_from(s.len()).map_err(|_| format!("an MQTT string holds at most 65535 bytes, not {}", s.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Fixed header (type and flags, variable-length remaining length) and body.
fn mqtt_packet(first: u8, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() > 268_435_455 {
        return Err("an MQTT packet holds at most 256 MiB".into());
    }
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    Ok(out)
}

fn mqtt_connect(
    client_id: &str,
    keep_alive: u16,
    username: Option<&str>,
    password: Option<&str>,
    v5: bool,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    put_mqtt_str(&mut body, "MQTT")?;
    body.push(if v5 { MQTT_5 } else { MQTT_311 });
    // Clean session/start, and the user name and password flags when given.
    let mut flags = 0x02;
    if username.is_some() {
        flags |= 0x80;
    }
    if password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if v5 {
        body.push(0);
    }
    put_mqtt_str(&mut body, client_id)?;
    if let Some(u) = username {
        put_mqtt_str(&mut body, u)?;
    }
    if let Some(p) = password {
        put_mqtt_str(&mut body, p)?;
    }
    mqtt_packet(0x10, &body)
}

/// A STOMP frame: command, `name:value` headers (escaped as STOMP 1.2 says), empty line,
/// body, NUL.
fn stomp_frame(command: &str, headers: &[(&str, String)], body: &str) -> String {
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace(':', "\\c")
    };
    let mut out = format!("{command}\n");
    for (name, value) in headers {
        out.push_str(&format!("{}:{}\n", escape(name), escape(value)));
    }
    out.push('\n');
    out.push_str(body);
    out.push('\0');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::app::tracker::{AppMessage, AppOutput};
    use crate::analysis::app::{AppSettings, ConnApp, DecodeAs, Hints};
    use crate::analysis::event::Direction;
    use crate::analysis::time::Timestamp;
    use crate::analysis::ws::frame::OpCode;

    /// What framescope's own decoder makes of a built message.
    fn decode(protocol: &str, built: &Built) -> crate::analysis::app::Decoded {
        let settings = AppSettings {
            decode_as: vec![DecodeAs::parse(protocol).unwrap()],
            ..AppSettings::default()
        };
        let mut app = ConnApp::new(0, Hints::default(), &settings);
        let (opcode, payload) = match built {
            Built::Text(t) => (OpCode::Text, t.as_bytes()),
            Built::Binary(b) => (OpCode::Binary, b.as_slice()),
        };
        let m = AppMessage {
            dir: Direction::ClientToServer,
            ts: Timestamp::ZERO,
            opcode,
            payload,
            complete: true,
            stream_offset: None,
        };
        let mut out = AppOutput::default();
        let d = app.decode(&m, &mut out).expect("decodes");
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        d
    }

    #[test]
    fn a_socketio_emit_in_a_namespace_with_an_ack_id() {
        let emit = AppSend::SocketIoEmit {
            namespace: "/chat".into(),
            event: "message".into(),
            args: vec![json!("hi"), json!({"n": 1})],
            ack: Some(7),
        };
        let built = emit.build().unwrap();
        assert_eq!(built, Built::Text(r#"42/chat,7["message","hi",{"n":1}]"#.into()));
        let d = decode("socketio", &built);
        assert_eq!(d.field("socketio.event"), Some(&json!("message")));
        assert_eq!(d.field("socketio.ack_id"), Some(&json!(7)));
        assert_eq!(d.field("socketio.nsp"), Some(&json!("/chat")));
    }

    #[test]
    fn mqtt_publish_and_subscribe_decode_back_to_their_fields() {
        let publish = AppSend::MqttPublish {
            topic: "sensors/t1".into(),
            payload: "21.5".into(),
            qos: 1,
            retain: true,
            packet_id: Some(12),
            v5: false,
        };
        let d = decode("mqtt", &publish.build().unwrap());
        assert_eq!(d.summary.split(' ').next(), Some("PUBLISH"));
        assert_eq!(d.field("mqtt.topic"), Some(&json!("sensors/t1")));
        assert_eq!(d.field("mqtt.qos"), Some(&json!(1)));
        assert_eq!(d.field("mqtt.retain"), Some(&json!(true)));
        assert_eq!(d.field("mqtt.packet_id"), Some(&json!(12)));
        let connect = AppSend::MqttConnect {
            client_id: "fs-1".into(),
            keep_alive: 30,
            username: Some("u".into()),
            password: Some("p".into()),
            v5: true,
        };
        let d = decode("mqtt", &connect.build().unwrap());
        assert_eq!(d.field("mqtt.client_id"), Some(&json!("fs-1")));
        let bad = AppSend::MqttPublish {
            topic: "t".into(),
            payload: String::new(),
            qos: 1,
            retain: false,
            packet_id: None,
            v5: false,
        };
        assert!(bad.build().unwrap_err().contains("packet id"));
    }

    #[test]
    fn stomp_headers_are_escaped_and_graphql_subscribe_carries_its_variables() {
        let send = AppSend::StompSend {
            destination: "/queue/a:b".into(),
            body: "{\"n\":1}".into(),
            content_type: Some("application/json".into()),
            receipt: Some("r-1".into()),
        };
        let built = send.build().unwrap();
        let Built::Text(t) = &built else { panic!() };
        assert!(t.starts_with("SEND\ndestination:/queue/a\\cb\n"), "{t}");
        let d = decode("stomp", &built);
        assert_eq!(d.field("stomp.command"), Some(&json!("SEND")));
        assert_eq!(d.field("stomp.destination"), Some(&json!("/queue/a:b")));
        let sub = AppSend::GraphqlSubscribe {
            id: "1".into(),
            query: "subscription { greetings }".into(),
            variables: Some(json!({"a": 1})),
            operation_name: None,
            legacy: false,
        };
        let d = decode("graphql", &sub.build().unwrap());
        assert_eq!(d.field("graphql.type"), Some(&json!("subscribe")));
        assert_eq!(d.field("graphql.id"), Some(&json!("1")));
    }
}
