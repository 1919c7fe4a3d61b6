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

use crate::analysis::latency::LatencyRecorder;
use crate::live::recorder::{PacketOut, Recording};
use crate::load::Cancel;
use crate::scenario::conn::{Incoming, Received, ScriptConn};
use crate::scenario::describe::{client_of, title};
use crate::scenario::model::*;
use crate::scenario::report::{Counts, MeasureSummary, MessageRef, RunReport, Status, StepResult, count};
use crate::scenario::vars::Vars;

mod leaf;

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
    /// Told when each step starts and ends (the window's Scenarios pane, live).
    pub progress: Option<Progress>,
}

/// A step starting or ending, as the run goes.
pub enum StepEvent<'a> {
    /// The step's path and title.
    Started(&'a str, &'a str),
    Done(&'a StepResult),
}

/// Where `StepEvent`s go; called on the run's thread.
pub type Progress = Arc<dyn Fn(StepEvent) + Send + Sync>;

/// One named measurement's samples.
#[derive(Default)]
struct Measure {
    latency: LatencyRecorder,
    sum_ms: f64,
}

/// A client: its connection slot (steps on one client take turns).
struct Slot {
    conn: tokio::sync::Mutex<Option<ScriptConn>>,
    /// The last message its connection handed to a step (see `ScriptConn::seen`).
    seen: Arc<Mutex<Option<MessageRef>>>,
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
    progress: Option<Progress>,
    /// Stops the run early: steps not yet started are skipped, the running ones fail.
    cancel: Cancel,
}

type StepFuture<'a> = Pin<Box<dyn Future<Output = StepResult> + 'a>>;
type StepsFuture<'a> = Pin<Box<dyn Future<Output = (Vec<StepResult>, bool)> + 'a>>;

/// Runs `scenario` to the end; never fails as a whole (a connection that cannot be made
/// fails its step).
pub fn run(scenario: &Scenario, options: RunOptions) -> Result<RunReport, String> {
    run_until(scenario, options, &Cancel::new())
}

/// Why a step that was running when the run was cancelled failed.
pub const STOPPED: &str = "stopped before its end";

/// `run`, stopped early when `cancel` is cancelled (from any thread, e.g. the window's Stop
/// button): the running steps fail with `STOPPED` (a load step with its report so far), the
/// rest are skipped, open connections are closed as at the end, and the report — marked
/// `stopped_early`, not passed — and the recording are still written.
pub fn run_until(scenario: &Scenario, options: RunOptions, cancel: &Cancel) -> Result<RunReport, String> {
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
                        seen: Arc::default(),
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
        progress: options.progress,
        cancel: cancel.clone(),
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
    let stopped_early = cancel.is_cancelled();
    Ok(RunReport {
        scenario: scenario.name.clone(),
        file: options.file.display().to_string(),
        url: run.default_url.clone().map(|u| crate::live::target::hide_password(&u)),
        passed: !failed && !stopped_early,
        stopped_early,
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
                if self.cancel.is_cancelled() {
                    // A list cut short by a stop did not pass (its container says so too).
                    any_failed = true;
                    failed = true;
                }
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
            // Titles show variables as they are now (a repeat's iteration number, a room).
            let title = self.vars().interpolate(&title(step)).unwrap_or_else(|_| title(step));
            if let Some(p) = &self.progress {
                p(StepEvent::Started(&path, &title));
            }
            let result = self.step_inner(step, path, title).await;
            if let Some(p) = &self.progress {
                p(StepEvent::Done(&result));
            }
            result
        })
    }

    fn step_inner<'a>(&'a self, step: &'a Step, path: String, title: String) -> StepFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let container = |steps: Vec<StepResult>, failed: bool, detail: Option<String>| StepResult {
                path: path.clone(),
                title: title.clone(),
                status: if failed { Status::Fail } else { Status::Pass },
                duration_ms: ms(started.elapsed()),
                detail,
                client: None,
                steps,
                message: None,
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
                        // Stopped: no more iterations (each would only list skipped steps),
                        // and the repeat did not pass.
                        if self.cancel.is_cancelled() {
                            failed = true;
                            break;
                        }
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
                            message: None,
                        });
                        if f {
                            failed = true;
                            break;
                        }
                    }
                    let done = iterations
                        .last()
                        .and_then(|it| it.path.rsplit('.').next()?.parse::<u32>().ok());
                    let detail = if self.cancel.is_cancelled() {
                        Some(format!("{STOPPED} (iteration {} of {})", done.unwrap_or(0), r.times))
                    } else if failed {
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
                    let seen = client_of(leaf).and_then(|c| self.slots.get(c)).map(|s| s.seen.clone());
                    if let Some(Ok(mut s)) = seen.as_ref().map(|s| s.lock()) {
                        *s = None;
                    }
                    let outcome = if matches!(leaf, Step::Load(_)) {
                        // A load run watches the handle itself and reports what it measured.
                        self.leaf(leaf).await
                    } else {
                        tokio::select! {
                            o = self.leaf(leaf) => o,
                            _ = self.cancel.cancelled() => Err(STOPPED.to_owned()),
                        }
                    };
                    let message = match &seen {
                        Some(s) => s.lock().map(|g| *g).unwrap_or(None),
                        None => None,
                    };
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
                        message,
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
            Step::Load(l) => {
                let url = resolve_url(l.url.as_deref(), self.default_url.as_deref(), "the load step")?;
                let url = self.vars().interpolate(&url)?;
                let (step, cancel) = (l.clone(), self.cancel.clone());
                // `load` runs its own multi-threaded runtime: off this one's thread.
                tokio::task::spawn_blocking(move || crate::scenario::load_step::run(&step, &url, &cancel))
                    .await
                    .map_err(|e| format!("the load run stopped: {e}"))?
            }
            Step::Group(_) | Step::Parallel(_) | Step::Repeat(_) => Err("not a single step".into()),
        }
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
        message: None,
    }
}
