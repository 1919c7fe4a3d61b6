//! Recordings are never lost: the quit prompt with an unsaved recording, and recovery of a
//! crashed run's recording at the next start (egui_kittest, real capture files).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use framescope::gui::FramescopeApp;
use framescope::gui::settings::Settings;

use common::gui::sample;

fn harness_with(dir: &std::path::Path, setup: impl FnOnce(&mut FramescopeApp)) -> Harness<'static, FramescopeApp> {
    let mut app = FramescopeApp::new(Settings::default(), Arc::new(|| {}));
    app.guard.dir = dir.to_owned();
    setup(&mut app);
    let mut harness = Harness::builder()
        .with_size((1400.0, 900.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app);
    harness.run_steps(3);
    harness
}

fn close_was_sent(harness: &Harness<'_, FramescopeApp>) -> bool {
    harness
        .output()
        .viewport_output
        .values()
        .any(|v| v.commands.iter().any(|c| matches!(c, egui::ViewportCommand::Close)))
}

#[test]
fn quitting_with_an_unsaved_recording_asks_and_cancel_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join(format!("capture-{}-77.pcapng", std::process::id()));
    std::fs::copy(sample("echo-text-binary-ping-close.pcap"), &recording).expect("copy");
    let mut harness = harness_with(dir.path(), |app| app.panes.capture.recording = Some(recording.clone()));
    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Quit").click();
    harness.run_steps(3);
    harness.get_by_label("Unsaved recordings");
    harness.get_by_label_contains("Quitting would lose 1 recording not");
    assert!(!harness.state().guard.quit_confirmed);
    harness.get_by_label("Cancel").click();
    harness.run_steps(3);
    assert!(harness.query_by_label("Unsaved recordings").is_none());
    assert!(!harness.state().guard.quit_confirmed);
    assert!(recording.exists());
    // Again, and discard: the window closes and the recording is removed with the app.
    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Quit").click();
    harness.run_steps(3);
    harness.get_by_label("Discard").click();
    // The frame that handles the click tells the window to close.
    harness.step();
    assert!(harness.state().guard.quit_confirmed);
    assert!(close_was_sent(&harness), "the window was told to close");
    drop(harness);
    assert!(!recording.exists(), "a discarded recording is deleted at exit");
}

#[test]
fn opening_a_file_over_an_unsaved_recording_asks_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join(format!("session-{}-78.pcapng", std::process::id()));
    std::fs::copy(sample("echo-text-binary-ping-close.pcap"), &recording).expect("copy");
    let mut harness = harness_with(dir.path(), |app| app.panes.capture.recording = Some(recording.clone()));
    harness
        .state_mut()
        .push(framescope::gui::commands::Command::Open(sample(
            "python-deflate-context-takeover.pcap",
        )));
    harness.run_steps(3);
    harness.get_by_label_contains("Opening a file would lose 1 recording not");
    assert!(
        harness.state().store.messages.is_empty(),
        "nothing opened before the answer"
    );
    harness.get_by_label("Discard").click();
    let started = Instant::now();
    while (harness.state().is_loading() || harness.state().store.messages.is_empty())
        && started.elapsed() < Duration::from_secs(20)
    {
        harness.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(harness.state().store.messages.len(), 14);
}

#[test]
fn a_crashed_runs_recording_is_offered_and_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A pid above the kernel's pid_max: no process can own it.
    let orphan = dir.path().join("capture-4194999-0.pcapng");
    std::fs::copy(sample("echo-text-binary-ping-close.pcap"), &orphan).expect("copy");
    let mut harness = harness_with(dir.path(), |_| {});
    harness.get_by_label("Recover recordings");
    harness.get_by_label_contains("capture-4194999-0.pcapng");
    harness.get_by_label("Open").click();
    let started = Instant::now();
    while (harness.state().is_loading() || harness.state().store.messages.is_empty())
        && started.elapsed() < Duration::from_secs(20)
    {
        harness.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    harness.run_steps(2);
    assert_eq!(harness.state().store.messages.len(), 10);
    assert!(harness.query_by_label("Recover recordings").is_none());
    // The recovered file is still unsaved: quitting asks about it.
    assert_eq!(
        harness
            .state()
            .recordings_at_risk(&framescope::gui::guard::Pending::Quit),
        vec![orphan.clone()]
    );
}
