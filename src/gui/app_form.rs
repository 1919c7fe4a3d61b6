//! The composer's "Application message" form (issue 16): a Socket.IO emit, an MQTT packet,
//! a STOMP frame or a GraphQL subscribe from a few fields, built by `live::app_send` into the
//! composer (text, or hex for binary) so it is sent, kept in the history and saved as a
//! template like anything typed.

use serde_json::Value;

use crate::live::app_send::{AppSend, Built};
use crate::live::compose::ComposeKind;

/// Which message the form builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AppFormKind {
    SocketIoConnect,
    #[default]
    SocketIoEmit,
    MqttConnect,
    MqttSubscribe,
    MqttPublish,
    StompConnect,
    StompSend,
    StompSubscribe,
    GraphqlInit,
    GraphqlSubscribe,
}

impl AppFormKind {
    pub const ALL: [AppFormKind; 10] = [
        AppFormKind::SocketIoConnect,
        AppFormKind::SocketIoEmit,
        AppFormKind::MqttConnect,
        AppFormKind::MqttSubscribe,
        AppFormKind::MqttPublish,
        AppFormKind::StompConnect,
        AppFormKind::StompSend,
        AppFormKind::StompSubscribe,
        AppFormKind::GraphqlInit,
        AppFormKind::GraphqlSubscribe,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AppFormKind::SocketIoConnect => "Socket.IO connect (namespace)",
            AppFormKind::SocketIoEmit => "Socket.IO emit",
            AppFormKind::MqttConnect => "MQTT CONNECT",
            AppFormKind::MqttSubscribe => "MQTT SUBSCRIBE",
            AppFormKind::MqttPublish => "MQTT PUBLISH",
            AppFormKind::StompConnect => "STOMP CONNECT",
            AppFormKind::StompSend => "STOMP SEND",
            AppFormKind::StompSubscribe => "STOMP SUBSCRIBE",
            AppFormKind::GraphqlInit => "GraphQL connection_init",
            AppFormKind::GraphqlSubscribe => "GraphQL subscribe",
        }
    }
}

/// The form's fields (each kind reads the ones it needs).
#[derive(Clone, Debug)]
pub struct AppForm {
    pub kind: AppFormKind,
    pub namespace: String,
    pub event: String,
    /// Socket.IO arguments as a JSON array.
    pub args: String,
    /// Socket.IO ack id, MQTT packet id (empty: none).
    pub id: String,
    pub client_id: String,
    pub topic: String,
    /// MQTT payload, STOMP body.
    pub payload: String,
    pub qos: u8,
    pub retain: bool,
    pub v5: bool,
    /// STOMP destination.
    pub destination: String,
    /// GraphQL query and variables (a JSON object, may be empty).
    pub query: String,
    pub variables: String,
}

impl Default for AppForm {
    fn default() -> Self {
        AppForm {
            kind: AppFormKind::default(),
            namespace: "/".into(),
            event: "message".into(),
            args: "[\"hello\"]".into(),
            id: "1".into(),
            client_id: "framescope".into(),
            topic: "test/topic".into(),
            payload: "hello".into(),
            qos: 0,
            retain: false,
            v5: false,
            destination: "/queue/test".into(),
            query: "subscription { greetings }".into(),
            variables: String::new(),
        }
    }
}

impl AppForm {
    /// The message the fields describe, or what is wrong with them.
    pub fn to_send(&self) -> Result<AppSend, String> {
        let optional_id = |what: &str| -> Result<Option<u64>, String> {
            match self.id.trim() {
                "" => Ok(None),
                t => t.parse().map(Some).map_err(|_| format!("{what} {t:?} is not a number")),
            }
        };
        let packet_id = || -> Result<Option<u16>, String> {
            match optional_id("packet id")? {
                None => Ok(None),
                Some(n) => u16::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Some)
                    .ok_or_else(|| format!("packet id {n} is not in 1..=65535")),
            }
        };
        Ok(match self.kind {
            AppFormKind::SocketIoConnect => AppSend::SocketIoConnect {
                namespace: self.namespace.clone(),
            },
            AppFormKind::SocketIoEmit => {
                let args = match serde_json::from_str::<Value>(self.args.trim()) {
                    Ok(Value::Array(a)) => a,
                    Ok(_) => return Err("arguments must be a JSON array".into()),
                    Err(_) if self.args.trim().is_empty() => Vec::new(),
                    Err(e) => return Err(format!("arguments are not JSON: {e}")),
                };
                AppSend::SocketIoEmit {
                    namespace: self.namespace.clone(),
                    event: self.event.clone(),
                    args,
                    ack: optional_id("ack id")?,
                }
            }
            AppFormKind::MqttConnect => AppSend::MqttConnect {
                client_id: self.client_id.clone(),
                keep_alive: 60,
                username: None,
                password: None,
                v5: self.v5,
            },
            AppFormKind::MqttSubscribe => AppSend::MqttSubscribe {
                packet_id: packet_id()?.ok_or("SUBSCRIBE needs a packet id")?,
                topic: self.topic.clone(),
                qos: self.qos,
                v5: self.v5,
            },
            AppFormKind::MqttPublish => AppSend::MqttPublish {
                topic: self.topic.clone(),
                payload: self.payload.clone(),
                qos: self.qos,
                retain: self.retain,
                packet_id: if self.qos > 0 { packet_id()? } else { None },
                v5: self.v5,
            },
            AppFormKind::StompConnect => AppSend::StompConnect {
                host: "/".into(),
                login: None,
                passcode: None,
            },
            AppFormKind::StompSend => AppSend::StompSend {
                destination: self.destination.clone(),
                body: self.payload.clone(),
                content_type: serde_json::from_str::<Value>(&self.payload)
                    .is_ok()
                    .then(|| "application/json".to_owned()),
                receipt: None,
            },
            AppFormKind::StompSubscribe => AppSend::StompSubscribe {
                id: self.id.clone(),
                destination: self.destination.clone(),
                receipt: None,
            },
            AppFormKind::GraphqlInit => AppSend::GraphqlInit,
            AppFormKind::GraphqlSubscribe => AppSend::GraphqlSubscribe {
                id: self.id.clone(),
                query: self.query.clone(),
                variables: match self.variables.trim() {
                    "" => None,
                    t => Some(serde_json::from_str(t).map_err(|e| format!("variables are not JSON: {e}"))?),
                },
                operation_name: None,
                legacy: false,
            },
        })
    }

    /// The composer's kind and text for the built message: text as is, binary as hex.
    pub fn to_composer(&self) -> Result<(ComposeKind, String), String> {
        Ok(match self.to_send()?.build()? {
            Built::Text(t) => (ComposeKind::Text, t),
            Built::Binary(b) => (
                ComposeKind::Binary,
                b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" "),
            ),
        })
    }
}

/// The form: a kind, its fields, and "Put in composer".
pub fn app_form_ui(form: &mut AppForm, ui: &mut egui::Ui) -> Option<(ComposeKind, String)> {
    let mut out = None;
    egui::ComboBox::from_id_salt("app-form-kind")
        .selected_text(form.kind.label())
        .show_ui(ui, |ui| {
            for k in AppFormKind::ALL {
                ui.selectable_value(&mut form.kind, k, k.label());
            }
        });
    let field = |ui: &mut egui::Ui, label: &str, value: &mut String| {
        ui.label(label);
        ui.add(
            egui::TextEdit::singleline(value)
                .desired_width(260.0)
                .id_salt(("app-form", label)),
        );
        ui.end_row();
    };
    egui::Grid::new("app-form-fields")
        .num_columns(2)
        .show(ui, |ui| match form.kind {
            AppFormKind::SocketIoConnect => field(ui, "namespace", &mut form.namespace),
            AppFormKind::SocketIoEmit => {
                field(ui, "namespace", &mut form.namespace);
                field(ui, "event", &mut form.event);
                field(ui, "arguments (JSON array)", &mut form.args);
                field(ui, "ack id (empty: none)", &mut form.id);
            }
            AppFormKind::MqttConnect => {
                field(ui, "client id", &mut form.client_id);
                ui.checkbox(&mut form.v5, "MQTT 5");
                ui.end_row();
            }
            AppFormKind::MqttSubscribe | AppFormKind::MqttPublish => {
                field(ui, "topic", &mut form.topic);
                if form.kind == AppFormKind::MqttPublish {
                    field(ui, "payload", &mut form.payload);
                    ui.checkbox(&mut form.retain, "retain");
                    ui.end_row();
                }
                ui.label("QoS");
                ui.horizontal(|ui| {
                    for q in 0..=2 {
                        ui.radio_value(&mut form.qos, q, q.to_string());
                    }
                });
                ui.end_row();
                field(ui, "packet id", &mut form.id);
                ui.checkbox(&mut form.v5, "MQTT 5");
                ui.end_row();
            }
            AppFormKind::StompConnect | AppFormKind::GraphqlInit => {}
            AppFormKind::StompSend => {
                field(ui, "destination", &mut form.destination);
                field(ui, "body", &mut form.payload);
            }
            AppFormKind::StompSubscribe => {
                field(ui, "subscription id", &mut form.id);
                field(ui, "destination", &mut form.destination);
            }
            AppFormKind::GraphqlSubscribe => {
                field(ui, "id", &mut form.id);
                field(ui, "query", &mut form.query);
                field(ui, "variables (JSON)", &mut form.variables);
            }
        });
    let built = form.to_composer();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(built.is_ok(), egui::Button::new("Put in composer"))
            .on_hover_text("Build the message into the composer below, ready to send")
            .clicked()
        {
            out = built.as_ref().ok().cloned();
        }
        if let Err(e) = &built {
            ui.colored_label(crate::gui::theme::ERROR, e);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_builds_an_mqtt_publish_as_hex_and_an_emit_as_text() {
        let mut form = AppForm {
            kind: AppFormKind::MqttPublish,
            topic: "a/b".into(),
            payload: "hi".into(),
            qos: 1,
            id: "5".into(),
            ..AppForm::default()
        };
        let (kind, text) = form.to_composer().unwrap();
        assert_eq!(kind, ComposeKind::Binary);
        // 0x32: PUBLISH QoS 1; 9 bytes: topic (2 + 3), packet id (2), payload (2).
        assert_eq!(text, "32 09 00 03 61 2f 62 00 05 68 69");
        form.id = "0".into();
        assert!(form.to_composer().unwrap_err().contains("1..=65535"));
        form.kind = AppFormKind::SocketIoEmit;
        form.namespace = "/chat".into();
        form.args = "[1, \"x\"]".into();
        form.id = String::new();
        assert_eq!(
            form.to_composer().unwrap(),
            (ComposeKind::Text, "42/chat,[\"message\",1,\"x\"]".to_owned())
        );
        form.args = "{}".into();
        assert!(form.to_composer().is_err());
    }
}
