//! `analyze --parquet OUT`: the JSON Lines records as typed columns, one Parquet file per
//! record type (docs/parquet.md), written as the records stream in bounded row groups.
//!
//! `ParquetFiles` owns the open files (one writer per table, each behind its own lock, so the
//! analysers of several captures write concurrently); each capture's `ParquetSink` buffers
//! rows and hands a table's buffer over as one row group when it reaches `ROW_GROUP_ROWS`
//! rows or `ROW_GROUP_BYTES` bytes of strings and payloads. Written with parquet's column
//! writer API (no Arrow: it would double the crate's compile time for nothing used here).
//!
//! About 780 lines of code on purpose: seven tables' schemas and row buffers, each the same
//! short pattern over the shared column plumbing; split per table, the plumbing would repeat.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;

use crate::analysis::app::{AppRttSample, AppSettings, AppTracker, Decoded};
use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Direction, Event, EventSink, FlowInfo, MessageEvent, RttSample, TcpHealth,
    TlsInfo,
};
use crate::analysis::findings::Finding;
use crate::analysis::time::Timestamp;

/// A table's buffered rows become a row group at this many rows…
const ROW_GROUP_ROWS: usize = 64 * 1024;
/// …or this many bytes of variable-length values (payloads, strings), whichever comes first:
/// what bounds memory on captures of any size (one buffer per table and capture being read).
const ROW_GROUP_BYTES: usize = 32 << 20;

/// A column's type: the Parquet physical type and its logical annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int64,
    Int32,
    Double,
    Bool,
    /// Text (UTF-8); also JSON text for nested fields.
    Utf8,
    /// Raw bytes (message payloads).
    Binary,
    /// Microseconds since the epoch, UTC (the JSON Lines' seconds with six decimals).
    Timestamp,
}

impl Kind {
    fn schema_type(self) -> &'static str {
        match self {
            Kind::Int64 => "INT64",
            Kind::Int32 => "INT32",
            Kind::Double => "DOUBLE",
            Kind::Bool => "BOOLEAN",
            Kind::Utf8 => "BYTE_ARRAY",
            Kind::Binary => "BYTE_ARRAY",
            Kind::Timestamp => "INT64",
        }
    }

    fn annotation(self) -> &'static str {
        match self {
            Kind::Utf8 => " (UTF8)",
            Kind::Timestamp => " (TIMESTAMP(MICROS,true))",
            _ => "",
        }
    }
}

/// One column of a table: its name, type and whether it may be null.
struct ColumnSpec {
    name: &'static str,
    kind: Kind,
    optional: bool,
}

const fn req(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: false,
    }
}

const fn opt(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: true,
    }
}

use Kind::{Binary, Bool, Double, Int32, Int64, Timestamp as Ts, Utf8};

const CONNECTIONS: &[ColumnSpec] = &[
    req("conn", Int64),
    req("client", Utf8),
    req("server", Utf8),
    req("ts", Ts),
    req("handshake", Bool),
    opt("path", Utf8),
    opt("status", Int32),
    opt("http_version", Utf8),
    opt("subprotocol", Utf8),
    opt("extensions", Utf8),
    opt("accept_valid", Bool),
    opt("offered_subprotocols", Utf8),
    opt("offered_extensions", Utf8),
    opt("tls_version", Utf8),
    opt("tls_cipher_suite", Utf8),
    opt("tls_sni", Utf8),
    opt("tls_alpn", Utf8),
    opt("tls_decrypted", Bool),
    opt("h2_stream", Int64),
];

const MESSAGES: &[ColumnSpec] = &[
    req("conn", Int64),
    req("dir", Utf8),
    req("ts", Ts),
    req("first_ts", Ts),
    req("opcode", Utf8),
    req("frames", Int64),
    req("compressed", Bool),
    req("wire_len", Int64),
    req("len", Int64),
    req("payload", Binary),
    opt("close_code", Int32),
    opt("close_reason", Utf8),
    req("truncated", Bool),
    req("decoded", Bool),
    opt("app_protocol", Utf8),
    opt("app_summary", Utf8),
    opt("app_fields", Utf8),
];

const RTTS: &[ColumnSpec] = &[
    req("conn", Int64),
    req("ping_dir", Utf8),
    req("ping_ts", Ts),
    req("pong_ts", Ts),
    req("rtt_ms", Double),
];

const ANOMALIES: &[ColumnSpec] = &[
    opt("conn", Int64),
    opt("dir", Utf8),
    req("ts", Ts),
    req("kind", Utf8),
    req("detail", Utf8),
    opt("offset", Int64),
];

/// One direction's TCP counters, as `{dir}_{counter}` columns of `ends`.
const ENDS: &[ColumnSpec] = &[
    req("conn", Int64),
    req("ts", Ts),
    req("how", Utf8),
    opt("c2s_segments", Int64),
    opt("c2s_retransmissions", Int64),
    opt("c2s_duplicate_bytes", Int64),
    opt("c2s_out_of_order", Int64),
    opt("c2s_gaps", Int64),
    opt("c2s_gap_bytes", Int64),
    opt("c2s_overlap_conflicts", Int64),
    opt("c2s_zero_windows", Int64),
    opt("c2s_zero_window_ms", Double),
    opt("s2c_segments", Int64),
    opt("s2c_retransmissions", Int64),
    opt("s2c_duplicate_bytes", Int64),
    opt("s2c_out_of_order", Int64),
    opt("s2c_gaps", Int64),
    opt("s2c_gap_bytes", Int64),
    opt("s2c_overlap_conflicts", Int64),
    opt("s2c_zero_windows", Int64),
    opt("s2c_zero_window_ms", Double),
];

const FLOWS: &[ColumnSpec] = &[
    req("client", Utf8),
    req("server", Utf8),
    req("ts", Ts),
    req("end_ts", Ts),
    req("protocol", Utf8),
    opt("tls_version", Utf8),
    opt("tls_cipher_suite", Utf8),
    opt("tls_sni", Utf8),
    opt("tls_alpn", Utf8),
    opt("tls_decrypted", Bool),
    req("reason", Utf8),
    opt("h2_stream", Int64),
    opt("attempts", Int64),
];

const APP_RTTS: &[ColumnSpec] = &[
    req("conn", Int64),
    req("protocol", Utf8),
    req("key", Utf8),
    req("request_dir", Utf8),
    req("request_ts", Ts),
    req("response_ts", Ts),
    req("rtt_ms", Double),
];

/// The tables, one per JSON Lines record type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Connections,
    Messages,
    Rtts,
    Anomalies,
    Ends,
    Flows,
    AppRtts,
}

impl Table {
    pub const ALL: [Table; 7] = [
        Table::Connections,
        Table::Messages,
        Table::Rtts,
        Table::Anomalies,
        Table::Ends,
        Table::Flows,
        Table::AppRtts,
    ];

    /// The file in OUT, named after the record type (`message` → `messages.parquet`).
    pub fn file_name(self) -> &'static str {
        match self {
            Table::Connections => "connections.parquet",
            Table::Messages => "messages.parquet",
            Table::Rtts => "rtts.parquet",
            Table::Anomalies => "anomalies.parquet",
            Table::Ends => "ends.parquet",
            Table::Flows => "flows.parquet",
            Table::AppRtts => "app_rtts.parquet",
        }
    }

    fn columns(self) -> &'static [ColumnSpec] {
        match self {
            Table::Connections => CONNECTIONS,
            Table::Messages => MESSAGES,
            Table::Rtts => RTTS,
            Table::Anomalies => ANOMALIES,
            Table::Ends => ENDS,
            Table::Flows => FLOWS,
            Table::AppRtts => APP_RTTS,
        }
    }

    /// The Parquet schema; `capture` (the file the record came from) first.
    fn schema(self) -> String {
        let mut schema = String::from("message framescope {\n");
        schema.push_str("  REQUIRED BYTE_ARRAY capture (UTF8);\n");
        for c in self.columns() {
            let repetition = if c.optional { "OPTIONAL" } else { "REQUIRED" };
            schema.push_str(&format!(
                "  {repetition} {} {}{};\n",
                c.kind.schema_type(),
                c.name,
                c.kind.annotation()
            ));
        }
        schema.push('}');
        schema
    }
}

type FileWriter = SerializedFileWriter<BufWriter<File>>;

/// One table's file: its writer until closed (or until a write failed).
struct TableFile {
    path: PathBuf,
    writer: Option<FileWriter>,
}

/// The open Parquet files of one `--parquet OUT`, shared by every capture being analysed.
pub struct ParquetFiles {
    tables: Vec<Mutex<TableFile>>,
    /// The first write error, as one line naming the file.
    error: Mutex<Option<String>>,
}

/// A write error as one line: the file and what went wrong.
fn describe(path: &Path, err: impl std::fmt::Display) -> String {
    format!("writing {}: {err}", path.display())
}

impl ParquetFiles {
    /// Creates OUT (if missing) and one file per table in it, replacing files of the same
    /// names.
    pub fn create(dir: &Path) -> Result<ParquetFiles, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the Parquet folder {}: {e}", dir.display()))?;
        let mut tables = Vec::with_capacity(Table::ALL.len());
        for table in Table::ALL {
            let path = dir.join(table.file_name());
            let schema = parse_message_type(&table.schema()).map_err(|e| describe(&path, e))?;
            let file = File::create(&path).map_err(|e| describe(&path, e))?;
            let writer = SerializedFileWriter::new(
                BufWriter::with_capacity(1 << 20, file),
                Arc::new(schema),
                Arc::new(properties(table)),
            )
            .map_err(|e| describe(&path, e))?;
            tables.push(Mutex::new(TableFile {
                path,
                writer: Some(writer),
            }));
        }
        Ok(ParquetFiles {
            tables,
            error: Mutex::new(None),
        })
    }

    /// A sink for one capture's events (`capture` names it in the `capture` column).
    pub fn sink(&self, capture: &str, app: AppSettings) -> ParquetSink<'_> {
        ParquetSink {
            files: self,
            capture: ByteArray::from(capture.as_bytes()),
            app: AppTracker::new(app),
            buffers: Table::ALL.map(RowBuffer::new),
        }
    }

    fn fail(&self, message: String) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(message);
        }
    }

    /// Writes the footers; returns the first error of the whole run.
    pub fn close(self) -> Result<(), String> {
        let ParquetFiles { tables, error, .. } = self;
        let mut first = error.into_inner().ok().flatten();
        for table in tables {
            let Ok(mut file) = table.into_inner() else { continue };
            if let Some(writer) = file.writer.take()
                && let Err(err) = writer.close()
            {
                first.get_or_insert_with(|| describe(&file.path, err));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Writes one table's buffered rows as a row group.
    fn write_row_group(&self, table: Table, buffer: &mut RowBuffer, capture: &ByteArray) {
        let rows = buffer.rows;
        if rows == 0 {
            return;
        }
        let Some(slot) = self.tables.get(table as usize) else {
            return;
        };
        let Ok(mut file) = slot.lock() else { return };
        let Some(writer) = file.writer.as_mut() else {
            buffer.clear();
            return;
        };
        let written = write_columns(writer, buffer, capture);
        buffer.clear();
        if let Err(err) = written {
            // A failed file gets no more rows (its footer will be missing): said once.
            file.writer = None;
            let message = describe(&file.path, err);
            drop(file);
            self.fail(message);
        }
    }
}

fn properties(table: Table) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("framescope {}", env!("CARGO_PKG_VERSION")));
    if table == Table::Messages {
        // Min/max statistics and a dictionary of payloads cost time and say nothing.
        let payload = ColumnPath::from("payload");
        props = props
            .set_column_statistics_enabled(payload.clone(), EnabledStatistics::None)
            .set_column_dictionary_enabled(payload, false);
    }
    props.build()
}

fn write_columns(writer: &mut FileWriter, buffer: &RowBuffer, capture: &ByteArray) -> parquet::errors::Result<()> {
    let mut group = writer.next_row_group()?;
    let values = vec![capture.clone(); buffer.rows];
    let Some(mut column) = group.next_column()? else {
        return Err(schema_mismatch());
    };
    column.typed::<ByteArrayType>().write_batch(&values, None, None)?;
    column.close()?;
    for data in &buffer.columns {
        let Some(mut column) = group.next_column()? else {
            return Err(schema_mismatch());
        };
        data.write(&mut column)?;
        column.close()?;
    }
    group.close()?;
    Ok(())
}

fn schema_mismatch() -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::General("more columns buffered than the schema has".into())
}

/// A cell of a row: what `ColumnData::push` takes.
enum Cell<'a> {
    Null,
    I64(i64),
    I32(i32),
    F64(f64),
    Bool(bool),
    Bytes(&'a [u8]),
}

impl<'a> Cell<'a> {
    fn str(s: &'a str) -> Cell<'a> {
        Cell::Bytes(s.as_bytes())
    }

    fn opt_str(s: Option<&'a str>) -> Cell<'a> {
        s.map_or(Cell::Null, Cell::str)
    }

    fn count(n: u64) -> Cell<'a> {
        Cell::I64(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Microseconds, rounded as the JSON Lines' six decimals are.
    fn ts(ts: Timestamp) -> Cell<'a> {
        Cell::I64(ts.nanos.saturating_add(500).div_euclid(1000))
    }
}

/// The values of one column for the row group being built.
enum Values {
    I64(Vec<i64>),
    I32(Vec<i32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    Bytes(Vec<ByteArray>),
}

struct ColumnData {
    values: Values,
    /// Definition levels (1 present, 0 null); only for optional columns.
    defs: Option<Vec<i16>>,
}

impl ColumnData {
    fn new(spec: &ColumnSpec) -> ColumnData {
        let values = match spec.kind {
            Kind::Int64 | Kind::Timestamp => Values::I64(Vec::new()),
            Kind::Int32 => Values::I32(Vec::new()),
            Kind::Double => Values::F64(Vec::new()),
            Kind::Bool => Values::Bool(Vec::new()),
            Kind::Utf8 | Kind::Binary => Values::Bytes(Vec::new()),
        };
        ColumnData {
            values,
            defs: spec.optional.then(Vec::new),
        }
    }

    /// Adds a cell; returns the variable-length bytes it added. A required column given
    /// null (or a cell of the wrong type, a bug the schema tests catch) gets a zero value so
    /// the columns stay aligned.
    fn push(&mut self, cell: Cell<'_>) -> usize {
        let present = !matches!(cell, Cell::Null);
        if let Some(defs) = &mut self.defs {
            defs.push(i16::from(present));
            if !present {
                return 0;
            }
        }
        match (&mut self.values, cell) {
            (Values::I64(v), Cell::I64(x)) => v.push(x),
            (Values::I32(v), Cell::I32(x)) => v.push(x),
            (Values::F64(v), Cell::F64(x)) => v.push(x),
            (Values::Bool(v), Cell::Bool(x)) => v.push(x),
            (Values::Bytes(v), Cell::Bytes(x)) => {
                v.push(ByteArray::from(x));
                return x.len();
            }
            (Values::I64(v), _) => v.push(0),
            (Values::I32(v), _) => v.push(0),
            (Values::F64(v), _) => v.push(0.0),
            (Values::Bool(v), _) => v.push(false),
            (Values::Bytes(v), _) => v.push(ByteArray::from(Vec::new())),
        }
        0
    }

    fn write(&self, column: &mut SerializedColumnWriter<'_>) -> parquet::errors::Result<usize> {
        let defs = self.defs.as_deref();
        match &self.values {
            Values::I64(v) => column.typed::<Int64Type>().write_batch(v, defs, None),
            Values::I32(v) => column.typed::<Int32Type>().write_batch(v, defs, None),
            Values::F64(v) => column.typed::<DoubleType>().write_batch(v, defs, None),
            Values::Bool(v) => column.typed::<BoolType>().write_batch(v, defs, None),
            Values::Bytes(v) => column.typed::<ByteArrayType>().write_batch(v, defs, None),
        }
    }

    fn clear(&mut self) {
        match &mut self.values {
            Values::I64(v) => v.clear(),
            Values::I32(v) => v.clear(),
            Values::F64(v) => v.clear(),
            Values::Bool(v) => v.clear(),
            Values::Bytes(v) => v.clear(),
        }
        if let Some(defs) = &mut self.defs {
            defs.clear();
        }
    }
}

/// One table's rows not yet written.
struct RowBuffer {
    table: Table,
    columns: Vec<ColumnData>,
    rows: usize,
    bytes: usize,
}

impl RowBuffer {
    fn new(table: Table) -> RowBuffer {
        RowBuffer {
            table,
            columns: table.columns().iter().map(ColumnData::new).collect(),
            rows: 0,
            bytes: 0,
        }
    }

    /// Adds a row, its cells in the table's column order.
    fn push<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) {
        let mut cells = cells.into_iter();
        for column in &mut self.columns {
            self.bytes += column.push(cells.next().unwrap_or(Cell::Null));
        }
        debug_assert!(cells.next().is_none(), "{:?}: more cells than columns", self.table);
        self.rows += 1;
    }

    fn full(&self) -> bool {
        self.rows >= ROW_GROUP_ROWS || self.bytes >= ROW_GROUP_BYTES
    }

    fn clear(&mut self) {
        for column in &mut self.columns {
            column.clear();
        }
        self.rows = 0;
        self.bytes = 0;
    }
}

/// One capture's events into the shared files: rows buffered per table, written as row
/// groups when a buffer fills and at `finish`.
pub struct ParquetSink<'a> {
    files: &'a ParquetFiles,
    capture: ByteArray,
    /// Application decoding, as `JsonlWriter` does it: `app_*` on messages, `app_rtts` rows.
    app: AppTracker,
    buffers: [RowBuffer; 7],
}

impl ParquetSink<'_> {
    fn push<'c>(&mut self, table: Table, cells: impl IntoIterator<Item = Cell<'c>>) {
        let Some(buffer) = self.buffers.get_mut(table as usize) else {
            return;
        };
        buffer.push(cells);
        if buffer.full() {
            self.files.write_row_group(table, buffer, &self.capture);
        }
    }

    /// Writes every buffered row (the capture is done).
    pub fn finish(mut self) {
        for buffer in &mut self.buffers {
            self.files.write_row_group(buffer.table, buffer, &self.capture);
        }
    }

    fn connection(&mut self, c: &ConnectionInfo) {
        let (client, server) = (c.client.to_string(), c.server.to_string());
        let hs = c.handshake.as_ref();
        let json_list = |items: Vec<String>| serde_json::to_string(&items).unwrap_or_default();
        let extensions = hs.map(|hs| json_list(hs.extensions.iter().map(ToString::to_string).collect()));
        let offered_subprotocols = hs.map(|hs| json_list(hs.offered_subprotocols.clone()));
        let offered_extensions =
            hs.map(|hs| json_list(hs.offered_extensions.iter().map(ToString::to_string).collect()));
        let http_version = hs.map(|hs| hs.http_version());
        let mut cells = vec![
            Cell::I64(conn_id(c.conn)),
            Cell::str(&client),
            Cell::str(&server),
            Cell::ts(c.first_ts),
            Cell::Bool(hs.is_some()),
            Cell::opt_str(hs.and_then(|hs| hs.path())),
            hs.map_or(Cell::Null, |hs| Cell::I32(i32::from(hs.response.status))),
            Cell::opt_str(http_version),
            Cell::opt_str(hs.and_then(|hs| hs.subprotocol.as_deref())),
            Cell::opt_str(extensions.as_deref()),
            hs.and_then(|hs| hs.accept_valid()).map_or(Cell::Null, Cell::Bool),
            Cell::opt_str(offered_subprotocols.as_deref()),
            Cell::opt_str(offered_extensions.as_deref()),
        ];
        cells.extend(tls_cells(c.tls.as_ref()));
        cells.push(c.h2_stream.map_or(Cell::Null, |s| Cell::I64(i64::from(s))));
        self.push(Table::Connections, cells);
    }

    fn message(&mut self, m: &MessageEvent<'_>, app: Option<&Decoded>) {
        let reason = m.close_reason();
        let opcode = m.opcode.name();
        let fields = app.map(|d| d.fields.to_string());
        let cells = [
            Cell::I64(conn_id(m.conn)),
            Cell::str(m.dir.as_str()),
            Cell::ts(m.ts),
            Cell::ts(m.first_ts),
            Cell::str(&opcode),
            Cell::count(u64::from(m.frames)),
            Cell::Bool(m.compressed),
            Cell::count(m.wire_len),
            Cell::count(m.payload.len() as u64),
            Cell::Bytes(m.payload),
            m.close_code.map_or(Cell::Null, |c| Cell::I32(i32::from(c))),
            Cell::opt_str(reason.as_deref()),
            Cell::Bool(m.truncated),
            Cell::Bool(m.decoded),
            Cell::opt_str(app.map(|d| d.protocol.id())),
            Cell::opt_str(app.map(|d| d.summary.as_str())),
            Cell::opt_str(fields.as_deref()),
        ];
        self.push(Table::Messages, cells);
    }

    fn rtt(&mut self, r: &RttSample) {
        let cells = [
            Cell::I64(conn_id(r.conn)),
            Cell::str(r.ping_dir.as_str()),
            Cell::ts(r.ping_ts),
            Cell::ts(r.pong_ts),
            Cell::F64(r.rtt_ms()),
        ];
        self.push(Table::Rtts, cells);
    }

    fn anomaly(&mut self, f: &Finding) {
        let cells = [
            f.conn.map_or(Cell::Null, |c| Cell::I64(conn_id(c))),
            Cell::opt_str(f.dir.map(Direction::as_str)),
            Cell::ts(f.ts),
            Cell::str(f.kind.slug()),
            Cell::str(&f.detail),
            f.stream_offset.map_or(Cell::Null, Cell::count),
        ];
        self.push(Table::Anomalies, cells);
    }

    fn end(&mut self, conn: ConnId, ts: Timestamp, how: ConnectionEnd, tcp: Option<&TcpHealth>) {
        let mut cells = vec![Cell::I64(conn_id(conn)), Cell::ts(ts), Cell::str(how.as_str())];
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            match tcp.and_then(|t| t.dirs.get(dir.index())) {
                Some(h) => cells.extend([
                    Cell::count(h.segments),
                    Cell::count(h.retransmissions),
                    Cell::count(h.duplicate_bytes),
                    Cell::count(h.out_of_order),
                    Cell::count(h.gaps),
                    Cell::count(h.gap_bytes),
                    Cell::count(h.overlap_conflicts),
                    Cell::count(h.zero_windows),
                    Cell::F64(h.zero_window_micros as f64 / 1000.0),
                ]),
                None => cells.extend((0..9).map(|_| Cell::Null)),
            }
        }
        self.push(Table::Ends, cells);
    }

    fn flow(&mut self, f: &FlowInfo) {
        let (client, server) = (f.client.to_string(), f.server.to_string());
        let mut cells = vec![
            Cell::str(&client),
            Cell::str(&server),
            Cell::ts(f.first_ts),
            Cell::ts(f.last_ts),
            Cell::str(f.protocol),
        ];
        cells.extend(tls_cells(f.tls.as_ref()));
        cells.push(Cell::str(&f.reason));
        cells.push(f.h2_stream.map_or(Cell::Null, |s| Cell::I64(i64::from(s))));
        cells.push(f.attempts.map_or(Cell::Null, |n| Cell::I64(i64::from(n))));
        self.push(Table::Flows, cells);
    }

    fn app_rtt(&mut self, r: &AppRttSample) {
        let cells = [
            Cell::I64(conn_id(r.conn)),
            Cell::str(r.protocol.id()),
            Cell::str(&r.key),
            Cell::str(r.request_dir.as_str()),
            Cell::ts(r.request_ts),
            Cell::ts(r.response_ts),
            Cell::F64(r.rtt_ms()),
        ];
        self.push(Table::AppRtts, cells);
    }
}

fn conn_id(conn: ConnId) -> i64 {
    i64::from(conn)
}

/// `tls_version`, `tls_cipher_suite`, `tls_sni`, `tls_alpn`, `tls_decrypted`.
fn tls_cells(tls: Option<&TlsInfo>) -> [Cell<'_>; 5] {
    match tls {
        None => [Cell::Null, Cell::Null, Cell::Null, Cell::Null, Cell::Null],
        Some(t) => [
            Cell::opt_str(t.version.as_deref()),
            Cell::opt_str(t.cipher_suite.as_deref()),
            Cell::opt_str(t.sni.as_deref()),
            Cell::opt_str(t.alpn.as_deref()),
            Cell::Bool(t.decrypted),
        ],
    }
}

impl EventSink for ParquetSink<'_> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connection(c) => {
                self.app.on_connection(c);
                self.connection(c);
            }
            Event::Message(m) => {
                let app = self.app.on_message(m);
                self.message(m, app.as_ref());
                if !self.app.out.is_empty() {
                    let extra = std::mem::take(&mut self.app.out);
                    for f in &extra.findings {
                        self.anomaly(f);
                    }
                    for r in &extra.rtts {
                        self.app_rtt(r);
                    }
                }
            }
            Event::ConnectionEnded { conn, ts, how, tcp } => {
                self.app.on_end(conn);
                self.end(conn, ts, how, tcp);
            }
            Event::Rtt(r) => self.rtt(&r),
            Event::Anomaly(f) => self.anomaly(f),
            Event::Flow(f) => self.flow(f),
            Event::Frame(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_schema_parses_with_one_leaf_per_column() {
        for table in Table::ALL {
            let schema = parse_message_type(&table.schema()).expect("a valid schema");
            let leaves = schema.get_fields().len();
            assert_eq!(leaves, table.columns().len() + 1, "{table:?}");
            assert_eq!(RowBuffer::new(table).columns.len(), table.columns().len());
        }
    }

    #[test]
    fn a_row_with_nulls_keeps_the_columns_aligned() {
        let mut buffer = RowBuffer::new(Table::Anomalies);
        buffer.push([
            Cell::Null,
            Cell::Null,
            Cell::I64(5),
            Cell::str("k"),
            Cell::str("detail"),
            Cell::Null,
        ]);
        buffer.push([
            Cell::I64(1),
            Cell::str("c2s"),
            Cell::I64(6),
            Cell::str("k"),
            Cell::str("d"),
            Cell::I64(9),
        ]);
        assert_eq!((buffer.rows, buffer.bytes), (2, 1 + 6 + 3 + 1 + 1));
        let defs: Vec<Option<Vec<i16>>> = buffer.columns.iter().map(|c| c.defs.clone()).collect();
        assert_eq!(defs[0], Some(vec![0, 1]));
        assert_eq!(defs[2], None, "ts is required");
        match &buffer.columns[0].values {
            Values::I64(v) => assert_eq!(v, &[1]),
            _ => panic!("conn is INT64"),
        }
    }
}
