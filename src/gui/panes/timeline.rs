//! The message timeline: every shown message as a point (time, log size) in a lane per
//! direction, kept up to date incrementally and decimated to the pixel columns on screen, with
//! TCP gaps and a live session's reconnects marked.

use egui_plot::{AxisHints, MarkerShape, PlotPoints, Points, Span, VLine};

use crate::analysis::Timestamp;
use crate::analysis::event::{ConnId, Direction};
use crate::analysis::findings::FindingKind;
use crate::analysis::ws::frame::OpCode;
use crate::gui::commands::Command;
use crate::gui::model::{Cx, LowerState};
use crate::gui::sessions::ClientTabs;
use crate::gui::theme;
use crate::live::client::{SessionMark, SessionMarkKind};
use crate::store::Store;

use super::plot_axes::{TIMELINE_LABEL_SPACING, format_bytes, size_grid, size_to_y, y_to_size};
use super::plots::{
    LegendMark, MAX_MARKERS, PlotLane, Y_AXIS_WIDTH, format_time, hover, lane, legend_row, nearest, secs,
};

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

/// Points per coarse summary block: a block keeps its lowest and highest point.
pub const BLOCK_POINTS: usize = 256;
/// Points per fine summary block, for views with tens of points per pixel column.
pub const FINE_POINTS: usize = 16;

/// The extremes of up to a block's worth of consecutive points (sorted by x), in x order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block {
    pub first: MarkPoint,
    pub second: MarkPoint,
}

/// Summaries of every whole or partial block of `size` points of `points`.
pub fn blocks_of(points: &[MarkPoint], size: usize) -> Vec<Block> {
    points
        .chunks(size.max(1))
        .filter_map(|chunk| {
            let low = *chunk.iter().min_by(|a, b| a.y.total_cmp(&b.y))?;
            let high = *chunk.iter().max_by(|a, b| a.y.total_cmp(&b.y))?;
            let (first, second) = if low.x <= high.x { (low, high) } else { (high, low) };
            Some(Block { first, second })
        })
        .collect()
}

/// A lane's block summaries at two sizes, kept up to date as points are appended.
#[derive(Clone, Debug, Default)]
pub struct Summaries {
    pub fine: Vec<Block>,
    pub coarse: Vec<Block>,
}

impl Summaries {
    pub fn of(points: &[MarkPoint]) -> Summaries {
        let mut s = Summaries::default();
        s.refresh(points);
        s
    }

    /// Redoes only the last (partial) block of each size and the new ones.
    pub fn refresh(&mut self, points: &[MarkPoint]) {
        for (blocks, size) in [(&mut self.fine, FINE_POINTS), (&mut self.coarse, BLOCK_POINTS)] {
            let keep = (points.len() / size).min(blocks.len().saturating_sub(1));
            blocks.truncate(keep);
            blocks.extend(blocks_of(points.get(keep * size..).unwrap_or(&[]), size));
        }
    }

    fn clear(&mut self) {
        self.fine.clear();
        self.coarse.clear();
    }
}

/// Like [`decimate`], but when columns would span many points it decimates block summaries
/// instead — coarse ones when a column spans hundreds of points, fine ones when it spans
/// tens — so the cost follows the number of blocks, not points. Blocks are runs of
/// consecutive sorted points, so their extremes are still sorted by x and no extreme of the
/// range is lost.
pub fn decimate_with_blocks(
    points: &[MarkPoint],
    summaries: &Summaries,
    x_min: f64,
    x_max: f64,
    columns: usize,
) -> Vec<MarkPoint> {
    let start = points.partition_point(|p| p.x < x_min);
    let end = points.partition_point(|p| p.x <= x_max);
    let n = end.saturating_sub(start);
    let (blocks, size) = if n > columns.max(1) * BLOCK_POINTS * 2 {
        (&summaries.coarse, BLOCK_POINTS)
    } else if n > columns.max(1) * FINE_POINTS * 2 {
        (&summaries.fine, FINE_POINTS)
    } else {
        return decimate(points, x_min, x_max, columns);
    };
    let range = start / size..end.div_ceil(size).min(blocks.len());
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
    blocks: [Summaries; 2],
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
                blocks.refresh(lane);
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

pub(super) fn timeline_ui(
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
    let follow = &mut state.follow;
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
            .custom_y_axes(vec![
                AxisHints::new_y()
                    .label(title)
                    .min_thickness(Y_AXIS_WIDTH)
                    .label_spacing(TIMELINE_LABEL_SPACING)
                    .formatter(|mark, _| format_bytes(y_to_size(mark.value).round())),
            ])
            .y_grid_spacer(size_grid)
            .label_formatter(|pos| {
                hover(pos, |name, p| {
                    format!("{name}\n{}\n{}", format_time(p.x), format_bytes(y_to_size(p.y).round()))
                })
            })
            .show(ui, |plot_ui| {
                let mut bounds = plot_ui.plot_bounds();
                // New data (a live source) widens the range unless the user zoomed or
                // panned; the lanes are linked, so the first one decides.
                let whole = (-end * 0.02, end * 1.02);
                if dir == Direction::ClientToServer
                    && let Some((from, to)) = follow.x_range((bounds.min()[0], bounds.max()[0]), whole)
                {
                    plot_ui.set_plot_bounds_x(from..=to);
                    bounds = plot_ui.plot_bounds();
                }
                // The y range is never zoomed: it grows with the largest message.
                if (bounds.max()[1] - y_top).abs() > 1e-6 {
                    plot_ui.set_plot_bounds_y(-0.15..=y_top);
                }
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
