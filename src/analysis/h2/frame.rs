//! HTTP/2 frames (RFC 9113 §4-6) of one direction: the connection preface, frame headers,
//! padding and priority fields, and header blocks joined across CONTINUATION frames.

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const FRAME_HEADER_BYTES: usize = 9;
/// Largest frame payload held whole. Frames may be up to 2^24 - 1 bytes when a peer allows
/// it; DATA frames are passed on in pieces and never held, other frames above this are skipped
/// with an error (they carry nothing framescope needs to be that large).
pub const MAX_HELD_FRAME_BYTES: usize = 1 << 20;
/// Largest header block joined from HEADERS and CONTINUATION frames; past it the block is a
/// CONTINUATION flood and is dropped.
pub const MAX_HEADER_BLOCK_BYTES: usize = 256 * 1024;

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const PRIORITY: u8 = 2;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PUSH_PROMISE: u8 = 5;
pub const PING: u8 = 6;
pub const GOAWAY: u8 = 7;
pub const WINDOW_UPDATE: u8 = 8;
pub const CONTINUATION: u8 = 9;

pub const FLAG_END_STREAM: u8 = 0x1;
pub const FLAG_ACK: u8 = 0x1;
pub const FLAG_END_HEADERS: u8 = 0x4;
pub const FLAG_PADDED: u8 = 0x8;
pub const FLAG_PRIORITY: u8 = 0x20;

/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream_id: u32,
}

impl FrameHeader {
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        match bytes {
            [l0, l1, l2, kind, flags, s0, s1, s2, s3, ..] => Some(FrameHeader {
                len: u32::from_be_bytes([0, *l0, *l1, *l2]),
                kind: *kind,
                flags: *flags,
                stream_id: u32::from_be_bytes([*s0, *s1, *s2, *s3]) & 0x7fff_ffff,
            }),
            _ => None,
        }
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The payload of a HEADERS or PUSH_PROMISE or DATA frame without padding and priority
/// fields, or `None` when the padding is longer than the frame (a PROTOCOL_ERROR).
pub fn unpadded<'a>(header: &FrameHeader, payload: &'a [u8]) -> Option<&'a [u8]> {
    let mut body = payload;
    let mut pad = 0usize;
    if header.has(FLAG_PADDED) && matches!(header.kind, DATA | HEADERS | PUSH_PROMISE) {
        let (&n, rest) = body.split_first()?;
        pad = usize::from(n);
        body = rest;
    }
    if header.kind == HEADERS && header.has(FLAG_PRIORITY) {
        body = body.get(5..)?;
    }
    if header.kind == PUSH_PROMISE {
        body = body.get(4..)?; // promised stream id
    }
    body.get(..body.len().checked_sub(pad)?)
}

/// (identifier, value) pairs of a SETTINGS frame.
pub fn settings(payload: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    payload.chunks_exact(6).map(|c| match c {
        [a, b, v0, v1, v2, v3] => (u16::from_be_bytes([*a, *b]), u32::from_be_bytes([*v0, *v1, *v2, *v3])),
        _ => (0, 0),
    })
}

/// What the frame reader found.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameEvent<'a> {
    /// A whole non-DATA frame.
    Frame { header: FrameHeader, payload: &'a [u8] },
    /// A piece of a DATA frame's payload (padding included; `unpadded` needs the whole
    /// frame, so padded DATA is passed on whole when it fits in `MAX_HELD_FRAME_BYTES`).
    Data {
        header: FrameHeader,
        piece: &'a [u8],
        frame_done: bool,
    },
    /// A frame too large to hold was skipped.
    Oversized { header: FrameHeader },
}

/// One direction's frame reader: bytes in (after the preface), frames out.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// A DATA frame being passed on in pieces, or a frame being skipped: (header, bytes left).
    streaming: Option<(FrameHeader, usize, bool)>,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    pub fn held_bytes(&self) -> usize {
        self.buf.len()
    }

    /// `len` bytes of the stream were not captured. When they lie inside the payload of the
    /// frame being passed on in pieces (a DATA frame, or a frame being skipped), the frame
    /// boundaries are still known: returns that frame's header, whether it was being
    /// skipped, and whether the loss reached its end. `None` when a boundary may be lost
    /// (the reader is between frames, or holding a frame it passes on whole).
    pub fn lose(&mut self, len: u64) -> Option<(FrameHeader, bool, bool)> {
        let (header, left, skip) = self.streaming.as_mut()?;
        if !self.buf.is_empty() || len > *left as u64 {
            return None;
        }
        *left -= len as usize;
        let done = *left == 0;
        let lost = (*header, *skip, done);
        if done {
            self.streaming = None;
        }
        Some(lost)
    }

    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(FrameEvent<'_>)) {
        loop {
            if let Some((header, left, skip)) = &mut self.streaming {
                let take = (*left).min(bytes.len());
                let (piece, rest) = bytes.split_at(take);
                let take = piece.len();
                *left -= take;
                let done = *left == 0;
                if !*skip && (take > 0 || done) {
                    out(FrameEvent::Data {
                        header: *header,
                        piece,
                        frame_done: done,
                    });
                }
                bytes = rest;
                if !done {
                    return;
                }
                self.streaming = None;
            }
            // Complete the header and payload of a frame, from the buffer or in place.
            if bytes.is_empty() && self.buf.is_empty() {
                return;
            }
            let need_header = FRAME_HEADER_BYTES.saturating_sub(self.buf.len());
            if !self.buf.is_empty() || bytes.len() < FRAME_HEADER_BYTES {
                let (head, rest) = bytes.split_at(need_header.min(bytes.len()));
                self.buf.extend_from_slice(head);
                bytes = rest;
                if self.buf.len() < FRAME_HEADER_BYTES {
                    return;
                }
            }
            let from_buf = !self.buf.is_empty();
            let parsed = if from_buf {
                FrameHeader::parse(&self.buf)
            } else {
                FrameHeader::parse(bytes)
            };
            let Some(header) = parsed else { return };
            if !from_buf {
                bytes = bytes.get(FRAME_HEADER_BYTES..).unwrap_or(&[]);
            }
            let len = header.len as usize;
            let padded_data = header.kind == DATA && header.has(FLAG_PADDED) && len <= MAX_HELD_FRAME_BYTES;
            if (header.kind == DATA && !padded_data) || len > MAX_HELD_FRAME_BYTES {
                let skip = header.kind != DATA;
                if skip {
                    out(FrameEvent::Oversized { header });
                }
                self.buf.clear();
                self.streaming = Some((header, len, skip));
                continue;
            }
            let have = self.buf.len().saturating_sub(FRAME_HEADER_BYTES);
            if !from_buf && bytes.len() >= len {
                let (payload, rest) = bytes.split_at(len);
                emit(header, payload, out);
                bytes = rest;
                continue;
            }
            if !from_buf {
                self.buf.extend_from_slice(&header_bytes(&header));
            }
            let (part, rest) = bytes.split_at(len.saturating_sub(have).min(bytes.len()));
            self.buf.extend_from_slice(part);
            bytes = rest;
            if self.buf.len() < FRAME_HEADER_BYTES + len {
                return;
            }
            let frame = core::mem::take(&mut self.buf);
            emit(header, frame.get(FRAME_HEADER_BYTES..).unwrap_or(&[]), out);
            self.buf = frame;
            self.buf.clear();
        }
    }
}

fn header_bytes(h: &FrameHeader) -> [u8; 9] {
    let l = h.len.to_be_bytes();
    let s = h.stream_id.to_be_bytes();
    [l[1], l[2], l[3], h.kind, h.flags, s[0], s[1], s[2], s[3]]
}

fn emit(header: FrameHeader, payload: &[u8], out: &mut impl FnMut(FrameEvent<'_>)) {
    if header.kind == DATA {
        out(FrameEvent::Data {
            header,
            piece: payload,
            frame_done: true,
        });
    } else {
        out(FrameEvent::Frame { header, payload });
    }
}

/// Joins a header block from HEADERS (or PUSH_PROMISE) and CONTINUATION frames.
#[derive(Debug, Default)]
pub struct HeaderBlock {
    /// The stream and first frame of the block in progress.
    open: Option<FrameHeader>,
    bytes: Vec<u8>,
    flooded: bool,
}

/// What a frame did to the header block in progress.
#[derive(Debug, PartialEq, Eq)]
pub enum BlockOutcome<'a> {
    /// Not a header frame, or the block continues.
    Pending,
    /// A whole block: the first frame's header (for END_STREAM) and the block.
    Complete { first: FrameHeader, block: &'a [u8] },
    /// The block passed `MAX_HEADER_BLOCK_BYTES` (a CONTINUATION flood) or broke the rules
    /// (padding, a CONTINUATION without a block, another frame inside a block).
    Broken(&'static str),
}

impl HeaderBlock {
    pub fn push(&mut self, header: &FrameHeader, payload: &[u8]) -> BlockOutcome<'_> {
        match header.kind {
            HEADERS | PUSH_PROMISE => {
                if self.open.is_some() {
                    self.reset();
                    return BlockOutcome::Broken("a new header block started inside another");
                }
                let Some(fragment) = unpadded(header, payload) else {
                    return BlockOutcome::Broken("padding longer than the frame");
                };
                self.open = Some(*header);
                self.bytes.clear();
                self.append(header, fragment)
            }
            CONTINUATION => match self.open {
                Some(first) if first.stream_id == header.stream_id => self.append(header, payload),
                _ => {
                    self.reset();
                    BlockOutcome::Broken("CONTINUATION without a header block in progress")
                }
            },
            _ if self.open.is_some() => {
                self.reset();
                BlockOutcome::Broken("another frame inside a header block")
            }
            _ => BlockOutcome::Pending,
        }
    }

    fn append(&mut self, header: &FrameHeader, fragment: &[u8]) -> BlockOutcome<'_> {
        if self.flooded || self.bytes.len() + fragment.len() > MAX_HEADER_BLOCK_BYTES {
            self.flooded = true;
            if header.has(FLAG_END_HEADERS) {
                self.reset();
            }
            return BlockOutcome::Broken("header block over 256 KiB (CONTINUATION flood)");
        }
        self.bytes.extend_from_slice(fragment);
        if !header.has(FLAG_END_HEADERS) {
            return BlockOutcome::Pending;
        }
        let Some(first) = self.open.take() else {
            return BlockOutcome::Pending;
        };
        BlockOutcome::Complete {
            first,
            block: &self.bytes,
        }
    }

    fn reset(&mut self) {
        self.open = None;
        self.bytes.clear();
        self.flooded = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = header_bytes(&FrameHeader {
            len: payload.len() as u32,
            kind,
            flags,
            stream_id: stream,
        })
        .to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn frames_split_anywhere_come_out_whole_and_data_in_pieces() {
        let mut stream = frame(SETTINGS, 0, 0, &[0, 8, 0, 0, 0, 1]);
        stream.extend(frame(
            HEADERS,
            FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY,
            1,
            &[2, 0, 0, 0, 0, 16, 0x82, 0, 0],
        ));
        stream.extend(frame(DATA, 0, 1, b"hello world"));
        for cut in 1..stream.len() {
            let mut reader = FrameReader::new();
            let mut seen = Vec::new();
            let mut data = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                reader.push(part, &mut |ev| match ev {
                    FrameEvent::Frame { header, payload } => seen.push((header.kind, payload.to_vec())),
                    FrameEvent::Data { piece, .. } => data.extend_from_slice(piece),
                    FrameEvent::Oversized { .. } => panic!("oversized"),
                });
            }
            assert_eq!(seen.len(), 2, "cut {cut}");
            let (h, p) = (&seen[1].0, &seen[1].1);
            let header = FrameHeader {
                len: p.len() as u32,
                kind: *h,
                flags: FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY,
                stream_id: 1,
            };
            assert_eq!(unpadded(&header, p), Some(&[0x82][..]));
            assert_eq!(
                settings(&seen[0].1).collect::<Vec<_>>(),
                [(SETTINGS_ENABLE_CONNECT_PROTOCOL, 1)]
            );
            assert_eq!(data, b"hello world");
        }
    }

    #[test]
    fn a_continuation_flood_is_cut_at_the_cap() {
        let mut block = HeaderBlock::default();
        let first = FrameHeader {
            len: 0,
            kind: HEADERS,
            flags: 0,
            stream_id: 3,
        };
        assert_eq!(block.push(&first, &[0x82]), BlockOutcome::Pending);
        let cont = FrameHeader {
            kind: CONTINUATION,
            ..first
        };
        let mut broken = 0;
        for _ in 0..100 {
            if let BlockOutcome::Broken(_) = block.push(&cont, &[0u8; 16384]) {
                broken += 1;
            }
        }
        assert!(block.bytes.len() <= MAX_HEADER_BLOCK_BYTES);
        assert_eq!(broken, 100 - MAX_HEADER_BLOCK_BYTES / 16384 + 1);
        let end = FrameHeader {
            flags: FLAG_END_HEADERS,
            ..cont
        };
        assert!(matches!(block.push(&end, &[]), BlockOutcome::Broken(_)));
        // The next block on the connection starts clean.
        assert!(matches!(
            block.push(
                &FrameHeader {
                    flags: FLAG_END_HEADERS,
                    ..first
                },
                &[0x82]
            ),
            BlockOutcome::Complete { .. }
        ));
    }

    #[test]
    fn padding_longer_than_the_frame_is_refused() {
        let h = FrameHeader {
            len: 3,
            kind: HEADERS,
            flags: FLAG_PADDED,
            stream_id: 1,
        };
        assert_eq!(unpadded(&h, &[5, 0x82, 0x84]), None);
    }
}
