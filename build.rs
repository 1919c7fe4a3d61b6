//! Build script: records the git commit the binary was built from (for `--version` and the
//! window's About box) as `FRAMESCOPE_GIT_COMMIT`.
//!
//! Order: the `FRAMESCOPE_GIT_COMMIT` environment variable (a distribution building from a
//! source tarball can set it), then `git rev-parse --short HEAD`, then "unknown" (a tarball
//! without .git and without the variable). Only HEAD, the branch's ref and packed-refs are
//! watched, so a commit re-stamps the build but an edit to a source file does not rerun this.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=FRAMESCOPE_GIT_COMMIT");
    let commit = std::env::var("FRAMESCOPE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo::rustc-env=FRAMESCOPE_GIT_COMMIT={}", commit.trim());
    for path in watched_git_files() {
        println!("cargo::rerun-if-changed={}", path.display());
    }
}

/// Runs git in the crate's directory; `None` when git is missing or this is not a checkout.
fn git(args: &[&str]) -> Option<String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let output = Command::new("git")
        .args(args)
        .current_dir(&manifest_dir)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn git_commit() -> Option<String> {
    git(&["rev-parse", "--short", "HEAD"])
}

/// The files whose change means HEAD moved: HEAD itself (per worktree), the ref it points to
/// and packed-refs (both in the common git directory; `--git-path` resolves either). Files
/// that do not exist are left out: cargo would rerun the script on every build for them.
fn watched_git_files() -> Vec<PathBuf> {
    let mut names = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch_ref) = git(&["rev-parse", "--symbolic-full-name", "HEAD"]).filter(|r| r.starts_with("refs/")) {
        names.push(branch_ref);
    }
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    names
        .iter()
        .filter_map(|name| git(&["rev-parse", "--git-path", name.as_str()]))
        .map(|path| absolute(&manifest_dir, Path::new(&path)))
        .filter(|path| path.exists())
        .collect()
}

/// `git rev-parse --git-path` answers relative to the working directory in a plain checkout.
fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}
