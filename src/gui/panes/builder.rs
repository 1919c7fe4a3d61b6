//! The frame builder window: set every field and see the bytes (hex, C or Rust array) and
//! the layout; or paste bytes and see them decoded, with findings from the same decoder that
//! reads captures.

use crate::analysis::ws::builder::{FrameSpec, LengthForm, as_byte_array, inspect, parse_hex};
use crate::analysis::ws::frame::OpCode;
use crate::gui::commands::Command;
use crate::gui::model::Cx;
use crate::gui::theme;

/// The builder window's state.
pub struct BuilderPanel {
    pub open: bool,
    pub spec: FrameSpec,
    pub payload_text: String,
    pub payload_is_hex: bool,
    pub key_text: String,
    pub decode_text: String,
    /// The field hovered in the built frame's anatomy.
    pub hover: super::anatomy::AnatomyHover,
}

impl Default for BuilderPanel {
    fn default() -> Self {
        BuilderPanel {
            open: false,
            spec: FrameSpec::default(),
            payload_text: "Hello".to_owned(),
            payload_is_hex: false,
            key_text: "37 fa 21 3d".to_owned(),
            decode_text: String::new(),
            hover: None,
        }
    }
}

pub fn builder_window_ui(cx: &mut Cx<'_>, b: &mut BuilderPanel, ctx: &egui::Context) {
    if !b.open {
        return;
    }
    let mut open = true;
    super::window(ctx, "Frame builder")
        .open(&mut open)
        .default_width(820.0)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().id_salt("builder").show(ui, |ui| {
                build_ui(cx, b, ui);
                ui.separator();
                decode_ui(b, ui);
            });
        });
    if !open {
        b.open = false;
    }
}

fn build_ui(cx: &mut Cx<'_>, b: &mut BuilderPanel, ui: &mut egui::Ui) {
    ui.strong("Build a frame");
    ui.horizontal(|ui| {
        ui.checkbox(&mut b.spec.fin, "FIN");
        ui.checkbox(&mut b.spec.rsv1, "RSV1");
        ui.checkbox(&mut b.spec.rsv2, "RSV2");
        ui.checkbox(&mut b.spec.rsv3, "RSV3");
        egui::ComboBox::from_label("Opcode")
            .selected_text(format!(
                "0x{:x} {}",
                b.spec.opcode,
                OpCode::from_u4(b.spec.opcode).name()
            ))
            .show_ui(ui, |ui| {
                for v in 0..16u8 {
                    ui.selectable_value(&mut b.spec.opcode, v, format!("0x{v:x} {}", OpCode::from_u4(v).name()));
                }
            });
    });
    ui.horizontal(|ui| {
        let mut masked = b.spec.mask.is_some();
        ui.checkbox(&mut masked, "Mask");
        let label = ui.label("Masking key (hex)");
        ui.add_enabled(masked, egui::TextEdit::singleline(&mut b.key_text).desired_width(100.0))
            .labelled_by(label.id);
        b.spec.mask = if masked {
            match parse_hex(&b.key_text).ok().and_then(|k| <[u8; 4]>::try_from(k).ok()) {
                Some(key) => Some(key),
                None => {
                    ui.colored_label(theme::ERROR, "the key is 4 bytes of hex");
                    Some([0; 4])
                }
            }
        } else {
            None
        };
        ui.separator();
        ui.label("Length");
        ui.radio_value(&mut b.spec.length_form, LengthForm::Minimal, "minimal");
        ui.radio_value(&mut b.spec.length_form, LengthForm::Force16, "16-bit");
        ui.radio_value(&mut b.spec.length_form, LengthForm::Force64, "64-bit");
    });
    ui.horizontal(|ui| {
        let label = ui.label("Payload");
        ui.add(egui::TextEdit::singleline(&mut b.payload_text).desired_width(420.0))
            .labelled_by(label.id);
        ui.checkbox(&mut b.payload_is_hex, "hex");
    });
    let payload = if b.payload_is_hex {
        parse_hex(&b.payload_text)
    } else {
        Ok(b.payload_text.clone().into_bytes())
    };
    match payload {
        Ok(p) => b.spec.payload = p,
        Err(e) => {
            ui.colored_label(theme::ERROR, format!("payload: {e}"));
        }
    }
    let bytes = b.spec.to_bytes();
    let hex: String = bytes.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ");
    ui.horizontal_wrapped(|ui| {
        ui.label("Bytes:");
        ui.monospace(&hex);
    });
    let mut copy = None;
    ui.horizontal(|ui| {
        if ui.button("Copy hex").clicked() {
            copy = Some(hex.clone());
        }
        if ui.button("Copy as C array").clicked() {
            copy = Some(as_byte_array(&bytes, false));
        }
        if ui.button("Copy as Rust array").clicked() {
            copy = Some(as_byte_array(&bytes, true));
        }
    });
    let seen = inspect(&bytes, b.spec.mask.is_some(), b.spec.rsv1);
    findings_list_ui(ui, &seen.findings);
    let header = b.spec.header();
    let header_bytes = header.to_bytes();
    let shown = bytes
        .get(header_bytes.len()..)
        .map(|p| p.get(..8.min(p.len())).unwrap_or(p));
    super::anatomy::frame_ui(ui, 10_000, &header, &header_bytes, shown, b.spec.rsv1, &mut b.hover);
    if let Some(text) = copy {
        cx.push(Command::CopyText(text));
    }
}

fn decode_ui(b: &mut BuilderPanel, ui: &mut egui::Ui) {
    ui.strong("Decode bytes");
    let label = ui.label("Hex bytes of one direction");
    ui.add(
        egui::TextEdit::multiline(&mut b.decode_text)
            .hint_text("81 85 37 fa 21 3d 7f 9f 4d 51 58")
            .desired_rows(3)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    if b.decode_text.trim().is_empty() {
        return;
    }
    match parse_hex(&b.decode_text) {
        Err(e) => {
            ui.colored_label(theme::ERROR, e);
        }
        Ok(bytes) => {
            let masked = bytes.get(1).is_some_and(|b| b & 0x80 != 0);
            let seen = inspect(&bytes, masked, false);
            for (h, offset) in &seen.frames {
                ui.monospace(format!(
                    "frame at byte {offset}: FIN={} RSV={}{}{} opcode={} mask={} length={}",
                    u8::from(h.fin),
                    u8::from(h.rsv1),
                    u8::from(h.rsv2),
                    u8::from(h.rsv3),
                    h.opcode.name(),
                    h.mask
                        .map_or("none".to_owned(), |k| k.iter().map(|b| format!("{b:02x}")).collect()),
                    h.payload_len
                ));
            }
            for m in &seen.messages {
                ui.label(format!(
                    "message: {} of {} bytes: {}",
                    m.opcode.name(),
                    m.payload.len(),
                    crate::gui::format::preview(&m.payload, 80)
                ));
            }
            findings_list_ui(ui, &seen.findings);
        }
    }
}

fn findings_list_ui(ui: &mut egui::Ui, findings: &[(crate::analysis::findings::FindingKind, String)]) {
    if findings.is_empty() {
        ui.colored_label(theme::OK, "valid: no rule of RFC 6455 is broken");
    }
    for (kind, detail) in findings {
        ui.colored_label(theme::ERROR, format!("{}: {detail}", kind.slug()))
            .on_hover_text(kind.explanation());
    }
}
