//! `framescope analyze FILE [--jsonl|--summary] [--filter EXPR] [--csv OUT] [--har OUT]`: the
//! full decode of a capture (or a HAR's WebSocket messages), printed two ways and exported.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::analysis::app::{AppSettings, DecodeAs, ProtoSchema};
use crate::analysis::event::{Event, EventSink};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::{AnalyzerConfig, Timestamp};
use crate::capture::har::HarFile;
use crate::capture::parallel::{available_threads, decoder, threads_for};
use crate::capture::{OfflineReader, ReaderKind};
use crate::cli::summary::SummarySink;
use crate::export::csv::CsvWriter;
use crate::export::har::HarWriter;
use crate::export::jsonl::{CaptureTag, JsonlWriter};
use crate::export::parquet::ParquetFiles;
use crate::query::{Filter, FilterSink};

/// Options of the analyze subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// A .pcap or .pcapng capture, or a .har file (Chrome, Firefox, mitmproxy); or several,
    /// folders of them, or glob patterns ('sensors/*/ws-*.pcap'): then the files are analysed
    /// in parallel, one per thread, and every record names its file ("capture").
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Decoding threads: one capture's connections are spread over this many (default: one,
    /// or a worker per core but one when the capture is large and its start shows costly
    /// decoding — deflate, TLS; 1 decodes on the reading thread). With several files, this
    /// many files are analysed at once (default: the available cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Display filter: only messages it matches are printed or exported, with their
    /// connections (like tshark's -Y). E.g. 'opcode == text && json.type == "order.paid"'.
    #[arg(short = 'Y', long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Also write the messages as CSV (one row per message; '-' for standard output).
    #[arg(long, value_name = "OUT")]
    pub csv: Option<PathBuf>,
    /// Also write the connections and messages as HAR 1.2 with Chrome's _webSocketMessages
    /// ('-' for standard output).
    #[arg(long, value_name = "OUT")]
    pub har: Option<PathBuf>,
    /// Also write every record as Parquet: one file per record type (connections.parquet,
    /// messages.parquet, …) in the folder OUT, created if missing (docs/parquet.md).
    #[arg(long, value_name = "OUT")]
    pub parquet: Option<PathBuf>,
    /// Print JSON Lines records (connection, message, rtt, anomaly) instead of a report.
    #[arg(long, conflicts_with = "summary")]
    pub jsonl: bool,
    /// Print the readable report (the default, unless --csv or --har is given).
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
    /// TLS key log file (SSLKEYLOGFILE format) to decrypt wss:// traffic. Secrets in pcapng
    /// Decryption Secrets Blocks are used without this option.
    #[arg(long, value_name = "KEYS")]
    pub keylog: Option<PathBuf>,
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
        load_proto_schema(&self.proto_files, &self.proto_includes, &self.proto_messages).map(Some)
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

/// Where the decoded events go: stdout (JSON Lines or the report) and the export files.
struct Outputs<'a, J: EventSink, C: EventSink, P: EventSink> {
    jsonl: Option<&'a mut J>,
    summary: Option<&'a mut SummarySink>,
    csv: Option<&'a mut C>,
    har: Option<&'a mut HarWriter>,
    parquet: Option<&'a mut P>,
}

impl<J: EventSink, C: EventSink, P: EventSink> EventSink for Outputs<'_, J, C, P> {
    fn event(&mut self, event: Event<'_>) {
        if let Some(s) = self.jsonl.as_deref_mut() {
            s.event(copy(&event));
        }
        if let Some(s) = self.summary.as_deref_mut() {
            s.event(copy(&event));
        }
        if let Some(s) = self.csv.as_deref_mut() {
            s.event(copy(&event));
        }
        if let Some(s) = self.parquet.as_deref_mut() {
            s.event(copy(&event));
        }
        if let Some(s) = self.har.as_deref_mut() {
            s.event(event);
        }
    }
}

/// The same event again (events borrow; they are not `Clone`).
fn copy<'e>(e: &Event<'e>) -> Event<'e> {
    match e {
        Event::Connection(c) => Event::Connection(c),
        Event::Frame(f) => Event::Frame(f),
        Event::Message(m) => Event::Message(m),
        Event::Rtt(r) => Event::Rtt(*r),
        Event::Anomaly(f) => Event::Anomaly(f),
        Event::Flow(f) => Event::Flow(f),
        Event::ConnectionEnded { conn, ts, how, tcp } => Event::ConnectionEnded {
            conn: *conn,
            ts: *ts,
            how: *how,
            tcp: *tcp,
        },
    }
}

/// The outputs, behind the display filter when there is one.
enum Chain<'a, S: EventSink> {
    All(&'a mut S),
    Filtered(FilterSink<'a, S>),
}

impl<S: EventSink> EventSink for Chain<'_, S> {
    fn event(&mut self, event: Event<'_>) {
        match self {
            Chain::All(s) => s.event(event),
            Chain::Filtered(f) => f.event(event),
        }
    }
}

/// What was read, for the report's first line and the exit status.
enum Read {
    Capture {
        summary: crate::capture::ReadSummary,
        tcp_packets: u64,
        link_type: Option<crate::analysis::link::LinkType>,
    },
    Har {
        entries: usize,
        connections: usize,
        creator: String,
    },
}

/// The input: a capture through the analyzer, or a HAR replayed.
enum Source {
    Capture(Box<OfflineReader>),
    Har(HarFile),
}

fn open_export(path: &Path) -> io::Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::BufWriter::new(io::stdout())));
    }
    Ok(Box::new(io::BufWriter::with_capacity(1 << 16, File::create(path)?)))
}

/// Runs the subcommand; returns the process exit status.
pub fn run(args: &AnalyzeArgs) -> u8 {
    let inputs = match crate::cli::inputs::expand(&args.files) {
        Ok(inputs) => inputs,
        Err(err) => {
            eprintln!("framescope: {err}");
            return EXIT_UNREADABLE;
        }
    };
    let threads = args.threads.map_or_else(available_threads, usize::from);
    let parquet = match args.parquet.as_deref().map(ParquetFiles::create) {
        None => None,
        Some(Ok(files)) => Some(files),
        Some(Err(err)) => {
            eprintln!("framescope: {err}");
            return EXIT_UNREADABLE;
        }
    };
    let status = if inputs.many {
        crate::cli::analyze_many::run(args, &inputs.files, threads, parquet.as_ref())
    } else {
        let Some(file) = inputs.files.first() else {
            return EXIT_UNREADABLE;
        };
        let stdout = io::stdout();
        let mut out = stdout.lock();
        analyze_one(
            args,
            file,
            args.threads.map(usize::from),
            &mut out,
            None,
            parquet.as_ref(),
        )
    };
    match parquet.map(ParquetFiles::close) {
        // A table that could not be written is as bad as an unreadable input: exit 2.
        Some(Err(err)) => {
            eprintln!("framescope: Parquet output: {err}");
            EXIT_UNREADABLE
        }
        _ => status,
    }
}

/// Analyses one file with `threads` decoding workers (`None`: `parallel::default_threads`
/// decides), writing records or the report to `out`; `capture` tags every JSON Lines
/// record with the file's name; `parquet`, the shared `--parquet` files this capture's rows
/// go to. Returns the exit status.
pub fn analyze_one(
    args: &AnalyzeArgs,
    file: &Path,
    threads: Option<usize>,
    out: &mut dyn Write,
    capture: Option<&str>,
    parquet: Option<&ParquetFiles>,
) -> u8 {
    let app_settings = match args.app_settings() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("framescope: {err}");
            return EXIT_UNREADABLE;
        }
    };
    crate::query::register_app_protocol_fields();
    let filter = match args.filter.as_deref().map(Filter::compile) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            let expr = args.filter.as_deref().unwrap_or_default();
            eprintln!("framescope: bad filter: {e}\n{}", e.render(expr));
            return EXIT_UNREADABLE;
        }
    };
    // The key log is read whole before decoding (a live capture re-reads a growing one).
    let keylog_text = match &args.keylog {
        None => None,
        Some(path) => match std::fs::read(path) {
            Ok(text) => Some(text),
            Err(err) => {
                eprintln!("framescope: key log {}: {err}", path.display());
                return EXIT_UNREADABLE;
            }
        },
    };
    let exports_to_stdout = [&args.csv, &args.har]
        .iter()
        .filter(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"))
        .count();
    if exports_to_stdout > 1 || (exports_to_stdout == 1 && (args.jsonl || args.summary)) {
        eprintln!("framescope: only one output can go to standard output ('-')");
        return EXIT_UNREADABLE;
    }
    let source = if crate::capture::har::looks_like_har(file) {
        match HarFile::open(file) {
            Ok(har) => Source::Har(har),
            Err(err) => {
                eprintln!("framescope: {}: {err}", file.display());
                return EXIT_UNREADABLE;
            }
        }
    } else {
        match OfflineReader::open_with(file, args.reader) {
            Ok(r) => Source::Capture(Box::new(r)),
            Err(err) => {
                eprintln!("framescope: {err}");
                return EXIT_UNREADABLE;
            }
        }
    };
    // `time` and the CSV's time column count from the capture's first packet.
    let capture_start = match &source {
        Source::Capture(_) => OfflineReader::first_packet_ts(file, args.reader),
        Source::Har(har) => har.start,
    }
    .unwrap_or(Timestamp::ZERO);

    let mut jsonl = if args.jsonl {
        let tagged = CaptureTag::new(&mut *out, capture);
        Some(JsonlWriter::new(io::BufWriter::with_capacity(1 << 16, tagged)).with_app_settings(app_settings.clone()))
    } else {
        None
    };
    let report = args.summary || (!args.jsonl && args.csv.is_none() && args.har.is_none() && args.parquet.is_none());
    let mut summary = report.then(|| SummarySink::with_app_settings(app_settings.clone()));
    let mut csv = match args.csv.as_deref().map(open_export).transpose() {
        Ok(out) => out.map(|out| CsvWriter::new(out, capture_start)),
        Err(err) => {
            eprintln!("framescope: cannot write the CSV file: {err}");
            return 1;
        }
    };
    let mut har = args.har.as_ref().map(|_| HarWriter::new());
    // Parquet rows always name their capture (one file too), so the outputs of separate
    // runs can be read as one table.
    let file_name = file.display().to_string();
    let mut columns = parquet.map(|files| files.sink(capture.unwrap_or(&file_name), app_settings.clone()));
    let mut outputs = Outputs {
        jsonl: jsonl.as_mut(),
        summary: summary.as_mut(),
        csv: csv.as_mut(),
        har: har.as_mut(),
        parquet: columns.as_mut(),
    };

    let mut matched = None;
    let (read, stopped_early) = {
        let mut chain = match filter {
            Some(f) => {
                Chain::Filtered(FilterSink::new(&mut outputs, f, capture_start).with_app_settings(app_settings.clone()))
            }
            None => Chain::All(&mut outputs),
        };
        let (read, stopped_early) = match source {
            Source::Capture(mut reader) => {
                let threads = threads.unwrap_or_else(|| {
                    threads_for(
                        file,
                        reader.file_len(),
                        args.reader,
                        args.config(),
                        keylog_text.as_deref(),
                    )
                });
                let mut analyzer = decoder(args.config(), threads);
                if let Some(text) = &keylog_text {
                    analyzer.feed_keys(text);
                }
                let mut progress = Progress {
                    enabled: !args.quiet && capture.is_none() && io::stderr().is_terminal(),
                    total: reader.file_len(),
                    last: Instant::now(),
                    shown: false,
                };
                let read = {
                    let sink: &mut dyn EventSink = &mut chain;
                    let mut tick = |done| progress.tick(done);
                    let read = reader.run(analyzer.input(), sink, &mut tick);
                    analyzer.finish(sink);
                    read
                };
                progress.clear();
                if let Some(err) = reader.unsupported_link_error(&read) {
                    eprintln!("framescope: {err}");
                    return EXIT_UNREADABLE;
                }
                let stopped = read.stopped_early.clone();
                let info = Read::Capture {
                    tcp_packets: analyzer.stats().tcp_packets,
                    link_type: reader.link_type(),
                    summary: read,
                };
                (info, stopped)
            }
            Source::Har(har_file) => {
                har_file.replay(&mut chain);
                let info = Read::Har {
                    entries: har_file.entries,
                    connections: har_file.connections.len(),
                    creator: har_file.creator.clone(),
                };
                (info, None)
            }
        };
        if let Chain::Filtered(f) = &mut chain {
            f.finish();
            matched = Some((f.matched(), f.seen(), f.forced()));
        }
        (read, stopped_early)
    };
    if let Some(why) = &stopped_early {
        // About the input, not about a message: printed whatever the filter.
        report_truncation(&mut outputs, why);
    }
    if let Some((_, _, forced)) = matched
        && forced > 0
    {
        eprintln!(
            "framescope: {forced} pings were filtered before their pong arrived (more than {} records waited)",
            crate::query::sink::MAX_HELD_RECORDS
        );
    }

    let mut status = 0;
    if let Some(sink) = columns {
        // The rows still buffered; a write error is reported once all files are done.
        sink.finish();
    }
    // Consumed whole here: the writer borrows `out`, which the report is written to below.
    let jsonl_written = jsonl.map(|writer| writer.finish().map(drop));
    if let Some(Err(err)) = jsonl_written
        && err.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("framescope: writing output: {err}");
        status = 1;
    }
    if let Some(writer) = csv
        && let Err(err) = writer.finish()
    {
        eprintln!("framescope: writing the CSV file: {err}");
        status = 1;
    }
    if let (Some(writer), Some(path)) = (har, &args.har) {
        let written = open_export(path).and_then(|out| writer.write(out));
        if let Err(err) = written {
            eprintln!("framescope: writing the HAR file: {err}");
            status = 1;
        }
    }
    if let Some(sink) = summary {
        let mut header = match &read {
            Read::Capture {
                summary,
                tcp_packets,
                link_type,
            } => format!(
                "{}: {} packets ({} TCP), link type {}{}\n",
                file.display(),
                summary.packets,
                tcp_packets,
                link_type.map_or("unknown".to_owned(), |l| format!("{l:?}")),
                if summary.snap_cut_packets > 0 {
                    format!(", {} packets cut by the snap length", summary.snap_cut_packets)
                } else {
                    String::new()
                }
            ),
            Read::Har {
                entries,
                connections,
                creator,
            } => format!(
                "{}: HAR{}, {entries} entries, {connections} WebSocket connections (no packets: read from the HAR)\n",
                file.display(),
                if creator.is_empty() {
                    String::new()
                } else {
                    format!(" by {creator}")
                },
            ),
        };
        if let (Some((hit, seen, _)), Some(expr)) = (matched, &args.filter) {
            header.push_str(&format!("filter {expr}: {hit} of {seen} messages match\n"));
        }
        let written = out
            .write_all(header.as_bytes())
            .and_then(|()| out.write_all(sink.render().as_bytes()))
            .and_then(|()| out.flush());
        if let Err(err) = written
            && err.kind() != io::ErrorKind::BrokenPipe
        {
            eprintln!("framescope: writing output: {err}");
            status = 1;
        }
    }
    if let Some(why) = &stopped_early {
        let packets = match &read {
            Read::Capture { summary, .. } => summary.packets,
            Read::Har { .. } => 0,
        };
        eprintln!(
            "framescope: {}: {why}; {packets} packets before it were analysed",
            file.display(),
        );
        if status == 0 {
            status = EXIT_PARTIAL;
        }
    }
    status
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

/// Compiles `.proto` files (protox) and picks the message type of each direction:
/// `NAME` for both, `c2s=NAME` or `s2c=NAME` for one (`analyze --proto`, the window's
/// Decode as… protobuf).
pub fn load_proto_schema(files: &[PathBuf], includes: &[PathBuf], messages: &[String]) -> Result<ProtoSchema, String> {
    let mut includes = includes.to_vec();
    for file in files {
        let folder = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        includes.push(folder.to_path_buf());
    }
    let pool = if files.is_empty() {
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
        compiler.open_files(files).map_err(|e| format!("--proto: {e}"))?;
        compiler.descriptor_pool()
    };
    let mut schema = ProtoSchema::default();
    for spec in messages {
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
    Ok(schema)
}
