//! Never lose a recording: quitting, opening a file, starting a capture, connecting or
//! closing a tab while a capture's or a live session's recording is unsaved asks Save /
//! Discard / Cancel first (as Wireshark does); recordings left by a crashed run are offered
//! at the next start.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::capture::recordings::{self, Orphan};
use crate::gui::app::{FramescopeApp, StatusLine};
use crate::gui::commands::Command;
use crate::gui::model::Cx;

/// An action that would end or replace recordings, waiting for the user's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    Quit,
    Open(PathBuf),
    StartCapture,
    Connect,
    CloseTab(usize),
}

impl Pending {
    fn verb(&self) -> &'static str {
        match self {
            Pending::Quit => "Quitting",
            Pending::Open(_) => "Opening a file",
            Pending::StartCapture => "Starting a capture",
            Pending::Connect => "Connecting again",
            Pending::CloseTab(_) => "Closing the tab",
        }
    }
}

/// The guard's state, part of the app.
pub struct Guard {
    /// Where recordings are written (the user's cache directory; tests use a temporary one).
    pub dir: PathBuf,
    /// The action waiting for Save / Discard / Cancel.
    pub prompt: Option<Pending>,
    /// The recordings the prompt lists, with their sizes when it was raised.
    pub prompt_files: Vec<(PathBuf, u64)>,
    /// Recordings the user saved (or chose to discard) since they were made.
    pub settled: HashSet<PathBuf>,
    /// Recordings of an earlier run that ended without cleaning up.
    pub orphans: Vec<Orphan>,
    orphans_checked: bool,
    /// Set once the user confirmed quitting: the next close request goes through.
    pub quit_confirmed: bool,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            dir: recordings::default_dir(),
            prompt: None,
            prompt_files: Vec::new(),
            settled: HashSet::new(),
            orphans: Vec::new(),
            orphans_checked: false,
            quit_confirmed: false,
        }
    }
}

/// Whether a recording holds anything worth keeping.
fn has_data(path: &PathBuf) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

impl FramescopeApp {
    /// Recordings that `action` would lose: all of them for quitting, opening or capturing;
    /// the capture's and the current tab's for a connect; the tab's own for closing it.
    pub fn recordings_at_risk(&self, action: &Pending) -> Vec<PathBuf> {
        let capture = self.panes.capture.recording.iter();
        let mut paths: Vec<PathBuf> = match action {
            Pending::Quit | Pending::Open(_) | Pending::StartCapture => capture
                .chain(self.clients.tabs.iter().filter_map(|t| t.recording.as_ref()))
                .cloned()
                .collect(),
            Pending::Connect => capture
                .chain(self.clients.current().recording.iter())
                .cloned()
                .collect(),
            Pending::CloseTab(i) => self
                .clients
                .tabs
                .get(*i)
                .and_then(|t| t.recording.clone())
                .into_iter()
                .collect(),
        };
        paths.retain(|p| has_data(p) && !self.guard.settled.contains(p));
        paths
    }

    /// Runs `action` now, or asks first when it would lose a recording.
    pub fn guarded(&mut self, action: Pending) {
        let at_risk = self.recordings_at_risk(&action);
        if at_risk.is_empty() {
            self.run_pending(action);
        } else {
            self.guard.prompt_files = at_risk
                .into_iter()
                .map(|p| {
                    let bytes = std::fs::metadata(&p).map_or(0, |m| m.len());
                    (p, bytes)
                })
                .collect();
            self.guard.prompt = Some(action);
        }
    }

    fn run_pending(&mut self, action: Pending) {
        match action {
            Pending::Quit => self.guard.quit_confirmed = true,
            Pending::Open(path) => self.open(path),
            Pending::StartCapture => self.start_capture(),
            Pending::Connect => self.connect_client(),
            Pending::CloseTab(i) => self.clients.close(i),
        }
    }

    /// Looks once for recordings of a crashed run.
    pub fn check_orphans(&mut self) {
        if !self.guard.orphans_checked {
            self.guard.orphans_checked = true;
            self.guard.orphans = recordings::orphans(&self.guard.dir);
        }
    }

    /// Handles the window manager's close button and File → Quit: asks when recordings are
    /// unsaved, else lets the window close.
    pub fn handle_close_request(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && !self.guard.quit_confirmed {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.guarded(Pending::Quit);
        }
        if self.guard.quit_confirmed && !self.quit_sent {
            self.quit_sent = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// Save / Discard / Cancel for the pending action.
    pub fn answer_prompt(&mut self, answer: Answer) {
        let Some(action) = self.guard.prompt.take() else {
            return;
        };
        let at_risk = self.recordings_at_risk(&action);
        match answer {
            Answer::Cancel => return,
            Answer::Discard => {}
            Answer::Save => {
                for path in &at_risk {
                    if !self.save_recording_as(path) {
                        // The user cancelled a save dialog: keep everything, do nothing.
                        return;
                    }
                }
            }
        }
        self.guard.settled.extend(at_risk);
        self.run_pending(action);
    }

    /// Asks where to save `recording` and copies it there. False when the user cancelled.
    pub(crate) fn save_recording_as(&mut self, recording: &std::path::Path) -> bool {
        let name = recording
            .file_name()
            .map_or_else(|| "capture.pcapng".into(), |n| n.to_string_lossy().into_owned());
        let Some(path) = self.save_file(
            rfd::FileDialog::new()
                .add_filter("pcapng", &["pcapng"])
                .set_file_name(name),
        ) else {
            return false;
        };
        self.status = Some(match crate::capture::live::save_recording(recording, &path) {
            Ok(bytes) => {
                self.guard.settled.insert(recording.to_owned());
                StatusLine {
                    text: format!("saved {bytes} bytes to {}", path.display()),
                    is_error: false,
                }
            }
            Err(e) => StatusLine {
                text: format!("cannot save {}: {e}", path.display()),
                is_error: true,
            },
        });
        true
    }

    /// Opens a recovered recording; it stays in the cache (unsaved) until saved or discarded.
    pub fn open_orphan(&mut self, path: PathBuf) {
        self.guard.orphans.retain(|o| o.path != path);
        self.open(path.clone());
        self.panes.capture.recording = Some(path);
    }

    pub fn delete_orphan(&mut self, path: &PathBuf) {
        self.guard.orphans.retain(|o| &o.path != path);
        let _ = std::fs::remove_file(path);
    }

    /// Removes recordings nobody needs any more at exit: saved or discarded ones. An unsaved
    /// one (the window was killed before asking) stays for recovery.
    pub fn remove_settled_recordings(&mut self) {
        let mut paths: Vec<PathBuf> = self.panes.capture.recording.take().into_iter().collect();
        paths.extend(self.clients.tabs.iter_mut().filter_map(|t| t.recording.take()));
        for p in paths {
            if self.guard.settled.contains(&p) || !has_data(&p) || self.guard.quit_confirmed {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// The user's answer to the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Save,
    Discard,
    Cancel,
}

/// The prompt and the recovery window.
pub fn guard_windows_ui(cx: &mut Cx<'_>, guard: &Guard, ctx: &egui::Context) {
    if let Some(action) = &guard.prompt {
        let at_risk = &guard.prompt_files;
        let mut answer = None;
        egui::Modal::new(egui::Id::unique("unsaved-recordings")).show(ctx, |ui| {
            ui.heading("Unsaved recordings");
            ui.label(format!(
                "{} would lose {} recording{} not saved yet:",
                action.verb(),
                at_risk.len(),
                if at_risk.len() == 1 { "" } else { "s" }
            ));
            for (p, bytes) in at_risk {
                let bytes = *bytes;
                ui.monospace(format!("{}  ({})", p.display(), crate::gui::format::bytes(bytes)));
            }
            ui.horizontal(|ui| {
                if ui.button("Save…").clicked() {
                    answer = Some(Answer::Save);
                }
                if ui.button("Discard").clicked() {
                    answer = Some(Answer::Discard);
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(Answer::Cancel);
                }
            });
        });
        if let Some(a) = answer {
            cx.push(Command::AnswerPrompt(a));
        }
    }
    if !guard.orphans.is_empty() {
        let mut open = true;
        crate::gui::panes::window(ctx, "Recover recordings")
            .id(egui::Id::unique("recover-recordings"))
            .open(&mut open)
            .show(ctx, |ui| {
                ui.label("framescope ended without saving these recordings (a crash or a kill):");
                for o in guard.orphans.clone() {
                    ui.horizontal(|ui| {
                        let name = o
                            .path
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                        ui.monospace(format!("{name}  {}", crate::gui::format::bytes(o.bytes)));
                        if ui.button("Open").clicked() {
                            cx.push(Command::OpenOrphan(o.path.clone()));
                        }
                        if ui.button("Delete").clicked() {
                            cx.push(Command::DeleteOrphan(o.path.clone()));
                        }
                    });
                }
            });
        if !open {
            // Closing the window keeps the files for the next start.
            cx.push(Command::DismissOrphans);
        }
    }
}
