//! One scripted client connection: the live client's `connect` (same TLS, headers, tap),
//! its bytes recorded into the run's shared [`PacketOut`], and a reader task that stamps
//! every message with its arrival time into a bounded inbox. `LiveClient` is shaped for a
//! person (a thread, commands in, state out); a script needs to await "the next message
//! within T", so this is a small async API beside it over the same pieces.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::live::recorder::{PacketOut, SessionRecorder};
use crate::live::session::{ConnectError, ConnectOptions, connect};
use crate::live::talk::WsWrite;
use crate::live::tap::TapObserver;
use crate::scenario::matcher::Msg;
use crate::scenario::report::MessageRef;

/// Messages held for a script that has not asked for them yet; past this the reader stops
/// reading (TCP pushes back on the server) instead of growing without bound.
const INBOX: usize = 65_536;

/// What the reader saw, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Received {
    Msg(Msg),
    /// The connection is over: `clean` after a close frame from the server, not after a
    /// drop (EOF or reset without one).
    Ended {
        clean: bool,
        why: String,
    },
}

/// `Received` and when it arrived.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub at: Instant,
    pub what: Received,
}

/// An open scripted connection.
pub struct ScriptConn {
    write: WsWrite,
    inbox: mpsc::Receiver<Incoming>,
    reader: tokio::task::JoinHandle<()>,
    recorder: Arc<Mutex<SessionRecorder>>,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub subprotocol: Option<String>,
    /// The connection has ended (what the reader said last).
    pub ended: Option<(bool, String)>,
    /// Messages handed out by `next` so far.
    read: u32,
    /// Messages sent by `send` so far.
    sent: u32,
    /// The last message `next` handed out (shared with the runner's client slot, which
    /// tells each step's result which message it read last).
    pub seen: Arc<Mutex<Option<MessageRef>>>,
}

/// Connects as `options` says, recording into `out` (blanking `secrets` in the request).
/// On a refused upgrade the exchange is still recorded.
pub async fn open(
    options: &ConnectOptions,
    secrets: &[String],
    out: &Arc<Mutex<PacketOut>>,
) -> Result<ScriptConn, ConnectError> {
    let mut made: Option<Arc<Mutex<SessionRecorder>>> = None;
    let result = connect(options, |local, peer| {
        let mut recorder = SessionRecorder::shared(local, peer, out.clone());
        recorder.redact(secrets.iter().map(|s| s.as_bytes().to_vec()).collect());
        let shared = Arc::new(Mutex::new(recorder));
        made = Some(shared.clone());
        shared as Arc<Mutex<dyn TapObserver>>
    })
    .await;
    let connected = match result {
        Ok(c) => c,
        Err(e) => {
            if let Some(r) = made
                && let Ok(mut r) = r.lock()
            {
                r.finish();
            }
            return Err(e);
        }
    };
    let Some(recorder) = made else {
        return Err(ConnectError::Request("connected without a recorder".into()));
    };
    let (write, mut read) = connected.ws.split();
    let (tx, inbox) = mpsc::channel(INBOX);
    let reader = tokio::spawn(async move {
        loop {
            let (what, last) = match read.next().await {
                Some(Ok(m)) => match m {
                    Message::Text(t) => (Received::Msg(Msg::Text(t.as_str().to_owned())), false),
                    Message::Binary(b) => (Received::Msg(Msg::Binary(b.to_vec())), false),
                    Message::Ping(b) => (Received::Msg(Msg::Ping(b.to_vec())), false),
                    Message::Pong(b) => (Received::Msg(Msg::Pong(b.to_vec())), false),
                    Message::Close(frame) => {
                        let (code, reason) = frame.map_or((None, String::new()), |f| {
                            (Some(u16::from(f.code)), f.reason.as_str().to_owned())
                        });
                        (Received::Msg(Msg::Close(code, reason)), false)
                    }
                    // Raw frames are never delivered when reading.
                    Message::Frame(_) => continue,
                },
                Some(Err(WsError::ConnectionClosed)) | None => (
                    Received::Ended {
                        clean: true,
                        why: "closed".into(),
                    },
                    true,
                ),
                Some(Err(e)) => (
                    Received::Ended {
                        clean: false,
                        why: describe_drop(&e),
                    },
                    true,
                ),
            };
            if tx
                .send(Incoming {
                    at: Instant::now(),
                    what,
                })
                .await
                .is_err()
                || last
            {
                break;
            }
        }
    });
    Ok(ScriptConn {
        write,
        inbox,
        reader,
        recorder,
        local: connected.local,
        peer: connected.peer,
        subprotocol: connected.subprotocol,
        ended: None,
        read: 0,
        sent: 0,
        seen: Arc::default(),
    })
}

/// A lost connection in words.
fn describe_drop(e: &WsError) -> String {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match e {
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the server closed the TCP connection without a close frame".into()
        }
        WsError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
            "the server reset the TCP connection (no close frame)".into()
        }
        WsError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the TCP connection without a close frame".into()
        }
        other => format!("the connection failed: {other}"),
    }
}

impl ScriptConn {
    /// Sends one message; the time it was handed to the socket.
    pub async fn send(&mut self, msg: Message) -> Result<Instant, String> {
        if let Some((_, why)) = &self.ended {
            return Err(format!("the connection has ended ({why})"));
        }
        self.write.send(msg).await.map_err(|e| format!("cannot send: {e}"))?;
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(MessageRef {
                client_port: self.local.port(),
                index: self.sent,
                sent: true,
            });
        }
        self.sent += 1;
        Ok(Instant::now())
    }

    /// Sends a close frame.
    pub async fn send_close(&mut self, code: u16, reason: &str) -> Result<(), String> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        self.send(Message::Close(Some(frame))).await.map(|_| ())
    }

    /// The next thing the reader saw, waiting until `deadline`; `None` on timeout. After the
    /// end, the end is returned again.
    pub async fn next(&mut self, deadline: tokio::time::Instant) -> Option<Incoming> {
        if let Some((clean, why)) = &self.ended {
            return Some(Incoming {
                at: Instant::now(),
                what: Received::Ended {
                    clean: *clean,
                    why: why.clone(),
                },
            });
        }
        // A server that never stops sending must not hold a step past its deadline (an
        // always-ready inbox would win every race with the timer).
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        let got = match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
            Ok(Some(incoming)) => incoming,
            // The reader is gone without saying why (cannot happen: it always sends an end).
            Ok(None) => Incoming {
                at: Instant::now(),
                what: Received::Ended {
                    clean: false,
                    why: "the connection ended".into(),
                },
            },
            Err(_) => return None,
        };
        match &got.what {
            Received::Ended { clean, why } => self.ended = Some((*clean, why.clone())),
            Received::Msg(_) => {
                if let Ok(mut seen) = self.seen.lock() {
                    *seen = Some(MessageRef {
                        client_port: self.local.port(),
                        index: self.read,
                        sent: false,
                    });
                }
                self.read += 1;
            }
        }
        Some(got)
    }

    /// Drops the connection without a close frame and records its end.
    pub async fn abort(mut self) {
        self.reader.abort();
        let _ = (&mut self.reader).await;
        drop(self.write);
        if let Ok(mut r) = self.recorder.lock() {
            r.finish();
        }
    }

    /// Ends a connection that is over or to be left: a short wait for a close exchange in
    /// progress, then the socket is dropped and the recording of it ended.
    pub async fn finish(mut self, grace: Duration) {
        let _ = tokio::time::timeout(grace, self.write.close()).await;
        let deadline = tokio::time::Instant::now() + grace;
        while self.ended.is_none() {
            if self.next(deadline).await.is_none() {
                break;
            }
        }
        self.abort().await;
    }
}
