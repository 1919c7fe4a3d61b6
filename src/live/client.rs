//! A live connection driven from outside (the window's connect panel): a thread with its own
//! runtime connects, sends what it is told, and reports its state; every byte goes through the
//! session recorder, so messages reach the caller's sink as ordinary analyzer events.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::analysis::event::EventSink;
use crate::live::recorder::SessionRecorder;
use crate::live::session::{ConnectOptions, connect};
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

/// A connection running on its own thread. Dropping it ends the connection.
pub struct LiveClient {
    commands: UnboundedSender<ClientCommand>,
    state: Arc<Mutex<ClientState>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// How often the worker looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// How long a close handshake may take before the socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

impl LiveClient {
    /// Starts connecting. `sink` gets the session's analyzer events; `changed` is called
    /// whenever the state changes (to wake a GUI).
    pub fn start(
        options: ConnectOptions,
        sink: Box<dyn EventSink + Send>,
        changed: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<LiveClient> {
        let (tx, rx) = unbounded_channel();
        let state = Arc::new(Mutex::new(ClientState::Connecting));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_state, thread_stop) = (state.clone(), stop.clone());
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
            let end = runtime.block_on(run(options, sink, rx, &thread_stop, &set));
            set(end);
        })?;
        Ok(LiveClient {
            commands: tx,
            state,
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

    /// Drops the connection without a close handshake (use `Close` for a clean end).
    pub fn abort(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for LiveClient {
    fn drop(&mut self) {
        self.abort();
        if let Some(handle) = self.handle.take() {
            // The worker looks at the flag every STOP_POLL; connecting is bounded by the
            // connect timeout, so this join is too.
            let _ = handle.join();
        }
    }
}

async fn run(
    options: ConnectOptions,
    sink: Box<dyn EventSink + Send>,
    mut commands: UnboundedReceiver<ClientCommand>,
    stop: &AtomicBool,
    set: &dyn Fn(ClientState),
) -> ClientState {
    let mut sink = Some(sink);
    let mut recorder: Option<Arc<Mutex<SessionRecorder>>> = None;
    let mut poll = tokio::time::interval(STOP_POLL);
    // In a block so the connecting future (which borrows `recorder`) is gone after.
    let connected = {
        let connecting = connect(&options, |local, peer| {
            let sink = sink
                .take()
                .unwrap_or_else(|| Box::new(crate::analysis::event::CollectSink::default()));
            let shared = Arc::new(Mutex::new(SessionRecorder::new(local, peer, sink, None)));
            recorder = Some(shared.clone());
            shared as Arc<Mutex<dyn TapObserver>>
        });
        tokio::pin!(connecting);
        loop {
            tokio::select! {
                result = &mut connecting => break result,
                _ = poll.tick() => if stop.load(Ordering::Relaxed) {
                    return ClientState::Closed("cancelled while connecting".to_owned());
                },
            }
        }
    };
    let connected = match connected {
        Ok(c) => c,
        Err(e) => {
            finish(&recorder);
            return ClientState::Failed(e.to_string());
        }
    };
    set(ClientState::Open {
        local: connected.local,
        peer: connected.peer,
        subprotocol: connected.subprotocol.clone(),
    });
    let (mut write, mut read) = connected.ws.split();
    let mut close_deadline: Option<tokio::time::Instant> = None;
    let end = loop {
        tokio::select! {
            incoming = read.next() => match incoming {
                Some(Ok(Message::Close(frame))) => {
                    break match frame {
                        Some(f) => format!("closed by the server: {} {}", u16::from(f.code), f.reason),
                        None => "closed by the server (no status code)".to_owned(),
                    };
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("connection lost: {e}"),
                None => break "the server went away without a close frame".to_owned(),
            },
            command = commands.recv(), if close_deadline.is_none() => {
                let Some(command) = command else {
                    break "closed by framescope".to_owned();
                };
                let message = match command {
                    ClientCommand::Text(t) => Message::text(t),
                    ClientCommand::Binary(b) => Message::binary(b),
                    ClientCommand::Ping(p) => Message::Ping(p.into()),
                    ClientCommand::Pong(p) => Message::Pong(p.into()),
                    ClientCommand::Close(code, reason) => {
                        close_deadline = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                        Message::Close(Some(CloseFrame { code: code.into(), reason: reason.into() }))
                    }
                };
                if let Err(e) = write.send(message).await {
                    break format!("sending failed: {e}");
                }
            },
            _ = poll.tick() => {
                if stop.load(Ordering::Relaxed) {
                    break "disconnected by framescope (no close handshake)".to_owned();
                }
                if close_deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    break format!("the server did not answer the close within {CLOSE_GRACE:?}");
                }
            },
        }
    };
    // Let tungstenite finish a close exchange it started, then shut the socket down.
    let _ = tokio::time::timeout(Duration::from_millis(500), write.close()).await;
    drop(read);
    finish(&recorder);
    ClientState::Closed(end)
}

fn finish(recorder: &Option<Arc<Mutex<SessionRecorder>>>) {
    if let Some(r) = recorder
        && let Ok(mut r) = r.lock()
    {
        r.finish();
    }
}
