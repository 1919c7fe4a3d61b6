//! Finding a frame boundary in a byte stream that was picked up mid-connection.
//!
//! Every byte position is a candidate frame start: senders write whole frames, but a busy
//! sender's frames end and begin inside TCP segments, and a capture may start inside a
//! frame of megabytes. From each candidate the chain of frames it implies is followed as
//! bytes arrive; a chain dies at its first implausible frame (reserved opcode, RSV2/RSV3,
//! long or fragmented control frame, mixed masking, invalid UTF-8 text, unsendable close
//! code; inside a segment also a non-minimal length or a broken fragment sequence). A chain
//! is believed once its frames ended exactly on segment ends twice (a chain that starts on a
//! segment start counts that start as once): random bytes pass that with a probability
//! well under 1e-6 per candidate.
//!
//! The work is linear in the bytes searched. Chains that reach one header in the same state
//! have the same future, so the new bytes are swept in position order and such chains are
//! merged where they meet, before either goes on (each header is left by at most one chain
//! per state, 12 states). Chains waiting for the rest of a long frame are not looked at
//! again until it has arrived, and a text frame's UTF-8 check reads at most 256 bytes. Runs
//! of zeros (a 2-byte empty frame at every position, and a chain from every segment start)
//! were quadratic before the merge covered chains that start on segment starts.

use crate::analysis::ws::close::close_code_allowed_on_wire;
use crate::analysis::ws::frame::{FrameHeader, LengthEncoding, OpCode};
use crate::analysis::ws::mask::apply_mask;

/// A boundary found in a search buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// Offset in the buffer where the first frame header starts.
    pub start: usize,
    /// Whether the frames found are masked (so this side is the client).
    pub masked: bool,
    /// Complete frames from `start` up to the last segment end they reached.
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

/// Real senders encode lengths minimally; required of chains that start inside a segment,
/// where random bytes (runs of zeros above all) offer many more candidates.
fn minimal_length(h: &FrameHeader) -> bool {
    match h.length_encoding {
        LengthEncoding::Short => true,
        LengthEncoding::Extended16 => h.payload_len > 125,
        LengthEncoding::Extended64 => h.payload_len > u64::from(u16::MAX),
    }
}

/// Text payload bytes checked for UTF-8 per frame: enough to reject random bytes, and a bound
/// on the work one candidate costs (every byte position may be a long text frame's header).
const CHECKED_TEXT_BYTES: usize = 256;

/// Checks a complete frame's payload: text must be UTF-8 (its first `CHECKED_TEXT_BYTES`; a
/// prefix may end inside a character, as may a fragment), a close payload must carry a code
/// that may be sent.
fn plausible_payload(h: &FrameHeader, payload: &[u8]) -> bool {
    let checked = payload.get(..CHECKED_TEXT_BYTES).unwrap_or(payload);
    let mut scratch = [0u8; CHECKED_TEXT_BYTES];
    let Some(plain) = scratch.get_mut(..checked.len()) else {
        return false;
    };
    plain.copy_from_slice(checked);
    if let Some(key) = h.mask {
        apply_mask(plain, key, 0);
    }
    match h.opcode {
        OpCode::Text if !h.rsv1 => match std::str::from_utf8(plain) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && (!h.fin || checked.len() < payload.len()),
        },
        // Control payloads are at most 125 bytes: all of a close payload is checked.
        OpCode::Close => match &*plain {
            [] => true,
            [hi, lo, reason @ ..] => {
                close_code_allowed_on_wire(u16::from_be_bytes([*hi, *lo])) && std::str::from_utf8(reason).is_ok()
            }
            [_] => false,
        },
        _ => true,
    }
}

/// Frames that say something: zero-length data frames and (in strict mode) continuations
/// are what runs of zero bytes and other non-WebSocket data most often look like.
fn meaningful(h: &FrameHeader, strict: bool) -> bool {
    let empty_data = !h.opcode.is_control() && h.payload_len == 0;
    !(empty_data || (strict && h.opcode == OpCode::Continuation))
}

/// Frames whose payload was checked and passed (text that is UTF-8, a close with a valid
/// code): random bytes rarely pass, so a chain of such frames is more likely real than one of
/// binary, continuation or ping frames, whose payloads prove nothing.
fn verified(h: &FrameHeader) -> bool {
    h.payload_len >= 2 && (h.opcode == OpCode::Close || (h.opcode == OpCode::Text && !h.rsv1))
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

/// What a chain's frames showed up to the last segment end they reached.
#[derive(Clone, Copy, Debug, Default)]
struct AtEdge {
    frames: u32,
    /// Meaningful frames by the strict rule (continuations do not count).
    strict: u32,
    /// Meaningful frames by the lenient rule.
    lenient: u32,
    /// Payload length of the frame that ended there.
    last_len: u64,
}

/// The frames implied by one candidate start, followed as bytes arrive.
#[derive(Clone, Copy, Debug)]
struct Chain {
    start: usize,
    masked: bool,
    /// Started inside a segment: the stricter rules apply.
    inner: bool,
    /// Buffer offset of the next frame header.
    next: usize,
    /// Buffer length the chain needs before its next step (the rest of a header or frame).
    wait_for: usize,
    frames: u32,
    strict: u32,
    lenient: u32,
    /// Frames whose payload passed a check (see `verified`).
    verified: u32,
    /// Segment ends the chain's frames ended on (plus one for a start on a segment start).
    edges: u32,
    at_edge: Option<AtEdge>,
    /// A fragmented data message is open (`None` at the start: a continuation may come first).
    in_message: Option<bool>,
}

/// One step of a chain.
enum Step {
    /// Past one more frame, to a header inside the buffer.
    Moved,
    /// Needs the buffer to reach this length.
    Wait(usize),
    /// An implausible frame: not a boundary.
    Dead,
}

/// How many bytes the header that starts `rest` takes (2 while its length byte is missing).
fn header_needs(rest: &[u8]) -> usize {
    match rest.get(1) {
        None => 2,
        Some(b1) => {
            let ext = match b1 & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
        }
    }
}

impl Chain {
    fn new(start: usize, masked: bool, on_segment_start: bool) -> Chain {
        Chain {
            start,
            masked,
            inner: !on_segment_start,
            next: start,
            wait_for: start,
            frames: 0,
            strict: 0,
            lenient: 0,
            verified: 0,
            edges: u32::from(on_segment_start),
            at_edge: None,
            in_message: None,
        }
    }

    /// Fragment order (a continuation only inside a message, a new data message only
    /// outside), and the sequence state after `h`.
    fn sequence_after(&self, h: &FrameHeader) -> (bool, Option<bool>) {
        if h.opcode.is_control() {
            return (true, self.in_message);
        }
        let ok = match (h.opcode, self.in_message) {
            (OpCode::Continuation, Some(open)) => open,
            (_, Some(open)) => !open,
            (_, None) => true,
        };
        (ok, Some(!h.fin))
    }

    /// The chain's state at its next header, 0..12: chains at one header in the same state
    /// have the same future, so only one of them need be followed.
    fn state(&self) -> u8 {
        let sequence = match self.in_message {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        };
        sequence + if self.masked { 3 } else { 0 } + if self.inner { 0 } else { 6 }
    }

    /// Of chains that share a future, the one kept: the most segment ends hit (evidence that
    /// the frames are real), then the most payloads checked and passed, then the most frames
    /// (what `find` prefers), then the earliest. Payloads come before frames because a
    /// random start in the unknown tail whose one frame swallows a real short frame (a
    /// binary or ping "frame" that ends where the real text frame after it ends) would
    /// otherwise tie with the real chain and win as the earlier one, losing that message.
    fn better_past(&self, other: &Chain) -> std::cmp::Ordering {
        other
            .edges
            .cmp(&self.edges)
            .then(other.verified.cmp(&self.verified))
            .then(other.frames.cmp(&self.frames))
            .then(self.start.cmp(&other.start))
    }

    /// Takes the chain past one frame, if all of it is in `buf`.
    fn step(&mut self, buf: &[u8], segment_starts: &[usize]) -> Step {
        let rest = buf.get(self.next..).unwrap_or(&[]);
        let Some(h) = FrameHeader::parse(rest) else {
            return Step::Wait(self.next + header_needs(rest));
        };
        let (in_order, in_message) = self.sequence_after(&h);
        if !plausible_header(&h, self.masked) || (self.inner && (!minimal_length(&h) || !in_order)) {
            return Step::Dead;
        }
        let Some(end) = (self.next as u64).checked_add(h.wire_len()) else {
            return Step::Dead;
        };
        if end > buf.len() as u64 {
            // Below 64 MiB (plausible_header), so it fits a usize.
            return Step::Wait(usize::try_from(end).unwrap_or(usize::MAX));
        }
        let end = end as usize;
        let payload = buf.get(self.next + usize::from(h.header_len)..end).unwrap_or(&[]);
        if !plausible_payload(&h, payload) {
            return Step::Dead;
        }
        // Only inner chains are held to the fragment order, so only they keep its state.
        if self.inner {
            self.in_message = in_message;
        }
        self.next = end;
        self.frames = self.frames.saturating_add(1);
        self.strict = self.strict.saturating_add(u32::from(meaningful(&h, true)));
        self.lenient = self.lenient.saturating_add(u32::from(meaningful(&h, false)));
        self.verified = self.verified.saturating_add(u32::from(verified(&h)));
        if end == buf.len() || segment_starts.binary_search(&end).is_ok() {
            self.edges = self.edges.saturating_add(1);
            self.at_edge = Some(AtEdge {
                frames: self.frames,
                strict: self.strict,
                lenient: self.lenient,
                last_len: h.payload_len,
            });
        }
        Step::Moved
    }

    fn enough(&self, evidence: Evidence) -> bool {
        let Some(e) = self.at_edge else {
            return false;
        };
        self.edges >= 2
            && match evidence {
                Evidence::Strict => e.strict >= 2 || (e.strict == 1 && self.masked && e.last_len >= 2),
                Evidence::Lenient => e.lenient >= 1,
            }
    }
}

/// Bytes of one direction kept while looking for a boundary, with the candidate chains.
#[derive(Debug, Default)]
pub struct SearchBuffer {
    /// Bytes from the earliest live candidate (or the first position not yet examined).
    pub bytes: Vec<u8>,
    /// Recent segment starts (offsets into `bytes`, ascending).
    segment_starts: Vec<usize>,
    /// Stream offset of `bytes[0]`.
    pub base_offset: u64,
    /// Segments seen since the search began (also those dropped from the buffer).
    pub segments_seen: usize,
    /// Bytes given to the search (also those dropped from the buffer).
    pub bytes_seen: u64,
    /// Bytes that left the buffer without being decoded (no candidate could start there, the
    /// caps, held bytes dropped at a gap): with the boundary's offset in the buffer, what
    /// a decoder skipped.
    pub dropped: u64,
    /// The byte or candidate cap dropped candidates.
    pub capped: bool,
    /// Live candidate chains, by start.
    chains: Vec<Chain>,
    /// Every position before this was examined as a candidate start, except `pending`.
    scanned: usize,
    /// Positions whose header was cut by the buffer's end (the last 13 bytes at most).
    pending: Vec<usize>,
    /// Work done so far (see `work`).
    work: u64,
}

/// Bytes held while searching; beyond this the oldest half is dropped (`capped`).
pub const MAX_SEARCH_BYTES: usize = 4 << 20;
/// Live candidates followed at once; beyond this the oldest are dropped (`capped`).
const MAX_CHAINS: usize = 4096;
/// Segment starts remembered (only recent ones matter: chains are followed as bytes come).
const MAX_SEGMENT_STARTS: usize = 256;

impl SearchBuffer {
    pub fn starting_at(offset: u64) -> Self {
        SearchBuffer {
            base_offset: offset,
            ..Default::default()
        }
    }

    /// Adds one segment's bytes that start at stream `offset`, and follows the candidates.
    pub fn push(&mut self, offset: u64, data: &[u8]) {
        if offset != self.base_offset + self.bytes.len() as u64 {
            // Not contiguous (a gap): what was held cannot be joined to this.
            self.clear_at(offset);
        }
        if self.segment_starts.len() >= MAX_SEGMENT_STARTS {
            self.segment_starts.drain(..MAX_SEGMENT_STARTS / 2);
        }
        self.segment_starts.push(self.bytes.len());
        self.segments_seen += 1;
        self.bytes_seen = self.bytes_seen.saturating_add(data.len() as u64);
        self.bytes.extend_from_slice(data);
        self.follow();
        self.bound();
    }

    /// The search's work so far: chains looked at, candidate positions examined and frames
    /// followed. It grows linearly with the bytes pushed (tests hold it to a few units per
    /// byte on hostile input), because chains that reach one header in the same state are
    /// merged there before either goes on.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Follows the chains and the new candidates through the new bytes, position by
    /// position: all chains that reach a header this round reach it in this sweep (their
    /// frames end inside the new bytes), so they meet there and only the best goes on.
    fn follow(&mut self) {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let len = self.bytes.len();
        let mut ready: BinaryHeap<Reverse<(usize, usize)>> = BinaryHeap::new();
        self.work += self.chains.len() as u64;
        for (i, c) in self.chains.iter().enumerate() {
            if c.wait_for <= len {
                ready.push(Reverse((c.next, i)));
            }
        }
        let mut candidates = std::mem::take(&mut self.pending)
            .into_iter()
            .chain(self.scanned..len)
            .peekable();
        let mut dead = vec![false; self.chains.len()];
        let mut group: Vec<usize> = Vec::new();
        loop {
            let at = match (ready.peek(), candidates.peek()) {
                (Some(Reverse((c, _))), Some(&p)) => (*c).min(p),
                (Some(Reverse((c, _))), None) => *c,
                (None, Some(&p)) => p,
                (None, None) => break,
            };
            group.clear();
            while let Some(Reverse((_, i))) = ready.peek().copied().filter(|Reverse((c, _))| *c == at) {
                ready.pop();
                group.push(i);
            }
            if candidates.next_if_eq(&at).is_some() {
                self.work += 1;
                let rest = self.bytes.get(at..).unwrap_or(&[]);
                match FrameHeader::parse(rest) {
                    None => self.pending.push(at),
                    Some(h) => {
                        let on_segment_start = self.segment_starts.binary_search(&at).is_ok();
                        if plausible_header(&h, h.mask.is_some()) && (on_segment_start || minimal_length(&h)) {
                            group.push(self.chains.len());
                            self.chains.push(Chain::new(at, h.mask.is_some(), on_segment_start));
                            dead.push(false);
                        }
                    }
                }
            }
            // Chains in one state here have one future: only the best past goes on.
            let chains = &self.chains;
            group.sort_by(|&a, &b| match (chains.get(a), chains.get(b)) {
                (Some(x), Some(y)) => x.state().cmp(&y.state()).then(x.better_past(y)),
                _ => std::cmp::Ordering::Equal,
            });
            let mut last_state = None;
            for &i in &group {
                let (Some(chain), Some(is_dead)) = (self.chains.get_mut(i), dead.get_mut(i)) else {
                    continue;
                };
                let state = chain.state();
                if last_state == Some(state) {
                    *is_dead = true;
                    continue;
                }
                last_state = Some(state);
                self.work += 1;
                match chain.step(&self.bytes, &self.segment_starts) {
                    Step::Moved => ready.push(Reverse((chain.next, i))),
                    Step::Wait(need) => chain.wait_for = need,
                    Step::Dead => *is_dead = true,
                }
            }
        }
        self.scanned = len;
        let mut flags = dead.into_iter();
        self.chains.retain(|_| !flags.next().unwrap_or(true));
        // Pending positions re-examined late may start before newer chains.
        if !self.chains.is_sorted_by_key(|c| c.start) {
            self.chains.sort_by_key(|c| c.start);
        }
    }

    /// Applies the caps and drops bytes no candidate needs any more.
    fn bound(&mut self) {
        if self.chains.len() > MAX_CHAINS {
            self.chains.drain(..self.chains.len() - MAX_CHAINS);
            self.capped = true;
        }
        if self.bytes.len() > MAX_SEARCH_BYTES {
            let cut = self.bytes.len() - MAX_SEARCH_BYTES / 2;
            let before = self.chains.len();
            self.chains.retain(|c| c.start >= cut);
            self.capped |= self.chains.len() != before;
            self.pending.retain(|&p| p >= cut);
        }
        let keep_from = self
            .chains
            .first()
            .map(|c| c.start)
            .into_iter()
            .chain(self.pending.first().copied())
            .fold(self.scanned, usize::min);
        // Amortised: bytes move only when at least half of them go.
        if keep_from > 0 && keep_from >= self.bytes.len() / 2 {
            self.drop_front(keep_from);
        }
    }

    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.bytes.len());
        self.bytes.drain(..n);
        self.base_offset += n as u64;
        self.dropped = self.dropped.saturating_add(n as u64);
        self.segment_starts.retain(|&s| s >= n);
        for s in &mut self.segment_starts {
            *s -= n;
        }
        for c in &mut self.chains {
            c.start -= n;
            c.next -= n;
            c.wait_for = c.wait_for.saturating_sub(n);
        }
        self.pending.retain(|&p| p >= n);
        for p in &mut self.pending {
            *p -= n;
        }
        self.scanned -= n.min(self.scanned);
    }

    /// The candidate with enough evidence that explains the most frames (the earliest of
    /// those): where a random start's first frame ends on a real header, the real chain has
    /// more frames; where it ends on the first real header, it has one more and wins, which
    /// costs one bogus frame of the unknown tail (rare: its length must hit exactly).
    pub fn find(&self, evidence: Evidence) -> Option<Boundary> {
        let frames = |c: &Chain| c.at_edge.map_or(0, |e| e.frames);
        let best = self
            .chains
            .iter()
            .filter(|c| c.enough(evidence))
            .fold(None::<&Chain>, |best, c| match best {
                Some(b) if frames(b) >= frames(c) => Some(b),
                _ => Some(c),
            });
        best.map(|c| Boundary {
            start: c.start,
            masked: c.masked,
            frames: c.at_edge.map_or(0, |e| e.frames as usize),
        })
    }

    /// True if some candidate could still become a boundary with more bytes.
    pub fn any_viable(&self, _evidence: Evidence) -> bool {
        // Positions whose header the buffer's end cut, and whose first byte could start one.
        !self.chains.is_empty()
            || self
                .pending
                .iter()
                .any(|&p| self.bytes.get(p).is_some_and(|&b| could_start_frame(b)))
    }

    /// Bytes before `offset` are gone (lost, or given up on): start afresh there.
    pub fn clear_at(&mut self, offset: u64) {
        self.dropped = self.dropped.saturating_add(self.bytes.len() as u64);
        self.bytes.clear();
        self.segment_starts.clear();
        self.chains.clear();
        self.pending.clear();
        self.scanned = 0;
        self.base_offset = offset;
    }
}

/// Looks for a boundary in `buf` split into segments at `segment_starts` (for tests and
/// benchmarks: a search buffer is built from the segments).
pub fn find_boundary(buf: &[u8], segment_starts: &[usize], evidence: Evidence) -> Option<Boundary> {
    let mut search = SearchBuffer::default();
    let mut cuts: Vec<usize> = segment_starts
        .iter()
        .copied()
        .filter(|&s| s > 0 && s < buf.len())
        .collect();
    cuts.push(buf.len());
    let mut from = 0;
    for cut in cuts {
        search.push(from as u64, buf.get(from..cut).unwrap_or(&[]));
        from = cut;
    }
    search.find(evidence).map(|b| Boundary {
        start: b.start + (search.base_offset as usize),
        ..b
    })
}

/// The first byte of a header that could be plausible (known opcode, no RSV2/RSV3).
fn could_start_frame(b0: u8) -> bool {
    let opcode = OpCode::from_u4(b0);
    b0 & 0x30 == 0 && !opcode.is_reserved() && (!opcode.is_control() || b0 & 0xc0 == 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ws::detect_inputs::{HOSTILE, noise};

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

    fn frame(opcode: u8, mask: Option<[u8; 4]>, payload: Vec<u8>) -> Vec<u8> {
        crate::analysis::ws::builder::FrameSpec {
            opcode,
            mask,
            payload,
            ..Default::default()
        }
        .to_bytes()
    }

    /// A stream cut into 1448-byte segments whatever the frames, except where the sender
    /// paused (`pauses`: offsets where a segment ends early).
    fn push_segments(buf: &mut SearchBuffer, stream: &[u8], pauses: &[usize]) {
        let mut at = 0;
        while at < stream.len() {
            let mut end = (at + 1448).min(stream.len());
            if let Some(&p) = pauses.iter().find(|&&p| p > at && p < end) {
                end = p;
            }
            buf.push(at as u64, &stream[at..end]);
            at = end;
        }
    }

    #[test]
    fn finds_frames_that_start_inside_segments_after_a_long_tail() {
        for (seed, masked) in [(7u32, Some([9, 8, 7, 6])), (11, None), (13, Some([0, 0, 0, 1]))] {
            let tail = noise(300 << 10, seed);
            let text = frame(1, masked, "mid-stream ✓ ".repeat(400).into_bytes());
            let binary = frame(2, masked, noise(70_000, seed + 1));
            let ping = frame(9, masked, b"p".to_vec());
            let stream = [tail.clone(), text.clone(), binary.clone(), ping].concat();
            // The sender paused once, after the binary frame: its end is a segment end.
            let pause = tail.len() + text.len() + binary.len();
            let mut buf = SearchBuffer::default();
            push_segments(&mut buf, &stream, &[pause]);
            let found = buf.find(Evidence::Strict).expect("boundary after the tail");
            assert_eq!(buf.base_offset + found.start as u64, tail.len() as u64, "seed {seed}");
            assert_eq!(
                buf.dropped + found.start as u64,
                tail.len() as u64,
                "skipped = the tail"
            );
            assert_eq!(found.masked, masked.is_some());
            assert_eq!(found.frames, 3);
            assert!(buf.bytes.len() < 200 << 10, "the tail is not held: {}", buf.bytes.len());
        }
    }

    /// A random start near the tail's end whose one "frame" swallows a real short frame and
    /// ends where it ends (found once in a fresh mid-frame recording: a bogus frame hid the
    /// client's 5-byte text message).
    #[test]
    fn a_bogus_frame_that_swallows_a_real_one_does_not_win() {
        let key = Some([3, 1, 4, 1]);
        let ack = frame(1, key, b"ack 0".to_vec());
        let text = frame(1, key, "mid-stream ✓ ".repeat(300).into_bytes());
        let done = frame(1, key, b"client done".to_vec());
        for bogus_first_byte in [0x80u8, 0x82, 0x89] {
            let mut tail = noise(100 << 10, 21);
            let at = tail.len() - 20;
            // A masked header (6 bytes) whose payload covers the rest of the tail and the ack.
            tail[at] = bogus_first_byte;
            tail[at + 1] = 0x80 | (14 + ack.len()) as u8;
            let stream = [tail.clone(), ack.clone(), text.clone(), done.clone()].concat();
            let pauses = [tail.len() + ack.len(), tail.len() + ack.len() + text.len()];
            let mut buf = SearchBuffer::default();
            push_segments(&mut buf, &stream, &pauses);
            let found = buf.find(Evidence::Strict).expect("boundary after the tail");
            assert_eq!(
                buf.base_offset + found.start as u64,
                tail.len() as u64,
                "bogus {bogus_first_byte:#x}"
            );
            assert_eq!(found.frames, 3);
        }
    }

    #[test]
    fn one_segment_end_is_not_enough_inside_segments() {
        let tail = noise(50_000, 3);
        let stream = [tail, frame(2, None, noise(3000, 4)), frame(2, None, noise(3000, 5))].concat();
        let mut buf = SearchBuffer::default();
        push_segments(&mut buf, &stream, &[]);
        // Both frames start inside segments and only the last ends on a segment end.
        assert_eq!(buf.find(Evidence::Lenient), None);
    }

    #[test]
    fn random_bytes_and_zeros_give_no_boundary_and_stay_small() {
        for stream in [noise(5 << 20, 99), vec![0u8; 5 << 20]] {
            let mut buf = SearchBuffer::default();
            push_segments(&mut buf, &stream, &[]);
            assert_eq!(buf.find(Evidence::Lenient), None);
            assert!(buf.bytes.len() <= MAX_SEARCH_BYTES, "{}", buf.bytes.len());
            assert!(buf.chains.len() <= MAX_CHAINS);
        }
    }

    /// The search's work per byte stays the same as the input doubles, on the hostile inputs
    /// (`detect_inputs::HOSTILE`, also measured by `examples/detect_growth.rs`). Counted, not timed: a quadratic search
    /// shows hundreds of units per byte at 1 MiB.
    #[test]
    fn work_per_byte_is_bounded_on_hostile_input() {
        for (name, make) in HOSTILE {
            let mut per_byte = Vec::new();
            for size in [256 << 10, 1 << 20] {
                let stream = make(size);
                let mut buf = SearchBuffer::default();
                push_segments(&mut buf, &stream, &[]);
                per_byte.push(buf.work() as f64 / size as f64);
                assert!(buf.bytes.len() <= MAX_SEARCH_BYTES, "{name}: {} held", buf.bytes.len());
            }
            assert!(per_byte.iter().all(|&w| w < 8.0), "{name}: work per byte {per_byte:?}");
            assert!(
                per_byte[1] < per_byte[0] * 1.2 + 0.1,
                "{name}: grows with size {per_byte:?}"
            );
        }
    }

    /// Chains that wait in the middle of a fragment keep their fragment state: the first
    /// fragment (FIN clear) and the last continuation are both longer than a segment.
    #[test]
    fn finds_a_fragmented_message_whose_fragments_span_segments() {
        let tail = noise(20_000, 21);
        let mut first = frame(1, None, "fragment one ".repeat(300).into_bytes());
        first[0] &= 0x7f;
        let last = frame(0, None, "fragment two ".repeat(300).into_bytes());
        let ping = frame(9, None, b"p".to_vec());
        let stream = [tail.clone(), first.clone(), last.clone(), ping.clone()].concat();
        let pause = tail.len() + first.len() + last.len();
        let mut buf = SearchBuffer::default();
        push_segments(&mut buf, &stream, &[pause]);
        let found = buf.find(Evidence::Lenient).expect("boundary after the tail");
        assert_eq!(buf.base_offset + found.start as u64, tail.len() as u64);
        assert_eq!(found.frames, 3);
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
