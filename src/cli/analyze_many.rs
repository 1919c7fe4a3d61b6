//! `analyze` over many captures: files are analysed in parallel (one per thread, each
//! decoded as `analyze FILE` would) and their output reaches standard output in chunks of
//! whole lines — JSON Lines records tagged with their file (`"capture"`), or one whole
//! report per file. Records of different files interleave; each file's keep their order.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};

use crate::cli::analyze::{AnalyzeArgs, EXIT_UNREADABLE, analyze_one};
use crate::export::parquet::ParquetFiles;

/// Output is handed to the writing thread in chunks of about this many bytes (whole lines).
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks waiting to be written (a slow reader of stdout makes the analysers wait).
const QUEUED_CHUNKS: usize = 32;

/// Runs `analyze` on every file with `threads` files at a time; returns the exit status of
/// the first file (in the order given) that did not succeed, else 0.
pub fn run(args: &AnalyzeArgs, files: &[PathBuf], threads: usize, parquet: Option<&ParquetFiles>) -> u8 {
    if args.csv.is_some() || args.har.is_some() {
        eprintln!(
            "framescope: --csv and --har take one capture; with several, use --jsonl (every record names its capture)"
        );
        return EXIT_UNREADABLE;
    }
    let next = AtomicUsize::new(0);
    let statuses = Mutex::new(vec![0u8; files.len()]);
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUED_CHUNKS);
    let mut write_error = None;
    std::thread::scope(|scope| {
        for i in 0..threads.clamp(1, files.len().max(1)) {
            let (tx, next, statuses) = (tx.clone(), &next, &statuses);
            let spawned = std::thread::Builder::new()
                .name(format!("analyze-{i}"))
                .spawn_scoped(scope, move || {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(index) else { break };
                        let mut out = Chunks::new(tx.clone(), args.jsonl);
                        let name = file.display().to_string();
                        let status = analyze_one(args, file, Some(1), &mut out, Some(&name), parquet);
                        let _ = out.flush_all();
                        if let Ok(mut all) = statuses.lock()
                            && let Some(slot) = all.get_mut(index)
                        {
                            *slot = status;
                        }
                    }
                });
            if let Err(err) = spawned {
                eprintln!("framescope: cannot start a thread: {err}");
            }
        }
        drop(tx);
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        for chunk in rx {
            if let Err(err) = lock.write_all(&chunk) {
                write_error = Some(err);
                break;
            }
        }
        if let Err(err) = lock.flush() {
            write_error.get_or_insert(err);
        }
    });
    let mut status = statuses
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .find(|s| *s != 0)
        .unwrap_or(0);
    if let Some(err) = write_error
        && err.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("framescope: writing output: {err}");
        status = status.max(1);
    }
    status
}

/// One file's output, sent to the writing thread in whole lines (JSON Lines) or whole
/// (a report) so files never interleave inside a line or a report.
struct Chunks {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
    split_lines: bool,
}

impl Chunks {
    fn new(tx: SyncSender<Vec<u8>>, split_lines: bool) -> Self {
        Chunks {
            tx,
            buf: Vec::new(),
            split_lines,
        }
    }

    fn send(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        self.tx
            .send(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "output closed"))
    }

    fn flush_all(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let all = std::mem::take(&mut self.buf);
        self.send(all)
    }
}

impl Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.split_lines
            && self.buf.len() >= CHUNK_BYTES
            && let Some(last) = memchr::memrchr(b'\n', &self.buf)
        {
            let rest = self.buf.split_off(last + 1);
            let whole = std::mem::replace(&mut self.buf, rest);
            self.send(whole)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
