//! Protobuf messages decoded with the user's schema (prost-reflect): field names, enums and
//! the canonical JSON mapping, one message type per direction. The `.proto` files are
//! compiled outside the core (`cli::analyze` with protox); only descriptors come in here.

use prost_reflect::{DynamicMessage, MessageDescriptor};
use serde_json::Value;

use crate::analysis::event::Direction;

/// The message type each direction carries.
#[derive(Clone, Debug, Default)]
pub struct ProtoSchema {
    pub c2s: Option<MessageDescriptor>,
    pub s2c: Option<MessageDescriptor>,
}

impl ProtoSchema {
    pub fn for_dir(&self, dir: Direction) -> Option<&MessageDescriptor> {
        match dir {
            Direction::ClientToServer => self.c2s.as_ref(),
            Direction::ServerToClient => self.s2c.as_ref(),
        }
    }
}

/// Decodes `payload` as `desc` into its canonical JSON mapping. prost limits nesting
/// (100 levels), so hostile input is an error, not a stack overflow.
pub fn decode(desc: &MessageDescriptor, payload: &[u8]) -> Result<Value, String> {
    let msg = DynamicMessage::decode(desc.clone(), payload).map_err(|e| e.to_string())?;
    serde_json::to_value(&msg).map_err(|e| e.to_string())
}
