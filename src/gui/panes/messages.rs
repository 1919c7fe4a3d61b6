//! The message table: virtualised (only visible rows are laid out), sorted by any column
//! (click a header; again to reverse), optional columns, a right-click menu per row (filter
//! on it, copy as…, mark, follow), and sticks to the bottom while loading unless the user
//! scrolls away.

use egui_extras::{Column, TableBuilder};

use crate::analysis::event::Direction;
use crate::analysis::ws::close::describe_close;
use crate::analysis::ws::frame::OpCode;
use crate::export::copy_as;
use crate::gui::commands::Command;
use crate::gui::model::{Cx, Model};
use crate::gui::settings::{Columns, TimeMode};
use crate::gui::{format, theme};
use crate::store::MessageRow;
use crate::store::sort::SortColumn;

/// One column of the table as drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Number,
    Connection,
    Time,
    Dir,
    Opcode,
    Wire,
    Decoded,
    Frames,
    Compressed,
    Rtt,
    FinRsv,
    Mask,
    Summary,
    Preview,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Number => "#",
            Col::Connection => "conn",
            Col::Time => "time",
            Col::Dir => "dir",
            Col::Opcode => "opcode",
            Col::Wire => "wire",
            Col::Decoded => "decoded",
            Col::Frames => "frames",
            Col::Compressed => "z",
            Col::Rtt => "RTT",
            Col::FinRsv => "FIN RSV",
            Col::Mask => "mask key",
            Col::Summary => "summary",
            Col::Preview => "preview",
        }
    }

    fn sort(self) -> Option<SortColumn> {
        Some(match self {
            Col::Number => SortColumn::Number,
            Col::Connection => SortColumn::Connection,
            Col::Time => SortColumn::Time,
            Col::Dir => SortColumn::Direction,
            Col::Opcode => SortColumn::Opcode,
            Col::Wire => SortColumn::WireBytes,
            Col::Decoded => SortColumn::DecodedBytes,
            Col::Frames => SortColumn::Frames,
            Col::Compressed => SortColumn::Compressed,
            Col::Rtt => SortColumn::Rtt,
            Col::Preview => SortColumn::Preview,
            Col::FinRsv | Col::Mask | Col::Summary => return None,
        })
    }

    /// Initial width, fitted to what the column holds (times depend on the time mode); the
    /// preview takes what is left.
    fn width(self, time_mode: TimeMode) -> f32 {
        match self {
            Col::Number | Col::Wire | Col::Decoded | Col::Rtt => 64.0,
            Col::Connection => 44.0,
            Col::Time => match time_mode {
                TimeMode::Local | TimeMode::Absolute => 112.0,
                _ => 92.0,
            },
            Col::Dir => 36.0,
            Col::Opcode | Col::Mask => 72.0,
            Col::Frames => 46.0,
            Col::Compressed => 24.0,
            Col::FinRsv => 60.0,
            Col::Summary => 180.0,
            Col::Preview => PREVIEW_ROOM,
        }
    }

    fn column(self, time_mode: TimeMode) -> Column {
        let initial = Column::initial(self.width(time_mode));
        match self {
            Col::Number | Col::Wire | Col::Decoded | Col::Rtt => initial.at_least(40.0),
            Col::Connection => initial.at_least(34.0),
            Col::Time => initial.at_least(60.0),
            Col::Dir => initial.at_least(30.0),
            Col::Opcode => initial.at_least(50.0),
            Col::Frames => initial.at_least(30.0),
            Col::Compressed => initial.at_least(20.0),
            Col::FinRsv | Col::Mask => initial.at_least(40.0),
            Col::Summary => initial.at_least(80.0).clip(true),
            Col::Preview => Column::remainder().at_least(100.0).clip(true),
        }
    }
}

/// What the preview column needs before optional columns make way for it.
const PREVIEW_ROOM: f32 = 160.0;

/// The optional columns a narrow table drops, first to last (the preview, the time, the
/// direction and the opcode always stay).
const NARROW_DROP_ORDER: [Col; 9] = [
    Col::Mask,
    Col::FinRsv,
    Col::Rtt,
    Col::Compressed,
    Col::Frames,
    Col::Wire,
    Col::Summary,
    Col::Connection,
    Col::Decoded,
];

/// The columns shown, in order.
/// Time per frame spent finding out whether connections carry an application protocol.
const SNIFF_BUDGET: std::time::Duration = std::time::Duration::from_millis(2);

fn visible_columns(c: &Columns) -> Vec<Col> {
    let optional = [
        (Col::Connection, c.connection),
        (Col::Time, true),
        (Col::Dir, true),
        (Col::Opcode, true),
        (Col::Wire, c.wire),
        (Col::Decoded, true),
        (Col::Frames, c.frames),
        (Col::Compressed, c.compressed),
        (Col::Rtt, c.rtt),
        (Col::FinRsv, c.fin_rsv),
        (Col::Mask, c.mask),
        (Col::Summary, c.summary),
    ];
    let mut cols = vec![Col::Number];
    cols.extend(optional.into_iter().filter(|&(_, on)| on).map(|(col, _)| col));
    cols.push(Col::Preview);
    cols
}

/// The column chooser: a checkbox per optional column (in View and on a header's right click).
pub fn column_chooser_ui(columns: &mut Columns, ui: &mut egui::Ui) {
    ui.checkbox(&mut columns.connection, "Connection");
    ui.checkbox(&mut columns.wire, "Bytes on the wire");
    ui.checkbox(&mut columns.frames, "Frames");
    ui.checkbox(&mut columns.compressed, "Compressed (z)");
    ui.checkbox(&mut columns.rtt, "Ping/pong RTT");
    ui.checkbox(&mut columns.fin_rsv, "FIN and RSV bits (first frame)");
    ui.checkbox(&mut columns.mask, "Masking key (first frame)");
    ui.checkbox(&mut columns.summary, "Application summary (MQTT, Socket.IO…)");
}

pub fn messages_ui(cx: &mut Cx<'_>, scroll_to_selected: &mut bool, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Messages");
        if ui.available_width() < 640.0 {
            ui.weak("(narrow: some columns hidden)");
        }
        // An empty table after filtering says so, rather than look like an empty capture.
        if cx.view.shown().is_empty() && !cx.store.messages.is_empty() {
            ui.colored_label(
                crate::gui::theme::WARNING,
                format!(
                    "none of the {} messages matches the filters or the selected connection",
                    cx.store.messages.len()
                ),
            );
        }
    });
    let selected = cx.selection.message;
    let scroll_to = if *scroll_to_selected {
        *scroll_to_selected = false;
        selected.and_then(|m| cx.view.position_of(m))
    } else {
        None
    };
    let mut cols = visible_columns(&cx.settings.columns);
    // The summary column only once some connection carries a protocol it can summarise.
    if cols.contains(&Col::Summary) {
        let deadline = std::time::Instant::now() + SNIFF_BUDGET;
        if !cx.view.apps.borrow_mut().any_protocol(&cx.store, deadline) {
            cols.retain(|c| *c != Col::Summary);
        }
    }
    // A narrow table (a small window with the live pane docked) keeps the preview readable:
    // optional columns step aside, least useful first, until the preview has its room.
    let width = ui.available_width();
    let spacing = ui.spacing().item_spacing.x;
    let time_mode = cx.settings.time_mode;
    let needed = |cols: &[Col]| -> f32 { cols.iter().map(|c| c.width(time_mode) + spacing).sum() };
    for drop in NARROW_DROP_ORDER {
        if needed(&cols) <= width {
            break;
        }
        cols.retain(|c| *c != drop);
    }
    let sort = cx.view.sort();
    let mut clicked = None;
    let mut commands = Vec::new();
    // Selectable labels would take the clicks meant for the row.
    ui.style_mut().interaction.selectable_labels = false;
    let mut table = TableBuilder::new(ui)
        .id_salt("messages-table")
        .striped(true)
        // Fill the panel, never push it bigger than the size it was given.
        .min_scrolled_height(40.0)
        .auto_shrink([false, false])
        .resizable(true)
        .sense(egui::Sense::click())
        .stick_to_bottom(cx.loading && sort.is_arrival());
    for col in &cols {
        table = table.column(col.column(cx.settings.time_mode));
    }
    if let Some(pos) = scroll_to {
        table = table.scroll_to_row(pos, Some(egui::Align::Center));
    }
    let mut columns = cx.settings.columns;
    let chooser = &mut columns;
    table
        .header(20.0, |mut h| {
            for col in &cols {
                h.col(|ui| {
                    let arrow = match col.sort() {
                        Some(c) if c == sort.column && !sort.is_arrival() => {
                            if sort.descending {
                                " ▼"
                            } else {
                                " ▲"
                            }
                        }
                        _ => "",
                    };
                    let response = ui
                        .add(
                            egui::Label::new(egui::RichText::new(format!("{}{arrow}", col.title())).strong())
                                .sense(egui::Sense::click()),
                        )
                        .on_hover_text("Click to sort, again to reverse; right-click to choose columns");
                    if response.clicked()
                        && let Some(c) = col.sort()
                    {
                        commands.push(Command::SortBy(c));
                    }
                    response.context_menu(|ui| column_chooser_ui(chooser, ui));
                });
            }
        })
        .body(|body| {
            let shown = cx.view.shown();
            body.rows(18.0, shown.len(), |mut row| {
                let position = row.index();
                let Some(&index) = shown.get(position) else {
                    return;
                };
                let Some(m) = cx.store.messages.get(index as usize) else {
                    return;
                };
                row.set_selected(selected == Some(index));
                for col in &cols {
                    row.col(|ui| cell_ui(cx.model, ui, *col, index, m, position));
                }
                let response = row.response();
                if response.clicked() {
                    clicked = Some(index);
                }
                response.context_menu(|ui| row_menu_ui(cx.model, ui, index, m, &mut commands));
            });
        });
    if let Some(index) = clicked {
        cx.push(Command::SelectMessage(Some(index)));
    }
    if columns != cx.settings.columns {
        commands.push(Command::Settings(crate::gui::commands::SettingsChange::Columns(
            columns,
        )));
    }
    for c in commands {
        cx.push(c);
    }
}

fn cell_ui(model: &Model, ui: &mut egui::Ui, col: Col, index: u32, m: &MessageRow, position: usize) {
    match col {
        Col::Number => {
            if model.marks.contains(&index) {
                ui.colored_label(theme::WARNING, format!("★{index}"))
                    .on_hover_text("marked");
            } else {
                ui.label(index.to_string());
            }
        }
        Col::Connection => {
            let tip = model
                .store
                .connection(m.conn)
                .map_or_else(String::new, |c| format!("{} → {}", c.info.client, c.info.server));
            ui.label(m.conn.to_string()).on_hover_text(tip);
        }
        Col::Time => {
            let previous = position
                .checked_sub(1)
                .and_then(|p| model.view.shown().get(p))
                .and_then(|&i| model.store.messages.get(i as usize))
                .map(|r| r.ts);
            let text = format::table_time(
                model.settings.time_mode,
                m.ts,
                model.store.capture_start(),
                model.store.connection(m.conn).map(|c| c.info.first_ts),
                previous,
            );
            ui.label(text).on_hover_text(format::time_tooltip(m.ts));
        }
        Col::Dir => {
            let (text, color, tip) = match m.dir {
                Direction::ClientToServer => ("c2s", theme::CLIENT_TO_SERVER, "client to server"),
                Direction::ServerToClient => ("s2c", theme::SERVER_TO_CLIENT, "server to client"),
            };
            ui.colored_label(color, text).on_hover_text(tip);
        }
        Col::Opcode => {
            let mut text = m.opcode.name().into_owned();
            if let Some(code) = m.close_code {
                text = format!("close {code}");
            }
            ui.label(
                egui::RichText::new(text)
                    .color(egui::Color32::WHITE)
                    .background_color(theme::opcode_color(m.opcode)),
            );
        }
        Col::Wire => {
            ui.label(format::bytes(m.wire_len));
        }
        Col::Decoded => {
            let mut text = format::bytes(m.len);
            if m.compressed && !model.settings.columns.compressed {
                text.push_str(" z");
            }
            let response = ui.label(text);
            if m.compressed {
                response.on_hover_text("permessage-deflate compressed");
            }
        }
        Col::Frames => {
            ui.label(m.frames.to_string());
        }
        Col::Compressed => {
            ui.label(if m.compressed { "z" } else { "" });
        }
        Col::Rtt => {
            if let Some(ms) = model.view.annotations.rtt_ms(&model.store, index) {
                ui.label(format!("{ms:.2} ms"));
            }
        }
        Col::FinRsv | Col::Mask => {
            let Some(frame) = m.first_frame.and_then(|f| model.store.frames.get(f as usize)) else {
                return;
            };
            let h = &frame.header;
            if col == Col::FinRsv {
                let bit = |b: bool| if b { '1' } else { '0' };
                ui.monospace(format!("{} {}{}{}", bit(h.fin), bit(h.rsv1), bit(h.rsv2), bit(h.rsv3)));
            } else if let Some(key) = h.mask {
                ui.monospace(copy_as::hex(&key));
            }
        }
        Col::Summary => {
            // Decoded when first drawn (its connection up to this message), then cached.
            let mut apps = model.view.apps.borrow_mut();
            if let Some(d) = apps.get(&model.store, index) {
                ui.label(format::preview(d.summary.as_bytes(), 160))
                    .on_hover_text(d.protocol.id());
            }
        }
        Col::Preview => {
            let payload = model.store.payload(m);
            if !m.decoded {
                ui.colored_label(theme::WARNING, "(not inflated) ");
            }
            let text = match m.opcode {
                OpCode::Close => {
                    let reason = m.close_reason(payload).unwrap_or_default();
                    describe_close(m.close_code, &format::preview(reason.as_bytes(), 100))
                }
                _ => format::preview(payload, 120),
            };
            ui.label(text);
        }
    }
}

/// The right-click menu of a row.
fn row_menu_ui(model: &Model, ui: &mut egui::Ui, index: u32, m: &MessageRow, out: &mut Vec<Command>) {
    let payload = model.store.payload(m);
    let mut act = |ui: &mut egui::Ui, label: &str, command: Command| {
        if ui.button(label).clicked() {
            out.push(command);
            ui.close();
        }
    };
    ui.menu_button("Filter on", |ui| {
        act(
            ui,
            &format!("connection {}", m.conn),
            Command::NarrowDisplayFilter(format!("conn == {}", m.conn)),
        );
        act(
            ui,
            &format!("direction {}", m.dir.as_str()),
            Command::NarrowDisplayFilter(format!("dir == {}", m.dir.as_str())),
        );
        let opcode = m.opcode.name();
        act(
            ui,
            &format!("opcode {opcode}"),
            Command::NarrowDisplayFilter(format!("opcode == {opcode}")),
        );
        if let Some(code) = m.close_code {
            act(
                ui,
                &format!("close code {code}"),
                Command::NarrowDisplayFilter(format!("close.code == {code}")),
            );
        }
        for clause in value_clauses(m, payload) {
            act(ui, &clause, Command::NarrowDisplayFilter(clause.clone()));
        }
    });
    ui.menu_button("Copy as", |ui| {
        if let Ok(text) = std::str::from_utf8(payload) {
            act(ui, "Text", Command::CopyText(text.to_owned()));
        }
        act(ui, "Hex", Command::CopyText(copy_as::hex(payload)));
        act(ui, "Base64", Command::CopyText(copy_as::base64(payload)));
        let time = model
            .store
            .capture_start()
            .map_or(0.0, |s| m.ts.millis_since(s) / 1000.0);
        act(ui, "JSON", Command::CopyText(copy_as::json(m, payload, time)));
        if let Some(c) = model.store.connection(m.conn) {
            if !m.opcode.is_control() {
                act(
                    ui,
                    "websocat command",
                    Command::CopyText(copy_as::websocat_command(&c.info, m.opcode, payload)),
                );
            }
            if let Some(cmd) = copy_as::wscat_command(&c.info, m.opcode, payload) {
                act(ui, "wscat command", Command::CopyText(cmd));
            }
        }
    });
    ui.separator();
    let mark = if model.marks.contains(&index) { "Unmark" } else { "Mark" };
    act(ui, mark, Command::ToggleMark(index));
    if !model.marks.is_empty() {
        act(ui, "Next mark", Command::JumpToMark(true));
        act(ui, "Previous mark", Command::JumpToMark(false));
    }
    act(ui, "Follow WebSocket stream", Command::FollowStream(m.conn));
    act(ui, "Save payload…", Command::SavePayload(index));
}

/// Filter clauses on this message's value: its text when short, and the top-level scalar
/// fields of a JSON object.
fn value_clauses(m: &MessageRow, payload: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if m.opcode != OpCode::Text {
        return out;
    }
    let Ok(text) = std::str::from_utf8(payload) else {
        return out;
    };
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        for (key, value) in map.iter().take(8) {
            let simple_key = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && key.chars().next().is_some_and(|c| !c.is_ascii_digit());
            if !simple_key {
                continue;
            }
            match value {
                serde_json::Value::String(_) | serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                    out.push(format!("json.{key} == {value}"));
                }
                _ => {}
            }
        }
    } else if text.chars().count() <= 60 && !text.contains('\n') {
        out.push(format!("text == {}", serde_json::Value::from(text)));
    }
    out
}
