//! The Probe pane: a server URL and a case selection, the conformance probe's verdicts by
//! category as they come (pass / non-strict / fail / info / unimplemented, with the close
//! code), and a clicked case's connection selected with its transcript shown.

use crate::gui::commands::Command;
use crate::gui::model::Cx;
use crate::gui::testing::{TestCommand, Testing};
use crate::gui::theme;
use crate::probe::{CaseResult, Verdict};

fn verdict_color(v: Verdict) -> egui::Color32 {
    match v {
        Verdict::Pass => theme::OK,
        Verdict::NonStrict => theme::WARNING,
        Verdict::Fail => theme::ERROR,
        Verdict::Info | Verdict::Unimplemented => egui::Color32::GRAY,
    }
}

pub fn probe_window_ui(cx: &mut Cx<'_>, testing: &mut Testing, ctx: &egui::Context) {
    if !testing.probe.open {
        return;
    }
    let mut open = true;
    let mut commands = Vec::new();
    let max = ctx.content_rect().size() * egui::vec2(0.6, 0.8);
    super::window(ctx, "Probe")
        .open(&mut open)
        .default_width(620.0_f32.min(max.x))
        .default_height(480.0_f32.min(max.y))
        .max_height(max.y)
        .show(ctx, |ui| {
            let panel = &mut testing.probe;
            let running = panel.running();
            ui.horizontal(|ui| {
                let label = ui.label("URL");
                ui.add_enabled(
                    !running,
                    egui::TextEdit::singleline(&mut panel.url)
                        .hint_text("ws://127.0.0.1:9001/")
                        .desired_width(300.0),
                )
                .labelled_by(label.id);
                if ui
                    .add_enabled(!running && !panel.url.trim().is_empty(), egui::Button::new("Run probe"))
                    .clicked()
                {
                    commands.push(TestCommand::RunProbe);
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label("Cases");
                ui.add_enabled(
                    !running,
                    egui::TextEdit::singleline(&mut panel.cases)
                        .hint_text("all but the slow ones")
                        .desired_width(300.0),
                )
                .labelled_by(label.id)
                .on_hover_text("ids or prefixes with *, comma-separated: 5.*,6.4.1,h.*");
                ui.checkbox(&mut panel.failures_only, "Failures only");
            });
            if let Some(run) = &panel.run {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("{} of {} cases", panel.results.len(), run.total));
                });
            }
            if let Some(e) = &panel.error {
                ui.colored_label(theme::ERROR, e);
            }
            if !panel.results.is_empty() {
                let count = |v: Verdict| panel.results.iter().filter(|r| r.verdict == v).count();
                let mut line = format!(
                    "{} pass, {} non-strict, {} fail, {} info, {} unimplemented",
                    count(Verdict::Pass),
                    count(Verdict::NonStrict),
                    count(Verdict::Fail),
                    count(Verdict::Info),
                    count(Verdict::Unimplemented)
                );
                if panel.skipped > 0 {
                    line.push_str(&format!(", {} not run (time was up)", panel.skipped));
                }
                ui.label(line);
            }
            ui.separator();
            let shown: Vec<CaseResult> = if panel.failures_only {
                panel
                    .results
                    .iter()
                    .filter(|r| r.verdict == Verdict::Fail)
                    .cloned()
                    .collect()
            } else {
                panel.results.clone()
            };
            cases_ui(&shown, panel.selected.as_deref(), ui, &mut commands);
        });
    for c in commands {
        cx.push(Command::Test(c));
    }
    if !open {
        testing.probe.open = false;
    }
}

/// The cases by category (in run order); a click asks for the case's connection.
fn cases_ui(results: &[CaseResult], selected: Option<&str>, ui: &mut egui::Ui, commands: &mut Vec<TestCommand>) {
    if results.is_empty() {
        ui.weak("Give a server URL and run the probe: each case is one connection, opened in the inspector when the run ends.");
        return;
    }
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        for group in results.chunk_by(|a, b| a.category == b.category) {
            let Some(first) = group.first() else { continue };
            let failed = group.iter().filter(|r| r.verdict == Verdict::Fail).count();
            let title = format!("{} — {} cases, {failed} failed", first.category, group.len());
            egui::CollapsingHeader::new(title)
                .id_salt(&first.category)
                .default_open(true)
                .show(ui, |ui| {
                    for r in group {
                        case_row_ui(r, selected == Some(r.id.as_str()), ui, commands);
                    }
                });
        }
    });
}

fn case_row_ui(r: &CaseResult, selected: bool, ui: &mut egui::Ui, commands: &mut Vec<TestCommand>) {
    ui.horizontal(|ui| {
        ui.add_sized(
            [84.0, 16.0],
            egui::Label::new(
                egui::RichText::new(r.verdict.as_str())
                    .color(verdict_color(r.verdict))
                    .strong(),
            ),
        );
        let code = r.close_code.map(|c| format!(" [{c}]")).unwrap_or_default();
        if ui
            .selectable_label(selected, format!("{} {}{code}", r.id, r.description))
            .on_hover_text("show this case's connection and transcript")
            .clicked()
        {
            commands.push(TestCommand::ShowCase(r.id.clone()));
        }
    });
    if (selected || r.verdict == Verdict::Fail) && !r.detail.is_empty() {
        ui.horizontal(|ui| {
            ui.add_space(92.0);
            let color = if r.verdict == Verdict::Fail {
                theme::ERROR
            } else {
                ui.visuals().weak_text_color()
            };
            ui.add(egui::Label::new(egui::RichText::new(&r.detail).color(color).small()).wrap());
        });
    }
}
