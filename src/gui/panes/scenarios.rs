//! The Scenarios pane: a scenario file opened, run against its URL (or one typed here), its
//! steps turning green or red as they end, with their times and, on failure, what arrived
//! instead; clicking a step selects its message in the table. Also the "Replay against…"
//! form, which turns a stored connection into a scenario for this pane.

use crate::gui::commands::Command;
use crate::gui::model::Cx;
use crate::gui::scenario_run::{StepRow, StepState};
use crate::gui::testing::{TestCommand, Testing};
use crate::gui::theme;

fn state_label(s: StepState) -> (&'static str, egui::Color32) {
    match s {
        StepState::Planned => ("·", egui::Color32::GRAY),
        StepState::Running => ("…", theme::WARNING),
        StepState::Pass => ("PASS", theme::OK),
        StepState::Fail => ("FAIL", theme::ERROR),
        StepState::Skipped => ("skip", egui::Color32::GRAY),
    }
}

pub fn scenarios_window_ui(cx: &mut Cx<'_>, testing: &mut Testing, ctx: &egui::Context) {
    replay_form_ui(cx, testing, ctx);
    if !testing.scenarios.open {
        return;
    }
    let mut open = true;
    let max = ctx.content_rect().size() * egui::vec2(0.6, 0.8);
    super::window(ctx, "Scenarios")
        .open(&mut open)
        .default_width(620.0_f32.min(max.x))
        .default_height(480.0_f32.min(max.y))
        .max_height(max.y)
        .show(ctx, |ui| {
            let mut commands = Vec::new();
            header_ui(testing, ui, &mut commands);
            ui.separator();
            steps_ui(testing, ui, &mut commands);
            for c in commands {
                cx.push(Command::Test(c));
            }
        });
    if !open {
        testing.scenarios.open = false;
    }
}

fn header_ui(testing: &mut Testing, ui: &mut egui::Ui, commands: &mut Vec<TestCommand>) {
    let panel = &mut testing.scenarios;
    let running = panel.running();
    ui.horizontal(|ui| {
        if ui.add_enabled(!running, egui::Button::new("Open scenario…")).clicked() {
            commands.push(TestCommand::OpenScenarioDialog);
        }
        let name = match (&panel.scenario, &panel.file) {
            (Some(s), _) if !s.name.is_empty() => s.name.clone(),
            (_, Some(f)) => f.display().to_string(),
            _ => "(no scenario)".to_owned(),
        };
        ui.strong(name);
    });
    ui.horizontal(|ui| {
        let label = ui.label("URL");
        let hint = panel
            .scenario
            .as_ref()
            .and_then(|s| s.url.clone())
            .unwrap_or_else(|| "ws://127.0.0.1:8080/".to_owned());
        ui.add_enabled(
            !running,
            egui::TextEdit::singleline(&mut panel.url)
                .hint_text(hint)
                .desired_width(320.0),
        )
        .labelled_by(label.id);
        let can_run = panel.scenario.is_some() && !running;
        if ui.add_enabled(can_run, egui::Button::new("Run")).clicked() {
            commands.push(TestCommand::RunScenario);
        }
        ui.checkbox(&mut panel.failures_only, "Failures only");
        if let Some(run) = &panel.run {
            if ui
                .button("Stop")
                .on_hover_text("End the run now: running steps fail as stopped, the rest are skipped")
                .clicked()
            {
                commands.push(TestCommand::StopScenario);
            }
            ui.spinner();
            ui.label(format!("running {:.1} s", run.started.elapsed().as_secs_f64()));
        }
    });
    if let Some(e) = &panel.error {
        ui.colored_label(theme::ERROR, e);
    }
    if let Some(r) = &panel.report {
        let (text, color) = if r.passed {
            ("passed", theme::OK)
        } else {
            ("FAILED", theme::ERROR)
        };
        ui.horizontal(|ui| {
            ui.colored_label(color, egui::RichText::new(text).strong());
            ui.label(format!(
                "{} passed, {} failed, {} skipped in {:.0} ms over {} connections",
                r.counts.passed, r.counts.failed, r.counts.skipped, r.duration_ms, r.connections
            ));
        });
        for (name, m) in &r.measurements {
            ui.weak(format!(
                "{name}: {} samples, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
                m.count, m.p50_ms, m.p95_ms, m.max_ms
            ));
        }
    }
}

fn steps_ui(testing: &mut Testing, ui: &mut egui::Ui, commands: &mut Vec<TestCommand>) {
    let panel = &testing.scenarios;
    if panel.rows.is_empty() {
        ui.weak("Open a .ron scenario (README: \"Testing servers: scenarios\"), then Run.");
        return;
    }
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        for row in panel
            .rows
            .iter()
            .filter(|r| !panel.failures_only || r.state == StepState::Fail)
        {
            if row_ui(ui, row, panel.selected.as_deref() == Some(row.path.as_str())) {
                commands.push(TestCommand::RevealStep(row.path.clone()));
            }
        }
    });
}

/// One step; true when clicked.
fn row_ui(ui: &mut egui::Ui, row: &StepRow, selected: bool) -> bool {
    let (label, color) = state_label(row.state);
    let mut clicked = false;
    ui.horizontal(|ui| {
        ui.add_space(row.depth() as f32 * 14.0);
        ui.add_sized(
            [36.0, 16.0],
            egui::Label::new(egui::RichText::new(label).color(color).strong()),
        );
        let title = format!("{} {}", row.path, row.title);
        let response = ui.selectable_label(selected, title);
        let response = if row.message.is_some() {
            response.on_hover_text("select this step's message in the table")
        } else {
            response
        };
        clicked = response.clicked();
        if let Some(ms) = row.duration_ms {
            ui.weak(format!("{ms:.1} ms"));
        }
    });
    if let Some(detail) = &row.detail {
        let color = if row.state == StepState::Fail {
            theme::ERROR
        } else {
            ui.visuals().weak_text_color()
        };
        ui.horizontal(|ui| {
            ui.add_space(row.depth() as f32 * 14.0 + 44.0);
            ui.add(egui::Label::new(egui::RichText::new(detail).color(color).small()).wrap());
        });
    }
    clicked
}

/// "Replay against…": which connection, which URL, how fast.
fn replay_form_ui(cx: &mut Cx<'_>, testing: &mut Testing, ctx: &egui::Context) {
    let Some(conn) = testing.replay.conn else { return };
    let mut open = true;
    let mut run = false;
    super::window(ctx, "Replay against…")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            ui.label(format!(
                "Re-send connection {conn}'s client messages and expect its server's answers."
            ));
            let form = &mut testing.replay;
            ui.horizontal(|ui| {
                let label = ui.label("URL");
                ui.add(
                    egui::TextEdit::singleline(&mut form.url)
                        .hint_text("ws://127.0.0.1:8080/ (empty: the captured server)")
                        .desired_width(320.0),
                )
                .labelled_by(label.id);
            });
            ui.checkbox(&mut form.fast, "As fast as possible (else with the captured gaps)");
            run = ui.button("Replay").clicked();
        });
    if run {
        cx.push(Command::Test(TestCommand::RunReplay));
    }
    if !open {
        testing.replay.conn = None;
    }
}

/// The Tools menu's testing entries.
pub fn tools_menu_ui(cx: &mut Cx<'_>, ui: &mut egui::Ui) {
    ui.separator();
    for (label, command) in [
        ("Scenarios…", TestCommand::ToggleScenarios),
        ("Conformance probe…", TestCommand::ToggleProbe),
    ] {
        if ui.button(label).clicked() {
            cx.push(Command::Test(command));
            ui.close();
        }
    }
    let conn = cx.selection.conn;
    let replay = ui
        .add_enabled(
            conn.is_some(),
            egui::Button::new("Replay the selected connection against…"),
        )
        .on_disabled_hover_text("select a connection first");
    if let Some(conn) = conn
        && replay.clicked()
    {
        cx.push(Command::Test(TestCommand::ReplayAgainst(conn)));
        ui.close();
    }
}
