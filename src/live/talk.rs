//! One open live connection's conversation: what it sends, its heartbeat pings and missed
//! pongs, and its closing handshake. The connection loop in `client` hands each wake-up to
//! one method here, which says whether the connection has ended.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::analysis::ws::close::describe_close;
use crate::live::client::{ClientCommand, ClientCounters, Heartbeat};

/// How long a close handshake may take before the socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// The sending half of an open connection.
pub type WsWrite = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<crate::live::tap::TapStream<crate::live::session::Transport>>,
    Message,
>;

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// In words, for the user.
    pub how: String,
    /// Lost without a close handshake (or an attempt that did not connect): a reconnect may
    /// follow, and a command-line session exits with status 1.
    pub dropped: bool,
}

impl Ended {
    /// An orderly end: a close handshake, or framescope hanging up on request.
    pub fn closed(how: impl Into<String>) -> Ended {
        Ended {
            how: how.into(),
            dropped: false,
        }
    }

    /// The connection was lost.
    pub fn dropped(how: impl Into<String>) -> Ended {
        Ended {
            how: how.into(),
            dropped: true,
        }
    }
}

/// An open connection's conversation: what it sends, its heartbeat and its closing handshake.
/// Each method handles one kind of wake-up of the connection loop and says whether the
/// connection has ended.
pub struct Talk<'a> {
    pub write: WsWrite,
    pub heartbeat: Option<(Heartbeat, tokio::time::Interval)>,
    /// The heartbeat ping awaiting its pong: its payload and when it was sent.
    awaiting: Option<([u8; 8], tokio::time::Instant)>,
    heartbeat_seq: u32,
    /// The close framescope sent, if it started the closing handshake.
    we_closed: Option<String>,
    /// When the server's answer to our close is overdue.
    close_deadline: Option<tokio::time::Instant>,
    counters: &'a ClientCounters,
}

impl<'a> Talk<'a> {
    pub fn new(write: WsWrite, heartbeat: Option<Heartbeat>, counters: &'a ClientCounters) -> Self {
        let heartbeat = heartbeat.map(|h| {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + h.every, h.every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            (h, interval)
        });
        Talk {
            write,
            heartbeat,
            awaiting: None,
            heartbeat_seq: 0,
            we_closed: None,
            close_deadline: None,
            counters,
        }
    }

    /// Nothing more is sent once a close is on its way.
    pub fn takes_commands(&self) -> bool {
        self.close_deadline.is_none()
    }

    /// Resolves when the next heartbeat ping is due (never without a heartbeat).
    pub async fn heartbeat_due(heartbeat: &mut Option<(Heartbeat, tokio::time::Interval)>) {
        match heartbeat {
            Some((_, interval)) => {
                interval.tick().await;
            }
            None => std::future::pending::<()>().await,
        }
    }

    pub fn received(
        &mut self,
        incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Option<Ended> {
        match incoming {
            Some(Ok(Message::Close(frame))) => {
                let code = match frame {
                    Some(f) => describe_close(Some(u16::from(f.code)), &f.reason),
                    None => describe_close(None, ""),
                };
                Some(match &self.we_closed {
                    Some(sent) => Ended::closed(format!("framescope sent {sent}, the server answered {code}")),
                    None => Ended::closed(format!("closed by the server: {code}")),
                })
            }
            Some(Ok(Message::Pong(payload))) => {
                if self.awaiting.is_some_and(|(p, _)| payload.as_ref() == p) {
                    self.awaiting = None;
                }
                None
            }
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(Ended::dropped(format!("connection lost: {e}"))),
            None => Some(Ended::dropped("the server went away without a close frame")),
        }
    }

    /// Sends `message`; a failure ends the connection as a drop.
    async fn send(&mut self, message: Message) -> Option<Ended> {
        match self.write.send(message).await {
            Ok(()) => None,
            Err(e) => Some(Ended::dropped(format!("sending failed: {e}"))),
        }
    }

    /// Starts the closing handshake: the server has `CLOSE_GRACE` to answer.
    async fn close(&mut self, code: u16, reason: String) -> Option<Ended> {
        self.close_deadline = Some(tokio::time::Instant::now() + CLOSE_GRACE);
        self.we_closed = Some(describe_close(Some(code), &reason));
        self.send(Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        })))
        .await
    }

    pub async fn command(&mut self, command: Option<ClientCommand>) -> Option<Ended> {
        let message = match command {
            None => return Some(Ended::closed("closed by framescope")),
            Some(ClientCommand::Close(code, reason)) => return self.close(code, reason).await,
            Some(ClientCommand::Text(t)) => Message::text(t),
            Some(ClientCommand::Binary(b)) => Message::binary(b),
            Some(ClientCommand::Ping(p)) => Message::Ping(p.into()),
            Some(ClientCommand::Pong(p)) => Message::Pong(p.into()),
        };
        self.send(message).await
    }

    pub async fn heartbeat_ping(&mut self) -> Option<Ended> {
        self.heartbeat_seq = self.heartbeat_seq.wrapping_add(1);
        // "fshb" + a sequence number, so heartbeat pongs are told from the user's.
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(b"fshb");
        payload[4..].copy_from_slice(&self.heartbeat_seq.to_be_bytes());
        if self.awaiting.is_none() {
            self.awaiting = Some((payload, tokio::time::Instant::now()));
        }
        self.counters.heartbeat_pings.fetch_add(1, Ordering::Relaxed);
        self.send(Message::Ping(payload.to_vec().into())).await
    }

    /// When `check` has something to look at: a heartbeat pong or a close answer falling
    /// due. `None`: nothing is awaited.
    pub fn next_check(&self) -> Option<tokio::time::Instant> {
        let pong_due = match (&self.heartbeat, self.awaiting) {
            (Some((h, _)), Some((_, sent))) => Some(sent + h.pong_timeout),
            _ => None,
        };
        match (pong_due, self.close_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Resolves at `next_check` (never when nothing is awaited).
    pub async fn check_due(at: Option<tokio::time::Instant>) {
        match at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending::<()>().await,
        }
    }

    /// A pong overdue (counted, and a close if so configured), or a close unanswered for too
    /// long.
    pub async fn check(&mut self) -> Option<Ended> {
        if let (Some((h, _)), Some((_, sent))) = (&self.heartbeat, self.awaiting)
            && sent.elapsed() >= h.pong_timeout
        {
            let h = *h;
            self.awaiting = None;
            self.counters.missed_pongs.fetch_add(1, Ordering::Relaxed);
            if h.close_on_miss && self.takes_commands() {
                let reason = format!("no pong within {:?}", h.pong_timeout);
                if let Some(end) = self.close(1001, reason).await {
                    return Some(end);
                }
            }
        }
        if self.close_deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return Some(Ended::closed(format!(
                "the server did not answer the close within {CLOSE_GRACE:?}"
            )));
        }
        None
    }
}
