//! Reading a TLS key log file that may still be growing (a browser started with
//! `SSLKEYLOGFILE` appends a line per connection): each poll feeds only the new bytes.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::analysis::tls::KeyLog;

/// How often a live capture looks at the file again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// New key log text read per poll, at most (a key log line is under 200 bytes).
const MAX_READ_PER_POLL: u64 = 4 << 20;

/// A key log file and how much of it was fed.
#[derive(Debug)]
pub struct KeyLogFollower {
    path: PathBuf,
    fed: u64,
    last_poll: Option<Instant>,
}

impl KeyLogFollower {
    pub fn new(path: &Path) -> KeyLogFollower {
        KeyLogFollower {
            path: path.to_owned(),
            fed: 0,
            last_poll: None,
        }
    }

    /// Feeds what was appended since the last poll to `keys` and returns it (for a
    /// recording's Decryption Secrets Block). A file that shrank was rewritten: it is read
    /// again from the start (lines already known are harmless to feed twice).
    pub fn poll(&mut self, keys: &mut KeyLog) -> std::io::Result<Vec<u8>> {
        self.last_poll = Some(Instant::now());
        let mut file = std::fs::File::open(&self.path)?;
        let len = file.metadata()?.len();
        if len < self.fed {
            self.fed = 0;
        }
        if len == self.fed {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.fed))?;
        let mut text = Vec::new();
        file.take(MAX_READ_PER_POLL).read_to_end(&mut text)?;
        self.fed += text.len() as u64;
        keys.feed(&text);
        Ok(text)
    }

    /// `poll`, at most every `POLL_INTERVAL`; errors (the file not there yet, say) are
    /// tried again at the next interval.
    pub fn poll_due(&mut self, keys: &mut KeyLog) -> Option<Vec<u8>> {
        if self.last_poll.is_some_and(|at| at.elapsed() < POLL_INTERVAL) {
            return None;
        }
        self.poll(keys).ok().filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LINE_A: &str = "CLIENT_RANDOM 0101010101010101010101010101010101010101010101010101010101010101 \
        020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202\n";
    const LINE_B: &str = "CLIENT_RANDOM 0303030303030303030303030303030303030303030303030303030303030303 \
        040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404\n";

    #[test]
    fn each_poll_feeds_only_what_was_appended_and_a_rewritten_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.log");
        std::fs::write(&path, LINE_A).unwrap();
        let mut keys = KeyLog::default();
        let mut follow = KeyLogFollower::new(&path);
        assert_eq!(follow.poll(&mut keys).unwrap(), LINE_A.as_bytes());
        assert_eq!(keys.stats().secrets, 1);
        assert!(follow.poll(&mut keys).unwrap().is_empty());
        // Half a line, then the rest: the key counts once it is whole.
        let (head, tail) = LINE_B.split_at(40);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(head.as_bytes())
            .unwrap();
        assert_eq!(follow.poll(&mut keys).unwrap(), head.as_bytes());
        assert_eq!(keys.stats().secrets, 1);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(tail.as_bytes())
            .unwrap();
        follow.poll(&mut keys).unwrap();
        assert_eq!(keys.stats().secrets, 2);
        std::fs::write(&path, LINE_B).unwrap();
        assert_eq!(follow.poll(&mut keys).unwrap(), LINE_B.as_bytes());
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_nothing_fed() {
        let mut follow = KeyLogFollower::new(Path::new("/nonexistent/keys.log"));
        let mut keys = KeyLog::default();
        assert!(follow.poll(&mut keys).is_err());
        assert_eq!(keys.stats().secrets, 0);
    }
}
