//! The eframe/egui window. Only this module knows egui. Panes draw and push commands;
//! commands run once, at the end of the frame; loading runs on a background thread.

pub mod app;
mod app_commands;
pub mod app_decode;
pub mod app_form;
pub mod client_tab;
pub mod commands;
pub mod decode_as;
pub mod dialogs;
pub mod export;
pub mod feed;
pub mod fonts;
pub mod format;
pub mod guard;
pub mod json_layout;
pub mod lessons;
pub mod model;
pub mod panes;
pub mod probe_run;
pub mod scenario_run;
pub mod sessions;
pub mod settings;
pub mod testing;
pub mod theme;
pub mod view;

pub use app::FramescopeApp;

use std::path::PathBuf;

/// What the window starts with (from the command line).
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    pub file: Option<PathBuf>,
    /// Message to select once loaded.
    pub goto: Option<u32>,
    /// The lower area's first view.
    pub view: Option<app::LowerTab>,
    /// Display filter applied at start.
    pub display_filter: Option<String>,
    /// Connection whose transcript ("follow WebSocket stream") opens at start.
    pub follow: Option<u32>,
    /// Interface to open the capture window with.
    pub interface: Option<String>,
    pub capture_filter: String,
    pub start_capture: bool,
    /// URLs to connect to in the live connections pane, one tab each.
    pub connect: Vec<String>,
    /// Saved connection profiles to connect with, one tab each.
    pub profiles: Vec<String>,
    /// A scenario to open in the Scenarios pane, the URL to run it against, and whether to
    /// run it at once.
    pub scenario: Option<PathBuf>,
    pub scenario_url: Option<String>,
    pub run_scenario: bool,
    /// A server to probe at once in the Probe pane.
    pub probe: Option<String>,
    /// The TLS key log to use (and remember) from the start.
    pub keylog: Option<PathBuf>,
}

/// Opens the window.
pub fn run(start: StartOptions) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("framescope")
            .with_app_id("framescope")
            .with_inner_size([1400.0, 900.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "framescope",
        options,
        Box::new(move |cc| {
            let settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, settings::SETTINGS_KEY))
                .unwrap_or_default();
            let ctx = cc.egui_ctx.clone();
            let mut app = FramescopeApp::new(settings, std::sync::Arc::new(move || ctx.request_repaint()));
            if let Some(keylog) = start.keylog {
                app.settings.tls_keylog = Some(std::path::absolute(&keylog).unwrap_or(keylog));
            }
            if let Some(path) = start.file {
                app.open(path);
            }
            app.pending_goto = start.goto;
            if let Some(expr) = start.display_filter {
                app.panes.top_bar.display_draft = expr.clone();
                app.display_filter = expr;
            }
            app.follow = start.follow;
            if let Some(view) = start.view {
                app.panes.lower.tab = view;
            }
            if let Some(interface) = start.interface {
                app.refresh_interfaces();
                app.panes.capture.open = true;
                app.panes.capture.interface = interface;
                app.panes.capture.filter = start.capture_filter;
                if start.start_capture {
                    app.start_capture();
                }
            }
            app.connect_urls(start.connect);
            for name in &start.profiles {
                if let Err(e) = app.connect_profile(name) {
                    app.status = Some(app::StatusLine {
                        text: e,
                        is_error: true,
                    });
                }
            }
            app.start_testing(start.scenario, start.scenario_url, start.run_scenario, start.probe);
            Ok(Box::new(app))
        }),
    )
}
