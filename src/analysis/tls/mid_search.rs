//! Finds the TLS 1.3 traffic secret of a connection picked up mid-connection: without its
//! handshake there is no client random to look the key log up by, so each of the key log's
//! `CLIENT_TRAFFIC_SECRET_0` and `SERVER_TRAFFIC_SECRET_0` (and the next generations a
//! KeyUpdate makes) is tried on one of the connection's records, at each sequence number the
//! record may have (records sent before the capture began). An AEAD tag that checks is
//! proof: a wrong key opens a record with probability 2^-128.
//!
//! TLS 1.2 cannot be found this way (its keys come from both hellos' randoms).

use crate::analysis::tls::crypto::{RecordKey, next_traffic_secret};
use crate::analysis::tls::keylog::{KeyLog, Secret};
use crate::analysis::tls::record::RecordHeader;
use crate::analysis::tls::suites::{self, Suite};

/// Records a connection may have sent before the capture began: sequence numbers tried.
pub const MAX_SEQUENCE: u64 = 4096;
/// KeyUpdates a connection may have made before the capture began, plus one.
pub const GENERATIONS: usize = 3;
/// AEAD opens one search may cost (about 30 ms on a small record; a direction is searched
/// once per key log generation); past it the search stops and says so. A key log of one
/// session tries all 4096 sequence numbers of its 3 generations well within it.
pub const MAX_OPENS: u64 = 1 << 18;

/// The traffic secret that opened a record.
pub struct Found {
    /// The session's client random (its other direction's secret is in the same entry).
    pub client_random: [u8; 32],
    /// The secret was the client's (`CLIENT_TRAFFIC_SECRET_0` or a later generation).
    pub client: bool,
    pub suite: &'static Suite,
    /// The secret of the generation that opened the record.
    pub secret: Secret,
    /// The record's sequence number.
    pub seq: u64,
}

/// How a search ended.
pub enum Search {
    Found(Found),
    /// No secret opened the record within `MAX_OPENS` (`exhausted`) or at all.
    NotFound {
        exhausted: bool,
    },
}

/// Tries the key log's TLS 1.3 traffic secrets on one record (`header`, `body`), whose
/// sequence number is at least `min_seq`. `only`: the client random and role (client?) to
/// try, once the other direction found its session.
pub fn search(
    keys: &KeyLog,
    header: &RecordHeader,
    body: &[u8],
    min_seq: u64,
    only: Option<([u8; 32], bool)>,
) -> Search {
    let header_bytes = header.to_bytes();
    let mut candidates: Vec<([u8; 32], bool, &'static Suite, Secret, RecordKey)> = Vec::new();
    for (random, secrets) in keys.sessions() {
        for (client, secret) in [(true, secrets.client_traffic_0), (false, secrets.server_traffic_0)] {
            let Some(secret) = secret else { continue };
            if only.is_some_and(|(r, c)| r != *random || c != client) {
                continue;
            }
            for suite in tls13_suites_for(secret.as_bytes().len()) {
                let mut generation = secret;
                for _ in 0..GENERATIONS {
                    if let Some(key) = RecordKey::tls13(suite, generation.as_bytes()) {
                        candidates.push((*random, client, suite, generation, key));
                    }
                    match next_traffic_secret(suite.hash, generation.as_bytes()).and_then(|s| Secret::new(&s)) {
                        Some(next) => generation = next,
                        None => break,
                    }
                }
            }
        }
    }
    let mut scratch = Vec::with_capacity(body.len());
    let mut opens = 0u64;
    // Low sequence numbers first: a capture usually starts soon after the page did.
    for seq in min_seq..min_seq.saturating_add(MAX_SEQUENCE) {
        for (random, client, suite, secret, key) in &candidates {
            if opens >= MAX_OPENS {
                return Search::NotFound { exhausted: true };
            }
            opens += 1;
            scratch.clear();
            scratch.extend_from_slice(body);
            if key.open(seq, &header_bytes, &mut scratch).is_some() {
                return Search::Found(Found {
                    client_random: *random,
                    client: *client,
                    suite,
                    secret: *secret,
                    seq,
                });
            }
        }
    }
    Search::NotFound { exhausted: false }
}

/// The TLS 1.3 suites whose hash makes secrets of `len` bytes.
fn tls13_suites_for(len: usize) -> impl Iterator<Item = &'static Suite> {
    [0x1301u16, 0x1302, 0x1303]
        .into_iter()
        .filter_map(suites::decryptable)
        .filter(move |s| s.hash.len_bytes() == len)
}
