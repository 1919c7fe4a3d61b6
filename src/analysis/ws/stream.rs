//! One direction of a WebSocket connection: ordered bytes and gaps in, frames and whole
//! messages (unmasked, joined, inflated, validated) out, with findings for every rule broken.
//!
//! Longer than most modules (about 850 lines) on purpose: frame parsing, fragment assembly,
//! inflation, gap handling and resynchronisation all read and write the one per-direction
//! state (`StreamDecoder`), and splitting them would spread one state machine over files that
//! each need all of it. Its tests live in `stream_tests.rs`.

use crate::analysis::event::{ConnId, Direction, MessageEvent, MessageFacts};
use crate::analysis::findings::FindingKind;
use crate::analysis::pool::BufferPool;
use crate::analysis::tcp::GapReason;
use crate::analysis::time::Timestamp;
use crate::analysis::ws::close::{close_code_allowed_on_wire, close_code_name};
use crate::analysis::ws::deflate::{InflateOutcome, MessageInflater};
use crate::analysis::ws::detect::{Evidence, MAX_SEARCH_BYTES, SearchBuffer};
use crate::analysis::ws::frame::{FrameHeader, HeaderViolation, MAX_HEADER_LEN, OpCode};
use crate::analysis::ws::mask::extend_unmasked;

/// Where the decoder's results go.
pub trait StreamOutput {
    fn frame(&mut self, ts: Timestamp, header: &FrameHeader, stream_offset: u64);
    fn message(&mut self, message: &MessageEvent<'_>);
    fn finding(&mut self, kind: FindingKind, ts: Timestamp, stream_offset: Option<u64>, detail: String);
    /// Buffers to reuse across messages, when the caller keeps a pool (the analyzer shares
    /// one across connections). Without one, buffers are allocated and freed as needed.
    fn pool(&mut self) -> Option<&mut BufferPool> {
        None
    }
}

/// An empty payload buffer, from the output's pool when it has one.
fn take_buffer(out: &mut dyn StreamOutput) -> Vec<u8> {
    out.pool().map(BufferPool::take).unwrap_or_default()
}

/// Returns a buffer to the output's pool, or frees it.
fn give_back(out: &mut dyn StreamOutput, buf: Vec<u8>) {
    if let Some(pool) = out.pool() {
        pool.give_back(buf);
    }
}

/// What the handshake said about compression for this direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// The handshake was seen and did not accept permessage-deflate.
    NotNegotiated,
    /// permessage-deflate was accepted.
    Deflate { no_context_takeover: bool },
    /// No handshake was captured: RSV1 messages are assumed to be permessage-deflate.
    Unknown,
}

/// Size caps for one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Most payload bytes (before inflating) kept for one message.
    pub max_message_bytes: usize,
    /// Most bytes one message may inflate to.
    pub max_inflated_bytes: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_message_bytes: 64 << 20,
            max_inflated_bytes: 64 << 20,
        }
    }
}

/// Buffers larger than this are shrunk after each message, so one huge message does not
/// pin its memory for the rest of the connection.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Message,
    Control,
    Skip,
}

#[derive(Debug)]
struct FrameInProgress {
    header: FrameHeader,
    done: u64,
    target: Target,
}

#[derive(Debug)]
struct MessageInProgress {
    opcode: OpCode,
    first_ts: Timestamp,
    stream_offset: u64,
    frames: u32,
    compressed: bool,
    wire_len: u64,
    truncated: bool,
    damaged: bool,
}

#[derive(Debug)]
enum SyncState {
    Synced,
    Searching(SearchBuffer),
}

/// Decodes one direction.
pub struct StreamDecoder {
    conn: ConnId,
    dir: Direction,
    compression: Compression,
    limits: StreamLimits,
    sync: SyncState,
    header_buf: [u8; MAX_HEADER_LEN],
    header_have: usize,
    frame: Option<FrameInProgress>,
    message: Option<MessageInProgress>,
    message_bytes: Vec<u8>,
    control_bytes: Vec<u8>,
    control_first_ts: Timestamp,
    control_offset: u64,
    control_damaged: bool,
    inflater: Option<MessageInflater>,
    /// Stream offset of a compressed message that was lost after the window was started:
    /// later messages cannot refer back past it (see `drop_compression_window`).
    window_lost_at: Option<u64>,
    /// Continuations of a message whose start was not captured are skipped until it ends.
    skipping_orphan: bool,
    close_sent: bool,
    /// Set after a gap made us lose the frame boundary, to report a failed resync.
    resyncing_since: Option<u64>,
}

impl StreamDecoder {
    /// A decoder that starts on a frame boundary (after a captured handshake).
    pub fn synced(conn: ConnId, dir: Direction, compression: Compression, limits: StreamLimits) -> Self {
        StreamDecoder {
            conn,
            dir,
            compression,
            limits,
            sync: SyncState::Synced,
            header_buf: [0; MAX_HEADER_LEN],
            header_have: 0,
            frame: None,
            message: None,
            message_bytes: Vec::new(),
            control_bytes: Vec::new(),
            control_first_ts: Timestamp::ZERO,
            control_offset: 0,
            control_damaged: false,
            inflater: None,
            window_lost_at: None,
            skipping_orphan: false,
            close_sent: false,
            resyncing_since: None,
        }
    }

    /// A decoder for a stream picked up mid-connection: it searches for a frame boundary in
    /// `held` (bytes already seen) and in what follows.
    pub fn searching(
        conn: ConnId,
        dir: Direction,
        compression: Compression,
        limits: StreamLimits,
        held: SearchBuffer,
    ) -> Self {
        let mut d = Self::synced(conn, dir, compression, limits);
        d.sync = SyncState::Searching(held);
        d.skipping_orphan = true;
        d
    }

    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    pub fn is_synced(&self) -> bool {
        matches!(self.sync, SyncState::Synced)
    }

    /// Re-examines held bytes (after construction with `searching`).
    pub fn resume(&mut self, ts: Timestamp, out: &mut dyn StreamOutput) {
        if let SyncState::Searching(buf) = &mut self.sync
            && let Some(found) = buf.find(Evidence::Lenient)
        {
            let held = std::mem::take(buf);
            self.sync = SyncState::Synced;
            let after_gap = self.resyncing_since.take().is_some();
            let start = held.base_offset + found.start as u64;
            let skipped = held.dropped.saturating_add(found.start as u64);
            if skipped > 0 {
                let why = if after_gap {
                    "after lost bytes"
                } else {
                    "inside a frame whose start was not captured"
                };
                let cap = if held.capped {
                    format!(" (the {} KiB search cap dropped candidates)", MAX_SEARCH_BYTES >> 10)
                } else {
                    String::new()
                };
                out.finding(
                    FindingKind::BytesSkipped,
                    ts,
                    Some(start),
                    format!("{skipped} bytes {why} skipped before the first frame boundary found{cap}"),
                );
            }
            if let Some(rest) = held.bytes.get(found.start..) {
                self.decode_synced(ts, start, rest, out);
            }
        }
    }

    /// Ordered bytes starting at stream `offset`.
    pub fn on_data(&mut self, ts: Timestamp, offset: u64, bytes: &[u8], out: &mut dyn StreamOutput) {
        match &mut self.sync {
            SyncState::Synced => self.decode_synced(ts, offset, bytes, out),
            SyncState::Searching(buf) => {
                buf.push(offset, bytes);
                self.resume(ts, out);
            }
        }
    }

    /// `len` bytes at stream `offset` were not captured.
    pub fn on_gap(&mut self, ts: Timestamp, offset: u64, len: u64, reason: GapReason, out: &mut dyn StreamOutput) {
        let (kind, what) = match reason {
            GapReason::NotCaptured => (FindingKind::TcpGap, "not captured"),
            GapReason::SnapLength => (FindingKind::TruncatedPacket, "cut by the snap length"),
        };
        out.finding(kind, ts, Some(offset), format!("{len} bytes {what}"));
        match &mut self.sync {
            SyncState::Searching(buf) => buf.clear_at(offset + len),
            SyncState::Synced => {
                let inside_payload = self.header_have == 0
                    && self
                        .frame
                        .as_ref()
                        .is_some_and(|f| len <= f.header.payload_len - f.done);
                if inside_payload {
                    // The gap lies inside one frame's payload: the frame boundary is still
                    // known, only this frame's message is damaged.
                    if let Some(frame) = &mut self.frame {
                        frame.done += len;
                        match frame.target {
                            Target::Message => {
                                if let Some(m) = &mut self.message {
                                    m.damaged = true;
                                }
                            }
                            Target::Control => self.control_damaged = true,
                            Target::Skip => {}
                        }
                        if frame.done == frame.header.payload_len {
                            self.end_frame(ts, out);
                        }
                    }
                } else {
                    self.lose_sync(ts, offset + len, out);
                }
            }
        }
    }

    /// End of the stream: report what was left unfinished.
    pub fn finish(&mut self, ts: Timestamp, out: &mut dyn StreamOutput) {
        let held = std::mem::take(&mut self.message_bytes);
        let held_len = held.len();
        give_back(out, held);
        if let Some(m) = self.message.take() {
            out.finding(
                FindingKind::MessageIncomplete,
                ts,
                Some(m.stream_offset),
                format!(
                    "{} message with {} frame(s), {held_len} payload bytes so far",
                    m.opcode.name(),
                    m.frames,
                ),
            );
        }
        if let Some(f) = self.frame.take()
            && f.target == Target::Control
        {
            out.finding(
                FindingKind::MessageIncomplete,
                ts,
                Some(self.control_offset),
                format!(
                    "{} frame cut off after {} of {} bytes",
                    f.header.opcode.name(),
                    f.done,
                    f.header.payload_len
                ),
            );
        }
        if let (SyncState::Searching(buf), None) = (&self.sync, self.resyncing_since)
            && buf.bytes_seen > 0
        {
            // Picked up mid-stream and never in step: this direction was not decoded.
            out.finding(
                FindingKind::BytesSkipped,
                ts,
                Some(buf.base_offset),
                format!(
                    "{} bytes seen, no WebSocket frame boundary found: this direction was not decoded",
                    buf.bytes_seen
                ),
            );
        }
        if let (SyncState::Searching(buf), Some(since)) = (&self.sync, self.resyncing_since)
            && !buf.bytes.is_empty()
        {
            out.finding(
                FindingKind::ResyncFailed,
                ts,
                Some(since),
                format!(
                    "{} bytes after a gap held no recognisable frame boundary",
                    buf.bytes.len()
                ),
            );
        }
    }

    /// A compressed message (or, after lost sync, perhaps several) was not inflated, so the
    /// sender's window now holds text ours lacks. Inflating later messages with our window
    /// would silently give wrong text; a fresh window makes zlib reject any reference back
    /// past the loss ("distance too far back"), so each later message is exact or reported.
    fn drop_compression_window(&mut self, lost_at: u64) {
        let keeps_context = matches!(
            self.compression,
            Compression::Unknown
                | Compression::Deflate {
                    no_context_takeover: false
                }
        );
        if keeps_context {
            self.inflater = None;
            self.window_lost_at = Some(lost_at);
        }
    }

    fn lose_sync(&mut self, ts: Timestamp, resume_offset: u64, out: &mut dyn StreamOutput) {
        self.drop_compression_window(resume_offset);
        if let Some(m) = self.message.take() {
            out.finding(
                FindingKind::MessageDamaged,
                ts,
                Some(m.stream_offset),
                format!("{} message lost its frame boundary in a gap", m.opcode.name()),
            );
        }
        self.frame = None;
        self.header_have = 0;
        give_back(out, std::mem::take(&mut self.message_bytes));
        self.skipping_orphan = true;
        self.resyncing_since = Some(resume_offset);
        self.sync = SyncState::Searching(SearchBuffer::starting_at(resume_offset));
    }

    fn decode_synced(&mut self, ts: Timestamp, mut offset: u64, mut bytes: &[u8], out: &mut dyn StreamOutput) {
        while !bytes.is_empty() {
            match &mut self.frame {
                None => {
                    let have = self.header_have;
                    let take = (MAX_HEADER_LEN - have).min(bytes.len());
                    let (Some(dst), Some(src)) = (self.header_buf.get_mut(have..have + take), bytes.get(..take)) else {
                        return;
                    };
                    dst.copy_from_slice(src);
                    match FrameHeader::parse(self.header_buf.get(..have + take).unwrap_or(&[])) {
                        None => {
                            self.header_have = have + take;
                            offset += take as u64;
                            bytes = &[];
                        }
                        Some(header) => {
                            let used = usize::from(header.header_len) - have;
                            let header_offset = offset - have as u64;
                            self.header_have = 0;
                            bytes = bytes.get(used..).unwrap_or(&[]);
                            offset += used as u64;
                            self.start_frame(ts, header, header_offset, out);
                            if let Some(len) = self.whole_unmasked_message_len(&header, bytes.len()) {
                                // Fast path: the whole message is in this segment and needs no
                                // unmasking or inflating, so it is reported without a copy.
                                let (payload, rest) = bytes.split_at(len);
                                self.frame = None;
                                self.finish_message(ts, Some(payload), out);
                                bytes = rest;
                                offset += len as u64;
                            }
                        }
                    }
                }
                Some(frame) => {
                    let remaining = frame.header.payload_len - frame.done;
                    let n = remaining.min(bytes.len() as u64) as usize;
                    let (piece, rest) = bytes.split_at(n);
                    let key = frame.header.mask;
                    let done = frame.done;
                    frame.done += n as u64;
                    let finished = frame.done == frame.header.payload_len;
                    match frame.target {
                        Target::Message => self.absorb_message_bytes(piece, key, done, ts, out),
                        Target::Control => {
                            // Control payloads are small by rule; a violating one is still
                            // capped by the message cap.
                            let room = self.limits.max_message_bytes.saturating_sub(self.control_bytes.len());
                            let keep = piece.get(..room.min(piece.len())).unwrap_or(&[]);
                            extend_unmasked(&mut self.control_bytes, keep, key, done);
                        }
                        Target::Skip => {}
                    }
                    bytes = rest;
                    offset += n as u64;
                    if finished {
                        self.end_frame(ts, out);
                    }
                }
            }
        }
    }

    /// The payload length if the frame just started is a whole unmasked, uncompressed
    /// message whose payload is all in the `available` bytes.
    fn whole_unmasked_message_len(&self, h: &FrameHeader, available: usize) -> Option<usize> {
        let len = usize::try_from(h.payload_len).ok()?;
        let frame = self.frame.as_ref()?;
        let message = self.message.as_ref()?;
        (frame.target == Target::Message
            && h.fin
            && h.mask.is_none()
            && len > 0
            && len <= available
            && len <= self.limits.max_message_bytes
            && message.frames == 1
            && !message.compressed)
            .then_some(len)
    }

    fn absorb_message_bytes(
        &mut self,
        piece: &[u8],
        key: Option<[u8; 4]>,
        done: u64,
        ts: Timestamp,
        out: &mut dyn StreamOutput,
    ) {
        let room = self.limits.max_message_bytes.saturating_sub(self.message_bytes.len());
        if piece.len() > room
            && let Some(m) = &mut self.message
            && !m.truncated
        {
            {
                m.truncated = true;
                out.finding(
                    FindingKind::MessageLimit,
                    ts,
                    Some(m.stream_offset),
                    format!(
                        "message longer than {} bytes; the rest was counted, not kept",
                        self.limits.max_message_bytes
                    ),
                );
            }
        }
        let keep = piece.get(..room.min(piece.len())).unwrap_or(&[]);
        extend_unmasked(&mut self.message_bytes, keep, key, done);
    }

    fn start_frame(&mut self, ts: Timestamp, h: FrameHeader, header_offset: u64, out: &mut dyn StreamOutput) {
        out.frame(ts, &h, header_offset);
        self.check_frame_rules(ts, &h, header_offset, out);
        let is_data = !h.opcode.is_control();
        if is_data && self.close_sent {
            out.finding(
                FindingKind::DataAfterClose,
                ts,
                Some(header_offset),
                format!("{} frame after this side's close frame", h.opcode.name()),
            );
        }
        let target = if h.opcode.is_control() {
            self.control_bytes.clear();
            self.control_first_ts = ts;
            self.control_offset = header_offset;
            self.control_damaged = false;
            Target::Control
        } else if h.opcode == OpCode::Continuation {
            if let Some(m) = &mut self.message {
                m.frames += 1;
                m.wire_len = m.wire_len.saturating_add(h.wire_len());
                Target::Message
            } else {
                if self.skipping_orphan {
                    if self.resyncing_since.is_none() {
                        out.finding(
                            FindingKind::MessageStartNotCaptured,
                            ts,
                            Some(header_offset),
                            "continuation frame of a message that started before the capture".to_owned(),
                        );
                    }
                } else {
                    out.finding(
                        FindingKind::UnexpectedContinuation,
                        ts,
                        Some(header_offset),
                        "continuation frame with no message in progress".to_owned(),
                    );
                }
                if h.fin {
                    self.skipping_orphan = false;
                }
                Target::Skip
            }
        } else {
            if let Some(old) = self.message.take() {
                if old.compressed {
                    self.drop_compression_window(old.stream_offset);
                }
                out.finding(
                    FindingKind::MessageInterrupted,
                    ts,
                    Some(old.stream_offset),
                    format!(
                        "{} message of {} frame(s) never finished before a new {} message",
                        old.opcode.name(),
                        old.frames,
                        h.opcode.name()
                    ),
                );
            }
            self.skipping_orphan = false;
            self.resyncing_since = None;
            if self.message_bytes.capacity() == 0 {
                self.message_bytes = take_buffer(out);
            }
            self.message_bytes.clear();
            // Nothing is reserved from the claimed length: a header may claim 2^63 bytes
            // that never come. The buffer grows with the bytes that arrive (doubling, so at
            // most twice what arrived), and a pooled buffer usually has room already.
            let compressed = h.rsv1 && self.compression != Compression::NotNegotiated;
            self.message = Some(MessageInProgress {
                opcode: h.opcode,
                first_ts: ts,
                stream_offset: header_offset,
                frames: 1,
                compressed,
                wire_len: h.wire_len(),
                truncated: false,
                damaged: false,
            });
            Target::Message
        };
        self.frame = Some(FrameInProgress {
            header: h,
            done: 0,
            target,
        });
        if h.payload_len == 0 {
            self.end_frame(ts, out);
        }
    }

    fn check_frame_rules(&self, ts: Timestamp, h: &FrameHeader, at: u64, out: &mut dyn StreamOutput) {
        let at = Some(at);
        match (self.dir, h.mask.is_some()) {
            (Direction::ClientToServer, false) => out.finding(
                FindingKind::UnmaskedClientFrame,
                ts,
                at,
                format!("{} frame of {} bytes", h.opcode.name(), h.payload_len),
            ),
            (Direction::ServerToClient, true) => out.finding(
                FindingKind::MaskedServerFrame,
                ts,
                at,
                format!("{} frame of {} bytes", h.opcode.name(), h.payload_len),
            ),
            _ => {}
        }
        for v in h.violations() {
            let (kind, detail) = match v {
                HeaderViolation::ReservedOpcode => {
                    (FindingKind::ReservedOpcode, format!("opcode 0x{:x}", h.opcode.as_u4()))
                }
                HeaderViolation::ControlTooLong => (
                    FindingKind::ControlTooLong,
                    format!("{} frame with {} bytes of payload", h.opcode.name(), h.payload_len),
                ),
                HeaderViolation::FragmentedControl => (
                    FindingKind::FragmentedControl,
                    format!("{} frame with FIN=0", h.opcode.name()),
                ),
                HeaderViolation::NonMinimalLength => (
                    FindingKind::NonMinimalLength,
                    format!("length {} written in {:?} form", h.payload_len, h.length_encoding),
                ),
                HeaderViolation::LengthMsbSet => (
                    FindingKind::LengthMsbSet,
                    format!("64-bit length 0x{:016x}", h.payload_len),
                ),
            };
            out.finding(kind, ts, at, detail);
        }
        if h.rsv2 || h.rsv3 {
            out.finding(
                FindingKind::RsvWithoutExtension,
                ts,
                at,
                format!(
                    "RSV2={} RSV3={} with no extension that defines them",
                    u8::from(h.rsv2),
                    u8::from(h.rsv3)
                ),
            );
        }
        if h.rsv1 {
            if h.opcode.is_control() {
                out.finding(
                    FindingKind::Rsv1OnControl,
                    ts,
                    at,
                    format!("{} frame with RSV1", h.opcode.name()),
                );
            } else if h.opcode == OpCode::Continuation {
                if self.compression != Compression::NotNegotiated {
                    out.finding(
                        FindingKind::Rsv1OnContinuation,
                        ts,
                        at,
                        "continuation frame with RSV1".to_owned(),
                    );
                } else {
                    out.finding(
                        FindingKind::RsvWithoutExtension,
                        ts,
                        at,
                        "RSV1 set but permessage-deflate was not negotiated".to_owned(),
                    );
                }
            } else if self.compression == Compression::NotNegotiated {
                out.finding(
                    FindingKind::RsvWithoutExtension,
                    ts,
                    at,
                    "RSV1 set but permessage-deflate was not negotiated".to_owned(),
                );
            }
        }
    }

    fn end_frame(&mut self, ts: Timestamp, out: &mut dyn StreamOutput) {
        let Some(frame) = self.frame.take() else {
            return;
        };
        match frame.target {
            Target::Control => self.finish_control(ts, &frame.header, out),
            Target::Message => {
                if frame.header.fin {
                    self.finish_message(ts, None, out);
                }
            }
            Target::Skip => {}
        }
    }

    fn finish_control(&mut self, ts: Timestamp, h: &FrameHeader, out: &mut dyn StreamOutput) {
        if self.control_damaged {
            out.finding(
                FindingKind::MessageDamaged,
                ts,
                Some(self.control_offset),
                format!("{} frame with bytes missing", h.opcode.name()),
            );
            return;
        }
        let payload = std::mem::take(&mut self.control_bytes);
        let mut close_code = None;
        if h.opcode == OpCode::Close {
            self.close_sent = true;
            close_code = self.parse_close(ts, &payload, out);
        }
        let message = MessageEvent {
            facts: MessageFacts {
                conn: self.conn,
                dir: self.dir,
                ts,
                first_ts: self.control_first_ts,
                opcode: h.opcode,
                frames: 1,
                compressed: false,
                wire_len: h.wire_len(),
                len: payload.len() as u64,
                truncated: payload.len() as u64 != h.payload_len,
                decoded: true,
                close_code,
                stream_offset: self.control_offset,
            },
            payload: &payload,
            compressed_payload: None,
        };
        out.message(&message);
        self.control_bytes = payload;
    }

    /// A close body's status code, with findings for what it breaks (the reason is read from
    /// the payload by whoever shows it: `MessageFacts::close_reason`).
    fn parse_close(&self, ts: Timestamp, payload: &[u8], out: &mut dyn StreamOutput) -> Option<u16> {
        let at = Some(self.control_offset);
        match payload {
            [] => None,
            [_] => {
                out.finding(
                    FindingKind::BadClosePayload,
                    ts,
                    at,
                    "close payload of 1 byte: too short for a status code".to_owned(),
                );
                None
            }
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                if !close_code_allowed_on_wire(code) {
                    out.finding(
                        FindingKind::BadCloseCode,
                        ts,
                        at,
                        format!("close code {code} ({}) must not be sent", close_code_name(code)),
                    );
                }
                if let Err(err) = std::str::from_utf8(reason) {
                    out.finding(
                        FindingKind::InvalidUtf8,
                        ts,
                        at,
                        format!("close reason is not UTF-8 at byte {}", err.valid_up_to()),
                    );
                }
                Some(code)
            }
        }
    }

    /// Reports the message in progress. Its payload is `borrowed` when given (the fast path),
    /// else what was collected in `message_bytes`.
    fn finish_message(&mut self, ts: Timestamp, borrowed: Option<&[u8]>, out: &mut dyn StreamOutput) {
        let Some(m) = self.message.take() else {
            return;
        };
        if m.damaged {
            if m.compressed {
                self.drop_compression_window(m.stream_offset);
            }
            out.finding(
                FindingKind::MessageDamaged,
                ts,
                Some(m.stream_offset),
                format!(
                    "{} message of {} frame(s) with bytes missing; not reported",
                    m.opcode.name(),
                    m.frames
                ),
            );
            give_back(out, std::mem::take(&mut self.message_bytes));
            return;
        }
        let mut inflated = Vec::new();
        let mut truncated = m.truncated;
        let mut decoded = true;
        let use_inflated = m.compressed && !truncated && {
            let no_context_takeover = matches!(
                self.compression,
                Compression::Deflate {
                    no_context_takeover: true
                }
            );
            let inflater = self
                .inflater
                .get_or_insert_with(|| MessageInflater::new(no_context_takeover));
            inflated = take_buffer(out);
            match inflater.inflate_message(&self.message_bytes, &mut inflated, self.limits.max_inflated_bytes) {
                InflateOutcome::Complete => true,
                InflateOutcome::LimitHit { produced_at_least } => {
                    out.finding(
                        FindingKind::InflateLimit,
                        ts,
                        Some(m.stream_offset),
                        format!(
                            "{} compressed bytes inflate to at least {produced_at_least} bytes (cap {})",
                            self.message_bytes.len(),
                            self.limits.max_inflated_bytes
                        ),
                    );
                    truncated = true;
                    true
                }
                InflateOutcome::Failed { reason } => {
                    let why = match (self.window_lost_at, self.compression) {
                        (Some(at), _) => {
                            format!(
                                " (a compressed message at stream offset {at} was lost; its text is not in the window)"
                            )
                        }
                        (None, Compression::Unknown) => {
                            " (handshake not captured: the compression context is unknown)".to_owned()
                        }
                        (None, _) => String::new(),
                    };
                    out.finding(
                        FindingKind::InflateFailed,
                        ts,
                        Some(m.stream_offset),
                        format!("{reason}{why}"),
                    );
                    decoded = false;
                    false
                }
            }
        };
        if m.compressed && m.truncated {
            // Cut compressed bytes cannot be inflated; the raw bytes are reported.
            decoded = false;
            self.drop_compression_window(m.stream_offset);
        }
        let payload: &[u8] = if use_inflated {
            &inflated
        } else {
            borrowed.unwrap_or(&self.message_bytes)
        };
        if m.opcode == OpCode::Text
            && decoded
            && let Err(offset) = validate_utf8(payload, truncated)
        {
            out.finding(
                FindingKind::InvalidUtf8,
                ts,
                Some(m.stream_offset),
                format!("text message is not UTF-8 at payload byte {offset}"),
            );
        }
        let message = MessageEvent {
            facts: MessageFacts {
                conn: self.conn,
                dir: self.dir,
                ts,
                first_ts: m.first_ts,
                opcode: m.opcode,
                frames: m.frames,
                compressed: m.compressed,
                wire_len: m.wire_len,
                len: payload.len() as u64,
                truncated,
                decoded,
                close_code: None,
                stream_offset: m.stream_offset,
            },
            payload,
            compressed_payload: m.compressed.then_some(self.message_bytes.as_slice()),
        };
        out.message(&message);
        give_back(out, inflated);
        give_back(out, std::mem::take(&mut self.message_bytes));
    }
}

/// `Err(offset of the first bad byte)` unless `payload` is UTF-8. A payload cut by a cap may
/// end inside a character; that is not an error.
fn validate_utf8(payload: &[u8], cut_short: bool) -> Result<(), usize> {
    if simdutf8::basic::from_utf8(payload).is_ok() {
        return Ok(());
    }
    match std::str::from_utf8(payload) {
        Ok(_) => Ok(()),
        Err(err) if cut_short && err.error_len().is_none() => Ok(()),
        Err(err) => Err(err.valid_up_to()),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
