//! The analyzer: packets (or TCP segments) with timestamps in, events out, in bounded memory.

use rustc_hash::FxHashMap;

use crate::analysis::conn::{ConnSettings, FlowCtx, FlowState};
use crate::analysis::event::{ConnId, ConnectionEnd, Event, EventSink, TcpDirHealth};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::link::{self, Decoded, LinkType, TcpPacket};
use crate::analysis::pool::BufferPool;
use crate::analysis::tcp::health::direction_health;
use crate::analysis::tcp::reassembly::Segment;
use crate::analysis::tcp::{FlowKey, Opening, Reassembler, ReassemblyLimits, Side, ZeroWindowTracker};
use crate::analysis::time::Timestamp;
use crate::analysis::tls::{KeyLog, TlsLimits};
use crate::analysis::ws::stream::StreamLimits;

/// Every cap and timeout of the analyzer. The defaults suit captures of any size.
#[derive(Clone, Copy, Debug)]
pub struct AnalyzerConfig {
    /// Flows tracked at once; past this the least recently active are dropped (finding
    /// `flow-limit`). A half-open flow (no data) costs about 650 bytes of peak memory
    /// (measured: `tests/hostile_input.rs`).
    pub max_flows: usize,
    pub reassembly: ReassemblyLimits,
    pub stream: StreamLimits,
    pub max_http_head_bytes: usize,
    /// A ping with no pong after this long is reported (`pong-missing`).
    pub pong_timeout_secs: f64,
    /// Findings of one kind reported per connection; the rest are counted (`finding-limit`).
    pub max_findings_per_kind: u32,
    /// Flows idle this long (capture time) are closed and forgotten.
    pub idle_timeout_secs: u64,
    /// Emit an event per frame (for frame tables and anatomy); off for plain exports.
    pub emit_frames: bool,
    /// Caps of TLS decryption (records waiting for a key, tries after lost records).
    pub tls: TlsLimits,
    /// A TLS flow that ends while its records wait for a key stays open this long for the
    /// key (`settle_waiting_keys`). Live captures only: a browser writes its key log line
    /// from another thread, sometimes after a short connection's last packet. Zero (files,
    /// whose keys are all known before the first packet) finishes flows as they end.
    pub tls_key_grace_secs: f64,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            max_flows: 100_000,
            reassembly: ReassemblyLimits::default(),
            stream: StreamLimits::default(),
            max_http_head_bytes: 64 << 10,
            pong_timeout_secs: 30.0,
            max_findings_per_kind: 100,
            idle_timeout_secs: 3600,
            emit_frames: false,
            tls: TlsLimits::default(),
            tls_key_grace_secs: 0.0,
        }
    }
}

/// Packet-level counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnalyzerStats {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_packets: u64,
    pub not_tcp_packets: u64,
    pub ip_fragments: u64,
    pub truncated_headers: u64,
    pub malformed_packets: u64,
    /// TCP packets timestamped earlier than the one before.
    pub timestamps_backwards: u64,
    /// Packets whose record had an impossible sub-second field (reported by the reader).
    pub timestamps_invalid: u64,
    pub flows_created: u64,
    pub flows_evicted: u64,
    pub websocket_connections: u64,
}

/// A flow: its two reassemblers (indexed by `Side`) and everything else.
struct Flow {
    reassemblers: [Reassembler; 2],
    state: FlowState,
    first_ts: Timestamp,
    last_ts: Timestamp,
    fin: [bool; 2],
    /// Zero-window periods each side advertised (indexed by `Side`).
    zero_window: [ZeroWindowTracker; 2],
    /// Set once the flow has ended: later stray packets (duplicates, late ACKs) are ignored
    /// until a new SYN reuses the ports.
    ended: bool,
    /// The flow ended while its TLS records waited for a key: how, to finish it later
    /// (boxed: a half-open flow's size is what a SYN flood costs).
    end_awaiting_key: Option<Box<PendingEnd>>,
}

/// How a flow that waits for its TLS key ended.
struct PendingEnd {
    ts: Timestamp,
    how: ConnectionEnd,
    tcp_by_side: [TcpDirHealth; 2],
}

/// Timestamps this much earlier than the latest packet are reported (`timestamp-backwards`).
const BACKWARDS_STEP_NANOS: i64 = 1_000_000_000;

/// How often (in packets) idle flows are swept.
const SWEEP_INTERVAL_PACKETS: u64 = 1 << 16;
/// Ended flows are remembered this long, to swallow their stray late packets.
const ENDED_FLOW_LINGER_SECS: u64 = 60;

/// Drives link decoding, TCP reassembly, HTTP and WebSocket decoding for many flows.
pub struct Analyzer {
    config: AnalyzerConfig,
    /// Boxed: the table's slots stay small (key and pointer), so its spare capacity and
    /// the copy made while it grows cost little per flow.
    flows: FxHashMap<FlowKey, Box<Flow>>,
    shared: Shared,
    stats: AnalyzerStats,
    last_ts: Timestamp,
    /// The timestamp of the TCP packet before this one (to notice clock steps back).
    previous_ts: Timestamp,
    /// Ended flows whose TLS records wait for a key (`Flow::end_awaiting_key`).
    awaiting_key: Vec<FlowKey>,
}

/// What every flow's handling borrows from the analyzer.
struct Shared {
    settings: ConnSettings,
    next_conn: ConnId,
    pool: BufferPool,
    keys: KeyLog,
    /// `AnalyzerConfig::tls_key_grace_secs`; zero finishes every flow as it ends.
    key_grace_nanos: i64,
}

impl Shared {
    fn ctx<'a>(&'a mut self, ts: Timestamp, sink: &'a mut dyn EventSink) -> FlowCtx<'a> {
        FlowCtx {
            ts,
            sink,
            next_conn: &mut self.next_conn,
            settings: &self.settings,
            pool: &mut self.pool,
            keys: &self.keys,
            tcp_by_side: None,
        }
    }
}

impl Analyzer {
    pub fn new(config: AnalyzerConfig) -> Self {
        Analyzer {
            shared: Shared {
                settings: ConnSettings {
                    stream_limits: config.stream,
                    max_http_head_bytes: config.max_http_head_bytes,
                    pong_timeout_secs: config.pong_timeout_secs,
                    max_findings_per_kind: config.max_findings_per_kind,
                    emit_frames: config.emit_frames,
                    tls_limits: config.tls,
                },
                next_conn: 0,
                pool: BufferPool::default(),
                keys: KeyLog::new(),
                key_grace_nanos: (config.tls_key_grace_secs.max(0.0) * 1e9) as i64,
            },
            config,
            flows: FxHashMap::default(),
            stats: AnalyzerStats::default(),
            last_ts: Timestamp::ZERO,
            previous_ts: Timestamp::ZERO,
            awaiting_key: Vec::new(),
        }
    }

    /// The TLS secrets flows are decrypted with: feed key log text (a file, a file that
    /// grows during a live capture, pcapng Decryption Secrets Blocks) as it arrives.
    pub fn keylog_mut(&mut self) -> &mut KeyLog {
        &mut self.shared.keys
    }

    pub fn keylog(&self) -> &KeyLog {
        &self.shared.keys
    }

    pub fn stats(&self) -> AnalyzerStats {
        self.stats
    }

    pub fn open_flows(&self) -> usize {
        self.flows.len()
    }

    /// One captured packet of the given link type. `orig_len` is its length on the wire.
    pub fn push_packet(&mut self, ts: Timestamp, link_type: LinkType, data: &[u8], sink: &mut dyn EventSink) {
        if let Some((tcp, sweep_due)) = self.count_packet(ts, link_type, data, sink) {
            if sweep_due {
                self.sweep_idle(ts, sink);
            }
            self.push_flow(ts, &tcp, sink);
        }
    }

    /// The capture-wide part of a packet: counters and packet-level findings. The TCP
    /// segment it carries, if any, with whether idle flows are due to be swept first.
    pub fn count_packet<'d>(
        &mut self,
        ts: Timestamp,
        link_type: LinkType,
        data: &'d [u8],
        sink: &mut dyn EventSink,
    ) -> Option<(TcpPacket<'d>, bool)> {
        self.stats.packets += 1;
        self.stats.bytes += data.len() as u64;
        match link::decode(link_type, data) {
            Decoded::Tcp(tcp) => {
                let sweep_due = self.count_tcp(ts, sink);
                return Some((tcp, sweep_due));
            }
            Decoded::NotTcp => self.stats.not_tcp_packets += 1,
            Decoded::IpFragment => {
                self.stats.ip_fragments += 1;
                let n = self.stats.ip_fragments;
                self.packet_finding(n, ts, FindingKind::IpFragment, "TCP in a fragmented IP packet", sink);
            }
            Decoded::Truncated => self.stats.truncated_headers += 1,
            Decoded::Malformed(why) => {
                self.stats.malformed_packets += 1;
                let n = self.stats.malformed_packets;
                self.packet_finding(n, ts, FindingKind::MalformedPacket, &why, sink);
            }
        }
        None
    }

    /// The reader found an impossible sub-second field in the next packet's record (a
    /// microsecond field of 10^6 or more, a nanosecond one of 10^9 or more): `timestamp-invalid`,
    /// reported like other packet findings. `ts` is the time the reader used instead.
    pub fn timestamp_invalid(&mut self, ts: Timestamp, detail: &str, sink: &mut dyn EventSink) {
        self.stats.timestamps_invalid += 1;
        let n = self.stats.timestamps_invalid;
        if n > u64::from(self.config.max_findings_per_kind) {
            return;
        }
        let finding = Finding {
            kind: FindingKind::TimestampInvalid,
            conn: None,
            dir: None,
            ts,
            stream_offset: None,
            detail: format!("packet {}: {detail}", self.stats.packets + 1),
        };
        sink.event(Event::Anomaly(&finding));
    }

    /// Reports the `n`th packet-level finding of a kind, up to the per-kind cap.
    fn packet_finding(&mut self, n: u64, ts: Timestamp, kind: FindingKind, detail: &str, sink: &mut dyn EventSink) {
        if n > u64::from(self.config.max_findings_per_kind) {
            return;
        }
        let finding = Finding {
            kind,
            conn: None,
            dir: None,
            ts,
            stream_offset: None,
            detail: format!("packet {}: {detail}", self.stats.packets),
        };
        sink.event(Event::Anomaly(&finding));
    }

    /// One TCP segment (the entry point for sources that are not link-layer packets).
    pub fn push_tcp(&mut self, ts: Timestamp, tcp: &TcpPacket<'_>, sink: &mut dyn EventSink) {
        if self.count_tcp(ts, sink) {
            self.sweep_idle(ts, sink);
        }
        self.push_flow(ts, tcp, sink);
    }

    /// The capture-wide part of a TCP packet: counters, the clock-step check and the time
    /// of the latest packet. True when idle flows are due to be swept before this packet
    /// (every `SWEEP_INTERVAL_PACKETS` TCP packets). A parallel run does this once, in
    /// capture order, and tells every worker when to sweep.
    pub fn count_tcp(&mut self, ts: Timestamp, sink: &mut dyn EventSink) -> bool {
        self.stats.tcp_packets += 1;
        // Small steps back are packets of merged captures or interfaces interleaving; a step
        // of a second or more is a clock jump worth saying (it would skew times and RTTs).
        let previous = std::mem::replace(&mut self.previous_ts, ts);
        if ts.nanos < previous.nanos.saturating_sub(BACKWARDS_STEP_NANOS) {
            self.stats.timestamps_backwards += 1;
            let n = self.stats.timestamps_backwards;
            let back_ms = previous.millis_since(ts);
            let detail = format!("{back_ms:.3} ms earlier than the packet before it");
            self.packet_finding(n, ts, FindingKind::TimestampBackwards, &detail, sink);
        }
        self.last_ts = self.last_ts.max(ts);
        self.stats.tcp_packets % SWEEP_INTERVAL_PACKETS == 0
    }

    /// The per-flow part of a TCP packet: the flow table, reassembly and everything above.
    /// Flows never share state here, so a parallel run gives each flow to one worker.
    pub fn push_flow(&mut self, ts: Timestamp, tcp: &TcpPacket<'_>, sink: &mut dyn EventSink) {
        let (key, side) = FlowKey::from_packet(tcp.src, tcp.dst);
        let opening_syn = tcp.syn && tcp.ack.is_none();
        let mut opening = Opening::default();
        if let Some(flow) = self.flows.get(&key)
            && flow.ended
            && opening_syn
        {
            // Port reuse: a new connection on the same four-tuple (a refused client port
            // trying again counts its attempts on).
            opening = Opening::retry_after(&flow.state.opening);
            if let Some(mut old) = self.flows.remove(&key) {
                Self::finish_awaiting_key(&mut old, &mut self.shared, sink);
            }
        }
        if !self.flows.contains_key(&key) {
            if self.flows.len() >= self.config.max_flows {
                self.evict(ts, sink);
            }
            self.stats.flows_created += 1;
            let mut state = FlowState::new(key);
            state.opening = opening;
            self.flows.insert(
                key,
                Box::new(Flow {
                    reassemblers: Default::default(),
                    state,
                    first_ts: ts,
                    last_ts: ts,
                    fin: [false; 2],
                    zero_window: Default::default(),
                    ended: false,
                    end_awaiting_key: None,
                }),
            );
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        flow.last_ts = ts;
        if flow.ended {
            return;
        }
        flow.zero_window[side.index()].on_segment(ts, tcp.window, tcp.syn, tcp.rst);
        if tcp.syn {
            flow.state.syn_client = Some(if tcp.ack.is_none() { side } else { side.other() });
        }
        flow.state.opening.on_segment(ts, side, tcp);
        let ws_before = flow.state.phase.websocket_count();
        let mut ctx = self.shared.ctx(ts, sink);
        let Flow {
            reassemblers, state, ..
        } = &mut **flow;
        let [lo, hi] = reassemblers;
        let (this, peer) = match side {
            Side::Lo => (lo, hi),
            Side::Hi => (hi, lo),
        };
        let segment = Segment {
            ts,
            seq: tcp.seq,
            syn: tcp.syn,
            fin: tcp.fin,
            payload: tcp.payload,
            missing_tail: tcp.missing_tail,
        };
        this.push(segment, &self.config.reassembly, &mut |chunk| {
            state.on_chunk(side, chunk, &mut ctx)
        });
        if let Some(ack) = tcp.ack {
            peer.peer_acked(ack, &mut |chunk| state.on_chunk(side.other(), chunk, &mut ctx));
        }
        // An HTTP/2 flow carries several WebSocket connections.
        self.stats.websocket_connections += flow.state.phase.websocket_count().saturating_sub(ws_before);
        if tcp.fin {
            flow.fin[side.index()] = true;
        }
        let both_fins_done = flow.fin.iter().all(|f| *f) && flow.reassemblers.iter().all(Reassembler::fin_reached);
        let how = if tcp.rst {
            ConnectionEnd::Reset
        } else if both_fins_done {
            ConnectionEnd::TcpClosed
        } else {
            return;
        };
        Self::end_flow(flow, ts, how, &mut self.shared, sink);
        if flow.end_awaiting_key.is_some() {
            self.awaiting_key.push(key);
        }
    }

    /// Live capture: finishes the TLS flows that ended while their records waited for a
    /// key, once the key log holds their key or `tls_key_grace_secs` have passed since they
    /// ended (`now`: the capture clock, or the wall clock while no packet comes). Call it
    /// after new key log lines and now and then; it costs nothing while no flow waits.
    pub fn settle_waiting_keys(&mut self, now: Timestamp, sink: &mut dyn EventSink) {
        if self.awaiting_key.is_empty() {
            return;
        }
        let grace = self.shared.key_grace_nanos;
        for key in std::mem::take(&mut self.awaiting_key) {
            let Some(flow) = self.flows.get_mut(&key) else { continue };
            let Some(pending) = &flow.end_awaiting_key else {
                continue;
            };
            let expired = now.nanos.saturating_sub(pending.ts.nanos) > grace;
            if expired || flow.state.tls_key_in(&self.shared.keys) {
                Self::finish_awaiting_key(flow, &mut self.shared, sink);
            } else {
                self.awaiting_key.push(key);
            }
        }
    }

    /// Ended flows still waiting for a TLS key (`settle_waiting_keys`).
    pub fn flows_awaiting_key(&self) -> usize {
        self.awaiting_key.len()
    }

    /// End of input: finish every flow, oldest first, so output order is deterministic.
    pub fn finish(&mut self, sink: &mut dyn EventSink) {
        self.finish_packet_findings(sink);
        let ts = self.last_ts;
        for (_, key) in self.flows_oldest_first() {
            self.end_at_capture_end(key, ts, sink);
        }
    }

    /// The time of the latest TCP packet (flows still open end at this time).
    pub fn last_ts(&self) -> Timestamp {
        self.last_ts
    }

    /// At the end of input: one `finding-limit` per packet-level finding kind whose cap bit.
    pub fn finish_packet_findings(&mut self, sink: &mut dyn EventSink) {
        let ts = self.last_ts;
        let cap = u64::from(self.config.max_findings_per_kind);
        for (kind, n) in [
            (FindingKind::IpFragment, self.stats.ip_fragments),
            (FindingKind::MalformedPacket, self.stats.malformed_packets),
            (FindingKind::TimestampBackwards, self.stats.timestamps_backwards),
            (FindingKind::TimestampInvalid, self.stats.timestamps_invalid),
        ] {
            if n > cap {
                let finding = Finding {
                    kind: FindingKind::FindingLimit,
                    conn: None,
                    dir: None,
                    ts,
                    stream_offset: None,
                    detail: format!("{} more {} findings not reported", n - cap, kind.slug()),
                };
                sink.event(Event::Anomaly(&finding));
            }
        }
    }

    /// Every flow in the order the end of input finishes them: first packet, then key (a
    /// total order, so flows spread over workers merge back into the one-worker order).
    pub fn flows_oldest_first(&self) -> Vec<(Timestamp, FlowKey)> {
        let mut order: Vec<(Timestamp, FlowKey)> = self.flows.iter().map(|(k, f)| (f.first_ts, *k)).collect();
        order.sort_unstable();
        order
    }

    /// Forgets one flow at the end of input, finishing it first if it is still open.
    pub fn end_at_capture_end(&mut self, key: FlowKey, ts: Timestamp, sink: &mut dyn EventSink) {
        if let Some(mut flow) = self.flows.remove(&key) {
            if flow.ended {
                Self::finish_awaiting_key(&mut flow, &mut self.shared, sink);
            } else {
                Self::end_flow(&mut flow, ts, ConnectionEnd::CaptureEnded, &mut self.shared, sink);
                Self::finish_awaiting_key(&mut flow, &mut self.shared, sink);
            }
        }
    }

    /// Counters only the per-flow part keeps (flows created and evicted, WebSocket
    /// connections), for a parallel run to add up its workers'.
    pub fn add_flow_stats(&mut self, other: &AnalyzerStats) {
        self.stats.flows_created += other.flows_created;
        self.stats.flows_evicted += other.flows_evicted;
        self.stats.websocket_connections += other.websocket_connections;
    }

    fn end_flow(flow: &mut Flow, ts: Timestamp, how: ConnectionEnd, shared: &mut Shared, sink: &mut dyn EventSink) {
        let may_wait_for_key = shared.key_grace_nanos > 0;
        let mut ctx = shared.ctx(ts, sink);
        let Flow {
            reassemblers,
            state,
            zero_window,
            ..
        } = flow;
        for side in [Side::Lo, Side::Hi] {
            reassemblers[side.index()].flush(&mut |chunk| state.on_chunk(side, chunk, &mut ctx));
            zero_window[side.index()].finish(ts);
        }
        ctx.tcp_by_side = Some(
            [Side::Lo, Side::Hi]
                .map(|side| direction_health(&reassemblers[side.index()].stats, &zero_window[side.other().index()])),
        );
        let tcp_by_side = ctx.tcp_by_side;
        match tcp_by_side {
            Some(tcp_by_side) if may_wait_for_key && state.waits_for_tls_key() => {
                flow.end_awaiting_key = Some(Box::new(PendingEnd { ts, how, tcp_by_side }));
            }
            _ => state.finish(how, &mut ctx),
        }
        flow.ended = true;
        flow.reassemblers = Default::default();
    }

    /// Finishes a flow that ended while waiting for a TLS key (`end_flow`); the session
    /// looks its key up once more as it finishes.
    fn finish_awaiting_key(flow: &mut Flow, shared: &mut Shared, sink: &mut dyn EventSink) {
        if let Some(pending) = flow.end_awaiting_key.take() {
            let mut ctx = shared.ctx(pending.ts, sink);
            ctx.tcp_by_side = Some(pending.tcp_by_side);
            flow.state.finish(pending.how, &mut ctx);
        }
    }

    /// Closes flows idle for too long and forgets ended ones.
    fn sweep_idle(&mut self, now: Timestamp, sink: &mut dyn EventSink) {
        for (_, key) in self.idle_flows(now) {
            self.end_idle(key, now, sink);
        }
    }

    /// The flows a sweep at `now` forgets (idle too long, or ended and lingered long enough),
    /// oldest first then by key: a total order, so the sweeps of parallel workers merge back
    /// into the one-worker order.
    pub fn idle_flows(&self, now: Timestamp) -> Vec<(Timestamp, FlowKey)> {
        let idle_ns = (self.config.idle_timeout_secs as i64).saturating_mul(1_000_000_000);
        let linger_ns = (ENDED_FLOW_LINGER_SECS as i64) * 1_000_000_000;
        let mut stale: Vec<(Timestamp, FlowKey)> = Vec::new();
        for (key, flow) in &self.flows {
            let idle = now.nanos.saturating_sub(flow.last_ts.nanos);
            if (flow.ended && idle > linger_ns) || idle > idle_ns {
                stale.push((flow.first_ts, *key));
            }
        }
        stale.sort_unstable();
        stale
    }

    /// Forgets one flow found by `idle_flows`, finishing it first if it is still open.
    pub fn end_idle(&mut self, key: FlowKey, now: Timestamp, sink: &mut dyn EventSink) {
        if let Some(mut flow) = self.flows.remove(&key) {
            if !flow.ended {
                Self::end_flow(&mut flow, now, ConnectionEnd::CaptureEnded, &mut self.shared, sink);
            }
            Self::finish_awaiting_key(&mut flow, &mut self.shared, sink);
        }
    }

    /// The flow table is full: drop the least recently active eighth of it.
    fn evict(&mut self, now: Timestamp, sink: &mut dyn EventSink) {
        self.sweep_idle(now, sink);
        if self.flows.len() < self.config.max_flows {
            return;
        }
        let mut by_age: Vec<(Timestamp, FlowKey)> = self.flows.iter().map(|(k, f)| (f.last_ts, *k)).collect();
        let n = (by_age.len() / 8).max(1);
        by_age.select_nth_unstable(n - 1);
        let mut victims: Vec<_> = by_age.into_iter().take(n).collect();
        victims.sort();
        let mut evicted_ws = 0u64;
        for (_, key) in victims {
            if let Some(mut flow) = self.flows.remove(&key) {
                if flow.state.phase.is_websocket() {
                    evicted_ws += 1;
                }
                if !flow.ended {
                    Self::end_flow(&mut flow, now, ConnectionEnd::Evicted, &mut self.shared, sink);
                }
                Self::finish_awaiting_key(&mut flow, &mut self.shared, sink);
            }
        }
        self.stats.flows_evicted += n as u64;
        let finding = Finding {
            kind: FindingKind::FlowLimit,
            conn: None,
            dir: None,
            ts: now,
            stream_offset: None,
            detail: format!(
                "{} flows open (cap {}): dropped the {n} least recently active ({evicted_ws} WebSocket)",
                self.config.max_flows, self.config.max_flows
            ),
        };
        sink.event(Event::Anomaly(&finding));
    }
}

/// What a capture reader feeds: the analyzer itself, or a parallel run of several
/// (`capture::parallel::ParallelAnalyzer`).
pub trait PacketInput {
    /// One captured packet of the given link type.
    fn push_packet(&mut self, ts: Timestamp, link_type: LinkType, data: &[u8], sink: &mut dyn EventSink);
    /// The reader found an impossible sub-second field in the next packet's record.
    fn timestamp_invalid(&mut self, ts: Timestamp, detail: &str, sink: &mut dyn EventSink);
    /// TLS key log text found in the input (a pcapng Decryption Secrets Block), complete.
    fn feed_keys(&mut self, text: &[u8]);
}

impl PacketInput for Analyzer {
    fn push_packet(&mut self, ts: Timestamp, link_type: LinkType, data: &[u8], sink: &mut dyn EventSink) {
        Analyzer::push_packet(self, ts, link_type, data, sink);
    }

    fn timestamp_invalid(&mut self, ts: Timestamp, detail: &str, sink: &mut dyn EventSink) {
        Analyzer::timestamp_invalid(self, ts, detail, sink);
    }

    fn feed_keys(&mut self, text: &[u8]) {
        let keys = self.keylog_mut();
        keys.feed(text);
        keys.end_of_input();
    }
}
