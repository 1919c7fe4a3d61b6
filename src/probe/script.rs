//! A case as the Autobahn testsuite writes one — what to send (frames, chops, waits), which
//! lists of received events count as OK or NON-STRICT, how the connection should end — and
//! the runner that plays it over a `wire::Conn` and judges the outcome with Autobahn's rules.
//!
//! About 640 lines on purpose: the case model, the player and the judge share the event list
//! they are written against; split apart, each would need the others to be read.

use std::time::Duration;

use tokio::time::Instant;

use crate::analysis::ws::builder::FrameSpec;
use crate::analysis::ws::deflate::MessageDeflater;
use crate::analysis::ws::frame::OpCode;
use crate::probe::wire::{Conn, Incoming};
use crate::probe::{Behavior, CloseBehavior};

/// What the probe saw, in Autobahn's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Message {
        binary: bool,
        payload: Vec<u8>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A wait ran out with the connection still open (Autobahn's `("timeout", "A")`).
    Timeout(&'static str),
}

impl Ev {
    pub fn text(s: &str) -> Ev {
        Ev::Message {
            binary: false,
            payload: s.as_bytes().to_vec(),
        }
    }
    pub fn binary(b: Vec<u8>) -> Ev {
        Ev::Message {
            binary: true,
            payload: b,
        }
    }
    fn short(&self) -> String {
        fn preview(p: &[u8]) -> String {
            let t = String::from_utf8_lossy(p.get(..p.len().min(24)).unwrap_or_default()).into_owned();
            if p.len() > 24 {
                format!("{t}… ({} bytes)", p.len())
            } else {
                t
            }
        }
        match self {
            Ev::Message { binary: false, payload } => format!("text '{}'", preview(payload)),
            Ev::Message { binary: true, payload } => format!("binary ({} bytes)", payload.len()),
            Ev::Ping(p) => format!("ping '{}'", preview(p)),
            Ev::Pong(p) => format!("pong '{}'", preview(p)),
            Ev::Timeout(m) => format!("timeout {m}"),
        }
    }
}

/// How a frame's bytes go onto the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chop {
    /// One write.
    Whole,
    /// One write, then a short pause, so the frame travels in its own segments.
    Sync,
    /// Writes of this many bytes.
    Bytes(usize),
}

/// One crafted frame.
#[derive(Clone, Debug)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
    pub chop: Chop,
    /// False sends it unmasked (a client must mask: the server should fail the connection).
    pub masked: bool,
}

impl Frame {
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Frame {
        Frame {
            fin: true,
            rsv: 0,
            opcode,
            payload: payload.into(),
            chop: Chop::Whole,
            masked: true,
        }
    }
    pub fn fin(mut self, fin: bool) -> Frame {
        self.fin = fin;
        self
    }
    pub fn rsv(mut self, rsv: u8) -> Frame {
        self.rsv = rsv;
        self
    }
    pub fn chop(mut self, chop: Chop) -> Frame {
        self.chop = chop;
        self
    }
    pub fn unmasked(mut self) -> Frame {
        self.masked = false;
        self
    }
}

/// One thing a case does, in order.
#[derive(Clone, Debug)]
pub enum Step {
    Frame(Frame),
    /// A whole message in frames of `fragment` bytes (compressed when deflate was agreed).
    Message {
        binary: bool,
        payload: Vec<u8>,
        fragment: Option<usize>,
    },
    /// A close frame with this payload that starts the closing handshake ("closed by me").
    Close(Vec<u8>),
    /// Bytes as they are (a frame header without its payload, the rest of a payload…).
    Raw(Vec<u8>),
    /// Wait; then, if the connection is still open, record `Ev::Timeout(mark)`, else stop.
    Wait(Duration, Option<&'static str>),
}

/// How the case expects the connection to end (Autobahn's `expectedClose`).
#[derive(Clone, Debug)]
pub struct CloseExpect {
    pub by_me: bool,
    pub codes: Vec<u16>,
    pub require_clean: bool,
    /// UTF-8 cases: the wrong endpoint closing means the peer never noticed the bad text.
    pub wrong_endpoint_fatal: bool,
}

impl CloseExpect {
    /// We close with 1000 after the echo; the server answers cleanly.
    pub fn normal() -> CloseExpect {
        CloseExpect {
            by_me: true,
            codes: vec![1000],
            require_clean: true,
            wrong_endpoint_fatal: false,
        }
    }
    /// The server must fail the connection with one of `codes`.
    pub fn failed_by_peer(codes: &[u16]) -> CloseExpect {
        CloseExpect {
            by_me: false,
            codes: codes.to_vec(),
            require_clean: false,
            wrong_endpoint_fatal: false,
        }
    }
}

/// What ends the case when nothing else does (Autobahn's `killAfter` / `closeAfter`).
#[derive(Clone, Copy, Debug)]
pub enum Finish {
    /// Fail the connection (close 1001, unclean) after this long.
    Kill(Duration),
    /// Start a normal closing handshake after this long.
    CloseAfter(Duration),
}

/// How the outcome is reinterpreted after judging (the cases that override Autobahn's
/// `onConnectionLost`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    None,
    /// The spec leaves the behaviour open (7.1.6, 7.13.x).
    Informational,
    /// Close cases: a wrong close code fails the case.
    WrongCodeFails,
}

#[derive(Clone, Debug)]
pub struct Script {
    pub steps: Vec<Step>,
    /// Alternatives in order of preference: (behaviour, events).
    pub expect: Vec<(Behavior, Vec<Ev>)>,
    pub close: CloseExpect,
    pub finish: Finish,
    /// Do not start the closing handshake when the expected events have arrived.
    pub suppress_close: bool,
    pub special: Special,
    /// Compare pong payloads (outside category 2 only their presence counts: a server
    /// answering pings with another payload fails category 2, not every case with a ping).
    pub strict_pongs: bool,
}

impl Script {
    pub fn new(steps: Vec<Step>, ok: Vec<Ev>, close: CloseExpect, finish: Finish) -> Script {
        Script {
            steps,
            expect: vec![(Behavior::Ok, ok)],
            close,
            finish,
            suppress_close: false,
            special: Special::None,
            strict_pongs: true,
        }
    }
    pub fn or(mut self, behavior: Behavior, events: Vec<Ev>) -> Script {
        self.expect.push((behavior, events));
        self
    }
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// How the connection went, as Autobahn's protocol object records it.
#[derive(Debug, Default)]
pub struct Observed {
    pub received: Vec<Ev>,
    pub close_sent: bool,
    pub closed_by_me: bool,
    pub close_received: bool,
    pub remote_code: Option<u16>,
    pub tcp_ended: bool,
    pub failed_by_me: bool,
    pub dropped_by_me: bool,
    pub write_failed: Option<String>,
    pub findings: Vec<String>,
    pub pong_mismatch: Option<String>,
}

impl Observed {
    pub fn was_clean(&self) -> bool {
        self.close_sent && self.close_received && self.tcp_ended && !self.failed_by_me
    }
    fn open(&self) -> bool {
        !self.close_sent && !self.close_received && !self.tcp_ended
    }
}

/// Masks and compresses what the probe sends.
pub struct Sender {
    pub deflater: Option<MessageDeflater>,
    seed: u64,
}

impl Sender {
    pub fn new(deflater: Option<MessageDeflater>) -> Sender {
        let mut seed = [0u8; 8];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed);
        Sender {
            deflater,
            seed: u64::from_le_bytes(seed) | 1,
        }
    }

    /// A fresh masking key (xorshift from a random seed: unpredictable enough for a test client).
    fn key(&mut self) -> [u8; 4] {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed as u32).to_le_bytes()
    }

    pub fn frame_bytes(&mut self, f: &Frame) -> Vec<u8> {
        let mask = if f.masked { Some(self.key()) } else { None };
        FrameSpec {
            fin: f.fin,
            rsv1: f.rsv & 4 != 0,
            rsv2: f.rsv & 2 != 0,
            rsv3: f.rsv & 1 != 0,
            opcode: f.opcode & 0x0f,
            mask,
            length_form: Default::default(),
            payload: f.payload.clone(),
        }
        .to_bytes()
    }

    /// A message's frames: compressed as one (RSV1 on the first frame) when deflate is on.
    pub fn message_frames(&mut self, binary: bool, payload: &[u8], fragment: Option<usize>) -> Vec<Frame> {
        let (body, rsv) = match &mut self.deflater {
            Some(d) => match d.compress_message(payload) {
                Ok(c) => (c, 4),
                Err(_) => (payload.to_vec(), 0),
            },
            None => (payload.to_vec(), 0),
        };
        let size = fragment.unwrap_or(usize::MAX).max(1);
        let pieces: Vec<&[u8]> = if body.is_empty() {
            vec![&[][..]]
        } else {
            body.chunks(size).collect()
        };
        let last = pieces.len().saturating_sub(1);
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, p)| Frame {
                fin: i == last,
                rsv: if i == 0 { rsv } else { 0 },
                opcode: if i > 0 {
                    0
                } else if binary {
                    2
                } else {
                    1
                },
                payload: p.to_vec(),
                chop: Chop::Whole,
                masked: true,
            })
            .collect()
    }
}

/// Writes bytes chopped as asked.
async fn put(conn: &mut Conn, bytes: &[u8], chop: Chop) -> std::io::Result<()> {
    match chop {
        Chop::Whole => conn.write(bytes).await,
        Chop::Sync => {
            conn.write(bytes).await?;
            tokio::time::sleep(Duration::from_millis(2)).await;
            Ok(())
        }
        Chop::Bytes(n) => {
            for piece in bytes.chunks(n.max(1)) {
                conn.write(piece).await?;
            }
            Ok(())
        }
    }
}

/// A close frame's payload: code and reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// How long the server gets to finish a closing handshake and drop TCP.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Plays `script` on an upgraded connection and returns what happened.
pub async fn play(script: &Script, conn: &mut Conn, sender: &mut Sender, cap: Duration) -> Observed {
    let mut o = Observed::default();
    let hard_stop = Instant::now() + cap;
    'steps: for step in &script.steps {
        drain(script, conn, sender, &mut o).await;
        if o.tcp_ended || o.write_failed.is_some() {
            break;
        }
        let result = match step {
            Step::Frame(f) => {
                let bytes = sender.frame_bytes(f);
                put(conn, &bytes, f.chop).await
            }
            Step::Message {
                binary,
                payload,
                fragment,
            } => {
                let mut r = Ok(());
                for f in sender.message_frames(*binary, payload, *fragment) {
                    let bytes = sender.frame_bytes(&f);
                    r = put(conn, &bytes, f.chop).await;
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            Step::Close(payload) => {
                let bytes = sender.frame_bytes(&Frame::new(8, payload.clone()));
                if !o.close_sent {
                    o.close_sent = true;
                    o.closed_by_me = true;
                }
                conn.write(&bytes).await
            }
            Step::Raw(bytes) => conn.write(bytes).await,
            Step::Wait(d, mark) => {
                let until = Instant::now() + *d;
                while Instant::now() < until && !o.tcp_ended {
                    match tokio::time::timeout_at(until, conn.events.recv()).await {
                        Ok(Some(ev)) => handle(script, conn, sender, &mut o, ev).await,
                        Ok(None) => o.tcp_ended = true,
                        Err(_) => break,
                    }
                }
                if !o.open() {
                    break 'steps;
                }
                if let Some(m) = mark {
                    o.received.push(Ev::Timeout(m));
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            o.write_failed = Some(e.to_string());
        }
    }
    // Then wait for the end: the server's close, TCP's end, or our timer.
    let (mut deadline, mut timer_fired) = match script.finish {
        Finish::Kill(d) | Finish::CloseAfter(d) => (Instant::now() + d, false),
    };
    if o.close_sent || o.close_received {
        deadline = deadline.min(Instant::now() + CLOSE_GRACE);
    }
    loop {
        if o.tcp_ended {
            break;
        }
        let until = deadline.min(hard_stop);
        match tokio::time::timeout_at(until, conn.events.recv()).await {
            Ok(Some(ev)) => {
                let had_close = o.close_sent || o.close_received;
                handle(script, conn, sender, &mut o, ev).await;
                if !had_close && (o.close_sent || o.close_received) {
                    deadline = deadline.min(Instant::now() + CLOSE_GRACE);
                }
            }
            Ok(None) => o.tcp_ended = true,
            Err(_) => {
                if Instant::now() >= hard_stop || o.close_sent || o.close_received || timer_fired {
                    // Nobody ended it in time: we drop TCP.
                    o.dropped_by_me = true;
                    if !(o.close_sent && o.close_received) {
                        o.failed_by_me = true;
                    }
                    break;
                }
                timer_fired = true;
                let (code, failed) = match script.finish {
                    Finish::Kill(_) => (1001, true),
                    Finish::CloseAfter(_) => (1000, false),
                };
                o.failed_by_me |= failed;
                send_close(conn, sender, &mut o, code).await;
                deadline = Instant::now() + CLOSE_GRACE;
            }
        }
    }
    conn.shutdown().await;
    o
}

async fn send_close(conn: &mut Conn, sender: &mut Sender, o: &mut Observed, code: u16) {
    if o.close_sent {
        return;
    }
    o.close_sent = true;
    o.closed_by_me = !o.close_received;
    let bytes = sender.frame_bytes(&Frame::new(8, close_payload(code, b"")));
    if let Err(e) = conn.write(&bytes).await {
        o.write_failed.get_or_insert(e.to_string());
    }
}

/// Handles whatever already arrived, without waiting.
async fn drain(script: &Script, conn: &mut Conn, sender: &mut Sender, o: &mut Observed) {
    loop {
        match conn.events.try_recv() {
            Ok(ev) => handle(script, conn, sender, o, ev).await,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => return,
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                o.tcp_ended = true;
                return;
            }
        }
    }
}

async fn handle(script: &Script, conn: &mut Conn, sender: &mut Sender, o: &mut Observed, ev: Incoming) {
    match ev {
        Incoming::Ended(_) => o.tcp_ended = true,
        Incoming::Finding(slug, detail) => {
            if o.findings.len() < 8 {
                o.findings.push(format!("{slug}: {detail}"));
            }
        }
        Incoming::Message(m) => match m.opcode {
            OpCode::Text | OpCode::Binary => {
                o.received.push(Ev::Message {
                    binary: m.opcode == OpCode::Binary,
                    payload: m.payload,
                });
                finish_when_done(script, conn, sender, o).await;
            }
            OpCode::Ping => {
                o.received.push(Ev::Ping(m.payload.clone()));
                if !o.close_sent {
                    let bytes = sender.frame_bytes(&Frame::new(10, m.payload));
                    let _ = conn.write(&bytes).await;
                }
                finish_when_done(script, conn, sender, o).await;
            }
            OpCode::Pong => {
                o.received.push(Ev::Pong(m.payload));
                finish_when_done(script, conn, sender, o).await;
            }
            OpCode::Close => {
                o.close_received = true;
                o.remote_code = m.close_code;
                if !o.close_sent {
                    // Echo the code, as RFC 6455 §5.5.1 suggests.
                    o.close_sent = true;
                    o.closed_by_me = false;
                    let payload = m.close_code.map(|c| close_payload(c, b"")).unwrap_or_default();
                    let bytes = sender.frame_bytes(&Frame::new(8, payload));
                    let _ = conn.write(&bytes).await;
                }
            }
            _ => {}
        },
    }
}

/// Autobahn's `finishWhenDone`: once the events match the (single) expectation, start the
/// closing handshake if the case expects us to.
async fn finish_when_done(script: &Script, conn: &mut Conn, sender: &mut Sender, o: &mut Observed) {
    let all_match = script
        .expect
        .iter()
        .all(|(_, events)| same_events(&o.received, events, script.strict_pongs).is_some());
    if all_match && script.close.by_me && !script.suppress_close && !o.close_sent {
        send_close(conn, sender, o, 1000).await;
    }
}

/// `Some(pong note)` when `got` matches `want`; pong payloads compared only when `strict`
/// (the note says when a lenient comparison let a different payload pass).
fn same_events(got: &[Ev], want: &[Ev], strict: bool) -> Option<Option<String>> {
    if got.len() != want.len() {
        return None;
    }
    let mut note = None;
    for (g, w) in got.iter().zip(want) {
        match (g, w) {
            (Ev::Pong(a), Ev::Pong(b)) if !strict => {
                if a != b {
                    note = Some(format!(
                        "a pong carried '{}' for a ping of '{}' (judged in category 2)",
                        String::from_utf8_lossy(a),
                        String::from_utf8_lossy(b)
                    ));
                }
            }
            _ if g == w => {}
            _ => return None,
        }
    }
    Some(note)
}

/// Autobahn's verdict: the events' behaviour and the closing behaviour.
pub fn judge(script: &Script, o: &mut Observed) -> (Behavior, CloseBehavior, String) {
    let mut behavior = Behavior::Failed;
    let mut detail = String::new();
    for (b, events) in &script.expect {
        if let Some(note) = same_events(&o.received, events, script.strict_pongs) {
            behavior = *b;
            o.pong_mismatch = note;
            break;
        }
    }
    if behavior == Behavior::Failed {
        let got: Vec<String> = o.received.iter().take(6).map(Ev::short).collect();
        let want: Vec<String> = script
            .expect
            .first()
            .map(|(_, e)| e.iter().take(6).map(Ev::short).collect())
            .unwrap_or_default();
        detail = format!("expected [{}], got [{}]", want.join(", "), got.join(", "));
    }
    let close = if o.closed_by_me != script.close.by_me {
        CloseBehavior::Failed
    } else if script.close.require_clean && !o.was_clean() {
        CloseBehavior::Unclean
    } else if o.remote_code.is_some_and(|c| !script.close.codes.contains(&c)) {
        CloseBehavior::WrongCode
    } else if o.dropped_by_me {
        CloseBehavior::FailedByClient
    } else {
        CloseBehavior::Ok
    };
    if script.close.wrong_endpoint_fatal && o.closed_by_me != script.close.by_me {
        behavior = Behavior::Failed;
    }
    let close = match script.special {
        Special::Informational => {
            behavior = Behavior::Informational;
            CloseBehavior::Informational
        }
        Special::WrongCodeFails if close == CloseBehavior::WrongCode => {
            behavior = Behavior::Failed;
            close
        }
        _ => close,
    };
    (behavior, close, detail)
}

/// The closing, in words, for a report's detail.
pub fn describe_close(script: &Script, o: &Observed, close: CloseBehavior) -> String {
    let who = if o.closed_by_me {
        "the probe"
    } else if o.close_received {
        "the server"
    } else {
        "nobody (TCP ended)"
    };
    let expected = if script.close.by_me { "the probe" } else { "the server" };
    let mut s = format!(
        "closing started by {who} (expected: {expected}, code {}); {}",
        script
            .close
            .codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        match close {
            CloseBehavior::Ok => "clean".to_owned(),
            CloseBehavior::Failed => "FAILED: the connection was failed by the wrong endpoint".to_owned(),
            CloseBehavior::Unclean => "UNCLEAN: no complete closing handshake".to_owned(),
            CloseBehavior::WrongCode => format!("WRONG CODE {}", o.remote_code.unwrap_or(0)),
            CloseBehavior::FailedByClient => "the probe had to drop TCP".to_owned(),
            CloseBehavior::Informational => "informational".to_owned(),
        }
    );
    if let Some(e) = &o.write_failed {
        s.push_str(&format!("; a write failed ({e})"));
    }
    s
}
