//! Runs the selected cases one after the other against one server: each case on a fresh
//! connection (recorded as its own connection when `--record` is on), each bounded by its own
//! timeout, the whole run by another.

use std::time::{Duration, Instant};

use crate::analysis::http::extensions::{DeflateParams, Extension};
use crate::analysis::http::handshake::expected_accept;
use crate::analysis::ws::deflate::MessageDeflater;
use crate::analysis::ws::stream::Compression;
use crate::live::target::Target;
use crate::probe::cases::bulk::Bulk;
use crate::probe::cases::handshake::{Change, Check};
use crate::probe::cases::{Body, Case};
use crate::probe::script::{self, Ev, Script, Sender};
use crate::probe::wire::{self, Answer, Conn, Dial, Socket};
use crate::probe::{Behavior, CaseResult, CloseBehavior, Verdict, verdict};

/// The key every case sends (the RFC's sample; a fixed key keeps recordings comparable).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Changes to the standard upgrade request.
#[derive(Clone, Debug, Default)]
pub struct RequestSpec {
    pub change: Option<Change>,
    pub origin: Option<String>,
    pub extensions: Option<String>,
    /// Extra header lines (without CRLF).
    pub extra: Vec<String>,
}

/// The upgrade request's bytes. The case id travels in `X-Framescope-Case`, so each
/// recorded connection says which case it was.
pub fn request(target: &Target, case_id: &str, spec: &RequestSpec) -> Vec<u8> {
    let default_port = if target.secure { 443 } else { 80 };
    let host = if target.port == default_port {
        target.host.clone()
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let (method, version) = match spec.change {
        Some(Change::Post) => ("POST", "HTTP/1.1"),
        Some(Change::Http10) => ("GET", "HTTP/1.0"),
        _ => ("GET", "HTTP/1.1"),
    };
    let mut r = format!("{method} {} {version}\r\nHost: {host}\r\n", target.resource);
    if spec.change != Some(Change::NoUpgrade) {
        r.push_str("Upgrade: websocket\r\n");
    }
    r.push_str("Connection: Upgrade\r\n");
    match spec.change {
        Some(Change::NoKey) => {}
        Some(Change::BadKey) => r.push_str("Sec-WebSocket-Key: c2hvcnQta2V5\r\n"),
        _ => r.push_str(&format!("Sec-WebSocket-Key: {KEY}\r\n")),
    }
    match spec.change {
        Some(Change::NoVersion) => {}
        Some(Change::WrongVersion) => r.push_str("Sec-WebSocket-Version: 99\r\n"),
        _ => r.push_str("Sec-WebSocket-Version: 13\r\n"),
    }
    if let Some(o) = &spec.origin {
        r.push_str(&format!("Origin: {o}\r\n"));
    }
    if let Some(e) = &spec.extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    if let Some(auth) = target.basic_authorization() {
        r.push_str(&format!("Authorization: {auth}\r\n"));
    }
    if spec.change == Some(Change::Post) {
        r.push_str("Content-Length: 0\r\n");
    }
    r.push_str("User-Agent: framescope-probe\r\n");
    r.push_str(&format!("X-Framescope-Case: {case_id}\r\n"));
    for line in &spec.extra {
        r.push_str(line);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// Whether an answer is a valid upgrade: 101 and the right accept value.
fn upgraded(answer: &Answer) -> Result<(), String> {
    if answer.status != 101 {
        return Err(format!("the server answered {} instead of 101", answer.status));
    }
    match answer.header("Sec-WebSocket-Accept") {
        Some(v) if v.trim() == expected_accept(KEY) => Ok(()),
        Some(v) => Err(format!(
            "wrong Sec-WebSocket-Accept '{v}' (expected {})",
            expected_accept(KEY)
        )),
        None => Err("101 without Sec-WebSocket-Accept".to_owned()),
    }
}

/// What the server agreed to, for the decoder (its direction) and our deflater.
fn negotiated(answer: &Answer) -> Option<DeflateParams> {
    let values: Vec<&str> = answer
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .map(|(_, v)| v.as_str())
        .collect();
    DeflateParams::from_accepted(&Extension::parse_list(values))
}

async fn open(dial: &Dial, id: &str, spec: &RequestSpec) -> Result<(Socket, Answer), String> {
    let mut sock = wire::dial(dial, true).await?;
    let answer = wire::upgrade(&mut sock, &request(&dial.target, id, spec), dial.timeout).await?;
    Ok((sock, answer))
}

fn result(case: &Case, verdict: Verdict, close_code: Option<u16>, detail: String) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        category: case.category.name().to_owned(),
        description: case.description.clone(),
        verdict,
        close_code,
        detail,
        behavior: None,
        millis: 0,
    }
}

/// Runs one case within `cap`.
pub async fn run_case(dial: &Dial, case: &Case, cap: Duration) -> CaseResult {
    let started = Instant::now();
    let run = async {
        match &case.body {
            Body::Script(s) => run_script(dial, case, s, cap).await,
            Body::Lazy(make) => run_script(dial, case, &make(), cap).await,
            Body::Bulk(b) => run_bulk(dial, case, b).await,
            Body::Handshake(c) => run_handshake(dial, case, c).await,
        }
    };
    // The script bounds itself; this is the backstop for a server that stalls a write.
    let mut r = match tokio::time::timeout(cap + Duration::from_secs(3), run).await {
        Ok(r) => r,
        Err(_) => result(
            case,
            Verdict::Fail,
            None,
            format!("the case did not finish within {} s", cap.as_secs()),
        ),
    };
    r.millis = started.elapsed().as_millis() as u64;
    r
}

async fn run_script(dial: &Dial, case: &Case, s: &Script, cap: Duration) -> CaseResult {
    let (sock, answer) = match open(dial, &case.id, &RequestSpec::default()).await {
        Ok(x) => x,
        Err(e) => return result(case, Verdict::Fail, None, format!("no connection: {e}")),
    };
    if let Err(e) = upgraded(&answer) {
        return result(case, Verdict::Fail, None, format!("the upgrade failed: {e}"));
    }
    let mut conn = Conn::start(sock, answer.rest, Compression::NotNegotiated);
    let mut sender = Sender::new(None);
    let mut o = script::play(s, &mut conn, &mut sender, cap).await;
    let (behavior, close, mut detail) = script::judge(s, &mut o);
    let v = verdict(case.category, behavior, close);
    let closing = script::describe_close(s, &o, close);
    detail = [
        detail,
        closing,
        o.pong_mismatch.clone().unwrap_or_default(),
        o.findings.join("; "),
    ]
    .into_iter()
    .filter(|d| !d.is_empty())
    .collect::<Vec<_>>()
    .join("; ");
    let mut r = result(case, v, o.remote_code, detail);
    r.behavior = Some((behavior, close));
    r
}

/// 9.7/9.8 and 12/13: send one message, wait for its echo, compare, repeat.
async fn run_bulk(dial: &Dial, case: &Case, b: &Bulk) -> CaseResult {
    let spec = RequestSpec {
        extensions: b.offer.clone(),
        ..RequestSpec::default()
    };
    let (sock, answer) = match open(dial, &case.id, &spec).await {
        Ok(x) => x,
        Err(e) => return result(case, Verdict::Fail, None, format!("no connection: {e}")),
    };
    if let Err(e) = upgraded(&answer) {
        return result(case, Verdict::Fail, None, format!("the upgrade failed: {e}"));
    }
    let params = negotiated(&answer);
    if b.offer.is_some() && params.is_none() {
        let mut conn = Conn::start(sock, answer.rest, Compression::NotNegotiated);
        let mut sender = Sender::new(None);
        let _ = conn
            .write(&sender.frame_bytes(&script::Frame::new(8, script::close_payload(1000, b""))))
            .await;
        conn.shutdown().await;
        let mut r = result(
            case,
            Verdict::Unimplemented,
            None,
            "the server did not accept permessage-deflate".to_owned(),
        );
        r.behavior = Some((Behavior::Unimplemented, CloseBehavior::Ok));
        return r;
    }
    let (compression, deflater) = match &params {
        Some(p) => (
            Compression::Deflate {
                no_context_takeover: p.server_no_context_takeover,
            },
            Some(MessageDeflater::with_window_bits(
                6,
                p.client_no_context_takeover,
                p.client_max_window_bits.unwrap_or(15),
            )),
        ),
        None => (Compression::NotNegotiated, None),
    };
    let mut conn = Conn::start(sock, answer.rest, compression);
    let mut sender = Sender::new(deflater);
    let data = b.data.bytes();
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(b.wait_secs);
    let mut pos = 0usize;
    let mut failure = None;
    let mut remote_code = None;
    for n in 0..b.count {
        let msg: Vec<u8> = data.iter().cycle().skip(pos).take(b.len).copied().collect();
        pos = (pos + b.len) % data.len().max(1);
        let frag = if b.fragment == 0 { None } else { Some(b.fragment) };
        let frames = sender.message_frames(b.data.binary(), &msg, frag);
        let mut wrote = Ok(());
        for f in &frames {
            let bytes = sender.frame_bytes(f);
            wrote = conn.write(&bytes).await;
            if wrote.is_err() {
                break;
            }
        }
        if let Err(e) = wrote {
            failure = Some(format!("message {n}: write failed: {e}"));
            break;
        }
        // Wait for the echo (answering pings on the way).
        let echoed = loop {
            match tokio::time::timeout_at(deadline, conn.events.recv()).await {
                Err(_) => break Err(format!("no echo of message {n} within {} s", b.wait_secs)),
                Ok(None) => break Err(format!("the server closed TCP before echoing message {n}")),
                Ok(Some(wire::Incoming::Ended(e))) => break Err(format!("message {n}: {e}")),
                Ok(Some(wire::Incoming::Finding(slug, d))) => {
                    break Err(format!("message {n}: the server's frame broke a rule: {slug}: {d}"));
                }
                Ok(Some(wire::Incoming::Message(m))) => match m.opcode {
                    crate::analysis::ws::frame::OpCode::Text | crate::analysis::ws::frame::OpCode::Binary => {
                        break Ok(Ev::Message {
                            binary: m.opcode == crate::analysis::ws::frame::OpCode::Binary,
                            payload: m.payload,
                        });
                    }
                    crate::analysis::ws::frame::OpCode::Close => {
                        remote_code = m.close_code;
                        break Err(format!(
                            "the server closed (code {:?}) before echoing message {n}",
                            m.close_code
                        ));
                    }
                    crate::analysis::ws::frame::OpCode::Ping => {
                        let _ = conn
                            .write(&sender.frame_bytes(&script::Frame::new(10, m.payload)))
                            .await;
                    }
                    _ => {}
                },
            }
        };
        match echoed {
            Ok(Ev::Message { binary, payload }) if binary == b.data.binary() && payload == msg => {}
            Ok(Ev::Message { binary, payload }) => {
                failure = Some(format!(
                    "echo of message {n} differs: got {} of {} bytes, sent {} of {}",
                    if binary { "binary" } else { "text" },
                    payload.len(),
                    if b.data.binary() { "binary" } else { "text" },
                    msg.len()
                ));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // Close normally and wait briefly for the answer.
    let _ = conn
        .write(&sender.frame_bytes(&script::Frame::new(8, script::close_payload(1000, b""))))
        .await;
    let until = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Some(ev)) = tokio::time::timeout_at(until, conn.events.recv()).await {
        match ev {
            wire::Incoming::Message(m) if m.opcode == crate::analysis::ws::frame::OpCode::Close => {
                remote_code = remote_code.or(m.close_code);
            }
            wire::Incoming::Ended(_) => break,
            _ => {}
        }
    }
    conn.shutdown().await;
    let neg = params
        .map(|p| {
            format!(
                "; agreed: server_no_context_takeover={} client_no_context_takeover={} client_max_window_bits={:?} server_max_window_bits={:?}",
                p.server_no_context_takeover, p.client_no_context_takeover, p.client_max_window_bits, p.server_max_window_bits
            )
        })
        .unwrap_or_default();
    let (v, behavior, detail) = match failure {
        None => (
            Verdict::Pass,
            Behavior::Ok,
            format!("{} messages echoed intact{neg}", b.count),
        ),
        Some(f) => (Verdict::Fail, Behavior::Failed, format!("{f}{neg}")),
    };
    let mut r = result(case, v, remote_code, detail);
    r.behavior = Some((behavior, CloseBehavior::Ok));
    r
}

async fn run_handshake(dial: &Dial, case: &Case, check: &Check) -> CaseResult {
    match check {
        Check::Baseline => match open(dial, &case.id, &RequestSpec::default()).await {
            Err(e) => result(case, Verdict::Fail, None, format!("no answer: {e}")),
            Ok((_, a)) => match upgraded(&a) {
                Ok(()) => result(
                    case,
                    Verdict::Pass,
                    None,
                    "101 with the right Sec-WebSocket-Accept".to_owned(),
                ),
                Err(e) => result(case, Verdict::Fail, None, e),
            },
        },
        Check::MustRefuse(change) => {
            let spec = RequestSpec {
                change: Some(*change),
                ..RequestSpec::default()
            };
            match open(dial, &case.id, &spec).await {
                Err(e) => result(case, Verdict::Pass, None, format!("refused: {e}")),
                Ok((_, a)) if a.status == 101 => {
                    // Breaking a MUST of RFC 6455 §4.2.1 fails; a SHOULD-level check is non-strict.
                    let v = match change {
                        Change::BadKey | Change::Http10 => Verdict::NonStrict,
                        _ => Verdict::Fail,
                    };
                    result(
                        case,
                        v,
                        None,
                        "the server upgraded the connection anyway (101)".to_owned(),
                    )
                }
                Ok((_, a)) => {
                    let named = a.header("Sec-WebSocket-Version").map(str::trim);
                    let detail = format!(
                        "refused with {}{}",
                        a.status,
                        named
                            .map(|v| format!(", Sec-WebSocket-Version: {v}"))
                            .unwrap_or_default()
                    );
                    let v = if *change == Change::WrongVersion
                        && !(a.status == 426 || named.is_some_and(|v| v.split(',').any(|x| x.trim() == "13")))
                    {
                        // RFC 6455 §4.4: the answer SHOULD name the versions it supports.
                        Verdict::NonStrict
                    } else {
                        Verdict::Pass
                    };
                    result(case, v, None, detail)
                }
            }
        }
        Check::ForeignOrigin => {
            let spec = RequestSpec {
                origin: Some("https://attacker.example".to_owned()),
                ..RequestSpec::default()
            };
            match open(dial, &case.id, &spec).await {
                Err(e) => result(case, Verdict::Pass, None, format!("refused: {e}")),
                Ok((_, a)) if a.status == 101 => result(
                    case,
                    Verdict::Info,
                    None,
                    "a foreign Origin was accepted: if the server relies on cookies or other ambient credentials, pages on any site can open this WebSocket as the user (cross-site WebSocket hijacking); check Origin against an allow-list".to_owned(),
                ),
                Ok((_, a)) => result(case, Verdict::Pass, None, format!("a foreign Origin was refused with {}", a.status)),
            }
        }
        Check::HugeHeaders(kib) => {
            let filler = "a".repeat(1000);
            let spec = RequestSpec {
                extra: (0..*kib).map(|i| format!("X-Filler-{i}: {filler}")).collect(),
                ..RequestSpec::default()
            };
            match open(dial, &case.id, &spec).await {
                Err(e) => result(case, Verdict::Pass, None, format!("refused: {e}")),
                Ok((_, a)) if a.status == 101 => result(
                    case,
                    Verdict::NonStrict,
                    None,
                    format!("a {kib} KiB header block was accepted: memory per handshake is unbounded or large"),
                ),
                Ok((_, a)) => result(case, Verdict::Pass, None, format!("refused with {}", a.status)),
            }
        }
        Check::ManyConnections(n) => {
            let mut tasks = Vec::new();
            for i in 0..*n {
                let d = dial.clone();
                let id = case.id.clone();
                tasks.push(tokio::spawn(async move {
                    // Only the first connection is recorded: a recording holds one at a time.
                    let mut sock = wire::dial(&d, i == 0).await?;
                    let a =
                        wire::upgrade(&mut sock, &request(&d.target, &id, &RequestSpec::default()), d.timeout).await?;
                    upgraded(&a)?;
                    // Hold it until all have tried.
                    Ok::<Socket, String>(sock)
                }));
            }
            let mut ok = 0;
            let mut errors = Vec::new();
            let mut held = Vec::new();
            for t in tasks {
                match t.await {
                    Ok(Ok(s)) => {
                        ok += 1;
                        held.push(s);
                    }
                    Ok(Err(e)) => errors.push(e),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            drop(held);
            let detail = if errors.is_empty() {
                format!("all {n} concurrent connections from one address were accepted (no per-client limit seen)")
            } else {
                format!(
                    "{ok} of {n} accepted; first refusal: {}",
                    errors.first().cloned().unwrap_or_default()
                )
            };
            result(case, Verdict::Info, None, detail)
        }
    }
}

/// What a run needs.
pub struct RunOptions {
    pub target: Target,
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub cases: Vec<Case>,
    /// Connect and upgrade timeout.
    pub connect_timeout: Duration,
    /// Most time one case may take (its own timers are shorter).
    pub case_timeout: Duration,
    /// Most time the whole run may take; cases not started by then are not run.
    pub total_timeout: Duration,
    pub recorder: Option<wire::SharedRecorder>,
}

/// Runs every case in order, calling `progress` after each; stops starting cases once the
/// run's time is up (the report says how many were skipped).
pub async fn run_all(opts: RunOptions, progress: &mut (dyn FnMut(&CaseResult) + Send)) -> (Vec<CaseResult>, usize) {
    let dial = Dial {
        target: opts.target,
        tls: opts.tls,
        timeout: opts.connect_timeout,
        recorder: opts.recorder.clone(),
    };
    let started = Instant::now();
    let mut out = Vec::with_capacity(opts.cases.len());
    let mut skipped = 0;
    for case in &opts.cases {
        if started.elapsed() >= opts.total_timeout {
            skipped += 1;
            continue;
        }
        let r = run_case(&dial, case, opts.case_timeout).await;
        progress(&r);
        out.push(r);
    }
    if let Some(r) = &opts.recorder
        && let Ok(mut g) = r.lock()
        && let Some(rec) = g.rec.as_mut()
    {
        rec.finish();
    }
    (out, skipped)
}
