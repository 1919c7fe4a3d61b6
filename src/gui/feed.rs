//! One feed for every source the window shows: a capture file, a live interface, a live
//! client session. Each runs on its own thread, copies its events into owned batches and
//! sends them over a bounded channel (a full channel makes the source wait; the waits are
//! counted and shown), ending with one typed `FeedEnd`. `wake` is called after each batch so
//! the GUI repaints; this module knows no egui.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::analysis::event::{Event, EventSink};
pub use crate::analysis::event_batch::{Batch, OwnedEvent};
use crate::analysis::{Analyzer, AnalyzerConfig};
use crate::capture::live::{LIVE_TLS_KEY_GRACE_SECS, LiveOptions, LiveStats, run_live};
use crate::capture::{OfflineReader, ReadSummary};

/// Where a feed's events come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// A live capture on `interface`, recorded to `recording`.
    LiveCapture {
        interface: String,
        recording: PathBuf,
    },
    /// One of the connect window's sessions.
    ClientSession,
}

impl Source {
    /// How the status bar and the title name the source.
    pub fn label(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::LiveCapture { interface, .. } => format!("live: {interface}"),
            Source::ClientSession => "live connections".to_owned(),
        }
    }
}

/// How a feed ended.
#[derive(Debug)]
pub enum FeedEnd {
    /// The source ran to its end: a file read through (its summary says whether it was
    /// damaged), a session over (no summary).
    Finished(Option<ReadSummary>),
    /// Stopped on request (loading cancelled, capture stopped): what came before is kept.
    Stopped { packets: u64 },
    /// The source could not start or broke (the reason in words).
    Failed(String),
}

/// What a feed's thread sends.
#[derive(Debug)]
pub enum FeedMessage {
    Batch(Batch),
    End(FeedEnd),
}

/// What draining a feed found.
#[derive(Debug)]
pub enum Drained {
    /// The deadline came with batches still waiting.
    More,
    /// Nothing waiting now; the source is still running.
    Idle,
    /// The source is over (sent once).
    Ended(FeedEnd),
}

/// Shared counters of a running load.
#[derive(Debug, Default)]
pub struct LoadProgress {
    pub bytes_read: AtomicU64,
    pub total_bytes: AtomicU64,
    /// Times the loader found the channel full and had to wait for the GUI.
    pub full_channel_waits: AtomicU64,
}

/// A running source and the events on their way from it.
pub struct Feed {
    pub source: Source,
    rx: Receiver<FeedMessage>,
    pub progress: Arc<LoadProgress>,
    /// Set for a live capture: its counters.
    pub live: Option<Arc<LiveStats>>,
    cancel: Arc<AtomicBool>,
    /// The source's thread (a client session's thread belongs to its `LiveClient`).
    handle: Option<JoinHandle<()>>,
    ended: bool,
    /// Batches replayed so far (the flood benchmark reports it).
    pub batches: u64,
    /// Events replayed so far.
    pub events: u64,
}

/// Batches are sent at least this often, so the first results show up quickly.
const BATCH_INTERVAL: Duration = Duration::from_millis(50);
const BATCH_EVENTS: usize = 8192;
const BATCH_PAYLOAD_BYTES: usize = 4 << 20;
const CHANNEL_BATCHES: usize = 16;

struct BatchingSink {
    /// Send what is held at every `pause` (a person is watching a live session), not only
    /// when the batch is big or old.
    eager: bool,
    batch: Batch,
    last_send: Instant,
    tx: SyncSender<FeedMessage>,
    wake: Arc<dyn Fn() + Send + Sync>,
    progress: Arc<LoadProgress>,
    disconnected: bool,
}

impl BatchingSink {
    fn new(tx: SyncSender<FeedMessage>, wake: Arc<dyn Fn() + Send + Sync>, progress: Arc<LoadProgress>) -> Self {
        BatchingSink {
            eager: false,
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
        let message = match self.tx.try_send(FeedMessage::Batch(batch)) {
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

impl EventSink for BatchingSink {
    fn event(&mut self, event: Event<'_>) {
        self.batch.push(event);
        self.maybe_flush();
    }

    /// The source has nothing more for now: an eager sink passes on what it holds at once;
    /// otherwise only a batch older than `BATCH_INTERVAL` goes (a capture pausing between
    /// packets should not send one batch per packet).
    fn pause(&mut self) {
        if self.eager || self.last_send.elapsed() >= BATCH_INTERVAL {
            self.flush();
        }
    }
}

/// A live client session's sink: eager, and it ends the feed when dropped (the session is
/// over).
struct SessionSink {
    inner: BatchingSink,
    end_tx: SyncSender<FeedMessage>,
}

impl EventSink for SessionSink {
    fn event(&mut self, event: Event<'_>) {
        // Batches still go out when they are big or old, even inside one long read.
        self.inner.event(event);
    }

    fn pause(&mut self) {
        self.inner.pause();
    }
}

impl Drop for SessionSink {
    fn drop(&mut self) {
        self.inner.flush();
        let _ = self.end_tx.send(FeedMessage::End(FeedEnd::Finished(None)));
        (self.inner.wake)();
    }
}

impl Feed {
    fn new(source: Source, rx: Receiver<FeedMessage>, progress: Arc<LoadProgress>, cancel: Arc<AtomicBool>) -> Feed {
        Feed {
            source,
            rx,
            progress,
            live: None,
            cancel,
            handle: None,
            ended: false,
            batches: 0,
            events: 0,
        }
    }

    /// Starts reading the capture file at `path` on a thread named `capture-loader`.
    pub fn open_file(
        path: &Path,
        config: AnalyzerConfig,
        keylog: Option<PathBuf>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Feed> {
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        let progress = Arc::new(LoadProgress::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let thread_path = path.to_owned();
        let (thread_progress, thread_cancel) = (progress.clone(), cancel.clone());
        let handle = std::thread::Builder::new()
            .name("capture-loader".into())
            .spawn(move || {
                let end_tx = tx.clone();
                let end = read_file(
                    &thread_path,
                    config,
                    keylog.as_deref(),
                    tx,
                    wake.clone(),
                    thread_progress,
                    thread_cancel,
                );
                let _ = end_tx.send(FeedMessage::End(end));
                wake();
            })?;
        let mut feed = Feed::new(Source::File(path.to_owned()), rx, progress, cancel);
        feed.handle = Some(handle);
        Ok(feed)
    }

    /// Starts capturing live on a thread named `live-capture`; `stop` ends it.
    pub fn capture_live(
        options: LiveOptions,
        config: AnalyzerConfig,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Feed> {
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        let progress = Arc::new(LoadProgress::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(LiveStats::default());
        let (thread_progress, thread_cancel, thread_stats) = (progress.clone(), cancel.clone(), stats.clone());
        let source = Source::LiveCapture {
            interface: options.interface.clone(),
            recording: options.record_to.clone(),
        };
        let handle = std::thread::Builder::new().name("live-capture".into()).spawn(move || {
            let end_tx = tx.clone();
            let mut analyzer = Analyzer::new(AnalyzerConfig {
                tls_key_grace_secs: LIVE_TLS_KEY_GRACE_SECS,
                ..config
            });
            let mut sink = BatchingSink::new(tx, wake.clone(), thread_progress);
            let result = run_live(&options, &mut analyzer, &mut sink, &thread_stats, &thread_cancel);
            analyzer.finish(&mut sink);
            sink.flush();
            let end = match result {
                Ok(packets) => FeedEnd::Stopped { packets },
                Err(e) => FeedEnd::Failed(e),
            };
            let _ = end_tx.send(FeedMessage::End(end));
            wake();
        })?;
        let mut feed = Feed::new(source, rx, progress, cancel);
        feed.live = Some(stats);
        feed.handle = Some(handle);
        Ok(feed)
    }

    /// The feed of a live client session: the returned sink goes to the client's recorder,
    /// which calls `pause` after each tapped read or write (a person is waiting for it); the
    /// feed ends when the session is over and the sink dropped.
    pub fn client_session(wake: Arc<dyn Fn() + Send + Sync>) -> (Feed, Box<dyn EventSink + Send>) {
        let (tx, rx) = sync_channel(CHANNEL_BATCHES);
        let progress = Arc::new(LoadProgress::default());
        let mut inner = BatchingSink::new(tx.clone(), wake, progress.clone());
        inner.eager = true;
        let sink = SessionSink { inner, end_tx: tx };
        let feed = Feed::new(Source::ClientSession, rx, progress, Arc::new(AtomicBool::new(false)));
        (feed, Box::new(sink))
    }

    /// Asks the source to stop (loading cancelled, capture stopped); its end follows.
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// True once the feed's end has been drained.
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// Replays waiting batches into `sink` until `deadline`.
    pub fn drain(&mut self, sink: &mut dyn EventSink, deadline: Instant) -> Drained {
        if self.ended {
            return Drained::Idle;
        }
        loop {
            if Instant::now() >= deadline {
                return Drained::More;
            }
            match self.rx.try_recv() {
                Ok(FeedMessage::Batch(batch)) => {
                    self.batches += 1;
                    self.events += batch.events.len() as u64;
                    batch.replay(sink);
                }
                Ok(FeedMessage::End(end)) => {
                    self.ended = true;
                    return Drained::Ended(end);
                }
                Err(TryRecvError::Empty) => return Drained::Idle,
                Err(TryRecvError::Disconnected) => {
                    self.ended = true;
                    return Drained::Ended(FeedEnd::Failed("the source stopped unexpectedly".to_owned()));
                }
            }
        }
    }

    /// Fraction of the file read (0..=1).
    pub fn fraction(&self) -> f32 {
        let total = self.progress.total_bytes.load(Ordering::Relaxed).max(1);
        (self.progress.bytes_read.load(Ordering::Relaxed) as f64 / total as f64).clamp(0.0, 1.0) as f32
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop();
        let Some(handle) = self.handle.take() else {
            return;
        };
        // Keep draining so a source blocked on a full channel sees the stop and ends; a file
        // reader checks every 4096 packets. Bounded, so a stuck reader cannot hang the GUI.
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

#[allow(clippy::too_many_arguments)] // one thread's inputs, passed once
fn read_file(
    path: &Path,
    config: AnalyzerConfig,
    keylog: Option<&Path>,
    tx: SyncSender<FeedMessage>,
    wake: Arc<dyn Fn() + Send + Sync>,
    progress: Arc<LoadProgress>,
    cancel: Arc<AtomicBool>,
) -> FeedEnd {
    // A HAR (DevTools' "Save all as HAR", mitmproxy): connections and messages, no packets.
    if crate::capture::har::looks_like_har(path) {
        let har = match crate::capture::har::HarFile::open(path) {
            Ok(h) => h,
            Err(e) => return FeedEnd::Failed(format!("{}: {e}", path.display())),
        };
        let mut sink = BatchingSink::new(tx, wake, progress);
        har.replay(&mut sink);
        sink.flush();
        return FeedEnd::Finished(None);
    }
    let mut reader = match OfflineReader::open(path) {
        Ok(r) => r,
        Err(e) => return FeedEnd::Failed(e.to_string()),
    };
    progress.total_bytes.store(reader.file_len(), Ordering::Relaxed);
    let keys = match keylog.map(std::fs::read).transpose() {
        Ok(keys) => keys,
        Err(e) => {
            let shown = keylog.map(|k| k.display().to_string()).unwrap_or_default();
            return FeedEnd::Failed(format!("TLS key log {shown}: {e}"));
        }
    };
    // Workers only where they pay (`analyze`'s default rule: a large capture whose decode
    // is expensive, on three or more cores); the events arrive in the one-analyzer order.
    let threads = crate::capture::parallel::threads_for(
        path,
        reader.file_len(),
        crate::capture::ReaderKind::Auto,
        config,
        keys.as_deref(),
    );
    let mut analyzer = crate::capture::parallel::decoder(config, threads);
    if let Some(text) = &keys {
        analyzer.input().feed_keys(text);
    }
    let mut sink = BatchingSink::new(tx, wake, progress.clone());
    let summary = reader.run(analyzer.input(), &mut sink, &mut |bytes| {
        progress.bytes_read.store(bytes, Ordering::Relaxed);
        !cancel.load(Ordering::Relaxed)
    });
    if summary.cancelled {
        sink.flush();
        return FeedEnd::Stopped {
            packets: summary.packets,
        };
    }
    analyzer.finish(&mut sink);
    sink.flush();
    progress.bytes_read.store(reader.file_len(), Ordering::Relaxed);
    FeedEnd::Finished(Some(summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::event::RttSample;
    use crate::analysis::{Direction, Timestamp};

    /// Counts what a feed holds: (batches, events), without replaying.
    fn drain(feed: &Feed) -> (usize, usize) {
        let (mut batches, mut events) = (0, 0);
        while let Ok(FeedMessage::Batch(b)) = feed.rx.try_recv() {
            batches += 1;
            events += b.events.len();
        }
        (batches, events)
    }

    #[test]
    fn a_live_feed_passes_events_on_at_each_pause_in_few_batches() {
        let (feed, mut sink) = Feed::client_session(Arc::new(|| {}));
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
        let (batches, events) = drain(&feed);
        assert_eq!(events, 1000);
        assert!(batches < 100, "{batches} batches");
        // A single event is passed on at the next pause, with no more traffic after it.
        sink.event(Event::Rtt(sample(5000)));
        sink.pause();
        assert_eq!(drain(&feed), (1, 1));
        drop(sink);
        assert!(matches!(
            feed.rx.try_recv(),
            Ok(FeedMessage::End(FeedEnd::Finished(None)))
        ));
    }
}
