//! The analyzer: packets (or TCP segments) with timestamps in, events out, in bounded memory.

use rustc_hash::FxHashMap;

use crate::analysis::conn::{ConnSettings, FlowCtx, FlowState};
use crate::analysis::event::{ConnId, ConnectionEnd, Event, EventSink};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::link::{self, Decoded, LinkType, TcpPacket};
use crate::analysis::pool::BufferPool;
use crate::analysis::tcp::health::direction_health;
use crate::analysis::tcp::reassembly::Segment;
use crate::analysis::tcp::{FlowKey, Reassembler, ReassemblyLimits, Side, ZeroWindowTracker};
use crate::analysis::time::Timestamp;
use crate::analysis::tls::{KeyLog, TlsLimits};
use crate::analysis::ws::stream::StreamLimits;

/// Every cap and timeout of the analyzer. The defaults suit captures of any size.
#[derive(Clone, Copy, Debug)]
pub struct AnalyzerConfig {
    /// Flows tracked at once; past this the least recently active are dropped (finding
    /// `flow-limit`). A half-open flow (no data) costs about 570 bytes of peak memory
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
}

/// What every flow's handling borrows from the analyzer.
struct Shared {
    settings: ConnSettings,
    next_conn: ConnId,
    pool: BufferPool,
    keys: KeyLog,
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
            },
            config,
            flows: FxHashMap::default(),
            stats: AnalyzerStats::default(),
            last_ts: Timestamp::ZERO,
            previous_ts: Timestamp::ZERO,
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
        self.stats.packets += 1;
        self.stats.bytes += data.len() as u64;
        match link::decode(link_type, data) {
            Decoded::Tcp(tcp) => self.push_tcp(ts, &tcp, sink),
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
        if self.stats.tcp_packets % SWEEP_INTERVAL_PACKETS == 0 {
            self.sweep_idle(ts, sink);
        }
        let (key, side) = FlowKey::from_packet(tcp.src, tcp.dst);
        let opening_syn = tcp.syn && tcp.ack.is_none();
        if let Some(flow) = self.flows.get(&key)
            && flow.ended
            && opening_syn
        {
            // Port reuse: a new connection on the same four-tuple.
            self.flows.remove(&key);
        }
        if !self.flows.contains_key(&key) {
            if self.flows.len() >= self.config.max_flows {
                self.evict(ts, sink);
            }
            self.stats.flows_created += 1;
            self.flows.insert(
                key,
                Box::new(Flow {
                    reassemblers: Default::default(),
                    state: FlowState::new(key),
                    first_ts: ts,
                    last_ts: ts,
                    fin: [false; 2],
                    zero_window: Default::default(),
                    ended: false,
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
        if tcp.rst {
            Self::end_flow(flow, ts, ConnectionEnd::Reset, &mut self.shared, sink);
        } else if both_fins_done {
            Self::end_flow(flow, ts, ConnectionEnd::TcpClosed, &mut self.shared, sink);
        }
    }

    /// End of input: finish every flow, oldest first, so output order is deterministic.
    pub fn finish(&mut self, sink: &mut dyn EventSink) {
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
        let mut flows: Vec<(FlowKey, Box<Flow>)> = self.flows.drain().collect();
        flows.sort_by_key(|(key, flow)| (flow.first_ts, *key));
        for (_, mut flow) in flows {
            if !flow.ended {
                Self::end_flow(&mut flow, ts, ConnectionEnd::CaptureEnded, &mut self.shared, sink);
            }
        }
    }

    fn end_flow(flow: &mut Flow, ts: Timestamp, how: ConnectionEnd, shared: &mut Shared, sink: &mut dyn EventSink) {
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
        state.finish(how, &mut ctx);
        flow.ended = true;
        flow.reassemblers = Default::default();
    }

    /// Closes flows idle for too long and forgets ended ones.
    fn sweep_idle(&mut self, now: Timestamp, sink: &mut dyn EventSink) {
        let idle_ns = (self.config.idle_timeout_secs as i64).saturating_mul(1_000_000_000);
        let linger_ns = (ENDED_FLOW_LINGER_SECS as i64) * 1_000_000_000;
        let mut stale: Vec<FlowKey> = Vec::new();
        for (key, flow) in &self.flows {
            let idle = now.nanos.saturating_sub(flow.last_ts.nanos);
            if (flow.ended && idle > linger_ns) || idle > idle_ns {
                stale.push(*key);
            }
        }
        stale.sort_by_key(|k| self.flows.get(k).map(|f| f.first_ts));
        for key in stale {
            if let Some(mut flow) = self.flows.remove(&key)
                && !flow.ended
            {
                Self::end_flow(&mut flow, now, ConnectionEnd::CaptureEnded, &mut self.shared, sink);
            }
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
