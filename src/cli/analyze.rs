//! `framescope analyze FILE [--jsonl|--summary]`: the full decode, printed two ways.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::analysis::app::{AppSettings, DecodeAs, ProtoSchema};
use crate::analysis::event::{Event, EventSink};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::{Analyzer, AnalyzerConfig};
use crate::capture::{OfflineReader, ReaderKind};
use crate::cli::summary::SummarySink;
use crate::export::jsonl::JsonlWriter;

/// Options of the analyze subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// A .pcap or .pcapng file.
    pub file: PathBuf,
    /// Print JSON Lines records (connection, message, rtt, anomaly) instead of a report.
    #[arg(long, conflicts_with = "summary")]
    pub jsonl: bool,
    /// Print the readable report (the default).
    #[arg(long)]
    pub summary: bool,
    /// Largest message payload kept, in bytes; longer ones are cut and reported.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_message_bytes: usize,
    /// Largest size one compressed message may inflate to, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_inflated_bytes: usize,
    /// Seconds after which a ping without a pong is reported.
    #[arg(long, default_value_t = 30.0)]
    pub pong_timeout: f64,
    /// Most TCP flows tracked at once.
    #[arg(long, default_value_t = 100_000)]
    pub max_flows: usize,
    /// Never show progress on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Which library reads the file: auto (pcap-parser, libpcap for formats it lacks) or libpcap.
    #[arg(long, value_enum, default_value_t = ReaderKind::Auto)]
    pub reader: ReaderKind,
    /// Decode messages as an application protocol regardless of what is recognised:
    /// PROTO, PORT=PROTO or /PATH=PROTO (e.g. `8883=mqtt`); repeatable, first match wins.
    /// PROTO is one of socketio, mqtt, stomp, graphql, jsonrpc, signalr, wamp, actioncable,
    /// sockjs, msgpack, cbor, protobuf.
    #[arg(long = "decode-as", value_name = "RULE", value_parser = DecodeAs::parse)]
    pub decode_as: Vec<DecodeAs>,
    /// Do not decode application protocols (no `app` fields, no `app_rtt` records).
    #[arg(long)]
    pub no_app: bool,
    /// A `.proto` file defining the messages of --proto-message (repeatable; imports of
    /// google/protobuf/*.proto are built in).
    #[arg(long = "proto", value_name = "FILE")]
    pub proto_files: Vec<PathBuf>,
    /// Import path for --proto files (repeatable; each file's own folder is always one).
    #[arg(long = "proto-include", value_name = "DIR")]
    pub proto_includes: Vec<PathBuf>,
    /// Message type of protobuf messages, fully qualified: NAME for both directions, or
    /// c2s=NAME / s2c=NAME (e.g. `c2s=chat.Request`).
    #[arg(long = "proto-message", value_name = "[DIR=]NAME")]
    pub proto_messages: Vec<String>,
}

/// Exit status when the input was only partly readable (everything before the damage was
/// analysed and printed), like tshark's "cut short" exit.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit status when the input could not be read at all.
pub const EXIT_UNREADABLE: u8 = 2;

impl AnalyzeArgs {
    /// Application decoding settings; compiles the `.proto` files (an error names the file).
    pub fn app_settings(&self) -> Result<AppSettings, String> {
        Ok(AppSettings {
            decode_as: self.decode_as.clone(),
            disabled: self.no_app,
            proto: self.proto_schema()?,
        })
    }

    fn proto_schema(&self) -> Result<Option<ProtoSchema>, String> {
        if self.proto_messages.is_empty() {
            if self.proto_files.is_empty() {
                return Ok(None);
            }
            return Err("--proto needs --proto-message to say which message type to decode".into());
        }
        let mut includes = self.proto_includes.clone();
        for file in &self.proto_files {
            let folder = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            includes.push(folder.to_path_buf());
        }
        let pool = if self.proto_files.is_empty() {
            // Only the well-known types (google.protobuf.*) are known without a file.
            let mut compiler = protox::Compiler::new(includes).map_err(|e| e.to_string())?;
            compiler.include_imports(true);
            compiler
                .open_files([
                    "google/protobuf/struct.proto",
                    "google/protobuf/timestamp.proto",
                    "google/protobuf/any.proto",
                    "google/protobuf/wrappers.proto",
                    "google/protobuf/empty.proto",
                    "google/protobuf/duration.proto",
                ])
                .map_err(|e| e.to_string())?;
            compiler.descriptor_pool()
        } else {
            let mut compiler = protox::Compiler::new(includes).map_err(|e| format!("--proto: {e}"))?;
            compiler.include_imports(true);
            compiler
                .open_files(&self.proto_files)
                .map_err(|e| format!("--proto: {e}"))?;
            compiler.descriptor_pool()
        };
        let mut schema = ProtoSchema::default();
        for spec in &self.proto_messages {
            let (dirs, name) = match spec.split_once('=') {
                Some(("c2s", name)) => ((true, false), name),
                Some(("s2c", name)) => ((false, true), name),
                Some((other, _)) => return Err(format!("--proto-message {spec}: {other:?} is not c2s or s2c")),
                None => ((true, true), spec.as_str()),
            };
            let desc = pool
                .get_message_by_name(name.trim_start_matches('.'))
                .ok_or_else(|| format!("--proto-message: no message type {name:?} in the given .proto files"))?;
            if dirs.0 {
                schema.c2s = Some(desc.clone());
            }
            if dirs.1 {
                schema.s2c = Some(desc);
            }
        }
        Ok(Some(schema))
    }

    pub fn config(&self) -> AnalyzerConfig {
        let mut config = AnalyzerConfig {
            max_flows: self.max_flows.max(1),
            pong_timeout_secs: self.pong_timeout,
            ..AnalyzerConfig::default()
        };
        config.stream.max_message_bytes = self.max_message_bytes;
        config.stream.max_inflated_bytes = self.max_inflated_bytes;
        config
    }
}

/// Shows a percentage on a terminal's stderr, at most four times a second.
struct Progress {
    enabled: bool,
    total: u64,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn tick(&mut self, done: u64) -> bool {
        if self.enabled && self.last.elapsed() > Duration::from_millis(250) {
            self.last = Instant::now();
            self.shown = true;
            let pct = if self.total > 0 {
                done as f64 * 100.0 / self.total as f64
            } else {
                0.0
            };
            eprint!("\r{pct:5.1}% of {} MB", self.total / 1_000_000);
        }
        true
    }

    fn clear(&self) {
        if self.shown {
            eprint!("\r{:40}\r", "");
        }
    }
}

/// Runs the subcommand; returns the process exit status.
pub fn run(args: &AnalyzeArgs) -> u8 {
    let app_settings = match args.app_settings() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("framescope: {err}");
            return EXIT_UNREADABLE;
        }
    };
    let mut reader = match OfflineReader::open_with(&args.file, args.reader) {
        Ok(r) => r,
        Err(err) => {
            eprintln!("framescope: {err}");
            return EXIT_UNREADABLE;
        }
    };
    let mut analyzer = Analyzer::new(args.config());
    let mut progress = Progress {
        enabled: !args.quiet && io::stderr().is_terminal(),
        total: reader.file_len(),
        last: Instant::now(),
        shown: false,
    };
    let stdout = io::stdout();
    if args.jsonl {
        let mut writer =
            JsonlWriter::new(io::BufWriter::with_capacity(1 << 16, stdout.lock())).with_app_settings(app_settings);
        let summary = {
            let mut tick = |done| progress.tick(done);
            reader.run(&mut analyzer, &mut writer, &mut tick)
        };
        let mut status = 0;
        if let Some(why) = &summary.stopped_early {
            report_truncation(&mut writer, why);
            status = EXIT_PARTIAL;
        }
        analyzer.finish(&mut writer);
        progress.clear();
        if let Err(err) = writer.finish() {
            if err.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("framescope: writing output: {err}");
                return 1;
            }
            return 0;
        }
        if let Some(why) = &summary.stopped_early {
            eprintln!(
                "framescope: {}: {why}; {} packets before it were analysed",
                args.file.display(),
                summary.packets
            );
        }
        status
    } else {
        let mut sink = SummarySink::with_app_settings(app_settings);
        let summary = {
            let mut tick = |done| progress.tick(done);
            reader.run(&mut analyzer, &mut sink, &mut tick)
        };
        if let Some(why) = &summary.stopped_early {
            report_truncation(&mut sink, why);
        }
        analyzer.finish(&mut sink);
        progress.clear();
        let stats = analyzer.stats();
        let mut out = stdout.lock();
        let header = format!(
            "{}: {} packets ({} TCP), link type {}{}\n",
            args.file.display(),
            summary.packets,
            stats.tcp_packets,
            reader.link_type().map_or("unknown".to_owned(), |l| format!("{l:?}")),
            if summary.snap_cut_packets > 0 {
                format!(", {} packets cut by the snap length", summary.snap_cut_packets)
            } else {
                String::new()
            }
        );
        let written = out
            .write_all(header.as_bytes())
            .and_then(|()| out.write_all(sink.render().as_bytes()))
            .and_then(|()| out.flush());
        if let Err(err) = written
            && err.kind() != io::ErrorKind::BrokenPipe
        {
            eprintln!("framescope: writing output: {err}");
            return 1;
        }
        match &summary.stopped_early {
            Some(why) => {
                eprintln!(
                    "framescope: {}: {why}; {} packets before it were analysed",
                    args.file.display(),
                    summary.packets
                );
                EXIT_PARTIAL
            }
            None => 0,
        }
    }
}

fn report_truncation(sink: &mut dyn EventSink, why: &str) {
    let finding = Finding {
        kind: FindingKind::CaptureTruncated,
        conn: None,
        dir: None,
        ts: crate::analysis::Timestamp::ZERO,
        stream_offset: None,
        detail: why.to_owned(),
    };
    sink.event(Event::Anomaly(&finding));
}
