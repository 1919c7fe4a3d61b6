//! The plots' "Application RTT" tab (issue 16): request → answer latency of the application
//! protocols (JSON-RPC by id, Socket.IO acks, MQTT PUBLISH→PUBACK and SUBSCRIBE→SUBACK,
//! STOMP receipts, GraphQL subscribe → first answer) per method, event or topic, with
//! p50/p95/p99 by `analysis::latency` like the ping/pong RTT tab and `analyze`'s `app_rtt`.

use std::collections::BTreeMap;

use egui_plot::{Line, PlotPoints, Points};

use crate::analysis::Timestamp;
use crate::analysis::latency::LatencyRecorder;
use crate::gui::commands::Command;
use crate::gui::model::{Cx, LowerState, Model};
use crate::gui::panes::plots::{PlotLane, conn_color, format_time, latency_lane, secs};

/// Time a frame spends decoding for this tab at most (a large capture decodes over frames).
const DECODE_BUDGET: std::time::Duration = std::time::Duration::from_millis(8);
/// Series drawn at most (one per protocol and key); the table lists them all.
const MAX_SERIES: usize = 24;

/// One method/event/topic's round trips.
#[derive(Debug, Default)]
pub struct KeyStats {
    /// `[request time in seconds from the origin, RTT ms]` and the answering message.
    pub points: Vec<([f64; 2], u32)>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// Round trips in scope (one connection or all), grouped by `protocol key`, with their
/// percentiles. Only what is decoded so far is counted.
pub fn app_rtt_stats(model: &Model, origin: Timestamp) -> BTreeMap<String, KeyStats> {
    let scope = model.selection.conn;
    let apps = model.view.apps.borrow();
    let mut groups: BTreeMap<String, (KeyStats, LatencyRecorder)> = BTreeMap::new();
    for (answer, r) in apps.rtts.iter().filter(|(_, r)| scope.is_none_or(|c| c == r.conn)) {
        let name = format!("{} {}", r.protocol.id(), r.key);
        let (stats, recorder) = groups.entry(name).or_default();
        recorder.record_ms(r.rtt_ms());
        stats.points.push(([secs(r.request_ts, origin), r.rtt_ms()], *answer));
    }
    groups
        .into_iter()
        .map(|(name, (mut stats, mut recorder))| {
            if let Some(s) = recorder.summary() {
                (stats.p50, stats.p95, stats.p99) = (Some(s.p50_ms), Some(s.p95_ms), Some(s.p99_ms));
            }
            (name, stats)
        })
        .collect()
}

pub fn app_rtt_ui(cx: &mut Cx<'_>, lower: &mut LowerState, ui: &mut egui::Ui, origin: Timestamp, end: f64) {
    let deadline = std::time::Instant::now() + DECODE_BUDGET;
    let done = cx.view.apps.borrow_mut().decode_all(&cx.store, deadline);
    if !done {
        ui.ctx().request_repaint();
    }
    let groups = app_rtt_stats(cx, origin);
    let total: usize = groups.values().map(|g| g.points.len()).sum();
    ui.horizontal(|ui| {
        ui.label(format!("{total} application round trips in {} groups", groups.len()));
        if !done {
            ui.spinner();
            ui.weak("decoding…");
        }
    });
    if groups.is_empty() {
        ui.weak(
            "No application request was answered in this scope (JSON-RPC ids, Socket.IO acks, MQTT \
             packet ids, STOMP receipts, GraphQL subscriptions).",
        );
        return;
    }
    ui.columns(2, |cols| {
        let [table, plot] = cols else { return };
        egui::ScrollArea::vertical().id_salt("app-rtt-table").show(table, |ui| {
            egui::Grid::new("app-rtt-grid")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for title in ["request", "n", "p50", "p95", "p99"] {
                        ui.strong(title);
                    }
                    ui.end_row();
                    let ms = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.3} ms"));
                    for (i, (name, g)) in groups.iter().enumerate() {
                        let label = egui::RichText::new(name).color(conn_color(i as u32));
                        ui.label(label);
                        ui.label(g.points.len().to_string());
                        ui.label(ms(g.p50));
                        ui.label(ms(g.p95));
                        ui.label(ms(g.p99));
                        ui.end_row();
                    }
                });
        });
        let top = groups
            .values()
            .flat_map(|g| g.points.iter().map(|(p, _)| p[1]))
            .fold(0.0, f64::max)
            .max(0.001)
            * 1.15;
        let response = latency_lane("app-rtt", end, top, "request → answer", |name, p| {
            format!("{name}\nrequest at {}\nanswered after {:.3} ms", format_time(p.x), p.y)
        })
        .show(plot, |plot_ui| {
            for (i, (name, g)) in groups.iter().enumerate().take(MAX_SERIES) {
                let xy: Vec<[f64; 2]> = g.points.iter().map(|(p, _)| *p).collect();
                let color = conn_color(i as u32);
                plot_ui.line(
                    Line::new(name.clone(), PlotPoints::from(xy.clone()))
                        .color(color)
                        .width(1.0),
                );
                plot_ui.points(Points::new(name.clone(), PlotPoints::from(xy)).color(color).radius(3.5));
            }
        });
        lower.plots.drawn.push((PlotLane::AppRtt, response.transform));
        if response.response.clicked()
            && let Some(pointer) = response.response.interact_pointer_pos()
        {
            let points = groups.values().take(MAX_SERIES).flat_map(|g| g.points.iter().copied());
            if let Some(answer) = crate::gui::panes::plots::nearest(points, pointer, &response.transform) {
                cx.push(Command::RevealMessage(answer));
            }
        }
    });
}
