//! The window in a test harness: the app with a capture loaded by the real loader thread.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use framescope::gui::FramescopeApp;
use framescope::gui::settings::Settings;

/// A new app whose recordings go to this test process's own temporary directory (never
/// the user's cache, where they would be offered for recovery).
pub fn new_app(settings: Settings) -> FramescopeApp {
    let mut app = FramescopeApp::new(settings, Arc::new(|| {}));
    app.guard.dir = std::env::temp_dir().join(format!("framescope-tests-{}", std::process::id()));
    app
}

/// The app with `capture` loaded (the real loader thread), drawn in a 1400×900 window.
pub fn loaded(capture: &Path) -> Harness<'static, FramescopeApp> {
    loaded_in(capture, (1400.0, 900.0))
}

pub fn loaded_in(capture: &Path, size: (f32, f32)) -> Harness<'static, FramescopeApp> {
    let mut app = new_app(Settings::default());
    app.open(capture.to_owned());
    let mut harness = Harness::builder()
        .with_size(size)
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app);
    let started = Instant::now();
    while harness.state().is_loading() && started.elapsed() < Duration::from_secs(20) {
        harness.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!harness.state().is_loading(), "loading did not finish");
    harness.run_steps(3);
    harness
}

/// The app with nothing loaded.
pub fn empty_harness() -> Harness<'static, FramescopeApp> {
    let app = new_app(Settings::default());
    Harness::builder()
        .with_size((1400.0, 900.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app)
}

pub fn sample(name: &str) -> std::path::PathBuf {
    super::captures_dir().join(name)
}
