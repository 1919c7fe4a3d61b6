//! Deciding whether a flow whose start was not seen carries WebSocket frames: both sides'
//! bytes are held in search buffers until a plausible frame chain is found or given up on.

use crate::analysis::tcp::{FlowKey, Side};
use crate::analysis::ws::detect::{Evidence, SearchBuffer};

/// Segments a side may show without a plausible frame before that side is given up on.
const PROBE_SEGMENTS: usize = 3;
/// Segments a side may show at most while still searching.
const PROBE_MAX_SEGMENTS: usize = 48;

/// Bytes of both sides held while deciding what a flow carries.
#[derive(Default)]
pub struct Probe {
    bufs: [SearchBuffer; 2],
    gave_up: [bool; 2],
}

/// What the probe concluded after a push.
pub enum ProbeOutcome {
    /// Still searching.
    Pending,
    /// Frames found: `client` is the side that masks (or the best guess); the held bytes
    /// go to the frame decoders.
    WebSocket { client: Side, held: [SearchBuffer; 2] },
    /// Neither side shows frames: other traffic.
    NotWebSocket,
}

impl Probe {
    /// True while nothing of `side` is held (its next bytes are a stream start candidate).
    pub fn holds_nothing(&self, side: Side) -> bool {
        self.bufs[side.index()].bytes.is_empty()
    }

    /// Bytes of `side` up to `resume_at` were lost: start searching again after them.
    pub fn on_gap(&mut self, side: Side, resume_at: u64) {
        self.bufs[side.index()].clear_at(resume_at);
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
        let buf = &mut self.bufs[side.index()];
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
                held: std::mem::take(&mut self.bufs),
            };
        }
        if (buf.segments_seen >= PROBE_SEGMENTS && !buf.any_viable(Evidence::Strict))
            || buf.segments_seen > PROBE_MAX_SEGMENTS
        {
            self.gave_up[side.index()] = true;
            buf.clear_at(offset + bytes.len() as u64);
            if self.gave_up.iter().all(|g| *g) {
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
