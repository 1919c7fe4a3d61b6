//! Where live captures and live sessions are recorded as they happen: the user's cache
//! directory (`$XDG_CACHE_HOME/framescope/recordings`, else `~/.cache/…`), directory 0700
//! and files 0600 (traffic may hold secrets). A file's name carries the process id, so after
//! a crash the next start finds the recordings no running framescope owns and offers them.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The default recordings directory.
pub fn default_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("framescope").join("recordings")
}

/// A fresh recording path in `dir` (created owner-only if missing): `KIND-PID-N.pcapng`.
pub fn new_path(dir: &Path, kind: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let _ = create_dir(dir);
    dir.join(format!("{kind}-{}-{n}.pcapng", std::process::id()))
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates a recording file readable and writable by its owner only.
pub fn create_file(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A recording left by a framescope process that is no longer running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Orphan {
    pub path: PathBuf,
    pub bytes: u64,
    pub pid: u32,
}

/// Recordings in `dir` whose process has gone (a crash, a kill): candidates for recovery.
/// Empty files (nothing was captured) are removed instead of offered.
pub fn orphans(dir: &Path) -> Vec<Orphan> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Orphan> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_str()?.to_owned();
            let pid: u32 = name.split('-').nth(1)?.parse().ok()?;
            if path.extension()? != "pcapng" || pid == std::process::id() || process_alive(pid) {
                return None;
            }
            let bytes = e.metadata().ok()?.len();
            if bytes == 0 {
                let _ = std::fs::remove_file(&path);
                return None;
            }
            Some(Orphan { path, bytes, pid })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        // Without /proc: assume alive rather than offer another run's live file.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_owner_only_and_orphans_of_dead_processes_are_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mine = new_path(dir.path(), "capture");
        std::fs::write(&mine, b"x").expect("write");
        let file = create_file(&dir.path().join("sub/session-1-0.pcapng")).expect("create");
        drop(file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("sub/session-1-0.pcapng"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(dir.path().join("sub"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        // A pid that cannot be running (above the kernel's pid_max).
        let dead = dir.path().join("capture-4194999-3.pcapng");
        std::fs::write(&dead, b"some bytes").expect("write");
        let empty = dir.path().join("session-4194998-0.pcapng");
        std::fs::write(&empty, b"").expect("write");
        let found = orphans(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, dead);
        assert_eq!(found[0].bytes, 10);
        assert!(!empty.exists(), "an empty orphan is removed");
        assert!(mine.exists(), "this process's recording is not an orphan");
    }
}
