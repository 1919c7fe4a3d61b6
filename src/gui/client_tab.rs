//! One tab of the live connections pane, as state: the request form, the composer, saved
//! templates and profiles, the session and its recording. The pane (`panes::client`) draws it;
//! the composing itself is `live::compose`.

use crate::analysis::event::ConnId;
use crate::gui::json_layout::{Layout, relayout};
use crate::gui::sessions::Session;
use crate::gui::settings::{ConnectionProfile, MessageTemplate};
use crate::live::client::{ClientCommand, ClientState, Heartbeat, Reconnect};
pub use crate::live::compose::{ComposeKind, MAX_FILE_MESSAGE, compose};

/// Seconds allowed for connecting, TLS and the upgrade unless the form says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: f64 = 10.0;

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
    /// The "Application message" form (Socket.IO, MQTT, STOMP, GraphQL).
    pub app_form: crate::gui::app_form::AppForm,
    /// The form is shown.
    pub app_form_open: bool,
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
    /// The status line shown when this tab's session started connecting, until it opens or
    /// ends (then replaced, if nothing else took the status bar meanwhile).
    pub(crate) connecting_line: Option<crate::gui::app::StatusLine>,
    /// The composer's file path and its size, looked up once per path typed (not every frame).
    pub(crate) file_size: std::cell::RefCell<Option<(String, Option<u64>)>>,
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
            app_form: Default::default(),
            app_form_open: false,
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
            connecting_line: None,
            file_size: Default::default(),
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

    /// The size of the file the composer would send, when its text names one.
    pub fn file_size(&self) -> Option<u64> {
        let mut cache = self.file_size.borrow_mut();
        match &*cache {
            Some((path, size)) if *path == self.text => *size,
            _ => {
                let size = crate::live::compose::file_size(&self.text);
                *cache = Some((self.text.clone(), size));
                size
            }
        }
    }

    /// The composer's content as a command, or why it cannot be sent.
    pub fn compose(&self) -> Result<ClientCommand, String> {
        compose(self.kind, &self.text, self.close_code, &self.close_reason)
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
    pub fn title(&self) -> String {
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
