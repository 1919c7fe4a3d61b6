//! Composing a message to send on a live connection from what a person typed: text, JSON
//! (checked), binary from hex, base64 or a file, ping, close. Shared by the window's composer
//! and anything else that builds messages from text.

use crate::analysis::ws::builder::parse_hex;
use crate::live::client::ClientCommand;

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
    pub const ALL: [ComposeKind; 7] = [
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

/// The largest file the composer sends (tungstenite's default receive limit is 64 MiB too).
pub const MAX_FILE_MESSAGE: u64 = 64 << 20;

/// The message `text` spells as `kind` (for a close, `close_code` and `close_reason` are
/// sent), or why it cannot be sent.
pub fn compose(kind: ComposeKind, text: &str, close_code: u16, close_reason: &str) -> Result<ClientCommand, String> {
    match kind {
        ComposeKind::Text => Ok(ClientCommand::Text(text.to_owned())),
        ComposeKind::Json => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => Ok(ClientCommand::Text(text.to_owned())),
            Err(e) => Err(format!("not JSON: {e}")),
        },
        ComposeKind::Binary => parse_hex(text).map(ClientCommand::Binary),
        ComposeKind::Base64 => {
            use base64::Engine as _;
            let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(cleaned)
                .map(ClientCommand::Binary)
                .map_err(|e| format!("not base64: {e}"))
        }
        ComposeKind::File => read_message_file(text.trim()).map(ClientCommand::Binary),
        ComposeKind::Ping => {
            let payload = text.as_bytes().to_vec();
            if payload.len() > 125 {
                return Err(format!(
                    "a ping carries at most 125 bytes (RFC 6455 §5.5); this is {}",
                    payload.len()
                ));
            }
            Ok(ClientCommand::Ping(payload))
        }
        ComposeKind::Close => {
            if close_reason.len() > 123 {
                return Err(format!(
                    "a close reason is at most 123 bytes (RFC 6455 §5.5); this is {}",
                    close_reason.len()
                ));
            }
            Ok(ClientCommand::Close(close_code, close_reason.to_owned()))
        }
    }
}

/// The size of the file at `path`, when it is one (shown before sending it).
pub fn file_size(path: &str) -> Option<u64> {
    std::fs::metadata(path.trim())
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
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
