//! Every finding with its connection, time and explanation; a click jumps to the message.

use egui_extras::{Column, TableBuilder};

use crate::gui::commands::Command;
use crate::gui::model::Cx;
use crate::gui::{format, theme};

pub fn findings_ui(cx: &mut Cx<'_>, ui: &mut egui::Ui) {
    let scope = cx.selection.conn;
    let rows: Vec<usize> = cx
        .store
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| scope.is_none() || f.finding.conn == scope)
        .map(|(i, _)| i)
        .collect();
    if rows.is_empty() {
        ui.weak("No findings: every rule checked holds.");
        return;
    }
    let mut clicked = None;
    // Selectable labels would take the clicks meant for the row.
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .id_salt("findings-table")
        .striped(true)
        // Fill the panel, never push it bigger than the size it was given.
        .min_scrolled_height(40.0)
        .auto_shrink([false, false])
        .resizable(true)
        .sense(egui::Sense::click())
        .column(Column::initial(110.0).at_least(60.0))
        .column(Column::initial(50.0).at_least(30.0))
        .column(Column::initial(40.0).at_least(30.0))
        .column(Column::initial(190.0).at_least(80.0))
        .column(Column::remainder().at_least(100.0).clip(true))
        .header(20.0, |mut h| {
            for title in ["time", "conn", "dir", "kind", "detail"] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(18.0, rows.len(), |mut row| {
                let Some((index, f)) = rows
                    .get(row.index())
                    .and_then(|&i| cx.store.findings.get(i).map(|f| (i, f)))
                else {
                    return;
                };
                let finding = &f.finding;
                let previous = row_index_previous(&rows, row.index(), &cx.store);
                row.col(|ui| {
                    // The table's time as View → Time shows it (delta: since the previous
                    // finding shown), the full date in the tooltip.
                    let conn_start = finding
                        .conn
                        .and_then(|c| cx.store.connection(c))
                        .map(|c| c.info.first_ts);
                    ui.label(format::table_time(
                        cx.settings.time_mode,
                        finding.ts,
                        cx.store.capture_start(),
                        conn_start,
                        previous,
                    ))
                    .on_hover_text(format::time_tooltip(finding.ts));
                });
                row.col(|ui| {
                    ui.label(finding.conn.map_or("-".into(), |c| c.to_string()));
                });
                row.col(|ui| {
                    ui.label(finding.dir.map_or("-", |d| d.as_str()));
                });
                row.col(|ui| {
                    let color = if finding.kind.is_capture_problem() {
                        theme::WARNING
                    } else {
                        theme::ERROR
                    };
                    ui.colored_label(color, finding.kind.slug())
                        .on_hover_text(finding.kind.explanation());
                });
                row.col(|ui| {
                    ui.label(&finding.detail).on_hover_text(finding.kind.explanation());
                });
                if row.response().clicked() {
                    clicked = Some((cx.view.annotations.message_of_finding(index), finding.conn));
                }
            });
        });
    match clicked {
        Some((Some(message), _)) => cx.push(Command::RevealMessage(message)),
        Some((None, Some(conn))) => cx.push(Command::SelectConnection(Some(conn))),
        _ => {}
    }
}

/// The time of the finding shown just above row `at` (delta mode), if any.
fn row_index_previous(rows: &[usize], at: usize, store: &crate::store::Store) -> Option<crate::analysis::Timestamp> {
    let previous = at.checked_sub(1).and_then(|i| rows.get(i))?;
    store.findings.get(*previous).map(|f| f.finding.ts)
}
