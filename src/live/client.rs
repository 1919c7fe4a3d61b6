//! A live connection driven from outside (the window's connect panel and `framescope
//! connect`): a thread with its own runtime connects, sends what it is told, and reports its
//! state; every byte goes through the session recorder, so messages reach the caller's sink
//! as ordinary analyzer events. Stopping is a channel the worker awaits, never a polled flag.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::watch;

use crate::analysis::event::EventSink;
use crate::live::recorder::{Recording, SessionRecorder};
use crate::live::session::{ConnectError, ConnectOptions, connect};
use crate::live::talk::{Ended, Talk};
use crate::live::tap::TapObserver;

/// Something to send on the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCommand {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame with this code and reason; the connection ends once the server answers.
    Close(u16, String),
}

/// Where the connection is.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ClientState {
    #[default]
    Connecting,
    Open {
        local: SocketAddr,
        peer: SocketAddr,
        subprotocol: Option<String>,
    },
    /// Dropped; waiting `after` before reconnect attempt `attempt` of `of`.
    Reconnecting {
        attempt: u32,
        of: u32,
        after: Duration,
        why: String,
    },
    /// Ended; says how (a close exchange, the peer going away, an error).
    Closed(String),
    /// Could not connect; the reason, worded for the user.
    Failed(String),
}

impl ClientState {
    pub fn is_open(&self) -> bool {
        matches!(self, ClientState::Open { .. })
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, ClientState::Closed(_) | ClientState::Failed(_))
    }
}

/// Something that happened to a session between its connections, for the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionMarkKind {
    /// The connection was lost without a close handshake.
    Dropped(String),
    /// Reconnect attempt `attempt` of `of` started (after its backoff wait).
    Attempt { attempt: u32, of: u32 },
    /// An attempt did not connect.
    AttemptFailed(String),
    /// An attempt connected: the gap since the drop is over.
    Reconnected,
    /// The last attempt failed; the session is over.
    GaveUp,
}

/// A [`SessionMarkKind`] and when it happened (the clock of the recorded packets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionMark {
    pub at: crate::analysis::Timestamp,
    pub kind: SessionMarkKind,
}

/// Keep-alive pings and what to do when a pong does not come back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heartbeat {
    pub every: Duration,
    /// A ping unanswered this long counts as a missed pong.
    pub pong_timeout: Duration,
    /// Close the connection (1001, "pong timeout") at the first missed pong.
    pub close_on_miss: bool,
}

/// Reconnecting after a drop: waits grow from `base` doubling up to `max`, each drawn at
/// random between half and all of that ("equal jitter"), so many clients do not come back
/// in step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reconnect {
    pub base: Duration,
    pub max: Duration,
    /// Attempts after a drop before giving up.
    pub attempts: u32,
}

impl Reconnect {
    /// The wait before attempt `attempt` (from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max);
        ceiling / 2 + ceiling.mul_f64(jitter() / 2.0)
    }
}

/// A number in [0, 1) that differs between calls. std's `RandomState` is randomly keyed per
/// instance, which is all jitter needs; not worth a dependency on `rand`.
fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The recorder a session's tap feeds, kept across reconnects; what it is built from until
/// the first connection.
struct RecorderSlot {
    sink: Option<Box<dyn EventSink + Send>>,
    recording: Option<Recording>,
    recorder: Option<Arc<Mutex<SessionRecorder>>>,
    secrets: Vec<String>,
}

/// How a live session runs, besides what to connect to.
#[derive(Default)]
pub struct SessionOptions {
    pub heartbeat: Option<Heartbeat>,
    pub reconnect: Option<Reconnect>,
    /// Header values blanked (`*`) in what is recorded and analysed.
    pub secrets: Vec<String>,
    /// Where the session's packets are written as pcapng.
    pub recording: Option<Recording>,
}

/// Counters the worker keeps for whoever shows the session.
#[derive(Debug, Default)]
pub struct ClientCounters {
    pub heartbeat_pings: AtomicU32,
    pub missed_pongs: AtomicU32,
    pub reconnects: AtomicU32,
    /// Connections whose bytes reached the recorder (TCP connected, TLS done): a session
    /// with none has nothing worth saving.
    pub recorded_connections: AtomicU32,
}

/// A connection running on its own thread. Dropping it ends the connection.
pub struct LiveClient {
    commands: UnboundedSender<ClientCommand>,
    state: Arc<Mutex<ClientState>>,
    pub counters: Arc<ClientCounters>,
    marks: Arc<Mutex<Vec<SessionMark>>>,
    /// How the session ended, once it has.
    outcome: Arc<Mutex<Option<Outcome>>>,
    /// Sending `true` (or dropping it) stops the worker at its next await.
    stop: watch::Sender<bool>,
    handle: Option<JoinHandle<()>>,
}

/// How a session ended for good, in more detail than its final `ClientState`.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub ended: Ended,
    /// Why the last attempt could not connect, when it could not (for a front end's own hint).
    pub connect_error: Option<ConnectError>,
}

impl LiveClient {
    /// Starts connecting. `sink` gets the session's analyzer events; `changed` is called
    /// whenever the state changes (to wake a GUI).
    pub fn start(
        options: ConnectOptions,
        session: SessionOptions,
        sink: Box<dyn EventSink + Send>,
        changed: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<LiveClient> {
        let (tx, rx) = unbounded_channel();
        let state = Arc::new(Mutex::new(ClientState::Connecting));
        let (stop, stop_rx) = watch::channel(false);
        let counters = Arc::new(ClientCounters::default());
        let marks = Arc::new(Mutex::new(Vec::new()));
        let outcome = Arc::new(Mutex::new(None));
        let (thread_state, thread_counters, thread_marks, thread_outcome) =
            (state.clone(), counters.clone(), marks.clone(), outcome.clone());
        let handle = std::thread::Builder::new().name("live-client".into()).spawn(move || {
            let set = |s: ClientState| {
                if let Ok(mut guard) = thread_state.lock() {
                    *guard = s;
                }
                changed();
            };
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    set(ClientState::Failed(format!("cannot start the network runtime: {e}")));
                    return;
                }
            };
            let worker = Worker {
                counters: &thread_counters,
                marks: &thread_marks,
                set: &set,
            };
            let (end, how) = runtime.block_on(worker.run(options, session, sink, rx, stop_rx));
            if let Ok(mut o) = thread_outcome.lock() {
                *o = Some(how);
            }
            set(end);
        })?;
        Ok(LiveClient {
            commands: tx,
            state,
            counters,
            marks,
            outcome,
            stop,
            handle: Some(handle),
        })
    }

    /// Queues something to send; false once the connection has ended.
    pub fn send(&self, command: ClientCommand) -> bool {
        self.commands.send(command).is_ok()
    }

    pub fn state(&self) -> ClientState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Drops, reconnect attempts and reconnections so far, oldest first.
    pub fn marks(&self) -> Vec<SessionMark> {
        self.marks.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// How the session ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome.lock().ok().and_then(|o| o.clone())
    }

    /// Drops the connection without a close handshake (use `Close` for a clean end).
    pub fn abort(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for LiveClient {
    fn drop(&mut self) {
        self.abort();
        if let Some(handle) = self.handle.take() {
            // The worker awaits the stop channel wherever it waits, so this join is prompt.
            let _ = handle.join();
        }
    }
}

/// What the worker thread shares with the handle.
struct Worker<'a> {
    counters: &'a ClientCounters,
    marks: &'a Mutex<Vec<SessionMark>>,
    set: &'a dyn Fn(ClientState),
}

impl Worker<'_> {
    fn mark(&self, kind: SessionMarkKind) {
        if let Ok(mut marks) = self.marks.lock() {
            marks.push(SessionMark {
                at: crate::live::tap::now(),
                kind,
            });
        }
    }

    /// Runs sessions until one ends for good: after a drop (no close handshake) it reconnects
    /// as `session.reconnect` says, each attempt and wait shown in the state.
    async fn run(
        &self,
        options: ConnectOptions,
        session: SessionOptions,
        sink: Box<dyn EventSink + Send>,
        mut commands: UnboundedReceiver<ClientCommand>,
        mut stop: watch::Receiver<bool>,
    ) -> (ClientState, Outcome) {
        let mut slot = RecorderSlot {
            sink: Some(sink),
            recording: session.recording,
            recorder: None,
            secrets: session.secrets,
        };
        // Attempts since the last successful connection (a reconnect starts the count again).
        let mut attempt = 0u32;
        let mut was_open = false;
        let end = loop {
            let end = self
                .session(
                    &options,
                    session.heartbeat,
                    &mut commands,
                    &mut stop,
                    &mut slot,
                    &mut was_open,
                )
                .await;
            let reconnecting = end.ended.dropped && was_open && session.reconnect.is_some();
            if reconnecting {
                if end.opened {
                    attempt = 0;
                    self.mark(SessionMarkKind::Dropped(end.ended.how.clone()));
                } else {
                    self.mark(SessionMarkKind::AttemptFailed(end.ended.how.clone()));
                }
            }
            let policy = match session.reconnect {
                Some(p) if reconnecting && attempt < p.attempts => p,
                _ => {
                    if reconnecting {
                        self.mark(SessionMarkKind::GaveUp);
                    }
                    break end;
                }
            };
            attempt += 1;
            let wait = policy.delay(attempt);
            self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
            (self.set)(ClientState::Reconnecting {
                attempt,
                of: policy.attempts,
                after: wait,
                why: end.ended.how,
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped(&mut stop) => {
                    self.mark(SessionMarkKind::GaveUp);
                    finish(&slot.recorder);
                    let ended = Ended::closed("disconnected by framescope while waiting to reconnect");
                    let outcome = Outcome { ended: ended.clone(), connect_error: None };
                    return (ClientState::Closed(ended.how), outcome);
                }
            }
            self.mark(SessionMarkKind::Attempt {
                attempt,
                of: policy.attempts,
            });
        };
        finish(&slot.recorder);
        let outcome = Outcome {
            ended: end.ended.clone(),
            connect_error: end.connect_error,
        };
        let state = if was_open {
            ClientState::Closed(end.ended.how)
        } else {
            ClientState::Failed(end.ended.how)
        };
        (state, outcome)
    }

    /// One connection, from connecting to its end. `was_open`: some earlier connection of
    /// the session opened (this one is a reconnect); set when this one opens.
    async fn session(
        &self,
        options: &ConnectOptions,
        heartbeat: Option<Heartbeat>,
        commands: &mut UnboundedReceiver<ClientCommand>,
        stop: &mut watch::Receiver<bool>,
        slot: &mut RecorderSlot,
        was_open: &mut bool,
    ) -> SessionEnd {
        let not_opened = |ended: Ended, connect_error: Option<ConnectError>| SessionEnd {
            ended,
            opened: false,
            connect_error,
        };
        let set = self.set;
        set(ClientState::Connecting);
        // In a block so the connecting future (which borrows `slot`) is gone after.
        let connected = {
            let counters = self.counters;
            let connecting = connect(options, |local, peer| {
                counters.recorded_connections.fetch_add(1, Ordering::Relaxed);
                if let Some(existing) = &slot.recorder {
                    if let Ok(mut r) = existing.lock() {
                        r.reconnect(local, peer);
                    }
                    return existing.clone() as Arc<Mutex<dyn TapObserver>>;
                }
                let sink = slot
                    .sink
                    .take()
                    .unwrap_or_else(|| Box::new(crate::analysis::event::CollectSink::default()));
                let mut recorder = SessionRecorder::new(local, peer, sink, slot.recording.take());
                recorder.redact(slot.secrets.iter().map(|s| s.as_bytes().to_vec()).collect());
                let shared = Arc::new(Mutex::new(recorder));
                slot.recorder = Some(shared.clone());
                shared as Arc<Mutex<dyn TapObserver>>
            });
            tokio::select! {
                result = connecting => result,
                _ = stopped(stop) => return not_opened(Ended::closed("cancelled while connecting"), None),
            }
        };
        let connected = match connected {
            Ok(c) => c,
            // A failed reconnect attempt is a drop too: the next attempt may succeed.
            Err(e) => return not_opened(Ended::dropped(e.to_string()), Some(e)),
        };
        if *was_open {
            self.mark(SessionMarkKind::Reconnected);
        }
        *was_open = true;
        set(ClientState::Open {
            local: connected.local,
            peer: connected.peer,
            subprotocol: connected.subprotocol.clone(),
        });
        let (write, mut read) = connected.ws.split();
        let mut talk = Talk::new(write, heartbeat, self.counters);
        let ended = loop {
            let next_check = talk.next_check();
            let ended = tokio::select! {
                incoming = read.next() => talk.received(incoming),
                command = commands.recv(), if talk.takes_commands() => talk.command(command).await,
                _ = Talk::heartbeat_due(&mut talk.heartbeat), if talk.takes_commands() => talk.heartbeat_ping().await,
                _ = Talk::check_due(next_check) => talk.check().await,
                _ = stopped(stop) => Some(Ended::closed("disconnected by framescope (no close handshake)")),
            };
            if let Some(end) = ended {
                break end;
            }
        };
        let mut write = talk.write;
        // Let tungstenite finish a close exchange it started, then shut the socket down.
        let _ = tokio::time::timeout(Duration::from_millis(500), write.close()).await;
        drop(read);
        SessionEnd {
            ended,
            opened: true,
            connect_error: None,
        }
    }
}

/// Resolves once a stop is asked for (or the handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // `wait_for` also sees a stop sent before this await; an error means the sender is gone.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// How one connection of a session ended.
struct SessionEnd {
    ended: Ended,
    /// The connection opened before it ended.
    opened: bool,
    connect_error: Option<ConnectError>,
}

fn finish(recorder: &Option<Arc<Mutex<SessionRecorder>>>) {
    if let Some(r) = recorder
        && let Ok(mut r) = r.lock()
    {
        r.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_waits_double_within_jitter_up_to_the_cap() {
        let policy = Reconnect {
            base: Duration::from_millis(200),
            max: Duration::from_secs(1),
            attempts: 10,
        };
        for _ in 0..50 {
            for (attempt, ceiling_ms) in [(1, 200), (2, 400), (3, 800), (4, 1000), (9, 1000), (40, 1000)] {
                let d = policy.delay(attempt).as_secs_f64() * 1000.0;
                let c = ceiling_ms as f64;
                assert!(d >= c / 2.0 - 0.001 && d <= c + 0.001, "attempt {attempt}: {d} ms");
            }
        }
        // Jitter really varies.
        let waits: std::collections::HashSet<u128> = (0..20).map(|_| policy.delay(3).as_nanos()).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }
}
