//! Frame anatomy: every frame of the selected message (fragments, and the control frames
//! sent between them) in RFC 6455's 32-bits-per-row layout, each field in its own colour
//! (the same in every frame) and labelled with its value and meaning; hovering a field
//! highlights its bytes in the hex row below and hovering a byte names its field; rules
//! broken are marked. Each frame's time and place in its message, its bytes on the wire
//! (rebuilt exactly from the kept message bytes and the frame's masking key), the
//! unmasking walkthrough of every masked frame, and the deflate walkthrough of a
//! compressed message (its frames joined, the tail appended, inflated).

use crate::analysis::event::FrameEvent;
use crate::analysis::ws::anatomy::{WirePayload, fields, unmask_steps, wire_payloads};
use crate::analysis::ws::frame::{FrameHeader, OpCode};
use crate::gui::commands::Command;
use crate::gui::model::Cx;
use crate::gui::theme;
use crate::store::{MessageRow, Store};

const BIT_WIDTH: f32 = 24.0;
const ROW_HEIGHT: f32 = 34.0;
/// Payload bytes drawn in the bit layout.
const PAYLOAD_BYTES_SHOWN: usize = 8;
/// Payload bytes written out in a frame's bytes line (then "… N more").
const PAYLOAD_BYTES_LINE: usize = 64;
/// Payload bytes the unmasking walkthrough steps through.
const UNMASK_STEPS: usize = 16;

/// Each field's colour, by name: the same field has the same colour in every frame,
/// whatever fields come before it.
pub fn field_color(name: &str) -> egui::Color32 {
    match name {
        "FIN" => egui::Color32::from_rgb(94, 129, 172),
        "RSV1" => egui::Color32::from_rgb(136, 192, 208),
        "RSV2" => egui::Color32::from_rgb(129, 161, 193),
        "RSV3" => egui::Color32::from_rgb(143, 188, 187),
        "opcode" => egui::Color32::from_rgb(180, 142, 173),
        "MASK" => egui::Color32::from_rgb(208, 135, 112),
        "payload len" => egui::Color32::from_rgb(235, 203, 139),
        n if n.starts_with("extended payload length") => egui::Color32::from_rgb(222, 170, 110),
        "masking key" => egui::Color32::from_rgb(163, 190, 140),
        "payload" => egui::Color32::from_rgb(191, 97, 106),
        _ => egui::Color32::from_rgb(120, 120, 120),
    }
}

/// The frames of message `index`, in order (control frames of the same direction that sat
/// between its fragments are skipped).
pub fn message_frames<'s>(store: &'s Store, row: &MessageRow) -> Vec<&'s FrameEvent> {
    frames_with_interleaved(store, row)
        .into_iter()
        .filter_map(|f| match f {
            AnatomyFrame::Own(f) => Some(f),
            AnatomyFrame::Between(..) => None,
        })
        .collect()
}

/// A frame of the selected message, or a control frame of the same direction sent between
/// its fragments (with its index in `Store::frames`).
#[derive(Clone, Copy, Debug)]
pub enum AnatomyFrame<'s> {
    Own(&'s FrameEvent),
    Between(&'s FrameEvent, u32),
}

/// The message's frames in wire order, with the control frames sent between its fragments.
pub fn frames_with_interleaved<'s>(store: &'s Store, row: &MessageRow) -> Vec<AnatomyFrame<'s>> {
    let Some(first) = row.first_frame else {
        return Vec::new();
    };
    let data_message = !row.opcode.is_control();
    let mut out = Vec::new();
    let mut own = 0;
    for (i, f) in store.frames.iter().enumerate().skip(first as usize) {
        if own >= row.frames {
            break;
        }
        if f.conn != row.conn || f.dir != row.dir {
            continue;
        }
        // The next data message of the direction: this one's frames are all listed (or were
        // not all recorded); stop rather than scan the rest of the capture.
        if own > 0 && !f.header.opcode.is_control() && f.header.opcode != OpCode::Continuation {
            break;
        }
        if data_message && f.header.opcode.is_control() {
            if own > 0 {
                out.push(AnatomyFrame::Between(f, i as u32));
            }
            continue;
        }
        out.push(AnatomyFrame::Own(f));
        own += 1;
    }
    out
}

/// The control message whose frame is `frame` (index in `Store::frames`). It was reported
/// before the data message it interrupted (`before`), so it is looked for among the 4096
/// messages just before that one.
pub fn control_message_of(store: &Store, before: u32, frame: u32) -> Option<u32> {
    let end = (before as usize).min(store.messages.len());
    let start = end.saturating_sub(4096);
    store
        .messages
        .get(start..end)?
        .iter()
        .rposition(|m| m.first_frame == Some(frame))
        .map(|i| (start + i) as u32)
}

/// The message's bytes as sent: the frames' payloads unmasked and joined, before inflating
/// (what is kept of them: a prefix when the arena's budget was spent).
fn bytes_as_sent<'s>(store: &'s Store, row: &MessageRow) -> &'s [u8] {
    if row.compressed {
        store.compressed_payload(row)
    } else {
        store.payload(row)
    }
}

pub fn anatomy_ui(cx: &mut Cx<'_>, state: &mut AnatomyState, ui: &mut egui::Ui) {
    let Some((index, row)) = cx
        .selection
        .message
        .and_then(|m| Some((m, cx.store.messages.get(m as usize)?.clone())))
    else {
        ui.weak("Select a message to see its frames bit by bit.");
        return;
    };
    let listed: Vec<AnatomyFrame<'_>> = frames_with_interleaved(&cx.store, &row);
    let own: Vec<FrameEvent> = listed
        .iter()
        .filter_map(|f| match f {
            AnatomyFrame::Own(f) => Some((*f).clone()),
            AnatomyFrame::Between(..) => None,
        })
        .collect();
    let between: Vec<(usize, FrameEvent, Option<u32>)> = {
        let mut seen_own = 0;
        let mut out = Vec::new();
        for f in &listed {
            match f {
                AnatomyFrame::Own(_) => seen_own += 1,
                AnatomyFrame::Between(f, at) => {
                    out.push((seen_own, (*f).clone(), control_message_of(&cx.store, index, *at)));
                }
            }
        }
        out
    };
    if own.is_empty() {
        ui.weak("The frames of this message were not recorded.");
        return;
    }
    let headers: Vec<FrameHeader> = own.iter().map(|f| f.header).collect();
    let sent = bytes_as_sent(&cx.store, &row);
    let wire = wire_payloads(&headers, sent, PAYLOAD_BYTES_LINE.max(UNMASK_STEPS));
    let declared: u64 = headers.iter().map(|h| h.payload_len).sum();
    let start = cx.store.capture_start();
    let since = |ts: crate::analysis::Timestamp| start.map_or(0.0, |s| ts.millis_since(s) / 1000.0);
    let negotiated = cx
        .store
        .connection(row.conn)
        .and_then(|c| c.info.handshake.as_ref())
        .is_none_or(|h| h.deflate().is_some());
    let mut select = None;
    egui::ScrollArea::both().id_salt("anatomy").show(ui, |ui| {
        // A summary when there is more than one frame or bytes are missing.
        if own.len() > 1 || !between.is_empty() || (sent.len() as u64) < declared {
            ui.label(format!(
                "Message #{index}: {} {} in {} frame{}{}; {} payload bytes on the wire{}.",
                row.dir.as_str(),
                row.opcode.name(),
                own.len(),
                if own.len() == 1 { "" } else { "s" },
                if row.compressed {
                    ", compressed (permessage-deflate)"
                } else {
                    ""
                },
                declared,
                if (sent.len() as u64) < declared {
                    format!(
                        ", of which the first {} were kept (the rest was past the payload budget or a cap)",
                        sent.len()
                    )
                } else {
                    String::new()
                }
            ));
        }
        let mut previous_ts = None;
        for (i, frame) in own.iter().enumerate() {
            for (_, f, m) in between.iter().filter(|(after, _, _)| *after == i) {
                ui.horizontal(|ui| {
                    ui.colored_label(
                        theme::opcode_color(f.header.opcode),
                        format!(
                            "Between frames {i} and {}: a {} frame ({} bytes on the wire) at {:.6} s",
                            i + 1,
                            f.header.opcode.name(),
                            f.header.wire_len(),
                            since(f.ts)
                        ),
                    );
                    if let Some(m) = m
                        && ui.small_button(format!("show message #{m}")).clicked()
                    {
                        select = Some(*m);
                    }
                });
            }
            // The heading and, on the same line, the frame's time.
            ui.horizontal(|ui| {
                ui.strong(format!(
                    "Frame {} of {} — {} bytes on the wire at stream offset {}",
                    i + 1,
                    own.len(),
                    frame.header.wire_len(),
                    frame.stream_offset
                ));
                ui.weak(format!(
                    "at {:.6} s since the capture started{}",
                    since(frame.ts),
                    previous_ts.map_or(String::new(), |p: crate::analysis::Timestamp| format!(
                        ", {:.3} ms after frame {i}",
                        frame.ts.millis_since(p)
                    ))
                ));
            });
            previous_ts = Some(frame.ts);
            let header_bytes = frame.header.to_bytes();
            let payload = wire.get(i);
            // A frame whose payload was not kept at all (and is not empty) shows no bytes.
            let kept = payload.filter(|p| p.kept > 0 || p.len == 0);
            frame_ui(
                ui,
                i,
                &frame.header,
                &header_bytes,
                kept.map(|p| p.bytes.as_slice()),
                negotiated,
                &mut state.hover,
            );
            if let Some(p) = payload
                && p.kept < p.len
            {
                ui.weak(format!(
                    "only the first {} of this frame's {} payload bytes were kept",
                    p.kept, p.len
                ));
            }
            if let (Some(key), Some(p)) = (frame.header.mask, kept)
                && !p.bytes.is_empty()
            {
                let steps = &p.bytes[..p.bytes.len().min(UNMASK_STEPS)];
                let mut walk = |ui: &mut egui::Ui| unmasking_ui(ui, i, steps, key, &row, &mut state.unmask_step);
                if i == 0 {
                    walk(ui);
                } else {
                    egui::CollapsingHeader::new(format!("Unmasking frame {}", i + 1))
                        .id_salt(("unmask", i))
                        .show(ui, walk);
                }
            }
            if i + 1 == own.len() && row.compressed {
                deflate_ui(ui, &row, cx.store.compressed_payload(&row), &wire);
            }
            ui.add_space(8.0);
        }
    });
    if let Some(m) = select {
        cx.push(Command::RevealMessage(m));
    }
}

/// What the pointer rests on in the anatomy views: (frame index, field index). Kept in the
/// app so the next frame highlights the field's bytes (and tests can see it).
pub type AnatomyHover = Option<(usize, usize)>;

/// The anatomy view's state: the field hovered, and how far the unmasking walkthrough went.
#[derive(Default)]
pub struct AnatomyState {
    pub hover: AnatomyHover,
    /// Rows of the unmasking walkthrough shown (`None`: all).
    pub unmask_step: Option<usize>,
}

/// One frame: bit layout, bytes, legend. `frame_index` keeps hover state apart per frame.
pub fn frame_ui(
    ui: &mut egui::Ui,
    frame_index: usize,
    header: &crate::analysis::ws::frame::FrameHeader,
    header_bytes: &[u8],
    payload: Option<&[u8]>,
    negotiated_rsv1: bool,
    hover: &mut AnatomyHover,
) {
    let fields = fields(header, negotiated_rsv1);
    // The bytes line: the header and up to PAYLOAD_BYTES_LINE payload bytes; the bit layout
    // draws the first PAYLOAD_BYTES_SHOWN of them.
    let line_payload = payload.map(|p| p.get(..PAYLOAD_BYTES_LINE.min(p.len())).unwrap_or(p));
    let mut bytes = header_bytes.to_vec();
    bytes.extend_from_slice(line_payload.unwrap_or(&[]));
    let laid_out = payload.map(|p| p.len().min(PAYLOAD_BYTES_SHOWN));
    let shown_bits = (header_bytes.len() + laid_out.map_or(1, |n| n.max(1))) * 8;
    let hovered_field: Option<usize> = hover.filter(|(f, _)| *f == frame_index).map(|(_, field)| field);
    let mut now_hovered = None;

    // Bit numbers on top, as in RFC 6455 §5.2.
    let rows = shown_bits.div_ceil(32);
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(32.0 * BIT_WIDTH, (rows as f32 + 0.6) * ROW_HEIGHT),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    for b in 0..32 {
        painter.text(
            rect.min + egui::vec2(b as f32 * BIT_WIDTH + BIT_WIDTH / 2.0, 8.0),
            egui::Align2::CENTER_CENTER,
            (b % 10).to_string(),
            egui::FontId::monospace(10.0),
            ui.visuals().weak_text_color(),
        );
    }
    let top = rect.min.y + 0.6 * ROW_HEIGHT;
    let pointer = ui.input(|i| i.pointer.hover_pos());
    for (fi, field) in fields.iter().enumerate() {
        let end_bit = (field.bit_start + field.bit_len).min(shown_bits);
        if field.bit_start >= end_bit {
            continue;
        }
        let color = if field.violation.is_some() {
            theme::ERROR
        } else {
            field_color(field.name)
        };
        // A field may wrap over several 32-bit rows: one box per row piece.
        let mut bit = field.bit_start;
        while bit < end_bit {
            let row_index = bit / 32;
            let piece_end = end_bit.min((row_index + 1) * 32);
            let x0 = rect.min.x + (bit % 32) as f32 * BIT_WIDTH;
            let x1 = rect.min.x + (if piece_end % 32 == 0 { 32 } else { piece_end % 32 }) as f32 * BIT_WIDTH;
            let y0 = top + row_index as f32 * ROW_HEIGHT;
            let piece = egui::Rect::from_min_max(
                egui::pos2(x0 + 1.0, y0 + 1.0),
                egui::pos2(x1 - 1.0, y0 + ROW_HEIGHT - 1.0),
            );
            let highlight = hovered_field == Some(fi);
            painter.rect_filled(piece, 3.0, if highlight { color } else { color.gamma_multiply(0.8) });
            if highlight {
                painter.rect_stroke(
                    piece,
                    3.0,
                    egui::Stroke::new(2.0, egui::Color32::WHITE),
                    egui::StrokeKind::Inside,
                );
            }
            let label = if piece.width() > 90.0 {
                format!("{} = {}", field.name, field.value)
            } else if piece.width() > 40.0 {
                field.value.clone()
            } else {
                bit_value(&bytes, bit).to_string()
            };
            painter.text(
                piece.center(),
                egui::Align2::CENTER_CENTER,
                label,
                egui::FontId::proportional(12.0),
                egui::Color32::BLACK,
            );
            if pointer.is_some_and(|p| piece.contains(p)) {
                now_hovered = Some(fi);
            }
            bit = piece_end;
        }
    }
    // The same bytes in hex; a hovered byte names its field.
    ui.horizontal_wrapped(|ui| {
        ui.label("bytes:");
        for (i, b) in bytes.iter().enumerate() {
            let field = fields.iter().position(|f| f.contains_byte(i));
            let highlighted = field.is_some() && field == hovered_field;
            let mut text = egui::RichText::new(format!("{b:02x}")).monospace();
            if highlighted {
                text = text
                    .background_color(
                        field
                            .and_then(|f| fields.get(f))
                            .map_or(egui::Color32::GRAY, |f| field_color(f.name)),
                    )
                    .color(egui::Color32::BLACK);
            }
            let response = ui.label(text);
            if let Some(fi) = field
                && let Some(f) = fields.get(fi)
            {
                if response.hovered() {
                    now_hovered = Some(fi);
                }
                response.on_hover_text(format!("byte {i}: {}", f.name));
            }
        }
        let written = line_payload.map_or(0, <[u8]>::len) as u64;
        match payload {
            None if header.payload_len > 0 => {
                ui.weak(format!(
                    "(the {} payload bytes of this frame were not kept)",
                    header.payload_len
                ));
            }
            _ if header.payload_len > written => {
                ui.weak(format!("… {} more payload bytes", header.payload_len - written));
            }
            _ => {}
        }
    });
    // The legend: every field with its value, meaning and any broken rule.
    egui::Grid::new(("anatomy-fields", frame_index))
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for (fi, field) in fields.iter().enumerate() {
                let color = field_color(field.name);
                let name = ui.colored_label(color, field.name);
                if name.hovered() {
                    now_hovered = Some(fi);
                }
                ui.monospace(&field.value);
                match field.violation {
                    Some(rule) => ui.colored_label(theme::ERROR, format!("{} — breaks {rule}", field.meaning)),
                    None => ui.label(&field.meaning),
                };
                ui.end_row();
            }
        });
    match now_hovered {
        Some(field) => *hover = Some((frame_index, field)),
        None if hovered_field.is_some() => *hover = None,
        None => {}
    }
}

/// The bit at `bit` of the frame's bytes, for fields too narrow for their value.
fn bit_value(bytes: &[u8], bit: usize) -> u8 {
    bytes.get(bit / 8).map_or(0, |b| (b >> (7 - bit % 8)) & 1)
}

/// permessage-deflate step by step: the frames' payloads joined, the tail appended, the
/// inflated size, and whether earlier messages' window was needed.
fn deflate_ui(ui: &mut egui::Ui, row: &MessageRow, compressed: &[u8], frames: &[WirePayload]) {
    ui.strong("permessage-deflate (RFC 7692 §7.2.2)");
    if compressed.is_empty() {
        ui.weak("The compressed bytes of this message were not kept.");
        return;
    }
    let shown: Vec<String> = compressed.iter().take(48).map(|b| format!("{b:02x}")).collect();
    egui::Grid::new("deflate-steps").num_columns(2).show(ui, |ui| {
        if frames.len() > 1 {
            ui.label("0. join the frames' payloads (unmasked)");
            let parts: Vec<String> = frames.iter().map(|f| f.len.to_string()).collect();
            ui.monospace(format!("{} = {} bytes", parts.join(" + "), compressed.len()));
            ui.end_row();
        }
        ui.label("1. payload as sent (RSV1 set on the first frame)");
        ui.monospace(format!(
            "{}{} ({} bytes)",
            shown.join(" "),
            if compressed.len() > 48 {
                format!(" … {} more", compressed.len() - 48)
            } else {
                String::new()
            },
            compressed.len()
        ));
        ui.end_row();
        ui.label("2. append the empty block the sender removed");
        ui.monospace("00 00 ff ff");
        ui.end_row();
        ui.label("3. inflate");
        ui.label(format!(
            "{} bytes ({:.1}:1)",
            row.len,
            row.len as f64 / compressed.len().max(1) as f64
        ));
        ui.end_row();
        ui.label("4. window from earlier messages");
        match crate::analysis::ws::deflate::inflate_standalone(compressed, 64 << 20) {
            Ok(_) => ui.label("not needed: this message inflates on its own"),
            Err(reason) => ui.label(format!(
                "needed: it refers back to text of earlier messages (context takeover); alone it fails: {reason}"
            )),
        };
        ui.end_row();
    });
}

/// The unmasking walkthrough of frame `frame`; `step` is how many rows are shown (`None`:
/// all of them). The char column shows printable ASCII of any opcode (a pong's payload is
/// letters too); the result line reads the bytes as text unless the message is binary or
/// compressed (then they are deflate data, inflated by the walkthrough below).
fn unmasking_ui(
    ui: &mut egui::Ui,
    frame: usize,
    masked: &[u8],
    key: [u8; 4],
    row: &MessageRow,
    step: &mut Option<usize>,
) {
    ui.horizontal(|ui| {
        ui.strong("Unmasking (RFC 6455 §5.3): byte i XOR key[i mod 4]");
        if ui.button("Step").clicked() {
            *step = Some(step.map_or(1, |s| (s + 1).min(UNMASK_STEPS)));
        }
        if ui.button("Show all").clicked() {
            *step = None;
        }
        if ui.button("Restart").clicked() {
            *step = Some(0);
        }
    });
    let steps = unmask_steps(masked, key, step.unwrap_or(UNMASK_STEPS));
    egui::Grid::new(("unmask-steps", frame))
        .num_columns(6)
        .striped(true)
        .show(ui, |ui| {
            for title in ["i", "masked", "key index", "key byte", "XOR result", "char"] {
                ui.strong(title);
            }
            ui.end_row();
            for s in &steps {
                ui.monospace(s.index.to_string());
                ui.monospace(format!("{:02x}", s.masked));
                ui.monospace(s.key_index.to_string());
                ui.monospace(format!("{:02x}", s.key));
                ui.monospace(format!("{:02x}", s.plain));
                ui.monospace(if (0x20..0x7f).contains(&s.plain) {
                    (s.plain as char).to_string()
                } else {
                    "·".to_owned()
                });
                ui.end_row();
            }
        });
    let plain: Vec<u8> = steps.iter().map(|s| s.plain).collect();
    if row.compressed {
        ui.label("gives the compressed bytes as sent: permessage-deflate below turns them into the text");
    } else if row.opcode != OpCode::Binary {
        ui.label(format!("gives \"{}\"", String::from_utf8_lossy(&plain)));
    }
}
