//! A tokio-tungstenite echo server for `scripts/load-bench.sh`:
//! `cargo run --release --example load_echo_server -- PORT [DELAY_MS]` echoes every text or
//! binary message after DELAY_MS (0 by default), on 127.0.0.1.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(9400);
    let delay = Duration::from_millis(args.next().and_then(|d| d.parse().ok()).unwrap_or(0));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening {}", listener.local_addr()?.port());
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let (mut tx, mut rx) = ws.split();
                let (q, mut dq) = tokio::sync::mpsc::unbounded_channel();
                // Replies leave `delay` after their message arrived, in order, without
                // holding up reading.
                tokio::spawn(async move {
                    while let Some((at, m)) = dq.recv().await {
                        tokio::time::sleep_until(at).await;
                        if tx.send(m).await.is_err() {
                            break;
                        }
                    }
                });
                while let Some(Ok(m)) = rx.next().await {
                    if (m.is_text() || m.is_binary()) && q.send((tokio::time::Instant::now() + delay, m)).is_err() {
                        break;
                    }
                    // A close is answered by tungstenite itself, flushed as this loop reads on
                    // until the stream ends.
                }
            });
        }
    })
}
