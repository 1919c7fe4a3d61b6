//! The Scenarios pane's state: a scenario (a RON file, or one made from a stored connection
//! by "Replay against…"), its run on a thread of its own with a current-thread tokio runtime
//! (as each live client has), the steps' states as the runner reports them, and the run's
//! recording, opened in the inspector when the run ends so a step can select its message.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::analysis::Direction;
use crate::analysis::event::ConnId;
use crate::scenario::describe::title;
use crate::scenario::model::{Scenario, Step};
use crate::scenario::report::{MessageRef, RunReport, Status, StepResult};
use crate::scenario::runner::{self, RunOptions, StepEvent};
use crate::store::Store;

/// Where a step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    /// Not run yet.
    Planned,
    Running,
    Pass,
    Fail,
    Skipped,
}

impl From<Status> for StepState {
    fn from(s: Status) -> StepState {
        match s {
            Status::Pass => StepState::Pass,
            Status::Fail => StepState::Fail,
            Status::Skipped => StepState::Skipped,
        }
    }
}

/// One line of the steps list.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRow {
    /// "3.2.1", as the report numbers steps.
    pub path: String,
    pub title: String,
    pub state: StepState,
    pub duration_ms: Option<f64>,
    /// What matched, or on failure what arrived instead.
    pub detail: Option<String>,
    pub message: Option<MessageRef>,
}

impl StepRow {
    pub fn depth(&self) -> usize {
        self.path.matches('.').count()
    }
}

/// A run in progress.
pub struct RunningScenario {
    rows: Arc<Mutex<Vec<StepRow>>>,
    worker: JoinHandle<Result<RunReport, String>>,
    /// Stops the run (the Stop button): it winds down and still reports and records.
    cancel: crate::load::Cancel,
    pub recording: PathBuf,
    pub started: Instant,
}

#[derive(Default)]
pub struct ScenarioPanel {
    pub open: bool,
    /// The file it was read from (`None` for a replay made in the window).
    pub file: Option<PathBuf>,
    pub scenario: Option<Scenario>,
    /// Why the file could not be read, or the run not started.
    pub error: Option<String>,
    /// Replaces the scenario's default URL when not empty.
    pub url: String,
    pub rows: Vec<StepRow>,
    pub run: Option<RunningScenario>,
    /// The last finished run.
    pub report: Option<RunReport>,
    /// Its recording (deleted when the window closes).
    pub recording: Option<PathBuf>,
    /// The step last clicked.
    pub selected: Option<String>,
    /// List only the failed steps (a long run's red lines without scrolling).
    pub failures_only: bool,
}

impl Drop for ScenarioPanel {
    fn drop(&mut self) {
        // The recording was opened in the inspector; a run's capture is not kept past the
        // window (the CLI's `--record` keeps one).
        if let Some(p) = self.recording.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The planned steps of a scenario, in order, nested as the report nests them.
pub fn plan(scenario: &Scenario) -> Vec<StepRow> {
    fn walk(steps: &[Step], prefix: &str, out: &mut Vec<StepRow>) {
        for (i, step) in steps.iter().enumerate() {
            let path = if prefix.is_empty() {
                format!("{}", i + 1)
            } else {
                format!("{prefix}.{}", i + 1)
            };
            out.push(StepRow {
                path: path.clone(),
                title: title(step),
                state: StepState::Planned,
                duration_ms: None,
                detail: None,
                message: None,
            });
            // A repeat's iterations are numbered at run time; its body is shown then.
            match step {
                Step::Group(g) => walk(&g.steps, &path, out),
                Step::Parallel(p) => walk(&p.steps, &path, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&scenario.steps, "", &mut out);
    out
}

/// The rows of a finished run, every step (skipped ones included) in report order.
pub fn rows_of(steps: &[StepResult]) -> Vec<StepRow> {
    fn walk(steps: &[StepResult], out: &mut Vec<StepRow>) {
        for s in steps {
            out.push(row_of(s));
            walk(&s.steps, out);
        }
    }
    let mut out = Vec::new();
    walk(steps, &mut out);
    out
}

fn row_of(s: &StepResult) -> StepRow {
    StepRow {
        path: s.path.clone(),
        title: s.title.clone(),
        state: s.status.into(),
        duration_ms: (s.status != Status::Skipped).then_some(s.duration_ms),
        detail: s.detail.clone(),
        message: s.message,
    }
}

/// Applies a runner event to the live rows.
fn on_event(rows: &Mutex<Vec<StepRow>>, event: StepEvent) {
    let Ok(mut rows) = rows.lock() else { return };
    match event {
        StepEvent::Started(path, title) => rows.push(StepRow {
            path: path.to_owned(),
            title: title.to_owned(),
            state: StepState::Running,
            duration_ms: None,
            detail: None,
            message: None,
        }),
        StepEvent::Done(result) => {
            let row = row_of(result);
            match rows.iter_mut().rev().find(|r| r.path == result.path) {
                Some(r) => *r = row,
                None => rows.push(row),
            }
        }
    }
}

impl ScenarioPanel {
    /// Reads a scenario file (checked as `framescope test` checks it).
    pub fn load(&mut self, path: PathBuf) {
        self.error = None;
        match crate::scenario::load::load(&path, &[]) {
            Ok(s) => self.set(s, Some(path)),
            Err(e) => {
                self.error = Some(e);
                self.scenario = None;
                self.rows.clear();
                self.file = Some(path);
            }
        }
        self.open = true;
    }

    /// Shows `scenario` (not yet run).
    pub fn set(&mut self, scenario: Scenario, file: Option<PathBuf>) {
        self.rows = plan(&scenario);
        self.scenario = Some(scenario);
        self.file = file;
        self.report = None;
        self.selected = None;
        self.error = None;
    }

    pub fn running(&self) -> bool {
        self.run.is_some()
    }

    /// Asks the running scenario to stop: running steps fail as stopped, the rest are
    /// skipped, and the report and recording still arrive.
    pub fn stop(&self) {
        if let Some(run) = &self.run {
            run.cancel.cancel();
        }
    }

    /// Starts the run, recording to `recording`; `wake` repaints the window after each step.
    pub fn start(&mut self, recording: PathBuf, wake: Arc<dyn Fn() + Send + Sync>) {
        if self.run.is_some() {
            return;
        }
        let Some(scenario) = self.scenario.clone() else {
            self.error = Some("open a scenario first".to_owned());
            return;
        };
        let url = Some(self.url.trim().to_owned()).filter(|u| !u.is_empty());
        if let Some(u) = &url
            && let Err(e) = crate::live::target::parse_target(u)
        {
            self.error = Some(format!("URL: {e}"));
            return;
        }
        let file = self.file.clone().unwrap_or_default();
        let cancel = crate::load::Cancel::new();
        let stop = cancel.clone();
        let rows = Arc::new(Mutex::new(Vec::new()));
        let live = rows.clone();
        let record_to = recording.clone();
        let spawned = std::thread::Builder::new()
            .name("scenario-run".to_owned())
            .spawn(move || {
                let rec = crate::live::recorder::open_recording(&record_to)
                    .map_err(|e| format!("cannot record to {}: {e}", record_to.display()))?;
                let progress: runner::Progress = Arc::new(move |event: StepEvent<'_>| {
                    on_event(&live, event);
                    wake();
                });
                let options = RunOptions {
                    url,
                    vars: Vec::new(),
                    recording: Some((rec, record_to)),
                    file,
                    progress: Some(progress),
                };
                runner::run_until(&scenario, options, &stop)
            });
        match spawned {
            Ok(worker) => {
                self.error = None;
                self.report = None;
                self.selected = None;
                self.rows.clear();
                if let Some(old) = self.recording.take() {
                    let _ = std::fs::remove_file(old);
                }
                self.run = Some(RunningScenario {
                    rows,
                    worker,
                    cancel,
                    recording,
                    started: Instant::now(),
                });
            }
            Err(e) => self.error = Some(format!("cannot start the run: {e}")),
        }
    }

    /// Takes in what the run reported since the last frame. Returns the run's recording
    /// when the run has just ended (to be opened in the inspector).
    pub fn poll(&mut self) -> Option<PathBuf> {
        let run = self.run.as_ref()?;
        if let Ok(rows) = run.rows.lock() {
            self.rows.clone_from(&rows);
        }
        if !run.worker.is_finished() {
            return None;
        }
        let run = self.run.take()?;
        match run.worker.join() {
            Ok(Ok(report)) => {
                self.rows = rows_of(&report.steps);
                self.report = Some(report);
                self.recording = Some(run.recording.clone());
                Some(run.recording)
            }
            Ok(Err(e)) => {
                self.error = Some(e);
                let _ = std::fs::remove_file(&run.recording);
                None
            }
            Err(_) => {
                self.error = Some("the run stopped unexpectedly".to_owned());
                None
            }
        }
    }
}

/// The store's index of a message a step names, with its connection: the connection by
/// the client port the run used, the message by its place among that side's messages.
pub fn find_message(store: &Store, r: MessageRef) -> Option<(ConnId, u32)> {
    let conn = store
        .connections
        .iter()
        .rev()
        .find(|c| c.info.client.port() == r.client_port)?
        .info
        .conn;
    // A sent message is counted among the steps' sends: the pongs tungstenite answers pings
    // with are the client's only other messages.
    let side = |m: &crate::store::MessageRow| {
        if r.sent {
            m.facts.dir == Direction::ClientToServer && m.facts.opcode != crate::analysis::ws::frame::OpCode::Pong
        } else {
            m.facts.dir == Direction::ServerToClient
        }
    };
    store
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.facts.conn == conn && side(m))
        .nth(r.index as usize)
        .map(|(i, _)| (conn, i as u32))
}
