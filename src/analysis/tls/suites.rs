//! TLS cipher suites: IANA names, and for the ones framescope decrypts, the record cipher
//! (AEAD, or AES-CBC with its HMAC), PRF/HKDF hash and key sizes the key schedule needs.

/// The record protection algorithm of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aead {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Aead {
    pub fn key_len_bytes(self) -> usize {
        match self {
            Aead::Aes128Gcm => 16,
            Aead::Aes256Gcm | Aead::ChaCha20Poly1305 => 32,
        }
    }

    pub fn ring_algorithm(self) -> &'static ring::aead::Algorithm {
        match self {
            Aead::Aes128Gcm => &ring::aead::AES_128_GCM,
            Aead::Aes256Gcm => &ring::aead::AES_256_GCM,
            Aead::ChaCha20Poly1305 => &ring::aead::CHACHA20_POLY1305,
        }
    }
}

/// The hash of a suite's PRF (TLS 1.2) or HKDF (TLS 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    pub fn len_bytes(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// Which TLS version's record protection a suite uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuiteVersion {
    Tls12,
    Tls13,
}

/// The AES key size of a CBC suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CbcAes {
    Aes128,
    Aes256,
}

impl CbcAes {
    pub fn key_len_bytes(self) -> usize {
        match self {
            CbcAes::Aes128 => 16,
            CbcAes::Aes256 => 32,
        }
    }
}

/// The HMAC of a CBC suite's records (RFC 5246 §6.2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mac {
    Sha1,
    Sha256,
    Sha384,
}

impl Mac {
    /// Bytes of the MAC key and of the MAC itself (the same for HMAC in TLS).
    pub fn len_bytes(self) -> usize {
        match self {
            Mac::Sha1 => 20,
            Mac::Sha256 => 32,
            Mac::Sha384 => 48,
        }
    }

    pub fn ring_algorithm(self) -> ring::hmac::Algorithm {
        match self {
            Mac::Sha1 => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Mac::Sha256 => ring::hmac::HMAC_SHA256,
            Mac::Sha384 => ring::hmac::HMAC_SHA384,
        }
    }
}

/// How a suite protects its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    Aead(Aead),
    /// TLS 1.2 AES-CBC with an explicit per-record IV and an HMAC: MAC-then-encrypt, or
    /// encrypt-then-MAC when the ServerHello carries RFC 7366's extension.
    Cbc {
        aes: CbcAes,
        mac: Mac,
    },
}

/// A cipher suite framescope can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub version: SuiteVersion,
    pub cipher: Cipher,
    /// The PRF (TLS 1.2) or HKDF (TLS 1.3) hash; SHA-256 for the SHA-1 CBC suites too.
    pub hash: Hash,
}

/// Suites framescope decrypts: every TLS 1.3 AEAD suite but CCM, the TLS 1.2 AEAD suites
/// (RFC 5288/5289 AES-GCM, RFC 7905 ChaCha20-Poly1305) and the TLS 1.2 AES-CBC suites
/// servers still negotiate (RFC 5246, RFC 4492 / 5289 ECDHE; keys come from the key log's
/// master secret whatever the key exchange).
const DECRYPTABLE: &[Suite] = &[
    aead(
        0x1301,
        "TLS_AES_128_GCM_SHA256",
        SuiteVersion::Tls13,
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    aead(
        0x1302,
        "TLS_AES_256_GCM_SHA384",
        SuiteVersion::Tls13,
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    aead(
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        SuiteVersion::Tls13,
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
    aead12(
        0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    aead12(
        0xC02C,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    aead12(
        0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    aead12(
        0xC030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    aead12(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", Aead::Aes128Gcm, Hash::Sha256),
    aead12(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", Aead::Aes256Gcm, Hash::Sha384),
    aead12(
        0x009E,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    aead12(
        0x009F,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    aead12(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
    aead12(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
    aead12(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
    cbc(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", CbcAes::Aes128, Mac::Sha1),
    cbc(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", CbcAes::Aes256, Mac::Sha1),
    cbc(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", CbcAes::Aes128, Mac::Sha256),
    cbc(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", CbcAes::Aes256, Mac::Sha256),
    cbc(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", CbcAes::Aes128, Mac::Sha1),
    cbc(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", CbcAes::Aes256, Mac::Sha1),
    cbc(
        0x0067,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        CbcAes::Aes128,
        Mac::Sha256,
    ),
    cbc(
        0x006B,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        CbcAes::Aes256,
        Mac::Sha256,
    ),
    cbc(
        0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        CbcAes::Aes128,
        Mac::Sha1,
    ),
    cbc(
        0xC00A,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        CbcAes::Aes256,
        Mac::Sha1,
    ),
    cbc(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", CbcAes::Aes128, Mac::Sha1),
    cbc(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", CbcAes::Aes256, Mac::Sha1),
    cbc(
        0xC023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        CbcAes::Aes128,
        Mac::Sha256,
    ),
    cbc(
        0xC024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        CbcAes::Aes256,
        Mac::Sha384,
    ),
    cbc(
        0xC027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        CbcAes::Aes128,
        Mac::Sha256,
    ),
    cbc(
        0xC028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        CbcAes::Aes256,
        Mac::Sha384,
    ),
];

const fn aead(id: u16, name: &'static str, version: SuiteVersion, aead: Aead, hash: Hash) -> Suite {
    Suite {
        id,
        name,
        version,
        cipher: Cipher::Aead(aead),
        hash,
    }
}

const fn aead12(id: u16, name: &'static str, cipher: Aead, hash: Hash) -> Suite {
    aead(id, name, SuiteVersion::Tls12, cipher, hash)
}

/// A TLS 1.2 CBC suite: its PRF is SHA-384 for the SHA-384 MAC suites, SHA-256 for all
/// others, SHA-1 ones included (RFC 5246 §5, RFC 5289 §3.1).
const fn cbc(id: u16, name: &'static str, aes: CbcAes, mac: Mac) -> Suite {
    Suite {
        id,
        name,
        version: SuiteVersion::Tls12,
        cipher: Cipher::Cbc { aes, mac },
        hash: match mac {
            Mac::Sha384 => Hash::Sha384,
            Mac::Sha1 | Mac::Sha256 => Hash::Sha256,
        },
    }
}

/// Names of common suites framescope recognises but does not decrypt (CCM).
const NAMED_ONLY: &[(u16, &str)] = &[(0x1304, "TLS_AES_128_CCM_SHA256"), (0x1305, "TLS_AES_128_CCM_8_SHA256")];

/// The suite with this id, when framescope can decrypt it.
pub fn decryptable(id: u16) -> Option<&'static Suite> {
    DECRYPTABLE.iter().find(|s| s.id == id)
}

/// The IANA name of a suite, or `0xABCD` for one not in framescope's tables.
pub fn name(id: u16) -> String {
    if let Some(s) = decryptable(id) {
        return s.name.to_owned();
    }
    match NAMED_ONLY.iter().find(|(i, _)| *i == id) {
        Some((_, n)) => (*n).to_owned(),
        None => format!("0x{id:04X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_suites_have_iana_names_and_unknown_ones_their_number() {
        assert_eq!(name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(name(0xC013), "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
        assert_eq!(name(0x0a0a), "0x0A0A");
        assert_eq!(name(0x1304), "TLS_AES_128_CCM_SHA256");
        assert_eq!(
            decryptable(0xCCA8).map(|s| s.cipher),
            Some(Cipher::Aead(Aead::ChaCha20Poly1305))
        );
        assert!(decryptable(0x1304).is_none());
    }

    #[test]
    fn cbc_suites_take_their_prf_hash_from_the_mac() {
        let sha1 = decryptable(0xC013).unwrap();
        assert_eq!(
            (sha1.cipher, sha1.hash),
            (
                Cipher::Cbc {
                    aes: CbcAes::Aes128,
                    mac: Mac::Sha1
                },
                Hash::Sha256
            )
        );
        let sha384 = decryptable(0xC028).unwrap();
        assert_eq!(sha384.hash, Hash::Sha384);
        assert_eq!(sha384.name, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384");
        // Ids are unique.
        for (i, s) in DECRYPTABLE.iter().enumerate() {
            assert!(DECRYPTABLE[i + 1..].iter().all(|t| t.id != s.id), "{}", s.name);
        }
    }
}
