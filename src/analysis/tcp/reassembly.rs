//! One direction of a TCP connection: segments in any order in, ordered bytes and gaps out.
//!
//! Memory: in-order data is passed straight through without copying; only segments that
//! arrive ahead of a hole are held. Held segments never overlap and adjacent ones are joined,
//! and what they cost is counted with a per-segment overhead (`SEGMENT_OVERHEAD`), so the
//! `ReassemblyLimits::max_pending_bytes` cap bounds memory, not just payload; at most
//! `max_pending_segments` pieces are held. A hole is declared a gap (and decoding resumes
//! after it) when either cap is reached, when the peer acknowledges bytes that were never
//! captured, when the hole is older than `max_hole_age_secs` of capture time, or when the
//! stream is flushed.
//!
//! Overlaps: **the first copy of a byte wins** (as Linux's receiver does), whatever the
//! arrival order: bytes already delivered are never replaced, and a held byte is never
//! replaced by a later copy. When a later copy of held bytes differs, a `Chunk::Conflict`
//! reports it (the `tcp-overlap-conflict` finding). Copies of bytes already delivered are
//! counted as duplicates but not compared: no copy of delivered bytes is kept.
//!
//! About 460 lines of code; the rest is the unit tests of every ordering rule, kept beside it.

use std::collections::BTreeMap;

use crate::analysis::time::Timestamp;

/// Why bytes are missing from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// The segment was never captured (lost, or dropped by the capture).
    NotCaptured,
    /// The packet was captured but cut by the snap length.
    SnapLength,
}

/// A piece of the ordered stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data {
        offset: u64,
        bytes: &'a [u8],
    },
    Gap {
        offset: u64,
        len: u64,
        reason: GapReason,
    },
    /// A later copy of held bytes differed from the first (which was kept): `len` bytes
    /// from stream `offset` overlapped, the first differing at `first_difference`.
    Conflict {
        offset: u64,
        len: u64,
        first_difference: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Held bytes plus `SEGMENT_OVERHEAD` per held piece.
    pub max_pending_bytes: usize,
    /// Held pieces (after joining adjacent ones).
    pub max_pending_segments: usize,
    pub max_hole_age_secs: u64,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_pending_bytes: 4 << 20,
            max_pending_segments: 8192,
            max_hole_age_secs: 10,
        }
    }
}

/// What one held piece costs beyond its bytes (map entry, vector header, allocation),
/// counted against `max_pending_bytes`.
pub const SEGMENT_OVERHEAD: usize = 96;

/// A held piece is joined to the piece right after it only while that one is at most this
/// long (joining copies it; segments arriving in descending order would copy quadratically).
const JOIN_COPY_LIMIT: usize = 4096;

/// Counters for one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    // Counts are u32 (saturating): they live in every flow, and 4 billion segments of one
    // flow is terabytes.
    pub segments: u32,
    /// Segments whose every byte had already been received (delivered or held).
    pub retransmitted_segments: u32,
    pub out_of_order_segments: u32,
    pub gaps: u32,
    /// Later copies of held bytes that differed from the first copy.
    pub overlap_conflicts: u32,
    pub duplicate_bytes: u64,
    pub gap_bytes: u64,
}

#[derive(Debug)]
struct PendingSegment {
    bytes: Vec<u8>,
    /// Bytes after `bytes` that the snap length cut off.
    missing_tail: u64,
}

impl PendingSegment {
    fn len(&self) -> u64 {
        self.bytes.len() as u64 + self.missing_tail
    }
}

/// Reassembles one direction of one TCP connection.
#[derive(Debug, Default)]
pub struct Reassembler {
    started: bool,
    syn_seen: bool,
    /// Sequence number of the next byte expected, and its stream offset.
    next_seq: u32,
    next_offset: u64,
    /// Held pieces by stream offset: they never overlap.
    pending: BTreeMap<u64, PendingSegment>,
    /// Held bytes plus `SEGMENT_OVERHEAD` per piece.
    pending_bytes: usize,
    hole_since: Option<Timestamp>,
    fin_offset: Option<u64>,
    pub stats: ReassemblyStats,
}

/// A segment as the reassembler needs it.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub ts: Timestamp,
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub payload: &'a [u8],
    /// Payload bytes the snap length cut off after `payload`.
    pub missing_tail: u64,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    /// Stream offset of the next byte to deliver.
    pub fn delivered_offset(&self) -> u64 {
        self.next_offset
    }

    pub fn fin_reached(&self) -> bool {
        self.fin_offset.is_some_and(|fin| self.next_offset >= fin)
    }

    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Stream offset of a sequence number, relative to what was delivered.
    fn offset_of(&self, seq: u32) -> i128 {
        let rel = seq.wrapping_sub(self.next_seq) as i32;
        self.next_offset as i128 + rel as i128
    }

    /// Takes one segment; calls `out` with every piece of stream that became ordered.
    pub fn push(&mut self, seg: Segment<'_>, limits: &ReassemblyLimits, out: &mut impl FnMut(Chunk<'_>)) {
        self.stats.segments = self.stats.segments.saturating_add(1);
        let mut seq = seg.seq;
        if seg.syn {
            if !self.started {
                self.syn_seen = true;
                self.started = true;
                self.next_seq = seq.wrapping_add(1);
                self.next_offset = 0;
            }
            // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
            seq = seq.wrapping_add(1);
        }
        let len = seg.payload.len() as u64 + seg.missing_tail;
        if !self.started {
            if len == 0 && !seg.fin {
                // A bare ACK before any data says nothing about where the stream starts.
                return;
            }
            self.started = true;
            self.next_seq = seq;
            self.next_offset = 0;
        }
        let start = self.offset_of(seq);
        if seg.fin {
            let fin = start + len as i128;
            if fin >= 0 {
                self.fin_offset = Some(fin as u64);
            }
        }
        if len == 0 {
            self.check_hole_age(seg.ts, limits, out);
            return;
        }
        let end = start + len as i128;
        let next = self.next_offset as i128;
        if end <= next {
            self.stats.retransmitted_segments = self.stats.retransmitted_segments.saturating_add(1);
            self.stats.duplicate_bytes += len;
            return;
        }
        if start <= next {
            let skip = (next - start) as u64;
            self.deliver(seg.payload, seg.missing_tail, skip, out);
            self.drain_pending(out);
        } else {
            if self.hold(start as u64, seg.payload, seg.missing_tail, out) {
                self.stats.out_of_order_segments = self.stats.out_of_order_segments.saturating_add(1);
            } else {
                // Every byte was already held: a second copy, not a reordering.
                self.stats.retransmitted_segments = self.stats.retransmitted_segments.saturating_add(1);
            }
            if self.hole_since.is_none() {
                self.hole_since = Some(seg.ts);
            }
            while !self.pending.is_empty()
                && (self.pending_bytes > limits.max_pending_bytes || self.pending.len() > limits.max_pending_segments)
            {
                self.skip_hole(u64::MAX, out);
            }
        }
        self.check_hole_age(seg.ts, limits, out);
    }

    /// The peer acknowledged up to `ack`: bytes before it that we never saw are lost for good.
    ///
    /// Only acts while later data is held: an ACK alone may be captured before the data it
    /// acknowledges (multi-interface captures reorder), so it does not prove a loss.
    pub fn peer_acked(&mut self, ack: u32, out: &mut impl FnMut(Chunk<'_>)) {
        if !self.started || self.pending.is_empty() {
            return;
        }
        let acked = self.offset_of(ack);
        if acked > self.next_offset as i128 {
            self.skip_hole(acked as u64, out);
        }
    }

    /// End of stream (FIN, RST, eviction or end of capture): declare every hole a gap.
    pub fn flush(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        while !self.pending.is_empty() {
            self.skip_hole(u64::MAX, out);
        }
        if let Some(fin) = self.fin_offset
            && fin > self.next_offset
        {
            let len = fin - self.next_offset;
            self.emit_gap(len, GapReason::NotCaptured, out);
        }
    }

    fn check_hole_age(&mut self, now: Timestamp, limits: &ReassemblyLimits, out: &mut impl FnMut(Chunk<'_>)) {
        if let Some(since) = self.hole_since
            && now.nanos.saturating_sub(since.nanos) > (limits.max_hole_age_secs as i64).saturating_mul(1_000_000_000)
        {
            self.skip_hole(u64::MAX, out);
            if !self.pending.is_empty() {
                // Another hole follows: its age counts from now.
                self.hole_since = Some(now);
            }
        }
    }

    fn emit_gap(&mut self, len: u64, reason: GapReason, out: &mut impl FnMut(Chunk<'_>)) {
        if len == 0 {
            return;
        }
        out(Chunk::Gap {
            offset: self.next_offset,
            len,
            reason,
        });
        self.stats.gaps = self.stats.gaps.saturating_add(1);
        self.stats.gap_bytes += len;
        self.advance(len);
    }

    fn advance(&mut self, len: u64) {
        self.next_offset += len;
        self.next_seq = self.next_seq.wrapping_add(len as u32);
    }

    /// Declares the hole before the first held segment a gap (at most up to `limit`).
    fn skip_hole(&mut self, limit: u64, out: &mut impl FnMut(Chunk<'_>)) {
        let Some(&first) = self.pending.keys().next() else {
            return;
        };
        let to = first.min(limit);
        if to > self.next_offset {
            self.emit_gap(to - self.next_offset, GapReason::NotCaptured, out);
        }
        self.drain_pending(out);
    }

    /// Delivers `payload` (+ a cut-off tail), skipping its first `skip` bytes already delivered.
    fn deliver(&mut self, payload: &[u8], missing_tail: u64, skip: u64, out: &mut impl FnMut(Chunk<'_>)) {
        let data_len = payload.len() as u64;
        if skip < data_len {
            let bytes = payload.get(skip as usize..).unwrap_or(&[]);
            out(Chunk::Data {
                offset: self.next_offset,
                bytes,
            });
            self.advance(bytes.len() as u64);
            self.emit_gap(missing_tail, GapReason::SnapLength, out);
        } else {
            let tail_skip = skip - data_len;
            self.emit_gap(missing_tail.saturating_sub(tail_skip), GapReason::SnapLength, out);
        }
    }

    fn drain_pending(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let start = *entry.key();
            if start > self.next_offset {
                return;
            }
            let seg = entry.remove();
            self.pending_bytes = self.pending_bytes.saturating_sub(seg.bytes.len() + SEGMENT_OVERHEAD);
            let end = start + seg.len();
            if end > self.next_offset {
                self.deliver(&seg.bytes, seg.missing_tail, self.next_offset - start, out);
            } else {
                self.stats.duplicate_bytes += seg.len();
            }
        }
        if self.pending.is_empty() {
            self.hole_since = None;
        }
    }

    /// Holds a segment that starts after a hole. Only the parts no held piece covers are
    /// kept (first copy wins); differing overlaps are reported as conflicts. Returns whether
    /// any of it was new.
    fn hold(&mut self, start: u64, payload: &[u8], missing_tail: u64, out: &mut impl FnMut(Chunk<'_>)) -> bool {
        let data_end = start + payload.len() as u64;
        let end = data_end + missing_tail;
        // Held pieces that overlap [start, end): the one starting before it, then the rest.
        let before = self
            .pending
            .range(..start)
            .next_back()
            .filter(|(k, p)| **k + p.len() > start)
            .map(|(k, _)| *k);
        let overlapping: Vec<u64> = before
            .into_iter()
            .chain(self.pending.range(start..end).map(|(k, _)| *k))
            .collect();
        let mut cursor = start;
        let mut uncovered: Vec<(u64, u64)> = Vec::new();
        for key in overlapping {
            let Some(held) = self.pending.get(&key) else {
                continue;
            };
            let held_end = key + held.len();
            if key > cursor {
                uncovered.push((cursor, key));
            }
            // Compare the bytes both copies have.
            let from = key.max(start);
            let to = held_end.min(end);
            let known_to = to.min(data_end).min(key + held.bytes.len() as u64);
            if known_to > from {
                let first = payload.get((from - start) as usize..(known_to - start) as usize);
                let kept = held.bytes.get((from - key) as usize..(known_to - key) as usize);
                if let (Some(first), Some(kept)) = (first, kept)
                    && let Some(at) = first.iter().zip(kept).position(|(a, b)| a != b)
                {
                    self.stats.overlap_conflicts = self.stats.overlap_conflicts.saturating_add(1);
                    out(Chunk::Conflict {
                        offset: from,
                        len: known_to - from,
                        first_difference: from + at as u64,
                    });
                }
            }
            if to > from {
                self.stats.duplicate_bytes += to - from;
            }
            cursor = cursor.max(held_end);
        }
        if cursor < end {
            uncovered.push((cursor, end));
        }
        let any_new = !uncovered.is_empty();
        for (a, b) in uncovered {
            let data = payload
                .get((a.min(data_end) - start) as usize..(b.min(data_end) - start) as usize)
                .unwrap_or(&[]);
            let tail = b - a.max(data_end).min(b);
            self.insert_piece(a, data, tail);
        }
        any_new
    }

    /// Inserts a piece no held piece overlaps, joined to its neighbours when they touch.
    fn insert_piece(&mut self, start: u64, bytes: &[u8], missing_tail: u64) {
        let len = bytes.len() as u64 + missing_tail;
        if len == 0 {
            return;
        }
        // Join the following piece when it touches and is small enough to copy.
        let mut piece = PendingSegment {
            bytes: Vec::new(),
            missing_tail,
        };
        let next_key = start + len;
        let join_next = missing_tail == 0
            && self
                .pending
                .get(&next_key)
                .is_some_and(|n| n.bytes.len() <= JOIN_COPY_LIMIT);
        // Join onto the preceding piece when it ends exactly here with no cut-off tail.
        let prev = self
            .pending
            .range(..start)
            .next_back()
            .filter(|(k, p)| p.missing_tail == 0 && **k + p.bytes.len() as u64 == start)
            .map(|(k, _)| *k);
        let next = if join_next {
            self.pending.remove(&next_key)
        } else {
            None
        };
        if let Some(n) = &next {
            self.pending_bytes = self.pending_bytes.saturating_sub(n.bytes.len() + SEGMENT_OVERHEAD);
        }
        if let Some(prev_key) = prev
            && let Some(p) = self.pending.get_mut(&prev_key)
        {
            p.bytes.extend_from_slice(bytes);
            self.pending_bytes += bytes.len();
            if let Some(n) = next {
                p.bytes.extend_from_slice(&n.bytes);
                p.missing_tail = n.missing_tail;
                self.pending_bytes += n.bytes.len();
            } else {
                p.missing_tail = missing_tail;
            }
            return;
        }
        piece
            .bytes
            .reserve_exact(bytes.len() + next.as_ref().map_or(0, |n| n.bytes.len()));
        piece.bytes.extend_from_slice(bytes);
        if let Some(n) = next {
            piece.bytes.extend_from_slice(&n.bytes);
            piece.missing_tail = n.missing_tail;
        }
        self.pending_bytes += piece.bytes.len() + SEGMENT_OVERHEAD;
        self.pending.insert(start, piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Default, PartialEq)]
    struct Output {
        bytes: Vec<u8>,
        gaps: Vec<(u64, u64, GapReason)>,
        conflicts: Vec<(u64, u64, u64)>,
    }

    fn collect(out: &mut Output) -> impl FnMut(Chunk<'_>) + '_ {
        move |chunk| match chunk {
            Chunk::Data { offset, bytes } => {
                assert_eq!(
                    offset as usize,
                    out.bytes.len() + out.gaps.iter().map(|g| g.1 as usize).sum::<usize>()
                );
                out.bytes.extend_from_slice(bytes)
            }
            Chunk::Gap { offset, len, reason } => out.gaps.push((offset, len, reason)),
            Chunk::Conflict {
                offset,
                len,
                first_difference,
            } => out.conflicts.push((offset, len, first_difference)),
        }
    }

    fn seg(seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment {
            ts: Timestamp::ZERO,
            seq,
            syn: false,
            fin: false,
            payload,
            missing_tail: 0,
        }
    }

    #[test]
    fn reorders_and_drops_duplicates_across_sequence_wrap() {
        let limits = ReassemblyLimits::default();
        let mut r = Reassembler::new();
        let mut out = Output::default();
        let isn = u32::MAX - 5;
        let syn = Segment {
            syn: true,
            ..seg(isn, b"")
        };
        r.push(syn, &limits, &mut collect(&mut out));
        let base = isn.wrapping_add(1);
        r.push(seg(base.wrapping_add(4), b"efgh"), &limits, &mut collect(&mut out));
        r.push(seg(base, b"abcd"), &limits, &mut collect(&mut out));
        r.push(seg(base.wrapping_add(2), b"cdef"), &limits, &mut collect(&mut out));
        r.push(seg(base.wrapping_add(8), b"ij"), &limits, &mut collect(&mut out));
        r.flush(&mut collect(&mut out));
        assert_eq!(out.bytes, b"abcdefghij");
        assert!(out.gaps.is_empty());
        assert_eq!(r.stats.duplicate_bytes, 4);
    }

    #[test]
    fn a_missing_segment_becomes_a_gap_when_the_peer_acks_past_it() {
        let limits = ReassemblyLimits::default();
        let mut r = Reassembler::new();
        let mut out = Output::default();
        r.push(seg(1000, b"abc"), &limits, &mut collect(&mut out));
        r.push(seg(1006, b"ghi"), &limits, &mut collect(&mut out));
        assert_eq!(out.bytes, b"abc");
        r.peer_acked(1009, &mut collect(&mut out));
        assert_eq!(out.bytes, b"abcghi");
        assert_eq!(out.gaps, vec![(3, 3, GapReason::NotCaptured)]);
    }

    #[test]
    fn an_ack_without_later_data_is_not_a_loss() {
        let limits = ReassemblyLimits::default();
        let mut r = Reassembler::new();
        let mut out = Output::default();
        r.push(seg(1000, b"abc"), &limits, &mut collect(&mut out));
        r.peer_acked(1006, &mut collect(&mut out));
        r.push(seg(1003, b"def"), &limits, &mut collect(&mut out));
        assert_eq!(out.bytes, b"abcdef");
        assert!(out.gaps.is_empty());
    }

    #[test]
    fn snap_length_cuts_become_gaps_of_the_right_size() {
        let limits = ReassemblyLimits::default();
        let mut r = Reassembler::new();
        let mut out = Output::default();
        let cut = Segment {
            missing_tail: 5,
            ..seg(0, b"ab")
        };
        r.push(cut, &limits, &mut collect(&mut out));
        r.push(seg(7, b"xyz"), &limits, &mut collect(&mut out));
        assert_eq!(out.bytes, b"abxyz");
        assert_eq!(out.gaps, vec![(2, 5, GapReason::SnapLength)]);
    }

    #[test]
    fn the_pending_cap_forces_a_gap_instead_of_growing() {
        let limits = ReassemblyLimits {
            max_pending_bytes: 10 + SEGMENT_OVERHEAD,
            max_hole_age_secs: 1000,
            ..ReassemblyLimits::default()
        };
        let mut r = Reassembler::new();
        let mut out = Output::default();
        r.push(seg(0, b"a"), &limits, &mut collect(&mut out));
        r.push(seg(5, b"0123456789"), &limits, &mut collect(&mut out));
        assert_eq!(r.pending_bytes(), 10 + SEGMENT_OVERHEAD);
        r.push(seg(15, b"X"), &limits, &mut collect(&mut out));
        assert_eq!(r.pending_bytes(), 0);
        assert_eq!(out.bytes, b"a0123456789X");
        assert_eq!(out.gaps, vec![(1, 4, GapReason::NotCaptured)]);
    }

    /// Plays `segments` (offset, bytes) after a lost first byte, then fills the hole.
    fn play(segments: &[(u32, &[u8])]) -> (Output, ReassemblyStats) {
        let limits = ReassemblyLimits::default();
        let mut r = Reassembler::new();
        let mut out = Output::default();
        r.push(seg(0, b"<"), &limits, &mut collect(&mut out));
        for (at, bytes) in segments {
            r.push(seg(*at, bytes), &limits, &mut collect(&mut out));
        }
        r.push(seg(1, b"!"), &limits, &mut collect(&mut out));
        r.flush(&mut collect(&mut out));
        (out, r.stats)
    }

    #[test]
    fn the_first_copy_of_a_held_byte_wins_in_every_arrival_order() {
        // Same start, the later copy longer (was: the longer one replaced the first).
        let (out, stats) = play(&[(2, b"abc"), (2, b"XYZW")]);
        assert_eq!(out.bytes, b"<!abcW");
        assert_eq!(out.conflicts, vec![(2, 3, 2)]);
        assert_eq!(stats.overlap_conflicts, 1);
        // A later copy starting earlier (was: the lower start won).
        let (out, _) = play(&[(4, b"cd"), (2, b"ABCD")]);
        assert_eq!(out.bytes, b"<!ABcd");
        assert_eq!(out.conflicts, vec![(4, 2, 4)]);
        // A later copy spanning two held pieces and the hole between them.
        let (out, _) = play(&[(2, b"ab"), (6, b"ef"), (3, b"Bcdef")]);
        assert_eq!(out.bytes, b"<!abcdef");
        assert_eq!(out.conflicts, vec![(3, 1, 3)]);
        // Identical copies are duplicates, not conflicts.
        let (out, stats) = play(&[(2, b"abcd"), (3, b"bc")]);
        assert_eq!(out.bytes, b"<!abcd");
        assert!(out.conflicts.is_empty());
        assert_eq!(stats.duplicate_bytes, 2);
    }

    #[test]
    fn adjacent_held_segments_are_joined_and_their_overhead_counted() {
        let limits = ReassemblyLimits::default();
        let mut r = Reassembler::new();
        let mut out = Output::default();
        r.push(seg(0, b"a"), &limits, &mut collect(&mut out));
        // Ascending and descending one-byte segments after a hole at offset 1.
        for i in 0..1000u32 {
            r.push(seg(10 + i, b"x"), &limits, &mut collect(&mut out));
        }
        for i in (0..8u32).rev() {
            r.push(seg(2 + i, b"y"), &limits, &mut collect(&mut out));
        }
        assert_eq!(r.pending.len(), 1, "one piece");
        assert_eq!(r.pending_bytes(), 1008 + SEGMENT_OVERHEAD);
        r.push(seg(1, b"b"), &limits, &mut collect(&mut out));
        assert_eq!(out.bytes.len(), 1010);
        assert_eq!(r.pending_bytes(), 0);
    }

    #[test]
    fn the_held_segment_cap_declares_the_hole_a_gap() {
        let limits = ReassemblyLimits {
            max_pending_segments: 100,
            ..ReassemblyLimits::default()
        };
        let mut r = Reassembler::new();
        let mut out = Output::default();
        r.push(seg(0, b"a"), &limits, &mut collect(&mut out));
        // One-byte segments with a hole before each: nothing can be joined.
        for i in 0..1000u32 {
            r.push(seg(2 + 2 * i, b"x"), &limits, &mut collect(&mut out));
            assert!(r.pending.len() <= 100);
        }
        assert!(!out.gaps.is_empty());
        assert!(r.pending_bytes() <= 100 * (1 + SEGMENT_OVERHEAD));
    }

    #[test]
    fn flush_reports_bytes_lost_before_fin() {
        let limits = ReassemblyLimits::default();
        let mut r = Reassembler::new();
        let mut out = Output::default();
        r.push(seg(0, b"ab"), &limits, &mut collect(&mut out));
        let fin = Segment {
            fin: true,
            ..seg(6, b"")
        };
        r.push(fin, &limits, &mut collect(&mut out));
        r.flush(&mut collect(&mut out));
        assert_eq!(out.gaps, vec![(2, 4, GapReason::NotCaptured)]);
    }

    proptest! {
        #[test]
        fn any_segment_order_and_duplication_gives_the_same_bytes(
            data in proptest::collection::vec(any::<u8>(), 1..2000),
            cuts in proptest::collection::vec(1usize..200, 1..40),
            order in proptest::collection::vec(any::<u32>(), 0..120),
            isn in any::<u32>(),
        ) {
            // Cut the stream into segments, then replay them shuffled with duplicates.
            let mut segments = Vec::new();
            let mut pos = 0usize;
            for c in cuts.iter().cycle() {
                if pos >= data.len() { break; }
                let end = (pos + c).min(data.len());
                segments.push((pos, end));
                pos = end;
            }
            let mut replay: Vec<(usize, usize)> = segments.clone();
            for (i, pick) in order.iter().enumerate() {
                let a = *pick as usize % replay.len();
                if i % 3 == 0 {
                    // duplicate, possibly overlapping a neighbour
                    let (s, e) = replay[a];
                    replay.push((s.saturating_sub(*pick as usize % 3), e));
                } else {
                    let b = (*pick as usize / 7) % replay.len();
                    replay.swap(a, b);
                }
            }
            let limits = ReassemblyLimits { max_pending_bytes: 1 << 20, max_hole_age_secs: 1000, ..ReassemblyLimits::default() };
            let mut r = Reassembler::new();
            let mut out = Output::default();
            r.push(Segment { syn: true, ..seg(isn, b"") }, &limits, &mut collect(&mut out));
            for (s, e) in replay {
                let seq = isn.wrapping_add(1).wrapping_add(s as u32);
                r.push(seg(seq, &data[s..e]), &limits, &mut collect(&mut out));
            }
            r.flush(&mut collect(&mut out));
            prop_assert!(out.gaps.is_empty());
            prop_assert!(out.conflicts.is_empty(), "identical copies never conflict");
            prop_assert_eq!(out.bytes, data);
        }
    }
}
