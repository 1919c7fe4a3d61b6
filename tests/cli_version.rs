//! `framescope --version` and the window's Help menu (the About line) name the version and
//! the git commit the binary was built from (build.rs), the same commit `git rev-parse --short
//! HEAD` gives for this checkout.

mod common;

use std::process::Command;

use egui_kittest::kittest::Queryable as _;

/// The checkout's short commit, or `None` (skipped; a failure under CI) without git.
fn checkout_head() -> Option<String> {
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match git {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).expect("utf-8").trim().to_string()),
        _ => {
            common::skip_or_fail_in_ci("this is not a git checkout (or git is missing)");
            None
        }
    }
}

#[test]
fn version_shows_the_package_version_and_the_checkouts_commit() {
    let Some(head) = checkout_head() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .arg("--version")
        .output()
        .expect("run framescope");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(printed, format!("framescope {} ({head})\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_help_menu_shows_the_version_and_commit() {
    let Some(head) = checkout_head() else { return };
    let mut harness = common::gui::empty_harness();
    harness.run_steps(3);
    harness.get_by_label("Help").click();
    harness.run_steps(3);
    harness.get_by_label(&format!(
        "framescope {} ({head}) — WebSocket inspector and traffic analyser",
        env!("CARGO_PKG_VERSION")
    ));
}
