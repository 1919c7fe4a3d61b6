//! Finding a frame boundary in a byte stream that was picked up mid-connection.
//!
//! Senders usually write whole frames, so TCP segment starts are good candidates. A
//! candidate is accepted when the frames parsed from it are all plausible (known opcode,
//! no RSV2/RSV3, control frames short and final, one masking style) and end exactly on a
//! segment boundary. Random bytes pass that test with a probability well under 1e-3 per
//! candidate; TLS records (0x14-0x17) fail it at the first byte.

use crate::analysis::ws::close::close_code_allowed_on_wire;
use crate::analysis::ws::frame::{FrameHeader, OpCode};
use crate::analysis::ws::mask::extend_unmasked;

/// A boundary found in a search buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// Offset in the buffer where the first frame header starts.
    pub start: usize,
    /// Whether the frames found are masked (so this side is the client).
    pub masked: bool,
    /// Complete frames that tiled the buffer from `start`.
    pub frames: usize,
}

/// Frames longer than this are not believed during detection.
const MAX_PLAUSIBLE_FRAME_BYTES: u64 = 64 << 20;

fn plausible_header(h: &FrameHeader, masked: bool) -> bool {
    !h.opcode.is_reserved()
        && !h.rsv2
        && !h.rsv3
        && h.mask.is_some() == masked
        && h.payload_len <= MAX_PLAUSIBLE_FRAME_BYTES
        && (!h.opcode.is_control() || (h.fin && h.payload_len <= 125 && !h.rsv1))
}

/// Checks a complete frame's payload: text must be UTF-8 (a prefix, for fragments), a close
/// payload must carry a code that may be sent.
fn plausible_payload(h: &FrameHeader, payload: &[u8]) -> bool {
    match h.opcode {
        OpCode::Text if !h.rsv1 => {
            let mut plain = Vec::with_capacity(payload.len());
            extend_unmasked(&mut plain, payload, h.mask, 0);
            match std::str::from_utf8(&plain) {
                Ok(_) => true,
                // A fragment may end inside a character.
                Err(e) => !h.fin && e.error_len().is_none(),
            }
        }
        OpCode::Close => {
            let mut plain = Vec::with_capacity(payload.len());
            extend_unmasked(&mut plain, payload, h.mask, 0);
            match plain.as_slice() {
                [] => true,
                [hi, lo, reason @ ..] => {
                    close_code_allowed_on_wire(u16::from_be_bytes([*hi, *lo])) && std::str::from_utf8(reason).is_ok()
                }
                [_] => false,
            }
        }
        _ => true,
    }
}

/// Frames that say something: zero-length data frames and (in strict mode) continuations
/// are what runs of zero bytes and other non-WebSocket data most often look like.
fn meaningful(h: &FrameHeader, strict: bool) -> bool {
    let empty_data = !h.opcode.is_control() && h.payload_len == 0;
    !(empty_data || (strict && h.opcode == OpCode::Continuation))
}

/// How much evidence a boundary needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Nothing is known about the flow: two meaningful frames, or one masked frame with a
    /// payload of two bytes or more.
    Strict,
    /// The flow is known to be WebSocket (the other direction, or after a gap): one
    /// meaningful frame is enough.
    Lenient,
}

/// Looks for a boundary at each segment start (offsets into `buf`, ascending).
///
/// `segment_starts` must include 0 if the buffer starts on a segment start. The end of the
/// buffer counts as a segment boundary.
pub fn find_boundary(buf: &[u8], segment_starts: &[usize], evidence: Evidence) -> Option<Boundary> {
    segment_starts.iter().filter(|&&s| s < buf.len()).find_map(|&start| {
        match try_candidate(buf, start, segment_starts, evidence) {
            Candidate::Found(b) => Some(b),
            _ => None,
        }
    })
}

/// True if some candidate start could still become a boundary with more bytes.
pub fn any_candidate_viable(buf: &[u8], segment_starts: &[usize], evidence: Evidence) -> bool {
    segment_starts.iter().filter(|&&s| s < buf.len()).any(|&start| {
        !matches!(
            try_candidate(buf, start, segment_starts, evidence),
            Candidate::Impossible
        )
    })
}

enum Candidate {
    Found(Boundary),
    NeedMore,
    Impossible,
}

fn try_candidate(buf: &[u8], start: usize, segment_starts: &[usize], evidence: Evidence) -> Candidate {
    let strict = evidence == Evidence::Strict;
    let Some(first) = buf.get(start..).and_then(FrameHeader::parse) else {
        return Candidate::NeedMore;
    };
    let masked = first.mask.is_some();
    let mut pos = start;
    let mut frames = 0usize;
    let mut meaningful_frames = 0usize;
    let mut last_good_end = None;
    while let Some(h) = buf.get(pos..).and_then(FrameHeader::parse) {
        if !plausible_header(&h, masked) {
            return Candidate::Impossible;
        }
        let Some(end) = (pos as u64).checked_add(h.wire_len()) else {
            return Candidate::Impossible;
        };
        if end > buf.len() as u64 {
            break;
        }
        let payload = buf.get(pos + usize::from(h.header_len)..end as usize).unwrap_or(&[]);
        if !plausible_payload(&h, payload) {
            return Candidate::Impossible;
        }
        pos = end as usize;
        frames += 1;
        if meaningful(&h, strict) {
            meaningful_frames += 1;
        }
        if pos == buf.len() || segment_starts.binary_search(&pos).is_ok() {
            last_good_end = Some((frames, meaningful_frames, h.payload_len));
        }
    }
    let Some((frames_at_boundary, meaningful_at_boundary, last_len)) = last_good_end else {
        return Candidate::NeedMore;
    };
    let enough = match evidence {
        Evidence::Strict => meaningful_at_boundary >= 2 || (meaningful_at_boundary == 1 && masked && last_len >= 2),
        Evidence::Lenient => meaningful_at_boundary >= 1,
    };
    if !enough {
        return Candidate::NeedMore;
    }
    Candidate::Found(Boundary {
        start,
        masked,
        frames: frames_at_boundary,
    })
}

/// Bytes of one direction kept while looking for a boundary, with segment starts.
#[derive(Debug, Default)]
pub struct SearchBuffer {
    pub bytes: Vec<u8>,
    pub segment_starts: Vec<usize>,
    /// Stream offset of `bytes[0]`.
    pub base_offset: u64,
    /// Segments seen since the search began (also those dropped from the buffer).
    pub segments_seen: usize,
}

/// Bytes held while searching; beyond this the oldest half is dropped.
pub const MAX_SEARCH_BYTES: usize = 256 << 10;
const MAX_SEGMENT_STARTS: usize = 256;

impl SearchBuffer {
    pub fn starting_at(offset: u64) -> Self {
        SearchBuffer {
            base_offset: offset,
            ..Default::default()
        }
    }

    /// Adds one segment's bytes that start at stream `offset`.
    pub fn push(&mut self, offset: u64, data: &[u8]) {
        if offset != self.base_offset + self.bytes.len() as u64 {
            // Not contiguous (a gap): what was held cannot be joined to this.
            self.bytes.clear();
            self.segment_starts.clear();
            self.base_offset = offset;
        }
        if self.bytes.len() + data.len() > MAX_SEARCH_BYTES || self.segment_starts.len() >= MAX_SEGMENT_STARTS {
            self.drop_front_half();
        }
        self.segment_starts.push(self.bytes.len());
        self.segments_seen += 1;
        self.bytes
            .extend_from_slice(data.get(..MAX_SEARCH_BYTES).unwrap_or(data));
    }

    fn drop_front_half(&mut self) {
        let keep_from = self
            .segment_starts
            .get(self.segment_starts.len() / 2)
            .copied()
            .unwrap_or(self.bytes.len());
        let keep_from = if self.bytes.len() - keep_from > MAX_SEARCH_BYTES / 2 {
            self.bytes.len()
        } else {
            keep_from
        };
        self.bytes.drain(..keep_from);
        self.base_offset += keep_from as u64;
        self.segment_starts.retain(|&s| s >= keep_from);
        for s in &mut self.segment_starts {
            *s -= keep_from;
        }
    }

    pub fn find(&self, evidence: Evidence) -> Option<Boundary> {
        find_boundary(&self.bytes, &self.segment_starts, evidence)
    }

    pub fn any_viable(&self, evidence: Evidence) -> bool {
        any_candidate_viable(&self.bytes, &self.segment_starts, evidence)
    }

    pub fn clear_at(&mut self, offset: u64) {
        self.bytes.clear();
        self.segment_starts.clear();
        self.base_offset = offset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_frames_that_start_at_the_second_segment() {
        // Segment 1: the tail of an earlier frame's payload. Segment 2: two masked frames.
        let mut buf = b"tail of something".to_vec();
        let seg2 = buf.len();
        buf.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
        buf.extend_from_slice(&[0x89, 0x80, 9, 9, 9, 9]);
        let b = find_boundary(&buf, &[0, seg2], Evidence::Strict).expect("boundary");
        assert_eq!(
            b,
            Boundary {
                start: seg2,
                masked: true,
                frames: 2
            }
        );
    }

    #[test]
    fn rejects_tls_and_text_protocols() {
        let tls = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
        assert_eq!(find_boundary(&tls, &[0], Evidence::Lenient), None);
        let smtp = b"220 mail.example.com ESMTP\r\n";
        assert_eq!(find_boundary(smtp, &[0], Evidence::Lenient), None);
    }

    #[test]
    fn waits_while_a_large_frame_is_incomplete() {
        let mut buf = vec![0x82, 0x7e, 0x04, 0x00];
        buf.extend_from_slice(&[0u8; 500]);
        assert_eq!(find_boundary(&buf, &[0], Evidence::Lenient), None);
        buf.extend_from_slice(&[0u8; 524]);
        assert_eq!(find_boundary(&buf, &[0], Evidence::Lenient).map(|b| b.frames), Some(1));
        // One unmasked frame is not enough evidence on a flow nothing is known about.
        assert_eq!(find_boundary(&buf, &[0], Evidence::Strict), None);
    }

    #[test]
    fn zeros_and_bad_text_are_not_frames() {
        let zeros = [0u8; 64];
        let starts: Vec<usize> = (0..64).step_by(8).collect();
        assert_eq!(find_boundary(&zeros, &starts, Evidence::Strict), None);
        let bad_text = [0x81, 0x02, 0xff, 0xfe, 0x81, 0x02, 0xc3, 0x28];
        assert_eq!(find_boundary(&bad_text, &[0, 4], Evidence::Lenient), None);
        let bad_close = [0x88, 0x02, 0x03, 0xee, 0x88, 0x02, 0x03, 0xe8];
        assert_eq!(find_boundary(&bad_close, &[0], Evidence::Strict), None);
    }
}
