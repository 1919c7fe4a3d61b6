//! The lower area: plots, findings, handshake.

use crate::gui::app::{FramescopeApp, LowerTab};

pub fn lower_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut app.lower_tab, LowerTab::Plots, "Plots");
        let findings = format!("Findings ({})", app.store.findings.len());
        ui.selectable_value(&mut app.lower_tab, LowerTab::Findings, findings);
        ui.selectable_value(&mut app.lower_tab, LowerTab::Handshake, "Handshake");
        ui.selectable_value(&mut app.lower_tab, LowerTab::Anatomy, "Frame anatomy");
    });
    ui.separator();
    match app.lower_tab {
        LowerTab::Plots => super::plots::plots_ui(app, ui),
        LowerTab::Findings => super::findings::findings_ui(app, ui),
        LowerTab::Handshake => super::handshake::handshake_ui(app, ui),
        LowerTab::Anatomy => super::anatomy::anatomy_ui(app, ui),
    }
}
