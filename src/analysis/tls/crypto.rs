//! Key schedule glue and record protection: TLS 1.3 traffic keys (HKDF-Expand-Label) and
//! KeyUpdate, the TLS 1.2 PRF key block, and opening one protected record (AEAD here, CBC
//! in `cbc_record`).
//!
//! The primitives are ring's (already in the build through rustls): its AES-GCM uses the
//! CPU's AES and carry-less multiply instructions, ChaCha20-Poly1305 is vectorised, and its
//! HKDF and HMAC cover SHA-256 and SHA-384. Only the glue — labels, nonces, additional data,
//! key block layout — is written here.

use core::ops::Range;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
use ring::{hkdf, hmac};

use crate::analysis::tls::cbc_record::CbcKey;
use crate::analysis::tls::record::HEADER_BYTES;
use crate::analysis::tls::suites::{Aead, Cipher, Hash, Suite};

/// The largest plaintext fragment of a record (RFC 5246 §6.2.1).
const MAX_FRAGMENT_BYTES: usize = 16384;
/// Bytes of the authentication tag of every AEAD suite framescope decrypts.
pub const TAG_LEN_BYTES: usize = 16;
/// Bytes of the explicit per-record nonce of TLS 1.2 AES-GCM (RFC 5288 §3).
const GCM_EXPLICIT_NONCE_BYTES: usize = 8;

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_algorithm(hash: Hash) -> hkdf::Algorithm {
    match hash {
        Hash::Sha256 => hkdf::HKDF_SHA256,
        Hash::Sha384 => hkdf::HKDF_SHA384,
    }
}

fn hmac_algorithm(hash: Hash) -> hmac::Algorithm {
    match hash {
        Hash::Sha256 => hmac::HMAC_SHA256,
        Hash::Sha384 => hmac::HMAC_SHA384,
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1): fills `out`; false when a length is out of range.
pub fn hkdf_expand_label(hash: Hash, secret: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) -> bool {
    let (Ok(out_len), Ok(label_len), Ok(context_len)) = (
        u16::try_from(out.len()),
        u8::try_from(label.len() + 6),
        u8::try_from(context.len()),
    ) else {
        return false;
    };
    let out_len = out_len.to_be_bytes();
    let label_len = [label_len];
    let context_len = [context_len];
    let info: [&[u8]; 6] = [&out_len, &label_len, b"tls13 ", label, &context_len, context];
    let prk = hkdf::Prk::new_less_safe(hkdf_algorithm(hash), secret);
    prk.expand(&info, Len(out.len())).and_then(|okm| okm.fill(out)).is_ok()
}

/// The next generation of a TLS 1.3 traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn next_traffic_secret(hash: Hash, secret: &[u8]) -> Option<Vec<u8>> {
    let mut next = vec![0u8; hash.len_bytes()];
    hkdf_expand_label(hash, secret, b"traffic upd", b"", &mut next).then_some(next)
}

/// The TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed) cut to `out.len()` bytes.
pub fn tls12_prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let key = hmac::Key::new(hmac_algorithm(hash), secret);
    // A(1) = HMAC(secret, label + seed)
    let mut a = {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(label);
        ctx.update(seed);
        ctx.sign()
    };
    let mut filled = 0;
    while filled < out.len() {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        ctx.update(label);
        ctx.update(seed);
        let block = ctx.sign();
        let take = block.as_ref().len().min(out.len() - filled);
        if let (Some(dst), Some(src)) = (out.get_mut(filled..filled + take), block.as_ref().get(..take)) {
            dst.copy_from_slice(src);
        }
        filled += take;
        a = hmac::sign(&key, a.as_ref());
    }
}

/// How a record's nonce and additional data are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protection {
    /// RFC 8446 §5.2-5.3: nonce = iv XOR sequence, additional data = the record header.
    Tls13,
    /// RFC 5288: nonce = 4-byte salt + 8 explicit bytes sent before the ciphertext.
    Tls12Gcm,
    /// RFC 7905: nonce = iv XOR sequence, no explicit part.
    Tls12ChaCha,
}

/// One direction's record key (one epoch or KeyUpdate generation).
pub struct RecordKey {
    kind: KeyKind,
}

enum KeyKind {
    Aead {
        /// Boxed: ring's expanded key is several hundred bytes, the CBC variant a few words.
        key: Box<LessSafeKey>,
        iv: [u8; 12],
        protection: Protection,
    },
    /// TLS 1.2 AES-CBC + HMAC (`cbc_record`).
    Cbc(CbcKey),
}

impl core::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.kind {
            KeyKind::Aead { protection, .. } => f
                .debug_struct("RecordKey")
                .field("protection", protection)
                .finish_non_exhaustive(),
            KeyKind::Cbc(key) => f.debug_tuple("RecordKey").field(key).finish(),
        }
    }
}

fn aead_key(aead: Aead, key: &[u8]) -> Option<Box<LessSafeKey>> {
    UnboundKey::new(aead.ring_algorithm(), key)
        .ok()
        .map(|k| Box::new(LessSafeKey::new(k)))
}

impl RecordKey {
    /// The record key of a TLS 1.3 traffic secret (RFC 8446 §7.3).
    pub fn tls13(suite: &Suite, secret: &[u8]) -> Option<RecordKey> {
        let Cipher::Aead(aead) = suite.cipher else { return None };
        let mut key = vec![0u8; aead.key_len_bytes()];
        let mut iv = [0u8; 12];
        if !hkdf_expand_label(suite.hash, secret, b"key", b"", &mut key)
            || !hkdf_expand_label(suite.hash, secret, b"iv", b"", &mut iv)
        {
            return None;
        }
        Some(RecordKey {
            kind: KeyKind::Aead {
                key: aead_key(aead, &key)?,
                iv,
                protection: Protection::Tls13,
            },
        })
    }

    /// The client's and the server's record keys of a TLS 1.2 session from its 48-byte
    /// master secret (RFC 5246 §6.3). `encrypt_then_mac`: the ServerHello carried RFC 7366's
    /// extension (it matters to CBC suites only).
    pub fn tls12_pair(
        suite: &Suite,
        master_secret: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        encrypt_then_mac: bool,
    ) -> Option<(RecordKey, RecordKey)> {
        let mut seed = [0u8; 64];
        seed[..32].copy_from_slice(server_random);
        seed[32..].copy_from_slice(client_random);
        match suite.cipher {
            Cipher::Aead(aead) => tls12_aead_pair(suite, aead, master_secret, &seed),
            Cipher::Cbc { aes, mac } => {
                // client MAC key, server MAC key, client key, server key (the IVs that
                // follow are unused since TLS 1.1: every record carries its own).
                let (mac_len, key_len) = (mac.len_bytes(), aes.key_len_bytes());
                let mut block = vec![0u8; 2 * mac_len + 2 * key_len];
                tls12_prf(suite.hash, master_secret, b"key expansion", &seed, &mut block);
                let part = |start: usize, len: usize| block.get(start..start + len).unwrap_or(&[]);
                let make = |mac_at: usize, key_at: usize| {
                    CbcKey::new(aes, part(key_at, key_len), mac, part(mac_at, mac_len), encrypt_then_mac)
                        .map(|k| RecordKey { kind: KeyKind::Cbc(k) })
                };
                let client = make(0, 2 * mac_len)?;
                let server = make(mac_len, 2 * mac_len + key_len)?;
                Some((client, server))
            }
        }
    }

    /// Opens one record in place. `header` is the 5-byte record header, `body` the record's
    /// bytes after it. Returns where the plaintext lies in `body`, or `None` when the tag
    /// (or CBC MAC/padding) check fails (wrong key or sequence number) or the record is too
    /// short. `body` is overwritten either way.
    pub fn open(&self, seq: u64, header: &[u8; 5], body: &mut [u8]) -> Option<Range<usize>> {
        let (key, iv, protection) = match &self.kind {
            KeyKind::Aead { key, iv, protection } => (key, iv, *protection),
            KeyKind::Cbc(cbc) => return cbc.open(seq, header, body),
        };
        match protection {
            Protection::Tls13 => {
                let nonce = Nonce::assume_unique_for_key(xor_nonce(iv, seq));
                let plain = key.open_in_place(nonce, Aad::from(*header), body).ok()?;
                Some(0..plain.len())
            }
            Protection::Tls12ChaCha => {
                let plain_len = body.len().checked_sub(TAG_LEN_BYTES)?;
                let aad = tls12_aad(seq, header, plain_len)?;
                let nonce = Nonce::assume_unique_for_key(xor_nonce(iv, seq));
                let plain = key.open_in_place(nonce, Aad::from(aad), body).ok()?;
                Some(0..plain.len())
            }
            Protection::Tls12Gcm => {
                let plain_len = body.len().checked_sub(TAG_LEN_BYTES + GCM_EXPLICIT_NONCE_BYTES)?;
                let aad = tls12_aad(seq, header, plain_len)?;
                let (explicit, sealed) = body.split_at_mut(GCM_EXPLICIT_NONCE_BYTES);
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(&iv[..4]);
                nonce[4..].copy_from_slice(explicit);
                let nonce = Nonce::assume_unique_for_key(nonce);
                let plain = key.open_in_place(nonce, Aad::from(aad), sealed).ok()?;
                Some(GCM_EXPLICIT_NONCE_BYTES..GCM_EXPLICIT_NONCE_BYTES + plain.len())
            }
        }
    }

    /// What a failed `open` checked, for findings.
    pub fn check_name(&self) -> &'static str {
        match &self.kind {
            KeyKind::Aead { .. } => "tag check",
            KeyKind::Cbc(k) if k.encrypt_then_mac() => "MAC check (encrypt-then-MAC) or padding check",
            KeyKind::Cbc(_) => "MAC or padding check",
        }
    }

    /// TLS 1.2 AES-GCM senders put their sequence number in the explicit nonce.
    pub fn carries_sequence_number(&self) -> bool {
        matches!(
            self.kind,
            KeyKind::Aead {
                protection: Protection::Tls12Gcm,
                ..
            }
        )
    }

    /// The plaintext length of a record that failed to open, when the protection tells it
    /// without authentication (CBC: from the padding); `None` for AEADs, whose overhead is
    /// fixed (`overhead_bytes`).
    pub fn unverified_plaintext_len(&self, body: &[u8]) -> Option<usize> {
        match &self.kind {
            KeyKind::Aead { .. } => None,
            KeyKind::Cbc(k) => k.unverified_plaintext_len(body),
        }
    }

    /// The plaintext that `records` lost records carried, from the `lost_bytes` they spanned
    /// on the wire (record headers included). Exact for the AEADs (fixed overhead; TLS 1.3
    /// padding aside). CBC padding hides each record's length: records holding a full
    /// 2^14-byte fragment are recognised by their size (senders fill them when they split a
    /// large message, and a TCP segment lost on a network mostly falls inside one), the
    /// others are assumed to carry one padding byte (up to 15 bytes too many each).
    pub fn lost_plaintext_estimate(&self, lost_bytes: u64, records: u64) -> u64 {
        let per_record = (HEADER_BYTES + self.overhead_bytes()) as u64;
        let KeyKind::Cbc(cbc) = &self.kind else {
            return lost_bytes.saturating_sub(records * per_record);
        };
        let full_wire = (HEADER_BYTES + cbc.body_len_for(MAX_FRAGMENT_BYTES)) as u64;
        let full = if lost_bytes == records * full_wire {
            records
        } else {
            records.saturating_sub(1).min(lost_bytes / full_wire)
        };
        full * MAX_FRAGMENT_BYTES as u64 + (lost_bytes - full * full_wire).saturating_sub((records - full) * per_record)
    }

    /// Bytes a record of this key adds around its plaintext (explicit nonce or IV, tag or
    /// MAC and padding, and for TLS 1.3 the inner content type), to estimate what a lost
    /// record carried.
    pub fn overhead_bytes(&self) -> usize {
        match &self.kind {
            KeyKind::Aead { protection, .. } => match protection {
                Protection::Tls13 => TAG_LEN_BYTES + 1,
                Protection::Tls12ChaCha => TAG_LEN_BYTES,
                Protection::Tls12Gcm => TAG_LEN_BYTES + GCM_EXPLICIT_NONCE_BYTES,
            },
            KeyKind::Cbc(k) => k.overhead_bytes(),
        }
    }
}

/// TLS 1.2 AEAD keys: client key, server key, client IV, server IV (salt or full nonce).
fn tls12_aead_pair(suite: &Suite, aead: Aead, master_secret: &[u8], seed: &[u8; 64]) -> Option<(RecordKey, RecordKey)> {
    let key_len = aead.key_len_bytes();
    let (iv_len, protection) = match aead {
        Aead::ChaCha20Poly1305 => (12, Protection::Tls12ChaCha),
        Aead::Aes128Gcm | Aead::Aes256Gcm => (4, Protection::Tls12Gcm),
    };
    let mut block = vec![0u8; 2 * key_len + 2 * iv_len];
    tls12_prf(suite.hash, master_secret, b"key expansion", seed, &mut block);
    let part = |r: Range<usize>| block.get(r).unwrap_or(&[]);
    let make = |key: &[u8], iv: &[u8]| -> Option<RecordKey> {
        let mut iv12 = [0u8; 12];
        iv12.get_mut(..iv.len())?.copy_from_slice(iv);
        Some(RecordKey {
            kind: KeyKind::Aead {
                key: aead_key(aead, key)?,
                iv: iv12,
                protection,
            },
        })
    };
    let client = make(part(0..key_len), part(2 * key_len..2 * key_len + iv_len))?;
    let server = make(
        part(key_len..2 * key_len),
        part(2 * key_len + iv_len..2 * key_len + 2 * iv_len),
    )?;
    Some((client, server))
}

/// nonce = iv XOR the big-endian sequence number in its last 8 bytes.
fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

/// TLS 1.2 additional data (RFC 5246 §6.2.3.3), also the MAC prefix of CBC records
/// (§6.2.3.1): seq_num + type + version + plaintext length.
pub(super) fn tls12_aad(seq: u64, header: &[u8; 5], plain_len: usize) -> Option<[u8; 13]> {
    let len = u16::try_from(plain_len).ok()?.to_be_bytes();
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8..11].copy_from_slice(&header[..3]);
    aad[11..].copy_from_slice(&len);
    Some(aad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tls::suites::decryptable;

    fn hx(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn open_record(key: &RecordKey, seq: u64, record: &[u8]) -> Option<Vec<u8>> {
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let mut body = record[5..].to_vec();
        let range = key.open(seq, &header, &mut body)?;
        Some(body[range].to_vec())
    }

    // RFC 8448 §3 ("Simple 1-RTT Handshake"), TLS_AES_128_GCM_SHA256.
    const CLIENT_HS_SECRET: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
    const CLIENT_AP_SECRET: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
    const SERVER_HS_SECRET: &str = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";

    #[test]
    fn hkdf_expand_label_gives_the_rfc_8448_handshake_key_and_iv() {
        let secret = hx(SERVER_HS_SECRET);
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        assert!(hkdf_expand_label(Hash::Sha256, &secret, b"key", b"", &mut key));
        assert!(hkdf_expand_label(Hash::Sha256, &secret, b"iv", b"", &mut iv));
        assert_eq!(key.to_vec(), hx("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(iv.to_vec(), hx("5d313eb2671276ee13000b30"));
    }

    #[test]
    fn the_rfc_8448_client_records_open_with_their_traffic_secrets() {
        let suite = decryptable(0x1301).unwrap();
        let app = RecordKey::tls13(suite, &hx(CLIENT_AP_SECRET)).unwrap();
        let data = open_record(
            &app,
            0,
            &hx("1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4"),
        )
        .unwrap();
        let mut expected: Vec<u8> = (0u8..=0x31).collect();
        expected.push(23); // inner content type application_data
        assert_eq!(data, expected);
        // The close_notify alert is the client's second application-epoch record.
        let alert = open_record(&app, 1, &hx("1703030013c9872760655666b74d7ff1153efd6db6d0b0e3")).unwrap();
        assert_eq!(alert, vec![1, 0, 21]);
        // The same record under the wrong sequence number fails its tag check.
        assert!(open_record(&app, 0, &hx("1703030013c9872760655666b74d7ff1153efd6db6d0b0e3")).is_none());
        let hs = RecordKey::tls13(suite, &hx(CLIENT_HS_SECRET)).unwrap();
        let finished = open_record(
            &hs,
            0,
            &hx("170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546"),
        )
        .unwrap();
        assert_eq!(&finished[..4], &[20, 0, 0, 32]); // Finished, 32-byte verify_data
        assert_eq!(finished.last(), Some(&22)); // inner content type handshake
    }

    #[test]
    fn tls12_prf_matches_the_published_sha256_test_vector() {
        // The widely used P_SHA256 vector (IETF TLS list, "TLS 1.2 PRF test vectors").
        let secret = hx("9bbe436ba940f017b17652849a71db35");
        let seed = hx("a0ba9f936cda311827a6f796ffd5198c");
        let mut out = vec![0u8; 100];
        tls12_prf(Hash::Sha256, &secret, b"test label", &seed, &mut out);
        assert_eq!(
            out,
            hx(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
            )
        );
    }

    #[test]
    fn the_sha384_key_block_equals_wiresharks() {
        // captures/tls12-ecdhe-rsa-aes256-sha384: its master secret and server ‖ client
        // random, and the key block Wireshark 4.0 derived from them (`-o tls.debug_file:`).
        let master =
            hx("864dc736565acf0c243861034e6237f7222b0684da6922aeadadf9f2c8540b9e7fc91c16dc54737e337b23753a139847");
        let seed = hx(
            "626517f0010705f334df14a4cf49827d64f019dfefe1ee056b0bc62c2ba5e02ba8d9d7f74dede2a558fbfc278198b75bd0ca65aafe12e3edaf12debe5af25872",
        );
        let mut block = vec![0u8; 192];
        tls12_prf(Hash::Sha384, &master, b"key expansion", &seed, &mut block);
        assert_eq!(
            block,
            hx(
                "aefebd530aed27c8ea66b2b12625ea4cef43b842882fc64f596978fbf3651fc427ed8223bf20fdb96e379507db728fb13f8c9be9d001a409b59bf6ca6aa4d85d97b2546d114d43ea93f02957109805139983a256d09ed293a12b0244dd2ee02ddc52fceda50f874fa9f254f2a90afa3b7cbbfa702416200e6cdc135d090a6abd3247ee2927a34febfab22ddb7847f20672a0cc4230114cb6476cc4c583685feff5903f862c4af5b5e88f097c2bc26a0cc94f6a33072a52597203e4fb3029490d"
            )
        );
        // Both directions' CBC keys come out of it.
        let suite = decryptable(0xC028).unwrap();
        let client_random: [u8; 32] = seed[32..].try_into().unwrap();
        let server_random: [u8; 32] = seed[..32].try_into().unwrap();
        let (client, server) = RecordKey::tls12_pair(suite, &master, &client_random, &server_random, true).unwrap();
        assert_eq!(client.check_name(), "MAC check (encrypt-then-MAC) or padding check");
        assert_eq!(server.overhead_bytes(), 16 + 48 + 1);
        // A lost full record (2^14 + 1 → 16 400 bytes of ciphertext, IV, MAC, header) and a
        // lost one of 100 bytes beside it.
        let full = 5 + 16 + 16_400 + 48;
        assert_eq!(server.lost_plaintext_estimate(full, 1), 16_384);
        assert_eq!(server.lost_plaintext_estimate(2 * full, 2), 2 * 16_384);
        let small = 5 + 16 + 112 + 48;
        assert_eq!(server.lost_plaintext_estimate(full + small, 2), 16_384 + 112 - 1);
        assert!(!client.carries_sequence_number());
    }

    #[test]
    fn key_update_derives_a_different_secret_of_the_same_length() {
        let secret = hx(CLIENT_AP_SECRET);
        let next = next_traffic_secret(Hash::Sha256, &secret).unwrap();
        assert_eq!(next.len(), 32);
        assert_ne!(next, secret);
        let mut expected = [0u8; 32];
        assert!(hkdf_expand_label(
            Hash::Sha256,
            &secret,
            b"traffic upd",
            b"",
            &mut expected
        ));
        assert_eq!(next, expected.to_vec());
    }
}
