//! Tells TLS and HTTP/2 apart in a flow picked up mid-connection (its start was not
//! captured): TLS gets a key search (`conn::tls_layer`), HTTP/2 a `flow` record saying what
//! it is and why it cannot be decoded, instead of "no WebSocket frame boundary found":
//! people often start a capture after the page (and its TLS handshake, or its HTTP/2
//! preface) was already there.
//!
//! Both ask a direction's bytes, from the first captured one, to be a chain of record (or
//! frame) headers each followed by the body it announces ([`FrameWalk`]). A TLS record
//! header cannot start a valid WebSocket frame (0x14–0x17 set RSV1 with a reserved opcode),
//! so the first segment decides; HTTP/2 frame headers can (a length of 0x00 0x00 … reads as
//! a continuation frame), so it takes two whole frames and nothing else, and the flow
//! record says HTTP/2 only after the WebSocket frame search failed.

/// Why an HTTP/2 connection picked up mid-connection cannot be decoded (`bytes` looked at),
/// for its flow record.
pub fn mid_h2_reason(bytes: u64) -> String {
    format!(
        "HTTP/2 picked up mid-connection: its preface and header compression state were not \
         captured, so its WebSocket streams cannot be told from other streams ({bytes} bytes)"
    )
}

/// TLS records: content types ChangeCipherSpec, Alert, Handshake and ApplicationData.
const TLS_TYPES: std::ops::RangeInclusive<u8> = 20..=23;
/// The largest record body RFC 8446 §5.2 and RFC 5246 §6.2.3 allow (2^14 + 2048).
const TLS_MAX_BODY: usize = (1 << 14) + 2048;
/// Frames this long are past any SETTINGS_MAX_FRAME_SIZE seen in practice (2^24 − 1 is the
/// protocol's limit; browsers and servers stay at or near the 16 KiB default).
const H2_MAX_FRAME: usize = 1 << 20;

/// The body length a TLS record header announces, if it is one.
fn tls_record_len(h: &[u8]) -> Option<usize> {
    let [kind, major, minor, hi, lo] = *h else { return None };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    (TLS_TYPES.contains(&kind) && major == 3 && (1..=4).contains(&minor) && (1..=TLS_MAX_BODY).contains(&len))
        .then_some(len)
}

/// The payload length an HTTP/2 frame header announces, if it is one (RFC 9113 §4.1, and
/// the fixed lengths and stream rules of §6).
fn h2_frame_len(h: &[u8]) -> Option<usize> {
    let [l0, l1, l2, kind, _flags, s0, s1, s2, s3] = *h else {
        return None;
    };
    let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
    let reserved = s0 & 0x80 != 0;
    let stream = u32::from_be_bytes([s0, s1, s2, s3]) & 0x7fff_ffff;
    let fits = match kind {
        // DATA, HEADERS, CONTINUATION: on a stream.
        0 | 1 | 9 => stream != 0,
        2 => stream != 0 && len == 5,
        3 => stream != 0 && len == 4,
        4 => stream == 0 && len % 6 == 0,
        5 => stream != 0 && len >= 4,
        6 => stream == 0 && len == 8,
        7 => stream == 0 && len >= 8,
        8 => len == 4,
        _ => false,
    };
    (fits && !reserved && len <= H2_MAX_FRAME).then_some(len)
}

/// Whether `bytes`, a direction's first captured segment, are TLS records: a chain of
/// record headers to its end (the last record may run past it).
pub fn looks_like_tls_records(bytes: &[u8]) -> bool {
    let mut walk = FrameWalk::tls();
    walk.feed(bytes);
    !walk.broken && (walk.whole > 0 || walk.inside())
}

/// Walks a direction's bytes, as they arrive, as a chain of headers each followed by the
/// body it announces; it breaks at the first thing that is not a header.
#[derive(Clone, Debug)]
pub struct FrameWalk {
    header_len: usize,
    parse: fn(&[u8]) -> Option<usize>,
    header: [u8; 9],
    have: usize,
    /// Body bytes of the current record still to come.
    body_left: usize,
    /// Records (frames) walked to their end.
    pub whole: u32,
    pub broken: bool,
}

impl FrameWalk {
    pub fn tls() -> FrameWalk {
        FrameWalk::new(5, tls_record_len)
    }

    pub fn http2() -> FrameWalk {
        FrameWalk::new(9, h2_frame_len)
    }

    fn new(header_len: usize, parse: fn(&[u8]) -> Option<usize>) -> FrameWalk {
        FrameWalk {
            header_len,
            parse,
            header: [0; 9],
            have: 0,
            body_left: 0,
            whole: 0,
            broken: false,
        }
    }

    /// A header was read and its body has not ended.
    fn inside(&self) -> bool {
        self.body_left > 0
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.broken {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                bytes = bytes.get(n..).unwrap_or(&[]);
                if self.body_left == 0 {
                    self.whole += 1;
                }
                continue;
            }
            let n = (self.header_len - self.have).min(bytes.len());
            if let (Some(to), Some(from)) = (self.header.get_mut(self.have..self.have + n), bytes.get(..n)) {
                to.copy_from_slice(from);
            }
            self.have += n;
            bytes = bytes.get(n..).unwrap_or(&[]);
            if self.have < self.header_len {
                continue;
            }
            self.have = 0;
            match self.header.get(..self.header_len).and_then(self.parse) {
                Some(0) => self.whole += 1,
                Some(len) => self.body_left = len,
                None => self.broken = true,
            }
        }
    }

    /// Bytes were lost: the walk cannot go on.
    pub fn gap(&mut self) {
        self.broken = true;
    }

    /// HTTP/2 on this direction: at least two whole frames and nothing else.
    pub fn is_http2(&self) -> bool {
        !self.broken && self.whole >= 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls_record(kind: u8, len: usize) -> Vec<u8> {
        let mut r = vec![kind, 3, 3, (len >> 8) as u8, len as u8];
        r.extend(std::iter::repeat_n(0xa5, len));
        r
    }

    fn h2_frame(kind: u8, flags: u8, stream: u32, len: usize) -> Vec<u8> {
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend(std::iter::repeat_n(0x5a, len));
        f
    }

    #[test]
    fn application_data_records_are_tls_even_when_the_last_one_runs_past_the_segment() {
        let mut bytes = tls_record(23, 100);
        bytes.extend(tls_record(23, 16_401));
        assert!(looks_like_tls_records(&bytes));
        assert!(looks_like_tls_records(bytes.get(..300).unwrap()));
        // One record cut by the segment's end.
        assert!(looks_like_tls_records(bytes.get(..50).unwrap()));
    }

    #[test]
    fn bytes_that_break_the_chain_are_not_tls() {
        let mut bytes = tls_record(23, 100);
        bytes.extend_from_slice(&[0x82, 0x05, b'h', b'e', b'l', b'l', b'o']);
        assert!(!looks_like_tls_records(&bytes), "a WebSocket frame after a record");
        assert!(!looks_like_tls_records(&[0x81, 0x05, b'h', b'e', b'l', b'l', b'o']));
        assert!(!looks_like_tls_records(&tls_record(24, 10)), "content type 24");
        assert!(!looks_like_tls_records(&[23, 3, 3]), "a header cut short");
        assert!(!looks_like_tls_records(&[]));
    }

    fn looks_like_h2_frames(bytes: &[u8]) -> bool {
        let mut walk = FrameWalk::http2();
        walk.feed(bytes);
        walk.is_http2()
    }

    #[test]
    fn frames_split_anywhere_between_segments_are_walked_alike() {
        let mut bytes = h2_frame(0, 0, 5, 18);
        bytes.extend(h2_frame(1, 4, 7, 30));
        bytes.extend(h2_frame(0, 0, 5, 40_000));
        for step in [1, 4, 9, 13, 1448] {
            let mut walk = FrameWalk::http2();
            for piece in bytes.chunks(step) {
                walk.feed(piece);
            }
            assert!(walk.is_http2() && walk.whole == 3, "{step}: {walk:?}");
        }
        let mut lost = FrameWalk::http2();
        lost.feed(bytes.get(..20).unwrap());
        lost.gap();
        lost.feed(bytes.get(40..).unwrap());
        assert!(!lost.is_http2());
    }

    #[test]
    fn frames_of_several_streams_are_http2() {
        let mut bytes = h2_frame(0, 0, 1, 200);
        bytes.extend(h2_frame(8, 0, 0, 4));
        bytes.extend(h2_frame(0, 1, 3, 50));
        assert!(looks_like_h2_frames(&bytes));
        // Two whole frames and a DATA frame running past the segment.
        bytes.extend(h2_frame(0, 0, 5, 16_384));
        assert!(looks_like_h2_frames(bytes.get(..400).unwrap()));
    }

    #[test]
    fn one_frame_or_a_broken_rule_is_not_http2() {
        assert!(
            !looks_like_h2_frames(&h2_frame(0, 0, 1, 20)),
            "one frame decides nothing"
        );
        let mut ping_on_a_stream = h2_frame(6, 0, 1, 8);
        ping_on_a_stream.extend(h2_frame(0, 0, 1, 8));
        assert!(!looks_like_h2_frames(&ping_on_a_stream));
        let mut data_on_stream_0 = h2_frame(0, 0, 0, 8);
        data_on_stream_0.extend(h2_frame(0, 0, 1, 8));
        assert!(!looks_like_h2_frames(&data_on_stream_0));
        // WebSocket frames: a masked text frame and a binary one.
        let ws = [
            0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e, 0x82, 0x02, 0xff, 0x00,
        ];
        assert!(!looks_like_h2_frames(&ws));
    }
}
