//! Colours with meaning: opcodes, directions, findings.

use egui::Color32;

use crate::analysis::ws::frame::OpCode;

pub fn opcode_color(op: OpCode) -> Color32 {
    match op {
        OpCode::Text => Color32::from_rgb(66, 135, 245),
        OpCode::Binary => Color32::from_rgb(163, 102, 224),
        OpCode::Close => Color32::from_rgb(230, 80, 70),
        OpCode::Ping => Color32::from_rgb(70, 180, 90),
        OpCode::Pong => Color32::from_rgb(40, 170, 170),
        OpCode::Continuation | OpCode::Reserved(_) => Color32::from_rgb(150, 150, 150),
    }
}

pub const CLIENT_TO_SERVER: Color32 = Color32::from_rgb(230, 150, 40);
pub const SERVER_TO_CLIENT: Color32 = Color32::from_rgb(60, 160, 220);
pub const OK: Color32 = Color32::from_rgb(70, 180, 90);
pub const WARNING: Color32 = Color32::from_rgb(230, 160, 30);
pub const ERROR: Color32 = Color32::from_rgb(225, 70, 60);

/// Every opcode that gets its own colour, for legends.
pub const OPCODES: [OpCode; 5] = [OpCode::Text, OpCode::Binary, OpCode::Close, OpCode::Ping, OpCode::Pong];
