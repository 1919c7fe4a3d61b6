//! Loads a capture on a background thread and hands events to the GUI in batches.
//!
//! The thread owns the reader and the analyzer; events are copied into owned batches and
//! sent over a bounded channel (a full channel makes the loader wait; the waits are counted
//! and shown). `wake` is called after each batch so the GUI repaints; it knows no egui.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Direction, Event, EventSink, FlowInfo, FrameEvent, MessageEvent, RttSample,
};
use crate::analysis::findings::Finding;
use crate::analysis::ws::frame::OpCode;
use crate::analysis::{Analyzer, AnalyzerConfig, Timestamp};
use crate::capture::live::{IdleFlush, LiveOptions, LiveStats, run_live};
use crate::capture::{OfflineReader, ReadSummary};

/// A message without its payload; the payload is a range of the batch's bytes.
#[derive(Clone, Debug)]
pub struct MessageMeta {
    pub conn: ConnId,
    pub dir: Direction,
    pub ts: Timestamp,
    pub first_ts: Timestamp,
    pub opcode: OpCode,
    pub frames: u32,
    pub compressed: bool,
    pub wire_len: u64,
    pub truncated: bool,
    pub decoded: bool,
    pub close_code: Option<u16>,
    pub stream_offset: u64,
    pub payload: std::ops::Range<usize>,
    pub compressed_payload: Option<std::ops::Range<usize>>,
}

/// An owned event.
#[derive(Clone, Debug)]
pub enum OwnedEvent {
    /// Boxed: connections are rare and large; frames and messages are many and small.
    Connection(Box<ConnectionInfo>),
    Frame(FrameEvent),
    Message(MessageMeta),
    Rtt(RttSample),
    Anomaly(Finding),
    Ended {
        conn: ConnId,
        ts: Timestamp,
        how: ConnectionEnd,
    },
    Flow(Box<FlowInfo>),
}

/// Events in arrival order and the payload bytes their messages refer to.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<OwnedEvent>,
    pub payload: Vec<u8>,
}

impl Batch {
    /// Replays the batch into a sink (the GUI's store).
    pub fn replay(&self, sink: &mut dyn EventSink) {
        for event in &self.events {
            match event {
                OwnedEvent::Connection(c) => sink.event(Event::Connection(c.as_ref())),
                OwnedEvent::Frame(f) => sink.event(Event::Frame(f)),
                OwnedEvent::Message(m) => {
                    let payload = self.payload.get(m.payload.clone()).unwrap_or(&[]);
                    let event = MessageEvent {
                        conn: m.conn,
                        dir: m.dir,
                        ts: m.ts,
                        first_ts: m.first_ts,
                        opcode: m.opcode,
                        frames: m.frames,
                        compressed: m.compressed,
                        wire_len: m.wire_len,
                        payload,
                        truncated: m.truncated,
                        decoded: m.decoded,
                        close_code: m.close_code,
                        close_reason: None,
                        stream_offset: m.stream_offset,
                        compressed_payload: m.compressed_payload.clone().and_then(|r| self.payload.get(r)),
                    };
                    sink.event(Event::Message(&event));
                }
                OwnedEvent::Rtt(r) => sink.event(Event::Rtt(*r)),
                OwnedEvent::Anomaly(f) => sink.event(Event::Anomaly(f)),
                OwnedEvent::Ended { conn, ts, how } => sink.event(Event::ConnectionEnded {
                    conn: *conn,
                    ts: *ts,
                    how: *how,
                }),
                OwnedEvent::Flow(f) => sink.event(Event::Flow(f)),
            }
        }
    }
}

/// What the loader thread sends.
#[derive(Debug)]
pub enum LoadMessage {
    Batch(Batch),
    /// The end: how reading went, or why the file could not be opened.
    Done(Result<ReadSummary, String>),
}

/// Shared counters of a running load.
#[derive(Debug, Default)]
pub struct LoadProgress {
    pub bytes_read: AtomicU64,
    pub total_bytes: AtomicU64,
    /// Times the loader found the channel full and had to wait for the GUI.
    pub full_channel_waits: AtomicU64,
}

/// A load (or a live capture) in progress.
pub struct LoadJob {
    pub path: PathBuf,
    pub rx: Receiver<LoadMessage>,
    pub progress: Arc<LoadProgress>,
    /// Set for a live capture: its counters.
    pub live: Option<Arc<LiveStats>>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// Batches are sent at least this often, so the first results show up quickly.
const BATCH_INTERVAL: Duration = Duration::from_millis(50);
const BATCH_EVENTS: usize = 8192;
const BATCH_PAYLOAD_BYTES: usize = 4 << 20;
const CHANNEL_BATCHES: usize = 16;

struct BatchingSink {
    batch: Batch,
    last_send: Instant,
    tx: SyncSender<LoadMessage>,
    wake: Arc<dyn Fn() + Send + Sync>,
    progress: Arc<LoadProgress>,
    disconnected: bool,
}

impl BatchingSink {
    fn new(tx: SyncSender<LoadMessage>, wake: Arc<dyn Fn() + Send + Sync>, progress: Arc<LoadProgress>) -> Self {
        BatchingSink {
            batch: Batch::default(),
            last_send: Instant::now(),
            tx,
            wake,
            progress,
            disconnected: false,
        }
    }

    fn flush(&mut self) {
        if self.batch.events.is_empty() || self.disconnected {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let message = match self.tx.try_send(LoadMessage::Batch(batch)) {
            Ok(()) => None,
            Err(TrySendError::Full(m)) => Some(m),
            Err(TrySendError::Disconnected(_)) => {
                self.disconnected = true;
                None
            }
        };
        if let Some(m) = message {
            self.progress.full_channel_waits.fetch_add(1, Ordering::Relaxed);
            (self.wake)();
            if self.tx.send(m).is_err() {
                self.disconnected = true;
            }
        }
        self.last_send = Instant::now();
        (self.wake)();
    }

    fn maybe_flush(&mut self) {
        if self.batch.events.len() >= BATCH_EVENTS
            || self.batch.payload.len() >= BATCH_PAYLOAD_BYTES
            || self.last_send.elapsed() >= BATCH_INTERVAL
        {
            self.flush();
        }
    }
}

impl IdleFlush for BatchingSink {
    fn idle(&mut self) {
        if self.last_send.elapsed() >= BATCH_INTERVAL {
            self.flush();
        }
    }
}

impl EventSink for BatchingSink {
    fn event(&mut self, event: Event<'_>) {
        let owned = match event {
            Event::Connection(c) => OwnedEvent::Connection(Box::new(c.clone())),
            Event::Frame(f) => OwnedEvent::Frame(f.clone()),
            Event::Message(m) => {
                let start = self.batch.payload.len();
                self.batch.payload.extend_from_slice(m.payload);
                let end = self.batch.payload.len();
                let compressed_payload = m.compressed_payload.map(|raw| {
                    self.batch.payload.extend_from_slice(raw);
                    end..self.batch.payload.len()
                });
                OwnedEvent::Message(MessageMeta {
                    conn: m.conn,
                    dir: m.dir,
                    ts: m.ts,
                    first_ts: m.first_ts,
                    opcode: m.opcode,
                    frames: m.frames,
                    compressed: m.compressed,
                    wire_len: m.wire_len,
                    truncated: m.truncated,
                    decoded: m.decoded,
                    close_code: m.close_code,
                    stream_offset: m.stream_offset,
                    payload: start..end,
                    compressed_payload,
                })
            }
            Event::Rtt(r) => OwnedEvent::Rtt(r),
            Event::Anomaly(f) => OwnedEvent::Anomaly(f.clone()),
            Event::ConnectionEnded { conn, ts, how } => OwnedEvent::Ended { conn, ts, how },
            Event::Flow(f) => OwnedEvent::Flow(Box::new(f.clone())),
        };
        self.batch.events.push(owned);
        self.maybe_flush();
    }
}

/// The feed of a live client session: the returned sink goes to the client's recorder,
/// which passes on what it has after each tapped read or write (a person is waiting for
/// it); the feed gets `Done` when the session is over and the sink dropped.
pub fn client_feed(wake: Arc<dyn Fn() + Send + Sync>) -> (Receiver<LoadMessage>, Box<dyn EventSink + Send>) {
    let (tx, rx) = sync_channel(CHANNEL_BATCHES);
    let sink = EagerSink {
        done_tx: tx.clone(),
        inner: BatchingSink::new(tx, wake, Arc::new(LoadProgress::default())),
    };
    (rx, Box::new(sink))
}

/// Sends what it holds whenever the tap pauses (after each read or write it analysed), so a
/// person sees every message at once while a flood still arrives in few batches; tells the
/// GUI the session is over when dropped.
struct EagerSink {
    inner: BatchingSink,
    done_tx: SyncSender<LoadMessage>,
}

impl EventSink for EagerSink {
    fn event(&mut self, event: Event<'_>) {
        // Batches still go out when they are big or old, even inside one long read.
        self.inner.event(event);
    }

    fn pause(&mut self) {
        self.inner.flush();
    }
}

impl Drop for EagerSink {
    fn drop(&mut self) {
        self.inner.flush();
        let _ = self.done_tx.send(LoadMessage::Done(Ok(ReadSummary::default())));
        (self.inner.wake)();
    }
}

impl LoadJob {
    /// Starts loading `path` on a named thread.
    pub fn start(path: &Path, config: AnalyzerConfig, wake: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<LoadJob> {
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        let progress = Arc::new(LoadProgress::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let thread_path = path.to_owned();
        let (thread_progress, thread_cancel) = (progress.clone(), cancel.clone());
        let handle = std::thread::Builder::new()
            .name("capture-loader".into())
            .spawn(move || {
                let done_tx = tx.clone();
                let result = load(&thread_path, config, tx, wake.clone(), thread_progress, thread_cancel);
                let _ = done_tx.send(LoadMessage::Done(result));
                wake();
            })?;
        Ok(LoadJob {
            path: path.to_owned(),
            rx,
            progress,
            live: None,
            cancel,
            handle: Some(handle),
        })
    }

    /// Starts capturing live; `cancel` stops it. `path` of the job is the recording.
    pub fn start_live(
        options: LiveOptions,
        config: AnalyzerConfig,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<LoadJob> {
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        let progress = Arc::new(LoadProgress::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(LiveStats::default());
        let (thread_progress, thread_cancel, thread_stats) = (progress.clone(), cancel.clone(), stats.clone());
        let path = options.record_to.clone();
        let handle = std::thread::Builder::new().name("live-capture".into()).spawn(move || {
            let done_tx = tx.clone();
            let mut analyzer = Analyzer::new(config);
            let mut sink = BatchingSink::new(tx, wake.clone(), thread_progress);
            let result = run_live(&options, &mut analyzer, &mut sink, &thread_stats, &thread_cancel);
            analyzer.finish(&mut sink);
            sink.flush();
            let summary = result.map(|packets| ReadSummary {
                packets,
                ..ReadSummary::default()
            });
            let _ = done_tx.send(LoadMessage::Done(summary));
            wake();
        })?;
        Ok(LoadJob {
            path,
            rx,
            progress,
            live: Some(stats),
            cancel,
            handle: Some(handle),
        })
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Fraction of the file read (0..=1).
    pub fn fraction(&self) -> f32 {
        let total = self.progress.total_bytes.load(Ordering::Relaxed).max(1);
        (self.progress.bytes_read.load(Ordering::Relaxed) as f64 / total as f64).clamp(0.0, 1.0) as f32
    }
}

impl Drop for LoadJob {
    fn drop(&mut self) {
        self.cancel();
        let Some(handle) = self.handle.take() else {
            return;
        };
        // Keep draining so a loader blocked on a full channel sees the cancel and ends; it
        // checks the flag every 4096 packets. Bounded, so a stuck reader cannot hang the GUI.
        let started = Instant::now();
        while !handle.is_finished() && started.elapsed() < Duration::from_secs(5) {
            while self.rx.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(1));
        }
        if handle.is_finished() {
            let _ = handle.join();
        }
    }
}

fn load(
    path: &Path,
    config: AnalyzerConfig,
    tx: SyncSender<LoadMessage>,
    wake: Arc<dyn Fn() + Send + Sync>,
    progress: Arc<LoadProgress>,
    cancel: Arc<AtomicBool>,
) -> Result<ReadSummary, String> {
    let mut reader = OfflineReader::open(path).map_err(|e| e.to_string())?;
    progress.total_bytes.store(reader.file_len(), Ordering::Relaxed);
    let mut analyzer = Analyzer::new(config);
    let mut sink = BatchingSink::new(tx, wake, progress.clone());
    let summary = reader.run(&mut analyzer, &mut sink, &mut |bytes| {
        progress.bytes_read.store(bytes, Ordering::Relaxed);
        !cancel.load(Ordering::Relaxed)
    });
    if summary.stopped_early.as_deref() != Some("cancelled") {
        analyzer.finish(&mut sink);
    }
    sink.flush();
    progress.bytes_read.store(reader.file_len(), Ordering::Relaxed);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Direction, Timestamp};

    fn drain(rx: &Receiver<LoadMessage>) -> (usize, usize) {
        let (mut batches, mut events) = (0, 0);
        while let Ok(LoadMessage::Batch(b)) = rx.try_recv() {
            batches += 1;
            events += b.events.len();
        }
        (batches, events)
    }

    #[test]
    fn a_live_feed_passes_events_on_at_each_pause_in_few_batches() {
        let (rx, mut sink) = client_feed(Arc::new(|| {}));
        let sample = |i: i64| RttSample {
            conn: 0,
            ping_dir: Direction::ClientToServer,
            ping_ts: Timestamp::from_nanos(i),
            pong_ts: Timestamp::from_nanos(i + 1000),
        };
        // One read's worth of events, then the tap pauses: all of them are there, in far
        // fewer batches than events (one per event would cost a channel send each).
        for i in 0..1000 {
            sink.event(Event::Rtt(sample(i)));
        }
        sink.pause();
        let (batches, events) = drain(&rx);
        assert_eq!(events, 1000);
        assert!(batches < 100, "{batches} batches");
        // A single event is passed on at the next pause, with no more traffic after it.
        sink.event(Event::Rtt(sample(5000)));
        sink.pause();
        assert_eq!(drain(&rx), (1, 1));
        drop(sink);
        assert!(matches!(rx.try_recv(), Ok(LoadMessage::Done(_))));
    }
}
