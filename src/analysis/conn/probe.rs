//! Deciding whether a flow whose start was not seen carries WebSocket frames: both sides'
//! bytes are held in search buffers until a plausible frame chain is found or given up on.

use crate::analysis::conn::http_exchange::{HTTP_METHODS, looks_like_request, looks_like_response};
use crate::analysis::tcp::{FlowKey, Side};
use crate::analysis::ws::detect::{Evidence, SearchBuffer};

/// Segments a side may show without a plausible frame before that side is given up on.
const PROBE_SEGMENTS: usize = 3;
/// Bytes a side may show at most while still searching: enough for the tail of a frame of
/// several MiB whose start was not captured, and the frames after it.
const PROBE_MAX_BYTES: u64 = 16 << 20;

/// Bytes of both sides held while deciding what a flow carries.
/// Allocated only once bytes are held, so a flow that never sends data (a SYN flood, a
/// half-open scan) costs one pointer here.
#[derive(Default)]
pub struct Probe {
    inner: Option<Box<ProbeState>>,
}

#[derive(Default)]
struct ProbeState {
    bufs: [SearchBuffer; 2],
    gave_up: [bool; 2],
    /// A stream start too short to classify (`G`, `GE`, an empty line), with its offset.
    start: [Option<(u64, Vec<u8>)>; 2],
}

/// A stream start held longer than this without looking like HTTP is not HTTP.
const MAX_START_BYTES: usize = 64;

/// What the first bytes of a stream are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStart {
    Request,
    Response,
    /// Too short to tell: a prefix of a method or of `HTTP/1.`, maybe after empty lines.
    Undecided,
    Other,
}

/// Classifies a stream start. Empty lines before the start line are skipped, as RFC 9112
/// §2.2 lets servers do.
pub fn classify_start(bytes: &[u8]) -> StreamStart {
    let rest = match bytes.iter().position(|b| !matches!(b, b'\r' | b'\n')) {
        Some(i) => bytes.get(i..).unwrap_or(&[]),
        None => &[],
    };
    if looks_like_request(rest) {
        return StreamStart::Request;
    }
    if looks_like_response(rest) {
        return StreamStart::Response;
    }
    let could_become = |full: &[u8]| full.starts_with(rest);
    if bytes.len() < MAX_START_BYTES && (HTTP_METHODS.iter().any(|m| could_become(m)) || could_become(b"HTTP/1.")) {
        StreamStart::Undecided
    } else {
        StreamStart::Other
    }
}

/// What the probe concluded after a push.
pub enum ProbeOutcome {
    /// Still searching.
    Pending,
    /// Frames found: `client` is the side that masks (or the best guess); the held bytes
    /// go to the frame decoders.
    WebSocket { client: Side, held: Box<[SearchBuffer; 2]> },
    /// Neither side shows frames: other traffic.
    NotWebSocket,
}

impl Probe {
    fn state(&mut self) -> &mut ProbeState {
        self.inner.get_or_insert_with(Box::default)
    }

    /// True while nothing of `side` is held (its next bytes are a stream start candidate).
    pub fn holds_nothing(&self, side: Side) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|p| p.bufs[side.index()].bytes.is_empty())
    }

    /// Bytes of `side` up to `resume_at` were lost: start searching again after them.
    pub fn on_gap(&mut self, side: Side, resume_at: u64) {
        let p = self.state();
        p.bufs[side.index()].clear_at(resume_at);
        p.start[side.index()] = None;
    }

    /// Holds a stream start that is too short to classify.
    pub fn hold_start(&mut self, side: Side, offset: u64, bytes: &[u8]) {
        self.state().start[side.index()] = Some((offset, bytes.to_vec()));
    }

    /// The held stream start of `side`, if any, taken out.
    pub fn take_start(&mut self, side: Side) -> Option<(u64, Vec<u8>)> {
        self.inner.as_mut()?.start[side.index()].take()
    }

    /// `side`'s next ordered bytes. `syn_client` is the side that sent the SYN, if seen.
    pub fn push(
        &mut self,
        key: &FlowKey,
        syn_client: Option<Side>,
        side: Side,
        offset: u64,
        bytes: &[u8],
    ) -> ProbeOutcome {
        let state = self.state();
        let buf = &mut state.bufs[side.index()];
        buf.push(offset, bytes);
        if let Some(found) = buf.find(Evidence::Strict) {
            // This side's frames are masked exactly when it is the client.
            let client = if found.masked {
                side
            } else if let Some(c) = syn_client {
                c
            } else if key.endpoint(side).port() < key.endpoint(side.other()).port() {
                // Unmasked on both sides and no SYN: the lower port is usually the server.
                side.other()
            } else {
                side
            };
            return ProbeOutcome::WebSocket {
                client,
                held: Box::new(std::mem::take(&mut state.bufs)),
            };
        }
        if (buf.segments_seen >= PROBE_SEGMENTS && !buf.any_viable(Evidence::Strict))
            || buf.bytes_seen > PROBE_MAX_BYTES
        {
            state.gave_up[side.index()] = true;
            buf.clear_at(offset + bytes.len() as u64);
            if state.gave_up.iter().all(|g| *g) {
                return ProbeOutcome::NotWebSocket;
            }
        }
        ProbeOutcome::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ws::builder::FrameSpec;

    fn text_frame(mask: Option<[u8; 4]>) -> Vec<u8> {
        FrameSpec {
            mask,
            payload: b"hello".to_vec(),
            ..FrameSpec::default()
        }
        .to_bytes()
    }

    fn key() -> FlowKey {
        FlowKey::from_packet("10.0.0.1:50000".parse().unwrap(), "10.0.0.2:80".parse().unwrap()).0
    }

    #[test]
    fn masked_frames_make_their_side_the_client() {
        let mut probe = Probe::default();
        let frame = text_frame(Some([1, 2, 3, 4]));
        // Side::Hi is 10.0.0.2:80, the higher address: masked frames from it make it the client.
        match probe.push(&key(), None, Side::Hi, 1000, &frame) {
            ProbeOutcome::WebSocket { client, held } => {
                assert_eq!(client, Side::Hi);
                assert_eq!(held[Side::Hi.index()].bytes, frame);
            }
            _ => panic!("expected frames to be found"),
        }
    }

    #[test]
    fn unmasked_frames_without_a_syn_make_the_lower_port_the_server() {
        let mut probe = Probe::default();
        // Unmasked frames need two in a row to count as evidence.
        let frame = [text_frame(None), text_frame(None)].concat();
        // Side::Lo is 10.0.0.1:50000: its frames are unmasked, and the other side has the
        // lower port, so the other side is the server and Lo the client.
        match probe.push(&key(), None, Side::Lo, 0, &frame) {
            ProbeOutcome::WebSocket { client, .. } => assert_eq!(client, Side::Lo),
            _ => panic!("expected frames to be found"),
        }
        let mut probe = Probe::default();
        match probe.push(&key(), None, Side::Hi, 0, &frame) {
            ProbeOutcome::WebSocket { client, .. } => assert_eq!(client, Side::Lo),
            _ => panic!("expected frames to be found"),
        }
    }

    #[test]
    fn stream_starts_wait_for_enough_bytes_and_skip_empty_lines() {
        for undecided in [&b""[..], b"G", b"GE", b"GET", b"\r\n", b"\r\nPO", b"H", b"HTTP/1"] {
            assert_eq!(classify_start(undecided), StreamStart::Undecided, "{undecided:?}");
        }
        assert_eq!(classify_start(b"GET /"), StreamStart::Request);
        assert_eq!(classify_start(b"\r\n\r\nGET /"), StreamStart::Request);
        assert_eq!(classify_start(b"\nHTTP/1.1 101"), StreamStart::Response);
        assert_eq!(classify_start(b"GEX"), StreamStart::Other);
        assert_eq!(classify_start(b"\x81\x85"), StreamStart::Other);
        // Empty lines forever are not a request.
        assert_eq!(classify_start(&[b'\n'; MAX_START_BYTES]), StreamStart::Other);
    }

    #[test]
    fn noise_on_both_sides_is_not_websocket() {
        let mut probe = Probe::default();
        let noise = [0x17u8; 40];
        let mut outcome = ProbeOutcome::Pending;
        for i in 0..PROBE_SEGMENTS as u64 {
            for side in [Side::Lo, Side::Hi] {
                outcome = probe.push(&key(), None, side, i * 40, &noise);
            }
        }
        assert!(matches!(outcome, ProbeOutcome::NotWebSocket));
    }
}
