//! RTT over time, the two-lane message timeline and throughput. Every plot shares one x
//! axis (linked bounds and cursor, the same y-axis width, time in seconds since the
//! capture's start, as in the message table), so the same time sits at the same pixel
//! column in every lane and zooming one zooms them all. Axes carry units (B/KiB/MiB, ms,
//! msg/s), legends sit above the plots, connection colours follow the connection number,
//! and a click on a point selects the message it stands for. Everything handed to egui_plot
//! is decimated to at most two points per pixel column and lane, so a million messages pan
//! and zoom as smoothly as a hundred.

use std::collections::HashMap;

use egui_plot::{HLine, HoverPosition, Line, MarkerShape, Plot, PlotPoint, PlotPoints, PlotTransform, Points};

use crate::analysis::Timestamp;
use crate::analysis::event::RttSample;
use crate::analysis::findings::FindingKind;
use crate::analysis::latency::LatencyRecorder;
use crate::analysis::ws::frame::OpCode;
use crate::gui::app::PlotTab;
use crate::gui::commands::Command;
use crate::gui::model::{Cx, LowerState};
use crate::gui::sessions::ClientTabs;
use crate::gui::theme;
use crate::store::Store;

pub use super::plot_axes::*;
pub use super::timeline::*;

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
pub(super) const MAX_MARKERS: usize = 300;

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
    /// Whether the timeline's x range follows the data as it grows.
    pub follow: FollowRange,
}

/// The plots' x range follows the data as it grows (a live session or capture: a plot's
/// default range is only its first), until the user zooms or pans, and again after a
/// double-click puts it back to the whole range.
#[derive(Debug, Default)]
pub struct FollowRange {
    stopped: bool,
    /// The range set (or found at the default) last frame.
    last: Option<(f64, f64)>,
}

impl FollowRange {
    /// Called once a frame with the lane's x range and the whole data's range: the range to
    /// set, when following and it differs.
    pub fn x_range(&mut self, current: (f64, f64), whole: (f64, f64)) -> Option<(f64, f64)> {
        let close = |a: (f64, f64), b: (f64, f64)| {
            let tolerance = (b.1 - b.0).abs().max(1e-9) * 1e-6;
            (a.0 - b.0).abs() <= tolerance && (a.1 - b.1).abs() <= tolerance
        };
        if self.last.is_some_and(|last| !close(current, last)) {
            // Not where it was left: the user zoomed or panned.
            self.stopped = true;
        }
        if close(current, whole) {
            self.stopped = false;
        }
        self.last = (!self.stopped).then_some(whole);
        (!self.stopped && !close(current, whole)).then_some(whole)
    }
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
        PlotTab::Timeline => super::timeline::timeline_ui(cx, lower, clients, ui, origin, end),
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

/// A legend drawn above the plots (never over the data): a swatch and a name per entry.
pub(super) fn legend_row(ui: &mut egui::Ui, entries: &[(String, egui::Color32, LegendMark)]) {
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
pub(super) enum LegendMark {
    Dot,
    Diamond,
    Line,
    Dashed,
    Cross,
}

pub(super) fn secs(ts: Timestamp, origin: Timestamp) -> f64 {
    ts.millis_since(origin) / 1000.0
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
