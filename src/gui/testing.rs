//! Server testing in the window (issue 15): the Scenarios and Probe panes' states, the
//! "Replay against…" form, and the commands they push. Runs happen on their own threads
//! (`gui::scenario_run`, `gui::probe_run`); each run's recording is opened in the inspector
//! when it ends, so clicking a step or a case selects what it sent and received.

use std::path::PathBuf;

use crate::analysis::event::ConnId;
use crate::gui::app::{FramescopeApp, StatusLine};
use crate::gui::commands::Command;
use crate::gui::probe_run::{ProbePanel, case_connection};
use crate::gui::scenario_run::{ScenarioPanel, find_message};
use crate::scenario::replay::{ReplayOptions, Timing, scenario_from_store};

/// What the testing panes ask for.
#[derive(Clone, Debug, PartialEq)]
pub enum TestCommand {
    /// Show or hide the Scenarios pane.
    ToggleScenarios,
    /// Pick a scenario file (a dialog asks).
    OpenScenarioDialog,
    LoadScenario(PathBuf),
    RunScenario,
    /// Stop the running scenario (it still reports what it did).
    StopScenario,
    /// Select the message a step (by path) read, in the run's recording.
    RevealStep(String),
    /// Show or hide the Probe pane.
    ToggleProbe,
    RunProbe,
    /// Select the connection of a case (by id) and show its transcript.
    ShowCase(String),
    /// Open the "Replay against…" form for a stored connection.
    ReplayAgainst(ConnId),
    /// Turn the form's connection into a scenario and run it against the form's URL.
    RunReplay,
}

/// The "Replay against…" form.
#[derive(Default)]
pub struct ReplayForm {
    pub conn: Option<ConnId>,
    pub url: String,
    /// Send as fast as the expectations allow (else with the captured gaps).
    pub fast: bool,
}

#[derive(Default)]
pub struct Testing {
    pub scenarios: ScenarioPanel,
    pub probe: ProbePanel,
    pub replay: ReplayForm,
}

impl FramescopeApp {
    /// Takes in the runs' progress; a run that has ended has its recording opened.
    pub(crate) fn poll_testing(&mut self) {
        for recording in [self.testing.scenarios.poll(), self.testing.probe.poll()]
            .into_iter()
            .flatten()
        {
            self.push(Command::Open(recording));
        }
    }

    pub(crate) fn test_command(&mut self, command: TestCommand) {
        match command {
            TestCommand::ToggleScenarios => self.testing.scenarios.open = !self.testing.scenarios.open,
            TestCommand::OpenScenarioDialog => {
                if let Some(path) = self.pick_file(
                    rfd::FileDialog::new()
                        .add_filter("Scenarios", &["ron"])
                        .add_filter("All files", &["*"]),
                ) {
                    self.testing.scenarios.load(path);
                }
            }
            TestCommand::LoadScenario(path) => self.testing.scenarios.load(path),
            TestCommand::RunScenario => {
                let to = crate::capture::recordings::new_path(&self.guard.dir, "scenario");
                self.testing.scenarios.start(to, self.wake.clone());
            }
            TestCommand::StopScenario => self.testing.scenarios.stop(),
            TestCommand::RevealStep(path) => {
                let message = self
                    .testing
                    .scenarios
                    .rows
                    .iter()
                    .find(|r| r.path == path)
                    .and_then(|r| r.message);
                self.testing.scenarios.selected = Some(path);
                match message.and_then(|m| find_message(&self.store, m)) {
                    Some((conn, index)) => {
                        self.push(Command::SelectConnection(Some(conn)));
                        self.push(Command::RevealMessage(index));
                    }
                    None if message.is_some() => self
                        .note("the step's message is not in the table (yet): the run's recording may still be loading"),
                    None => {}
                }
            }
            TestCommand::ToggleProbe => self.testing.probe.open = !self.testing.probe.open,
            TestCommand::RunProbe => {
                let to = crate::capture::recordings::new_path(&self.guard.dir, "probe");
                self.testing.probe.start(to, self.wake.clone());
            }
            TestCommand::ShowCase(id) => {
                match case_connection(&self.store, &id) {
                    Some(conn) => {
                        self.push(Command::SelectConnection(Some(conn)));
                        self.push(Command::FollowStream(conn));
                    }
                    None => self.note("the case's connection is not in the table: the recording may still be loading, or the case made none"),
                }
                self.testing.probe.selected = Some(id);
            }
            TestCommand::ReplayAgainst(conn) => {
                let form = &mut self.testing.replay;
                if form.url.is_empty() {
                    form.url = self.testing.scenarios.url.clone();
                }
                form.conn = Some(conn);
            }
            TestCommand::RunReplay => self.run_replay(),
        }
    }

    /// What the command line asks of the testing panes at start.
    pub fn start_testing(&mut self, scenario: Option<PathBuf>, url: Option<String>, run: bool, probe: Option<String>) {
        if let Some(path) = scenario {
            self.testing.scenarios.url = url.unwrap_or_default();
            self.test_command(TestCommand::LoadScenario(path));
            if run {
                self.test_command(TestCommand::RunScenario);
            }
        }
        if let Some(url) = probe {
            self.testing.probe.url = url;
            self.testing.probe.open = true;
            self.test_command(TestCommand::RunProbe);
        }
    }

    /// Builds the form's scenario from the store and runs it in the Scenarios pane.
    fn run_replay(&mut self) {
        let Some(conn) = self.testing.replay.conn else { return };
        let source = self
            .source
            .as_ref()
            .map_or_else(|| "the window".to_owned(), |s| s.label());
        let options = ReplayOptions {
            conn: Some(conn),
            timing: if self.testing.replay.fast {
                Timing::Fast
            } else {
                Timing::Original
            },
            vary: Vec::new(),
        };
        let panel = &mut self.testing.scenarios;
        match scenario_from_store(&self.model.store, &source, &options) {
            Ok(s) => {
                panel.set(s, None);
                panel.url = self.testing.replay.url.trim().to_owned();
                panel.open = true;
                self.testing.replay.conn = None;
                self.test_command(TestCommand::RunScenario);
            }
            Err(e) => self.note(&e),
        }
    }

    fn note(&mut self, text: &str) {
        self.status = Some(StatusLine {
            text: text.to_owned(),
            is_error: true,
        });
    }
}
