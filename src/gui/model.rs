//! What every pane may read (`Model`) and how it asks for a change (`Cx::push`).
//!
//! The app owns three kinds of state: the `Model` (the loaded data and the user's choices
//! that commands change), each pane's own state (`PaneStates`: forms, tabs, caches), and the
//! engines behind the window (feeds, live sessions, test runs). A pane gets a `Cx` — shared
//! read access to the model plus the command queue — and `&mut` only to its own state, so it
//! cannot open files, start threads or change what other panes show except through a
//! `Command` that `FramescopeApp::apply_commands` runs at the end of the frame.

use std::path::PathBuf;
use std::time::Duration;

use crate::analysis::event::ConnId;
use crate::gui::app::{DetailTab, LowerTab, PlotTab, Selection, StatusLine};
use crate::gui::commands::Command;
use crate::gui::feed::{Feed, Source};
use crate::gui::settings::Settings;
use crate::gui::view::FilteredView;
use crate::store::{Filter, Store};

/// The window's shared state: read by every pane, changed by the app and its commands.
pub struct Model {
    pub store: Store,
    /// The file or live capture feeding the store (client sessions have their own feeds).
    pub feed: Option<Feed>,
    /// What the store holds: the last file, capture or the live connections.
    pub source: Option<Source>,
    pub status: Option<StatusLine>,
    pub selection: Selection,
    /// The plain-text filter box and its toggles.
    pub filter: Filter,
    /// The display filter's text (the query language of `analyze --filter`).
    pub display_filter: String,
    pub sort: crate::store::sort::SortOrder,
    /// Marked (bookmarked) messages.
    pub marks: std::collections::BTreeSet<u32>,
    /// The connection shown in the follow-stream window.
    pub follow: Option<ConnId>,
    pub view: FilteredView,
    pub settings: Settings,
    /// How long the current file took to show its first messages.
    pub first_results_after: Option<Duration>,
    /// The lesson shown in the lesson window.
    pub lesson: Option<usize>,
    /// Set each frame: a file is being read, a capture runs, or a live session may send.
    pub loading: bool,
    /// The TLS key log file exists (checked by the app about once a second).
    pub keylog_present: bool,
}

impl Model {
    pub fn new(settings: Settings) -> Self {
        Model {
            store: Store::default(),
            feed: None,
            source: None,
            status: None,
            selection: Selection::default(),
            filter: Filter::default(),
            display_filter: String::new(),
            sort: Default::default(),
            marks: Default::default(),
            follow: None,
            view: FilteredView::default(),
            settings,
            first_results_after: None,
            lesson: None,
            loading: false,
            keylog_present: false,
        }
    }

    /// The filter with the selected connection applied (selecting a connection scopes the
    /// tables and plots).
    pub fn effective_filter(&self) -> Filter {
        let mut f = self.filter.clone();
        if f.conn.is_none() {
            f.conn = self.selection.conn;
        }
        f
    }

    /// The capture file the shown connections came from: the file opened, or a live
    /// capture's recording.
    pub fn packet_source(&self) -> Option<PathBuf> {
        match self.source.as_ref()? {
            Source::File(path) if !crate::capture::har::looks_like_har(path) => Some(path.clone()),
            Source::LiveCapture { recording, .. } => Some(recording.clone()),
            _ => None,
        }
    }
}

/// Each pane's own state: what only that pane reads and writes between frames.
#[derive(Default)]
pub struct PaneStates {
    pub top_bar: TopBarState,
    /// The connections strip's sort and flows toggle.
    pub connections_view: crate::gui::panes::connections::ConnectionsView,
    /// The follow window's transcript, kept between frames.
    pub follow_cache: crate::gui::panes::follow::FollowCache,
    /// Set for one frame when the table should scroll to the selected message.
    pub scroll_to_selected: bool,
    pub detail_tab: DetailTab,
    /// The lower area: its tab, the plots and the anatomy view.
    pub lower: LowerState,
    pub capture: CapturePanel,
    pub builder: crate::gui::panes::builder::BuilderPanel,
    pub reference: crate::gui::panes::reference::ReferencePanel,
    /// The protobuf "decode as" window, while open.
    pub proto_dialog: Option<crate::gui::decode_as::ProtoDialog>,
}

/// The top bar's state: the display filter being typed, and a focus request.
#[derive(Default)]
pub struct TopBarState {
    /// The display filter field's text while it is edited (applied with Enter).
    pub display_draft: String,
    /// Set for one frame to move keyboard focus to the filter's text field.
    pub focus_filter: bool,
}

/// The lower area's state: which tab, and the state of the views in it.
#[derive(Default)]
pub struct LowerState {
    pub tab: LowerTab,
    pub plot_tab: PlotTab,
    /// The plots' caches and where they drew last (`panes::plots`); emptied when the store is.
    pub plots: crate::gui::panes::plots::PlotsState,
    pub anatomy: crate::gui::panes::anatomy::AnatomyState,
}

/// The capture window's state.
#[derive(Default)]
pub struct CapturePanel {
    pub open: bool,
    /// Listed when the window opens (and on Refresh).
    pub interfaces: Option<Result<Vec<crate::capture::live::InterfaceInfo>, String>>,
    pub interface: String,
    pub filter: String,
    /// libpcap's verdict on `filter`, for the filter it was computed for.
    pub filter_check: Option<(String, Result<(), String>)>,
    /// The pcapng written by the last live capture, to save.
    pub recording: Option<PathBuf>,
}

/// What a pane is given besides its own state: the model to read and the command queue.
pub struct Cx<'a> {
    pub model: &'a Model,
    commands: &'a mut Vec<Command>,
}

impl<'a> Cx<'a> {
    pub fn new(model: &'a Model, commands: &'a mut Vec<Command>) -> Self {
        Cx { model, commands }
    }

    /// Queues a command for the end of the frame.
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }
}

impl std::ops::Deref for Cx<'_> {
    type Target = Model;

    fn deref(&self) -> &Model {
        self.model
    }
}
