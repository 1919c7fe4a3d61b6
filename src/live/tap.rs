//! A stream wrapper that reports every byte read and written, with the time it passed.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::analysis::{Direction, Timestamp};

/// Receives the tapped bytes: client-to-server for writes, server-to-client for reads.
pub trait TapObserver: Send {
    fn bytes(&mut self, dir: Direction, ts: Timestamp, data: &[u8]);
}

/// The current time, for tapped bytes (the analysis core takes time as data).
pub fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(i64::try_from(since.as_nanos()).unwrap_or(i64::MAX))
}

/// Wraps a transport (TCP, or TLS over TCP) below the WebSocket layer.
pub struct TapStream<S> {
    inner: S,
    observer: Arc<Mutex<dyn TapObserver>>,
}

impl<S> TapStream<S> {
    pub fn new(inner: S, observer: Arc<Mutex<dyn TapObserver>>) -> Self {
        TapStream { inner, observer }
    }

    fn report(&self, dir: Direction, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Ok(mut o) = self.observer.lock() {
            o.bytes(dir, now(), data);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TapStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &result {
            let fresh = buf.filled().get(before..).unwrap_or(&[]).to_vec();
            self.report(Direction::ServerToClient, &fresh);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TapStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &result {
            self.report(Direction::ClientToServer, data.get(..*n).unwrap_or(&[]));
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
