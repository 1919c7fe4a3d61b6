//! NSS key log files (`SSLKEYLOGFILE`, RFC 9850) parsed incrementally into a store of TLS
//! secrets keyed by client random.
//!
//! Text may arrive in any pieces (a live capture re-reads the file as a browser appends to
//! it): a line is parsed once its newline arrives, or at [`KeyLog::end_of_input`]. Lines
//! that are not key log entries are counted, never fatal.

use rustc_hash::FxHashMap;

/// Longest secret accepted: SHA-384 traffic secrets and TLS 1.2 master secrets are 48 bytes.
const MAX_SECRET_BYTES: usize = 48;
/// An unterminated line longer than this is junk: it is dropped up to its newline
/// (bounds the buffer a garbage file can make us hold).
pub const MAX_LINE_BYTES: usize = 1024;
/// Client randoms remembered; lines for more sessions are counted in `over_cap_lines`.
pub const MAX_SESSIONS: usize = 1 << 20;

/// A secret of up to 48 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret {
    len: u8,
    bytes: [u8; MAX_SECRET_BYTES],
}

impl Secret {
    pub fn new(bytes: &[u8]) -> Option<Secret> {
        let mut s = Secret {
            len: u8::try_from(bytes.len()).ok()?,
            bytes: [0; MAX_SECRET_BYTES],
        };
        s.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(s)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// The labels of RFC 9850 §2 that framescope uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// TLS 1.2 (and earlier): the 48-byte master secret.
    ClientRandom,
    ClientHandshakeTrafficSecret,
    ServerHandshakeTrafficSecret,
    ClientTrafficSecret0,
    ServerTrafficSecret0,
    ClientEarlyTrafficSecret,
    ExporterSecret,
}

impl Label {
    fn parse(word: &[u8]) -> Option<Label> {
        Some(match word {
            b"CLIENT_RANDOM" => Label::ClientRandom,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshakeTrafficSecret,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshakeTrafficSecret,
            b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTrafficSecret0,
            b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTrafficSecret0,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarlyTrafficSecret,
            b"EXPORTER_SECRET" => Label::ExporterSecret,
            _ => return None,
        })
    }
}

/// What the key log knows about one session (one client random).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSecrets {
    pub master_secret: Option<Secret>,
    pub client_handshake: Option<Secret>,
    pub server_handshake: Option<Secret>,
    pub client_traffic_0: Option<Secret>,
    pub server_traffic_0: Option<Secret>,
    pub client_early: Option<Secret>,
}

impl SessionSecrets {
    fn slot(&mut self, label: Label) -> Option<&mut Option<Secret>> {
        Some(match label {
            Label::ClientRandom => &mut self.master_secret,
            Label::ClientHandshakeTrafficSecret => &mut self.client_handshake,
            Label::ServerHandshakeTrafficSecret => &mut self.server_handshake,
            Label::ClientTrafficSecret0 => &mut self.client_traffic_0,
            Label::ServerTrafficSecret0 => &mut self.server_traffic_0,
            Label::ClientEarlyTrafficSecret => &mut self.client_early,
            Label::ExporterSecret => return None,
        })
    }
}

/// Counters of what the key log has read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Lines that set a secret.
    pub secrets: u64,
    /// Comment and blank lines.
    pub comments: u64,
    /// Lines that are neither entries nor comments (wrong field count, bad hex, …) and
    /// entries with labels framescope does not use.
    pub ignored_lines: u64,
    /// Entries dropped because `MAX_SESSIONS` client randoms were already known.
    pub over_cap_lines: u64,
}

/// Every secret read so far, keyed by client random.
#[derive(Default)]
pub struct KeyLog {
    sessions: FxHashMap<[u8; 32], SessionSecrets>,
    /// Bytes of a line whose newline has not arrived yet.
    partial: Vec<u8>,
    /// The current line passed `MAX_LINE_BYTES`: skip to its newline.
    skipping_long_line: bool,
    stats: KeyLogStats,
    /// Bumped whenever a secret is added, so waiting sessions know when to look again.
    generation: u64,
}

impl KeyLog {
    pub fn new() -> KeyLog {
        KeyLog::default()
    }

    /// Parses a whole key log text (for a file read at once or a pcapng Decryption Secrets Block).
    pub fn from_text(text: &[u8]) -> KeyLog {
        let mut log = KeyLog::new();
        log.feed(text);
        log.end_of_input();
        log
    }

    pub fn stats(&self) -> KeyLogStats {
        self.stats
    }

    /// Number of sessions with at least one secret.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Changes whenever a secret is added.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn get(&self, client_random: &[u8; 32]) -> Option<&SessionSecrets> {
        self.sessions.get(client_random)
    }

    /// Every session's secrets, by client random (in no particular order).
    pub fn sessions(&self) -> impl Iterator<Item = (&[u8; 32], &SessionSecrets)> {
        self.sessions.iter()
    }

    /// Feeds more text; complete lines are parsed now, an unfinished last line is kept.
    pub fn feed(&mut self, mut text: &[u8]) {
        while !text.is_empty() {
            let (line, rest, complete) = match memchr::memchr(b'\n', text) {
                Some(i) => (text.get(..i).unwrap_or(&[]), text.get(i + 1..).unwrap_or(&[]), true),
                None => (text, &[][..], false),
            };
            text = rest;
            if self.skipping_long_line {
                self.skipping_long_line = !complete;
                continue;
            }
            if self.partial.len() + line.len() > MAX_LINE_BYTES {
                self.stats.ignored_lines += 1;
                self.partial.clear();
                self.skipping_long_line = !complete;
                continue;
            }
            if !complete {
                self.partial.extend_from_slice(line);
                continue;
            }
            if self.partial.is_empty() {
                self.parse_line(line);
            } else {
                let mut whole = core::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.parse_line(&whole);
                whole.clear();
                self.partial = whole;
            }
        }
    }

    /// The input ended (end of file or of a block): parse a last line without newline.
    pub fn end_of_input(&mut self) {
        if !self.partial.is_empty() {
            let line = core::mem::take(&mut self.partial);
            self.parse_line(&line);
        }
        self.skipping_long_line = false;
    }

    /// Adds every secret of `other` (for keys from several sources: a file and DSBs).
    pub fn merge(&mut self, other: &KeyLog) {
        for (random, secrets) in &other.sessions {
            let fields = [
                (Label::ClientRandom, secrets.master_secret),
                (Label::ClientHandshakeTrafficSecret, secrets.client_handshake),
                (Label::ServerHandshakeTrafficSecret, secrets.server_handshake),
                (Label::ClientTrafficSecret0, secrets.client_traffic_0),
                (Label::ServerTrafficSecret0, secrets.server_traffic_0),
                (Label::ClientEarlyTrafficSecret, secrets.client_early),
            ];
            for (label, secret) in fields {
                if let Some(secret) = secret {
                    self.insert(label, *random, secret);
                }
            }
        }
    }

    fn insert(&mut self, label: Label, random: [u8; 32], secret: Secret) {
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&random) {
            self.stats.over_cap_lines += 1;
            return;
        }
        let entry = self.sessions.entry(random).or_default();
        if let Some(slot) = entry.slot(label) {
            *slot = Some(secret);
            self.stats.secrets += 1;
            self.generation += 1;
        }
    }

    fn parse_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            self.stats.comments += 1;
            return;
        }
        let mut fields = line.split(|b| *b == b' ').filter(|f| !f.is_empty());
        let (Some(label), Some(random), Some(secret), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            self.stats.ignored_lines += 1;
            return;
        };
        let label = Label::parse(label);
        let random: Option<[u8; 32]> = decode_hex(random).and_then(|r| r.as_slice().try_into().ok());
        let secret = decode_hex(secret).and_then(|s| Secret::new(&s));
        match (label, random, secret) {
            (Some(label), Some(random), Some(secret))
                if label != Label::ExporterSecret && !secret.as_bytes().is_empty() =>
            {
                self.insert(label, random, secret)
            }
            _ => self.stats.ignored_lines += 1,
        }
    }
}

fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 2 * MAX_SECRET_BYTES.max(32) {
        return None;
    }
    let nibble = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    text.chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM_A: &str = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c";
    const SECRET_32: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
    const MASTER_48: &str =
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf";

    fn random_a() -> [u8; 32] {
        decode_hex(RANDOM_A.as_bytes()).unwrap().try_into().unwrap()
    }

    #[test]
    fn every_label_crlf_and_comments_are_read_and_junk_is_counted() {
        let text = format!(
            "# SSL/TLS secrets log file, generated by NSS\r\n\
             CLIENT_RANDOM {RANDOM_A} {MASTER_48}\r\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM_A} {SECRET_32}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {RANDOM_A} {SECRET_32}\n\
             CLIENT_TRAFFIC_SECRET_0 {RANDOM_A} {SECRET_32}\n\
             SERVER_TRAFFIC_SECRET_0 {RANDOM_A} {SECRET_32}\n\
             EXPORTER_SECRET {RANDOM_A} {SECRET_32}\n\
             CLIENT_RANDOM nothex {MASTER_48}\n\
             garbage line\n\
             \n"
        );
        let log = KeyLog::from_text(text.as_bytes());
        let s = log.get(&random_a()).unwrap();
        assert_eq!(
            s.master_secret.unwrap().as_bytes(),
            decode_hex(MASTER_48.as_bytes()).unwrap()
        );
        assert_eq!(
            s.server_traffic_0.unwrap().as_bytes(),
            decode_hex(SECRET_32.as_bytes()).unwrap()
        );
        assert!(s.client_handshake.is_some() && s.server_handshake.is_some() && s.client_traffic_0.is_some());
        let stats = log.stats();
        assert_eq!(stats.secrets, 5);
        assert_eq!(stats.ignored_lines, 3); // exporter, bad hex, garbage
        assert_eq!(stats.comments, 2);
    }

    #[test]
    fn a_line_split_across_feeds_is_parsed_once_its_newline_arrives() {
        let line = format!("CLIENT_TRAFFIC_SECRET_0 {RANDOM_A} {SECRET_32}\n");
        let mut log = KeyLog::new();
        let (a, b) = line.as_bytes().split_at(40);
        log.feed(a);
        assert!(log.get(&random_a()).is_none());
        let before = log.generation();
        log.feed(b);
        assert!(log.get(&random_a()).unwrap().client_traffic_0.is_some());
        assert_ne!(log.generation(), before);
    }

    #[test]
    fn an_endless_line_is_dropped_without_growing_the_buffer() {
        let mut log = KeyLog::new();
        for _ in 0..100 {
            log.feed(&[b'x'; 4096]);
        }
        assert!(log.partial.len() <= MAX_LINE_BYTES);
        log.feed(format!("\nCLIENT_RANDOM {RANDOM_A} {MASTER_48}\n").as_bytes());
        assert_eq!(log.stats().ignored_lines, 1);
        assert_eq!(log.stats().secrets, 1);
    }
}
