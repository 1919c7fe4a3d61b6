//! One row per WebSocket connection; selecting one scopes the other panes.

use egui_extras::{Column, TableBuilder};

use crate::analysis::event::{ConnectionEnd, TcpHealth, TlsInfo};
use crate::analysis::tcp::health::describe;
use crate::analysis::ws::close::close_code_name;
use crate::gui::commands::Command;
use crate::gui::format;
use crate::gui::model::Cx;
use crate::store::ConnectionEntry;
use crate::store::sort::{ConnColumn, connection_order};

/// "closed 1000/1000", "reset", "open", …
pub fn state_text(c: &ConnectionEntry) -> String {
    let codes = |c: &ConnectionEntry| match c.close_codes {
        [None, None] => String::new(),
        [a, b] => format!(
            " {}/{}",
            a.map_or("-".to_owned(), |v| v.to_string()),
            b.map_or("-".to_owned(), |v| v.to_string())
        ),
    };
    match c.end {
        None | Some(ConnectionEnd::CaptureEnded) => format!("open{}", codes(c)),
        Some(ConnectionEnd::Closed) => format!("closed{}", codes(c)),
        Some(ConnectionEnd::TcpClosed) => format!("tcp closed{}", codes(c)),
        Some(ConnectionEnd::Reset) => format!("reset{}", codes(c)),
        Some(ConnectionEnd::Evicted) => "evicted".to_owned(),
    }
}

/// "clean", or the trouble in short ("3 retx · 1 gap · 2 zero-win"), with both directions'
/// counters in the tooltip; "-" where there are none: the source had no packets (HAR files,
/// live clients), or an HTTP/2 stream ended while its TCP connection went on.
fn tcp_cell(ui: &mut egui::Ui, tcp: Option<&TcpHealth>, h2_stream: Option<u32>) {
    let Some(tcp) = tcp else {
        let why = match h2_stream {
            Some(_) => {
                "No TCP counters: this HTTP/2 stream ended (or the capture did) while its TCP \
                 connection, shared with other streams, went on"
            }
            None => "No TCP counters: the source had no packets, or the capture ended first",
        };
        ui.label("-").on_hover_text(why);
        return;
    };
    let sum = |f: fn(&crate::analysis::event::TcpDirHealth) -> u64| tcp.dirs.iter().map(f).sum::<u64>();
    let mut parts = Vec::new();
    for (n, what) in [
        (sum(|d| d.retransmissions), "retx"),
        (sum(|d| d.out_of_order), "ooo"),
        (sum(|d| d.gaps), "gap"),
        (sum(|d| d.zero_windows), "zero-win"),
        (sum(|d| d.overlap_conflicts), "conflict"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let mut tip = format!("c2s: {}\ns2c: {}", describe(&tcp.dirs[0]), describe(&tcp.dirs[1]));
    if sum(|d| d.zero_windows) > 0 {
        tip.push_str("\n(zero window: the receiver's buffer was full, so that direction's sender had to stop)");
    }
    if parts.is_empty() {
        ui.label("clean").on_hover_text(tip);
    } else {
        ui.colored_label(crate::gui::theme::WARNING, parts.join(" · "))
            .on_hover_text(tip);
    }
}

/// The strip's sort and what it lists, with the order cached until the store changes.
#[derive(Default)]
pub struct ConnectionsView {
    pub sort: (ConnColumn, bool),
    /// List the TCP flows that carried no WebSocket instead of the connections.
    pub show_flows: bool,
    order: Vec<usize>,
    built_for: Option<((ConnColumn, bool), usize, usize)>,
}

impl ConnectionsView {
    /// The connections' indices in the order the strip shows them.
    pub fn order(&mut self, store: &crate::store::Store) -> &[usize] {
        let key = (
            self.sort,
            store.connections.len(),
            store.messages.len() + store.findings.len(),
        );
        if self.built_for != Some(key) {
            self.order = connection_order(store, self.sort.0, self.sort.1);
            self.built_for = Some(key);
        }
        &self.order
    }
}

const COLUMNS: [(&str, ConnColumn); 11] = [
    ("#", ConnColumn::Number),
    ("client", ConnColumn::Client),
    ("server", ConnColumn::Server),
    ("state", ConnColumn::State),
    ("subprotocol", ConnColumn::Subprotocol),
    ("extensions", ConnColumn::Extensions),
    ("c2s msgs / wire / decoded", ConnColumn::ClientMessages),
    ("s2c msgs / wire / decoded", ConnColumn::ServerMessages),
    ("duration", ConnColumn::Duration),
    ("TCP", ConnColumn::Tcp),
    ("findings", ConnColumn::Findings),
];

pub fn connections_ui(cx: &mut Cx<'_>, view: &mut ConnectionsView, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Connections");
        let all = ui.selectable_label(
            cx.selection.conn.is_none() && !view.show_flows,
            format!("All ({})", cx.store.connections.len()),
        );
        if all.clicked() {
            view.show_flows = false;
            cx.push(Command::SelectConnection(None));
        }
        let flows = ui
            .selectable_label(view.show_flows, format!("Other TCP flows ({})", cx.store.flows.len()))
            .on_hover_text("TCP flows that carried no WebSocket connection, and why");
        if flows.clicked() {
            view.show_flows = !view.show_flows;
        }
    });
    // TLS connections without their key look like an empty capture: say why and what to do.
    let locked = cx
        .store
        .flows
        .iter()
        .filter(|f| {
            use crate::analysis::tls::TlsProblem;
            // Not the handshakes a browser raced and gave up on: no key exists for those.
            [
                TlsProblem::NoKey,
                TlsProblem::DecryptFailed,
                TlsProblem::NoKeyMidConnection,
            ]
            .iter()
            .any(|p| f.reason == p.reason())
                || f.reason.starts_with("TLS picked up")
        })
        .count();
    if locked > 0 {
        let text = format!(
            "🔒 {locked} TLS connection{} could not be decrypted: File → TLS key log (or drop the key log file on \
             the window)",
            if locked == 1 { "" } else { "s" }
        );
        let hint = ui
            .add(
                egui::Label::new(egui::RichText::new(text).color(crate::gui::theme::WARNING))
                    .sense(egui::Sense::click()),
            )
            .on_hover_text(
                "Start the browser or client with SSLKEYLOGFILE=/some/file, then give framescope that file. \
                 Click to list these flows and why each was not decrypted.",
            );
        if hint.clicked() {
            view.show_flows = true;
        }
    }
    if view.show_flows {
        flows_ui(cx, ui);
        return;
    }
    let selected = cx.selection.conn;
    let mut clicked = None;
    let sort = view.sort;
    let mut sort_clicked = None;
    let mut menu_commands = Vec::new();
    let order = view.order(&cx.store).to_vec();
    // Selectable labels would take the clicks meant for the row.
    ui.style_mut().interaction.selectable_labels = false;
    // The sized columns' first widths add up to 1170 points, besides the number and the
    // findings: a narrower window scales them down so every column shows (each can be
    // dragged wider), none is pushed off the edge.
    let k = ((ui.available_width() - 120.0) / 1170.0).clamp(0.6, 1.0);
    TableBuilder::new(ui)
        .id_salt("connections-table")
        .striped(true)
        // Fill the panel, never push it bigger than the size it was given.
        .min_scrolled_height(40.0)
        .auto_shrink([false, false])
        .resizable(true)
        .sense(egui::Sense::click())
        .column(Column::initial(30.0).at_least(24.0))
        .column(Column::initial(150.0 * k).at_least(60.0).clip(true))
        .column(Column::initial(150.0 * k).at_least(60.0).clip(true))
        .column(Column::initial(130.0 * k).at_least(50.0).clip(true))
        .column(Column::initial(80.0 * k).at_least(40.0).clip(true))
        .column(Column::initial(120.0 * k).at_least(40.0).clip(true))
        .column(Column::initial(190.0 * k).at_least(60.0).clip(true))
        .column(Column::initial(190.0 * k).at_least(60.0).clip(true))
        .column(Column::initial(70.0 * k).at_least(50.0))
        .column(Column::initial(90.0 * k).at_least(40.0).clip(true))
        .column(Column::remainder().at_least(50.0))
        .header(20.0, |mut h| {
            for (title, column) in COLUMNS {
                h.col(|ui| {
                    let arrow = match sort {
                        (c, false) if c == column && c != ConnColumn::Number => " ▲",
                        (c, true) if c == column => " ▼",
                        _ => "",
                    };
                    let r = ui
                        .add(
                            egui::Label::new(egui::RichText::new(format!("{title}{arrow}")).strong())
                                .sense(egui::Sense::click()),
                        )
                        .on_hover_text("Click to sort, again to reverse");
                    if r.clicked() {
                        sort_clicked = Some(column);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(20.0, order.len(), |mut row| {
                let Some(&i) = order.get(row.index()) else {
                    return;
                };
                let Some(c) = cx.store.connections.get(i) else {
                    return;
                };
                row.set_selected(selected == Some(c.info.conn));
                row.col(|ui| {
                    ui.label(c.info.conn.to_string());
                });
                row.col(|ui| {
                    ui.label(c.info.client.to_string());
                });
                row.col(|ui| {
                    // A lock for TLS; a WebSocket inside HTTP/2 shares its server with the
                    // connection's other streams: the stream tells them apart.
                    let lock = if c.info.tls.is_some() { "🔒 " } else { "" };
                    let stream = c.info.h2_stream.map(|s| format!(" h2 #{s}")).unwrap_or_default();
                    let mut tip: Vec<String> = c.info.tls.iter().map(TlsInfo::describe).collect();
                    if let Some(s) = c.info.h2_stream {
                        tip.push(format!("WebSocket on HTTP/2 stream {s} (RFC 8441 extended CONNECT)"));
                    }
                    let r = ui.label(format!("{lock}{}{stream}", c.info.server));
                    if !tip.is_empty() {
                        r.on_hover_text(tip.join("\n"));
                    }
                });
                row.col(|ui| {
                    let text = state_text(c);
                    let tip: Vec<String> = c
                        .close_codes
                        .iter()
                        .flatten()
                        .map(|code| format!("{code} {}", close_code_name(*code)))
                        .collect();
                    let r = ui.label(text);
                    if !tip.is_empty() {
                        r.on_hover_text(tip.join(" / "));
                    }
                });
                let hs = c.info.handshake.as_ref();
                row.col(|ui| {
                    ui.label(hs.and_then(|h| h.subprotocol.clone()).unwrap_or_else(|| "-".into()));
                });
                row.col(|ui| {
                    let exts: Vec<String> = hs
                        .map(|h| h.extensions.iter().map(ToString::to_string).collect())
                        .unwrap_or_default();
                    ui.label(if exts.is_empty() { "-".into() } else { exts.join(", ") });
                });
                for d in &c.counters {
                    row.col(|ui| {
                        ui.label(format!(
                            "{} / {} / {}",
                            d.messages,
                            format::bytes(d.wire_bytes),
                            format::bytes(d.decoded_bytes)
                        ));
                    });
                }
                row.col(|ui| {
                    ui.label(format!("{:.3} s", c.last_ts.millis_since(c.info.first_ts) / 1000.0));
                });
                row.col(|ui| tcp_cell(ui, c.tcp.as_ref(), c.info.h2_stream));
                row.col(|ui| {
                    if c.findings > 0 {
                        ui.colored_label(crate::gui::theme::WARNING, c.findings.to_string());
                    } else {
                        ui.label("0");
                    }
                });
                let response = row.response();
                if response.clicked() {
                    clicked = Some(c.info.conn);
                }
                response.context_menu(|ui| {
                    crate::gui::decode_as::decode_as_menu_ui(cx.model, ui, c.info.conn, &mut menu_commands);
                });
            });
        });
    if let Some(conn) = clicked {
        let toggle = if selected == Some(conn) { None } else { Some(conn) };
        cx.push(Command::SelectConnection(toggle));
    }
    for command in menu_commands {
        cx.push(command);
    }
    if let Some(column) = sort_clicked {
        let (current, descending) = view.sort;
        view.sort = (column, current == column && !descending);
    }
}

/// The TCP flows that carried no WebSocket, each with why.
fn flows_ui(cx: &mut Cx<'_>, ui: &mut egui::Ui) {
    if cx.store.flows.is_empty() {
        ui.weak("Every TCP flow listed so far carried a WebSocket connection.");
        return;
    }
    TableBuilder::new(ui)
        .id_salt("flows-table")
        .striped(true)
        .min_scrolled_height(40.0)
        .auto_shrink([false, false])
        .resizable(true)
        .column(Column::initial(110.0).at_least(60.0).clip(true))
        .column(Column::initial(150.0).at_least(60.0).clip(true))
        .column(Column::initial(150.0).at_least(60.0).clip(true))
        .column(Column::initial(70.0).at_least(40.0))
        .column(Column::initial(80.0).at_least(50.0))
        .column(Column::remainder().at_least(100.0).clip(true))
        .header(20.0, |mut h| {
            for title in [
                "start",
                "client",
                "server",
                "protocol",
                "duration",
                "why it is not a WebSocket connection",
            ] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(20.0, cx.store.flows.len(), |mut row| {
                let Some(f) = cx.store.flows.get(row.index()) else {
                    return;
                };
                row.col(|ui| {
                    // A flow has no connection of its own: relative times count from the
                    // capture's start (a refused attempt's time is when its SYN was sent).
                    let start = cx.store.capture_start();
                    let text = format::table_time(cx.settings.time_mode, f.first_ts, start, start, start);
                    ui.label(text).on_hover_text(format::time_tooltip(f.first_ts));
                });
                row.col(|ui| {
                    ui.label(f.client.to_string());
                });
                row.col(|ui| {
                    ui.label(f.server.to_string());
                });
                row.col(|ui| {
                    let r = match &f.tls {
                        Some(tls) => ui.label(format!("🔒 {}", f.protocol)).on_hover_text(tls.describe()),
                        None => ui.label(f.protocol),
                    };
                    if let Some(stream) = f.h2_stream {
                        r.on_hover_text(format!("HTTP/2 stream {stream}"));
                    }
                });
                row.col(|ui| {
                    ui.label(format!("{:.3} s", f.last_ts.millis_since(f.first_ts) / 1000.0));
                });
                row.col(|ui| {
                    ui.label(&f.reason).on_hover_text(&f.reason);
                });
            });
        });
}
