//! `framescope --version` names the version and the git commit the binary was built from
//! (build.rs), the same commit `git rev-parse --short HEAD` gives for this checkout.

mod common;

use std::process::Command;

#[test]
fn version_shows_the_package_version_and_the_checkouts_commit() {
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    let head = match git {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).expect("utf-8").trim().to_string(),
        _ => return common::skip_or_fail_in_ci("this is not a git checkout (or git is missing)"),
    };
    let out = Command::new(env!("CARGO_BIN_EXE_framescope")).arg("--version").output().expect("run framescope");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(printed, format!("framescope {} ({head})\n", env!("CARGO_PKG_VERSION")));
    // The window's About line reads the same constant.
    assert_eq!(framescope::build_info::GIT_COMMIT, head);
}
