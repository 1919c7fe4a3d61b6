//! How a live session keeps up with a server that floods: a tokio-tungstenite server on
//! 127.0.0.1 sends N text messages as fast as it can to a `LiveClient`; its events go through
//! the window's feed (`gui::feed::Feed::client_session`) and are replayed into a `Store` the way the
//! window does, on a thread standing in for the GUI. Prints messages per second, the number
//! of batches (each one channel send and one wake-up), and how long after the server's last
//! send the last message was in the store.
//!
//! usage: cargo run --release --example live_flood_bench [MESSAGES] [BYTES]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use framescope::analysis::event::Renumber;
use framescope::gui::feed::{Drained, Feed};
use framescope::live::client::{ClientState, LiveClient, SessionOptions};
use framescope::live::session::{ConnectOptions, TlsOptions};
use framescope::live::target::parse_target;
use framescope::store::Store;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);

    let (port_tx, port_rx) = mpsc::channel();
    let (sent_tx, sent_rx) = mpsc::channel::<Instant>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            port_tx.send(listener.local_addr().expect("addr").port()).expect("port");
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
            let text = "x".repeat(size);
            for _ in 0..count {
                ws.feed(Message::text(text.clone())).await.expect("feed");
            }
            ws.flush().await.expect("flush");
            sent_tx.send(Instant::now()).expect("sent");
            // Keep the connection until the client closes it.
            while let Some(Ok(_)) = ws.next().await {}
        });
    });
    let port = port_rx.recv().expect("port");

    let wakes = Arc::new(AtomicU64::new(0));
    let counter = wakes.clone();
    let (mut feed, sink) = Feed::client_session(Arc::new(move || {
        counter.fetch_add(1, Ordering::Relaxed);
    }));
    let options = ConnectOptions {
        target: parse_target(&format!("ws://127.0.0.1:{port}/flood")).expect("url"),
        headers: Vec::new(),
        subprotocols: Vec::new(),
        origin: None,
        timeout: Duration::from_secs(5),
        tls: TlsOptions::default(),
    };
    let started = Instant::now();
    let client = LiveClient::start(options, SessionOptions::default(), sink, Arc::new(|| {})).expect("start");

    // The stand-in for the GUI: replay every batch into the store.
    let mut store = Store::with_payload_budget(1 << 30);
    let mut map = Vec::new();
    let mut last_in_store = None;
    while (store.messages.len() as u64) < count && started.elapsed() < Duration::from_secs(120) {
        let next = store.connections.len() as u32;
        let before = feed.batches;
        let mut renumber = Renumber {
            inner: &mut store,
            map: &mut map,
            next,
        };
        match feed.drain(&mut renumber, Instant::now() + Duration::from_millis(100)) {
            Drained::Ended(_) => break,
            Drained::More => {}
            Drained::Idle => {
                if matches!(client.state(), ClientState::Failed(_)) {
                    eprintln!("failed: {:?}", client.state());
                    std::process::exit(1);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if feed.batches > before {
            last_in_store = Some(Instant::now());
        }
    }
    let (batches, events) = (feed.batches, feed.events);
    let elapsed = started.elapsed().as_secs_f64();
    let server_done = sent_rx.recv_timeout(Duration::from_secs(1)).ok();
    let lag = match (server_done, last_in_store) {
        (Some(s), Some(l)) => l.saturating_duration_since(s).as_secs_f64() * 1000.0,
        _ => f64::NAN,
    };
    let messages = store.messages.len();
    println!(
        "{messages} messages of {size} B in {elapsed:.2} s = {:.0} msg/s; {batches} batches ({:.1} events each), {} wake-ups; last message in the store {lag:.1} ms after the server's last send",
        messages as f64 / elapsed,
        events as f64 / batches.max(1) as f64,
        wakes.load(Ordering::Relaxed)
    );
    client.abort();
}
