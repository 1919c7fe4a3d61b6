//! RTT over time, the two-lane message timeline and throughput. Everything handed to
//! egui_plot is decimated to at most two points per pixel column and lane, so a million
//! messages pan and zoom as smoothly as a hundred.

use egui_plot::{HLine, HoverPosition, Legend, Line, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Span, VLine};

use crate::analysis::Timestamp;
use crate::analysis::event::Direction;
use crate::analysis::findings::FindingKind;
use crate::analysis::latency::LatencyRecorder;
use crate::analysis::ws::frame::OpCode;
use crate::gui::app::{FramescopeApp, PlotTab};
use crate::gui::commands::Command;
use crate::gui::theme;
use crate::live::client::{SessionMark, SessionMarkKind};
use crate::store::Store;

/// Hover text from the series name and the point under the pointer.
fn hover(pos: &HoverPosition<'_>, text: impl Fn(&str, PlotPoint) -> String) -> Option<String> {
    Some(match pos {
        HoverPosition::NearDataPoint {
            plot_name, position, ..
        } => text(plot_name, *position),
        HoverPosition::Elsewhere { position } => text("", *position),
    })
}

/// At most this many gap/close markers are drawn per plot.
const MAX_MARKERS: usize = 300;

pub fn plots_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut app.plot_tab, PlotTab::Timeline, "Timeline");
        ui.selectable_value(&mut app.plot_tab, PlotTab::Rtt, "Ping/pong RTT");
        ui.selectable_value(&mut app.plot_tab, PlotTab::Throughput, "Throughput");
    });
    let Some((origin, _)) = app.store.time_span() else {
        ui.weak("No messages yet.");
        return;
    };
    match app.plot_tab {
        PlotTab::Timeline => timeline_ui(app, ui, origin),
        PlotTab::Rtt => rtt_ui(app, ui, origin),
        PlotTab::Throughput => throughput_ui(app, ui, origin),
    }
}

fn secs(ts: Timestamp, origin: Timestamp) -> f64 {
    ts.millis_since(origin) / 1000.0
}

/// A point that stands for a message: x, y and the message index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarkPoint {
    pub x: f64,
    pub y: f64,
    pub message: u32,
}

/// Keeps, of points sorted by x, those inside `[x_min, x_max]`, at most the lowest and the
/// highest per pixel column (`columns` columns across the range). Order of output: by column.
pub fn decimate(points: &[MarkPoint], x_min: f64, x_max: f64, columns: usize) -> Vec<MarkPoint> {
    let start = points.partition_point(|p| p.x < x_min);
    let end = points.partition_point(|p| p.x <= x_max);
    let visible = points.get(start..end).unwrap_or(&[]);
    let columns = columns.max(1);
    if visible.len() <= columns * 2 {
        return visible.to_vec();
    }
    let width = (x_max - x_min).max(f64::MIN_POSITIVE);
    let mut out = Vec::with_capacity(columns * 2);
    let mut current: Option<(usize, MarkPoint, MarkPoint)> = None;
    for p in visible {
        let col = (((p.x - x_min) / width) * columns as f64).clamp(0.0, columns as f64 - 1.0) as usize;
        match &mut current {
            Some((c, lo, hi)) if *c == col => {
                if p.y < lo.y {
                    *lo = *p;
                }
                if p.y > hi.y {
                    *hi = *p;
                }
            }
            _ => {
                if let Some((_, lo, hi)) = current.take() {
                    out.push(lo);
                    if hi != lo {
                        out.push(hi);
                    }
                }
                current = Some((col, *p, *p));
            }
        }
    }
    if let Some((_, lo, hi)) = current {
        out.push(lo);
        if hi != lo {
            out.push(hi);
        }
    }
    out
}

/// Points per summary block: a block keeps its lowest and highest point.
pub const BLOCK_POINTS: usize = 256;

/// The extremes of up to `BLOCK_POINTS` consecutive points (sorted by x), in x order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block {
    pub first: MarkPoint,
    pub second: MarkPoint,
}

/// Summaries of every whole or partial block of `points`.
pub fn blocks_of(points: &[MarkPoint]) -> Vec<Block> {
    points
        .chunks(BLOCK_POINTS)
        .filter_map(|chunk| {
            let low = *chunk.iter().min_by(|a, b| a.y.total_cmp(&b.y))?;
            let high = *chunk.iter().max_by(|a, b| a.y.total_cmp(&b.y))?;
            let (first, second) = if low.x <= high.x { (low, high) } else { (high, low) };
            Some(Block { first, second })
        })
        .collect()
}

/// Like [`decimate`], but when columns would span many points it decimates the block
/// summaries instead: the cost follows the number of blocks, not points. Blocks are runs of
/// consecutive sorted points, so their extremes are still sorted by x and no extreme of the
/// range is lost.
pub fn decimate_with_blocks(
    points: &[MarkPoint],
    blocks: &[Block],
    x_min: f64,
    x_max: f64,
    columns: usize,
) -> Vec<MarkPoint> {
    let start = points.partition_point(|p| p.x < x_min);
    let end = points.partition_point(|p| p.x <= x_max);
    if end.saturating_sub(start) <= columns.max(1) * BLOCK_POINTS * 2 {
        return decimate(points, x_min, x_max, columns);
    }
    let range = start / BLOCK_POINTS..end.div_ceil(BLOCK_POINTS).min(blocks.len());
    let summary: Vec<MarkPoint> = blocks
        .get(range)
        .unwrap_or(&[])
        .iter()
        .flat_map(|b| [b.first, b.second])
        .collect();
    decimate(&summary, x_min, x_max, columns)
}

/// The decimated points last drawn, and for what view.
#[derive(Clone, Debug, Default)]
struct DecimatedLane {
    key: Option<(u64, usize, u64, u64, usize)>,
    points: Vec<MarkPoint>,
}

/// Timeline points of the filtered messages, per direction, kept up to date incrementally:
/// new rows are appended (rows arrive in nearly time order; an out-of-order one triggers one
/// sort), a new filter starts over. Without this every frame would rebuild and sort a
/// million points.
#[derive(Default)]
pub struct TimelineCache {
    generation: u64,
    rows_seen: usize,
    origin: Option<Timestamp>,
    pub lanes: [Vec<MarkPoint>; 2],
    blocks: [Vec<Block>; 2],
    shown: [DecimatedLane; 2],
}

impl TimelineCache {
    pub fn update(&mut self, app_rows: &[u32], generation: u64, store: &Store, origin: Timestamp) {
        if self.generation != generation || self.origin != Some(origin) || self.rows_seen > app_rows.len() {
            *self = TimelineCache {
                generation,
                origin: Some(origin),
                ..Default::default()
            };
        }
        let mut unsorted = [false; 2];
        for &i in app_rows.get(self.rows_seen..).unwrap_or(&[]) {
            let Some(m) = store.messages.get(i as usize) else {
                continue;
            };
            let lane = &mut self.lanes[m.dir.index()];
            let p = MarkPoint {
                x: secs(m.ts, origin),
                y: ((m.len + 1) as f64).log10(),
                message: i,
            };
            if lane.last().is_some_and(|last| last.x > p.x) {
                unsorted[m.dir.index()] = true;
            }
            lane.push(p);
        }
        let grew = app_rows.len() != self.rows_seen;
        for ((lane, unsorted), blocks) in self.lanes.iter_mut().zip(unsorted).zip(self.blocks.iter_mut()) {
            if unsorted {
                lane.sort_by(|a, b| a.x.total_cmp(&b.x));
                blocks.clear();
            }
            if grew || unsorted {
                // Redo only the last (partial) block and the new ones.
                let keep = (lane.len() / BLOCK_POINTS).min(blocks.len().saturating_sub(1));
                blocks.truncate(keep);
                blocks.extend(blocks_of(lane.get(keep * BLOCK_POINTS..).unwrap_or(&[])));
            }
        }
        self.rows_seen = app_rows.len();
    }

    /// The points to draw for one lane over `[x_min, x_max]`, reused while nothing changed.
    pub fn shown(&mut self, lane: usize, x_min: f64, x_max: f64, columns: usize) -> &[MarkPoint] {
        let key = (
            self.generation,
            self.rows_seen,
            x_min.to_bits(),
            x_max.to_bits(),
            columns,
        );
        let (Some(points), Some(blocks), Some(cache)) =
            (self.lanes.get(lane), self.blocks.get(lane), self.shown.get_mut(lane))
        else {
            return &[];
        };
        if cache.key != Some(key) {
            cache.points = decimate_with_blocks(points, blocks, x_min, x_max, columns);
            cache.key = Some(key);
        }
        &cache.points
    }
}

fn timeline_ui(app: &mut FramescopeApp, ui: &mut egui::Ui, origin: Timestamp) {
    let height = ((ui.available_height() - 8.0) / 2.0).max(60.0);
    let columns = ui.available_width().max(100.0) as usize;
    let link = egui::Id::unique("timeline-x");
    // Both lanes start out over the same span, so their times line up.
    let span_end = app.store.time_span().map_or(1.0, |(a, b)| secs(b, a));
    let reconnects = live_reconnect_marks(app, origin);
    let x_max = reconnects.gaps.iter().map(|g| g.1).fold(span_end, f64::max);
    let mut clicked = None;
    app.timeline_cache
        .update(&app.view.rows, app.view.generation, &app.store, origin);
    for dir in [Direction::ClientToServer, Direction::ServerToClient] {
        let cache = &mut app.timeline_cache;
        let store = &app.store;
        let gaps = gap_times(&app.store, dir, app.selection.conn, origin);
        let title = match dir {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        };
        let response = Plot::new(("timeline", dir.as_str()))
            .height(height)
            .link_axis(link, [true, false])
            .legend(Legend::default())
            .y_axis_label(format!("{title}: bytes (log)"))
            .include_x(0.0)
            .include_x(x_max)
            .y_axis_formatter(|mark, _| format_size(10f64.powf(mark.value)))
            .label_formatter(|pos| hover(pos, |name, p| format!("{name}\n{:.6} s\n{}", p.x, format_size_log(p.y))))
            .allow_double_click_reset(true)
            .show(ui, |plot_ui| {
                let bounds = plot_ui.plot_bounds();
                let (x_min, x_max) = (bounds.min()[0], bounds.max()[0]);
                let shown = cache.shown(dir.index(), x_min, x_max, columns).to_vec();
                for op in theme::OPCODES {
                    let series: Vec<[f64; 2]> = shown
                        .iter()
                        .filter(|p| store.messages.get(p.message as usize).is_some_and(|m| m.opcode == op))
                        .map(|p| [p.x, p.y])
                        .collect();
                    if !series.is_empty() {
                        let shape = if op == OpCode::Close {
                            MarkerShape::Diamond
                        } else {
                            MarkerShape::Circle
                        };
                        plot_ui.points(
                            Points::new(op.name(), PlotPoints::from(series))
                                .color(theme::opcode_color(op))
                                .shape(shape)
                                .radius(if op == OpCode::Close { 5.0 } else { 2.5 }),
                        );
                    }
                }
                for x in gaps.iter().take(MAX_MARKERS) {
                    plot_ui.vline(
                        VLine::new("gap", *x)
                            .color(theme::WARNING)
                            .style(egui_plot::LineStyle::dashed_loose()),
                    );
                }
                for &(from, to) in reconnects.gaps.iter().take(MAX_MARKERS) {
                    plot_ui.span(
                        Span::new("reconnect gap", from..=to)
                            .fill(theme::WARNING.gamma_multiply(0.12))
                            .border_color(theme::WARNING),
                    );
                }
                for &(x, failed) in reconnects.attempts.iter().take(MAX_MARKERS) {
                    let (name, color) = if failed {
                        ("failed reconnect attempt", theme::ERROR)
                    } else {
                        ("reconnect attempt", theme::OK)
                    };
                    plot_ui.vline(
                        VLine::new(name, x)
                            .color(color)
                            .style(egui_plot::LineStyle::dotted_dense()),
                    );
                }
                plot_ui.pointer_coordinate().map(|p| (p, shown))
            });
        if response.response.clicked()
            && let Some((pointer, shown)) = response.inner
        {
            clicked = nearest(&shown, pointer.x, pointer.y, &response.transform).or(clicked);
        }
    }
    if let Some(message) = clicked {
        app.push(Command::RevealMessage(message));
    }
}

/// The shown point closest to the pointer on screen, within 12 pixels.
fn nearest(shown: &[MarkPoint], x: f64, y: f64, transform: &egui_plot::PlotTransform) -> Option<u32> {
    let pointer = transform.position_from_point(&egui_plot::PlotPoint::new(x, y));
    shown
        .iter()
        .map(|p| {
            (
                p,
                transform
                    .position_from_point(&egui_plot::PlotPoint::new(p.x, p.y))
                    .distance(pointer),
            )
        })
        .filter(|(_, d)| *d <= 12.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p.message)
}

/// The size a timeline y value stands for (y is log10 of size + 1).
fn format_size_log(y: f64) -> String {
    format_size(10f64.powf(y) - 1.0)
}

fn format_size(bytes: f64) -> String {
    if bytes < 1024.0 {
        format!("{bytes:.0} B")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{:.1} MiB", bytes / 1024.0 / 1024.0)
    }
}

/// Where a live session was between connections, in seconds from the plot's origin.
#[derive(Debug, Default, PartialEq)]
pub struct ReconnectMarks {
    /// From a drop to the reconnection, the give-up, or (still waiting) `now`.
    pub gaps: Vec<(f64, f64)>,
    /// Each attempt's start, and whether it failed.
    pub attempts: Vec<(f64, bool)>,
}

/// The gaps and attempts of one session's marks (oldest first).
pub fn reconnect_marks(marks: &[SessionMark], origin: Timestamp, now: Timestamp) -> ReconnectMarks {
    let mut out = ReconnectMarks::default();
    let mut dropped_at = None;
    for (i, mark) in marks.iter().enumerate() {
        let x = secs(mark.at, origin);
        match mark.kind {
            SessionMarkKind::Dropped(_) => dropped_at = Some(x),
            SessionMarkKind::Attempt { .. } => {
                let failed = matches!(
                    marks.get(i + 1).map(|m| &m.kind),
                    Some(SessionMarkKind::AttemptFailed(_) | SessionMarkKind::GaveUp)
                );
                out.attempts.push((x, failed));
            }
            SessionMarkKind::AttemptFailed(_) => {}
            SessionMarkKind::Reconnected | SessionMarkKind::GaveUp => {
                if let Some(from) = dropped_at.take() {
                    out.gaps.push((from, x));
                }
            }
        }
    }
    if let Some(from) = dropped_at {
        out.gaps.push((from, secs(now, origin)));
    }
    out
}

/// The reconnect marks of the live sessions shown (the selected connection's tab only, when
/// one is selected).
fn live_reconnect_marks(app: &FramescopeApp, origin: Timestamp) -> ReconnectMarks {
    let mut all = ReconnectMarks::default();
    let now = crate::live::tap::now();
    for tab in &app.clients.tabs {
        if app.selection.conn.is_some_and(|c| !tab.conns.contains(&c)) {
            continue;
        }
        if let Some(session) = &tab.session {
            let marks = reconnect_marks(&session.client.marks(), origin, now);
            all.gaps.extend(marks.gaps);
            all.attempts.extend(marks.attempts);
        }
    }
    all
}

/// Times of TCP gaps in one direction (of the selected connection, if one is).
fn gap_times(store: &Store, dir: Direction, conn: Option<u32>, origin: Timestamp) -> Vec<f64> {
    store
        .findings
        .iter()
        .map(|f| &f.finding)
        .filter(|f| matches!(f.kind, FindingKind::TcpGap | FindingKind::TruncatedPacket))
        .filter(|f| f.dir == Some(dir) && (conn.is_none() || f.conn == conn))
        .map(|f| secs(f.ts, origin))
        .collect()
}

fn rtt_ui(app: &mut FramescopeApp, ui: &mut egui::Ui, origin: Timestamp) {
    let scope = app.selection.conn;
    let samples: Vec<_> = app
        .store
        .rtts
        .iter()
        .filter(|r| scope.is_none_or(|c| c == r.conn))
        .collect();
    let missed: Vec<[f64; 2]> = app
        .store
        .findings
        .iter()
        .map(|f| &f.finding)
        .filter(|f| f.kind == FindingKind::PongMissing && (scope.is_none() || f.conn == scope))
        .map(|f| [secs(f.ts, origin), 0.0])
        .collect();
    // The same percentile definition as `analyze --summary` (analysis::latency).
    let mut recorder = LatencyRecorder::default();
    for r in &samples {
        recorder.record_ms(r.rtt_ms());
    }
    let summary = recorder.summary();
    let (p50, p95, p99) = (
        summary.map(|s| s.p50_ms),
        summary.map(|s| s.p95_ms),
        summary.map(|s| s.p99_ms),
    );
    ui.horizontal(|ui| {
        ui.label(format!("{} samples", samples.len()));
        for (name, v) in [("p50", p50), ("p95", p95), ("p99", p99)] {
            if let Some(v) = v {
                ui.label(format!("{name} {v:.3} ms"));
            }
        }
        if !missed.is_empty() {
            ui.colored_label(theme::ERROR, format!("{} missed pongs", missed.len()));
        }
    });
    if samples.is_empty() && missed.is_empty() {
        ui.weak("No ping was answered by a pong in this scope.");
        return;
    }
    let mut by_conn: std::collections::BTreeMap<u32, Vec<[f64; 2]>> = Default::default();
    for r in &samples {
        by_conn
            .entry(r.conn)
            .or_default()
            .push([secs(r.pong_ts, origin), r.rtt_ms()]);
    }
    Plot::new("rtt")
        .legend(Legend::default())
        .y_axis_label("RTT (ms)")
        .x_axis_label("time (s)")
        .label_formatter(|pos| hover(pos, |name, p| format!("{name}\n{:.6} s\n{:.3} ms", p.x, p.y)))
        .show(ui, |plot_ui| {
            for (conn, pts) in by_conn.iter().take(64) {
                plot_ui.line(Line::new(format!("connection {conn}"), PlotPoints::from(pts.clone())).width(1.0));
                plot_ui.points(Points::new(format!("connection {conn}"), PlotPoints::from(pts.clone())).radius(2.5));
            }
            for (name, v) in [("p50", p50), ("p95", p95), ("p99", p99)] {
                if let Some(v) = v {
                    plot_ui.hline(HLine::new(name, v).style(egui_plot::LineStyle::dashed_dense()));
                }
            }
            if !missed.is_empty() {
                plot_ui.points(
                    Points::new("missed pong", PlotPoints::from(missed.clone()))
                        .shape(MarkerShape::Cross)
                        .color(theme::ERROR)
                        .radius(6.0),
                );
            }
        });
}

/// One line per direction (client to server, server to client) of `[time, rate]` points.
pub type RatePerDirection = [Vec<[f64; 2]>; 2];

/// Bytes and messages per second per direction, in `bins` equal time bins.
pub fn throughput(store: &Store, rows: &[u32], origin: Timestamp, bins: usize) -> (RatePerDirection, RatePerDirection) {
    let span = store.time_span().map_or(1.0, |(a, b)| secs(b, a)).max(1e-3);
    let bins = bins.max(1);
    let width = span / bins as f64;
    let mut bytes = [vec![0.0; bins], vec![0.0; bins]];
    let mut msgs = [vec![0.0; bins], vec![0.0; bins]];
    for m in rows.iter().filter_map(|&i| store.messages.get(i as usize)) {
        let bin = ((secs(m.ts, origin) / width) as usize).min(bins - 1);
        bytes[m.dir.index()][bin] += m.wire_len as f64;
        msgs[m.dir.index()][bin] += 1.0;
    }
    let to_rate = |v: &Vec<f64>| -> Vec<[f64; 2]> {
        v.iter()
            .enumerate()
            .map(|(i, c)| [(i as f64 + 0.5) * width, c / width])
            .collect()
    };
    (
        [to_rate(&bytes[0]), to_rate(&bytes[1])],
        [to_rate(&msgs[0]), to_rate(&msgs[1])],
    )
}

/// The last throughput computed, and for what (filter generation, rows, bins).
#[derive(Default)]
pub struct ThroughputCache {
    key: Option<(u64, usize, usize)>,
    rates: (RatePerDirection, RatePerDirection),
}

fn throughput_ui(app: &mut FramescopeApp, ui: &mut egui::Ui, origin: Timestamp) {
    let bins = (ui.available_width() / 4.0).clamp(10.0, 400.0) as usize;
    let key = (app.view.generation, app.view.rows.len(), bins);
    if app.throughput_cache.key != Some(key) {
        app.throughput_cache.rates = throughput(&app.store, &app.view.rows, origin, bins);
        app.throughput_cache.key = Some(key);
    }
    let (bytes, msgs) = &app.throughput_cache.rates;
    let height = ((ui.available_height() - 10.0) / 2.0).max(60.0);
    let link = egui::Id::unique("throughput-x");
    for (title, series, unit) in [("bytes/s", bytes, "B/s"), ("messages/s", msgs, "msg/s")] {
        Plot::new(("throughput", title))
            .height(height)
            .link_axis(link, [true, false])
            .legend(Legend::default())
            .y_axis_label(title)
            .label_formatter(move |pos| hover(pos, |name, p| format!("{name}\n{:.3} s\n{:.1} {unit}", p.x, p.y)))
            .show(ui, |plot_ui| {
                plot_ui.line(
                    Line::new("client to server", PlotPoints::from(series[0].clone())).color(theme::CLIENT_TO_SERVER),
                );
                plot_ui.line(
                    Line::new("server to client", PlotPoints::from(series[1].clone())).color(theme::SERVER_TO_CLIENT),
                );
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(n: u32) -> Vec<MarkPoint> {
        (0..n)
            .map(|i| MarkPoint {
                x: f64::from(i) / 1000.0,
                y: f64::from(i % 97),
                message: i,
            })
            .collect()
    }

    #[test]
    fn decimation_keeps_two_points_per_column_with_the_extremes() {
        let points = pts(1_000_000);
        let shown = decimate(&points, 0.0, 1000.0, 800);
        assert!(shown.len() <= 1600, "{}", shown.len());
        assert!(shown.len() >= 800);
        // Every column keeps its highest point: the maximum (96) appears in every column.
        assert!(shown.iter().filter(|p| p.y == 96.0).count() >= 790);
        assert!(
            shown
                .windows(2)
                .all(|w| w[0].x <= w[1].x || (w[0].x - w[1].x).abs() < 1.25)
        );
    }

    #[test]
    fn block_decimation_keeps_the_same_extremes_as_point_decimation() {
        let points = pts(1_000_000);
        let blocks = blocks_of(&points);
        let exact = decimate(&points, 0.0, 1000.0, 400);
        let fast = decimate_with_blocks(&points, &blocks, 0.0, 1000.0, 400);
        assert!(fast.len() <= 800);
        let max = |v: &[MarkPoint]| v.iter().map(|p| p.y).fold(f64::MIN, f64::max);
        let min = |v: &[MarkPoint]| v.iter().map(|p| p.y).fold(f64::MAX, f64::min);
        assert_eq!((max(&fast), min(&fast)), (max(&exact), min(&exact)));
        // Every point shown is a real message point.
        assert!(fast.iter().all(|p| points[p.message as usize] == *p));
    }

    #[test]
    fn decimation_returns_everything_when_zoomed_in() {
        let points = pts(10_000);
        let shown = decimate(&points, 1.0, 1.2, 800);
        assert_eq!(shown.len(), 201);
        assert_eq!(shown[0].message, 1000);
    }

    #[test]
    fn reconnect_marks_become_gaps_and_attempts() {
        let t = |ms: i64| Timestamp::from_nanos(1_000_000_000_000 + ms * 1_000_000);
        let mark = |ms, kind| SessionMark { at: t(ms), kind };
        let marks = [
            mark(1000, SessionMarkKind::Dropped("lost".into())),
            mark(1200, SessionMarkKind::Attempt { attempt: 1, of: 3 }),
            mark(1210, SessionMarkKind::AttemptFailed("refused".into())),
            mark(1600, SessionMarkKind::Attempt { attempt: 2, of: 3 }),
            mark(1650, SessionMarkKind::Reconnected),
            mark(5000, SessionMarkKind::Dropped("lost again".into())),
            mark(5500, SessionMarkKind::Attempt { attempt: 1, of: 3 }),
        ];
        let got = reconnect_marks(&marks, t(0), t(6000));
        assert_eq!(got.gaps, vec![(1.0, 1.65), (5.0, 6.0)]);
        assert_eq!(got.attempts, vec![(1.2, true), (1.6, false), (5.5, false)]);
        let gave_up = [
            mark(0, SessionMarkKind::Dropped("lost".into())),
            mark(100, SessionMarkKind::Attempt { attempt: 1, of: 1 }),
            mark(150, SessionMarkKind::AttemptFailed("refused".into())),
            mark(150, SessionMarkKind::GaveUp),
        ];
        let got = reconnect_marks(&gave_up, t(0), t(9000));
        assert_eq!(got.gaps, vec![(0.0, 0.15)]);
        assert_eq!(got.attempts, vec![(0.1, true)]);
    }

    // percentiles_use_nearest_rank moved to analysis::latency with the one definition.
}
