//! A frame header as teaching material: every field of RFC 6455 §5.2 with its bit range,
//! value, meaning, and the rule it breaks, if any.

use crate::analysis::ws::frame::{FrameHeader, LengthEncoding, OpCode};

/// One field of the frame layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    /// First bit (0 = the most significant bit of the first byte) and number of bits.
    pub bit_start: usize,
    pub bit_len: usize,
    /// The value as the field holds it, e.g. `1`, `0x1`, `125`, `37 fa 21 3d`.
    pub value: String,
    /// What the value means here.
    pub meaning: String,
    /// The RFC rule this field breaks, if it does.
    pub violation: Option<&'static str>,
}

impl Field {
    /// Bytes of the frame the field occupies (first, last inclusive).
    pub fn byte_range(&self) -> (usize, usize) {
        (self.bit_start / 8, (self.bit_start + self.bit_len.max(1) - 1) / 8)
    }

    pub fn contains_byte(&self, byte: usize) -> bool {
        let (first, last) = self.byte_range();
        (first..=last).contains(&byte)
    }
}

fn opcode_meaning(op: OpCode) -> String {
    match op {
        OpCode::Continuation => "continuation of a fragmented message".into(),
        OpCode::Text => "text (UTF-8) message".into(),
        OpCode::Binary => "binary message".into(),
        OpCode::Close => "close (control)".into(),
        OpCode::Ping => "ping (control)".into(),
        OpCode::Pong => "pong (control)".into(),
        OpCode::Reserved(v) if v < 8 => format!("reserved non-control opcode {v}"),
        OpCode::Reserved(v) => format!("reserved control opcode 0x{v:x}"),
    }
}

/// The fields of `header` followed by the payload (of `payload_len` bytes).
pub fn fields(header: &FrameHeader, negotiated_rsv1: bool) -> Vec<Field> {
    let bit = |b: bool| if b { "1".to_owned() } else { "0".to_owned() };
    let mut out = vec![
        Field {
            name: "FIN",
            bit_start: 0,
            bit_len: 1,
            value: bit(header.fin),
            meaning: if header.fin {
                "final frame of the message".into()
            } else {
                "more frames follow".into()
            },
            violation: (!header.fin && header.opcode.is_control())
                .then_some("§5.5: control frames MUST NOT be fragmented"),
        },
        Field {
            name: "RSV1",
            bit_start: 1,
            bit_len: 1,
            value: bit(header.rsv1),
            meaning: if header.rsv1 {
                "permessage-deflate: this message is compressed".into()
            } else {
                "not set".into()
            },
            violation: (header.rsv1 && (!negotiated_rsv1 || header.opcode.is_control()))
                .then_some("§5.2: RSV bits MUST be 0 unless an extension defines them (RFC 7692: data frames only)"),
        },
        Field {
            name: "RSV2",
            bit_start: 2,
            bit_len: 1,
            value: bit(header.rsv2),
            meaning: "reserved".into(),
            violation: header
                .rsv2
                .then_some("§5.2: RSV bits MUST be 0 unless an extension defines them"),
        },
        Field {
            name: "RSV3",
            bit_start: 3,
            bit_len: 1,
            value: bit(header.rsv3),
            meaning: "reserved".into(),
            violation: header
                .rsv3
                .then_some("§5.2: RSV bits MUST be 0 unless an extension defines them"),
        },
        Field {
            name: "opcode",
            bit_start: 4,
            bit_len: 4,
            value: format!("0x{:x}", header.opcode.as_u4()),
            meaning: opcode_meaning(header.opcode),
            violation: header
                .opcode
                .is_reserved()
                .then_some("§5.2: opcodes 3-7 and 0xB-0xF are reserved"),
        },
        Field {
            name: "MASK",
            bit_start: 8,
            bit_len: 1,
            value: bit(header.mask.is_some()),
            meaning: if header.mask.is_some() {
                "payload is masked (client to server)".into()
            } else {
                "payload is not masked (server to client)".into()
            },
            violation: None,
        },
    ];
    let len7 = match header.length_encoding {
        LengthEncoding::Short => header.payload_len as u8,
        LengthEncoding::Extended16 => 126,
        LengthEncoding::Extended64 => 127,
    };
    let control_too_long = header.opcode.is_control() && header.payload_len > 125;
    out.push(Field {
        name: "payload len",
        bit_start: 9,
        bit_len: 7,
        value: len7.to_string(),
        meaning: match len7 {
            126 => "the length follows in 16 bits".into(),
            127 => "the length follows in 64 bits".into(),
            1 => "1 byte of payload".into(),
            n => format!("{n} bytes of payload"),
        },
        violation: (control_too_long && header.length_encoding == LengthEncoding::Short)
            .then_some("§5.5: control frames carry at most 125 bytes"),
    });
    let mut next_bit = 16;
    match header.length_encoding {
        LengthEncoding::Short => {}
        LengthEncoding::Extended16 => {
            out.push(Field {
                name: "extended payload length (16 bits)",
                bit_start: 16,
                bit_len: 16,
                value: header.payload_len.to_string(),
                meaning: format!("{} bytes of payload", header.payload_len),
                violation: if control_too_long {
                    Some("§5.5: control frames carry at most 125 bytes")
                } else {
                    (header.payload_len <= 125)
                        .then_some("§5.2: the minimal number of bytes MUST be used for the length")
                },
            });
            next_bit = 32;
        }
        LengthEncoding::Extended64 => {
            out.push(Field {
                name: "extended payload length (64 bits)",
                bit_start: 16,
                bit_len: 64,
                value: header.payload_len.to_string(),
                meaning: format!("{} bytes of payload", header.payload_len),
                violation: if header.payload_len >> 63 != 0 {
                    Some("§5.2: the most significant bit MUST be 0")
                } else if control_too_long {
                    Some("§5.5: control frames carry at most 125 bytes")
                } else {
                    (header.payload_len <= u64::from(u16::MAX))
                        .then_some("§5.2: the minimal number of bytes MUST be used for the length")
                },
            });
            next_bit = 80;
        }
    }
    if let Some(key) = header.mask {
        out.push(Field {
            name: "masking key",
            bit_start: next_bit,
            bit_len: 32,
            value: key.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "),
            meaning: "payload byte i is XORed with key byte i mod 4".into(),
            violation: None,
        });
        next_bit += 32;
    }
    out.push(Field {
        name: "payload",
        bit_start: next_bit,
        bit_len: (header.payload_len.min(1 << 20) as usize) * 8,
        value: if header.payload_len == 1 {
            "1 byte".to_owned()
        } else {
            format!("{} bytes", header.payload_len)
        },
        meaning: if header.mask.is_some() {
            "masked application data".into()
        } else {
            "application data".into()
        },
        violation: None,
    });
    out
}

/// One frame's payload as it was on the wire, rebuilt from the message's bytes as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WirePayload {
    /// Where the frame's payload starts in the message's bytes as sent.
    pub offset: u64,
    /// The payload length the header declares.
    pub len: u64,
    /// The first bytes of the payload as they were on the wire (masked again with the
    /// frame's key), at most what was asked for and what was kept.
    pub bytes: Vec<u8>,
    /// How many of the payload's bytes were kept (less than `len` when the message's bytes
    /// were cut to a prefix).
    pub kept: u64,
}

/// Each frame's payload on the wire, from the message's bytes as sent (`sent`: the frames'
/// payloads unmasked and joined, before any inflating; possibly only a prefix of them).
/// Masking is an XOR with the frame's key restarting at each frame's first payload byte, so
/// masking the kept bytes again gives back exactly the bytes that were on the wire. At most
/// `max_bytes` bytes per frame are rebuilt; memory is not spent on anything kept already.
pub fn wire_payloads(headers: &[FrameHeader], sent: &[u8], max_bytes: usize) -> Vec<WirePayload> {
    let mut offset = 0u64;
    headers
        .iter()
        .map(|h| {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(sent.len());
            let kept = (sent.len() - start).min(usize::try_from(h.payload_len).unwrap_or(usize::MAX));
            let take = kept.min(max_bytes);
            let mut bytes = sent.get(start..start + take).unwrap_or(&[]).to_vec();
            if let Some(key) = h.mask {
                crate::analysis::ws::mask::apply_mask(&mut bytes, key, 0);
            }
            let out = WirePayload {
                offset,
                len: h.payload_len,
                bytes,
                kept: kept as u64,
            };
            offset = offset.saturating_add(h.payload_len);
            out
        })
        .collect()
}

/// One row of the unmasking walkthrough.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmaskStep {
    pub index: usize,
    pub masked: u8,
    pub key_index: usize,
    pub key: u8,
    pub plain: u8,
}

/// The first `count` unmasking steps of a masked payload.
pub fn unmask_steps(masked: &[u8], key: [u8; 4], count: usize) -> Vec<UnmaskStep> {
    masked
        .iter()
        .take(count)
        .enumerate()
        .map(|(i, &m)| UnmaskStep {
            index: i,
            masked: m,
            key_index: i % 4,
            key: key[i % 4],
            plain: m ^ key[i % 4],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_the_rfc_masked_hello_frame() {
        let h = FrameHeader::parse(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]).expect("header");
        let f = fields(&h, false);
        let names: Vec<&str> = f.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            vec![
                "FIN",
                "RSV1",
                "RSV2",
                "RSV3",
                "opcode",
                "MASK",
                "payload len",
                "masking key",
                "payload"
            ]
        );
        assert_eq!(f[4].value, "0x1");
        assert_eq!(f[4].meaning, "text (UTF-8) message");
        assert_eq!(f[6].value, "5");
        assert_eq!((f[7].bit_start, f[7].value.as_str()), (16, "37 fa 21 3d"));
        assert_eq!(f[7].byte_range(), (2, 5));
        assert_eq!(f[8].bit_start, 48);
        assert!(f.iter().all(|f| f.violation.is_none()));
        let steps = unmask_steps(&[0x7f, 0x9f, 0x4d, 0x51, 0x58], [0x37, 0xfa, 0x21, 0x3d], 16);
        let text: Vec<u8> = steps.iter().map(|s| s.plain).collect();
        assert_eq!(text, b"Hello");
        assert_eq!(steps[4].key_index, 0);
    }

    #[test]
    fn rebuilds_each_fragments_wire_bytes_from_the_joined_payload() {
        // "Hello" in two masked fragments with different keys, then an unmasked one.
        let keys = [[0x37, 0xfa, 0x21, 0x3d], [1, 2, 3, 4]];
        let sent = b"Hello, world";
        let h1 = FrameHeader::parse(&[0x01, 0x85, 0x37, 0xfa, 0x21, 0x3d]).expect("first");
        let h2 = FrameHeader::parse(&[0x00, 0x82, 1, 2, 3, 4]).expect("second");
        let h3 = FrameHeader::parse(&[0x80, 0x05]).expect("last");
        let got = wire_payloads(&[h1, h2, h3], sent, 64);
        // RFC 6455 §5.7's masked "Hello".
        assert_eq!(got[0].bytes, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        assert_eq!((got[1].offset, got[1].len, got[1].kept), (5, 2, 2));
        assert_eq!(got[1].bytes, [b',' ^ keys[1][0], b' ' ^ keys[1][1]]);
        assert_eq!((got[2].offset, got[2].bytes.as_slice()), (7, &b"world"[..]));
        assert_eq!(keys[0], h1.mask.expect("masked"));
        // A prefix kept (the arena's budget): the second frame is cut, the third is empty.
        let got = wire_payloads(&[h1, h2, h3], &sent[..6], 64);
        assert_eq!((got[1].kept, got[1].bytes.len()), (1, 1));
        assert_eq!((got[2].kept, got[2].bytes.len()), (0, 0));
        // At most `max_bytes` per frame.
        assert_eq!(wire_payloads(&[h1], sent, 3)[0].bytes, [0x7f, 0x9f, 0x4d]);
    }

    #[test]
    fn marks_the_rules_a_header_breaks() {
        // A fragmented ping of 300 bytes written with a 64-bit length, RSV2 set.
        let h = FrameHeader::parse(&[0x29, 0x7f, 0, 0, 0, 0, 0, 0, 1, 0x2c]).expect("header");
        let f = fields(&h, false);
        let broken: Vec<(&str, &str)> = f.iter().filter_map(|f| f.violation.map(|v| (f.name, v))).collect();
        assert_eq!(broken.len(), 3, "{broken:?}");
        assert_eq!(broken[0].0, "FIN");
        assert_eq!(broken[1].0, "RSV2");
        assert_eq!(
            broken[2],
            (
                "extended payload length (64 bits)",
                "§5.5: control frames carry at most 125 bytes"
            )
        );
    }
}
