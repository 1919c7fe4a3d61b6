//! Lossless RFC 6455 frame header parsing: every bit on the wire is kept, valid or not.

/// A frame opcode. Reserved values are kept, never rejected (invariant: malformed traffic is data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
    /// 3-7 (reserved non-control) or 0xB-0xF (reserved control).
    Reserved(u8),
}

impl OpCode {
    pub fn from_u4(value: u8) -> OpCode {
        match value & 0x0f {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    pub fn as_u4(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xa,
            OpCode::Reserved(v) => v & 0x0f,
        }
    }

    /// Control opcodes have the high bit of the 4-bit opcode set (RFC 6455 §5.5).
    pub fn is_control(self) -> bool {
        self.as_u4() & 0x08 != 0
    }

    pub fn is_reserved(self) -> bool {
        matches!(self, OpCode::Reserved(_))
    }

    /// The name used in JSON Lines: `text`, `binary`, …, `reserved-N`.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            OpCode::Continuation => "continuation".into(),
            OpCode::Text => "text".into(),
            OpCode::Binary => "binary".into(),
            OpCode::Close => "close".into(),
            OpCode::Ping => "ping".into(),
            OpCode::Pong => "pong".into(),
            OpCode::Reserved(v) => format!("reserved-{v}").into(),
        }
    }
}

/// How the payload length was encoded on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthEncoding {
    /// 7-bit length in the second byte (0-125).
    Short,
    /// 126 followed by a 16-bit length.
    Extended16,
    /// 127 followed by a 64-bit length.
    Extended64,
}

/// Every field of a frame header exactly as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
    pub length_encoding: LengthEncoding,
    /// Header bytes on the wire: 2 + extended length + masking key (2..=14).
    pub header_len: u8,
}

/// Longest possible frame header: 2 + 8 (64-bit length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

impl FrameHeader {
    /// Parses a header from the start of `bytes`.
    ///
    /// Returns `None` when more bytes are needed; consumes nothing then. Every bit pattern
    /// is a header: validity is judged by [`FrameHeader::violations`], not here.
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let (&b0, rest) = bytes.split_first()?;
        let (&b1, rest) = rest.split_first()?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        let (payload_len, length_encoding, ext_len) = match len7 {
            126 => {
                let ext: [u8; 2] = rest.get(..2)?.try_into().ok()?;
                (u64::from(u16::from_be_bytes(ext)), LengthEncoding::Extended16, 2)
            }
            127 => {
                let ext: [u8; 8] = rest.get(..8)?.try_into().ok()?;
                (u64::from_be_bytes(ext), LengthEncoding::Extended64, 8)
            }
            short => (u64::from(short), LengthEncoding::Short, 0),
        };
        let mask = if masked {
            let key: [u8; 4] = rest.get(ext_len..ext_len + 4)?.try_into().ok()?;
            Some(key)
        } else {
            None
        };
        Some(FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode: OpCode::from_u4(b0),
            mask,
            payload_len,
            length_encoding,
            header_len: (2 + ext_len + if masked { 4 } else { 0 }) as u8,
        })
    }

    /// The header's bytes, exactly as they were (or would be) on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HEADER_LEN);
        let b0 = (u8::from(self.fin) << 7)
            | (u8::from(self.rsv1) << 6)
            | (u8::from(self.rsv2) << 5)
            | (u8::from(self.rsv3) << 4)
            | self.opcode.as_u4();
        out.push(b0);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match self.length_encoding {
            LengthEncoding::Short => out.push(mask_bit | (self.payload_len as u8 & 0x7f)),
            LengthEncoding::Extended16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(self.payload_len as u16).to_be_bytes());
            }
            LengthEncoding::Extended64 => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&self.payload_len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
        out
    }

    /// Bytes of the whole frame on the wire (saturating for absurd 64-bit lengths).
    pub fn wire_len(&self) -> u64 {
        u64::from(self.header_len).saturating_add(self.payload_len)
    }

    /// Builds the smallest header for the given fields.
    pub fn new(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
        let (length_encoding, ext) = if payload_len <= 125 {
            (LengthEncoding::Short, 0)
        } else if payload_len <= u64::from(u16::MAX) {
            (LengthEncoding::Extended16, 2)
        } else {
            (LengthEncoding::Extended64, 8)
        };
        FrameHeader {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask,
            payload_len,
            length_encoding,
            header_len: 2 + ext + if mask.is_some() { 4 } else { 0 },
        }
    }

    /// Rules of RFC 6455 that this header alone breaks (context-free checks only).
    pub fn violations(&self) -> Vec<HeaderViolation> {
        let mut out = Vec::new();
        if self.opcode.is_reserved() {
            out.push(HeaderViolation::ReservedOpcode);
        }
        if self.opcode.is_control() {
            if self.payload_len > 125 {
                out.push(HeaderViolation::ControlTooLong);
            }
            if !self.fin {
                out.push(HeaderViolation::FragmentedControl);
            }
        }
        match self.length_encoding {
            LengthEncoding::Extended16 if self.payload_len <= 125 => out.push(HeaderViolation::NonMinimalLength),
            LengthEncoding::Extended64 if self.payload_len >> 63 != 0 => out.push(HeaderViolation::LengthMsbSet),
            LengthEncoding::Extended64 if self.payload_len <= u64::from(u16::MAX) => {
                out.push(HeaderViolation::NonMinimalLength)
            }
            _ => {}
        }
        out
    }
}

/// A context-free rule a header breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderViolation {
    ReservedOpcode,
    ControlTooLong,
    FragmentedControl,
    NonMinimalLength,
    LengthMsbSet,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_examples() {
        // RFC 6455 §5.7: a single-frame masked text message "Hello".
        let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let h = FrameHeader::parse(&bytes).expect("complete header");
        assert!(h.fin);
        assert_eq!(h.opcode, OpCode::Text);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.payload_len, 5);
        assert_eq!(h.header_len, 6);
        // 256 bytes binary in a single unmasked frame uses the 16-bit length.
        let h = FrameHeader::parse(&[0x82, 0x7e, 0x01, 0x00]).expect("complete");
        assert_eq!(h.payload_len, 256);
        assert_eq!(h.length_encoding, LengthEncoding::Extended16);
        // 64 KiB uses the 64-bit length.
        let h = FrameHeader::parse(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]).expect("complete");
        assert_eq!(h.payload_len, 65536);
        assert_eq!(h.header_len, 10);
        assert!(h.violations().is_empty());
    }

    #[test]
    fn returns_none_until_the_header_is_complete() {
        let full = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(FrameHeader::parse(&full[..cut]), None, "cut at {cut}");
        }
        let h = FrameHeader::parse(&full).expect("complete");
        assert_eq!(h.header_len, 14);
        assert_eq!(h.mask, Some([1, 2, 3, 4]));
    }

    #[test]
    fn keeps_reserved_bits_and_opcodes_and_reports_violations() {
        let h = FrameHeader::parse(&[0x73, 0x7e, 0x00, 0x05]).expect("complete");
        assert!(!h.fin && h.rsv1 && h.rsv2 && h.rsv3);
        assert_eq!(h.opcode, OpCode::Reserved(3));
        assert_eq!(h.opcode.name(), "reserved-3");
        assert_eq!(
            h.violations(),
            vec![HeaderViolation::ReservedOpcode, HeaderViolation::NonMinimalLength]
        );
        let ping = FrameHeader::parse(&[0x09, 0x7e, 0x00, 0x80]).expect("complete");
        assert_eq!(
            ping.violations(),
            vec![HeaderViolation::ControlTooLong, HeaderViolation::FragmentedControl]
        );
        let huge = FrameHeader::parse(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]).expect("complete");
        assert_eq!(huge.payload_len, 1 << 63);
        assert_eq!(huge.violations(), vec![HeaderViolation::LengthMsbSet]);
    }

    #[test]
    fn to_bytes_round_trips_every_header_form() {
        for bytes in [
            vec![0x81, 0x05],
            vec![0x7f, 0xfe, 0x00, 0x10, 9, 8, 7, 6],
            vec![0x80, 0x7f, 0, 0, 0, 0, 0, 0, 0, 3],
        ] {
            let h = FrameHeader::parse(&bytes).expect("complete");
            assert_eq!(h.to_bytes(), bytes);
        }
    }
}
