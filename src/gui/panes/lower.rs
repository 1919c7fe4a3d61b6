//! The lower area: plots, findings, handshake.

use crate::gui::app::LowerTab;
use crate::gui::model::{Cx, LowerState};
use crate::gui::sessions::ClientTabs;

pub fn lower_ui(cx: &mut Cx<'_>, lower: &mut LowerState, clients: &ClientTabs, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut lower.tab, LowerTab::Plots, "Plots");
        let findings = format!("Findings ({})", cx.store.findings.len());
        ui.selectable_value(&mut lower.tab, LowerTab::Findings, findings);
        ui.selectable_value(&mut lower.tab, LowerTab::Handshake, "Handshake");
        ui.selectable_value(&mut lower.tab, LowerTab::Anatomy, "Frame anatomy");
    });
    ui.separator();
    match lower.tab {
        LowerTab::Plots => super::plots::plots_ui(cx, lower, clients, ui),
        LowerTab::Findings => super::findings::findings_ui(cx, ui),
        LowerTab::Handshake => super::handshake::handshake_ui(cx, ui),
        LowerTab::Anatomy => super::anatomy::anatomy_ui(cx, &mut lower.anatomy, ui),
    }
}
