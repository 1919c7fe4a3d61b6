//! The Probe pane's state: a URL and a case selection, the conformance probe run on a thread
//! of its own (a current-thread tokio runtime, as `framescope probe` runs it), the cases'
//! verdicts as they come, and the run's recording (one connection per case, each carrying
//! its case id in `X-Framescope-Case`), opened in the inspector when the run ends.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::analysis::event::ConnId;
use crate::probe::run::{RunOptions, run_all};
use crate::probe::wire::{RecState, SharedRecorder};
use crate::probe::{CaseResult, cases};
use crate::store::Store;

/// The header each probe connection names its case in.
const CASE_HEADER: &str = "x-framescope-case";

/// What one case may take, and the whole run (as the CLI's defaults).
const CASE_TIMEOUT: Duration = Duration::from_secs(30);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(1800);

pub struct RunningProbe {
    results: Arc<Mutex<Vec<CaseResult>>>,
    worker: JoinHandle<Result<usize, String>>,
    pub recording: PathBuf,
    /// Cases selected (for "12 of 300").
    pub total: usize,
}

pub struct ProbePanel {
    pub open: bool,
    pub url: String,
    /// `--cases` syntax: ids or prefixes with `*`, comma-separated; empty runs all but the
    /// slow ones.
    pub cases: String,
    pub results: Vec<CaseResult>,
    pub run: Option<RunningProbe>,
    /// Cases the run had no time for.
    pub skipped: usize,
    pub error: Option<String>,
    pub recording: Option<PathBuf>,
    /// The case last clicked.
    pub selected: Option<String>,
    /// List only the failed cases.
    pub failures_only: bool,
}

impl Default for ProbePanel {
    fn default() -> ProbePanel {
        ProbePanel {
            open: false,
            url: String::new(),
            cases: "1.*,2.*,3.*,4.*,5.*,7.*".to_owned(),
            results: Vec::new(),
            run: None,
            skipped: 0,
            error: None,
            recording: None,
            selected: None,
            failures_only: false,
        }
    }
}

impl Drop for ProbePanel {
    fn drop(&mut self) {
        if let Some(p) = self.recording.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl ProbePanel {
    pub fn running(&self) -> bool {
        self.run.is_some()
    }

    /// Starts the probe of `url` with the selected cases, recording to `recording`.
    pub fn start(&mut self, recording: PathBuf, wake: Arc<dyn Fn() + Send + Sync>) {
        if self.run.is_some() {
            return;
        }
        match self.prepare(&recording) {
            Ok(opts) => {
                let total = opts.cases.len();
                let results = Arc::new(Mutex::new(Vec::new()));
                let live = results.clone();
                let spawned = std::thread::Builder::new().name("probe-run".to_owned()).spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| format!("cannot start the runtime: {e}"))?;
                    let mut progress = move |r: &CaseResult| {
                        if let Ok(mut l) = live.lock() {
                            l.push(r.clone());
                        }
                        wake();
                    };
                    let (_, skipped) = rt.block_on(run_all(opts, &mut progress));
                    Ok(skipped)
                });
                match spawned {
                    Ok(worker) => {
                        self.error = None;
                        self.results.clear();
                        self.selected = None;
                        self.skipped = 0;
                        if let Some(old) = self.recording.take() {
                            let _ = std::fs::remove_file(old);
                        }
                        self.run = Some(RunningProbe {
                            results,
                            worker,
                            recording,
                            total,
                        });
                    }
                    Err(e) => self.error = Some(format!("cannot start the probe: {e}")),
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The run's options from the pane's fields (checked before anything connects).
    fn prepare(&self, recording: &std::path::Path) -> Result<RunOptions, String> {
        let target = crate::live::target::parse_target(self.url.trim()).map_err(|e| format!("URL: {e}"))?;
        let patterns = Some(self.cases.trim())
            .filter(|c| !c.is_empty())
            .map(cases::parse_selection)
            .transpose()?;
        let selected = cases::select(patterns.as_deref(), false);
        if selected.is_empty() {
            return Err(format!("'{}' matches no case", self.cases.trim()));
        }
        let tls = if target.secure {
            let opts = crate::live::tls::TlsOptions::default();
            Some(crate::live::tls::tls_config(&opts).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let file = crate::live::recorder::open_recording(recording)
            .map_err(|e| format!("cannot record to {}: {e}", recording.display()))?;
        let recorder: SharedRecorder = Arc::new(Mutex::new(RecState {
            pending: Some(file),
            rec: None,
        }));
        Ok(RunOptions {
            target,
            tls,
            cases: selected,
            connect_timeout: Duration::from_secs(10),
            case_timeout: CASE_TIMEOUT,
            total_timeout: TOTAL_TIMEOUT,
            recorder: Some(recorder),
        })
    }

    /// Takes in the verdicts since the last frame; the recording when the run has just ended.
    pub fn poll(&mut self) -> Option<PathBuf> {
        let run = self.run.as_ref()?;
        if let Ok(r) = run.results.lock() {
            self.results.clone_from(&r);
        }
        if !run.worker.is_finished() {
            return None;
        }
        let run = self.run.take()?;
        match run.worker.join() {
            Ok(Ok(skipped)) => {
                self.skipped = skipped;
                self.recording = Some(run.recording.clone());
                Some(run.recording)
            }
            Ok(Err(e)) => {
                self.error = Some(e);
                None
            }
            Err(_) => {
                self.error = Some("the probe stopped unexpectedly".to_owned());
                None
            }
        }
    }
}

/// The connection that ran case `id` in the opened recording.
pub fn case_connection(store: &Store, id: &str) -> Option<ConnId> {
    store
        .connections
        .iter()
        .find(|c| {
            c.info
                .handshake
                .as_ref()
                .and_then(|h| h.request.as_ref())
                .and_then(|r| r.header(CASE_HEADER))
                == Some(id)
        })
        .map(|c| c.info.conn)
}
