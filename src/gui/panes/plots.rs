//! RTT over time, the two-lane message timeline and throughput. Every plot shares one x
//! axis (linked bounds and cursor, the same y-axis width, time in seconds since the
//! capture's start, as in the message table), so the same time sits at the same pixel
//! column in every lane and zooming one zooms them all. Axes carry units (B/KiB/MiB, ms,
//! msg/s), legends sit above the plots, connection colours follow the connection number,
//! and a click on a point selects the message it stands for. Everything handed to egui_plot
//! is decimated to at most two points per pixel column and lane, so a million messages pan
//! and zoom as smoothly as a hundred.

use std::collections::HashMap;

use egui_plot::{
    GridInput, GridMark, HLine, HoverPosition, Line, MarkerShape, Plot, PlotPoint, PlotPoints, PlotTransform, Points,
    Span, VLine,
};

use crate::analysis::Timestamp;
use crate::analysis::event::ConnId;
use crate::analysis::event::{Direction, RttSample};
use crate::analysis::findings::FindingKind;
use crate::analysis::latency::LatencyRecorder;
use crate::analysis::ws::frame::OpCode;
use crate::gui::app::PlotTab;
use crate::gui::commands::Command;
use crate::gui::model::{Cx, LowerState};
use crate::gui::sessions::ClientTabs;
use crate::gui::theme;
use crate::live::client::{SessionMark, SessionMarkKind};
use crate::store::Store;

/// Hover text from the series name and the point under the pointer.
pub(super) fn hover(pos: &HoverPosition<'_>, text: impl Fn(&str, PlotPoint) -> String) -> Option<String> {
    Some(match pos {
        HoverPosition::NearDataPoint {
            plot_name, position, ..
        } => text(plot_name, *position),
        HoverPosition::Elsewhere { position } => text("", *position),
    })
}

/// At most this many gap/close markers are drawn per plot.
const MAX_MARKERS: usize = 300;

/// Width of every plot's y axis (tick labels and title), so x = 0 lines up in all lanes.
/// Wide enough for the longest tick label ("1023.9 KiB/s"); egui_plot widens an axis only
/// when a label does not fit.
pub const Y_AXIS_WIDTH: f32 = 112.0;

/// The link group of every plot's x axis and cursor.
fn x_link() -> egui::Id {
    egui::Id::unique("framescope-plots-x")
}

/// A click this close (in points) to a point selects it.
const CLICK_RADIUS: f32 = 12.0;

/// Which plot a lane is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotLane {
    ClientToServer,
    ServerToClient,
    Rtt,
    /// Application request → answer latency (`panes::app_rtt`).
    AppRtt,
    BytesPerSecond,
    MessagesPerSecond,
}

/// The plots' caches, and where each lane drew in the last frame (clicks, and tests that
/// check the lanes line up).
#[derive(Default)]
pub struct PlotsState {
    pub timeline: TimelineCache,
    pub throughput: ThroughputCache,
    pings: PingIndex,
    /// Each lane drawn in the last frame and its plot-to-screen transform.
    pub drawn: Vec<(PlotLane, PlotTransform)>,
}

impl PlotsState {
    /// The transform of a lane drawn in the last frame.
    pub fn transform(&self, lane: PlotLane) -> Option<&PlotTransform> {
        self.drawn.iter().find(|(l, _)| *l == lane).map(|(_, t)| t)
    }
}

/// A connection's colour: the same for the same connection number in every run and every
/// plot (golden-ratio hues), so legends and lines agree.
pub fn conn_color(conn: u32) -> egui::Color32 {
    let hue = (f64::from(conn) * 0.618_033_988_749_895 + 0.08).fract() as f32;
    egui::ecolor::Hsva::new(hue, 0.65, 0.92, 1.0).into()
}

pub fn plots_ui(cx: &mut Cx<'_>, lower: &mut LowerState, clients: &ClientTabs, ui: &mut egui::Ui) {
    lower.plots.drawn.clear();
    ui.horizontal(|ui| {
        ui.selectable_value(&mut lower.plot_tab, PlotTab::Timeline, "Timeline");
        ui.selectable_value(&mut lower.plot_tab, PlotTab::Rtt, "Ping/pong RTT");
        ui.selectable_value(&mut lower.plot_tab, PlotTab::AppRtt, "Application RTT")
            .on_hover_text("Request → answer latency of MQTT, Socket.IO, JSON-RPC, STOMP, GraphQL");
        ui.selectable_value(&mut lower.plot_tab, PlotTab::Throughput, "Throughput");
        ui.weak("· scroll or drag to zoom and pan (all plots follow), double-click to reset, click a point to select its message");
    });
    // The table's origin: the capture's start (its first packet, else its first connection).
    let (Some(origin), Some((_, last))) = (cx.store.capture_start(), cx.store.time_span()) else {
        ui.weak("No messages yet.");
        return;
    };
    let end = secs(last, origin).max(1e-3);
    match lower.plot_tab {
        PlotTab::Timeline => timeline_ui(cx, lower, clients, ui, origin, end),
        PlotTab::Rtt => rtt_ui(cx, lower, ui, origin, end),
        PlotTab::AppRtt => super::app_rtt::app_rtt_ui(cx, lower, ui, origin, end),
        PlotTab::Throughput => throughput_ui(cx, lower, ui, origin, end),
    }
}

/// A lane: linked x axis and cursor, the shared y-axis width, the same initial x range
/// (`[0, end]` plus a margin) in every lane, zoom and pan along x only.
pub(super) fn lane<'a>(id: &str, end: f64) -> Plot<'a> {
    let margin = end * 0.02;
    Plot::new(id)
        .link_axis(x_link(), [true, false])
        .link_cursor(x_link(), [true, false])
        .y_axis_min_width(Y_AXIS_WIDTH)
        .default_x_bounds(-margin, end + margin)
        .allow_zoom([true, false])
        .allow_drag([true, false])
        .allow_scroll([true, false])
        .allow_double_click_reset(true)
        .x_axis_formatter(|mark, range| format_seconds(mark.value, mark.step_size, range.end() - range.start()))
}

/// A tick on the time axis: milliseconds when less than half a second is shown (`span`),
/// else seconds; as many decimals as the tick spacing (`step`) needs.
pub fn format_seconds(value: f64, step: f64, span: f64) -> String {
    let decimals = |step: f64| decimals_for(step, 9);
    if span < 0.5 {
        let ms = value * 1000.0;
        format!("{ms:.*} ms", decimals(step * 1000.0))
    } else {
        format!("{value:.*} s", decimals(step))
    }
}

/// Decimals that tell apart ticks `step` apart (1 for 0.1 or 0.5, 0 for 1 or 5).
pub(super) fn decimals_for(step: f64, max: usize) -> usize {
    if step.is_nan() || step <= 0.0 || !step.is_finite() {
        return 0;
    }
    ((-step.log10() - 1e-6).ceil().max(0.0) as usize).min(max)
}

/// A time for hover text: milliseconds below 10 s, else seconds.
pub(super) fn format_time(t: f64) -> String {
    if t.abs() < 10.0 {
        format!("{:.3} ms", t * 1000.0)
    } else {
        format!("{t:.6} s")
    }
}

/// A byte count in B, KiB, MiB or GiB (binary units), one decimal past bytes.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes.abs() < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut value = bytes / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value.abs() < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    // Whole numbers without a decimal ("10 KiB"), others with one ("1.5 KiB").
    if (value - value.round()).abs() < 0.05 {
        format!("{:.0} {unit}", value.round())
    } else {
        format!("{value:.1} {unit}")
    }
}

/// A rate tick on the bytes-per-second axis.
pub fn format_byte_rate(bytes_per_second: f64) -> String {
    format!("{}/s", format_bytes(bytes_per_second))
}

/// A tick on the messages-per-second axis, with the decimals its spacing needs.
pub fn format_message_rate(value: f64, step: f64) -> String {
    let decimals = decimals_for(step, 6);
    format!("{value:.decimals$} msg/s")
}

/// The timeline's y value of a payload size (log scale; empty payloads at 0).
pub fn size_to_y(bytes: u64) -> f64 {
    ((bytes as f64) + 1.0).log10()
}

/// The payload size a timeline y value stands for.
pub fn y_to_size(y: f64) -> f64 {
    (10f64.powf(y) - 1.0).max(0.0)
}

/// Sizes labelled on the timeline's log axis: 0 B, 10 B, 100 B, then 1, 10, 100 in
/// each binary unit.
const SIZE_TICKS: [u64; 13] = [
    0,
    10,
    100,
    1 << 10,
    10 << 10,
    100 << 10,
    1 << 20,
    10 << 20,
    100 << 20,
    1 << 30,
    10 << 30,
    100 << 30,
    1 << 40,
];

/// Grid marks of the timeline's size axis: exact sizes ([`SIZE_TICKS`]) at their log
/// position, every one when there is room, else every second or third, so the labels
/// never crowd (egui_plot hides a label closer than 20 points to the next).
pub fn size_grid(input: GridInput) -> Vec<GridMark> {
    // `base_step_size` is the value of 8 points: a label needs about 24.
    let per_decade = 1.0 / input.base_step_size.max(f64::MIN_POSITIVE) * 8.0;
    let stride = (1..=4).find(|s| f64::from(*s) * per_decade >= 24.0).unwrap_or(5);
    SIZE_TICKS
        .iter()
        .enumerate()
        .filter(|(i, _)| i % stride as usize == 0)
        .map(|(_, b)| size_to_y(*b))
        .filter(|y| *y >= input.bounds.0 && *y <= input.bounds.1)
        .map(|value| GridMark {
            value,
            step_size: f64::from(stride),
        })
        .collect()
}

/// Grid marks of a bytes-per-second axis: multiples of 1, 2 or 5 × 10^k of the binary unit
/// the top of the range is counted in (so ticks read "20 KiB/s", not "19.5 KiB/s").
pub fn byte_rate_grid(input: GridInput) -> Vec<GridMark> {
    let top = input.bounds.0.abs().max(input.bounds.1.abs()).max(1.0);
    let unit = 1024f64.powi((top.log(1024.0).floor() as i32).clamp(0, 4));
    nice_grid(&input, unit, 1.0)
}

/// Grid marks of a plain linear axis (ms, msg/s): 1, 2 or 5 × 10^k apart, spaced so that
/// every label shows (egui_plot's default grid hides labels closer than 20 points, which
/// on a short lane leaves only "0").
pub fn number_grid(input: GridInput) -> Vec<GridMark> {
    nice_grid(&input, 1.0, 0.0)
}

/// Marks `step` apart, `step` the smallest 1, 2 or 5 × 10^k × `unit` (at least `min_step`)
/// that leaves about 24 points between labels.
fn nice_grid(input: &GridInput, unit: f64, min_step: f64) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    // `base_step_size` is the value of 8 points.
    let wanted = (input.base_step_size * 3.0 / unit).max(1e-12);
    let decade = 10f64.powf(wanted.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|s| *s >= wanted * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
        * unit;
    let step = step.max(min_step);
    if !step.is_finite() || step <= 0.0 || !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    if last.saturating_sub(first) > 1000 {
        return Vec::new();
    }
    (first..=last)
        .map(|i| GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

/// A bin width for `span` seconds in at most `bins` bins: 1, 2 or 5 × 10^k seconds, so
/// bins read "50 ms", not "59.884 ms".
pub fn bin_width(span: f64, bins: usize) -> f64 {
    let raw = (span / bins.max(1) as f64).max(1e-6);
    let decade = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|w| *w >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

/// A legend drawn above the plots (never over the data): a swatch and a name per entry.
fn legend_row(ui: &mut egui::Ui, entries: &[(String, egui::Color32, LegendMark)]) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        for (name, color, mark) in entries {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(16.0, 12.0), egui::Sense::hover());
            let painter = ui.painter_at(rect);
            let c = rect.center();
            match mark {
                LegendMark::Dot => {
                    painter.circle_filled(c, 4.0, *color);
                }
                LegendMark::Diamond => {
                    let pts = vec![
                        c + egui::vec2(0.0, -5.0),
                        c + egui::vec2(5.0, 0.0),
                        c + egui::vec2(0.0, 5.0),
                        c + egui::vec2(-5.0, 0.0),
                    ];
                    painter.add(egui::Shape::convex_polygon(pts, *color, egui::Stroke::NONE));
                }
                LegendMark::Line => {
                    painter.line_segment(
                        [c - egui::vec2(7.0, 0.0), c + egui::vec2(7.0, 0.0)],
                        egui::Stroke::new(2.0, *color),
                    );
                }
                LegendMark::Dashed => {
                    for dx in [-7.0, -1.0, 5.0] {
                        painter.line_segment(
                            [c + egui::vec2(dx, 0.0), c + egui::vec2(dx + 3.0, 0.0)],
                            egui::Stroke::new(2.0, *color),
                        );
                    }
                }
                LegendMark::Cross => {
                    let s = egui::Stroke::new(2.0, *color);
                    painter.line_segment([c + egui::vec2(-4.0, -4.0), c + egui::vec2(4.0, 4.0)], s);
                    painter.line_segment([c + egui::vec2(-4.0, 4.0), c + egui::vec2(4.0, -4.0)], s);
                }
            }
            ui.label(name);
            ui.add_space(8.0);
        }
    });
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegendMark {
    Dot,
    Diamond,
    Line,
    Dashed,
    Cross,
}

pub(super) fn secs(ts: Timestamp, origin: Timestamp) -> f64 {
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
    /// The highest y of both lanes (the largest payload), for a y range shared by both.
    pub max_y: f64,
    blocks: [Vec<Block>; 2],
    shown: [DecimatedLane; 2],
    /// Which of `theme::OPCODES` the lanes hold (for the legend), kept up to date with them:
    /// scanning a million points every frame to find out cost more than drawing.
    pub present: [bool; theme::OPCODES.len()],
    /// The TCP gaps' times per direction, and the findings count and scope they were taken at.
    gaps: [Vec<f64>; 2],
    gaps_key: Option<(usize, Option<u32>)>,
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
                y: size_to_y(m.len),
                message: i,
            };
            self.max_y = self.max_y.max(p.y);
            if let Some(slot) = theme::OPCODES
                .iter()
                .position(|op| *op == m.opcode)
                .and_then(|i| self.present.get_mut(i))
            {
                *slot = true;
            }
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

    /// The times of TCP gaps per direction (of `conn` when set), found again only when the
    /// findings or the scope change.
    pub fn gaps(&mut self, store: &Store, conn: Option<u32>, origin: Timestamp) -> &[Vec<f64>; 2] {
        let key = (store.findings.len(), conn);
        if self.gaps_key != Some(key) {
            self.gaps =
                [Direction::ClientToServer, Direction::ServerToClient].map(|dir| gap_times(store, dir, conn, origin));
            self.gaps_key = Some(key);
        }
        &self.gaps
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

fn timeline_ui(
    cx: &mut Cx<'_>,
    lower: &mut LowerState,
    clients: &ClientTabs,
    ui: &mut egui::Ui,
    origin: Timestamp,
    end: f64,
) {
    let reconnects = live_reconnect_marks(cx.selection.conn, clients, origin);
    let end = reconnects.gaps.iter().map(|g| g.1).fold(end, f64::max);
    let state = &mut lower.plots;
    state
        .timeline
        .update(&cx.view.rows, cx.view.generation, &cx.store, origin);
    let store = &cx.store;
    // The legend: the opcodes present, then the markers.
    let present = state.timeline.present;
    let gaps = state.timeline.gaps(store, cx.selection.conn, origin).clone();
    let mut entries: Vec<(String, egui::Color32, LegendMark)> = theme::OPCODES
        .iter()
        .zip(present)
        .filter(|(_, p)| *p)
        .map(|(op, _)| {
            let mark = if *op == OpCode::Close {
                LegendMark::Diamond
            } else {
                LegendMark::Dot
            };
            (op.name().into_owned(), theme::opcode_color(*op), mark)
        })
        .collect();
    if gaps.iter().any(|g| !g.is_empty()) {
        entries.push(("bytes not captured".to_owned(), theme::WARNING, LegendMark::Dashed));
    }
    if !reconnects.gaps.is_empty() {
        entries.push(("reconnect gap".to_owned(), theme::WARNING, LegendMark::Line));
    }
    if reconnects.attempts.iter().any(|&(_, failed)| !failed) {
        entries.push(("reconnect attempt".to_owned(), theme::OK, LegendMark::Line));
    }
    if reconnects.attempts.iter().any(|&(_, failed)| failed) {
        entries.push(("failed reconnect attempt".to_owned(), theme::ERROR, LegendMark::Line));
    }
    ui.horizontal(|ui| {
        ui.label("Message payload sizes (log scale) over time since the capture's start:");
        legend_row(ui, &entries);
    });
    let height = ((ui.available_height() - 8.0) / 2.0).max(60.0);
    let columns = ui.available_width().max(100.0) as usize;
    // One y range for both lanes, so the same size sits at the same height.
    let y_top = state.timeline.max_y.max(1.0) + 0.3;
    let mut clicked = None;
    for dir in [Direction::ClientToServer, Direction::ServerToClient] {
        let cache = &mut state.timeline;
        let (id, title, lane_kind) = match dir {
            Direction::ClientToServer => ("timeline-c2s", "c2s size", PlotLane::ClientToServer),
            Direction::ServerToClient => ("timeline-s2c", "s2c size", PlotLane::ServerToClient),
        };
        let gaps = gaps.get(dir.index()).map_or(&[][..], Vec::as_slice);
        let response = lane(id, end)
            .height(height)
            .default_y_bounds(-0.15, y_top)
            .y_axis_label(title)
            .y_grid_spacer(size_grid)
            .y_axis_formatter(|mark, _| format_bytes(y_to_size(mark.value).round()))
            .label_formatter(|pos| {
                hover(pos, |name, p| {
                    format!("{name}\n{}\n{}", format_time(p.x), format_bytes(y_to_size(p.y).round()))
                })
            })
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
                                .radius(if op == OpCode::Close { 5.0 } else { 3.0 }),
                        );
                    }
                }
                for x in gaps.iter().take(MAX_MARKERS) {
                    plot_ui.vline(
                        VLine::new("bytes not captured", *x)
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
                shown
            });
        state.drawn.push((lane_kind, response.transform));
        if response.response.clicked()
            && let Some(pointer) = response.response.interact_pointer_pos()
        {
            let points = response.inner.iter().map(|p| ([p.x, p.y], p.message));
            clicked = nearest(points, pointer, &response.transform).or(clicked);
        }
    }
    if let Some(message) = clicked {
        cx.push(Command::RevealMessage(message));
    }
}

/// A lane of latencies in ms from 0 to `top` (ping/pong RTT, application round trips), with
/// `text` as the hover text of a point.
pub(super) fn latency_lane<'a>(
    id: &str,
    end: f64,
    top: f64,
    axis_label: &str,
    text: impl Fn(&str, PlotPoint) -> String + 'a,
) -> Plot<'a> {
    lane(id, end)
        .default_y_bounds(0.0, top)
        .y_axis_label(axis_label)
        .y_grid_spacer(number_grid)
        .y_axis_formatter(|mark, _| {
            let decimals = decimals_for(mark.step_size, 6);
            format!("{:.decimals$} ms", mark.value)
        })
        .label_formatter(move |pos| hover(pos, &text))
}

/// The item of the point closest to `pointer` on screen, within [`CLICK_RADIUS`].
pub(super) fn nearest<T>(
    points: impl Iterator<Item = ([f64; 2], T)>,
    pointer: egui::Pos2,
    transform: &PlotTransform,
) -> Option<T> {
    points
        .map(|([x, y], item)| {
            let at = transform.position_from_point(&PlotPoint::new(x, y));
            (item, at.distance(pointer))
        })
        .filter(|(_, d)| *d <= CLICK_RADIUS)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(item, _)| item)
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
fn live_reconnect_marks(scope: Option<ConnId>, clients: &ClientTabs, origin: Timestamp) -> ReconnectMarks {
    let mut all = ReconnectMarks::default();
    let now = crate::live::tap::now();
    for tab in &clients.tabs {
        if scope.is_some_and(|c| !tab.conns.contains(&c)) {
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

/// The message index of every ping, by (connection, direction, time), so a click on an RTT
/// point finds its ping. Filled incrementally as messages arrive.
#[derive(Default)]
struct PingIndex {
    seen: usize,
    pings: HashMap<(u32, usize, i64), u32>,
}

impl PingIndex {
    fn update(&mut self, store: &Store) {
        if self.seen > store.messages.len() {
            *self = PingIndex::default();
        }
        for (i, m) in store.messages.iter().enumerate().skip(self.seen) {
            if m.opcode == OpCode::Ping {
                self.pings
                    .entry((m.conn, m.dir.index(), m.ts.nanos))
                    .or_insert(i as u32);
            }
        }
        self.seen = store.messages.len();
    }

    /// The ping message an RTT sample measured.
    fn ping_of(&self, r: &RttSample) -> Option<u32> {
        self.pings.get(&(r.conn, r.ping_dir.index(), r.ping_ts.nanos)).copied()
    }
}

/// An RTT point (`[ping time, RTT in ms]`) and its ping's message index.
type RttPoint = ([f64; 2], Option<u32>);

/// At most this many connections get their own RTT series (the rest are summarised).
const MAX_RTT_CONNECTIONS: usize = 64;

fn rtt_ui(cx: &mut Cx<'_>, lower: &mut LowerState, ui: &mut egui::Ui, origin: Timestamp, end: f64) {
    let scope = cx.selection.conn;
    lower.plots.pings.update(&cx.store);
    let samples: Vec<&RttSample> = cx
        .store
        .rtts
        .iter()
        .filter(|r| scope.is_none_or(|c| c == r.conn))
        .collect();
    let missed: Vec<[f64; 2]> = cx
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
    let percentiles = [
        ("p50", summary.map(|s| s.p50_ms), egui::Color32::from_rgb(150, 150, 150)),
        ("p95", summary.map(|s| s.p95_ms), theme::WARNING),
        ("p99", summary.map(|s| s.p99_ms), theme::ERROR),
    ];
    // Each ping at its own time (a point and the ping in the timeline share an x).
    let mut by_conn: std::collections::BTreeMap<u32, Vec<RttPoint>> = Default::default();
    for r in &samples {
        by_conn
            .entry(r.conn)
            .or_default()
            .push(([secs(r.ping_ts, origin), r.rtt_ms()], lower.plots.pings.ping_of(r)));
    }
    let hidden = by_conn.len().saturating_sub(MAX_RTT_CONNECTIONS);
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("{} samples", samples.len()));
        for (name, v, _) in &percentiles {
            if let Some(v) = v {
                ui.label(format!("{name} {v:.3} ms"));
            }
        }
        if !missed.is_empty() {
            ui.colored_label(theme::ERROR, format!("{} missed pongs", missed.len()));
        }
        if hidden > 0 {
            ui.weak(format!("({hidden} more connections not drawn; select one to see it)"));
        }
    });
    if samples.is_empty() && missed.is_empty() {
        ui.weak("No ping was answered by a pong in this scope.");
        return;
    }
    let mut entries: Vec<(String, egui::Color32, LegendMark)> = by_conn
        .keys()
        .take(MAX_RTT_CONNECTIONS)
        .map(|c| (format!("connection {c}"), conn_color(*c), LegendMark::Dot))
        .collect();
    for (name, v, color) in &percentiles {
        if v.is_some() {
            entries.push(((*name).to_owned(), *color, LegendMark::Dashed));
        }
    }
    if !missed.is_empty() {
        entries.push(("missed pong".to_owned(), theme::ERROR, LegendMark::Cross));
    }
    legend_row(ui, &entries);
    let top = samples.iter().map(|r| r.rtt_ms()).fold(0.0, f64::max).max(0.001) * 1.15;
    let response = latency_lane("rtt", end, top, "round trip", |name, p| {
        format!("{name}\nping at {}\nRTT {:.3} ms", format_time(p.x), p.y)
    })
    .show(ui, |plot_ui| {
        for (conn, pts) in by_conn.iter().take(MAX_RTT_CONNECTIONS) {
            let name = format!("connection {conn}");
            let xy: Vec<[f64; 2]> = pts.iter().map(|(p, _)| *p).collect();
            let color = conn_color(*conn);
            plot_ui.line(
                Line::new(name.clone(), PlotPoints::from(xy.clone()))
                    .color(color)
                    .width(1.0),
            );
            plot_ui.points(Points::new(name, PlotPoints::from(xy)).color(color).radius(3.5));
        }
        for (name, v, color) in percentiles {
            if let Some(v) = v {
                plot_ui.hline(
                    HLine::new(name, v)
                        .color(color)
                        .style(egui_plot::LineStyle::dashed_dense()),
                );
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
    lower.plots.drawn.push((PlotLane::Rtt, response.transform));
    if response.response.clicked()
        && let Some(pointer) = response.response.interact_pointer_pos()
    {
        let points = by_conn
            .values()
            .take(MAX_RTT_CONNECTIONS)
            .flatten()
            .filter_map(|(p, ping)| ping.map(|m| (*p, m)));
        if let Some(ping) = nearest(points, pointer, &response.transform) {
            cx.push(Command::RevealMessage(ping));
        }
    }
}

/// Rates per time bin and direction (client to server, server to client).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Throughput {
    /// Width of a bin in seconds; bin `i` covers `[i·width, (i+1)·width)` from the origin.
    pub bin_width: f64,
    /// `[bin centre, bytes on the wire per second]` per direction.
    pub bytes: [Vec<[f64; 2]>; 2],
    /// `[bin centre, messages per second]` per direction.
    pub messages: [Vec<[f64; 2]>; 2],
    /// The first message (of the rows given) in each bin, per direction.
    pub first: [Vec<Option<u32>>; 2],
}

/// Bytes and messages per second per direction, in at most `bins` equal bins of a round
/// width ([`bin_width`]) over `[0, end]` seconds from `origin`.
pub fn throughput(store: &Store, rows: &[u32], origin: Timestamp, end: f64, bins: usize) -> Throughput {
    let span = end.max(1e-3);
    let width = bin_width(span, bins);
    let bins = ((span / width).ceil() as usize).clamp(1, bins.max(1));
    let mut bytes = [vec![0.0; bins], vec![0.0; bins]];
    let mut msgs = [vec![0.0; bins], vec![0.0; bins]];
    let mut first: [Vec<Option<u32>>; 2] = [vec![None; bins], vec![None; bins]];
    for &i in rows {
        let Some(m) = store.messages.get(i as usize) else {
            continue;
        };
        let bin = ((secs(m.ts, origin) / width).max(0.0) as usize).min(bins - 1);
        let d = m.dir.index();
        if let (Some(b), Some(n), Some(f)) = (bytes[d].get_mut(bin), msgs[d].get_mut(bin), first[d].get_mut(bin)) {
            *b += m.wire_len as f64;
            *n += 1.0;
            if f.is_none_or(|f| store.messages.get(f as usize).is_some_and(|fm| fm.ts > m.ts)) {
                *f = Some(i);
            }
        }
    }
    let to_rate = |v: &Vec<f64>| -> Vec<[f64; 2]> {
        v.iter()
            .enumerate()
            .map(|(i, c)| [(i as f64 + 0.5) * width, c / width])
            .collect()
    };
    Throughput {
        bin_width: width,
        bytes: [to_rate(&bytes[0]), to_rate(&bytes[1])],
        messages: [to_rate(&msgs[0]), to_rate(&msgs[1])],
        first,
    }
}

/// The last throughput computed, and for what (filter generation, rows, bins, end).
#[derive(Default)]
pub struct ThroughputCache {
    key: Option<(u64, usize, usize, u64)>,
    pub rates: Throughput,
}

fn throughput_ui(cx: &mut Cx<'_>, lower: &mut LowerState, ui: &mut egui::Ui, origin: Timestamp, end: f64) {
    let bins = (ui.available_width() / 4.0).clamp(10.0, 400.0) as usize;
    let key = (cx.view.generation, cx.view.rows.len(), bins, end.to_bits());
    let cache = &mut lower.plots.throughput;
    if cache.key != Some(key) {
        cache.rates = throughput(&cx.store, &cx.view.rows, origin, end, bins);
        cache.key = Some(key);
    }
    ui.horizontal(|ui| {
        ui.label(format!("Wire bytes and messages per second, in bins of {}:", {
            let w = cache.rates.bin_width;
            format_seconds(w, w, w)
        }));
        legend_row(
            ui,
            &[
                ("client to server".to_owned(), theme::CLIENT_TO_SERVER, LegendMark::Line),
                ("server to client".to_owned(), theme::SERVER_TO_CLIENT, LegendMark::Line),
            ],
        );
    });
    let height = ((ui.available_height() - 10.0) / 2.0).max(60.0);
    let mut clicked = None;
    for lane_kind in [PlotLane::BytesPerSecond, PlotLane::MessagesPerSecond] {
        let rates = &cache.rates;
        let series = if lane_kind == PlotLane::BytesPerSecond {
            &rates.bytes
        } else {
            &rates.messages
        };
        let top = series.iter().flatten().map(|p| p[1]).fold(0.0, f64::max).max(1.0) * 1.15;
        let plot = lane(
            if lane_kind == PlotLane::BytesPerSecond {
                "throughput-bytes"
            } else {
                "throughput-messages"
            },
            end,
        )
        .height(height)
        .default_y_bounds(0.0, top);
        let plot = if lane_kind == PlotLane::BytesPerSecond {
            plot.y_axis_label("wire bytes")
                .y_grid_spacer(byte_rate_grid)
                .y_axis_formatter(|mark, _| format_byte_rate(mark.value))
                .label_formatter(|pos| {
                    hover(pos, |name, p| {
                        format!("{name}\n{}\n{}", format_time(p.x), format_byte_rate(p.y))
                    })
                })
        } else {
            plot.y_axis_label("messages")
                .y_grid_spacer(number_grid)
                .y_axis_formatter(|mark, _| format_message_rate(mark.value, mark.step_size))
                .label_formatter(|pos| hover(pos, |name, p| format!("{name}\n{}\n{:.1} msg/s", format_time(p.x), p.y)))
        };
        let response = plot.show(ui, |plot_ui| {
            for (d, (name, color)) in [
                ("client to server", theme::CLIENT_TO_SERVER),
                ("server to client", theme::SERVER_TO_CLIENT),
            ]
            .into_iter()
            .enumerate()
            {
                let pts = series.get(d).cloned().unwrap_or_default();
                plot_ui.line(Line::new(name, PlotPoints::from(pts.clone())).color(color));
                let busy: Vec<[f64; 2]> = pts.into_iter().filter(|p| p[1] > 0.0).collect();
                plot_ui.points(Points::new(name, PlotPoints::from(busy)).color(color).radius(2.0));
            }
        });
        lower.plots.drawn.push((lane_kind, response.transform));
        if response.response.clicked()
            && let Some(pointer) = response.response.interact_pointer_pos()
        {
            // The bucket clicked: its first message (in either direction's line).
            let points = series.iter().enumerate().flat_map(|(d, pts)| {
                pts.iter()
                    .enumerate()
                    .filter_map(move |(bin, p)| rates.first.get(d)?.get(bin).copied().flatten().map(|m| (*p, m)))
            });
            clicked = nearest(points, pointer, &response.transform).or(clicked);
        }
    }
    if let Some(message) = clicked {
        cx.push(Command::RevealMessage(message));
    }
}

#[cfg(test)]
#[path = "plots_tests.rs"]
mod tests;
