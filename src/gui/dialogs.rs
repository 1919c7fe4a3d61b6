//! File dialogs (rfd), with a clear message when none can be shown: rfd answers "no file"
//! at once when the desktop has no portal or toolkit for it, which looked like File → Open
//! doing nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::gui::app::{FramescopeApp, StatusLine};

/// A person cannot dismiss a dialog this fast: an answer sooner means none was shown.
const NO_DIALOG_WITHIN: Duration = Duration::from_millis(150);

/// What the status bar says when no dialog could be shown.
pub const NO_DIALOG: &str = "no file dialog could be shown: install xdg-desktop-portal with a backend \
(Debian/Ubuntu: xdg-desktop-portal-gtk); meanwhile give files on the command line or drop them on the window";

/// Whether a dialog that returned nothing after `elapsed` was ever on screen.
pub fn was_shown(elapsed: Duration) -> bool {
    elapsed >= NO_DIALOG_WITHIN
}

impl FramescopeApp {
    /// Shows an open dialog; `None` when cancelled (or when none could be shown, which the
    /// status bar then explains).
    pub(crate) fn pick_file(&mut self, dialog: rfd::FileDialog) -> Option<PathBuf> {
        let started = Instant::now();
        let picked = dialog.pick_file();
        self.note_dialog(picked.is_none(), started);
        picked
    }

    /// Shows a save dialog (see `pick_file`).
    pub(crate) fn save_file(&mut self, dialog: rfd::FileDialog) -> Option<PathBuf> {
        let started = Instant::now();
        let picked = dialog.save_file();
        self.note_dialog(picked.is_none(), started);
        picked
    }

    fn note_dialog(&mut self, nothing: bool, started: Instant) {
        if nothing && !was_shown(started.elapsed()) {
            self.status = Some(StatusLine {
                text: NO_DIALOG.to_owned(),
                is_error: true,
            });
        }
    }
}
