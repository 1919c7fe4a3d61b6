//! `framescope test --from CAPTURE`: a session recorded against the correct chat server
//! becomes a scenario that passes against a fresh correct server and fails against a faulty
//! one; pcapng and HAR give the same steps. Also the command's usage errors (exit 2).

mod common;
mod scenario_support;

use framescope::scenario::load;
use framescope::scenario::model::Step;
use scenario_support::*;

fn steps_after_header(ron: &str) -> String {
    // Name and url differ between sources; the steps must not.
    ron.lines()
        .filter(|l| !l.trim_start().starts_with("name:") && !l.trim_start().starts_with("url:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_recorded_chat_session_replays_against_correct_and_faulty_servers() {
    if !have_python_websockets() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("run.pcapng");
    {
        let server = ChatServer::start(None);
        let out = framescope(&[
            "test",
            path_str(&chat_ron()),
            "--url",
            &server.url(),
            "--record",
            path_str(&record),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    }
    // Alice's connection is the 4th (the three auth checks come first).
    let alice = dir.path().join("alice.ron");
    let out = framescope(&[
        "test",
        "--from",
        path_str(&record),
        "--conn",
        "3",
        "--out",
        path_str(&alice),
        "--timing",
        "fast",
        "--vary",
        "json.seq",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let s = load::load(&alice, &[]).expect("the generated scenario loads");
    let sends: Vec<&Step> = s.steps.iter().filter(|st| matches!(st, Step::Send(_))).collect();
    let expects: Vec<&Step> = s.steps.iter().filter(|st| matches!(st, Step::Expect(_))).collect();
    // auth, 3 subscribes, 1 + 50 + 1 + 2 + 2 messages; the server's answer to each.
    assert_eq!((sends.len(), expects.len()), (60, 60));
    assert!(matches!(s.steps.first(), Some(Step::Connect(_))));
    match s.steps.last() {
        Some(Step::Close(c)) => assert_eq!((c.code, c.reason.as_str()), (1000, "bye")),
        other => panic!("{other:?}"),
    }
    match expects.get(2) {
        Some(Step::Expect(e)) => {
            assert_eq!(
                e.json,
                Some(serde_json::json!({"type": "ack", "room": "room:lobby", "seq": 1}))
            );
            assert!(e.exact);
            assert_eq!(e.ignore, vec!["seq".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
    match sends.first() {
        Some(Step::Send(send)) => assert_eq!(send.text.as_deref(), Some(r#"{"type":"auth","token":"alice-token"}"#)),
        other => panic!("{other:?}"),
    }

    // The same connection exported as HAR gives the same steps.
    let har = dir.path().join("run.har");
    let out = framescope(&["analyze", path_str(&record), "--har", path_str(&har)]);
    assert_eq!(out.status.code(), Some(0));
    let from_har = dir.path().join("alice-har.ron");
    let out = framescope(&[
        "test",
        "--from",
        path_str(&har),
        "--conn",
        "3",
        "--out",
        path_str(&from_har),
        "--timing",
        "fast",
        "--vary",
        "seq",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let a = std::fs::read_to_string(&alice).expect("ron");
    let b = std::fs::read_to_string(&from_har).expect("ron");
    assert_eq!(steps_after_header(&a), steps_after_header(&b));

    let correct = ChatServer::start(None);
    let out = framescope(&["test", path_str(&alice), "--url", &correct.url()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("122 steps passed, 0 failed"), "{stdout}");

    let report = dir.path().join("r.json");
    let faulty = ChatServer::start(Some("no-ack"));
    let out = framescope(&[
        "test",
        path_str(&alice),
        "--url",
        &faulty.url(),
        "--report",
        path_str(&report),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let (path, title, detail) = first_failure(&r).expect("a failure");
    // Step 7 expects the first ack: connect, auth + ok, subscribe + ok, message, ack.
    assert_eq!(path, "7", "{title}: {detail}");
    assert!(title.contains(r#""type":"ack""#), "{title}");
    assert!(detail.starts_with("no matching message within 2000 ms"), "{detail}");
}

#[test]
fn replay_timing_keeps_the_captured_gaps_scaled() {
    if !have_python_websockets() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("run.pcapng");
    {
        let server = ChatServer::start(None);
        let out = framescope(&[
            "test",
            path_str(&chat_ron()),
            "--url",
            &server.url(),
            "--record",
            path_str(&record),
        ]);
        assert_eq!(out.status.code(), Some(0));
    }
    let sleeps = |timing: &str| -> u64 {
        let out_path = dir.path().join(format!("{}.ron", timing.replace(':', "_")));
        let out = framescope(&[
            "test",
            "--from",
            path_str(&record),
            "--conn",
            "3",
            "--out",
            path_str(&out_path),
            "--timing",
            timing,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let s = load::load(&out_path, &[]).expect("loads");
        s.steps
            .iter()
            .map(|st| match st {
                Step::Sleep(sl) => sl.ms,
                _ => 0,
            })
            .sum()
    };
    // Alice waited through the 300 ms silences and the 200 ms after B left: at least 1.1 s
    // between her messages in all.
    let original = sleeps("original");
    assert!(original >= 1100, "{original}");
    let half = sleeps("scaled:0.5");
    assert!(half.abs_diff(original / 2) <= 30, "{half} vs {original}");
    assert_eq!(sleeps("fast"), 0);
}

#[test]
fn usage_and_file_errors_exit_2_with_a_short_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.ron");
    std::fs::write(
        &bad,
        "Scenario(\n  clients: {\"a\": ()},\n  steps: [Sned(client: \"a\")],\n)",
    )
    .expect("write");
    let out = framescope(&["test", path_str(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with(&format!("framescope: {}:3:", bad.display())), "{err}");
    assert!(err.contains("Sned"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    std::fs::write(&bad, "Scenario(clients: {\"a\": ()}, steps: [Connect(client: \"b\")])").expect("write");
    let out = framescope(&["test", path_str(&bad), "--url", "ws://127.0.0.1:9/"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "framescope: step 1 (Connect): no client named 'b' (clients: a)"
    );

    let out = framescope(&["test", path_str(&dir.path().join("missing.ron"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));

    let out = framescope(&["test", path_str(&chat_ron()), "--url", "http://x/"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    let out = framescope(&[
        "test",
        "--from",
        path_str(&chat_ron()),
        "--out",
        path_str(&dir.path().join("o.ron")),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_server_that_is_not_there_fails_the_connect_step_not_the_command() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("r.json");
    let out = framescope(&[
        "test",
        path_str(&chat_ron()),
        "--url",
        &format!("ws://127.0.0.1:{port}/"),
        "--report",
        path_str(&report),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let (path, _, detail) = first_failure(&r).expect("failure");
    assert_eq!(path, "1.1");
    assert_eq!(
        detail,
        format!("connection to 127.0.0.1:{port} refused: nothing is listening there")
    );
}
