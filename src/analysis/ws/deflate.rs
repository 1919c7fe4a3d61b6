//! permessage-deflate (RFC 7692) inflation with context takeover and a hard output cap.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block a sender removes from each message (RFC 7692 §7.2.1); the
/// receiver appends it back before inflating.
pub const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// What inflating one message gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InflateOutcome {
    /// The whole message was inflated into the output.
    Complete,
    /// The output reached the cap; the output holds the first `limit` bytes.
    LimitHit { produced_at_least: u64 },
    /// The compressed data is not valid deflate (or needs a window this inflater lacks).
    Failed { reason: String },
}

/// One direction's inflater. With context takeover it keeps its window across messages.
pub struct MessageInflater {
    decompress: Decompress,
    reset_after_each_message: bool,
}

/// Work cap after the output cap bites: inflate this much more (discarding it) so the
/// window stays right for later messages, then give up on the context.
const DISCARD_CAP_BYTES: u64 = 256 << 20;

/// Output space added per step; small enough that many idle inflaters cost little.
const STEP_BYTES: usize = 16 << 10;

impl MessageInflater {
    /// `no_context_takeover`: the sender resets its compressor after every message.
    pub fn new(no_context_takeover: bool) -> Self {
        MessageInflater {
            decompress: Decompress::new(false),
            reset_after_each_message: no_context_takeover,
        }
    }

    /// Inflates one message's compressed payload (all its frames joined) into `out`,
    /// appending at most `limit_bytes`.
    pub fn inflate_message(&mut self, compressed: &[u8], out: &mut Vec<u8>, limit_bytes: usize) -> InflateOutcome {
        let outcome = self.inflate_inner(compressed, out, limit_bytes);
        let window_trustworthy = match &outcome {
            InflateOutcome::Complete => true,
            InflateOutcome::LimitHit { produced_at_least } => {
                *produced_at_least < (limit_bytes as u64).saturating_add(DISCARD_CAP_BYTES)
            }
            InflateOutcome::Failed { .. } => false,
        };
        if self.reset_after_each_message || !window_trustworthy {
            self.decompress.reset(false);
        }
        outcome
    }

    fn inflate_inner(&mut self, compressed: &[u8], out: &mut Vec<u8>, limit: usize) -> InflateOutcome {
        let start = out.len();
        let inputs = [compressed, &DEFLATE_TAIL[..]];
        for (i, whole_input) in inputs.iter().enumerate() {
            let mut input: &[u8] = whole_input;
            loop {
                let produced = out.len() - start;
                if produced >= limit {
                    // The cap bit (or is about to): count the rest without keeping it.
                    out.truncate(start + limit);
                    let rest: Vec<&[u8]> = std::iter::once(input)
                        .chain(inputs.iter().skip(i + 1).copied())
                        .collect();
                    return self.discard(&rest, produced as u64);
                }
                out.reserve((limit - produced).min(STEP_BYTES.max(input.len().saturating_mul(10))));
                let before_in = self.decompress.total_in();
                let before_out = self.decompress.total_out();
                let status = self.decompress.decompress_vec(input, out, FlushDecompress::Sync);
                let consumed = (self.decompress.total_in() - before_in) as usize;
                let written = self.decompress.total_out() - before_out;
                input = input.get(consumed..).unwrap_or(&[]);
                match status {
                    Err(err) => {
                        return InflateOutcome::Failed {
                            reason: err.to_string(),
                        };
                    }
                    Ok(Status::StreamEnd) => {
                        // The sender ended the deflate stream (BFINAL): the next message
                        // starts a new one.
                        self.decompress.reset(false);
                        return Self::finish(out, start, limit);
                    }
                    Ok(_) => {}
                }
                let space_left = out.capacity() > out.len();
                if input.is_empty() && space_left {
                    break;
                }
                if consumed == 0 && written == 0 && space_left {
                    return InflateOutcome::Failed {
                        reason: "inflater made no progress".to_owned(),
                    };
                }
            }
        }
        Self::finish(out, start, limit)
    }

    fn finish(out: &mut Vec<u8>, start: usize, limit: usize) -> InflateOutcome {
        let produced = out.len() - start;
        if produced > limit {
            out.truncate(start + limit);
            InflateOutcome::LimitHit {
                produced_at_least: produced as u64,
            }
        } else {
            InflateOutcome::Complete
        }
    }

    /// Inflates what is left into a scratch buffer, only to count it and keep the window.
    fn discard(&mut self, inputs: &[&[u8]], mut produced: u64) -> InflateOutcome {
        let mut scratch = vec![0u8; 64 << 10];
        let cap = produced.saturating_add(DISCARD_CAP_BYTES);
        'inputs: for whole_input in inputs {
            let mut input: &[u8] = whole_input;
            loop {
                let before_in = self.decompress.total_in();
                let before_out = self.decompress.total_out();
                let status = self.decompress.decompress(input, &mut scratch, FlushDecompress::Sync);
                let consumed = (self.decompress.total_in() - before_in) as usize;
                let written = self.decompress.total_out() - before_out;
                produced += written;
                input = input.get(consumed..).unwrap_or(&[]);
                match status {
                    Ok(Status::StreamEnd) | Err(_) => break 'inputs,
                    Ok(_) => {}
                }
                if produced > cap || (consumed == 0 && written == 0) {
                    break 'inputs;
                }
                if input.is_empty() && (written as usize) < scratch.len() {
                    break;
                }
            }
        }
        InflateOutcome::LimitHit {
            produced_at_least: produced,
        }
    }
}

/// Whether a compressed message needs the window of earlier messages (context takeover):
/// `Ok(plain)` if it inflates on its own, `Err(reason)` if it refers back past its start.
pub fn inflate_standalone(compressed: &[u8], limit_bytes: usize) -> Result<Vec<u8>, String> {
    let mut fresh = MessageInflater::new(true);
    let mut out = Vec::new();
    match fresh.inflate_message(compressed, &mut out, limit_bytes) {
        InflateOutcome::Complete | InflateOutcome::LimitHit { .. } => Ok(out),
        InflateOutcome::Failed { reason } => Err(reason),
    }
}

/// The sender's side: compresses messages as a permessage-deflate endpoint does (a sync
/// flush per message, the trailing `00 00 ff ff` removed). For building frames and captures.
pub struct MessageDeflater {
    compress: Compress,
    level: Compression,
    reset_after_each_message: bool,
    window_bits: u8,
}

impl MessageDeflater {
    /// `level` 0-9 (zlib's); `no_context_takeover` resets the window after every message.
    pub fn new(level: u32, no_context_takeover: bool) -> Self {
        Self::with_window_bits(level, no_context_takeover, 15)
    }

    /// With a window of 2^`bits` bytes, as a peer's `client_max_window_bits` asks (clamped to
    /// zlib's 9..=15: 8 is written as 9, which RFC 7692 §7.1.2.2 allows a sender to do only
    /// when the peer accepts it; no peer in practice asks for 8).
    pub fn with_window_bits(level: u32, no_context_takeover: bool, bits: u8) -> Self {
        let level = Compression::new(level.min(9));
        let window_bits = bits.clamp(9, 15);
        MessageDeflater {
            compress: Compress::new_with_window_bits(level, false, window_bits),
            level,
            reset_after_each_message: no_context_takeover,
            window_bits,
        }
    }

    /// The compressed payload of one message.
    pub fn compress_message(&mut self, data: &[u8]) -> Result<Vec<u8>, flate2::CompressError> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let start_in = self.compress.total_in();
        loop {
            out.reserve(data.len() / 2 + 1024);
            let consumed = (self.compress.total_in() - start_in) as usize;
            self.compress
                .compress_vec(data.get(consumed..).unwrap_or(&[]), &mut out, FlushCompress::Sync)?;
            let all_in = (self.compress.total_in() - start_in) as usize == data.len();
            // Done when every byte went in and the flush did not stop for lack of room.
            if all_in && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&DEFLATE_TAIL) {
            out.truncate(out.len() - DEFLATE_TAIL.len());
        }
        if self.reset_after_each_message {
            self.compress = Compress::new_with_window_bits(self.level, false, self.window_bits);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress_message(deflater: &mut MessageDeflater, data: &[u8]) -> Vec<u8> {
        deflater.compress_message(data).expect("compress")
    }

    fn new_compressor() -> MessageDeflater {
        MessageDeflater::new(6, false)
    }

    #[test]
    fn inflates_messages_that_share_a_window() {
        let mut c = new_compressor();
        let first = compress_message(&mut c, b"hello hello hello websocket");
        let second = compress_message(&mut c, b"hello hello hello websocket");
        // The second message refers back into the first one's window, so it is tiny.
        assert!(second.len() < first.len());
        let mut inflater = MessageInflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            inflater.inflate_message(&first, &mut out, 1 << 20),
            InflateOutcome::Complete
        );
        assert_eq!(out, b"hello hello hello websocket");
        out.clear();
        assert_eq!(
            inflater.inflate_message(&second, &mut out, 1 << 20),
            InflateOutcome::Complete
        );
        assert_eq!(out, b"hello hello hello websocket");
        // Without the window the second message cannot be inflated.
        let mut fresh = MessageInflater::new(true);
        out.clear();
        assert!(matches!(
            fresh.inflate_message(&second, &mut out, 1 << 20),
            InflateOutcome::Failed { .. }
        ));
    }

    #[test]
    fn inflates_the_rfc_7692_hello_example() {
        // RFC 7692 §7.2.3.1: "Hello" compressed.
        let mut out = Vec::new();
        let mut inflater = MessageInflater::new(false);
        let outcome = inflater.inflate_message(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100);
        assert_eq!(outcome, InflateOutcome::Complete);
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn a_bomb_stops_at_the_cap_and_says_so() {
        let data = vec![b'a'; 4 << 20];
        let mut c = new_compressor();
        let bomb = compress_message(&mut c, &data);
        assert!(bomb.len() * 1000 < data.len(), "ratio over 1000:1");
        let mut inflater = MessageInflater::new(false);
        let mut out = Vec::new();
        let outcome = inflater.inflate_message(&bomb, &mut out, 64 << 10);
        assert_eq!(out.len(), 64 << 10);
        match outcome {
            InflateOutcome::LimitHit { produced_at_least } => {
                assert_eq!(produced_at_least, data.len() as u64)
            }
            other => panic!("expected the cap to bite, got {other:?}"),
        }
    }

    #[test]
    fn a_deflater_without_context_takeover_makes_every_message_stand_alone() {
        let mut d = MessageDeflater::new(6, true);
        let first = d.compress_message(b"same text, same text").expect("deflate");
        let second = d.compress_message(b"same text, same text").expect("deflate");
        assert_eq!(first, second, "no reference back into the previous message");
        let mut fresh = MessageInflater::new(true);
        let mut out = Vec::new();
        assert_eq!(fresh.inflate_message(&second, &mut out, 1024), InflateOutcome::Complete);
        assert_eq!(out, b"same text, same text");
    }

    #[test]
    fn tells_whether_a_message_needs_the_earlier_window() {
        let mut c = new_compressor();
        let first = compress_message(&mut c, b"hello hello hello websocket");
        let second = compress_message(&mut c, b"hello hello hello websocket");
        assert_eq!(
            inflate_standalone(&first, 1024).as_deref(),
            Ok(&b"hello hello hello websocket"[..])
        );
        assert!(
            inflate_standalone(&second, 1024).is_err(),
            "the repeat refers back into the first"
        );
    }

    #[test]
    fn garbage_is_a_failure_not_a_panic() {
        let mut inflater = MessageInflater::new(false);
        let mut out = Vec::new();
        let outcome = inflater.inflate_message(&[0xff, 0xff, 0xff, 0xff, 0x00], &mut out, 1024);
        assert!(matches!(outcome, InflateOutcome::Failed { .. }), "{outcome:?}");
    }
}
