//! TLS cipher suites: IANA names, and for the ones framescope decrypts, the AEAD, hash and
//! key sizes the key schedule needs.

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

/// A cipher suite framescope can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub version: SuiteVersion,
    pub aead: Aead,
    pub hash: Hash,
}

/// Suites framescope decrypts: every TLS 1.3 AEAD suite but CCM, and the TLS 1.2 AEAD suites
/// (RFC 5288/5289 AES-GCM, RFC 7905 ChaCha20-Poly1305).
const DECRYPTABLE: &[Suite] = &[
    s(
        0x1301,
        "TLS_AES_128_GCM_SHA256",
        SuiteVersion::Tls13,
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    s(
        0x1302,
        "TLS_AES_256_GCM_SHA384",
        SuiteVersion::Tls13,
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    s(
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        SuiteVersion::Tls13,
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
    s(
        0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        SuiteVersion::Tls12,
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    s(
        0xC02C,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        SuiteVersion::Tls12,
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    s(
        0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        SuiteVersion::Tls12,
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    s(
        0xC030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        SuiteVersion::Tls12,
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    s(
        0x009C,
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        SuiteVersion::Tls12,
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    s(
        0x009D,
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        SuiteVersion::Tls12,
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    s(
        0x009E,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        SuiteVersion::Tls12,
        Aead::Aes128Gcm,
        Hash::Sha256,
    ),
    s(
        0x009F,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        SuiteVersion::Tls12,
        Aead::Aes256Gcm,
        Hash::Sha384,
    ),
    s(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        SuiteVersion::Tls12,
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
    s(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        SuiteVersion::Tls12,
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
    s(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        SuiteVersion::Tls12,
        Aead::ChaCha20Poly1305,
        Hash::Sha256,
    ),
];

const fn s(id: u16, name: &'static str, version: SuiteVersion, aead: Aead, hash: Hash) -> Suite {
    Suite {
        id,
        name,
        version,
        aead,
        hash,
    }
}

/// Names of common suites framescope recognises but does not decrypt (CBC, CCM).
const NAMED_ONLY: &[(u16, &str)] = &[
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
    (0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
];

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
        assert_eq!(decryptable(0xCCA8).map(|s| s.aead), Some(Aead::ChaCha20Poly1305));
        assert!(decryptable(0xC013).is_none());
    }
}
