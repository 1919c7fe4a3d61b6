//! Settings kept between runs (RON, through eframe's storage): recent files, theme, time mode.

use std::path::{Path, PathBuf};

pub const SETTINGS_KEY: &str = "framescope-settings";
const MAX_RECENT_FILES: usize = 10;
const MAX_RECENT_FILTERS: usize = 20;

/// How message times are shown (Wireshark's View → Time Display Format).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TimeMode {
    /// Seconds since the capture's first packet: one origin for every row.
    #[default]
    SinceCapture,
    /// Seconds since the row's connection was recognised.
    Relative,
    /// Seconds since the previous row shown.
    Delta,
    /// Wall-clock time in the local time zone.
    Local,
    /// Wall-clock time in UTC.
    Absolute,
}

impl TimeMode {
    pub const ALL: [TimeMode; 5] = [
        TimeMode::SinceCapture,
        TimeMode::Relative,
        TimeMode::Delta,
        TimeMode::Local,
        TimeMode::Absolute,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TimeMode::SinceCapture => "Seconds since the capture started",
            TimeMode::Relative => "Seconds since the connection started",
            TimeMode::Delta => "Seconds since the previous shown message",
            TimeMode::Local => "Time of day (local)",
            TimeMode::Absolute => "Time of day (UTC)",
        }
    }
}

/// Optional columns of the message table (the column chooser).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Columns {
    pub connection: bool,
    pub wire: bool,
    pub frames: bool,
    pub compressed: bool,
    pub rtt: bool,
    pub fin_rsv: bool,
    pub mask: bool,
    /// The application summary (`PUBLISH sensors/t1 q1 #12`).
    pub summary: bool,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            connection: true,
            wire: true,
            frames: true,
            compressed: false,
            rtt: false,
            fin_rsv: false,
            mask: false,
            summary: true,
        }
    }
}

/// "Decode as…" for one server and path (the connections strip's context menu): the
/// protocol its connections carry, or `none` to leave them undecoded.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DecodeRule {
    /// `ip:port` of the server, as the connections strip shows it.
    pub server: String,
    /// The request path with its query string (empty when the handshake was not seen).
    pub path: String,
    /// A protocol id (`mqtt`, `socketio`, `protobuf`…) or `none`.
    pub protocol: String,
    /// For protobuf: the user's `.proto` files and the message type of each direction.
    pub proto_files: Vec<PathBuf>,
    pub proto_c2s: String,
    pub proto_s2c: String,
}

/// A display filter kept as a button (Wireshark's filter buttons).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SavedFilter {
    pub name: String,
    pub expression: String,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub recent_files: Vec<PathBuf>,
    pub dark_mode: bool,
    pub time_mode: TimeMode,
    /// Saved live connection set-ups, by name.
    pub profiles: Vec<ConnectionProfile>,
    /// The live connections pane floats as a window (else it is docked left of the messages).
    pub live_pane_floating: bool,
    pub columns: Columns,
    /// Display filters applied, newest first.
    pub recent_filters: Vec<String>,
    pub saved_filters: Vec<SavedFilter>,
    /// The TLS key log file (`SSLKEYLOGFILE`) that decrypts wss:// captures, remembered.
    pub tls_keylog: Option<PathBuf>,
    /// "Decode as…" choices, remembered per server and path.
    pub decode_rules: Vec<DecodeRule>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recent_files: Vec::new(),
            dark_mode: true,
            time_mode: TimeMode::SinceCapture,
            profiles: Vec::new(),
            live_pane_floating: false,
            columns: Columns::default(),
            recent_filters: Vec::new(),
            saved_filters: vec![
                SavedFilter {
                    name: "Closes".into(),
                    expression: "opcode == close".into(),
                },
                SavedFilter {
                    name: "Slow pings".into(),
                    expression: "rtt_ms > 100".into(),
                },
                SavedFilter {
                    name: "With findings".into(),
                    expression: "finding".into(),
                },
            ],
            tls_keylog: None,
            decode_rules: Vec::new(),
        }
    }
}

/// A live connection set-up as saved. Secret headers keep their names only: their values are
/// never written to disk.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ConnectionProfile {
    pub name: String,
    pub url: String,
    pub headers: String,
    pub secret_header_names: Vec<String>,
    pub subprotocols: String,
    pub origin: String,
    pub insecure: bool,
    pub ca_file: String,
    /// Where TLS secrets are appended (a path; the secrets are never in the settings).
    pub key_log_file: String,
    /// Seconds for the connection and the upgrade; `None` (older profiles) means the default.
    pub connect_timeout: Option<f64>,
    pub heartbeat: Option<(f64, f64, bool)>,
    pub reconnect: Option<(f64, f64, u32)>,
    /// Messages saved to send again.
    pub templates: Vec<MessageTemplate>,
}

/// A message saved under a name, to fill the composer with.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MessageTemplate {
    pub name: String,
    pub kind: crate::live::compose::ComposeKind,
    /// The text, hex, base64, file path or ping payload (as typed).
    pub text: String,
    /// For a close: the code and reason.
    pub close_code: u16,
    pub close_reason: String,
}

impl Settings {
    /// Puts `path` first in the recent files, once.
    pub fn remember(&mut self, path: &Path) {
        self.recent_files.retain(|p| p != path);
        self.recent_files.insert(0, path.to_owned());
        self.recent_files.truncate(MAX_RECENT_FILES);
    }

    /// Puts a display filter first in the recent filters, once.
    pub fn remember_filter(&mut self, expression: &str) {
        let expression = expression.trim();
        if expression.is_empty() {
            return;
        }
        self.recent_filters.retain(|f| f != expression);
        self.recent_filters.insert(0, expression.to_owned());
        self.recent_filters.truncate(MAX_RECENT_FILTERS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_files_are_unique_newest_first_and_bounded() {
        let mut s = Settings::default();
        for i in 0..15 {
            s.remember(Path::new(&format!("/tmp/{i}.pcap")));
        }
        s.remember(Path::new("/tmp/7.pcap"));
        assert_eq!(s.recent_files.len(), MAX_RECENT_FILES);
        assert_eq!(s.recent_files[0], Path::new("/tmp/7.pcap"));
        assert_eq!(s.recent_files.iter().filter(|p| p.ends_with("7.pcap")).count(), 1);
    }

    #[test]
    fn settings_round_trip_through_ron() {
        let mut s = Settings::default();
        s.remember(Path::new("/captures/a.pcapng"));
        s.time_mode = TimeMode::Absolute;
        let text = ron::to_string(&s).expect("serialize");
        let back: Settings = ron::from_str(&text).expect("parse");
        assert_eq!(back, s);
        // Fields added later default when an older file lacks them.
        let old: Settings = ron::from_str("(dark_mode: false)").expect("parse old");
        assert!(!old.dark_mode && old.recent_files.is_empty());
    }
}
