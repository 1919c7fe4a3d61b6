//! TLS 1.2 AES-CBC record protection (RFC 5246 §6.2.3.2): the explicit per-record IV, the
//! padding and the HMAC, either MAC-then-encrypt (the MAC covers the plaintext and is
//! encrypted with it) or encrypt-then-MAC (RFC 7366: the MAC covers IV and ciphertext and is
//! checked before anything is decrypted).
//!
//! AES-CBC is RustCrypto's (`aes`, which uses the CPU's AES instructions when present, and
//! the `cbc` block mode; ring has no CBC); HMAC-SHA1 is RustCrypto's `hmac` over `sha1`,
//! which uses the CPU's SHA extensions (ring's SHA-1 is portable Rust: 85% of a CBC-SHA
//! decode's time went there), and HMAC-SHA256/384 are ring's. Not constant-time, and that
//! is deliberate: framescope is a passive analyser opening records of a capture with keys
//! its user holds, so there is no padding oracle to protect — checks simply return early.

use core::ops::Range;

use ::hmac::{Hmac, Mac as _};
use aes::cipher::{BlockModeDecrypt, InOutBuf, InnerIvInit, KeyInit};
use ring::hmac as ring_hmac;

use crate::analysis::tls::crypto::tls12_aad;
use crate::analysis::tls::suites::{CbcAes, Mac};

/// AES block size: the explicit IV's length and the ciphertext's granularity.
pub const BLOCK_BYTES: usize = 16;

/// Boxed: the expanded AES-256 key schedule (with the software fallback's beside it) is
/// several hundred bytes.
enum Aes {
    Aes128(Box<aes::Aes128>),
    Aes256(Box<aes::Aes256>),
}

/// The keyed HMAC of one direction.
enum MacKey {
    /// Keyed once; each record's MAC starts from a copy of this state.
    Sha1(Box<Hmac<sha1::Sha1>>),
    Ring(ring_hmac::Key),
}

/// One direction's CBC record key: the AES key, the HMAC key, and whether the session
/// negotiated encrypt-then-MAC.
pub struct CbcKey {
    aes: Aes,
    mac: MacKey,
    mac_len: usize,
    encrypt_then_mac: bool,
}

impl core::fmt::Debug for CbcKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CbcKey")
            .field("mac_len", &self.mac_len)
            .field("encrypt_then_mac", &self.encrypt_then_mac)
            .finish_non_exhaustive()
    }
}

/// Decrypts `buf` (whole blocks) in place with AES-CBC under `iv`; false when `buf` is not
/// a whole number of blocks or `iv` is not one block.
fn cbc_decrypt<C: aes::cipher::BlockCipherDecrypt>(cipher: &C, iv: &[u8], buf: &mut [u8]) -> bool {
    let Ok(mut mode) = cbc::Decryptor::<&C>::inner_iv_slice_init(cipher, iv) else {
        return false;
    };
    let (blocks, tail) = InOutBuf::from(buf).into_chunks();
    if !tail.is_empty() {
        return false;
    }
    mode.decrypt_blocks_inout(blocks);
    true
}

/// The length of `plain` without its TLS padding (`padding_length + 1` bytes, each equal to
/// `padding_length`), or `None` when the padding is malformed.
fn unpadded_len(plain: &[u8]) -> Option<usize> {
    let pad = usize::from(*plain.last()?);
    let start = plain.len().checked_sub(pad + 1)?;
    let padding = plain.get(start..)?;
    padding.iter().all(|b| usize::from(*b) == pad).then_some(start)
}

impl CbcKey {
    /// A key from its key block parts; `None` when a length does not fit the suite.
    pub fn new(aes: CbcAes, enc_key: &[u8], mac: Mac, mac_key: &[u8], encrypt_then_mac: bool) -> Option<CbcKey> {
        let aes = match aes {
            CbcAes::Aes128 => Aes::Aes128(Box::new(aes::Aes128::new_from_slice(enc_key).ok()?)),
            CbcAes::Aes256 => Aes::Aes256(Box::new(aes::Aes256::new_from_slice(enc_key).ok()?)),
        };
        if mac_key.len() != mac.len_bytes() {
            return None;
        }
        Some(CbcKey {
            aes,
            mac: match mac {
                Mac::Sha1 => MacKey::Sha1(Box::new(Hmac::<sha1::Sha1>::new_from_slice(mac_key).ok()?)),
                Mac::Sha256 | Mac::Sha384 => MacKey::Ring(ring_hmac::Key::new(mac.ring_algorithm(), mac_key)),
            },
            mac_len: mac.len_bytes(),
            encrypt_then_mac,
        })
    }

    pub fn encrypt_then_mac(&self) -> bool {
        self.encrypt_then_mac
    }

    fn decrypt(&self, iv: &[u8], buf: &mut [u8]) -> bool {
        match &self.aes {
            Aes::Aes128(c) => cbc_decrypt(c.as_ref(), iv, buf),
            Aes::Aes256(c) => cbc_decrypt(c.as_ref(), iv, buf),
        }
    }

    /// True when `tag` is the HMAC of seq_num ‖ type ‖ version ‖ length(`data`) ‖ `data`.
    fn mac_ok(&self, seq: u64, header: &[u8; 5], data: &[u8], tag: &[u8]) -> bool {
        let Some(aad) = tls12_aad(seq, header, data.len()) else {
            return false;
        };
        match &self.mac {
            MacKey::Sha1(keyed) => {
                let mut mac = keyed.as_ref().clone();
                mac.update(&aad);
                mac.update(data);
                mac.verify_slice(tag).is_ok()
            }
            MacKey::Ring(key) => {
                let mut ctx = ring_hmac::Context::with_key(key);
                ctx.update(&aad);
                ctx.update(data);
                ctx.sign().as_ref() == tag
            }
        }
    }

    /// Opens one record in place (`header` the 5-byte record header, `body` what follows).
    /// Returns where the plaintext lies in `body`, or `None` when the record is malformed
    /// or its MAC or padding check fails (wrong key or sequence number, damaged bytes).
    pub fn open(&self, seq: u64, header: &[u8; 5], body: &mut [u8]) -> Option<Range<usize>> {
        let mac_len = self.mac_len;
        if self.encrypt_then_mac {
            // IV ‖ ENC(content ‖ padding) ‖ MAC, the MAC over everything before it.
            let sealed_len = body.len().checked_sub(mac_len)?;
            let (sealed, tag) = body.split_at_mut(sealed_len);
            if sealed_len < 2 * BLOCK_BYTES || !self.mac_ok(seq, header, sealed, tag) {
                return None;
            }
            let (iv, enc) = sealed.split_at_mut(BLOCK_BYTES);
            if !self.decrypt(iv, enc) {
                return None;
            }
            let content_len = unpadded_len(enc)?;
            Some(BLOCK_BYTES..BLOCK_BYTES + content_len)
        } else {
            // IV ‖ ENC(content ‖ MAC ‖ padding), the MAC over the content.
            if body.len() < 2 * BLOCK_BYTES {
                return None;
            }
            let (iv, enc) = body.split_at_mut(BLOCK_BYTES);
            if !self.decrypt(iv, enc) {
                return None;
            }
            let content_len = unpadded_len(enc)?.checked_sub(mac_len)?;
            let (content, rest) = enc.split_at(content_len);
            let tag = rest.get(..mac_len)?;
            self.mac_ok(seq, header, content, tag)
                .then_some(BLOCK_BYTES..BLOCK_BYTES + content_len)
        }
    }

    /// The plaintext length of a record that failed its checks, read from its padding
    /// without authenticating anything (CBC decrypts the last block from the block before it
    /// alone), so that the plaintext lost with a damaged record is counted exactly. `None`
    /// when the last block does not end in TLS padding (or the padding is 16 bytes or more).
    pub fn unverified_plaintext_len(&self, body: &[u8]) -> Option<usize> {
        let enc_end = if self.encrypt_then_mac {
            body.len().checked_sub(self.mac_len)?
        } else {
            body.len()
        };
        let enc_len = enc_end.checked_sub(BLOCK_BYTES)?;
        if enc_len == 0 || enc_len % BLOCK_BYTES != 0 {
            return None;
        }
        let last_start = enc_end - BLOCK_BYTES;
        let previous = body.get(last_start.checked_sub(BLOCK_BYTES)?..last_start)?;
        let mut last = [0u8; BLOCK_BYTES];
        last.copy_from_slice(body.get(last_start..enc_end)?);
        if !self.decrypt(previous, &mut last) {
            return None;
        }
        let pad = usize::from(last[BLOCK_BYTES - 1]);
        let padding = last.get(BLOCK_BYTES.checked_sub(pad + 1)?..)?;
        if padding.iter().any(|b| usize::from(*b) != pad) {
            return None;
        }
        let mac_inside = if self.encrypt_then_mac { 0 } else { self.mac_len };
        enc_len.checked_sub(pad + 1 + mac_inside)
    }

    /// The record body length a sender padding minimally gives `plain_len` bytes of
    /// plaintext (IV, ciphertext of content, inner MAC and padding, outer MAC).
    pub fn body_len_for(&self, plain_len: usize) -> usize {
        let (inner_mac, outer_mac) = if self.encrypt_then_mac {
            (0, self.mac_len)
        } else {
            (self.mac_len, 0)
        };
        BLOCK_BYTES + (plain_len + inner_mac + 1).next_multiple_of(BLOCK_BYTES) + outer_mac
    }

    /// Bytes a record adds around its plaintext: IV, MAC and at least one padding byte
    /// (more padding is unknowable for a lost record, so a lost record's plaintext is an
    /// estimate that may be up to 15 bytes long).
    pub fn overhead_bytes(&self) -> usize {
        BLOCK_BYTES + self.mac_len + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hx(s: &str) -> Vec<u8> {
        crate::analysis::ws::builder::parse_hex(s).expect("hex")
    }

    fn range(start: u8, end: u8) -> Vec<u8> {
        (start..end).collect()
    }

    fn open(key: &CbcKey, seq: u64, record: &[u8]) -> Option<Vec<u8>> {
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let mut body = record[5..].to_vec();
        let plain = key.open(seq, &header, &mut body)?;
        Some(body[plain].to_vec())
    }

    // Records built with pyca/cryptography (OpenSSL's AES-CBC) and Python's hmac, by the
    // rules of RFC 5246 §6.2.3.2 and RFC 7366 §3, independent of this code.
    // MAC-then-encrypt, AES-128, HMAC-SHA1, sequence 1, 27 padding bytes (more than the
    // minimum: TLS allows up to 255).
    const MTE_RECORD: &str = "1703030050c8c9cacbcccdcecfd0d1d2d3d4d5d6d7b07690681a1b20f2f73e6cbc7e8e39b0139d60831345e3cf4dd1b10adf03b05551805f6c904cd24144841be4d4daf174ec480e6107c945e399c740f3f8d7d7ab";
    // Encrypt-then-MAC, AES-256, HMAC-SHA384, sequence 7, 16 padding bytes.
    const ETM_RECORD: &str = "1703030070101112131415161718191a1b1c1d1e1f1d6453a8762a5575054bfda2647bf64d5189efe97f0bc675b28232eb689c95346e71a410b92b19c7febfef4aa434b980d6d69f01b66f5cc85dc5954f41097f89a10ebd3da2be1accd582aa80aed3e45a47c19b0722a3aa2259f11f24a91b14cc";

    fn mte_key() -> CbcKey {
        CbcKey::new(CbcAes::Aes128, &range(0, 16), Mac::Sha1, &range(100, 120), false).unwrap()
    }

    fn etm_key() -> CbcKey {
        CbcKey::new(CbcAes::Aes256, &range(32, 64), Mac::Sha384, &range(0, 48), true).unwrap()
    }

    #[test]
    fn mac_then_encrypt_records_open_and_check_mac_and_padding() {
        let record = hx(MTE_RECORD);
        assert_eq!(open(&mte_key(), 1, &record).unwrap(), b"hello, CBC record");
        // The wrong sequence number fails the MAC.
        assert!(open(&mte_key(), 2, &record).is_none());
        // A flipped byte in the last block garbles the padding; one in the first block the
        // content (and so the MAC).
        for at in [record.len() - 1, 5 + BLOCK_BYTES + 3, 5] {
            let mut bad = record.clone();
            bad[at] ^= 0x01;
            assert!(open(&mte_key(), 1, &bad).is_none(), "flip at {at}");
        }
        // Not a whole number of blocks, or too short: no panic, no plaintext.
        assert!(open(&mte_key(), 1, &record[..record.len() - 1]).is_none());
        assert!(open(&mte_key(), 1, &record[..5 + BLOCK_BYTES]).is_none());
        assert!(open(&mte_key(), 1, &record[..5]).is_none());
        // The same record read as encrypt-then-MAC fails.
        let etm = CbcKey::new(CbcAes::Aes128, &range(0, 16), Mac::Sha1, &range(100, 120), true).unwrap();
        assert!(open(&etm, 1, &record).is_none());
    }

    #[test]
    fn encrypt_then_mac_records_check_the_mac_over_the_ciphertext() {
        let record = hx(ETM_RECORD);
        assert_eq!(
            open(&etm_key(), 7, &record).unwrap(),
            b"encrypt-then-MAC record, SHA-384"
        );
        assert!(open(&etm_key(), 6, &record).is_none());
        for at in [5, 5 + BLOCK_BYTES, record.len() - 1] {
            let mut bad = record.clone();
            bad[at] ^= 0x80;
            assert!(open(&etm_key(), 7, &bad).is_none(), "flip at {at}");
        }
        for end in 5..record.len() {
            let _ = open(&etm_key(), 7, &record[..end]);
        }
    }

    #[test]
    fn a_damaged_record_still_tells_its_plaintext_length_from_its_last_block() {
        let mut mte = hx(MTE_RECORD);
        mte[5 + BLOCK_BYTES] ^= 1; // inside the first ciphertext block
        assert!(open(&mte_key(), 1, &mte).is_none());
        // 27 padding bytes reach past the last block: not read as padding.
        assert_eq!(mte_key().unverified_plaintext_len(&mte[5..]), None);
        let mut etm = hx(ETM_RECORD);
        etm[5] ^= 1; // inside the explicit IV
        assert!(open(&etm_key(), 7, &etm).is_none());
        assert_eq!(etm_key().unverified_plaintext_len(&etm[5..]), Some(32));
        assert_eq!(etm_key().unverified_plaintext_len(&etm[5..40]), None);
        assert_eq!(etm_key().unverified_plaintext_len(&[]), None);
    }

    #[test]
    fn a_full_fragment_record_has_the_size_openssl_gives_it() {
        // 2^14 bytes + 20-byte MAC + 1 → 16 416 bytes of ciphertext after a 16-byte IV.
        assert_eq!(mte_key().body_len_for(16_384), 16 + 16_416);
        // Encrypt-then-MAC: 2^14 + 1 → 16 400, then IV and MAC around it.
        assert_eq!(etm_key().body_len_for(16_384), 16 + 16_400 + 48);
        assert_eq!(etm_key().body_len_for(32), hx(ETM_RECORD).len() - 5);
    }

    #[test]
    fn padding_is_checked_byte_by_byte() {
        assert_eq!(unpadded_len(&[9, 9, 2, 2, 2]), Some(2));
        assert_eq!(unpadded_len(&[9, 0]), Some(1));
        assert_eq!(unpadded_len(&[9, 1, 2, 2]), None);
        assert_eq!(unpadded_len(&[3, 3]), None);
        assert_eq!(unpadded_len(&[]), None);
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused() {
        assert!(CbcKey::new(CbcAes::Aes256, &range(0, 16), Mac::Sha1, &range(0, 20), false).is_none());
        assert!(CbcKey::new(CbcAes::Aes128, &range(0, 16), Mac::Sha256, &range(0, 20), false).is_none());
    }
}
