//! `framescope load` against a tokio-tungstenite echo server on 127.0.0.1 that answers after
//! an injected delay: the counts are real and the round trips sit just above the delay.

use std::time::Duration;

use framescope::live::target::parse_target;
use framescope::load::{LoadOptions, Mode, run};
use futures_util::{SinkExt, StreamExt};

/// Echoes after `delay`; answers `{"id":N,…}` with `{"id":N,"ok":true}` when `reqresp`.
fn server(delay: Duration, reqresp: bool) -> u16 {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = std_listener.local_addr().unwrap().port();
    std_listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let (tx, mut rx) = ws.split();
                    let tx = std::sync::Arc::new(tokio::sync::Mutex::new(tx));
                    while let Some(Ok(m)) = rx.next().await {
                        if !m.is_text() {
                            continue;
                        }
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let reply = if reqresp {
                                let t = m.to_text().unwrap_or_default();
                                let id: String = t
                                    .trim_start_matches("{\"id\":")
                                    .chars()
                                    .take_while(|c| c.is_ascii_digit())
                                    .collect();
                                tungstenite::Message::text(format!("{{\"id\":{id},\"ok\":true}}"))
                            } else {
                                m
                            };
                            let _ = tx.lock().await.send(reply).await;
                        });
                    }
                });
            }
        });
    });
    port
}

fn opts(port: u16, mode: Mode) -> LoadOptions {
    LoadOptions {
        target: parse_target(&format!("ws://127.0.0.1:{port}/")).unwrap(),
        connections: 4,
        ramp_up: Duration::from_millis(200),
        duration: Duration::from_secs(2),
        rate: 20.0,
        size: 100,
        churn: 0.0,
        mode,
        connect_timeout: Duration::from_secs(5),
        live: false,
        tls: None,
        threads: 0,
    }
}

#[test]
fn echo_round_trips_are_the_injected_delay_plus_a_little() {
    let port = server(Duration::from_millis(20), false);
    let r = run(opts(port, Mode::Echo)).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.connections_opened, 4);
    assert_eq!(r.peak_open, 4);
    // 4 clients × 20 msg/s × ~2.1 s (ramp-up staggering): 150-180 messages.
    assert!((150..=180).contains(&r.messages_sent), "sent {}", r.messages_sent);
    // The last replies may still be on their way when the run stops.
    assert!(r.messages_received + 8 >= r.messages_sent && r.messages_received <= r.messages_sent);
    assert_eq!(r.rtt_ms.count, r.messages_received);
    assert!(r.rtt_ms.p50 >= 20.0 && r.rtt_ms.p50 < 25.0, "p50 {}", r.rtt_ms.p50);
    assert!(r.rtt_ms.p99 < 40.0, "p99 {}", r.rtt_ms.p99);
    assert_eq!(r.connect_ms.count, 4);
    assert_eq!(r.handshake_ms.count, 4);
}

#[test]
fn reqresp_matches_answers_by_id() {
    let port = server(Duration::from_millis(10), true);
    let r = run(opts(port, Mode::Reqresp)).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.messages_received >= 140);
    assert_eq!(r.rtt_ms.count, r.messages_received);
    assert!(r.rtt_ms.p50 >= 10.0 && r.rtt_ms.p50 < 15.0, "p50 {}", r.rtt_ms.p50);
}

#[test]
fn a_refused_port_is_counted_by_kind() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut o = opts(port, Mode::Echo);
    o.duration = Duration::from_millis(500);
    let r = run(o).unwrap();
    assert_eq!(r.connections_opened, 0);
    assert!(r.errors.get("refused").copied().unwrap_or(0) >= 4, "{:?}", r.errors);
}

#[test]
fn a_load_run_stops_early_when_cancelled_and_still_reports() {
    let port = server(Duration::ZERO, false);
    let mut o = opts(port, Mode::Echo);
    o.duration = Duration::from_secs(60);
    let cancel = framescope::load::Cancel::new();
    let stopper = cancel.clone();
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        stopper.cancel();
    });
    let r = framescope::load::run_until(o, &cancel).unwrap();
    let took = started.elapsed();
    assert!(r.stopped_early);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(r.seconds < 5.0, "{}", r.seconds);
    // About a second at 4 × 20 msg/s was measured before the stop.
    assert!((50..=130).contains(&r.messages_sent), "sent {}", r.messages_sent);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.text().contains("stopped before its end"));
}

#[test]
fn a_scenario_run_stops_early_when_cancelled() {
    use framescope::scenario::report::Status;
    use framescope::scenario::runner::{RunOptions, STOPPED, run_until};
    let port = server(Duration::ZERO, false);
    let scenario = framescope::scenario::load::parse(
        r#"Scenario(
    name: "long",
    clients: { "c": () },
    steps: [
        Connect(client: "c"),
        Send(client: "c", text: "hi"),
        Expect(client: "c", text: "hi"),
        Sleep(ms: 60000),
        Send(client: "c", text: "never"),
    ],
)"#,
    )
    .unwrap();
    let cancel = framescope::load::Cancel::new();
    let stopper = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let report = run_until(
        &scenario,
        RunOptions {
            url: Some(format!("ws://127.0.0.1:{port}/")),
            ..Default::default()
        },
        &cancel,
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(report.stopped_early && !report.passed);
    let statuses: Vec<Status> = report.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [Status::Pass, Status::Pass, Status::Pass, Status::Fail, Status::Skipped]
    );
    assert_eq!(report.steps[3].detail.as_deref(), Some(STOPPED));
    assert!(framescope::scenario::report::text(&report).contains("STOPPED"));
}

#[test]
fn a_cancelled_repeat_ends_at_the_iteration_that_was_running() {
    use framescope::scenario::report::Status;
    use framescope::scenario::runner::{RunOptions, STOPPED, run_until};
    let port = server(Duration::ZERO, false);
    let scenario = framescope::scenario::load::parse(
        r#"Scenario(
    name: "many",
    clients: { "c": () },
    steps: [
        Connect(client: "c"),
        Repeat(times: 1000000, steps: [
            Send(client: "c", text: "n${i}"),
            Expect(client: "c", text: "n${i}"),
            Sleep(ms: 20),
        ]),
        Send(client: "c", text: "never"),
    ],
)"#,
    )
    .unwrap();
    let cancel = framescope::load::Cancel::new();
    let stopper = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let report = run_until(
        &scenario,
        RunOptions {
            url: Some(format!("ws://127.0.0.1:{port}/")),
            ..Default::default()
        },
        &cancel,
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let repeat = &report.steps[1];
    assert_eq!(repeat.status, Status::Fail);
    // Some iterations passed before the stop; the last one listed is the one it cut short:
    // failed, with its running step stopped or (stopped between two steps) the rest skipped.
    let last = repeat.steps.last().expect("iterations");
    assert!(
        repeat.steps.len() >= 2 && repeat.steps.len() < 1000,
        "{}",
        repeat.steps.len()
    );
    assert!(repeat.steps.iter().rev().skip(1).all(|it| it.status == Status::Pass));
    assert_eq!(last.status, Status::Fail);
    assert!(
        last.steps
            .iter()
            .any(|s| s.detail.as_deref() == Some(STOPPED) || s.status == Status::Skipped),
        "{last:#?}"
    );
    assert_eq!(report.steps[2].status, Status::Skipped);
    assert!(report.stopped_early && !report.passed);
}
