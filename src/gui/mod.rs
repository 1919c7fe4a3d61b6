//! The eframe/egui window. Only this module knows egui. Panes draw and push commands;
//! commands run once, at the end of the frame; loading runs on a background thread.

pub mod app;
pub mod commands;
pub mod format;
pub mod loader;
pub mod panes;
pub mod settings;
pub mod theme;
pub mod view;

pub use app::FramescopeApp;

use std::path::PathBuf;

/// Opens the window, with `file` loaded when given and message `goto` selected once loaded.
pub fn run(file: Option<PathBuf>, goto: Option<u32>) -> eframe::Result {
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
            if let Some(path) = file {
                app.open(path);
            }
            app.pending_goto = goto;
            Ok(Box::new(app))
        }),
    )
}
