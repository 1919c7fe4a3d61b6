//! The app: state, the frame loop (drain feeds → input → panes → commands), persistence.
//!
//! What the app holds is described in `model.rs`; the commands it runs and the keyboard are
//! `app_commands.rs`; the live tabs' part is `sessions.rs`, feeds are `feed.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::AnalyzerConfig;
use crate::analysis::event::ConnId;
use crate::gui::commands::Command;
use crate::gui::feed::{Drained, Feed, FeedEnd, Source};
pub use crate::gui::model::CapturePanel;
use crate::gui::model::{Cx, Model, PaneStates};
use crate::gui::panes;
use crate::gui::settings::{SETTINGS_KEY, Settings};
use crate::gui::view::FilteredView;
use crate::store::Store;

/// Time the GUI thread spends per frame taking in loaded events, so it stays responsive.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);
/// Below this width (what is left beside the docked live pane) the detail column folds.
const DETAIL_FOLD_WIDTH: f32 = 760.0;

/// Tabs of the lower area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LowerTab {
    #[default]
    Plots,
    Findings,
    Handshake,
    Anatomy,
}

/// Which plot is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlotTab {
    Rtt,
    /// Application request → answer round trips.
    AppRtt,
    #[default]
    Timeline,
    Throughput,
}

/// How the selected payload is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DetailTab {
    #[default]
    Text,
    Json,
    Hex,
    Base64,
    /// The application protocol's decoded tree (`panes::detail::protocol_ui`).
    Protocol,
}

/// What is selected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub conn: Option<ConnId>,
    pub message: Option<u32>,
}

/// A line for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub is_error: bool,
}

pub struct FramescopeApp {
    /// What every pane reads (`Deref` makes `app.store` and the like read as before).
    pub model: Model,
    /// Each pane's own state.
    pub panes: PaneStates,
    /// The user's choice for the detail column; `None` follows the width.
    pub detail_shown: Option<bool>,
    pub(crate) load_started: Option<Instant>,
    /// A message to select as soon as it has been loaded (`--goto`).
    pub pending_goto: Option<u32>,
    /// The connect window: one tab per live connection.
    pub clients: crate::gui::sessions::ClientTabs,
    fonts_installed: bool,
    /// When the TLS key log's presence was last checked.
    pub(crate) keylog_checked: Option<Instant>,
    /// Unsaved-recording prompts and crash recovery.
    pub guard: crate::gui::guard::Guard,
    /// The Scenarios and Probe panes and the "Replay against…" form.
    pub testing: crate::gui::testing::Testing,
    /// The window was told to close (once).
    pub(crate) quit_sent: bool,
    pub(crate) commands: Vec<Command>,
    pub(crate) wake: Arc<dyn Fn() + Send + Sync>,
}

impl std::ops::Deref for FramescopeApp {
    type Target = Model;

    fn deref(&self) -> &Model {
        &self.model
    }
}

impl std::ops::DerefMut for FramescopeApp {
    fn deref_mut(&mut self) -> &mut Model {
        &mut self.model
    }
}

impl FramescopeApp {
    /// `wake` asks the GUI for a repaint (from a feed thread).
    pub fn new(settings: Settings, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        // `mqtt.topic` and the other application fields of the filter language.
        crate::query::register_app_protocol_fields();
        let mut app = FramescopeApp {
            model: Model::new(settings),
            panes: PaneStates::default(),
            detail_shown: None,
            load_started: None,
            pending_goto: None,
            clients: Default::default(),
            fonts_installed: false,
            keylog_checked: None,
            guard: Default::default(),
            testing: Default::default(),
            quit_sent: false,
            commands: Vec::new(),
            wake,
        };
        app.apply_decode_rules();
        app
    }

    /// Queues a command for the end of the frame.
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// Starts loading a file (replacing what is loaded).
    pub fn open(&mut self, path: PathBuf) {
        self.feed = None;
        // Opening something else ends the live connections (their events would have nowhere
        // to go).
        self.clients.end_all();
        let budget = std::fs::metadata(&path)
            .map(|m| m.len().saturating_mul(3) / 2)
            .unwrap_or(u64::MAX);
        let mut store = Store::with_payload_budget(budget.max(64 << 20));
        store.first_packet = crate::capture::OfflineReader::first_packet_ts(&path, crate::capture::ReaderKind::Auto);
        self.replace_store(store);
        let config = AnalyzerConfig {
            emit_frames: true,
            ..AnalyzerConfig::default()
        };
        let keylog = self.settings.tls_keylog.clone();
        match Feed::open_file(&path, config, keylog, self.wake.clone()) {
            Ok(feed) => {
                self.status = Some(StatusLine {
                    text: format!("loading {}", path.display()),
                    is_error: false,
                });
                self.source = Some(feed.source.clone());
                self.feed = Some(feed);
                self.load_started = Some(Instant::now());
            }
            Err(e) => {
                self.status = Some(StatusLine {
                    text: format!("cannot start loading: {e}"),
                    is_error: true,
                });
            }
        }
    }

    /// Starts a live capture with the capture window's interface and filter.
    pub fn start_capture(&mut self) {
        self.feed = None;
        self.clients.end_all();
        if let Some(old) = self.panes.capture.recording.take() {
            let _ = std::fs::remove_file(old);
        }
        let record_to = crate::capture::recordings::new_path(&self.guard.dir, "capture");
        let options = crate::capture::live::LiveOptions {
            interface: self.panes.capture.interface.clone(),
            filter: self.panes.capture.filter.clone(),
            snaplen: 262_144,
            record_to: record_to.clone(),
            keylog: self.settings.tls_keylog.clone(),
        };
        self.reset_for_live_source(Source::LiveCapture {
            interface: options.interface.clone(),
            recording: record_to.clone(),
        });
        let config = AnalyzerConfig {
            emit_frames: true,
            ..AnalyzerConfig::default()
        };
        match Feed::capture_live(options, config, self.wake.clone()) {
            Ok(feed) => {
                self.status = Some(StatusLine {
                    text: format!("capturing on {}", self.panes.capture.interface),
                    is_error: false,
                });
                self.panes.capture.recording = Some(record_to);
                self.feed = Some(feed);
                self.load_started = Some(Instant::now());
            }
            Err(e) => {
                self.status = Some(StatusLine {
                    text: format!("cannot start capturing: {e}"),
                    is_error: true,
                });
            }
        }
    }

    /// Empties the tables for a live source (a capture or the live connections).
    pub fn reset_for_live_source(&mut self, source: Source) {
        self.replace_store(Store::with_payload_budget(1 << 30));
        self.source = Some(source);
        self.load_started = Some(Instant::now());
    }

    /// Shows `store` instead of what was loaded: the view, selection, marks and the plots'
    /// caches (which index the old store's messages) start over.
    fn replace_store(&mut self, store: Store) {
        self.store = store;
        self.view = FilteredView::default();
        self.apply_decode_rules();
        self.selection = Selection::default();
        self.marks.clear();
        self.follow = None;
        self.panes.lower.plots = Default::default();
        self.first_results_after = None;
    }

    /// True while a file is being read, a capture runs, or a live session may send events.
    pub fn is_loading(&self) -> bool {
        self.feed.is_some() || self.clients.is_feeding()
    }

    /// Takes in the file's or capture's events for at most `budget`. Returns true if more may
    /// be waiting.
    pub fn drain_feed(&mut self, budget: Duration) -> bool {
        let Some(feed) = &mut self.model.feed else {
            return false;
        };
        let drained = feed.drain(&mut self.model.store, Instant::now() + budget);
        if self.first_results_after.is_none()
            && !self.store.connections.is_empty()
            && let Some(t) = self.load_started
        {
            self.first_results_after = Some(t.elapsed());
        }
        let end = match drained {
            Drained::More => return true,
            Drained::Idle => return true,
            Drained::Ended(end) => end,
        };
        let source = self.feed.take().map(|f| f.source.clone());
        let label = source.as_ref().map(Source::label).unwrap_or_default();
        let counts = format!(
            "{} connections, {} messages",
            self.store.connections.len(),
            self.store.messages.len()
        );
        let packets = |n: u64| {
            if n == 0 {
                String::new()
            } else {
                format!("{n} packets, ")
            }
        };
        let (mut text, is_error) = match end {
            FeedEnd::Finished(summary) => {
                if let Some(Source::File(path)) = &source {
                    self.settings.remember(path);
                }
                let summary = summary.unwrap_or_default();
                let mut text = format!("{label}: {}{counts}", packets(summary.packets));
                if let Some(why) = &summary.stopped_early {
                    text.push_str(&format!(" — stopped early: {why}"));
                }
                (text, summary.stopped_early.is_some())
            }
            FeedEnd::Stopped { packets: n } => (format!("{label}: {}{counts}", packets(n)), false),
            FeedEnd::Failed(e) => (e, true),
        };
        if self.store.arena.elided > 0 {
            text.push_str(&format!(
                " — {} payloads kept only in part (memory budget)",
                self.store.arena.elided
            ));
        }
        self.status = Some(StatusLine { text, is_error });
        false
    }

    /// One frame: everything the window shows.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        // Payloads can hold any Unicode: characters no font has are drawn as boxes, never an
        // error (egui_kittest's default is to panic on them).
        ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
        if !self.fonts_installed {
            // CJK, Arabic, Hebrew, Devanagari and symbols from the system's fonts.
            ctx.set_fonts(crate::gui::fonts::definitions());
            self.fonts_installed = true;
        }
        ctx.set_visuals(if self.settings.dark_mode {
            egui::Visuals::dark()
        } else {
            egui::Visuals::light()
        });
        self.check_orphans();
        self.poll_testing();
        let deadline = Instant::now() + DRAIN_BUDGET;
        let more = self.drain_feed(DRAIN_BUDGET) | self.clients.drain(&mut self.model.store, deadline);
        self.model.loading = self.is_loading();
        // Panes never touch files: the key log's presence is looked up here, once a second.
        if self
            .keylog_checked
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            self.keylog_checked = Some(Instant::now());
            self.model.keylog_present = self.settings.tls_keylog.as_deref().is_some_and(std::path::Path::exists);
        }
        self.report_client_states();
        if let Some(goto) = self.pending_goto
            && (goto as usize) < self.store.messages.len()
        {
            self.pending_goto = None;
            self.push(Command::RevealMessage(goto));
        }
        let filter = self.effective_filter();
        let model = &mut self.model;
        model
            .view
            .refresh(&model.store, &filter, &model.display_filter, model.sort);
        self.handle_input(&ctx);

        // Panels added first take the full width: bars, then the connection strip and the
        // lower area, then the live connections pane (when docked) and the detail column;
        // the message table gets the rest.
        // Each pane reads the model and its own state; what it wants done it pushes.
        let (model, panes, commands) = (&self.model, &mut self.panes, &mut self.commands);
        let mut cx = Cx::new(model, commands);
        panes::top_bar::top_bar_ui(&mut cx, &mut panes.top_bar, ui);
        panes::status_bar::status_bar_ui(&mut cx, &self.clients, ui);
        panes::set_window_area(&ctx, ui.available_rect_before_wrap());
        // Sizes follow the window: at 1024×700 the table keeps room for its rows, and no
        // pane can be dragged so big that the table disappears.
        let height = ui.available_height();
        let table_room = 180.0;
        egui::Panel::top("connections")
            .resizable(true)
            .default_size((height * 0.2).clamp(80.0, 150.0))
            .min_size(60.0)
            .max_size((height * 0.4).max(80.0))
            .show(ui, |ui| {
                panes::connections::connections_ui(&mut cx, &mut panes.connections_view, ui)
            });
        let lower_max = (ui.available_height() - table_room).max(160.0);
        let lower_default = (ui.available_height() * 0.4).clamp(160.0, 420.0).min(lower_max);
        egui::Panel::bottom("lower")
            .resizable(true)
            .default_size(lower_default)
            .min_size(160.0)
            .max_size(lower_max)
            .show(ui, |ui| {
                panes::lower::lower_ui(&mut cx, &mut panes.lower, &self.clients, ui)
            });
        if self.clients.open && !cx.settings.live_pane_floating {
            // Never more than half the window: the table beside it keeps its columns.
            let live_max = (ui.available_width() * 0.5).max(300.0);
            egui::Panel::left("live")
                .resizable(true)
                .default_size(470.0_f32.min(ui.available_width() * 0.42).max(300.0))
                .min_size(300.0)
                .max_size(live_max)
                .show(ui, |ui| panes::client::client_panel_ui(&mut cx, &mut self.clients, ui));
        }
        // Too narrow for the table and the detail column side by side (1024 px with the live
        // pane docked): the detail column folds to a button unless the user opened it.
        let narrow = ui.available_width() < DETAIL_FOLD_WIDTH;
        let detail_shown = &mut self.detail_shown;
        if detail_shown.unwrap_or(!narrow) {
            let detail_max = (ui.available_width() * 0.45).max(200.0);
            egui::Panel::right("detail")
                .resizable(true)
                .default_size((ui.available_width() * 0.3).clamp(200.0, 380.0))
                .min_size(200.0)
                .max_size(detail_max)
                .show(ui, |ui| {
                    if ui
                        .small_button("▶ hide")
                        .on_hover_text("Fold the detail column (the table gets its width)")
                        .clicked()
                    {
                        *detail_shown = Some(false);
                    }
                    panes::detail::detail_ui(&mut cx, &mut panes.detail_tab, ui)
                });
        } else {
            egui::Panel::right("detail-folded")
                .resizable(false)
                .exact_size(28.0)
                .show(ui, |ui| {
                    if ui.button("◀").on_hover_text("Show the message detail column").clicked() {
                        *detail_shown = Some(true);
                    }
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            panes::messages::messages_ui(&mut cx, &mut panes.scroll_to_selected, ui)
        });
        panes::capture::capture_window_ui(&mut cx, &mut panes.capture, &ctx);
        panes::client::client_window_ui(&mut cx, &mut self.clients, &ctx);
        panes::builder::builder_window_ui(&mut cx, &mut panes.builder, &ctx);
        panes::reference::reference_window_ui(&mut panes.reference, &ctx);
        panes::follow::follow_window_ui(&mut cx, &mut panes.follow_cache, &ctx);
        panes::scenarios::scenarios_window_ui(&mut cx, &mut self.testing, &ctx);
        panes::probe::probe_window_ui(&mut cx, &mut self.testing, &ctx);
        lesson_window_ui(&mut cx, &ctx);
        crate::gui::decode_as::proto_dialog_ui(&mut cx, &mut panes.proto_dialog, &ctx);
        crate::gui::guard::guard_windows_ui(&mut cx, &self.guard, &ctx);

        self.apply_commands(&ctx);
        self.handle_close_request(&ctx);
        if more || self.feed.is_some() || self.view.scanning(&self.store) {
            ctx.request_repaint_after(Duration::from_millis(16));
        } else if self.clients.is_feeding() {
            // Events wake the window themselves; this keeps the uptime clock going.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }
}

/// The open lesson's explanation, beside the views it talks about.
fn lesson_window_ui(cx: &mut Cx<'_>, ctx: &egui::Context) {
    let Some(lesson) = cx.lesson.and_then(|i| crate::gui::lessons::LESSONS.get(i)) else {
        return;
    };
    let mut open = true;
    crate::gui::panes::window(ctx, lesson.title)
        .id(egui::Id::unique("lesson"))
        .open(&mut open)
        .default_width(420.0)
        .show(ctx, |ui| {
            ui.label(lesson.text);
        });
    if !open {
        cx.push(Command::CloseLesson);
    }
}

impl Drop for FramescopeApp {
    /// Recordings saved or discarded are removed; an unsaved one (the window was closed
    /// without the prompt, e.g. by a signal) stays for recovery at the next start.
    fn drop(&mut self) {
        self.feed = None;
        self.clients.end_all();
        self.remove_settled_recordings();
    }
}

impl eframe::App for FramescopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}
