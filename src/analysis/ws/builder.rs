//! The frame builder: fields in, bytes out; bytes in, frames and findings out — through the
//! same decoder that reads captures, so what the builder reports is what analysis reports.

use crate::analysis::event::{Direction, MessageEvent, OwnedMessage};
use crate::analysis::findings::FindingKind;
use crate::analysis::time::Timestamp;
use crate::analysis::ws::frame::{FrameHeader, LengthEncoding, OpCode};
use crate::analysis::ws::mask::apply_mask;
use crate::analysis::ws::stream::{Compression, StreamDecoder, StreamLimits, StreamOutput};

/// How the payload length is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LengthForm {
    /// The shortest form, as RFC 6455 requires.
    #[default]
    Minimal,
    /// Always the 16-bit form (non-minimal for short payloads: a violation to show).
    Force16,
    /// Always the 64-bit form.
    Force64,
}

/// Every field a user can set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    /// 0-15.
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub length_form: LengthForm,
    /// The payload before masking.
    pub payload: Vec<u8>,
}

impl Default for FrameSpec {
    fn default() -> Self {
        FrameSpec {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: 1,
            mask: Some([0x37, 0xfa, 0x21, 0x3d]),
            length_form: LengthForm::Minimal,
            payload: b"Hello".to_vec(),
        }
    }
}

impl FrameSpec {
    pub fn header(&self) -> FrameHeader {
        let len = self.payload.len() as u64;
        let mut h = FrameHeader::new(self.fin, OpCode::from_u4(self.opcode), self.mask, len);
        h.rsv1 = self.rsv1;
        h.rsv2 = self.rsv2;
        h.rsv3 = self.rsv3;
        let (encoding, ext) = match self.length_form {
            LengthForm::Minimal => (h.length_encoding, 0),
            LengthForm::Force16 if len <= u64::from(u16::MAX) => (LengthEncoding::Extended16, 2),
            LengthForm::Force16 | LengthForm::Force64 => (LengthEncoding::Extended64, 8),
        };
        if self.length_form != LengthForm::Minimal {
            h.length_encoding = encoding;
            h.header_len = 2 + ext + if self.mask.is_some() { 4 } else { 0 };
        }
        h
    }

    /// The frame's bytes on the wire (payload masked when a key is set).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header().to_bytes();
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let (Some(key), Some(body)) = (self.mask, out.get_mut(start..)) {
            apply_mask(body, key, 0);
        }
        out
    }
}

/// Hex text (spaces, `0x`, commas and newlines allowed) to bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = text
        .replace("0x", "")
        .replace("0X", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',' && *c != ':')
        .collect();
    if cleaned.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", cleaned.len()));
    }
    (0..cleaned.len())
        .step_by(2)
        .map(|i| {
            let pair = cleaned.get(i..i + 2).unwrap_or("");
            u8::from_str_radix(pair, 16).map_err(|_| format!("'{pair}' at digit {i} is not hex"))
        })
        .collect()
}

/// `0x81, 0x85, …` for C or Rust sources.
pub fn as_byte_array(bytes: &[u8], rust: bool) -> String {
    let items: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
    if rust {
        format!("[{}]", items.join(", "))
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

/// What the decoder made of some bytes.
#[derive(Debug, Default, PartialEq)]
pub struct Inspection {
    pub frames: Vec<(FrameHeader, u64)>,
    pub messages: Vec<OwnedMessage>,
    pub findings: Vec<(FindingKind, String)>,
}

#[derive(Default)]
struct Collect(Inspection);

impl StreamOutput for Collect {
    fn frame(&mut self, _ts: Timestamp, header: &FrameHeader, offset: u64) {
        self.0.frames.push((*header, offset));
    }
    fn message(&mut self, m: &MessageEvent<'_>) {
        self.0.messages.push(OwnedMessage::from(m));
    }
    fn finding(&mut self, kind: FindingKind, _ts: Timestamp, _offset: Option<u64>, detail: String) {
        self.0.findings.push((kind, detail));
    }
}

/// Decodes `bytes` as one direction's stream (a client's when `from_client`), with
/// permessage-deflate assumed negotiated when `deflate` is set.
pub fn inspect(bytes: &[u8], from_client: bool, deflate: bool) -> Inspection {
    let dir = if from_client {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    };
    let compression = if deflate {
        Compression::Deflate {
            no_context_takeover: false,
        }
    } else {
        Compression::NotNegotiated
    };
    let mut d = StreamDecoder::synced(
        0,
        dir,
        compression,
        StreamLimits {
            max_message_bytes: 1 << 20,
            max_inflated_bytes: 1 << 20,
        },
    );
    let mut out = Collect::default();
    d.on_data(Timestamp::ZERO, 0, bytes, &mut out);
    d.finish(Timestamp::ZERO, &mut out);
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builds_the_rfc_hello_and_reads_it_back() {
        let spec = FrameSpec::default();
        assert_eq!(
            spec.to_bytes(),
            vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
        let seen = inspect(&spec.to_bytes(), true, false);
        assert_eq!(seen.messages[0].payload, b"Hello");
        assert!(seen.findings.is_empty());
        assert_eq!(as_byte_array(&[0x81, 0x05], true), "[0x81, 0x05]");
        assert_eq!(as_byte_array(&[0x81, 0x05], false), "{ 0x81, 0x05 }");
    }

    #[test]
    fn invalid_combinations_are_findings_from_the_real_decoder() {
        let ping = FrameSpec {
            fin: false,
            opcode: 9,
            payload: vec![0; 130],
            ..FrameSpec::default()
        };
        let kinds: Vec<&str> = inspect(&ping.to_bytes(), true, false)
            .findings
            .iter()
            .map(|(k, _)| k.slug())
            .collect();
        assert_eq!(kinds, vec!["control-too-long", "fragmented-control"]);
        let reserved = FrameSpec {
            opcode: 3,
            rsv2: true,
            mask: None,
            length_form: LengthForm::Force16,
            ..FrameSpec::default()
        };
        let kinds: Vec<&str> = inspect(&reserved.to_bytes(), true, false)
            .findings
            .iter()
            .map(|(k, _)| k.slug())
            .collect();
        assert_eq!(
            kinds,
            vec![
                "unmasked-client-frame",
                "reserved-opcode",
                "non-minimal-length",
                "rsv-without-extension"
            ]
        );
    }

    #[test]
    fn hex_is_parsed_leniently_and_errors_say_where() {
        assert_eq!(
            parse_hex("81 85\n0x37,0xfa:21 3D"),
            Ok(vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d])
        );
        assert!(parse_hex("818").is_err());
        assert_eq!(parse_hex("zz"), Err("'zz' at digit 0 is not hex".to_owned()));
    }

    proptest! {
        #[test]
        fn built_frames_decode_back_to_what_was_built(
            fin in any::<bool>(), opcode in prop_oneof![Just(1u8), Just(2u8)],
            key in proptest::option::of(any::<[u8; 4]>()),
            form in prop_oneof![Just(LengthForm::Minimal), Just(LengthForm::Force16), Just(LengthForm::Force64)],
            payload in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let spec = FrameSpec { fin, rsv1: false, rsv2: false, rsv3: false, opcode, mask: key, length_form: form, payload: payload.clone() };
            let seen = inspect(&spec.to_bytes(), true, false);
            prop_assert_eq!(seen.frames.len(), 1);
            let (h, offset) = seen.frames[0];
            prop_assert_eq!(offset, 0);
            prop_assert_eq!(h, spec.header());
            if fin {
                prop_assert_eq!(&seen.messages[0].payload, &payload);
            } else {
                prop_assert!(seen.messages.is_empty());
            }
        }
    }
}
