//! Runs a checked scenario: steps in order, `Parallel` steps at once, each client one
//! scripted connection recorded into one shared capture. A failed step skips the rest of
//! its innermost `Group` (the whole scenario outside any); the run goes on after the group,
//! so independent checks all report.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Message;

use crate::analysis::latency::LatencyRecorder;
use crate::live::recorder::{PacketOut, Recording};
use crate::live::session::{ConnectError, ConnectOptions, TlsOptions};
use crate::live::target::parse_target;
use crate::scenario::conn::{self, Incoming, Received, ScriptConn};
use crate::scenario::matcher::{Matcher, Msg, expected_bytes};
use crate::scenario::model::*;
use crate::scenario::report::{Counts, MeasureSummary, RunReport, Status, StepResult, count};
use crate::scenario::vars::Vars;

/// How long a connection left open at the end gets for its close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The built-in variable naming this run: unique names (a fresh room, a user) per run, so a
/// scenario can run again against a server that keeps state.
pub const RUN_VAR: &str = "run";

/// A run's id: the start time in hex nanoseconds and the process id.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:x}{:x}", nanos & 0xffff_ffff_ffff, std::process::id())
}

/// Iterations of a repeat listed in the results (a failed one always is).
const LISTED_ITERATIONS: usize = 1000;

/// After a failed group, how long messages still in flight are waited for and discarded.
const RESYNC_SETTLE: Duration = Duration::from_millis(100);

/// What the command line adds to a scenario.
#[derive(Default)]
pub struct RunOptions {
    /// Replaces the scenario's default URL.
    pub url: Option<String>,
    /// Variables set after the file's `vars` (`--var name=value`).
    pub vars: Vec<(String, serde_json::Value)>,
    /// Where the run is recorded (pcapng), opened before anything connects.
    pub recording: Option<(Recording, PathBuf)>,
    /// The scenario file's path, for the report and for relative CA files.
    pub file: PathBuf,
}

/// One named measurement's samples.
#[derive(Default)]
struct Measure {
    latency: LatencyRecorder,
    sum_ms: f64,
}

/// A client: its connection slot (steps on one client take turns).
struct Slot {
    conn: tokio::sync::Mutex<Option<ScriptConn>>,
}

struct Run<'s> {
    scenario: &'s Scenario,
    default_url: Option<String>,
    base_dir: PathBuf,
    slots: HashMap<String, Slot>,
    vars: Mutex<Vars>,
    timers: Mutex<HashMap<String, Instant>>,
    measures: Mutex<BTreeMap<String, Measure>>,
    out: Arc<Mutex<PacketOut>>,
    /// Secret values met so far (headers, URL passwords): blanked in the report.
    secrets: Mutex<Vec<String>>,
    connections: AtomicU32,
}

type StepFuture<'a> = Pin<Box<dyn Future<Output = StepResult> + 'a>>;
type StepsFuture<'a> = Pin<Box<dyn Future<Output = (Vec<StepResult>, bool)> + 'a>>;

/// Runs `scenario` to the end; never fails as a whole (a connection that cannot be made
/// fails its step).
pub fn run(scenario: &Scenario, options: RunOptions) -> Result<RunReport, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the network runtime: {e}"))?;
    let (recording, record_path) = match options.recording {
        Some((r, p)) => (Some(r), Some(p)),
        None => (None, None),
    };
    let out = Arc::new(Mutex::new(PacketOut::new(
        Box::new(crate::analysis::event::CollectSink::default()),
        recording,
    )));
    let mut vars = Vars::new(scenario.vars.clone());
    vars.set(RUN_VAR, serde_json::Value::String(run_id()));
    for (k, v) in options.vars {
        vars.set(&k, v);
    }
    let run = Run {
        scenario,
        default_url: options.url.or_else(|| scenario.url.clone()),
        base_dir: options.file.parent().map(Path::to_path_buf).unwrap_or_default(),
        slots: scenario
            .clients
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    Slot {
                        conn: tokio::sync::Mutex::new(None),
                    },
                )
            })
            .collect(),
        vars: Mutex::new(vars),
        timers: Mutex::new(HashMap::new()),
        measures: Mutex::new(BTreeMap::new()),
        out: out.clone(),
        secrets: Mutex::new(Vec::new()),
        connections: AtomicU32::new(0),
    };
    let started = Instant::now();
    let (mut steps, failed) = runtime.block_on(async {
        let result = run.steps(&scenario.steps, "").await;
        run.close_all().await;
        result
    });
    drop(runtime);
    if let Ok(mut out) = out.lock() {
        out.finish();
    }
    let secrets = run.secrets.lock().map(|s| s.clone()).unwrap_or_default();
    redact(&mut steps, &secrets);
    let mut counts = Counts::default();
    count(&steps, &mut counts);
    let measurements = run
        .measures
        .lock()
        .map(|mut m| {
            m.iter_mut()
                .filter_map(|(k, v)| summarize(v).map(|s| (k.clone(), s)))
                .collect()
        })
        .unwrap_or_default();
    Ok(RunReport {
        scenario: scenario.name.clone(),
        file: options.file.display().to_string(),
        url: run.default_url.clone().map(|u| crate::live::target::hide_password(&u)),
        passed: !failed,
        duration_ms: ms(started.elapsed()),
        counts,
        steps,
        measurements,
        connections: run.connections.load(Ordering::Relaxed),
        recording: record_path.map(|p| p.display().to_string()),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summarize(m: &mut Measure) -> Option<MeasureSummary> {
    let l = &mut m.latency;
    Some(MeasureSummary {
        count: l.count(),
        min_ms: l.min_ms()?,
        mean_ms: m.sum_ms / l.count().max(1) as f64,
        p50_ms: l.quantile_ms(0.5)?,
        p90_ms: l.quantile_ms(0.9)?,
        p95_ms: l.quantile_ms(0.95)?,
        p99_ms: l.quantile_ms(0.99)?,
        max_ms: l.max_ms()?,
    })
}

fn redact(steps: &mut [StepResult], secrets: &[String]) {
    for s in steps {
        for secret in secrets.iter().filter(|s| s.len() >= 3) {
            if let Some(d) = &mut s.detail
                && d.contains(secret.as_str())
            {
                *d = d.replace(secret.as_str(), "***");
            }
            if s.title.contains(secret.as_str()) {
                s.title = s.title.replace(secret.as_str(), "***");
            }
        }
        redact(&mut s.steps, secrets);
    }
}

/// A leaf step's outcome: a note on success, the reason on failure.
type Leaf = Result<Option<String>, String>;

impl Run<'_> {
    fn steps<'a>(&'a self, steps: &'a [Step], prefix: &'a str) -> StepsFuture<'a> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(steps.len());
            // `failed`: skip the rest; `any_failed`: this list failed.
            let (mut failed, mut any_failed) = (false, false);
            for (i, step) in steps.iter().enumerate() {
                let path = if prefix.is_empty() {
                    format!("{}", i + 1)
                } else {
                    format!("{prefix}.{}", i + 1)
                };
                if failed {
                    results.push(skipped(step, path));
                    continue;
                }
                let mut r = self.step(step, path).await;
                if r.status == Status::Fail {
                    any_failed = true;
                    // A failed group has skipped its own rest; its siblings still run, from
                    // a clean slate: what its skipped steps would have read is discarded.
                    failed = !matches!(step, Step::Group(_));
                    if !failed && let Some(note) = self.resync().await {
                        r.detail = Some(note);
                    }
                }
                results.push(r);
            }
            (results, any_failed)
        })
    }

    fn step<'a>(&'a self, step: &'a Step, path: String) -> StepFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            // Titles show variables as they are now (a repeat's iteration number, a room).
            let title = self.vars().interpolate(&title(step)).unwrap_or_else(|_| title(step));
            let container = |steps: Vec<StepResult>, failed: bool, detail: Option<String>| StepResult {
                path: path.clone(),
                title: title.clone(),
                status: if failed { Status::Fail } else { Status::Pass },
                duration_ms: ms(started.elapsed()),
                detail,
                client: None,
                steps,
            };
            match step {
                Step::Group(g) => {
                    let (steps, failed) = self.steps(&g.steps, &path).await;
                    container(steps, failed, None)
                }
                Step::Parallel(p) => {
                    let futures = p
                        .steps
                        .iter()
                        .enumerate()
                        .map(|(i, s)| self.step(s, format!("{path}.{}", i + 1)));
                    let steps = futures_util::future::join_all(futures).await;
                    let failed = steps.iter().any(|s| s.status == Status::Fail);
                    container(steps, failed, None)
                }
                Step::Repeat(r) => {
                    let mut iterations = Vec::new();
                    let mut failed = false;
                    for i in 1..=r.times {
                        self.set_var(&r.var, serde_json::json!(i));
                        let it_path = format!("{path}.{i}");
                        let it_started = Instant::now();
                        let (steps, f) = self.steps(&r.steps, &it_path).await;
                        // Memory stays bounded on long repeats: later passing iterations
                        // are counted in the repeat's detail, not listed.
                        if i as usize > LISTED_ITERATIONS && !f {
                            continue;
                        }
                        iterations.push(StepResult {
                            path: it_path,
                            title: format!("iteration {i} of {}", r.times),
                            status: if f { Status::Fail } else { Status::Pass },
                            duration_ms: ms(it_started.elapsed()),
                            detail: None,
                            client: None,
                            steps,
                        });
                        if f {
                            failed = true;
                            break;
                        }
                    }
                    let done = iterations
                        .last()
                        .and_then(|it| it.path.rsplit('.').next()?.parse::<u32>().ok());
                    let detail = if failed {
                        Some(format!("failed in iteration {} of {}", done.unwrap_or(0), r.times))
                    } else if r.times as usize > LISTED_ITERATIONS {
                        Some(format!(
                            "all {} iterations passed; the first {LISTED_ITERATIONS} are listed",
                            r.times
                        ))
                    } else {
                        None
                    };
                    container(iterations, failed, detail)
                }
                leaf => {
                    let outcome = self.leaf(leaf).await;
                    let (status, detail) = match outcome {
                        Ok(note) => (Status::Pass, note),
                        Err(why) => (Status::Fail, Some(why)),
                    };
                    StepResult {
                        path,
                        title,
                        status,
                        duration_ms: ms(started.elapsed()),
                        detail,
                        client: client_of(leaf).map(str::to_owned),
                        steps: Vec::new(),
                    }
                }
            }
        })
    }

    fn set_var(&self, name: &str, value: serde_json::Value) {
        if let Ok(mut v) = self.vars.lock() {
            v.set(name, value);
        }
    }

    fn vars(&self) -> Vars {
        self.vars.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn timeout(&self, within_ms: Option<u64>) -> Duration {
        Duration::from_millis(within_ms.unwrap_or(self.scenario.timeout_ms))
    }

    fn slot(&self, client: &str) -> Result<&Slot, String> {
        self.slots
            .get(client)
            .ok_or_else(|| format!("no client named '{client}'"))
    }

    async fn leaf(&self, step: &Step) -> Leaf {
        match step {
            Step::Connect(c) => self.connect(c).await,
            Step::Send(s) => self.send(s).await,
            Step::Close(c) => self.close(c).await,
            Step::Expect(e) => self.expect(e).await,
            Step::ExpectClose(e) => self.expect_close(e).await,
            Step::ExpectSilence(s) => self.silence(s).await,
            Step::ExpectDrop(d) => self.expect_drop(d).await,
            Step::Sleep(s) => {
                tokio::time::sleep(Duration::from_millis(s.ms)).await;
                Ok(None)
            }
            Step::Disconnect(c) => {
                let conn = self.slot(&c.client)?.conn.lock().await.take();
                match conn {
                    Some(conn) => {
                        conn.abort().await;
                        Ok(None)
                    }
                    None => Err(format!("{} is not connected", c.client)),
                }
            }
            Step::Reconnect(c) => {
                let old = self.slot(&c.client)?.conn.lock().await.take();
                if let Some(old) = old {
                    old.abort().await;
                }
                self.connect(&ConnectStep {
                    client: c.client.clone(),
                    name: None,
                    expect_status: None,
                    within_ms: None,
                    measure: None,
                })
                .await
            }
            Step::Set(s) => {
                let value = self.vars().resolve(&s.value)?;
                self.set_var(&s.var, value);
                Ok(None)
            }
            Step::Timing(t) => self.timing(t),
            Step::Group(_) | Step::Parallel(_) | Step::Repeat(_) => Err("not a single step".into()),
        }
    }

    /// The options of `client`'s connection, with variables put in.
    fn connect_options(&self, client: &str, within_ms: Option<u64>) -> Result<(ConnectOptions, Vec<String>), String> {
        let spec = self
            .scenario
            .clients
            .get(client)
            .ok_or_else(|| format!("no client named '{client}'"))?;
        let vars = self.vars();
        let url = resolve_url(spec.url.as_deref(), self.default_url.as_deref(), client)?;
        let target = parse_target(&vars.interpolate(&url)?)?;
        let mut headers = Vec::new();
        for (k, v) in &spec.headers {
            headers.push((k.clone(), vars.interpolate(v)?));
        }
        let mut secrets = Vec::new();
        for (k, v) in &spec.secret_headers {
            let v = vars.interpolate(v)?;
            secrets.push(v.clone());
            headers.push((k.clone(), v));
        }
        secrets.extend(target.basic_authorization());
        if let Some(c) = &target.credentials {
            secrets.push(c.password.clone());
        }
        if let Ok(mut s) = self.secrets.lock() {
            for v in &secrets {
                if !s.contains(v) {
                    s.push(v.clone());
                }
            }
        }
        let options = ConnectOptions {
            target,
            headers,
            subprotocols: spec.subprotocols.clone(),
            origin: spec.origin.as_deref().map(|o| vars.interpolate(o)).transpose()?,
            timeout: self.timeout(within_ms),
            tls: TlsOptions {
                extra_ca_file: spec.ca_file.as_ref().map(|p| self.base_dir.join(p)),
                accept_invalid_certs: spec.insecure,
                key_log_file: None,
            },
        };
        Ok((options, secrets))
    }

    async fn connect(&self, c: &ConnectStep) -> Leaf {
        let slot = self.slot(&c.client)?;
        let mut conn = slot.conn.lock().await;
        // A connection that has ended (the server closed it) makes way for a new one.
        if conn.as_ref().is_some_and(|open| open.ended.is_some())
            && let Some(over) = conn.take()
        {
            over.abort().await;
        }
        if conn.is_some() {
            return Err(format!(
                "{} is already connected (use Reconnect for a new connection)",
                c.client
            ));
        }
        let (options, secrets) = self.connect_options(&c.client, c.within_ms)?;
        let started = Instant::now();
        match conn::open(&options, &secrets, &self.out).await {
            Ok(open) => {
                self.connections.fetch_add(1, Ordering::Relaxed);
                let elapsed = ms(started.elapsed());
                if let Some(name) = &c.measure {
                    self.record(name, elapsed);
                }
                let note = format!(
                    "{} -> {}{}",
                    open.local,
                    open.peer,
                    open.subprotocol
                        .as_ref()
                        .map_or(String::new(), |p| format!(", subprotocol {p}"))
                );
                if let Some(status) = c.expect_status {
                    *conn = Some(open);
                    return Err(format!(
                        "connected ({note}), but the upgrade should have been refused with {status}"
                    ));
                }
                *conn = Some(open);
                Ok(Some(note))
            }
            Err(ConnectError::Rejected { status, reason, .. }) if c.expect_status == Some(status) => {
                Ok(Some(format!("refused with {status} {reason}, as expected")))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn send(&self, s: &SendStep) -> Leaf {
        let vars = self.vars();
        let (msg, shown) = if let Some(t) = &s.text {
            let t = vars.interpolate(t)?;
            let shown = crate::scenario::matcher::cut(&t);
            (Message::Text(t.into()), shown)
        } else if let Some(j) = &s.json {
            let t = vars.resolve(j)?.to_string();
            let shown = crate::scenario::matcher::cut(&t);
            (Message::Text(t.into()), shown)
        } else if let Some(p) = &s.ping {
            let p = vars.interpolate(p)?;
            if p.len() > 125 {
                return Err(format!("a ping carries at most 125 bytes, not {}", p.len()));
            }
            (Message::Ping(p.into_bytes().into()), String::new())
        } else {
            match expected_bytes(s.binary_hex.as_deref(), s.binary_base64.as_deref(), &vars)? {
                Some(b) => {
                    let shown = format!("{} bytes", b.len());
                    (Message::Binary(b.into()), shown)
                }
                None => return Err("nothing to send".into()),
            }
        };
        let slot = self.slot(&s.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", s.client))?;
        let sent = conn.send(msg).await?;
        if let Some(t) = &s.timer
            && let Ok(mut timers) = self.timers.lock()
        {
            timers.insert(t.clone(), sent);
        }
        Ok((!shown.is_empty()).then_some(format!("sent {shown}")))
    }

    fn record(&self, measure: &str, value_ms: f64) {
        if let Ok(mut m) = self.measures.lock() {
            let m = m.entry(measure.to_owned()).or_default();
            m.latency.record_ms(value_ms);
            m.sum_ms += value_ms;
        }
    }

    async fn expect(&self, e: &ExpectStep) -> Leaf {
        let matcher = Matcher::new(e, &self.vars())?;
        let within = self.timeout(e.within_ms);
        let deadline = tokio::time::Instant::now() + within;
        let slot = self.slot(&e.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", e.client))?;
        let mut passed_over: Vec<String> = Vec::new();
        let mut skipped_count = 0usize;
        loop {
            let Some(incoming) = conn.next(deadline).await else {
                let what = if passed_over.is_empty() {
                    "nothing arrived".to_owned()
                } else {
                    format!("{skipped_count} arrived instead: {}", list(&passed_over))
                };
                return Err(format!("no matching message within {} ms; {what}", within.as_millis()));
            };
            let msg = match incoming.what {
                Received::Ended { why, .. } => {
                    return Err(with_passed(format!("the connection ended: {why}"), &passed_over));
                }
                Received::Msg(Msg::Close(code, reason)) => {
                    return Err(with_passed(
                        format!(
                            "the server closed the connection: {}",
                            Msg::Close(code, reason).preview()
                        ),
                        &passed_over,
                    ));
                }
                Received::Msg(m) => m,
            };
            if msg.is_control() != matcher.wants_control() {
                continue;
            }
            match matcher.check(&msg, e) {
                Ok(matched) => {
                    for (var, value) in matched.captures {
                        self.set_var(&var, value);
                    }
                    let mut note = format!("got {}", msg.preview());
                    if let Some(name) = &e.measure {
                        let start = self.timers.lock().ok().and_then(|t| t.get(name).copied());
                        let Some(start) = start else {
                            return Err(format!("no Send with timer: \"{name}\" ran before this step"));
                        };
                        let latency = ms(incoming.at.saturating_duration_since(start));
                        self.record(name, latency);
                        note.push_str(&format!(" after {latency:.2} ms ({name})"));
                    }
                    return Ok(Some(note));
                }
                Err(why) if e.any => {
                    skipped_count += 1;
                    if passed_over.len() < LISTED {
                        passed_over.push(format!("{} ({why})", msg.preview()));
                    }
                }
                Err(why) => return Err(format!("got {}\n{why}", msg.preview())),
            }
        }
    }

    async fn expect_close(&self, e: &ExpectCloseStep) -> Leaf {
        let within = self.timeout(e.within_ms);
        let deadline = tokio::time::Instant::now() + within;
        let slot = self.slot(&e.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", e.client))?;
        let result = loop {
            let Some(incoming) = conn.next(deadline).await else {
                break Err(format!(
                    "no close frame within {} ms; the connection is still open",
                    within.as_millis()
                ));
            };
            match incoming.what {
                Received::Msg(Msg::Close(code, reason)) => {
                    let got = Msg::Close(code, reason.clone()).preview();
                    if e.code.is_some() && code != e.code {
                        break Err(format!(
                            "closed with {got}, expected code {}",
                            e.code.map_or(String::new(), |c| c.to_string())
                        ));
                    }
                    if let Some(want) = &e.reason
                        && want != &reason
                    {
                        break Err(format!("closed with {got}, expected the reason {want:?}"));
                    }
                    break Ok(Some(format!("got {got}")));
                }
                Received::Msg(m) if m.is_control() => {}
                Received::Msg(m) => break Err(format!("got {} instead of a close frame", m.preview())),
                Received::Ended { why, .. } => {
                    break Err(format!("no close frame: {why}"));
                }
            }
        };
        // The connection is over (or failed to close as it should): let it go.
        if let Some(conn) = guard.take() {
            conn.finish(CLOSE_GRACE).await;
        }
        result
    }

    async fn close(&self, c: &CloseStep) -> Leaf {
        let within = self.timeout(c.within_ms);
        let slot = self.slot(&c.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", c.client))?;
        let reason = self.vars().interpolate(&c.reason)?;
        conn.send_close(c.code, &reason).await?;
        let deadline = tokio::time::Instant::now() + within;
        let mut passed_over = Vec::new();
        let result = loop {
            let Some(incoming) = conn.next(deadline).await else {
                break Err(with_passed(
                    format!("no close frame from the server within {} ms", within.as_millis()),
                    &passed_over,
                ));
            };
            match incoming.what {
                Received::Msg(Msg::Close(code, reason)) => {
                    let got = Msg::Close(code, reason).preview();
                    match c.expect_code {
                        Some(want) if code != Some(want) => {
                            break Err(format!("the server answered {got}, expected code {want}"));
                        }
                        _ => break Ok(Some(format!("the server answered {got}"))),
                    }
                }
                // Messages sent before the server saw our close may still come.
                Received::Msg(m) => {
                    if !m.is_control() && passed_over.len() < LISTED {
                        passed_over.push(m.preview());
                    }
                }
                Received::Ended { why, .. } => {
                    break Err(with_passed(format!("no close frame in answer: {why}"), &passed_over));
                }
            }
        };
        if let Some(conn) = guard.take() {
            conn.finish(CLOSE_GRACE).await;
        }
        result
    }

    async fn silence(&self, s: &SilenceStep) -> Leaf {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(s.for_ms);
        let slot = self.slot(&s.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", s.client))?;
        loop {
            let Some(incoming) = conn.next(deadline).await else {
                return Ok(None);
            };
            let when = if incoming.at < started {
                "before this step began".to_owned()
            } else {
                format!("{:.0} ms into it", ms(incoming.at.duration_since(started)))
            };
            match incoming.what {
                Received::Msg(m) if m.is_control() => {}
                Received::Msg(m) => return Err(format!("got {} ({when})", m.preview())),
                Received::Ended { why, .. } => {
                    return Err(format!("the connection ended ({when}): {why}"));
                }
            }
        }
    }

    async fn expect_drop(&self, d: &DropStep) -> Leaf {
        let within = self.timeout(d.within_ms);
        let deadline = tokio::time::Instant::now() + within;
        let slot = self.slot(&d.client)?;
        let mut guard = slot.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(|| format!("{} is not connected", d.client))?;
        let result = loop {
            let Some(incoming) = conn.next(deadline).await else {
                return Err(format!("still open after {} ms", within.as_millis()));
            };
            match incoming.what {
                Received::Msg(Msg::Close(code, reason)) => {
                    break Err(format!(
                        "closed with a close frame ({}), not dropped",
                        Msg::Close(code, reason).preview()
                    ));
                }
                Received::Msg(_) => {}
                Received::Ended { clean: false, why } => break Ok(Some(why)),
                Received::Ended { clean: true, why } => break Err(format!("ended cleanly: {why}")),
            }
        };
        if let Some(conn) = guard.take() {
            conn.finish(CLOSE_GRACE).await;
        }
        result
    }

    fn timing(&self, t: &TimingStep) -> Leaf {
        let mut measures = self
            .measures
            .lock()
            .map_err(|_| "measurements unavailable".to_owned())?;
        let m = measures
            .get_mut(&t.measure)
            .ok_or_else(|| format!("no samples of '{}' were measured", t.measure))?;
        let n = m.latency.count();
        if let Some(min) = t.min_samples
            && n < min
        {
            return Err(format!("{} has {n} samples, fewer than the {min} required", t.measure));
        }
        let value = match t.stat {
            Stat::Min => m.latency.min_ms(),
            Stat::Max => m.latency.max_ms(),
            Stat::Mean => Some(m.sum_ms / n.max(1) as f64),
            Stat::P50 => m.latency.quantile_ms(0.5),
            Stat::P90 => m.latency.quantile_ms(0.9),
            Stat::P95 => m.latency.quantile_ms(0.95),
            Stat::P99 => m.latency.quantile_ms(0.99),
        }
        .ok_or_else(|| format!("no samples of '{}'", t.measure))?;
        let shown = format!("{} of {} = {value:.2} ms over {n} samples", t.stat.label(), t.measure);
        if let Some(below) = t.below_ms
            && value >= below
        {
            return Err(format!("{shown}, not below {below} ms"));
        }
        if let Some(least) = t.at_least_ms
            && value < least
        {
            return Err(format!("{shown}, below {least} ms"));
        }
        Ok(Some(shown))
    }

    /// Discards what every open connection has received but no step read (waiting
    /// `RESYNC_SETTLE` for messages in flight), so a failed group's leftovers do not fail the
    /// next group. Says what was discarded.
    async fn resync(&self) -> Option<String> {
        let mut notes = Vec::new();
        for (name, slot) in &self.slots {
            let mut guard = slot.conn.lock().await;
            let Some(conn) = guard.as_mut() else { continue };
            let deadline = tokio::time::Instant::now() + RESYNC_SETTLE;
            let mut dropped = Vec::new();
            while conn.ended.is_none() {
                match conn.next(deadline).await {
                    Some(Incoming {
                        what: Received::Msg(m), ..
                    }) if !m.is_control() && dropped.len() < LISTED => dropped.push(m.preview()),
                    Some(_) => {}
                    None => break,
                }
            }
            if !dropped.is_empty() {
                notes.push(format!("{name}: {}", list(&dropped)));
            }
        }
        (!notes.is_empty()).then(|| format!("unread after the failure, discarded: {}", notes.join("; ")))
    }

    /// Closes every connection still open (1000), each with a short grace, all at once.
    async fn close_all(&self) {
        let closing = self.slots.values().map(|slot| async move {
            let conn = slot.conn.lock().await.take();
            if let Some(mut conn) = conn {
                if conn.ended.is_none() {
                    let _ = conn.send_close(1000, "scenario over").await;
                }
                conn.finish(CLOSE_GRACE).await;
            }
        });
        futures_util::future::join_all(closing).await;
    }
}

/// The URL a client connects to: its own absolute one, or the default server's (joined
/// with a relative one).
pub fn resolve_url(own: Option<&str>, default: Option<&str>, client: &str) -> Result<String, String> {
    match (own, default) {
        (Some(u), _) if u.contains("://") => Ok(u.to_owned()),
        (Some(rel), Some(base)) => url::Url::parse(base)
            .and_then(|b| b.join(rel))
            .map(|u| u.to_string())
            .map_err(|e| format!("cannot join {rel:?} to {base}: {e}")),
        (None, Some(base)) => Ok(base.to_owned()),
        (_, None) => Err(format!(
            "client '{client}' has no server: give the scenario a url, the client an absolute url, or run with --url"
        )),
    }
}

/// Messages kept to show what arrived instead (a flood is counted, not kept).
const LISTED: usize = 5;

fn list(items: &[String]) -> String {
    const SHOWN: usize = LISTED;
    let mut out: Vec<String> = items.iter().take(SHOWN).cloned().collect();
    if items.len() > SHOWN {
        out.push(format!("and {} more", items.len() - SHOWN));
    }
    out.join("; ")
}

fn with_passed(why: String, passed_over: &[String]) -> String {
    if passed_over.is_empty() {
        why
    } else {
        format!("{why}; before that, not matching: {}", list(passed_over))
    }
}

fn skipped(step: &Step, path: String) -> StepResult {
    StepResult {
        path,
        title: title(step),
        status: Status::Skipped,
        duration_ms: 0.0,
        detail: None,
        client: client_of(step).map(str::to_owned),
        steps: Vec::new(),
    }
}

fn client_of(step: &Step) -> Option<&str> {
    Some(match step {
        Step::Connect(c) => &c.client,
        Step::Send(s) => &s.client,
        Step::Close(c) => &c.client,
        Step::Expect(e) => &e.client,
        Step::ExpectClose(e) => &e.client,
        Step::ExpectSilence(s) => &s.client,
        Step::ExpectDrop(d) => &d.client,
        Step::Disconnect(c) | Step::Reconnect(c) => &c.client,
        _ => return None,
    })
}

/// A field comparison as people write it: `> ${seq}`, `matching /^a/`.
fn cmp_text(c: &Cmp) -> String {
    let v = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if s.starts_with("${") => s.clone(),
        other => other.to_string(),
    };
    match c {
        Cmp::Eq(x) => format!("== {}", v(x)),
        Cmp::Ne(x) => format!("!= {}", v(x)),
        Cmp::Lt(x) => format!("< {}", v(x)),
        Cmp::Le(x) => format!("<= {}", v(x)),
        Cmp::Gt(x) => format!("> {}", v(x)),
        Cmp::Ge(x) => format!(">= {}", v(x)),
        Cmp::Matches(r) => format!("matching /{r}/"),
        Cmp::Contains(x) => format!("containing {}", v(x)),
        Cmp::OneOf(xs) => format!("one of {}", serde_json::Value::Array(xs.clone())),
        Cmp::Exists => "present".to_owned(),
        Cmp::Absent => "absent".to_owned(),
    }
}

/// A step in a line: its name when it has one, else what it does (templates shown as
/// written, before variables are put in).
pub fn title(step: &Step) -> String {
    // A step's own name says what it checks better than a paraphrase of its fields.
    let named = |name: &Option<String>, what: String| name.clone().unwrap_or(what);
    let short = |s: &str| crate::scenario::matcher::cut(s).chars().take(100).collect::<String>();
    match step {
        Step::Connect(c) => named(
            &c.name,
            match c.expect_status {
                Some(s) => format!("connect {} (refused with {s})", c.client),
                None => format!("connect {}", c.client),
            },
        ),
        Step::Send(s) => {
            let what = if let Some(t) = &s.text {
                format!("text {}", short(t))
            } else if let Some(j) = &s.json {
                short(&j.to_string())
            } else if let Some(p) = &s.ping {
                format!("ping {}", short(p))
            } else {
                "binary".to_owned()
            };
            named(&s.name, format!("{} sends {what}", s.client))
        }
        Step::Close(c) => named(&c.name, format!("{} closes with {}", c.client, c.code)),
        Step::Expect(e) => {
            let mut parts = Vec::new();
            if let Some(k) = e.kind {
                parts.push(format!("{k:?}"));
            }
            if let Some(j) = &e.json {
                parts.push(short(&j.to_string()));
            }
            for (p, c) in &e.fields {
                parts.push(format!("{p} {}", cmp_text(c)));
            }
            if let Some(t) = &e.text {
                parts.push(format!("text {}", short(t)));
            }
            if let Some(r) = &e.regex {
                parts.push(format!("/{}/", short(r)));
            }
            if e.schema.is_some() {
                parts.push("schema".into());
            }
            if e.binary_hex.is_some() || e.binary_base64.is_some() {
                parts.push("bytes".into());
            }
            let which = if e.any { "a message" } else { "next message" };
            let within = e.within_ms.map_or(String::new(), |w| format!(" within {w} ms"));
            named(
                &e.name,
                format!("{} gets {which} {}{within}", e.client, parts.join(", ")),
            )
        }
        Step::ExpectClose(e) => named(
            &e.name,
            format!(
                "{} is closed{}",
                e.client,
                e.code.map_or(String::new(), |c| format!(" with {c}"))
            ),
        ),
        Step::ExpectSilence(s) => named(&s.name, format!("{} gets nothing for {} ms", s.client, s.for_ms)),
        Step::ExpectDrop(d) => named(&d.name, format!("{} is dropped without a close frame", d.client)),
        Step::Sleep(s) => format!("sleep {} ms", s.ms),
        Step::Disconnect(c) => named(&c.name, format!("{} disconnects (no close frame)", c.client)),
        Step::Reconnect(c) => named(&c.name, format!("{} reconnects", c.client)),
        Step::Set(s) => format!("set {} = {}", s.var, short(&s.value.to_string())),
        Step::Repeat(r) => named(&r.name, format!("repeat {} times", r.times)),
        Step::Parallel(p) => named(&p.name, format!("parallel ({} steps)", p.steps.len())),
        Step::Group(g) => g.name.clone(),
        Step::Timing(t) => {
            let mut what = format!("{} of {}", t.stat.label(), t.measure);
            if let Some(b) = t.below_ms {
                what.push_str(&format!(" < {b} ms"));
            }
            if let Some(a) = t.at_least_ms {
                what.push_str(&format!(" >= {a} ms"));
            }
            named(&t.name, what)
        }
    }
}
