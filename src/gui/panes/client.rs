//! The connect window: open a ws:// or wss:// connection, compose text, JSON, binary, ping
//! and close frames, and watch the session arrive in the main tables like a capture.

use crate::analysis::ws::builder::parse_hex;
use crate::analysis::ws::close::close_code_name;
use crate::gui::app::{FramescopeApp, StatusLine};
use crate::gui::commands::Command;
use crate::gui::settings::ConnectionProfile;
use crate::gui::theme;
use crate::live::client::{ClientCommand, ClientState, Heartbeat, LiveClient, Reconnect, SessionOptions};

/// What the composer sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ComposeKind {
    #[default]
    Text,
    /// Text that must parse as JSON before it is sent.
    Json,
    /// Hex digits, sent as a binary message.
    Binary,
    /// Base64, sent as a binary message.
    Base64,
    Ping,
    Close,
}

impl ComposeKind {
    const ALL: [ComposeKind; 6] = [
        ComposeKind::Text,
        ComposeKind::Json,
        ComposeKind::Binary,
        ComposeKind::Base64,
        ComposeKind::Ping,
        ComposeKind::Close,
    ];

    fn label(self) -> &'static str {
        match self {
            ComposeKind::Text => "Text",
            ComposeKind::Json => "JSON",
            ComposeKind::Binary => "Binary (hex)",
            ComposeKind::Base64 => "Binary (base64)",
            ComposeKind::Ping => "Ping",
            ComposeKind::Close => "Close",
        }
    }
}

/// Close codes offered in the picker (any other code can be typed).
const CLOSE_CODES: [u16; 6] = [1000, 1001, 1002, 1003, 1008, 4000];

/// The connect window's state.
pub struct ClientPanel {
    pub open: bool,
    pub url: String,
    /// Extra request headers, one `Name: value` per line.
    pub headers: String,
    /// Secret headers (name, value): values masked in the form, blanked in the recording and
    /// the tables unless `record_secrets`.
    pub secret_headers: Vec<(String, String)>,
    pub record_secrets: bool,
    /// Offered subprotocols, comma-separated.
    pub subprotocols: String,
    pub origin: String,
    pub insecure: bool,
    /// A PEM file of extra certificate authorities to trust for wss://.
    pub ca_file: String,
    /// The profile name typed or picked in the window.
    pub profile_name: String,
    pub client: Option<LiveClient>,
    pub kind: ComposeKind,
    pub text: String,
    pub close_code: u16,
    pub close_reason: String,
    /// Why the last connect or send could not be done.
    pub error: Option<String>,
    /// Keep-alive pings: on, interval and pong timeout in seconds, close at a missed pong.
    pub heartbeat: bool,
    pub heartbeat_every: f64,
    pub pong_timeout: f64,
    pub close_on_missed_pong: bool,
    /// Reconnect after a drop: on, first wait and longest wait in seconds, attempts.
    pub reconnect: bool,
    pub reconnect_base: f64,
    pub reconnect_max: f64,
    pub reconnect_attempts: u32,
    /// What was sent this session, newest last (for re-sending).
    pub history: Vec<(ComposeKind, String)>,
    /// The end of the current session has been reported in the status bar.
    end_reported: bool,
}

impl Default for ClientPanel {
    fn default() -> Self {
        ClientPanel {
            open: false,
            url: "ws://127.0.0.1:8080/".to_owned(),
            headers: String::new(),
            secret_headers: Vec::new(),
            record_secrets: false,
            subprotocols: String::new(),
            origin: String::new(),
            insecure: false,
            ca_file: String::new(),
            profile_name: String::new(),
            client: None,
            kind: ComposeKind::Text,
            text: String::new(),
            close_code: 1000,
            close_reason: String::new(),
            error: None,
            history: Vec::new(),
            heartbeat: false,
            heartbeat_every: 5.0,
            pong_timeout: 3.0,
            close_on_missed_pong: false,
            reconnect: false,
            reconnect_base: 0.5,
            reconnect_max: 30.0,
            reconnect_attempts: 5,
            end_reported: false,
        }
    }
}

/// Most entries kept in the send history.
const HISTORY_LEN: usize = 50;

impl ClientPanel {
    /// The connection options from the form, or what is wrong with it.
    pub fn options(&self) -> Result<crate::live::session::ConnectOptions, String> {
        let target = crate::live::target::parse_target(self.url.trim())?;
        let mut headers = Vec::new();
        for line in self.headers.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once(':') {
                Some((k, v)) if !k.trim().is_empty() => headers.push((k.trim().to_owned(), v.trim().to_owned())),
                _ => return Err(format!("header line '{line}' is not 'Name: value'")),
            }
        }
        for (name, value) in &self.secret_headers {
            if name.trim().is_empty() {
                return Err("a secret header has no name".to_owned());
            }
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let subprotocols = self
            .subprotocols
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let origin = Some(self.origin.trim().to_owned()).filter(|o| !o.is_empty());
        Ok(crate::live::session::ConnectOptions {
            target,
            headers,
            subprotocols,
            origin,
            timeout: std::time::Duration::from_secs(10),
            tls: crate::live::session::TlsOptions {
                extra_ca_file: Some(self.ca_file.trim())
                    .filter(|p| !p.is_empty())
                    .map(std::path::PathBuf::from),
                accept_invalid_certs: self.insecure,
            },
        })
    }

    /// The composer's content as a command, or why it cannot be sent.
    pub fn compose(&self) -> Result<ClientCommand, String> {
        match self.kind {
            ComposeKind::Text => Ok(ClientCommand::Text(self.text.clone())),
            ComposeKind::Json => match serde_json::from_str::<serde_json::Value>(&self.text) {
                Ok(_) => Ok(ClientCommand::Text(self.text.clone())),
                Err(e) => Err(format!("not JSON: {e}")),
            },
            ComposeKind::Binary => parse_hex(&self.text).map(ClientCommand::Binary),
            ComposeKind::Base64 => {
                use base64::Engine as _;
                let cleaned: String = self.text.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(cleaned)
                    .map(ClientCommand::Binary)
                    .map_err(|e| format!("not base64: {e}"))
            }
            ComposeKind::Ping => {
                let payload = self.text.as_bytes().to_vec();
                if payload.len() > 125 {
                    return Err(format!(
                        "a ping carries at most 125 bytes (RFC 6455 §5.5); this is {}",
                        payload.len()
                    ));
                }
                Ok(ClientCommand::Ping(payload))
            }
            ComposeKind::Close => {
                if self.close_reason.len() > 123 {
                    return Err(format!(
                        "a close reason is at most 123 bytes (RFC 6455 §5.5); this is {}",
                        self.close_reason.len()
                    ));
                }
                Ok(ClientCommand::Close(self.close_code, self.close_reason.clone()))
            }
        }
    }

    /// The form as a profile named `name` (secret values left out).
    pub fn to_profile(&self, name: &str) -> ConnectionProfile {
        ConnectionProfile {
            name: name.trim().to_owned(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            secret_header_names: self.secret_headers.iter().map(|(n, _)| n.clone()).collect(),
            subprotocols: self.subprotocols.clone(),
            origin: self.origin.clone(),
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
            heartbeat: self
                .heartbeat
                .then_some((self.heartbeat_every, self.pong_timeout, self.close_on_missed_pong)),
            reconnect: self
                .reconnect
                .then_some((self.reconnect_base, self.reconnect_max, self.reconnect_attempts)),
        }
    }

    /// Fills the form from a profile; secret headers come back with empty values to type.
    pub fn apply_profile(&mut self, p: &ConnectionProfile) {
        self.profile_name = p.name.clone();
        self.url = p.url.clone();
        self.headers = p.headers.clone();
        self.secret_headers = p
            .secret_header_names
            .iter()
            .map(|n| (n.clone(), String::new()))
            .collect();
        self.subprotocols = p.subprotocols.clone();
        self.origin = p.origin.clone();
        self.insecure = p.insecure;
        self.ca_file = p.ca_file.clone();
        self.heartbeat = p.heartbeat.is_some();
        if let Some((every, timeout, close)) = p.heartbeat {
            (self.heartbeat_every, self.pong_timeout, self.close_on_missed_pong) = (every, timeout, close);
        }
        self.reconnect = p.reconnect.is_some();
        if let Some((base, max, attempts)) = p.reconnect {
            (self.reconnect_base, self.reconnect_max, self.reconnect_attempts) = (base, max, attempts);
        }
    }

    /// The reconnect policy chosen in the form.
    pub fn reconnect(&self) -> Option<Reconnect> {
        self.reconnect.then(|| Reconnect {
            base: std::time::Duration::from_secs_f64(self.reconnect_base.max(0.01)),
            max: std::time::Duration::from_secs_f64(self.reconnect_max.max(self.reconnect_base).max(0.01)),
            attempts: self.reconnect_attempts,
        })
    }

    /// The heartbeat chosen in the form.
    pub fn heartbeat(&self) -> Option<Heartbeat> {
        self.heartbeat.then(|| Heartbeat {
            every: std::time::Duration::from_secs_f64(self.heartbeat_every.max(0.05)),
            pong_timeout: std::time::Duration::from_secs_f64(self.pong_timeout.max(0.05)),
            close_on_miss: self.close_on_missed_pong,
        })
    }

    fn state(&self) -> Option<ClientState> {
        self.client.as_ref().map(LiveClient::state)
    }
}

impl FramescopeApp {
    /// Connects with the connect window's settings; the session replaces what is loaded.
    pub fn connect_client(&mut self) {
        let options = match self.client.options() {
            Ok(o) => o,
            Err(e) => {
                self.client.error = Some(e);
                return;
            }
        };
        self.client.client = None;
        self.client.error = None;
        self.client.end_reported = false;
        let url = options.target.url.to_string();
        // Every session is recorded to a temporary pcapng, kept until the next one or exit.
        if let Some(old) = self.capture.recording.take() {
            let _ = std::fs::remove_file(old);
        }
        let record_to = crate::capture::live::recording_path();
        let recording = match crate::live::recorder::open_recording(&record_to) {
            Ok(r) => Some(r),
            Err(e) => {
                self.client.error = Some(format!("not recording ({}: {e})", record_to.display()));
                None
            }
        };
        let recorded = recording.is_some();
        let session = SessionOptions {
            heartbeat: self.client.heartbeat(),
            reconnect: self.client.reconnect(),
            secrets: if self.client.record_secrets {
                Vec::new()
            } else {
                self.client
                    .secret_headers
                    .iter()
                    .map(|(_, v)| v.trim().to_owned())
                    .collect()
            },
            recording,
        };
        let (job, sink) = crate::gui::loader::LoadJob::for_client(&url, self.wake.clone());
        match LiveClient::start(options, session, sink, self.wake.clone()) {
            Ok(client) => {
                if recorded {
                    self.capture.recording = Some(record_to);
                }
                self.reset_for_live_source(format!("live: {url}"));
                self.job = Some(job);
                self.client.client = Some(client);
                self.status = Some(StatusLine {
                    text: format!("connecting to {url}"),
                    is_error: false,
                });
            }
            Err(e) => self.client.error = Some(format!("cannot start the connection: {e}")),
        }
    }

    /// Sends what the composer holds.
    pub fn send_composed(&mut self) {
        let command = match self.client.compose() {
            Ok(c) => c,
            Err(e) => {
                self.client.error = Some(e);
                return;
            }
        };
        let sent = self.client.client.as_ref().is_some_and(|c| c.send(command));
        if !sent {
            self.client.error = Some("not connected".to_owned());
            return;
        }
        self.client.error = None;
        let entry = (self.client.kind, self.client.text.clone());
        if !matches!(entry.0, ComposeKind::Close) && self.client.history.last() != Some(&entry) {
            self.client.history.push(entry);
            if self.client.history.len() > HISTORY_LEN {
                self.client.history.remove(0);
            }
        }
    }

    /// Puts the session's opening and end in the status bar (the end once).
    fn report_client_state(&mut self) {
        if self.client.end_reported {
            return;
        }
        if let Some(ClientState::Open { peer, .. }) = self.client.state()
            && self
                .status
                .as_ref()
                .is_some_and(|s| s.text.starts_with("connecting to"))
        {
            self.status = Some(StatusLine {
                text: format!("connected to {} ({peer})", self.client.url.trim()),
                is_error: false,
            });
        }
        let Some(ClientState::Closed(why) | ClientState::Failed(why)) = self.client.state() else {
            return;
        };
        self.client.end_reported = true;
        let failed = matches!(self.client.state(), Some(ClientState::Failed(_)));
        self.status = Some(StatusLine {
            text: format!("{}: {why}", self.client.url.trim()),
            is_error: failed,
        });
    }
}

pub fn client_window_ui(app: &mut FramescopeApp, ctx: &egui::Context) {
    app.report_client_state();
    if !app.client.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Live connection")
        .open(&mut open)
        .default_width(560.0)
        .show(ctx, |ui| {
            let state = app.client.state();
            let active = state.as_ref().is_some_and(|s| !s.is_finished());
            ui.horizontal(|ui| {
                let label = ui.label("URL");
                ui.add_enabled(
                    !active,
                    egui::TextEdit::singleline(&mut app.client.url)
                        .hint_text("ws://host:port/path or wss://…")
                        .desired_width(360.0),
                )
                .labelled_by(label.id);
                if active {
                    if ui.button("Disconnect").clicked()
                        && let Some(c) = &app.client.client
                    {
                        c.abort();
                    }
                } else if ui.button("Connect").clicked() {
                    app.push(Command::ConnectClient);
                }
            });
            profiles_ui(app, ui);
            ui.collapsing("Request options", |ui| {
                egui::Grid::new("client-options").num_columns(2).show(ui, |ui| {
                    let l = ui.label("Subprotocols");
                    ui.add(egui::TextEdit::singleline(&mut app.client.subprotocols).hint_text("chat, superchat"))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Origin");
                    ui.add(egui::TextEdit::singleline(&mut app.client.origin).hint_text("https://example.com"))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Headers");
                    ui.add(
                        egui::TextEdit::multiline(&mut app.client.headers)
                            .hint_text("Authorization: Bearer …")
                            .desired_rows(2),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                    let mut remove = None;
                    for (i, (name, value)) in app.client.secret_headers.iter_mut().enumerate() {
                        let l = ui.label("Secret header");
                        ui.horizontal(|ui| {
                            ui.add(
                                egui::TextEdit::singleline(name)
                                    .hint_text("Authorization")
                                    .desired_width(140.0),
                            )
                            .labelled_by(l.id);
                            ui.add(egui::TextEdit::singleline(value).password(true).desired_width(220.0))
                                .on_hover_text("masked here; blanked with * in the tables and the recording");
                            if ui.small_button("Remove").clicked() {
                                remove = Some(i);
                            }
                        });
                        ui.end_row();
                    }
                    if let Some(i) = remove {
                        app.client.secret_headers.remove(i);
                    }
                });
                ui.horizontal(|ui| {
                    if ui.button("Add a secret header").clicked() {
                        app.client.secret_headers.push((String::new(), String::new()));
                    }
                    ui.checkbox(&mut app.client.record_secrets, "record secrets in clear");
                });
                ui.horizontal(|ui| {
                    let l = ui.label("Extra CA file (PEM)");
                    ui.add(
                        egui::TextEdit::singleline(&mut app.client.ca_file)
                            .hint_text("dev-ca.pem")
                            .desired_width(260.0),
                    )
                    .labelled_by(l.id);
                });
                ui.checkbox(&mut app.client.insecure, "Accept any TLS certificate (insecure)");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut app.client.heartbeat, "Heartbeat: ping every");
                    ui.add(
                        egui::DragValue::new(&mut app.client.heartbeat_every)
                            .range(0.1..=3600.0)
                            .suffix(" s"),
                    );
                    ui.label("pong timeout");
                    ui.add(
                        egui::DragValue::new(&mut app.client.pong_timeout)
                            .range(0.1..=600.0)
                            .suffix(" s"),
                    );
                    ui.checkbox(&mut app.client.close_on_missed_pong, "close on a missed pong");
                });
                ui.horizontal(|ui| {
                    ui.checkbox(&mut app.client.reconnect, "Reconnect after a drop: first wait");
                    ui.add(
                        egui::DragValue::new(&mut app.client.reconnect_base)
                            .range(0.05..=60.0)
                            .suffix(" s"),
                    );
                    ui.label("doubling up to");
                    ui.add(
                        egui::DragValue::new(&mut app.client.reconnect_max)
                            .range(0.05..=3600.0)
                            .suffix(" s"),
                    );
                    ui.label("attempts");
                    ui.add(egui::DragValue::new(&mut app.client.reconnect_attempts).range(1..=1000));
                });
            });
            if app.client.insecure {
                ui.colored_label(theme::WARNING, "TLS certificates are NOT checked on this connection");
            }
            match &state {
                None => {
                    ui.label("Not connected.");
                }
                Some(ClientState::Connecting) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Connecting…");
                    });
                }
                Some(ClientState::Open {
                    local,
                    peer,
                    subprotocol,
                }) => {
                    let proto = subprotocol
                        .as_ref()
                        .map_or(String::new(), |p| format!(", subprotocol {p}"));
                    ui.colored_label(theme::OK, format!("Open: {local} -> {peer}{proto}"));
                }
                Some(ClientState::Reconnecting {
                    attempt,
                    of,
                    after,
                    why,
                }) => {
                    ui.colored_label(
                        theme::WARNING,
                        format!(
                            "Dropped ({why}); reconnect attempt {attempt} of {of} in {:.1} s",
                            after.as_secs_f64()
                        ),
                    );
                }
                Some(ClientState::Closed(why)) => {
                    ui.label(format!("Closed: {why}"));
                }
                Some(ClientState::Failed(why)) => {
                    ui.colored_label(theme::ERROR, format!("Failed: {why}"));
                }
            }
            counters_ui(app, ui);
            let finished = state.as_ref().is_some_and(ClientState::is_finished);
            if finished
                && app.capture.recording.as_ref().is_some_and(|p| p.exists())
                && ui.button("Save session as .pcapng…").clicked()
            {
                app.push(Command::SaveRecording);
            }
            ui.separator();
            composer_ui(app, ui, state.as_ref().is_some_and(ClientState::is_open));
            if let Some(e) = &app.client.error {
                ui.colored_label(theme::ERROR, e);
            }
        });
    if !open {
        app.client.open = false;
    }
}

/// Saved set-ups: pick one to fill the form, save the form under a name, delete.
fn profiles_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let l = ui.label("Profile");
        let mut picked = None;
        egui::ComboBox::from_id_salt("client-profile")
            .selected_text(if app.settings.profiles.is_empty() {
                "(none saved)"
            } else {
                "Load…"
            })
            .show_ui(ui, |ui| {
                for p in &app.settings.profiles {
                    if ui.button(format!("{} — {}", p.name, p.url)).clicked() {
                        picked = Some(p.clone());
                    }
                }
            })
            .response
            .labelled_by(l.id);
        if let Some(p) = picked {
            app.client.apply_profile(&p);
        }
        let l = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut app.client.profile_name).desired_width(120.0))
            .labelled_by(l.id);
        let name = app.client.profile_name.trim().to_owned();
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new("Save profile"))
            .clicked()
        {
            let profile = app.client.to_profile(&name);
            match app.settings.profiles.iter_mut().find(|p| p.name == name) {
                Some(existing) => *existing = profile,
                None => app.settings.profiles.push(profile),
            }
        }
        let exists = app.settings.profiles.iter().any(|p| p.name == name);
        if ui.add_enabled(exists, egui::Button::new("Delete profile")).clicked() {
            app.settings.profiles.retain(|p| p.name != name);
        }
    });
}

/// Messages and bytes each way for the session's connection, and the latest ping RTT.
fn counters_ui(app: &FramescopeApp, ui: &mut egui::Ui) {
    if app.client.client.is_none() || app.store.connections.is_empty() {
        return;
    }
    // Every connection in the store is one of this session's (a reconnect adds one).
    let (mut up, mut down) = ((0, 0), (0, 0));
    for c in &app.store.connections {
        up = (up.0 + c.counters[0].messages, up.1 + c.counters[0].wire_bytes);
        down = (down.0 + c.counters[1].messages, down.1 + c.counters[1].wire_bytes);
    }
    ui.label(format!(
        "Sent {} messages ({} bytes on the wire) · received {} messages ({} bytes)",
        up.0, up.1, down.0, down.1
    ));
    if let Some(rtt) = app.store.rtts.last() {
        ui.label(format!(
            "Last ping RTT {:.2} ms ({} samples)",
            rtt.rtt_ms(),
            app.store.rtts.len()
        ));
    }
    if let Some(latest) = app.store.connections.last() {
        let since = crate::gui::format::utc(latest.info.first_ts);
        match latest.end {
            None => ui.label(format!(
                "Connected since {since}, up {:.1} s",
                crate::live::tap::now().millis_since(latest.info.first_ts) / 1000.0
            )),
            Some(_) => ui.label(format!(
                "Connected at {since} for {:.1} s",
                latest.last_ts.millis_since(latest.info.first_ts) / 1000.0
            )),
        };
    }
    if let Some(client) = &app.client.client {
        let pings = client
            .counters
            .heartbeat_pings
            .load(std::sync::atomic::Ordering::Relaxed);
        let missed = client.counters.missed_pongs.load(std::sync::atomic::Ordering::Relaxed);
        let reconnects = client.counters.reconnects.load(std::sync::atomic::Ordering::Relaxed);
        if reconnects > 0 {
            ui.colored_label(
                theme::WARNING,
                format!(
                    "Reconnected {reconnects} times ({} connections)",
                    app.store.connections.len()
                ),
            );
        }
        if pings > 0 {
            let text = format!("Heartbeat: {pings} pings, {missed} missed pongs");
            if missed > 0 {
                ui.colored_label(theme::ERROR, text);
            } else {
                ui.label(text);
            }
        }
    }
}

fn composer_ui(app: &mut FramescopeApp, ui: &mut egui::Ui, open: bool) {
    ui.add_enabled_ui(open, |ui| {
        ui.horizontal(|ui| {
            for kind in ComposeKind::ALL {
                ui.selectable_value(&mut app.client.kind, kind, kind.label());
            }
        });
        if app.client.kind == ComposeKind::Close {
            ui.horizontal(|ui| {
                let l = ui.label("Code");
                egui::ComboBox::from_id_salt("close-code")
                    .selected_text(format!(
                        "{} {}",
                        app.client.close_code,
                        close_code_name(app.client.close_code)
                    ))
                    .show_ui(ui, |ui| {
                        for code in CLOSE_CODES {
                            ui.selectable_value(
                                &mut app.client.close_code,
                                code,
                                format!("{code} {}", close_code_name(code)),
                            );
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.add(egui::DragValue::new(&mut app.client.close_code).range(1000..=4999));
                let l = ui.label("Reason");
                ui.add(egui::TextEdit::singleline(&mut app.client.close_reason).desired_width(180.0))
                    .labelled_by(l.id);
            });
        } else {
            let hint = match app.client.kind {
                ComposeKind::Json => "{\"type\": \"hello\"}",
                ComposeKind::Binary => "01 02 ff",
                ComposeKind::Base64 => "AQL/",
                ComposeKind::Ping => "ping payload (≤125 bytes)",
                _ => "message text",
            };
            let l = ui.label("Message");
            ui.add(
                egui::TextEdit::multiline(&mut app.client.text)
                    .hint_text(hint)
                    .code_editor()
                    .desired_rows(3)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l.id);
        }
        let ctrl_enter = ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Enter));
        ui.horizontal(|ui| {
            if ui.button("Send").on_hover_text("Ctrl+Enter").clicked() || (open && ctrl_enter) {
                app.push(Command::SendComposed);
            }
            if !app.client.history.is_empty() {
                egui::ComboBox::from_id_salt("send-history")
                    .selected_text("History")
                    .show_ui(ui, |ui| {
                        for (kind, text) in app.client.history.clone().iter().rev() {
                            let shown: String = text.chars().take(60).collect();
                            if ui.button(format!("{}: {shown}", kind.label())).clicked() {
                                app.client.kind = *kind;
                                app.client.text = text.clone();
                            }
                        }
                    });
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composer_checks_json_hex_and_control_frame_limits() {
        let mut panel = ClientPanel {
            kind: ComposeKind::Json,
            text: "{\"a\": 1".to_owned(),
            ..Default::default()
        };
        assert!(panel.compose().unwrap_err().starts_with("not JSON"));
        panel.text = "{\"a\": 1}".to_owned();
        assert_eq!(panel.compose(), Ok(ClientCommand::Text("{\"a\": 1}".to_owned())));
        panel.kind = ComposeKind::Binary;
        panel.text = "0x01 ff".to_owned();
        assert_eq!(panel.compose(), Ok(ClientCommand::Binary(vec![1, 0xff])));
        panel.text = "abc".to_owned();
        assert!(panel.compose().is_err());
        panel.kind = ComposeKind::Base64;
        panel.text = "AQL/\n".to_owned();
        assert_eq!(panel.compose(), Ok(ClientCommand::Binary(vec![1, 2, 0xff])));
        panel.text = "AQ*".to_owned();
        assert!(panel.compose().unwrap_err().starts_with("not base64"));
        panel.kind = ComposeKind::Ping;
        panel.text = "x".repeat(126);
        assert!(panel.compose().unwrap_err().contains("125"));
        panel.kind = ComposeKind::Close;
        panel.close_code = 4001;
        panel.close_reason = "bye".to_owned();
        assert_eq!(panel.compose(), Ok(ClientCommand::Close(4001, "bye".to_owned())));
    }

    #[test]
    fn the_form_reports_bad_urls_and_headers_and_splits_subprotocols() {
        let mut panel = ClientPanel {
            url: "http://example.com/".to_owned(),
            ..Default::default()
        };
        assert!(panel.options().is_err());
        panel.url = "ws://127.0.0.1:9/chat".to_owned();
        panel.headers = "X-Token: abc\nbroken".to_owned();
        assert!(panel.options().unwrap_err().contains("broken"));
        panel.headers = "X-Token: abc\n\n".to_owned();
        panel.subprotocols = "chat, , v2 ".to_owned();
        let o = panel.options().unwrap();
        assert_eq!(o.headers, vec![("X-Token".to_owned(), "abc".to_owned())]);
        assert_eq!(o.subprotocols, vec!["chat".to_owned(), "v2".to_owned()]);
        assert_eq!(o.target.port, 9);
        panel.secret_headers = vec![(" ".to_owned(), "x".to_owned())];
        assert!(panel.options().unwrap_err().contains("no name"));
        panel.secret_headers = vec![("Authorization".to_owned(), "Bearer t".to_owned())];
        let o = panel.options().unwrap();
        assert_eq!(
            o.headers.last(),
            Some(&("Authorization".to_owned(), "Bearer t".to_owned()))
        );
    }
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    #[test]
    fn a_profile_round_trips_through_ron_without_secret_values() {
        let panel = ClientPanel {
            url: "wss://example.test:8443/feed".to_owned(),
            headers: "X-Client: framescope".to_owned(),
            secret_headers: vec![("Authorization".to_owned(), "Bearer hunter2".to_owned())],
            subprotocols: "v2.feed".to_owned(),
            origin: "https://example.test".to_owned(),
            ca_file: "/etc/dev-ca.pem".to_owned(),
            heartbeat: true,
            heartbeat_every: 2.5,
            pong_timeout: 1.0,
            close_on_missed_pong: true,
            reconnect: true,
            reconnect_base: 0.25,
            reconnect_max: 8.0,
            reconnect_attempts: 7,
            ..Default::default()
        };
        let settings = crate::gui::settings::Settings {
            profiles: vec![panel.to_profile(" feed ")],
            ..Default::default()
        };
        let text = ron::to_string(&settings).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let back: crate::gui::settings::Settings = ron::from_str(&text).unwrap();
        let mut restored = ClientPanel::default();
        restored.apply_profile(&back.profiles[0]);
        assert_eq!(restored.profile_name, "feed");
        assert_eq!(
            restored.secret_headers,
            vec![("Authorization".to_owned(), String::new())]
        );
        // Everything but the secret value comes back.
        assert_eq!(restored.to_profile("feed"), panel.to_profile("feed"));
        let options = restored.options().unwrap();
        assert_eq!(
            options.tls.extra_ca_file.as_deref(),
            Some(std::path::Path::new("/etc/dev-ca.pem"))
        );
        assert_eq!(restored.reconnect().map(|r| r.attempts), Some(7));
        // Settings saved before profiles existed still load.
        let old: crate::gui::settings::Settings =
            ron::from_str("(recent_files: [], dark_mode: false, time_mode: Absolute)").unwrap();
        assert!(old.profiles.is_empty() && !old.dark_mode);
    }
}
