//! One open live connection's conversation: what it sends, its heartbeat pings and missed
//! pongs, and its closing handshake. The connection loop in `client` hands each wake-up to
//! one method here, which says whether the connection has ended.

use std::sync::atomic::{AtomicBool, Ordering};
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

/// How a connection ended: the words for the user, and whether it was a drop (no close
/// handshake), after which a reconnect may follow.
pub type Ended = (String, bool);

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
                    Some(sent) => (
                        format!("closed: framescope sent {sent}, the server answered {code}"),
                        false,
                    ),
                    None => (format!("closed by the server: {code}"), false),
                })
            }
            Some(Ok(Message::Pong(payload))) => {
                if self.awaiting.is_some_and(|(p, _)| payload.as_ref() == p) {
                    self.awaiting = None;
                }
                None
            }
            Some(Ok(_)) => None,
            Some(Err(e)) => Some((format!("connection lost: {e}"), true)),
            None => Some(("the server went away without a close frame".to_owned(), true)),
        }
    }

    /// Sends `message`; a failure ends the connection as a drop.
    async fn send(&mut self, message: Message) -> Option<Ended> {
        match self.write.send(message).await {
            Ok(()) => None,
            Err(e) => Some((format!("sending failed: {e}"), true)),
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
            None => return Some(("closed by framescope".to_owned(), false)),
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

    /// The regular look: a pong overdue (counted, and a close if so configured), a stop asked
    /// for, a close unanswered for too long.
    pub async fn check(&mut self, stop: &AtomicBool) -> Option<Ended> {
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
        if stop.load(Ordering::Relaxed) {
            return Some(("disconnected by framescope (no close handshake)".to_owned(), false));
        }
        if self.close_deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return Some((
                format!("the server did not answer the close within {CLOSE_GRACE:?}"),
                false,
            ));
        }
        None
    }
}
