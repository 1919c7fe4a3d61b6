//! TLS handshake messages: reassembly across records, and the few fields framescope reads
//! from ClientHello, ServerHello (and HelloRetryRequest) and EncryptedExtensions.
//!
//! Written by hand rather than with `tls-parser`: framescope needs six fields behind
//! length-prefixed vectors, and a forty-line checked reader keeps the parse panic-free (it
//! is fuzzed) without pulling nom and phf into the core.

/// Handshake message types framescope acts on (RFC 8446 §4).
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const NEW_SESSION_TICKET: u8 = 4;
/// TLS 1.3: the client's last message under its early traffic key (RFC 8446 §4.5).
pub const END_OF_EARLY_DATA: u8 = 5;
pub const ENCRYPTED_EXTENSIONS: u8 = 8;
pub const FINISHED: u8 = 20;
pub const KEY_UPDATE: u8 = 24;

/// Largest handshake message body kept for parsing; longer ones (certificate chains) are
/// passed over without being held.
pub const MAX_KEPT_MESSAGE_BYTES: usize = 64 * 1024;

/// SHA-256("HelloRetryRequest"): the ServerHello random that marks a HelloRetryRequest
/// (RFC 8446 §4.1.3).
pub const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11,
    0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// One handshake message. `body` is empty when the message was not kept (an uninteresting
/// type, or longer than `MAX_KEPT_MESSAGE_BYTES`).
#[derive(Debug, PartialEq, Eq)]
pub struct HandshakeMessage<'a> {
    pub msg_type: u8,
    pub len: usize,
    pub body: &'a [u8],
    pub kept: bool,
}

/// Reassembles handshake messages of one direction from the handshake bytes of its records.
#[derive(Debug, Default)]
pub struct HandshakeReader {
    header: [u8; 4],
    header_have: usize,
    body: Vec<u8>,
    /// Body bytes still expected for the current message.
    body_left: usize,
    keep: bool,
}

fn worth_keeping(msg_type: u8) -> bool {
    matches!(
        msg_type,
        CLIENT_HELLO | SERVER_HELLO | ENCRYPTED_EXTENSIONS | KEY_UPDATE
    )
}

impl HandshakeReader {
    pub fn new() -> HandshakeReader {
        HandshakeReader::default()
    }

    /// Forgets a partial message (after lost bytes: the next record starts afresh).
    pub fn reset(&mut self) {
        self.header_have = 0;
        self.body.clear();
        self.body_left = 0;
    }

    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(HandshakeMessage<'_>)) {
        while !bytes.is_empty() {
            if self.header_have < 4 {
                let take = (4 - self.header_have).min(bytes.len());
                if let (Some(dst), Some(src)) = (
                    self.header.get_mut(self.header_have..self.header_have + take),
                    bytes.get(..take),
                ) {
                    dst.copy_from_slice(src);
                }
                self.header_have += take;
                bytes = bytes.get(take..).unwrap_or(&[]);
                if self.header_have < 4 {
                    return;
                }
                let [t, a, b, c] = self.header;
                self.body_left = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                self.keep = worth_keeping(t) && self.body_left <= MAX_KEPT_MESSAGE_BYTES;
                self.body.clear();
            }
            let take = self.body_left.min(bytes.len());
            if self.keep {
                self.body.extend_from_slice(bytes.get(..take).unwrap_or(&[]));
            }
            bytes = bytes.get(take..).unwrap_or(&[]);
            self.body_left -= take;
            if self.body_left == 0 {
                let [t, a, b, c] = self.header;
                out(HandshakeMessage {
                    msg_type: t,
                    len: usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c),
                    body: &self.body,
                    kept: self.keep,
                });
                self.header_have = 0;
                self.body.clear();
            }
        }
    }
}

/// A checked big-endian reader over a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        match self.take(2)? {
            [a, b] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    fn random(&mut self) -> Option<[u8; 32]> {
        self.take(32)?.try_into().ok()
    }
}

/// Extensions as (type, data) pairs; stops at the first malformed one.
fn extensions(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut r = Reader(data);
    core::iter::from_fn(move || {
        let t = r.u16()?;
        let d = r.vec16()?;
        Some((t, d))
    })
}

const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_ENCRYPT_THEN_MAC: u16 = 22;
/// RFC 8446 §4.2.10: in a ClientHello, 0-RTT data follows; in EncryptedExtensions, the
/// server accepted it.
const EXT_EARLY_DATA: u16 = 42;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Longest ALPN protocol names and SNI kept (longer ones are cut; both are tiny in practice).
const MAX_NAME_BYTES: usize = 255;
/// ALPN protocols kept from a ClientHello.
const MAX_ALPN_OFFERS: usize = 16;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.get(..MAX_NAME_BYTES).unwrap_or(bytes)).into_owned()
}

fn alpn_list(data: &[u8]) -> Vec<String> {
    let mut r = Reader(data);
    let Some(list) = r.vec16() else { return Vec::new() };
    let mut r = Reader(list);
    core::iter::from_fn(|| r.vec8().map(text))
        .take(MAX_ALPN_OFFERS)
        .collect()
}

/// What framescope reads from a ClientHello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// supported_versions, in the client's order (GREASE values included).
    pub versions: Vec<u16>,
    /// The early_data extension: the client sends 0-RTT records after this ClientHello.
    pub early_data: bool,
}

pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader(body);
    let legacy_version = r.u16()?;
    let random = r.random()?;
    r.vec8()?; // legacy_session_id
    r.vec16()?; // cipher_suites
    r.vec8()?; // legacy_compression_methods
    let mut hello = ClientHello {
        legacy_version,
        random,
        ..ClientHello::default()
    };
    let Some(exts) = r.vec16() else { return Some(hello) };
    for (t, data) in extensions(exts) {
        match t {
            EXT_SERVER_NAME => {
                let mut names = Reader(data);
                let mut list = Reader(names.vec16().unwrap_or(&[]));
                while let (Some(kind), Some(name)) = (list.u8(), list.vec16()) {
                    if kind == 0 {
                        hello.sni = Some(text(name));
                        break;
                    }
                }
            }
            EXT_ALPN => hello.alpn = alpn_list(data),
            EXT_EARLY_DATA => hello.early_data = true,
            EXT_SUPPORTED_VERSIONS => {
                let mut v = Reader(Reader(data).vec8().unwrap_or(&[]));
                hello.versions = core::iter::from_fn(|| v.u16()).take(64).collect();
            }
            _ => {}
        }
    }
    Some(hello)
}

/// What framescope reads from a ServerHello or HelloRetryRequest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub cipher_suite: u16,
    /// The supported_versions extension's choice (TLS 1.3), if present.
    pub selected_version: Option<u16>,
    /// ALPN chosen in the ServerHello (TLS 1.2; TLS 1.3 puts it in EncryptedExtensions).
    pub alpn: Option<String>,
    pub hello_retry: bool,
    /// RFC 7366 encrypt_then_mac: TLS 1.2 CBC records carry their MAC after the ciphertext.
    pub encrypt_then_mac: bool,
}

impl ServerHello {
    /// The negotiated version: supported_versions when present, else legacy_version.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader(body);
    let legacy_version = r.u16()?;
    let random = r.random()?;
    r.vec8()?; // legacy_session_id_echo
    let cipher_suite = r.u16()?;
    r.u8()?; // legacy_compression_method
    let mut hello = ServerHello {
        legacy_version,
        random,
        cipher_suite,
        hello_retry: random == HELLO_RETRY_RANDOM,
        ..ServerHello::default()
    };
    let Some(exts) = r.vec16() else { return Some(hello) };
    for (t, data) in extensions(exts) {
        match t {
            EXT_SUPPORTED_VERSIONS => hello.selected_version = Reader(data).u16(),
            EXT_ALPN => hello.alpn = alpn_list(data).into_iter().next(),
            EXT_ENCRYPT_THEN_MAC => hello.encrypt_then_mac = true,
            _ => {}
        }
    }
    Some(hello)
}

/// What framescope reads from a TLS 1.3 server's EncryptedExtensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptedExtensions {
    /// The ALPN protocol the server chose.
    pub alpn: Option<String>,
    /// The server accepted the client's 0-RTT data.
    pub early_data: bool,
}

pub fn parse_encrypted_extensions(body: &[u8]) -> Option<EncryptedExtensions> {
    let exts = Reader(body).vec16()?;
    let mut found = EncryptedExtensions::default();
    for (t, data) in extensions(exts) {
        match t {
            EXT_ALPN => found.alpn = alpn_list(data).into_iter().next(),
            EXT_EARLY_DATA => found.early_data = true,
            _ => {}
        }
    }
    Some(found)
}

/// A human name for a protocol version number.
pub fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".to_owned(),
        0x0301 => "1.0".to_owned(),
        0x0302 => "1.1".to_owned(),
        0x0303 => "1.2".to_owned(),
        0x0304 => "1.3".to_owned(),
        v => format!("0x{v:04X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Hex with any spacing (the project's own parser, as the frame builder uses).
    fn hx(s: &str) -> Vec<u8> {
        crate::analysis::ws::builder::parse_hex(s).expect("hex")
    }

    #[test]
    fn the_hello_retry_random_is_the_sha256_of_its_name() {
        assert_eq!(Sha256::digest(b"HelloRetryRequest").as_slice(), HELLO_RETRY_RANDOM);
    }

    // RFC 8448 §3: the client's ClientHello handshake message (server name "server").
    const RFC8448_CLIENT_HELLO: &str = "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001";
    // RFC 8448 §3: the server's ServerHello.
    const RFC8448_SERVER_HELLO: &str = "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304";

    #[test]
    fn the_rfc_8448_hellos_give_random_sni_versions_and_suite() {
        let mut reader = HandshakeReader::new();
        let bytes = hx(RFC8448_CLIENT_HELLO);
        let mut seen = Vec::new();
        // Split across three pushes, as across three records.
        for part in [&bytes[..3], &bytes[3..100], &bytes[100..]] {
            reader.push(part, &mut |m| {
                seen.push((m.msg_type, m.len, parse_client_hello(m.body)));
            });
        }
        assert_eq!(seen.len(), 1);
        let (t, len, hello) = &seen[0];
        assert_eq!((*t, *len), (CLIENT_HELLO, 0xc0));
        let hello = hello.clone().unwrap();
        assert_eq!(hello.sni.as_deref(), Some("server"));
        assert_eq!(hello.versions, vec![0x0304]);
        assert_eq!(hello.random[..4], [0xcb, 0x34, 0xec, 0xb1]);

        let sh = hx(RFC8448_SERVER_HELLO);
        let hello = parse_server_hello(&sh[4..]).unwrap();
        assert_eq!(hello.cipher_suite, 0x1301);
        assert_eq!(hello.version(), 0x0304);
        assert!(!hello.hello_retry);
    }

    #[test]
    fn early_data_is_read_from_a_client_hello_and_encrypted_extensions() {
        // RFC 8448 §3's ClientHello offers no 0-RTT; the same with early_data (type 42) does.
        let plain = hx(RFC8448_CLIENT_HELLO);
        assert!(!parse_client_hello(&plain[4..]).unwrap().early_data);
        let mut offering = plain[4..].to_vec();
        // The extensions' length sits after version, random, session id, suites, compression.
        let at = 2 + 32 + 1 + 2 + 6 + 2;
        let exts_len = u16::from_be_bytes([offering[at], offering[at + 1]]) + 4;
        offering[at..at + 2].copy_from_slice(&exts_len.to_be_bytes());
        offering.extend([0, 42, 0, 0]);
        let hello = parse_client_hello(&offering).unwrap();
        assert!(hello.early_data);
        assert_eq!(hello.sni.as_deref(), Some("server"));
        // EncryptedExtensions: ALPN h2 and early_data; then neither.
        let ee = parse_encrypted_extensions(&hx("000d 0010 0005 0003 026832 002a 0000")).unwrap();
        assert_eq!(ee.alpn.as_deref(), Some("h2"));
        assert!(ee.early_data);
        assert_eq!(
            parse_encrypted_extensions(&hx("0000")).unwrap(),
            EncryptedExtensions::default()
        );
    }

    #[test]
    fn truncated_hellos_are_none_and_never_panic() {
        let bytes = hx(RFC8448_CLIENT_HELLO);
        for end in 4..bytes.len() {
            let _ = parse_client_hello(&bytes[4..end]);
            let _ = parse_server_hello(&bytes[4..end]);
            let _ = parse_encrypted_extensions(&bytes[4..end]);
        }
        assert!(parse_client_hello(&bytes[4..20]).is_none());
    }

    #[test]
    fn a_huge_message_is_passed_over_without_being_held() {
        let mut reader = HandshakeReader::new();
        let mut msgs = Vec::new();
        reader.push(&[CLIENT_HELLO, 0xff, 0xff, 0xff], &mut |m| {
            msgs.push((m.msg_type, m.kept))
        });
        // 0xffffff bytes = 256 pushes of 64 KiB less one byte.
        for _ in 0..255 {
            reader.push(&[0u8; 65536], &mut |m| msgs.push((m.msg_type, m.kept)));
        }
        assert!(msgs.is_empty());
        reader.push(&[0u8; 65535], &mut |m| msgs.push((m.msg_type, m.kept)));
        assert!(reader.body.capacity() <= MAX_KEPT_MESSAGE_BYTES);
        assert_eq!(msgs, vec![(CLIENT_HELLO, false)]);
    }
}
