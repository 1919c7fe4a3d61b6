//! Parallel decode of one capture: the reading thread keeps the capture-wide part of every
//! packet (counters, packet findings, the clock, when to sweep idle flows) and hands each TCP
//! segment to one of N workers chosen by its flow, so a flow's packets are always decoded by
//! the same worker in capture order. Each worker is a whole `Analyzer` fed only the per-flow
//! part; its events come back as owned batches, one unit per packet, and are replayed in
//! capture order into the caller's sink with connection numbers given in that order — the
//! same events, in the same order, as one `Analyzer` gives.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

use crate::analysis::event::{ConnId, Renumber};
use crate::analysis::event_batch::Batch;
use crate::analysis::link::{LinkType, TcpPacket};
use crate::analysis::tcp::FlowKey;
use crate::analysis::{Analyzer, AnalyzerConfig, AnalyzerStats, EventSink, PacketInput, Timestamp};
use crate::capture::offline::ReadLimit;
use crate::capture::{OfflineReader, ReaderKind};

/// A worker's input batch is sent once it holds this many items or payload bytes.
const BATCH_ITEMS: usize = 4096;
const BATCH_BYTES: usize = 4 << 20;
/// Recycled output buffers keep at most this much capacity.
const KEPT_BUFFER_BYTES: usize = 8 << 20;
/// Input batches waiting per worker (a full queue makes the reader wait).
const QUEUED_BATCHES: usize = 4;
/// Packets handed out but not yet merged back; past this the reader waits for the merge,
/// so memory stays bounded when one worker lags behind the others.
const MAX_UNMERGED_PACKETS: usize = 32 * BATCH_ITEMS;

/// The decoder a capture is read with: one analyzer on the reading thread, or N workers.
pub trait CaptureDecoder: PacketInput {
    /// End of input: every remaining event reaches `sink`.
    fn finish(&mut self, sink: &mut dyn EventSink);
    /// Packet and flow counters (after `finish`, those of every worker added up).
    fn stats(&self) -> AnalyzerStats;
    /// What a capture reader feeds.
    fn input(&mut self) -> &mut dyn PacketInput;
}

impl CaptureDecoder for Analyzer {
    fn finish(&mut self, sink: &mut dyn EventSink) {
        Analyzer::finish(self, sink);
    }

    fn stats(&self) -> AnalyzerStats {
        Analyzer::stats(self)
    }

    fn input(&mut self) -> &mut dyn PacketInput {
        self
    }
}

/// One analyzer for `threads` ≤ 1 (today's path), else a parallel run with that many workers.
pub fn decoder(config: AnalyzerConfig, threads: usize) -> Box<dyn CaptureDecoder> {
    if threads <= 1 {
        Box::new(Analyzer::new(config))
    } else {
        Box::new(ParallelAnalyzer::new(config, threads))
    }
}

/// The cores this process may use.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Captures smaller than this are decoded by one worker: they take well under a second,
/// and starting workers and handing packets over would only add to that.
pub const PARALLEL_MIN_FILE_BYTES: u64 = 128 << 20;
/// How much of the capture's start the probe decodes to judge its cost: this many packets
/// or bytes, whichever comes first (a capture of 64 KiB loopback segments has few packets,
/// and decoding 50 000 of them would cost as much as the whole pass).
const PROBE_LIMIT: ReadLimit = ReadLimit {
    packets: 50_000,
    bytes: 16 << 20,
};
/// Workers pay off only when decoding costs well more than reading: when at least this
/// share of the probed capture's bytes are inflated (permessage-deflate output) or decrypted
/// (TLS), per mille (measured, README "Benchmark": an uncompressed capture decodes at the
/// reading thread's speed, so workers only add the hand-off).
const EXPENSIVE_PER_MILLE: u64 = 100;

/// What decoding the start of a capture found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeProbe {
    /// Bytes of the packets probed.
    pub packet_bytes: u64,
    /// Bytes that cost far more than reading: inflated message payloads and the payloads of
    /// messages on decrypted TLS connections.
    pub expensive_bytes: u64,
    /// The expensive bytes of the TCP flow that has the most of them: one flow is never
    /// split between workers, so a capture of one busy connection decodes at one worker's
    /// speed whatever the count.
    pub busiest_flow_bytes: u64,
}

impl DecodeProbe {
    /// Whether the expensive share is large enough for workers to pay off.
    pub fn expensive(&self) -> bool {
        self.packet_bytes > 0 && self.expensive_bytes.saturating_mul(1000) >= self.packet_bytes * EXPENSIVE_PER_MILLE
    }

    /// Whether the expensive bytes are spread over flows, so that workers share them: no
    /// flow holds two thirds (workers could at best be expensive/busiest = 1.5x faster).
    pub fn spread(&self) -> bool {
        self.busiest_flow_bytes.saturating_mul(3) < self.expensive_bytes.saturating_mul(2)
    }
}

/// Counts what the probe's events say about the cost of decoding.
#[derive(Default)]
struct ProbeSink {
    probe: DecodeProbe,
    /// Each connection's TCP flow (HTTP/2 carries several connections on one), and whether
    /// it runs over decrypted TLS (its messages cost a decryption each).
    conns: rustc_hash::FxHashMap<ConnId, (FlowKey, bool)>,
    expensive_by_flow: rustc_hash::FxHashMap<FlowKey, u64>,
}

impl EventSink for ProbeSink {
    fn event(&mut self, event: crate::analysis::Event<'_>) {
        match event {
            crate::analysis::Event::Connection(c) => {
                let (flow, _) = FlowKey::from_packet(c.client, c.server);
                let decrypted = c.tls.as_ref().is_some_and(|t| t.decrypted);
                self.conns.insert(c.conn, (flow, decrypted));
            }
            crate::analysis::Event::Message(m) => {
                let Some(&(flow, decrypted)) = self.conns.get(&m.conn) else {
                    return;
                };
                if m.compressed || decrypted {
                    let bytes = m.payload.len() as u64;
                    self.probe.expensive_bytes += bytes;
                    let of_flow = self.expensive_by_flow.entry(flow).or_default();
                    *of_flow += bytes;
                    self.probe.busiest_flow_bytes = self.probe.busiest_flow_bytes.max(*of_flow);
                }
            }
            _ => {}
        }
    }
}

/// Decodes the first packets of a capture with one analyzer (`keys`: a TLS key log) and
/// says how expensive its decode is.
pub fn probe_capture(path: &Path, kind: ReaderKind, config: AnalyzerConfig, keys: Option<&[u8]>) -> DecodeProbe {
    let Ok(mut reader) = OfflineReader::open_with(path, kind) else {
        return DecodeProbe::default();
    };
    let mut analyzer = Analyzer::new(config);
    if let Some(keys) = keys {
        analyzer.feed_keys(keys);
    }
    let mut sink = ProbeSink::default();
    reader.run_limited(&mut analyzer, &mut sink, &mut |_| true, PROBE_LIMIT);
    sink.probe.packet_bytes = analyzer.stats().bytes;
    sink.probe
}

/// The worker count when `--threads` is not given: one, unless the machine has two cores
/// or more, the capture is large, and its decode is expensive and spread over flows
/// (`probe_capture`); then one worker per core but one (the reading thread's), and at least
/// two. Measured (README "Where the time goes"): on 2 cores, two workers decode the mixed
/// deflate capture 1.5x faster than one; an uncompressed capture or one busy connection
/// gets nothing from workers but the hand-off.
pub fn default_threads(file_bytes: u64, cores: usize, probe: impl FnOnce() -> DecodeProbe) -> usize {
    if cores < 2 || file_bytes < PARALLEL_MIN_FILE_BYTES {
        return 1;
    }
    let probe = probe();
    if !probe.expensive() || !probe.spread() {
        return 1;
    }
    (cores - 1).max(2)
}

/// The default worker count for one capture file on this machine (`default_threads` with
/// the cores available and a probe of the file's first packets), for `analyze` and the
/// window's loader alike.
pub fn threads_for(
    path: &Path,
    file_bytes: u64,
    kind: ReaderKind,
    config: AnalyzerConfig,
    keys: Option<&[u8]>,
) -> usize {
    default_threads(file_bytes, available_threads(), || {
        probe_capture(path, kind, config, keys)
    })
}

/// A TCP segment without the packet around it; its payload is a range of the batch's bytes.
struct Segment {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    rst: bool,
    window: u16,
    payload: Range<usize>,
    missing_tail: u64,
}

enum Work {
    Packet(Timestamp, Segment),
    /// Sweep idle flows at this time (before the next packet), as the one analyzer would.
    Sweep(Timestamp),
    /// TLS key log text (a range of the batch's bytes).
    Keys(Range<usize>),
    /// End of input at this time.
    Finish(Timestamp),
}

#[derive(Default)]
struct WorkBatch {
    items: Vec<Work>,
    bytes: Vec<u8>,
}

/// The events of one flow ended by a sweep or the end of input, with its place in the
/// one-analyzer order (first packet, then key).
struct Group {
    order: (Timestamp, FlowKey),
    events: Range<usize>,
}

enum Unit {
    /// The events of one packet.
    Packet(Range<usize>),
    /// A sweep's or the end's flows.
    Groups(Vec<Group>),
}

#[derive(Default)]
struct WorkerOut {
    events: Batch,
    units: Vec<Unit>,
    stats: Option<AnalyzerStats>,
    /// The input batch, emptied, for the reader to fill again.
    spent: Option<WorkBatch>,
}

/// What the merge replays next, in capture order.
enum Order {
    /// The next `count` packet units of a worker.
    Packets { worker: usize, count: usize },
    /// Events of the reading thread (packet findings).
    Local(Batch),
    /// A sweep or the end: one `Groups` unit from every worker, merged by flow order.
    Barrier,
}

struct Worker {
    input: Option<SyncSender<WorkBatch>>,
    output: Receiver<WorkerOut>,
    thread: Option<JoinHandle<()>>,
    pending: WorkBatch,
    /// Received outputs and how many units of the first were replayed.
    ready: VecDeque<WorkerOut>,
    cursor: usize,
    /// Its connection numbers → the run's.
    conn_map: Vec<ConnId>,
    /// The thread is gone (it panicked): its units are skipped.
    dead: bool,
    /// Its counters, sent with its last output.
    stats: Option<AnalyzerStats>,
    /// Emptied input batches to fill again, and replayed output batches going back to the
    /// worker: fresh megabyte buffers would cost a page fault per 4 KiB every time.
    spare: Vec<WorkBatch>,
    recycle: Sender<Batch>,
}

/// N analyzers behind one reader; see the module comment.
pub struct ParallelAnalyzer {
    /// Capture-wide counters and packet findings; it never holds a flow.
    front: Analyzer,
    workers: Vec<Worker>,
    order: VecDeque<Order>,
    /// The reading thread's events not yet placed in `order`.
    local: Batch,
    next_conn: ConnId,
    unmerged: usize,
    finished: bool,
}

impl ParallelAnalyzer {
    /// Starts `threads` workers (at least 2). Each keeps the whole flow cap: a worker's
    /// table holds exactly the one analyzer's flows that hash to it, so its cap bites only
    /// where the one analyzer's would (then which flows are dropped differs, and each
    /// worker says so with its own `flow-limit`); the memory bound is N times the cap's.
    pub fn new(config: AnalyzerConfig, threads: usize) -> Self {
        let threads = threads.max(2);
        let worker_config = config;
        let workers = (0..threads)
            .map(|i| {
                let (in_tx, in_rx) = sync_channel(QUEUED_BATCHES);
                let (out_tx, out_rx) = channel();
                let (recycle_tx, recycle_rx) = channel();
                let thread = std::thread::Builder::new()
                    .name(format!("decode-{i}"))
                    .spawn(move || work(worker_config, in_rx, out_tx, recycle_rx))
                    .ok();
                Worker {
                    dead: thread.is_none(),
                    input: Some(in_tx),
                    output: out_rx,
                    thread,
                    pending: WorkBatch::default(),
                    ready: VecDeque::new(),
                    cursor: 0,
                    conn_map: Vec::new(),
                    stats: None,
                    spare: Vec::new(),
                    recycle: recycle_tx,
                }
            })
            .collect();
        ParallelAnalyzer {
            front: Analyzer::new(config),
            workers,
            order: VecDeque::new(),
            local: Batch::default(),
            next_conn: 0,
            unmerged: 0,
            finished: false,
        }
    }

    fn worker_of(&self, src: SocketAddr, dst: SocketAddr) -> usize {
        let (key, _) = FlowKey::from_packet(src, dst);
        let mut hasher = rustc_hash::FxHasher::default();
        key.hash(&mut hasher);
        // Fx hashes are built for tables that use the high bits; mix before the modulo so
        // flows differing only in a port spread evenly.
        let h = hasher.finish();
        let mixed = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        ((mixed ^ (mixed >> 32)) % self.workers.len() as u64) as usize
    }

    /// Moves the reading thread's events into the order.
    fn place_local(&mut self) {
        if !self.local.events.is_empty() {
            self.order.push_back(Order::Local(std::mem::take(&mut self.local)));
        }
    }

    fn send(&mut self, w: usize) {
        let Some(worker) = self.workers.get_mut(w) else { return };
        if worker.pending.items.is_empty() {
            return;
        }
        let empty = worker.spare.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut worker.pending, empty);
        let sent = worker.input.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
        if !sent {
            worker.dead = true;
        }
    }

    fn send_all(&mut self) {
        for w in 0..self.workers.len() {
            self.send(w);
        }
    }

    /// Replays what is ready, in order. With `block`, waits for workers until the order
    /// is empty (every batch it refers to must have been sent first: `send_all`).
    fn merge(&mut self, sink: &mut dyn EventSink, block: bool) {
        while let Some(next) = self.order.front_mut() {
            match next {
                Order::Local(batch) => {
                    batch.replay(sink);
                    self.order.pop_front();
                }
                Order::Packets { worker, count } => {
                    let w = *worker;
                    while *count > 0 {
                        let Some(worker) = self.workers.get_mut(w) else {
                            *count = 0;
                            break;
                        };
                        if !worker.fill(block) {
                            if worker.dead {
                                *count = 0;
                                break;
                            }
                            return;
                        }
                        let next_conn = &mut self.next_conn;
                        if worker.replay_packet(sink, next_conn) {
                            *count -= 1;
                            self.unmerged = self.unmerged.saturating_sub(1);
                        } else {
                            // A sweep's unit where a packet's was due: not possible when
                            // the order is followed; drop the packets rather than hang.
                            *count = 0;
                        }
                    }
                    self.order.pop_front();
                }
                Order::Barrier => {
                    for worker in &mut self.workers {
                        if !worker.fill(block) && !worker.dead {
                            return;
                        }
                    }
                    let mut groups = Vec::new();
                    for (w, worker) in self.workers.iter_mut().enumerate() {
                        if let Some(taken) = worker.take_groups() {
                            groups.extend(taken.into_iter().map(|g| (g.order, w, g.events)));
                        }
                    }
                    groups.sort_by_key(|(order, w, _)| (*order, *w));
                    for (_, w, events) in groups {
                        if let Some(worker) = self.workers.get_mut(w) {
                            worker.replay(events, sink, &mut self.next_conn);
                        }
                    }
                    for worker in &mut self.workers {
                        worker.advance();
                    }
                    self.order.pop_front();
                }
            }
        }
    }
}

impl Worker {
    /// Makes sure the first ready output has a unit left; false if none is there (yet).
    fn fill(&mut self, block: bool) -> bool {
        loop {
            if let Some(first) = self.ready.front() {
                if self.cursor < first.units.len() {
                    return true;
                }
                if let Some(mut done) = self.ready.pop_front() {
                    done.events.events.clear();
                    done.events.payload.clear();
                    // A huge message's buffer is not kept for the rest of the run.
                    done.events.payload.shrink_to(KEPT_BUFFER_BYTES);
                    let _ = self.recycle.send(done.events);
                }
                self.cursor = 0;
                continue;
            }
            if self.dead {
                return false;
            }
            let received = if block {
                self.output.recv().ok()
            } else {
                match self.output.try_recv() {
                    Ok(out) => Some(out),
                    Err(TryRecvError::Empty) => return false,
                    Err(TryRecvError::Disconnected) => None,
                }
            };
            match received {
                Some(mut out) => {
                    self.stats = out.stats.or(self.stats);
                    if let Some(spent) = out.spent.take()
                        && self.spare.len() < QUEUED_BATCHES
                    {
                        self.spare.push(spent);
                    }
                    self.ready.push_back(out);
                }
                None => {
                    self.dead = true;
                    return false;
                }
            }
        }
    }

    fn replay(&mut self, events: Range<usize>, sink: &mut dyn EventSink, next_conn: &mut ConnId) {
        let Some(first) = self.ready.front() else { return };
        let mut renumber = Renumber {
            inner: sink,
            map: &mut self.conn_map,
            next: *next_conn,
        };
        first.events.replay_range(events, &mut renumber);
        *next_conn = renumber.next;
    }

    /// Replays the next unit if it is a packet's.
    fn replay_packet(&mut self, sink: &mut dyn EventSink, next_conn: &mut ConnId) -> bool {
        let range = match self.ready.front().and_then(|o| o.units.get(self.cursor)) {
            Some(Unit::Packet(range)) => range.clone(),
            _ => return false,
        };
        self.replay(range, sink, next_conn);
        self.cursor += 1;
        true
    }

    /// The next unit's groups if it is a sweep's or the end's (the unit stays until `advance`).
    fn take_groups(&mut self) -> Option<Vec<Group>> {
        let first = self.ready.front_mut()?;
        match first.units.get_mut(self.cursor)? {
            Unit::Groups(groups) => Some(std::mem::take(groups)),
            Unit::Packet(_) => None,
        }
    }

    fn advance(&mut self) {
        if self.ready.front().is_some_and(|o| self.cursor < o.units.len()) {
            self.cursor += 1;
        }
    }
}

impl PacketInput for ParallelAnalyzer {
    fn push_packet(&mut self, ts: Timestamp, link_type: LinkType, data: &[u8], sink: &mut dyn EventSink) {
        let counted = self.front.count_packet(ts, link_type, data, &mut self.local);
        self.place_local();
        let Some((tcp, sweep_due)) = counted else { return };
        if sweep_due {
            for worker in &mut self.workers {
                worker.pending.items.push(Work::Sweep(ts));
            }
            self.order.push_back(Order::Barrier);
        }
        let w = self.worker_of(tcp.src, tcp.dst);
        let Some(worker) = self.workers.get_mut(w) else { return };
        let pending = &mut worker.pending;
        let start = pending.bytes.len();
        pending.bytes.extend_from_slice(tcp.payload);
        pending.items.push(Work::Packet(
            ts,
            Segment {
                src: tcp.src,
                dst: tcp.dst,
                seq: tcp.seq,
                ack: tcp.ack,
                syn: tcp.syn,
                fin: tcp.fin,
                rst: tcp.rst,
                window: tcp.window,
                payload: start..pending.bytes.len(),
                missing_tail: tcp.missing_tail,
            },
        ));
        let full = pending.items.len() >= BATCH_ITEMS || pending.bytes.len() >= BATCH_BYTES;
        match self.order.back_mut() {
            Some(Order::Packets { worker, count }) if *worker == w => *count += 1,
            _ => self.order.push_back(Order::Packets { worker: w, count: 1 }),
        }
        self.unmerged += 1;
        if sweep_due {
            // Every worker must get its sweep before the merge can pass the barrier.
            self.send_all();
        } else if full {
            self.send(w);
        }
        if full || sweep_due {
            self.merge(sink, false);
        }
        if self.unmerged > MAX_UNMERGED_PACKETS {
            // One worker lags: wait for everything handed out so far.
            self.send_all();
            self.merge(sink, true);
        }
    }

    fn timestamp_invalid(&mut self, ts: Timestamp, detail: &str, _sink: &mut dyn EventSink) {
        self.front.timestamp_invalid(ts, detail, &mut self.local);
        self.place_local();
    }

    fn feed_keys(&mut self, text: &[u8]) {
        for worker in &mut self.workers {
            let start = worker.pending.bytes.len();
            worker.pending.bytes.extend_from_slice(text);
            let range = start..worker.pending.bytes.len();
            worker.pending.items.push(Work::Keys(range));
        }
    }
}

impl CaptureDecoder for ParallelAnalyzer {
    fn finish(&mut self, sink: &mut dyn EventSink) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.front.finish_packet_findings(&mut self.local);
        self.place_local();
        let ts = self.front.last_ts();
        for worker in &mut self.workers {
            worker.pending.items.push(Work::Finish(ts));
        }
        self.order.push_back(Order::Barrier);
        self.send_all();
        self.merge(sink, true);
        let mut flow_stats = AnalyzerStats::default();
        for worker in &mut self.workers {
            if let Some(stats) = worker.stats {
                flow_stats.flows_created += stats.flows_created;
                flow_stats.flows_evicted += stats.flows_evicted;
                flow_stats.websocket_connections += stats.websocket_connections;
            }
            worker.input = None;
            if let Some(thread) = worker.thread.take()
                && let Err(panic) = thread.join()
            {
                // A bug, as it would be on the reading thread: not a quietly shorter output.
                std::panic::resume_unwind(panic);
            }
        }
        self.front.add_flow_stats(&flow_stats);
    }

    fn stats(&self) -> AnalyzerStats {
        self.front.stats()
    }

    fn input(&mut self) -> &mut dyn PacketInput {
        self
    }
}

impl Drop for ParallelAnalyzer {
    fn drop(&mut self) {
        // Closing the inputs ends the workers; their outputs are dropped unread.
        for worker in &mut self.workers {
            worker.input = None;
        }
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// A worker: the per-flow part of every packet it is given, one unit of events per packet.
fn work(config: AnalyzerConfig, input: Receiver<WorkBatch>, output: Sender<WorkerOut>, recycled: Receiver<Batch>) {
    let mut analyzer = Analyzer::new(config);
    for mut batch in input {
        let mut out = WorkerOut {
            events: recycled.try_recv().unwrap_or_default(),
            ..WorkerOut::default()
        };
        // Exports (no frame events) have no use for the compressed bytes either.
        out.events.without_compressed = !config.emit_frames;
        for item in batch.items.drain(..) {
            match item {
                Work::Packet(ts, seg) => {
                    let start = out.events.events.len();
                    let tcp = TcpPacket {
                        src: seg.src,
                        dst: seg.dst,
                        seq: seg.seq,
                        ack: seg.ack,
                        syn: seg.syn,
                        fin: seg.fin,
                        rst: seg.rst,
                        window: seg.window,
                        payload: batch.bytes.get(seg.payload).unwrap_or(&[]),
                        missing_tail: seg.missing_tail,
                    };
                    analyzer.push_flow(ts, &tcp, &mut out.events);
                    out.units.push(Unit::Packet(start..out.events.events.len()));
                }
                Work::Sweep(ts) => {
                    let flows = analyzer.idle_flows(ts);
                    let groups = end_flows(&flows, &mut out.events, |key, sink| analyzer.end_idle(key, ts, sink));
                    out.units.push(Unit::Groups(groups));
                }
                Work::Finish(ts) => {
                    let flows = analyzer.flows_oldest_first();
                    let groups = end_flows(&flows, &mut out.events, |key, sink| {
                        analyzer.end_at_capture_end(key, ts, sink)
                    });
                    out.units.push(Unit::Groups(groups));
                    out.stats = Some(analyzer.stats());
                }
                Work::Keys(range) => analyzer.feed_keys(batch.bytes.get(range).unwrap_or(&[])),
            }
        }
        batch.bytes.clear();
        out.spent = Some(batch);
        if output.send(out).is_err() {
            return;
        }
    }
}

/// Ends each flow in turn, keeping each one's events apart with its place in the order.
fn end_flows(
    flows: &[(Timestamp, FlowKey)],
    events: &mut Batch,
    mut end: impl FnMut(FlowKey, &mut Batch),
) -> Vec<Group> {
    let mut groups = Vec::new();
    for &(first_ts, key) in flows {
        let start = events.events.len();
        end(key, events);
        if events.events.len() > start {
            groups.push(Group {
                order: (first_ts, key),
                events: start..events.events.len(),
            });
        }
    }
    groups
}
