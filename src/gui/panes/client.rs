//! The connect window: one tab per live connection, each with its request options, state,
//! counters and composer (text, JSON, binary from hex, base64 or a file, ping, close, saved
//! templates); every session's messages arrive in the main tables like a capture's.

use crate::analysis::event::ConnId;
use crate::analysis::ws::builder::parse_hex;
use crate::analysis::ws::close::{REGISTERED_CLOSE_CODES, close_code_allowed_on_wire, close_code_name};
use crate::gui::app::FramescopeApp;
use crate::gui::commands::Command;
use crate::gui::json_layout::{Layout, relayout};
use crate::gui::sessions::Session;
use crate::gui::settings::{ConnectionProfile, MessageTemplate, Settings};
use crate::gui::theme;
use crate::live::client::{ClientCommand, ClientState, Heartbeat, Reconnect};
use crate::store::Store;

/// What the composer sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ComposeKind {
    #[default]
    Text,
    /// Text that must parse as JSON before it is sent.
    Json,
    /// Hex digits, sent as a binary message.
    Binary,
    /// Base64, sent as a binary message.
    Base64,
    /// A file's bytes, sent as a binary message (the text is the path).
    File,
    Ping,
    Close,
}

impl ComposeKind {
    const ALL: [ComposeKind; 7] = [
        ComposeKind::Text,
        ComposeKind::Json,
        ComposeKind::Binary,
        ComposeKind::Base64,
        ComposeKind::File,
        ComposeKind::Ping,
        ComposeKind::Close,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ComposeKind::Text => "Text",
            ComposeKind::Json => "JSON",
            ComposeKind::Binary => "Binary (hex)",
            ComposeKind::Base64 => "Binary (base64)",
            ComposeKind::File => "Binary (file)",
            ComposeKind::Ping => "Ping",
            ComposeKind::Close => "Close",
        }
    }
}

/// Close codes in the picker: the registry's, then the first private-use code (any code
/// 1000–4999 can be typed).
fn close_codes() -> impl Iterator<Item = u16> {
    REGISTERED_CLOSE_CODES.iter().copied().chain([4000])
}

/// "1 message", "2 messages".
fn count_of(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// Seconds allowed for connecting, TLS and the upgrade unless the form says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: f64 = 10.0;

/// The largest file the composer sends (tungstenite's default receive limit is 64 MiB too).
pub const MAX_FILE_MESSAGE: u64 = 64 << 20;

/// One connection tab: the form, the composer and the session.
pub struct ClientPanel {
    /// Shown on the tab ("Tab 2").
    pub number: u32,
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
    /// Where to append TLS secrets for Wireshark (empty: only SSLKEYLOGFILE).
    pub key_log_file: String,
    /// Seconds allowed for connecting, TLS and the upgrade.
    pub connect_timeout: f64,
    /// The profile name typed or picked in the window.
    pub profile_name: String,
    pub session: Option<Session>,
    /// The store numbers of this tab's connections, oldest first (a reconnect adds one).
    pub conns: Vec<ConnId>,
    /// The temporary pcapng of the tab's last session.
    pub recording: Option<std::path::PathBuf>,
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
    /// Saved messages; kept with the profile.
    pub templates: Vec<MessageTemplate>,
    pub template_name: String,
    /// The end of the current session has been reported in the status bar.
    pub(crate) end_reported: bool,
}

impl Default for ClientPanel {
    fn default() -> Self {
        ClientPanel {
            number: 1,
            url: "ws://127.0.0.1:8080/".to_owned(),
            headers: String::new(),
            secret_headers: Vec::new(),
            record_secrets: false,
            subprotocols: String::new(),
            origin: String::new(),
            insecure: false,
            ca_file: String::new(),
            key_log_file: String::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT_SECS,
            profile_name: String::new(),
            session: None,
            conns: Vec::new(),
            recording: None,
            kind: ComposeKind::Text,
            text: String::new(),
            close_code: 1000,
            close_reason: String::new(),
            error: None,
            history: Vec::new(),
            templates: Vec::new(),
            template_name: String::new(),
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

impl ClientPanel {
    /// A tab with this one's request settings and templates, without its session.
    pub fn fresh_copy(&self) -> ClientPanel {
        let mut copy = ClientPanel::default();
        copy.apply_profile(&self.to_profile(&self.profile_name));
        // Secret values stay in memory for the copy: the user typed them for this server.
        copy.secret_headers = self.secret_headers.clone();
        copy.record_secrets = self.record_secrets;
        copy
    }

    /// The connection options from the form, or what is wrong with it.
    pub fn options(&self) -> Result<crate::live::session::ConnectOptions, String> {
        let target = crate::live::target::parse_target(self.url.trim())?;
        let mut headers = Vec::new();
        for line in self.headers.lines().map(str::trim).filter(|l| !l.is_empty()) {
            headers.push(crate::live::options::parse_header(line).map_err(|e| format!("header line {e}"))?);
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
            timeout: clamped_seconds(self.connect_timeout.min(600.0), 0.1),
            tls: crate::live::session::TlsOptions {
                extra_ca_file: Some(self.ca_file.trim())
                    .filter(|p| !p.is_empty())
                    .map(std::path::PathBuf::from),
                accept_invalid_certs: self.insecure,
                key_log_file: Some(self.key_log_file.trim())
                    .filter(|p| !p.is_empty())
                    .map(std::path::PathBuf::from),
            },
        })
    }

    /// The composer's content as a command, or why it cannot be sent.
    pub fn compose(&self) -> Result<ClientCommand, String> {
        match self.kind {
            ComposeKind::Text => Ok(ClientCommand::Text(self.text.clone())),
            ComposeKind::Json => match serde_json::from_str::<serde::de::IgnoredAny>(&self.text) {
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
            ComposeKind::File => read_message_file(self.text.trim()).map(ClientCommand::Binary),
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

    /// Re-indents the JSON in the composer (keys and numbers exactly as typed).
    pub fn relayout_json(&mut self, layout: Layout) {
        match relayout(&self.text, layout) {
            Ok(text) => {
                self.text = text;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The composer's content as a template named `name`.
    pub fn to_template(&self, name: &str) -> MessageTemplate {
        MessageTemplate {
            name: name.trim().to_owned(),
            kind: self.kind,
            text: self.text.clone(),
            close_code: self.close_code,
            close_reason: self.close_reason.clone(),
        }
    }

    /// Fills the composer from a template.
    pub fn apply_template(&mut self, t: &MessageTemplate) {
        self.template_name = t.name.clone();
        self.kind = t.kind;
        self.text = t.text.clone();
        if t.kind == ComposeKind::Close {
            self.close_code = t.close_code;
            self.close_reason = t.close_reason.clone();
        }
    }

    /// Saves the composer as template `name` (replacing one of that name).
    pub fn save_template(&mut self, name: &str) {
        let template = self.to_template(name);
        match self.templates.iter_mut().find(|t| t.name == template.name) {
            Some(existing) => *existing = template,
            None => self.templates.push(template),
        }
    }

    /// The form as a profile named `name` (secret values left out).
    pub fn to_profile(&self, name: &str) -> ConnectionProfile {
        ConnectionProfile {
            name: name.trim().to_owned(),
            // A password in the URL is a secret like a secret header's value: never saved.
            url: crate::live::target::drop_password(&self.url),
            headers: self.headers.clone(),
            secret_header_names: self.secret_headers.iter().map(|(n, _)| n.clone()).collect(),
            subprotocols: self.subprotocols.clone(),
            origin: self.origin.clone(),
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
            key_log_file: self.key_log_file.clone(),
            connect_timeout: Some(self.connect_timeout),
            heartbeat: self
                .heartbeat
                .then_some((self.heartbeat_every, self.pong_timeout, self.close_on_missed_pong)),
            reconnect: self
                .reconnect
                .then_some((self.reconnect_base, self.reconnect_max, self.reconnect_attempts)),
            templates: self.templates.clone(),
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
        self.key_log_file = p.key_log_file.clone();
        self.connect_timeout = p.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS);
        self.heartbeat = p.heartbeat.is_some();
        if let Some((every, timeout, close)) = p.heartbeat {
            (self.heartbeat_every, self.pong_timeout, self.close_on_missed_pong) = (every, timeout, close);
        }
        self.reconnect = p.reconnect.is_some();
        if let Some((base, max, attempts)) = p.reconnect {
            (self.reconnect_base, self.reconnect_max, self.reconnect_attempts) = (base, max, attempts);
        }
        self.templates = p.templates.clone();
    }

    /// The reconnect policy chosen in the form.
    pub fn reconnect(&self) -> Option<Reconnect> {
        self.reconnect.then(|| Reconnect {
            base: clamped_seconds(self.reconnect_base, 0.01),
            max: clamped_seconds(self.reconnect_max.max(self.reconnect_base), 0.01),
            attempts: self.reconnect_attempts,
        })
    }

    /// The heartbeat chosen in the form.
    pub fn heartbeat(&self) -> Option<Heartbeat> {
        self.heartbeat.then(|| Heartbeat {
            every: clamped_seconds(self.heartbeat_every, 0.05),
            pong_timeout: clamped_seconds(self.pong_timeout, 0.05),
            close_on_miss: self.close_on_missed_pong,
        })
    }

    pub fn state(&self) -> Option<ClientState> {
        self.session.as_ref().map(|s| s.client.state())
    }

    /// The URL as shown outside the URL field (titles, status lines): any password as `***`.
    pub fn shown_url(&self) -> String {
        crate::live::target::hide_password(self.url.trim())
    }

    /// The tab's title: number, host and path, and a word for the state.
    fn title(&self) -> String {
        let place = self
            .shown_url()
            .trim_start_matches("wss://")
            .trim_start_matches("ws://")
            .chars()
            .take(28)
            .collect::<String>();
        let state = match self.state() {
            None => "",
            Some(ClientState::Connecting) => " (connecting)",
            Some(ClientState::Open { .. }) => " (open)",
            Some(ClientState::Reconnecting { .. }) => " (reconnecting)",
            Some(ClientState::Closed(_)) => " (closed)",
            Some(ClientState::Failed(_)) => " (failed)",
        };
        // "Tab 2", not "#2": "#" numbers connections in the tables.
        format!("Tab {}: {place}{state}", self.number)
    }
}

/// A file's bytes for a binary message, or why it cannot be sent.
fn read_message_file(path: &str) -> Result<Vec<u8>, String> {
    if path.is_empty() {
        return Err("no file chosen".to_owned());
    }
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {path}: {e}"))?
        .len();
    if len > MAX_FILE_MESSAGE {
        return Err(format!(
            "{path} is {len} bytes; the composer sends at most {MAX_FILE_MESSAGE} bytes"
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// What the window's parts need besides the tab: read-only data, settings, and the command
/// queue.
struct Ctx<'a> {
    store: &'a Store,
    settings: &'a mut Settings,
    out: &'a mut Vec<Command>,
}

/// The live connections pane as a floating window (when the user undocked it).
pub fn client_window_ui(app: &mut FramescopeApp, ctx: &egui::Context) {
    app.report_client_states();
    if !app.clients.open || !app.settings.live_pane_floating {
        return;
    }
    let mut open = true;
    egui::Window::new("Live connections")
        .open(&mut open)
        .default_width(580.0)
        .show(ctx, |ui| live_pane_ui(app, ui));
    if !open {
        app.clients.open = false;
    }
}

/// The live connections pane docked left of the message table (the default): the tables stay
/// visible while composing, as in Postman.
pub fn client_panel_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Live connections");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("Hide")
                .on_hover_text("File > Connect to a WebSocket shows it again")
                .clicked()
            {
                app.clients.open = false;
            }
        });
    });
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| live_pane_ui(app, ui));
}

/// What the pane holds, docked or floating: the tabs, then the current tab.
fn live_pane_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    let FramescopeApp {
        clients,
        store,
        settings,
        commands,
        ..
    } = app;
    let mut cx = Ctx {
        store,
        settings,
        out: commands,
    };
    tabs_ui(clients, &mut cx.settings.live_pane_floating, ui, cx.out);
    ui.separator();
    let current = clients.current;
    let tab = clients.current_mut();
    tab_ui(tab, current, ui, &mut cx);
}

/// One button per tab, "New tab", "Close tab" and "Float"/"Dock".
fn tabs_ui(clients: &crate::gui::sessions::ClientTabs, floating: &mut bool, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        for (i, tab) in clients.tabs.iter().enumerate() {
            if ui.selectable_label(i == clients.current, tab.title()).clicked() && i != clients.current {
                out.push(Command::SelectClientTab(i));
            }
        }
        if ui
            .button("New tab")
            .on_hover_text("another connection, with this tab's settings")
            .clicked()
        {
            out.push(Command::NewClientTab);
        }
        if ui
            .button("Close tab")
            .on_hover_text("ends this tab's connection")
            .clicked()
        {
            out.push(Command::CloseClientTab(clients.current));
        }
        let label = if *floating { "Dock" } else { "Float" };
        if ui
            .button(label)
            .on_hover_text("docked left of the messages, or a window of its own")
            .clicked()
        {
            *floating = !*floating;
        }
    });
}

fn tab_ui(tab: &mut ClientPanel, index: usize, ui: &mut egui::Ui, cx: &mut Ctx<'_>) {
    let state = tab.state();
    let active = state.as_ref().is_some_and(|s| !s.is_finished());
    ui.horizontal(|ui| {
        let label = ui.label("URL");
        ui.add_enabled(
            !active,
            egui::TextEdit::singleline(&mut tab.url)
                .hint_text("ws://host:port/path or wss://…")
                .desired_width(360.0),
        )
        .labelled_by(label.id);
        if active {
            if ui.button("Disconnect").clicked()
                && let Some(s) = &tab.session
            {
                s.client.abort();
            }
        } else if ui.button("Connect").clicked() {
            cx.out.push(Command::ConnectClient);
        }
    });
    profiles_ui(tab, ui, cx.settings);
    ui.collapsing("Request options", |ui| request_options_ui(tab, ui));
    if tab.insecure {
        ui.colored_label(theme::WARNING, "TLS certificates are NOT checked on this connection");
    }
    state_ui(state.as_ref(), ui);
    counters_ui(tab, cx.store, ui);
    if !tab.conns.is_empty() {
        ui.horizontal(|ui| {
            let conns: Vec<String> = tab.conns.iter().map(|c| format!("#{c}")).collect();
            ui.label(format!("In the tables as connection {}", conns.join(", ")));
            if ui.small_button("Show only this tab").clicked() {
                cx.out.push(Command::SelectConnection(tab.conns.last().copied()));
            }
            if ui.small_button("Show all").clicked() {
                cx.out.push(Command::SelectConnection(None));
            }
        });
    }
    let finished = state.as_ref().is_some_and(ClientState::is_finished);
    let recorded = tab.session.as_ref().is_some_and(|s| {
        s.client
            .counters
            .recorded_connections
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    });
    if finished
        && recorded
        && tab.recording.as_ref().is_some_and(|p| p.exists())
        && ui.button("Save session as .pcapng…").clicked()
    {
        cx.out.push(Command::SaveSessionRecording(index));
    }
    ui.separator();
    composer_ui(tab, ui, state.as_ref().is_some_and(ClientState::is_open), cx);
    if let Some(e) = &tab.error {
        ui.colored_label(theme::ERROR, e);
    }
}

fn request_options_ui(tab: &mut ClientPanel, ui: &mut egui::Ui) {
    egui::Grid::new("client-options").num_columns(2).show(ui, |ui| {
        let l = ui.label("Subprotocols");
        ui.add(egui::TextEdit::singleline(&mut tab.subprotocols).hint_text("chat, superchat"))
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label("Origin");
        ui.add(egui::TextEdit::singleline(&mut tab.origin).hint_text("https://example.com"))
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label("Headers");
        ui.add(
            egui::TextEdit::multiline(&mut tab.headers)
                .hint_text("Authorization: Bearer …")
                .desired_rows(2),
        )
        .labelled_by(l.id);
        ui.end_row();
        let mut remove = None;
        for (i, (name, value)) in tab.secret_headers.iter_mut().enumerate() {
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
            tab.secret_headers.remove(i);
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Add a secret header").clicked() {
            tab.secret_headers.push((String::new(), String::new()));
        }
        ui.checkbox(&mut tab.record_secrets, "record secrets in clear");
    });
    path_field_ui(ui, "Extra CA file (PEM)", &mut tab.ca_file, "dev-ca.pem");
    path_field_ui(
        ui,
        "TLS key log file",
        &mut tab.key_log_file,
        "keys.log (for Wireshark)",
    )
    .on_hover_text("wss:// session secrets are appended here (NSS key log format); empty: SSLKEYLOGFILE");
    ui.checkbox(&mut tab.insecure, "Accept any TLS certificate (insecure)");
    ui.horizontal(|ui| {
        ui.label("Connect timeout");
        ui.add(
            egui::DragValue::new(&mut tab.connect_timeout)
                .range(0.1..=600.0)
                .suffix(" s"),
        )
        .on_hover_text("for TCP, TLS and the upgrade answer, each");
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut tab.heartbeat, "Heartbeat: ping every");
        ui.add(
            egui::DragValue::new(&mut tab.heartbeat_every)
                .range(0.1..=3600.0)
                .suffix(" s"),
        );
        ui.label("pong timeout");
        ui.add(
            egui::DragValue::new(&mut tab.pong_timeout)
                .range(0.1..=600.0)
                .suffix(" s"),
        );
        ui.checkbox(&mut tab.close_on_missed_pong, "close on a missed pong");
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut tab.reconnect, "Reconnect after a drop: first wait");
        ui.add(
            egui::DragValue::new(&mut tab.reconnect_base)
                .range(0.05..=60.0)
                .suffix(" s"),
        );
        ui.label("doubling up to");
        ui.add(
            egui::DragValue::new(&mut tab.reconnect_max)
                .range(0.05..=3600.0)
                .suffix(" s"),
        );
        ui.label("attempts");
        ui.add(egui::DragValue::new(&mut tab.reconnect_attempts).range(1..=1000));
    });
}

fn state_ui(state: Option<&ClientState>, ui: &mut egui::Ui) {
    match state {
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
}

/// A labelled one-line field for a file path; returns the field's response.
fn path_field_ui(ui: &mut egui::Ui, label: &str, path: &mut String, hint: &str) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(egui::TextEdit::singleline(path).hint_text(hint).desired_width(260.0))
            .labelled_by(l.id)
    })
    .inner
}

/// Saved set-ups: pick one to fill the form, save the form under a name, delete.
fn profiles_ui(tab: &mut ClientPanel, ui: &mut egui::Ui, settings: &mut Settings) {
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Profile");
        let mut picked = None;
        egui::ComboBox::from_id_salt("client-profile")
            .selected_text(if settings.profiles.is_empty() {
                "(none saved)"
            } else {
                "Load…"
            })
            .show_ui(ui, |ui| {
                for p in &settings.profiles {
                    if ui.button(format!("{} — {}", p.name, p.url)).clicked() {
                        picked = Some(p.clone());
                    }
                }
            })
            .response
            .labelled_by(l.id);
        if let Some(p) = picked {
            tab.apply_profile(&p);
        }
        let l = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut tab.profile_name).desired_width(120.0))
            .labelled_by(l.id);
        let name = tab.profile_name.trim().to_owned();
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new("Save profile"))
            .clicked()
        {
            save_profile(tab, settings, &name);
        }
        let exists = settings.profiles.iter().any(|p| p.name == name);
        if ui.add_enabled(exists, egui::Button::new("Delete profile")).clicked() {
            settings.profiles.retain(|p| p.name != name);
        }
    });
}

fn save_profile(tab: &ClientPanel, settings: &mut Settings, name: &str) {
    let profile = tab.to_profile(name);
    match settings.profiles.iter_mut().find(|p| p.name == profile.name) {
        Some(existing) => *existing = profile,
        None => settings.profiles.push(profile),
    }
}

/// Messages and bytes each way over the tab's connections, the latest ping RTT, uptime,
/// heartbeat and reconnect counts.
fn counters_ui(tab: &ClientPanel, store: &Store, ui: &mut egui::Ui) {
    let Some(session) = &tab.session else {
        return;
    };
    let entries: Vec<_> = tab.conns.iter().filter_map(|&c| store.connection(c)).collect();
    if !entries.is_empty() {
        let (mut up, mut down) = ((0, 0), (0, 0));
        for c in &entries {
            up = (up.0 + c.counters[0].messages, up.1 + c.counters[0].wire_bytes);
            down = (down.0 + c.counters[1].messages, down.1 + c.counters[1].wire_bytes);
        }
        ui.label(format!(
            "Sent {} ({} on the wire) · received {} ({})",
            count_of(up.0, "message"),
            crate::gui::format::bytes(up.1),
            count_of(down.0, "message"),
            crate::gui::format::bytes(down.1)
        ));
    }
    let rtts: Vec<_> = store.rtts.iter().filter(|r| tab.conns.contains(&r.conn)).collect();
    if let Some(rtt) = rtts.last() {
        ui.label(format!("Last ping RTT {:.2} ms ({} samples)", rtt.rtt_ms(), rtts.len()));
    }
    if let Some(latest) = entries.last() {
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
    let counters = &session.client.counters;
    let pings = counters.heartbeat_pings.load(std::sync::atomic::Ordering::Relaxed);
    let missed = counters.missed_pongs.load(std::sync::atomic::Ordering::Relaxed);
    let reconnects = counters.reconnects.load(std::sync::atomic::Ordering::Relaxed);
    if reconnects > 0 {
        ui.colored_label(
            theme::WARNING,
            format!(
                "Reconnect attempts: {reconnects} ({} connections; the timeline shades the gaps)",
                tab.conns.len()
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

fn composer_ui(tab: &mut ClientPanel, ui: &mut egui::Ui, open: bool, cx: &mut Ctx<'_>) {
    ui.horizontal_wrapped(|ui| {
        for kind in ComposeKind::ALL {
            ui.selectable_value(&mut tab.kind, kind, kind.label());
        }
    });
    let mut composing = false;
    match tab.kind {
        ComposeKind::Close => close_fields_ui(tab, ui),
        ComposeKind::File => {
            ui.horizontal(|ui| {
                let l = ui.label("File to send");
                ui.add(
                    egui::TextEdit::singleline(&mut tab.text)
                        .hint_text("/path/to/payload.bin")
                        .desired_width(340.0),
                )
                .labelled_by(l.id);
                if ui.button("Choose…").clicked() {
                    cx.out.push(Command::PickComposeFile);
                }
            });
            if let Ok(meta) = std::fs::metadata(tab.text.trim())
                && meta.is_file()
            {
                ui.label(format!("{} bytes, sent as one binary message", meta.len()));
            }
        }
        _ => {
            let hint = match tab.kind {
                ComposeKind::Json => "{\"type\": \"hello\"}",
                ComposeKind::Binary => "01 02 ff",
                ComposeKind::Base64 => "AQL/",
                ComposeKind::Ping => "ping payload (≤125 bytes)",
                _ => "message text",
            };
            let l = ui.label("Message");
            let field = ui
                .add(
                    egui::TextEdit::multiline(&mut tab.text)
                        .hint_text(hint)
                        .code_editor()
                        .desired_rows(3)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(l.id);
            composing = field.has_focus();
            if tab.kind == ComposeKind::Json {
                ui.horizontal(|ui| {
                    if ui
                        .button("Pretty")
                        .on_hover_text("indent; keys and numbers as typed")
                        .clicked()
                    {
                        tab.relayout_json(Layout::Pretty(2));
                    }
                    if ui
                        .button("Compact")
                        .on_hover_text("no whitespace between tokens")
                        .clicked()
                    {
                        tab.relayout_json(Layout::Compact);
                    }
                });
            }
        }
    }
    // Only from the message field: Ctrl+Enter typed anywhere else (the filter bar, a header
    // field) must not send.
    // The event's own modifiers, not the frame's: a fast Ctrl+Enter can press and release Ctrl
    // within one frame.
    let ctrl_enter = composing && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
    ui.horizontal(|ui| {
        let send = ui
            .add_enabled(open, egui::Button::new("Send"))
            .on_hover_text("Ctrl+Enter");
        if send.clicked() || (open && ctrl_enter) {
            cx.out.push(Command::SendComposed);
        }
        if !tab.history.is_empty() {
            egui::ComboBox::from_id_salt("send-history")
                .selected_text("History")
                .show_ui(ui, |ui| {
                    let mut picked = None;
                    for (kind, text) in tab.history.iter().rev() {
                        let shown: String = text.chars().take(60).collect();
                        if ui.button(format!("{}: {shown}", kind.label())).clicked() {
                            picked = Some((*kind, text.clone()));
                        }
                    }
                    if let Some((kind, text)) = picked {
                        tab.kind = kind;
                        tab.text = text;
                    }
                });
        }
    });
    templates_ui(tab, ui, cx.settings);
}

fn close_fields_ui(tab: &mut ClientPanel, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let l = ui.label("Code");
        egui::ComboBox::from_id_salt("close-code")
            .selected_text(format!("{} {}", tab.close_code, close_code_name(tab.close_code)))
            .height(400.0)
            .show_ui(ui, |ui| {
                for code in close_codes() {
                    let mut text = format!("{code} {}", close_code_name(code));
                    if !close_code_allowed_on_wire(code) {
                        text.push_str(" (reserved: must not be sent)");
                    }
                    ui.selectable_value(&mut tab.close_code, code, text);
                }
            })
            .response
            .labelled_by(l.id);
        ui.add(egui::DragValue::new(&mut tab.close_code).range(1000..=4999));
        let l = ui.label("Reason");
        ui.add(egui::TextEdit::singleline(&mut tab.close_reason).desired_width(180.0))
            .labelled_by(l.id);
    });
    if !close_code_allowed_on_wire(tab.close_code) {
        ui.colored_label(
            theme::WARNING,
            format!(
                "{} may not be sent (RFC 6455 §7.4); it is sent anyway, to test the server",
                tab.close_code
            ),
        );
    }
}

/// Saved messages: pick one to fill the composer, save the composer under a name, delete.
/// Templates belong to the tab and are saved with its profile (at once when the profile
/// already exists).
fn templates_ui(tab: &mut ClientPanel, ui: &mut egui::Ui, settings: &mut Settings) {
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Template");
        let mut picked = None;
        egui::ComboBox::from_id_salt("message-template")
            .selected_text(if tab.templates.is_empty() {
                "(none saved)"
            } else {
                "Use…"
            })
            .show_ui(ui, |ui| {
                for t in &tab.templates {
                    let shown: String = t.text.chars().take(40).collect();
                    if ui.button(format!("{} — {}: {shown}", t.name, t.kind.label())).clicked() {
                        picked = Some(t.clone());
                    }
                }
            })
            .response
            .labelled_by(l.id);
        if let Some(t) = picked {
            tab.apply_template(&t);
        }
        let l = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut tab.template_name).desired_width(110.0))
            .labelled_by(l.id);
        let name = tab.template_name.trim().to_owned();
        let mut changed = false;
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new("Save template"))
            .clicked()
        {
            tab.save_template(&name);
            changed = true;
        }
        let exists = tab.templates.iter().any(|t| t.name == name);
        if ui.add_enabled(exists, egui::Button::new("Delete template")).clicked() {
            tab.templates.retain(|t| t.name != name);
            changed = true;
        }
        let profile = tab.profile_name.trim().to_owned();
        if changed && settings.profiles.iter().any(|p| p.name == profile) {
            if let Some(p) = settings.profiles.iter_mut().find(|p| p.name == profile) {
                p.templates = tab.templates.clone();
            }
        }
    });
}

/// A form's seconds as a `Duration`, kept between `min` and a day (the drag values can be
/// typed as anything, and `Duration::from_secs_f64` panics on infinity).
fn clamped_seconds(value: f64, min: f64) -> std::time::Duration {
    let value = if value.is_finite() { value } else { min };
    std::time::Duration::from_secs_f64(value.clamp(min, crate::live::options::MAX_SECONDS))
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
        panel.kind = ComposeKind::File;
        panel.text = String::new();
        assert_eq!(panel.compose().unwrap_err(), "no file chosen");
        let file = std::env::temp_dir().join(format!("framescope-compose-{}.bin", std::process::id()));
        std::fs::write(&file, [0u8, 159, 146, 150]).unwrap();
        panel.text = format!(" {} ", file.display());
        assert_eq!(panel.compose(), Ok(ClientCommand::Binary(vec![0, 159, 146, 150])));
        std::fs::remove_file(&file).unwrap();
        assert!(panel.compose().unwrap_err().starts_with("cannot read"));
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
            url: "wss://bob:hunter3@example.test:8443/feed".to_owned(),
            headers: "X-Client: framescope".to_owned(),
            secret_headers: vec![("Authorization".to_owned(), "Bearer hunter2".to_owned())],
            subprotocols: "v2.feed".to_owned(),
            origin: "https://example.test".to_owned(),
            ca_file: "/etc/dev-ca.pem".to_owned(),
            key_log_file: "/tmp/keys.log".to_owned(),
            connect_timeout: 2.5,
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
        // Two templates, the second saved over a first version of the same name.
        let mut panel = panel;
        panel.kind = ComposeKind::Json;
        panel.text = "{\"op\": \"subscribe\", \"ch\": \"ticks\"}".to_owned();
        panel.save_template("subscribe");
        panel.kind = ComposeKind::Close;
        panel.close_code = 1000;
        panel.save_template(" bye ");
        panel.close_code = 4001;
        panel.close_reason = "later".to_owned();
        panel.save_template("bye");
        assert_eq!(panel.templates.len(), 2);
        let settings = crate::gui::settings::Settings {
            profiles: vec![panel.to_profile(" feed ")],
            ..Default::default()
        };
        let text = ron::to_string(&settings).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            !text.contains("hunter3"),
            "a password in the URL is never saved: {text}"
        );
        let back: crate::gui::settings::Settings = ron::from_str(&text).unwrap();
        let mut restored = ClientPanel::default();
        restored.apply_profile(&back.profiles[0]);
        assert_eq!(restored.profile_name, "feed");
        assert_eq!(
            restored.secret_headers,
            vec![("Authorization".to_owned(), String::new())]
        );
        // Everything but the secret values comes back.
        assert_eq!(restored.url, "wss://bob@example.test:8443/feed");
        assert_eq!(restored.to_profile("feed"), panel.to_profile("feed"));
        let options = restored.options().unwrap();
        assert_eq!(
            options.tls.extra_ca_file.as_deref(),
            Some(std::path::Path::new("/etc/dev-ca.pem"))
        );
        assert_eq!(
            options.tls.key_log_file.as_deref(),
            Some(std::path::Path::new("/tmp/keys.log"))
        );
        assert_eq!(options.timeout, std::time::Duration::from_millis(2500));
        assert_eq!(restored.reconnect().map(|r| r.attempts), Some(7));
        // Templates come back with the profile and fill the composer.
        assert_eq!(restored.templates.len(), 2);
        let bye = restored.templates[1].clone();
        restored.apply_template(&restored.templates[0].clone());
        assert_eq!(restored.kind, ComposeKind::Json);
        assert_eq!(
            restored.compose(),
            Ok(ClientCommand::Text(
                "{\"op\": \"subscribe\", \"ch\": \"ticks\"}".to_owned()
            ))
        );
        restored.apply_template(&bye);
        assert_eq!(restored.compose(), Ok(ClientCommand::Close(4001, "later".to_owned())));
        // Settings saved before profiles existed still load.
        let old: crate::gui::settings::Settings =
            ron::from_str("(recent_files: [], dark_mode: false, time_mode: Absolute)").unwrap();
        assert!(old.profiles.is_empty() && !old.dark_mode);
    }
}
