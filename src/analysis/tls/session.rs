//! One TLS connection seen passively: both directions' records in, the application data
//! each side sent out (as plaintext byte streams with their own offsets), plus findings and
//! the connection's facts (version, suite, SNI, ALPN, whether it was decrypted).
//!
//! Keys come from a [`KeyLog`] the caller passes with every push, so a key log that grows
//! during a live capture is seen as soon as the caller feeds it. Caps (documented on
//! [`TlsLimits`]): records waiting for a key, sequence numbers tried after a loss,
//! consecutive tag failures; each becomes a finding when it bites.
//!
//! About 800 lines on purpose: both directions' record layers, the handshake fields, the key
//! schedule's state and the resynchronisation after a loss all read and write this one
//! session's state; the pieces that stand alone are `record`, `handshake`, `crypto`, `keylog`.

use crate::analysis::event::Direction;
use crate::analysis::findings::FindingKind;
use crate::analysis::time::Timestamp;
use crate::analysis::tls::crypto::{RecordKey, next_traffic_secret};
use crate::analysis::tls::handshake::{self, HandshakeReader};
use crate::analysis::tls::keylog::{KeyLog, Secret, SessionSecrets};
use crate::analysis::tls::mid_search::{self, Search};
use crate::analysis::tls::record::{
    CONTENT_ALERT, CONTENT_APPLICATION_DATA, CONTENT_CHANGE_CIPHER_SPEC, CONTENT_HANDSHAKE, HEADER_BYTES, RecordEvent,
    RecordHeader, RecordReader,
};
use crate::analysis::tls::suites::{self, Suite, SuiteVersion};

/// Where a session's results go.
pub trait TlsOutput {
    /// Application data `dir`'s peer sent, at `plain_offset` in that direction's plaintext stream.
    fn plaintext(&mut self, dir: Direction, ts: Timestamp, plain_offset: u64, bytes: &[u8]);
    /// `len` plaintext bytes at `plain_offset` were lost with records that were not captured
    /// (an estimate when a lost record was not application data or was padded).
    fn plaintext_gap(&mut self, dir: Direction, ts: Timestamp, plain_offset: u64, len: u64);
    fn finding(&mut self, dir: Direction, kind: FindingKind, ts: Timestamp, stream_offset: Option<u64>, detail: String);
    /// The server chose this application protocol (ALPN), before any application data.
    fn alpn(&mut self, _protocol: &str) {}
    /// Picked up mid-connection, the key search found that the side taken for the client is
    /// the server: later `dir`s are the other way round.
    fn roles_swapped(&mut self) {}
    /// Picked up mid-connection, the session's first record was just decrypted (before its
    /// plaintext is given): the facts the connection inside will carry.
    fn decrypting(&mut self, _facts: &TlsFacts, _client_random: Option<&[u8; 32]>) {}
}

/// Caps of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsLimits {
    /// Encrypted bytes held per direction while no key is known yet (a live key log may be
    /// written after the first records arrive). Past it: `tls-no-key`, the records are dropped.
    pub max_waiting_bytes: usize,
    /// Sequence numbers tried after records were lost in a gap (each try is one AEAD open).
    pub max_lost_records: u64,
    /// Records in a row failing their tag check before a direction stops trying.
    pub max_failures_in_row: u32,
}

impl Default for TlsLimits {
    fn default() -> Self {
        TlsLimits {
            max_waiting_bytes: 64 * 1024,
            max_lost_records: 64,
            max_failures_in_row: 8,
        }
    }
}

/// Why a TLS connection's application data could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsProblem {
    /// No secret for this client random.
    NoKey,
    /// Records failed their tag check: wrong or mismatched keys.
    DecryptFailed,
    /// A version or cipher suite framescope does not decrypt.
    Unsupported,
    /// The client sent nothing protected after its ClientHello, so it never derived a key and
    /// no key log can have one (a browser's abandoned or raced connection).
    Abandoned,
    /// Picked up mid-connection, and no TLS 1.3 traffic secret of the key log opens its
    /// records (without the handshake a TLS 1.2 session cannot be matched at all).
    NoKeyMidConnection,
}

impl TlsProblem {
    /// The `reason` of a JSON Lines `flow` record.
    pub fn reason(self) -> &'static str {
        match self {
            TlsProblem::NoKey => "TLS without a key",
            TlsProblem::DecryptFailed => "TLS decryption failed",
            TlsProblem::Unsupported => "TLS cipher suite not supported",
            TlsProblem::Abandoned => "TLS handshake not completed: the client sent nothing after its ClientHello",
            TlsProblem::NoKeyMidConnection => {
                "TLS picked up mid-connection: no TLS 1.3 traffic secret of the key log opens its records \
                 (without its handshake a TLS 1.2 session cannot be matched)"
            }
        }
    }
}

/// What is known about a TLS connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// Negotiated version (0x0303 = 1.2, 0x0304 = 1.3).
    pub version: Option<u16>,
    pub cipher_suite: Option<u16>,
    pub sni: Option<String>,
    pub alpn_offered: Vec<String>,
    /// The protocol the server chose (ServerHello in 1.2, EncryptedExtensions in 1.3).
    pub alpn: Option<String>,
    pub hello_retry: bool,
    /// At least one record was decrypted.
    pub decrypted: bool,
    pub problem: Option<TlsProblem>,
    pub records_decrypted: u64,
    pub records_failed: u64,
    pub key_updates: u32,
    /// TLS 1.3 0-RTT: the client sent early data and the server accepted or rejected it.
    pub early_data: Option<EarlyData>,
}

/// What became of a TLS 1.3 client's 0-RTT data (RFC 8446 §4.2.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarlyData {
    /// The server's EncryptedExtensions carried early_data: the records are part of the
    /// client's stream.
    Accepted,
    /// The server skipped them (the client usually sends the same bytes again after the
    /// handshake): they are not part of the stream the server read.
    Rejected,
}

impl EarlyData {
    /// The `early_data` of a JSON Lines `tls` object.
    pub fn name(self) -> &'static str {
        match self {
            EarlyData::Accepted => "accepted",
            EarlyData::Rejected => "rejected",
        }
    }
}

impl TlsFacts {
    /// "1.2", "1.3", …
    pub fn version_name(&self) -> Option<String> {
        self.version.map(handshake::version_name)
    }

    pub fn cipher_suite_name(&self) -> Option<String> {
        self.cipher_suite.map(suites::name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Epoch {
    /// TLS 1.3 handshake traffic keys (or TLS 1.2's single epoch).
    Handshake,
    Application,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Switch {
    ToApplication,
    NextGeneration,
}

/// Which key opened a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Used {
    Current,
    /// TLS 1.3: the application key, though the handshake epoch was expected (its Finished was lost).
    Application,
    /// TLS 1.3: the next KeyUpdate generation (the KeyUpdate was lost).
    NextGeneration,
}

#[derive(Default)]
struct Dir {
    records: RecordReader,
    handshake: HandshakeReader,
    /// TLS 1.2: a ChangeCipherSpec was sent, later records are protected.
    protected_12: bool,
    epoch: Option<Epoch>,
    key: Option<RecordKey>,
    /// TLS 1.3: the traffic secret of `key` (KeyUpdate derives the next from it).
    secret: Option<Secret>,
    seq: u64,
    /// Records were lost in a gap: the next record's sequence number is unsure.
    lost_unknown: bool,
    /// Records that failed to open since the last good one but told their plaintext
    /// length anyway (CBC padding): their wire bytes and plaintext bytes, for an exact gap.
    failed_known: (u64, u64),
    /// Where the last decrypted record ended, and the sequence number after it.
    last_good_end: Option<u64>,
    seq_after_last_good: u64,
    plain_offset: u64,
    pending_switch: Option<Switch>,
    /// Records waiting for a key: (arrival number, stream offset, time, header, body).
    waiting: Vec<(u64, u64, Timestamp, RecordHeader, Vec<u8>)>,
    waiting_bytes: usize,
    failures_in_row: u32,
    given_up: bool,
}

/// A piece of 0-RTT data held until the server says whether it read it.
enum EarlyPiece {
    Plain(Timestamp, Vec<u8>),
    /// A record no key opened (no CLIENT_EARLY_TRAFFIC_SECRET): its plaintext length, estimated.
    Unread(Timestamp, u64),
}

/// TLS 1.3 0-RTT (RFC 8446 §4.2.10): the client's records after a ClientHello with the
/// early_data extension are protected by the early traffic key (or, when the server rejects
/// them and the key is unknown, by nothing framescope can open) until its handshake-key
/// records start. A server that rejects early data skips the records it cannot open; so
/// does this: a rejected record is no decryption failure and costs no sequence number.
#[derive(Default)]
struct Early {
    /// The ClientHello carried the early_data extension.
    offered: bool,
    /// The client's records may still be early data: none has opened with its handshake or
    /// application key yet.
    phase: bool,
    key: Option<RecordKey>,
    seq: u64,
    /// The server's EncryptedExtensions: accepted (true) or rejected (false).
    accepted: Option<bool>,
    /// Early data held until `accepted` is known (bounded by `max_waiting_bytes`).
    held: Vec<EarlyPiece>,
    held_bytes: usize,
    /// Wire bytes of early records no key opened (bounded by `max_waiting_bytes`, as a
    /// server bounds what it skips by its max_early_data_size).
    skipped_bytes: u64,
    no_key_reported: bool,
}

/// A TLS connection (both directions).
pub struct TlsSession {
    limits: TlsLimits,
    dirs: [Dir; 2],
    facts: TlsFacts,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<&'static Suite>,
    /// The ServerHello negotiated RFC 7366 encrypt-then-MAC (TLS 1.2 CBC suites).
    encrypt_then_mac: bool,
    /// The keys were found and installed.
    keys_ready: bool,
    /// TLS 1.3 application secrets, installed when each side's Finished is seen.
    app_secrets: [Option<Secret>; 2],
    keylog_generation: Option<u64>,
    no_key_reported: bool,
    /// Numbers waiting records so both directions replay in arrival order.
    arrivals: u64,
    early: Early,
    scratch: Vec<u8>,
    /// Picked up mid-connection: keys are searched for (`mid_search`), not looked up.
    mid: Option<Box<MidConnection>>,
}

/// The key search of a session picked up mid-connection.
#[derive(Default)]
struct MidConnection {
    /// Per direction, the key log generation last searched with: a search that failed is
    /// repeated only when the key log has grown (a live key log), not for every record.
    searched: [Option<u64>; 2],
    /// A search stopped at `mid_search::MAX_OPENS` (said once).
    exhausted_reported: bool,
    /// Sessions the key log held at the last search (for the finding when none matched).
    sessions_searched: usize,
}

/// Everything a record needs to be handled, owned (for records that wait for a key).
struct RecordIn<'a> {
    dir: Direction,
    offset: u64,
    ts: Timestamp,
    header: RecordHeader,
    body: &'a [u8],
}

impl TlsSession {
    pub fn new(limits: TlsLimits) -> TlsSession {
        TlsSession {
            limits,
            dirs: Default::default(),
            facts: TlsFacts::default(),
            client_random: None,
            server_random: None,
            suite: None,
            encrypt_then_mac: false,
            keys_ready: false,
            app_secrets: [None, None],
            keylog_generation: None,
            no_key_reported: false,
            arrivals: 0,
            early: Early::default(),
            scratch: Vec::new(),
            mid: None,
        }
    }

    /// The connection was picked up mid-connection (its first bytes are records, not a
    /// ClientHello): protected records wait while the key log's TLS 1.3 traffic secrets are
    /// tried on them (`mid_search`).
    pub fn start_mid_connection(&mut self) {
        self.mid = Some(Box::default());
    }

    pub fn facts(&self) -> &TlsFacts {
        &self.facts
    }

    pub fn client_random(&self) -> Option<&[u8; 32]> {
        self.client_random.as_ref()
    }

    fn is_tls13(&self) -> bool {
        self.suite.is_some_and(|s| s.version == SuiteVersion::Tls13)
    }

    fn is_tls12(&self) -> bool {
        self.suite.is_some_and(|s| s.version == SuiteVersion::Tls12) || self.facts.version == Some(0x0303)
    }

    /// In-order TCP bytes `dir`'s peer sent, starting at stream offset `offset`.
    pub fn push(
        &mut self,
        dir: Direction,
        offset: u64,
        bytes: &[u8],
        ts: Timestamp,
        keys: &KeyLog,
        out: &mut dyn TlsOutput,
    ) {
        self.retry_keys(keys, out);
        let mut records = core::mem::take(&mut self.dirs[dir.index()].records);
        records.push(offset, bytes, &mut |ev| self.on_record_event(dir, ts, ev, keys, out));
        self.dirs[dir.index()].records = records;
        if self.mid.is_some() {
            self.search_mid_connection(ts, keys, out);
        }
    }

    /// `len` bytes at stream offset `offset` of `dir` were not captured.
    pub fn gap(
        &mut self,
        dir: Direction,
        offset: u64,
        len: u64,
        ts: Timestamp,
        keys: &KeyLog,
        out: &mut dyn TlsOutput,
    ) {
        let mut records = core::mem::take(&mut self.dirs[dir.index()].records);
        records.gap(offset, len, &mut |ev| self.on_record_event(dir, ts, ev, keys, out));
        self.dirs[dir.index()].records = records;
    }

    /// The client's protected records wait for a key the key log does not hold (yet): a live
    /// key log may still get the line (browsers write it from another thread, sometimes after
    /// the connection's last packet).
    pub fn waits_for_key(&self) -> bool {
        !self.keys_ready
            && !self.no_key_reported
            && self.suite.is_some()
            && !self.dirs[Direction::ClientToServer.index()].waiting.is_empty()
    }

    /// Whether `keys` holds this session's secrets.
    pub fn key_in(&self, keys: &KeyLog) -> bool {
        self.client_random.is_some_and(|random| keys.get(&random).is_some())
    }

    /// The connection ended: report a session that never found its key.
    pub fn finish(&mut self, ts: Timestamp, out: &mut dyn TlsOutput) {
        let waiting = self.dirs.iter().any(|d| !d.waiting.is_empty());
        let client_waiting = !self.dirs[Direction::ClientToServer.index()].waiting.is_empty();
        if waiting && !client_waiting && !self.no_key_reported && !self.keys_ready {
            // Only the server's flight waits: the client closed before using any key (Chromium
            // does so to connections it raced or gave up), so a missing key is no finding.
            self.facts.problem.get_or_insert(TlsProblem::Abandoned);
            self.facts.records_failed += self.dirs.iter().map(|d| d.waiting.len() as u64).sum::<u64>();
        } else if waiting {
            self.report_no_key(ts, out);
        }
        for d in &mut self.dirs {
            d.waiting.clear();
            d.waiting_bytes = 0;
        }
    }

    fn on_record_event(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        ev: RecordEvent<'_>,
        keys: &KeyLog,
        out: &mut dyn TlsOutput,
    ) {
        match ev {
            RecordEvent::Record { offset, header, body } => self.record(
                RecordIn {
                    dir,
                    offset,
                    ts,
                    header,
                    body,
                },
                keys,
                out,
            ),
            RecordEvent::Lost {
                offset,
                gap_len,
                record_offset,
                header,
            } => {
                let d = &mut self.dirs[dir.index()];
                d.handshake.reset();
                let detail = match header {
                    Some(h) => {
                        if d.key.is_some() || d.protected_12 {
                            d.seq += 1;
                        }
                        format!(
                            "{gap_len} bytes not captured inside a {}-byte record (type {}) at offset {record_offset}",
                            usize::from(h.len) + HEADER_BYTES,
                            h.content_type
                        )
                    }
                    None => {
                        d.lost_unknown = true;
                        format!(
                            "{gap_len} bytes not captured at offset {offset}: records lost, searching for the next record header"
                        )
                    }
                };
                out.finding(dir, FindingKind::TlsRecordLost, ts, Some(offset), detail);
            }
            RecordEvent::BadHeader { offset, header, why } => {
                self.dirs[dir.index()].lost_unknown = true;
                out.finding(
                    dir,
                    FindingKind::TlsBadRecord,
                    ts,
                    Some(offset),
                    format!("record header {:02x?}: {why}; searching for the next record", header),
                );
            }
            RecordEvent::Resynced { .. } => {}
        }
    }

    fn record(&mut self, rec: RecordIn<'_>, keys: &KeyLog, out: &mut dyn TlsOutput) {
        let tls12 = self.is_tls12();
        let d = &mut self.dirs[rec.dir.index()];
        let ct = rec.header.content_type;
        if ct == CONTENT_CHANGE_CIPHER_SPEC {
            // TLS 1.2: the sender's later records are protected, numbered from 0.
            // TLS 1.3: a middlebox-compatibility record (RFC 8446 §5), ignored.
            if tls12 {
                d.protected_12 = true;
                d.seq = 0;
                d.seq_after_last_good = 0;
                d.epoch = Some(Epoch::Handshake);
            }
            return;
        }
        let protected = if tls12 {
            d.protected_12
        } else {
            ct == CONTENT_APPLICATION_DATA
        };
        if !protected {
            match ct {
                CONTENT_HANDSHAKE => self.handshake_bytes(rec.dir, rec.ts, rec.body, keys, out),
                CONTENT_ALERT => alert(rec.dir, rec.ts, rec.offset, rec.body, out),
                _ => {}
            }
            return;
        }
        if d.given_up {
            self.facts.records_failed += 1;
            return;
        }
        if !self.keys_ready || !self.dirs[rec.dir.index()].waiting.is_empty() {
            self.wait(rec, out);
            return;
        }
        self.decrypt(rec, keys, out);
    }

    /// Holds an encrypted record until its key is known (bounded by `max_waiting_bytes`).
    fn wait(&mut self, rec: RecordIn<'_>, out: &mut dyn TlsOutput) {
        if self.no_key_reported || self.facts.problem == Some(TlsProblem::Unsupported) {
            self.facts.records_failed += 1;
            return;
        }
        let d = &mut self.dirs[rec.dir.index()];
        if d.waiting_bytes + rec.body.len() > self.limits.max_waiting_bytes {
            self.report_no_key(rec.ts, out);
            return;
        }
        d.waiting_bytes += rec.body.len();
        d.waiting
            .push((self.arrivals, rec.offset, rec.ts, rec.header, rec.body.to_vec()));
        self.arrivals += 1;
    }

    fn report_no_key(&mut self, ts: Timestamp, out: &mut dyn TlsOutput) {
        if !self.no_key_reported {
            self.no_key_reported = true;
            let problem = if self.mid.is_some() {
                TlsProblem::NoKeyMidConnection
            } else {
                TlsProblem::NoKey
            };
            self.facts.problem.get_or_insert(problem);
            let detail = match self.client_random {
                Some(r) => format!(
                    "no key log line or decryption secret for client random {}",
                    r.iter().map(|b| format!("{b:02x}")).collect::<String>()
                ),
                None if self.mid.is_some() => match self.mid.as_ref().map_or(0, |m| m.sessions_searched) {
                    0 => {
                        "picked up mid-connection, with no key log to search for its TLS 1.3 traffic secrets".to_owned()
                    }
                    n => format!(
                        "picked up mid-connection: none of the TLS 1.3 traffic secrets of the key log's {n} sessions \
                         opens its records"
                    ),
                },
                None => "no key log line or decryption secret: no ClientHello captured".to_owned(),
            };
            out.finding(Direction::ClientToServer, FindingKind::TlsNoKey, ts, None, detail);
        }
        for d in &mut self.dirs {
            self.facts.records_failed += d.waiting.len() as u64;
            d.waiting.clear();
            d.waiting_bytes = 0;
        }
    }

    /// Looks the keys up again when the key log has grown, and decrypts what waited. Runs
    /// before each pushed piece; `conn::tls_layer` also runs it when the flow ends, for a key
    /// that arrived after the session's last data (a live key log, a DSB written late).
    pub fn retry_keys(&mut self, keys: &KeyLog, out: &mut dyn TlsOutput) {
        if self.mid.is_some() {
            return self.search_mid_connection(Timestamp::ZERO, keys, out);
        }
        if self.keys_ready || self.suite.is_none() || self.no_key_reported {
            return;
        }
        if self.keylog_generation == Some(keys.generation()) {
            return;
        }
        self.keylog_generation = Some(keys.generation());
        if self.install_keys(keys) {
            self.drain_waiting(keys, out);
        }
    }

    /// Picked up mid-connection: searches the key log for the secrets that open each
    /// direction's waiting records, installs them, and decrypts what waited.
    fn search_mid_connection(&mut self, ts: Timestamp, keys: &KeyLog, out: &mut dyn TlsOutput) {
        if self.keys_ready || self.no_key_reported {
            return;
        }
        // One pass per direction; a swap of roles renumbers them, so pick afresh each time.
        for _ in 0..2 {
            let Some(mid) = self.mid.as_deref_mut() else { return };
            let generation = keys.generation();
            let Some(di) = (0..2).find(|&i| {
                let d = &self.dirs[i];
                d.key.is_none() && !d.waiting.is_empty() && mid.searched[i] != Some(generation)
            }) else {
                break;
            };
            let d = &self.dirs[di];
            mid.searched[di] = Some(generation);
            mid.sessions_searched = keys.session_count();
            // The smallest of the first records costs least to try; its place among them
            // says how its sequence number relates to the first one's.
            let Some((k, (_, _, _, header, body))) =
                d.waiting.iter().take(16).enumerate().min_by_key(|(_, w)| w.4.len())
            else {
                break;
            };
            // Once one direction found its session (its client random, only ever set by this
            // search mid-connection), the other takes the other role's secret.
            let only = self
                .client_random
                .map(|random| (random, di == Direction::ClientToServer.index()));
            match mid_search::search(keys, header, body, k as u64, only) {
                Search::Found(found) => {
                    let first_seq = found.seq.saturating_sub(k as u64);
                    let mut at = di;
                    if self.client_random.is_none() {
                        self.client_random = Some(found.client_random);
                        if found.client != (di == Direction::ClientToServer.index()) {
                            // The side taken for the client (the higher port) is the server.
                            self.dirs.swap(0, 1);
                            at = 1 - di;
                            out.roles_swapped();
                        }
                    }
                    let d = &mut self.dirs[at];
                    d.key = RecordKey::tls13(found.suite, found.secret.as_bytes());
                    d.secret = Some(found.secret);
                    d.epoch = Some(Epoch::Application);
                    d.seq = first_seq;
                    d.seq_after_last_good = first_seq;
                    self.suite = Some(found.suite);
                    self.facts.version = Some(0x0304);
                    self.facts.cipher_suite = Some(found.suite.id);
                }
                Search::NotFound { exhausted } => {
                    if exhausted && !mid.exhausted_reported {
                        mid.exhausted_reported = true;
                        out.finding(
                            Direction::ClientToServer,
                            FindingKind::TlsNoKey,
                            ts,
                            None,
                            format!(
                                "picked up mid-connection: stopped searching the key log's {} sessions after {} tries",
                                keys.session_count(),
                                mid_search::MAX_OPENS
                            ),
                        );
                    }
                }
            }
        }
        self.install_mid_connection_rest(keys);
        if self.dirs.iter().all(|d| d.key.is_some()) {
            self.keys_ready = true;
            self.drain_waiting(keys, out);
        }
    }

    /// One direction's secret was found and the other has sent nothing yet: it gets its
    /// role's first secret, its sequence number found by the tries after a loss.
    fn install_mid_connection_rest(&mut self, keys: &KeyLog) {
        let (Some(random), Some(suite), true) = (self.client_random, self.suite, self.mid.is_some()) else {
            return;
        };
        let Some(secrets) = keys.get(&random) else { return };
        for (i, secret) in [secrets.client_traffic_0, secrets.server_traffic_0]
            .into_iter()
            .enumerate()
        {
            let d = &mut self.dirs[i];
            if d.key.is_some() || !d.waiting.is_empty() {
                continue;
            }
            if let Some(secret) = secret {
                d.key = RecordKey::tls13(suite, secret.as_bytes());
                d.secret = Some(secret);
                d.epoch = Some(Epoch::Application);
                d.seq = 0;
                d.lost_unknown = true;
            }
        }
    }

    fn drain_waiting(&mut self, keys: &KeyLog, out: &mut dyn TlsOutput) {
        let mut waiting = Vec::new();
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let d = &mut self.dirs[dir.index()];
            d.waiting_bytes = 0;
            waiting.extend(core::mem::take(&mut d.waiting).into_iter().map(|w| (dir, w)));
        }
        // Replay in arrival order, so the two directions interleave as they did on the wire.
        waiting.sort_by_key(|(_, w)| w.0);
        for (dir, (_, offset, ts, header, body)) in waiting {
            self.decrypt(
                RecordIn {
                    dir,
                    offset,
                    ts,
                    header,
                    body: &body,
                },
                keys,
                out,
            );
        }
    }

    /// Finds this session's secrets and installs the first keys of both directions.
    fn install_keys(&mut self, keys: &KeyLog) -> bool {
        let (Some(random), Some(suite)) = (self.client_random, self.suite) else {
            return false;
        };
        let Some(secrets) = keys.get(&random) else { return false };
        match suite.version {
            SuiteVersion::Tls13 => self.install_tls13(suite, secrets),
            SuiteVersion::Tls12 => self.install_tls12(suite, secrets),
        }
    }

    fn install_tls13(&mut self, suite: &'static Suite, s: &SessionSecrets) -> bool {
        let (Some(ch), Some(sh), Some(ca), Some(sa)) = (
            s.client_handshake,
            s.server_handshake,
            s.client_traffic_0,
            s.server_traffic_0,
        ) else {
            return false;
        };
        for (d, secret) in self.dirs.iter_mut().zip([ch, sh]) {
            d.key = RecordKey::tls13(suite, secret.as_bytes());
            d.secret = Some(secret);
            d.epoch = Some(Epoch::Handshake);
            d.seq = 0;
            d.seq_after_last_good = 0;
        }
        self.app_secrets = [Some(ca), Some(sa)];
        if self.early.phase {
            self.early.key = s.client_early.and_then(|e| RecordKey::tls13(suite, e.as_bytes()));
        }
        self.keys_ready = self.dirs.iter().all(|d| d.key.is_some());
        self.keys_ready
    }

    fn install_tls12(&mut self, suite: &'static Suite, s: &SessionSecrets) -> bool {
        let (Some(master), Some(client_random), Some(server_random)) =
            (s.master_secret, self.client_random, self.server_random)
        else {
            return false;
        };
        let Some((client, server)) = RecordKey::tls12_pair(
            suite,
            master.as_bytes(),
            &client_random,
            &server_random,
            self.encrypt_then_mac,
        ) else {
            return false;
        };
        self.dirs[0].key = Some(client);
        self.dirs[1].key = Some(server);
        self.keys_ready = true;
        true
    }

    /// The key to try when the expected one fails (TLS 1.3 only): the application key in
    /// the handshake epoch, the next generation in the application epoch.
    fn alternate_key(&self, dir: Direction) -> Option<(Used, RecordKey, Secret)> {
        let suite = self.suite?;
        if suite.version != SuiteVersion::Tls13 {
            return None;
        }
        let d = &self.dirs[dir.index()];
        match d.epoch? {
            Epoch::Handshake => {
                let secret = self.app_secrets[dir.index()]?;
                Some((Used::Application, RecordKey::tls13(suite, secret.as_bytes())?, secret))
            }
            Epoch::Application => {
                let next = Secret::new(&next_traffic_secret(suite.hash, d.secret?.as_bytes())?)?;
                Some((Used::NextGeneration, RecordKey::tls13(suite, next.as_bytes())?, next))
            }
        }
    }

    /// Tries `key` at the sequence numbers in `seqs`; on success the plaintext is in
    /// `scratch[range]` and the sequence number used is returned.
    fn try_open(
        scratch: &mut Vec<u8>,
        key: &RecordKey,
        header: &RecordHeader,
        body: &[u8],
        seqs: impl Iterator<Item = u64>,
    ) -> Option<(u64, core::ops::Range<usize>)> {
        let header_bytes = header.to_bytes();
        for seq in seqs {
            scratch.clear();
            scratch.extend_from_slice(body);
            if let Some(range) = key.open(seq, &header_bytes, scratch) {
                return Some((seq, range));
            }
        }
        None
    }

    fn decrypt(&mut self, rec: RecordIn<'_>, keys: &KeyLog, out: &mut dyn TlsOutput) {
        // 0-RTT exists in TLS 1.3 only: a TLS 1.2 session never skips a record it cannot open.
        let early = rec.dir == Direction::ClientToServer && self.early.phase && self.is_tls13();
        if early && self.open_early(&rec, keys, out) {
            return;
        }
        let di = rec.dir.index();
        let mut scratch = core::mem::take(&mut self.scratch);
        let (seq, lost_unknown) = (self.dirs[di].seq, self.dirs[di].lost_unknown);
        let tries = if lost_unknown {
            self.limits.max_lost_records + 1
        } else {
            1
        };
        let mut opened = None;
        if let Some(key) = &self.dirs[di].key {
            // TLS 1.2 AES-GCM senders put their sequence number in the explicit nonce: try it first.
            let hint = rec
                .body
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .filter(|h| lost_unknown && key.carries_sequence_number() && *h >= seq && *h - seq < tries);
            let seqs = hint.into_iter().chain(seq..seq + tries);
            opened = Self::try_open(&mut scratch, key, &rec.header, rec.body, seqs).map(|(s, r)| (Used::Current, s, r));
        }
        if opened.is_none()
            && let Some((used, key, secret)) = self.alternate_key(rec.dir)
        {
            let alt_tries = if lost_unknown { tries } else { 2 };
            if let Some((s, r)) = Self::try_open(&mut scratch, &key, &rec.header, rec.body, 0..alt_tries) {
                let d = &mut self.dirs[di];
                d.key = Some(key);
                d.secret = Some(secret);
                d.epoch = Some(Epoch::Application);
                d.pending_switch = None;
                if used == Used::NextGeneration {
                    self.facts.key_updates += 1;
                }
                d.seq_after_last_good = 0;
                opened = Some((used, s, r));
            }
        }
        match opened {
            Some((_, used_seq, range)) => {
                if early {
                    // The client's handshake (or application) key works: 0-RTT is over.
                    self.early.phase = false;
                }
                self.opened(&rec, used_seq, &scratch, range, keys, out);
            }
            None if early && self.skip_early(&rec, out) => {}
            None => self.failed(&rec, seq, out),
        }
        self.scratch = scratch;
    }

    fn failed(&mut self, rec: &RecordIn<'_>, seq: u64, out: &mut dyn TlsOutput) {
        self.facts.records_failed += 1;
        if !self.facts.decrypted {
            self.facts.problem.get_or_insert(TlsProblem::DecryptFailed);
        }
        let max = self.limits.max_failures_in_row;
        let d = &mut self.dirs[rec.dir.index()];
        if let Some(plain) = d.key.as_ref().and_then(|k| k.unverified_plaintext_len(rec.body)) {
            d.failed_known.0 += HEADER_BYTES as u64 + u64::from(rec.header.len);
            d.failed_known.1 += plain as u64;
        }
        d.seq += 1;
        d.failures_in_row += 1;
        if d.failures_in_row == 1 || d.failures_in_row >= max {
            let check = d.key.as_ref().map_or("tag check", RecordKey::check_name);
            let why = if d.lost_unknown {
                "after lost records no sequence number opened it".to_owned()
            } else {
                format!("{check} failed: wrong or mismatched keys, or damaged bytes")
            };
            let mut detail = format!("{}-byte record (sequence {seq}): {why}", rec.header.len);
            if d.failures_in_row >= max {
                d.given_up = true;
                detail.push_str(&format!(
                    "; {max} records failed in a row, this direction is no longer decrypted"
                ));
            }
            out.finding(rec.dir, FindingKind::TlsDecryptFailed, rec.ts, Some(rec.offset), detail);
        }
    }

    fn opened(
        &mut self,
        rec: &RecordIn<'_>,
        used_seq: u64,
        scratch: &[u8],
        range: core::ops::Range<usize>,
        keys: &KeyLog,
        out: &mut dyn TlsOutput,
    ) {
        let tls13 = self.is_tls13();
        let d = &mut self.dirs[rec.dir.index()];
        let first = !self.facts.decrypted;
        self.facts.decrypted = true;
        self.facts.records_decrypted += 1;
        // Picked up mid-connection, the first record already carries the application's
        // bytes, which may start a connection at once. (A handshake's first protected record
        // is its EncryptedExtensions, whose ALPN the facts do not hold yet: the layer takes
        // the facts after the push instead.)
        if first && self.mid.is_some() {
            out.decrypting(&self.facts, self.client_random.as_ref());
        }
        if self.facts.problem == Some(TlsProblem::DecryptFailed) {
            self.facts.problem = None;
        }
        // Bytes lost since the last good record: estimate the plaintext they carried.
        if let Some(last_end) = d.last_good_end
            && rec.offset > last_end
        {
            let lost_bytes = rec.offset - last_end;
            let plain_lost = if lost_bytes == d.failed_known.0 {
                // Only records that failed in place, each of known plaintext length.
                d.failed_known.1
            } else {
                let records_lost = used_seq.saturating_sub(d.seq_after_last_good);
                d.key
                    .as_ref()
                    .map_or(lost_bytes, |k| k.lost_plaintext_estimate(lost_bytes, records_lost))
            };
            if plain_lost > 0 {
                out.plaintext_gap(rec.dir, rec.ts, d.plain_offset, plain_lost);
                d.plain_offset += plain_lost;
            }
        }
        d.failed_known = (0, 0);
        d.seq = used_seq + 1;
        d.seq_after_last_good = d.seq;
        d.last_good_end = Some(rec.offset + HEADER_BYTES as u64 + u64::from(rec.header.len));
        d.lost_unknown = false;
        d.failures_in_row = 0;
        let plain = scratch.get(range).unwrap_or(&[]);
        let (content_type, content) = if tls13 {
            // TLSInnerPlaintext: content, type, zero padding (RFC 8446 §5.2).
            let Some(end) = plain.iter().rposition(|b| *b != 0) else {
                out.finding(
                    rec.dir,
                    FindingKind::TlsBadRecord,
                    rec.ts,
                    Some(rec.offset),
                    "decrypted record holds only padding (RFC 8446 §5.4)".to_owned(),
                );
                return;
            };
            (plain.get(end).copied().unwrap_or(0), plain.get(..end).unwrap_or(&[]))
        } else {
            (rec.header.content_type, plain)
        };
        match content_type {
            CONTENT_APPLICATION_DATA if !content.is_empty() => {
                out.plaintext(rec.dir, rec.ts, d.plain_offset, content);
                d.plain_offset += content.len() as u64;
            }
            CONTENT_HANDSHAKE => self.handshake_bytes(rec.dir, rec.ts, content, keys, out),
            CONTENT_ALERT => alert(rec.dir, rec.ts, rec.offset, content, out),
            _ => {}
        }
        self.apply_switch(rec.dir);
    }

    /// A client record in the 0-RTT phase opened with the early traffic key: its content is
    /// handled (application data held or passed on, EndOfEarlyData ends the phase) and true
    /// returned. False when there is no early key or it does not open the record.
    fn open_early(&mut self, rec: &RecordIn<'_>, keys: &KeyLog, out: &mut dyn TlsOutput) -> bool {
        let Some(key) = &self.early.key else { return false };
        let mut scratch = core::mem::take(&mut self.scratch);
        let Some((_, range)) = Self::try_open(
            &mut scratch,
            key,
            &rec.header,
            rec.body,
            core::iter::once(self.early.seq),
        ) else {
            self.scratch = scratch;
            return false;
        };
        self.early.seq += 1;
        let plain = scratch.get(range).unwrap_or(&[]);
        // TLSInnerPlaintext: content, type, zero padding (RFC 8446 §5.2).
        let end = plain.iter().rposition(|b| *b != 0);
        let content_type = end.and_then(|e| plain.get(e)).copied().unwrap_or(0);
        let content = end.and_then(|e| plain.get(..e)).unwrap_or(&[]);
        match content_type {
            CONTENT_APPLICATION_DATA if !content.is_empty() => {
                let piece = if self.early.held_bytes + content.len() <= self.limits.max_waiting_bytes {
                    self.early.held_bytes += content.len();
                    EarlyPiece::Plain(rec.ts, content.to_vec())
                } else {
                    EarlyPiece::Unread(rec.ts, content.len() as u64)
                };
                self.early_piece(piece, out);
            }
            CONTENT_HANDSHAKE => {
                let content = content.to_vec();
                self.handshake_bytes(rec.dir, rec.ts, &content, keys, out);
                // EndOfEarlyData: the client's next record is under its handshake key.
                if content.first() == Some(&handshake::END_OF_EARLY_DATA) {
                    self.early.phase = false;
                }
            }
            _ => {}
        }
        self.scratch = scratch;
        true
    }

    /// A client record in the 0-RTT phase that no key opened: skipped as a server that
    /// rejected early data skips it (true), unless more than `max_waiting_bytes` were
    /// skipped already (false: from then on it is a decryption failure).
    fn skip_early(&mut self, rec: &RecordIn<'_>, out: &mut dyn TlsOutput) -> bool {
        let wire = (HEADER_BYTES + usize::from(rec.header.len)) as u64;
        if self.early.skipped_bytes + wire > self.limits.max_waiting_bytes as u64 {
            self.early.phase = false;
            return false;
        }
        self.early.skipped_bytes += wire;
        let plain = self.dirs[rec.dir.index()]
            .key
            .as_ref()
            .map_or(wire, |k| k.lost_plaintext_estimate(wire, 1));
        self.early_piece(EarlyPiece::Unread(rec.ts, plain), out);
        true
    }

    /// Early data goes into the client's stream if the server accepted it, is dropped if it
    /// rejected it, and waits while its EncryptedExtensions have not been read.
    fn early_piece(&mut self, piece: EarlyPiece, out: &mut dyn TlsOutput) {
        match self.early.accepted {
            None => self.early.held.push(piece),
            Some(true) => self.deliver_early(piece, out),
            Some(false) => {}
        }
    }

    fn deliver_early(&mut self, piece: EarlyPiece, out: &mut dyn TlsOutput) {
        let dir = Direction::ClientToServer;
        let d = &mut self.dirs[dir.index()];
        match piece {
            EarlyPiece::Plain(ts, bytes) => {
                out.plaintext(dir, ts, d.plain_offset, &bytes);
                d.plain_offset += bytes.len() as u64;
            }
            EarlyPiece::Unread(ts, len) => {
                out.plaintext_gap(dir, ts, d.plain_offset, len);
                d.plain_offset += len;
                if !self.early.no_key_reported {
                    self.early.no_key_reported = true;
                    out.finding(
                        dir,
                        FindingKind::TlsNoKey,
                        ts,
                        None,
                        "the server accepted 0-RTT early data but the key log has no CLIENT_EARLY_TRAFFIC_SECRET \
                         for this client random (only the client can log it)"
                            .to_owned(),
                    );
                }
            }
        }
    }

    /// The server's EncryptedExtensions said whether it accepted the client's early data.
    fn early_data_decided(&mut self, accepted: bool, out: &mut dyn TlsOutput) {
        if !self.early.offered || self.early.accepted.is_some() {
            return;
        }
        self.early.accepted = Some(accepted);
        self.facts.early_data = Some(if accepted {
            EarlyData::Accepted
        } else {
            EarlyData::Rejected
        });
        self.early.held_bytes = 0;
        for piece in core::mem::take(&mut self.early.held) {
            self.early_piece(piece, out);
        }
    }

    /// Installs the next key after a Finished (TLS 1.3 application keys) or a KeyUpdate.
    fn apply_switch(&mut self, dir: Direction) {
        let Some(suite) = self.suite else { return };
        let app = self.app_secrets[dir.index()];
        let d = &mut self.dirs[dir.index()];
        let Some(switch) = d.pending_switch.take() else { return };
        let secret = match switch {
            Switch::ToApplication => app,
            Switch::NextGeneration => d
                .secret
                .and_then(|s| next_traffic_secret(suite.hash, s.as_bytes()))
                .and_then(|s| Secret::new(&s)),
        };
        if let Some(secret) = secret {
            d.key = RecordKey::tls13(suite, secret.as_bytes());
            d.secret = Some(secret);
            d.epoch = Some(Epoch::Application);
            d.seq = 0;
            d.seq_after_last_good = 0;
            if switch == Switch::NextGeneration {
                self.facts.key_updates += 1;
            }
        }
    }

    fn handshake_bytes(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8], keys: &KeyLog, out: &mut dyn TlsOutput) {
        let mut messages: Vec<(u8, Vec<u8>)> = Vec::new();
        self.dirs[dir.index()].handshake.push(bytes, &mut |m| {
            if m.kept || matches!(m.msg_type, handshake::FINISHED) {
                messages.push((m.msg_type, m.body.to_vec()));
            }
        });
        for (msg_type, body) in messages {
            match msg_type {
                handshake::CLIENT_HELLO if dir == Direction::ClientToServer => {
                    if let Some(hello) = handshake::parse_client_hello(&body)
                        && self.client_random.is_none()
                    {
                        self.client_random = Some(hello.random);
                        self.facts.sni = hello.sni;
                        self.facts.alpn_offered = hello.alpn;
                        self.early.offered = hello.early_data;
                        self.early.phase = hello.early_data;
                    }
                }
                handshake::SERVER_HELLO if dir == Direction::ServerToClient => {
                    if let Some(hello) = handshake::parse_server_hello(&body) {
                        self.server_hello(hello, ts, keys, out);
                    }
                }
                handshake::ENCRYPTED_EXTENSIONS => {
                    if let Some(ee) = handshake::parse_encrypted_extensions(&body) {
                        if let Some(alpn) = ee.alpn {
                            out.alpn(&alpn);
                            self.facts.alpn = Some(alpn);
                        }
                        self.early_data_decided(ee.early_data, out);
                    }
                }
                handshake::FINISHED if self.is_tls13() => {
                    let d = &mut self.dirs[dir.index()];
                    if d.epoch == Some(Epoch::Handshake) {
                        d.pending_switch = Some(Switch::ToApplication);
                    }
                }
                handshake::KEY_UPDATE if self.is_tls13() => {
                    let d = &mut self.dirs[dir.index()];
                    if d.epoch == Some(Epoch::Application) {
                        d.pending_switch = Some(Switch::NextGeneration);
                    }
                }
                _ => {}
            }
        }
    }

    fn server_hello(&mut self, hello: handshake::ServerHello, ts: Timestamp, keys: &KeyLog, out: &mut dyn TlsOutput) {
        self.facts.version = Some(hello.version());
        self.facts.cipher_suite = Some(hello.cipher_suite);
        if hello.hello_retry {
            // The client sends a second ClientHello (same random); the real ServerHello follows.
            self.facts.hello_retry = true;
            return;
        }
        self.server_random = Some(hello.random);
        self.encrypt_then_mac = hello.encrypt_then_mac;
        if let Some(alpn) = &hello.alpn {
            out.alpn(alpn);
            self.facts.alpn = Some(alpn.clone());
        }
        let expected = match hello.version() {
            0x0304 => Some(SuiteVersion::Tls13),
            0x0303 => Some(SuiteVersion::Tls12),
            _ => None,
        };
        match suites::decryptable(hello.cipher_suite).filter(|s| Some(s.version) == expected) {
            Some(suite) => {
                self.suite = Some(suite);
                self.keylog_generation = Some(keys.generation());
                if self.install_keys(keys) {
                    // Records that arrived before the ServerHello was seen (the other
                    // direction's packets came first) are decrypted now.
                    self.drain_waiting(keys, out);
                }
            }
            None => {
                self.facts.problem = Some(TlsProblem::Unsupported);
                out.finding(
                    Direction::ServerToClient,
                    FindingKind::TlsUnsupported,
                    ts,
                    None,
                    format!(
                        "TLS {} with {} cannot be decrypted (framescope decrypts TLS 1.3 AEAD suites and TLS 1.2 AEAD and AES-CBC suites)",
                        handshake::version_name(hello.version()),
                        suites::name(hello.cipher_suite)
                    ),
                );
            }
        }
    }
}

/// An alert record's content: close_notify is normal, anything else a finding.
fn alert(dir: Direction, ts: Timestamp, offset: u64, body: &[u8], out: &mut dyn TlsOutput) {
    let [level, description, ..] = body else { return };
    if *description == 0 {
        return; // close_notify
    }
    let name = match description {
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        42 => "bad_certificate",
        46 => "certificate_unknown",
        48 => "unknown_ca",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        80 => "internal_error",
        90 => "user_canceled",
        109 => "missing_extension",
        112 => "unrecognized_name",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "alert",
    };
    let level = if *level == 2 { "fatal" } else { "warning" };
    out.finding(
        dir,
        FindingKind::TlsAlert,
        ts,
        Some(offset),
        format!("{level} alert {description} ({name})"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8448 §3's ClientHello and ServerHello (TLS 1.3, TLS_AES_128_GCM_SHA256).
    const CLIENT_HELLO: &str = "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001";
    const SERVER_HELLO: &str = "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304";

    fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
        let mut rec = vec![content_type, 3, 3];
        rec.extend((body.len() as u16).to_be_bytes());
        rec.extend(body);
        rec
    }

    fn handshake(hex: &str) -> Vec<u8> {
        record(
            CONTENT_HANDSHAKE,
            &crate::analysis::ws::builder::parse_hex(hex).expect("hex"),
        )
    }

    #[derive(Default)]
    struct Findings(Vec<FindingKind>);

    impl TlsOutput for Findings {
        fn plaintext(&mut self, _: Direction, _: Timestamp, _: u64, _: &[u8]) {}
        fn plaintext_gap(&mut self, _: Direction, _: Timestamp, _: u64, _: u64) {}
        fn finding(&mut self, _: Direction, kind: FindingKind, _: Timestamp, _: Option<u64>, _: String) {
            self.0.push(kind);
        }
    }

    /// A TLS 1.3 session without keys: ClientHello, the server's ServerHello and one protected
    /// record; then, when `client_finished`, one protected client record.
    fn keyless_session(client_finished: bool) -> (TlsSession, Findings) {
        let keys = KeyLog::new();
        let mut out = Findings::default();
        let mut session = TlsSession::new(TlsLimits::default());
        let ts = Timestamp::ZERO;
        let hello = handshake(CLIENT_HELLO);
        session.push(Direction::ClientToServer, 0, &hello, ts, &keys, &mut out);
        let mut flight = handshake(SERVER_HELLO);
        flight.extend(record(CONTENT_APPLICATION_DATA, &[0x5a; 40]));
        session.push(Direction::ServerToClient, 0, &flight, ts, &keys, &mut out);
        if client_finished {
            let finished = record(CONTENT_APPLICATION_DATA, &[0xa5; 53]);
            session.push(
                Direction::ClientToServer,
                hello.len() as u64,
                &finished,
                ts,
                &keys,
                &mut out,
            );
        }
        session.finish(ts, &mut out);
        (session, out)
    }

    /// Collects each direction's plaintext and the findings.
    #[derive(Default)]
    struct Streams {
        plain: [Vec<u8>; 2],
        gaps: [u64; 2],
        findings: Vec<(FindingKind, String)>,
    }

    impl TlsOutput for Streams {
        fn plaintext(&mut self, dir: Direction, _: Timestamp, offset: u64, bytes: &[u8]) {
            assert_eq!(offset, self.plain[dir.index()].len() as u64 + self.gaps[dir.index()]);
            self.plain[dir.index()].extend_from_slice(bytes);
        }
        fn plaintext_gap(&mut self, dir: Direction, _: Timestamp, _: u64, len: u64) {
            self.gaps[dir.index()] += len;
        }
        fn finding(&mut self, _: Direction, kind: FindingKind, _: Timestamp, _: Option<u64>, detail: String) {
            self.findings.push((kind, detail));
        }
    }

    /// A TLS 1.3 record (TLS_AES_128_GCM_SHA256) sealed with the key of `secret`, as a
    /// peer would send it: content, inner type, tag.
    fn sealed(secret: &[u8; 32], seq: u64, inner_type: u8, content: &[u8]) -> Vec<u8> {
        use crate::analysis::tls::crypto::hkdf_expand_label;
        use crate::analysis::tls::suites::Hash;
        use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let (mut key, mut iv) = ([0u8; 16], [0u8; 12]);
        assert!(hkdf_expand_label(Hash::Sha256, secret, b"key", b"", &mut key));
        assert!(hkdf_expand_label(Hash::Sha256, secret, b"iv", b"", &mut iv));
        for (i, b) in seq.to_be_bytes().iter().enumerate() {
            iv[4 + i] ^= b;
        }
        let mut body = content.to_vec();
        body.push(inner_type);
        let header = [CONTENT_APPLICATION_DATA, 3, 3, 0, (body.len() + 16) as u8];
        let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::from(header), &mut body)
            .unwrap();
        [header.to_vec(), body].concat()
    }

    /// A handshake message: type, 24-bit length, body.
    fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        [&[msg_type, len[1], len[2], len[3]][..], body].concat()
    }

    const EARLY: [u8; 32] = [0xe0; 32];
    const CLIENT_HS: [u8; 32] = [0xc1; 32];
    const SERVER_HS: [u8; 32] = [0x51; 32];
    const CLIENT_AP: [u8; 32] = [0xca; 32];
    const SERVER_AP: [u8; 32] = [0x5a; 32];

    /// A resumed TLS 1.3 session whose client sends "GET /early" as 0-RTT data; the server
    /// accepts it (its EncryptedExtensions carry early_data) or not. When rejected, the
    /// client sends "GET /again" after the handshake, as clients do. `early_secret`: the
    /// key log has the CLIENT_EARLY_TRAFFIC_SECRET line.
    fn zero_rtt_session(accepted: bool, early_secret: bool) -> (TlsSession, Streams) {
        let mut hello = vec![3, 3];
        hello.extend([0x77; 32]); // random
        hello.extend([0, 0, 2, 0x13, 0x01, 1, 0]); // session id, suites, compression
        hello.extend([0, 4, 0, 42, 0, 0]); // extensions: early_data
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let random = hex(&[0x77; 32]);
        let mut lines = vec![
            format!("CLIENT_HANDSHAKE_TRAFFIC_SECRET {random} {}", hex(&CLIENT_HS)),
            format!("SERVER_HANDSHAKE_TRAFFIC_SECRET {random} {}", hex(&SERVER_HS)),
            format!("CLIENT_TRAFFIC_SECRET_0 {random} {}", hex(&CLIENT_AP)),
            format!("SERVER_TRAFFIC_SECRET_0 {random} {}", hex(&SERVER_AP)),
        ];
        if early_secret {
            lines.push(format!("CLIENT_EARLY_TRAFFIC_SECRET {random} {}", hex(&EARLY)));
        }
        let keys = KeyLog::from_text(lines.join("\n").as_bytes());
        let (mut session, mut out) = (TlsSession::new(TlsLimits::default()), Streams::default());
        let ts = Timestamp::ZERO;
        let (c2s, s2c) = (Direction::ClientToServer, Direction::ServerToClient);
        let mut client = record(CONTENT_HANDSHAKE, &message(handshake::CLIENT_HELLO, &hello));
        client.extend(record(CONTENT_CHANGE_CIPHER_SPEC, &[1]));
        client.extend(sealed(&EARLY, 0, CONTENT_APPLICATION_DATA, b"GET /early"));
        session.push(c2s, 0, &client, ts, &keys, &mut out);
        let mut client_offset = client.len() as u64;
        let extensions: &[u8] = if accepted { &[0, 4, 0, 42, 0, 0] } else { &[0, 0] };
        let mut server = handshake(SERVER_HELLO);
        server.extend(sealed(
            &SERVER_HS,
            0,
            CONTENT_HANDSHAKE,
            &message(handshake::ENCRYPTED_EXTENSIONS, extensions),
        ));
        server.extend(sealed(
            &SERVER_HS,
            1,
            CONTENT_HANDSHAKE,
            &message(handshake::FINISHED, &[0; 32]),
        ));
        server.extend(sealed(&SERVER_AP, 0, CONTENT_APPLICATION_DATA, b"HTTP/1.1 101"));
        session.push(s2c, 0, &server, ts, &keys, &mut out);
        let mut client = Vec::new();
        if accepted {
            client.extend(sealed(
                &EARLY,
                1,
                CONTENT_HANDSHAKE,
                &message(handshake::END_OF_EARLY_DATA, &[]),
            ));
        }
        client.extend(sealed(
            &CLIENT_HS,
            0,
            CONTENT_HANDSHAKE,
            &message(handshake::FINISHED, &[0; 32]),
        ));
        if !accepted {
            client.extend(sealed(&CLIENT_AP, 0, CONTENT_APPLICATION_DATA, b"GET /again"));
        }
        session.push(c2s, client_offset, &client, ts, &keys, &mut out);
        client_offset += client.len() as u64;
        let after = sealed(
            &CLIENT_AP,
            u64::from(!accepted),
            CONTENT_APPLICATION_DATA,
            b" then more",
        );
        session.push(c2s, client_offset, &after, ts, &keys, &mut out);
        session.finish(ts, &mut out);
        (session, out)
    }

    #[test]
    fn accepted_early_data_is_the_start_of_the_clients_stream() {
        let (session, out) = zero_rtt_session(true, true);
        assert_eq!(out.findings, []);
        assert_eq!(out.plain[0], b"GET /early then more");
        assert_eq!(out.plain[1], b"HTTP/1.1 101");
        assert_eq!(session.facts().early_data, Some(EarlyData::Accepted));
        assert_eq!(session.facts().records_failed, 0);
    }

    #[test]
    fn rejected_early_data_is_skipped_as_the_server_skipped_it() {
        // Before 0-RTT was handled, the early record failed the handshake key's tag check:
        // a `tls-decrypt-failed` finding, and the client's sequence number moved on one.
        for early_secret in [true, false] {
            let (session, out) = zero_rtt_session(false, early_secret);
            assert_eq!(out.findings, [], "early secret logged: {early_secret}");
            assert_eq!(out.plain[0], b"GET /again then more");
            assert_eq!(out.gaps, [0, 0]);
            assert_eq!(session.facts().early_data, Some(EarlyData::Rejected));
            assert!(session.facts().decrypted);
        }
    }

    #[test]
    fn accepted_early_data_without_its_secret_is_a_gap_and_a_missing_key() {
        let (session, out) = zero_rtt_session(true, false);
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert_eq!(out.findings[0].0, FindingKind::TlsNoKey);
        assert!(out.findings[0].1.contains("CLIENT_EARLY_TRAFFIC_SECRET"));
        // "GET /early" (10 bytes) and the 4-byte EndOfEarlyData, which cannot be told from
        // data without the key: AES-GCM's overhead is fixed, so the estimate is exact.
        assert_eq!(out.gaps[0], 14);
        assert_eq!(out.plain[0], b" then more");
        assert_eq!(session.facts().early_data, Some(EarlyData::Accepted));
    }

    #[test]
    fn a_client_that_left_before_using_a_key_is_no_missing_key() {
        // Chromium closes connections it raced or gave up right after its ClientHello; the
        // server's flight still arrives. No key can exist: not a `tls-no-key`.
        let (session, out) = keyless_session(false);
        assert_eq!(out.0, []);
        assert_eq!(session.facts().problem, Some(TlsProblem::Abandoned));
        assert_eq!(session.facts().version, Some(0x0304));
        assert_eq!(session.facts().records_failed, 1);
    }

    #[test]
    fn a_client_that_sent_protected_records_without_a_key_is_a_missing_key() {
        let (session, out) = keyless_session(true);
        assert_eq!(out.0, [FindingKind::TlsNoKey]);
        assert_eq!(session.facts().problem, Some(TlsProblem::NoKey));
    }
}
