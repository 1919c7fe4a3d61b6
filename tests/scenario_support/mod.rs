//! Helpers of the scenario tests: the Python `websockets` chat server (one process per
//! test, on a free port of 127.0.0.1) and running `framescope test`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// True when `python3` with `websockets` is here; otherwise skips (fails in CI).
pub fn have_python_websockets() -> bool {
    let ok = crate::common::python_has("websockets.asyncio.server");
    if !ok {
        crate::common::skip_or_fail_in_ci("python3 with the websockets package (>= 13) is not installed");
    }
    ok
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn chat_ron() -> PathBuf {
    repo().join("examples/scenarios/chat.ron")
}

/// A running chat server; killed when dropped.
pub struct ChatServer {
    child: Child,
    pub port: u16,
}

impl ChatServer {
    /// Starts `tests/servers/chat_server.py` with `--fault` (when given) and waits (10 s at
    /// most) for the port it prints.
    pub fn start(fault: Option<&str>) -> ChatServer {
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("tests/servers/chat_server.py"))
            .args(["--port", "0"]);
        if let Some(f) = fault {
            cmd.args(["--fault", f]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 chat_server.py");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("chat server did not print its port: {line:?}")
            });
        ChatServer { child, port }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `framescope` with `args` (60 s at most).
pub fn framescope(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run framescope");
    for _ in 0..600 {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("framescope {args:?} ran for more than 60 s");
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The first failed leaf step of a JSON report: (path, title, detail).
pub fn first_failure(report: &serde_json::Value) -> Option<(String, String, String)> {
    fn walk(steps: &serde_json::Value) -> Option<(String, String, String)> {
        for s in steps.as_array()? {
            if s["status"] != "fail" {
                continue;
            }
            if let Some(inner) = s.get("steps").and_then(walk) {
                return Some(inner);
            }
            return Some((
                s["path"].as_str()?.to_owned(),
                s["title"].as_str()?.to_owned(),
                s["detail"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        None
    }
    walk(&report["steps"])
}

/// A test server script of `tests/servers/` that prints "listening PORT" (raw_echo.py,
/// websockets_echo.py); killed when dropped.
pub struct ListeningScript {
    child: Child,
    pub port: u16,
}

impl ListeningScript {
    /// Starts `script` on a free port (port 0) with `args` after the port.
    pub fn start(script: &str, args: &[&str]) -> ListeningScript {
        let mut child = Command::new("python3")
            .arg(repo().join("tests/servers").join(script))
            .arg("0")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server prints its port");
        let port = line.trim().trim_start_matches("listening ").parse().expect("a port");
        ListeningScript { child, port }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }
}

impl Drop for ListeningScript {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
