//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use framescope::analysis::event::CollectSink;
use framescope::analysis::{Analyzer, AnalyzerConfig};
use framescope::capture::{OfflineReader, ReadSummary};

/// `../shared/corpus`, if this checkout has it (CI does; a user's clone may not).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("MANIFEST.md").is_file() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared/corpus is not present in this checkout");
        None
    }
}

pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// Runs a whole capture through the analyzer with frame events on.
pub fn analyze_file(path: &Path) -> (CollectSink, ReadSummary) {
    analyze_file_with(
        path,
        AnalyzerConfig {
            emit_frames: true,
            ..AnalyzerConfig::default()
        },
    )
}

pub fn analyze_file_with(path: &Path, config: AnalyzerConfig) -> (CollectSink, ReadSummary) {
    let mut reader =
        OfflineReader::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut analyzer = Analyzer::new(config);
    let mut sink = CollectSink::default();
    let summary = reader.run(&mut analyzer, &mut sink, &mut |_| true);
    analyzer.finish(&mut sink);
    (sink, summary)
}
