//! The TLS record layer of one direction: ordered TCP bytes in, whole records out.
//!
//! Records are cut from the caller's bytes without copying when a segment holds them whole;
//! only a record split across segments is copied (at most one record, 18 KiB). A gap the
//! reassembler declares loses the record it falls in: when that record's header was seen
//! its end is known and the next record follows directly; otherwise the reader searches
//! for the next plausible record header (bounded window) and resynchronises there.

/// Bytes of a record header: type, version, length.
pub const HEADER_BYTES: usize = 5;
/// Largest record body accepted: 2^14 + 2048, the TLSCiphertext limit of RFC 5246 §6.2.3
/// (TLS 1.3's limit, 2^14 + 256, is below it). A longer length is a broken stream.
pub const MAX_RECORD_BODY_BYTES: usize = 16384 + 2048;
/// Bytes held while searching for a record header after lost bytes; past this the oldest
/// half is dropped (and counted as skipped).
pub const MAX_SEARCH_BYTES: usize = 64 * 1024;

/// A record header (RFC 8446 §5.1, RFC 5246 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub len: u16,
}

pub const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
pub const CONTENT_ALERT: u8 = 21;
pub const CONTENT_HANDSHAKE: u8 = 22;
pub const CONTENT_APPLICATION_DATA: u8 = 23;
pub const CONTENT_HEARTBEAT: u8 = 24;

impl RecordHeader {
    pub fn parse(bytes: &[u8]) -> Option<RecordHeader> {
        match bytes {
            [t, v0, v1, l0, l1, ..] => Some(RecordHeader {
                content_type: *t,
                version: u16::from_be_bytes([*v0, *v1]),
                len: u16::from_be_bytes([*l0, *l1]),
            }),
            _ => None,
        }
    }

    pub fn to_bytes(self) -> [u8; 5] {
        let [v0, v1] = self.version.to_be_bytes();
        let [l0, l1] = self.len.to_be_bytes();
        [self.content_type, v0, v1, l0, l1]
    }

    /// Why this header cannot start a record, if it cannot.
    pub fn problem(self) -> Option<&'static str> {
        if !(CONTENT_CHANGE_CIPHER_SPEC..=CONTENT_HEARTBEAT).contains(&self.content_type) {
            Some("unknown content type")
        } else if self.version >> 8 != 3 || self.version & 0xff > 4 {
            Some("not a TLS record version")
        } else if usize::from(self.len) > MAX_RECORD_BODY_BYTES {
            Some("record longer than 2^14 + 2048 bytes")
        } else {
            None
        }
    }

    fn end(self, start: u64) -> u64 {
        start + HEADER_BYTES as u64 + u64::from(self.len)
    }
}

/// What the reader found.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordEvent<'a> {
    /// A whole record whose header starts at stream offset `offset`.
    Record {
        offset: u64,
        header: RecordHeader,
        body: &'a [u8],
    },
    /// A gap of `gap_len` bytes at `offset` lost the record that started at `record_offset`
    /// (`header` known) or an unknown number of records (`header` none: searching follows).
    Lost {
        offset: u64,
        gap_len: u64,
        record_offset: u64,
        header: Option<RecordHeader>,
    },
    /// An impossible header at `offset`: the reader searches for the next record.
    BadHeader {
        offset: u64,
        header: [u8; 5],
        why: &'static str,
    },
    /// After searching, a plausible record starts at `offset`; `skipped` bytes were passed over.
    Resynced { offset: u64, skipped: u64 },
}

/// One direction's record reader.
#[derive(Debug, Default)]
pub struct RecordReader {
    /// Synced: the bytes of one unfinished record. Searching: the search window.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Stream offset of the next byte expected.
    next_offset: u64,
    /// Bytes still to drop: the rest of a record partly lost in a gap.
    skip: u64,
    searching: bool,
    /// Bytes passed over since the search began.
    skipped: u64,
}

impl RecordReader {
    pub fn new() -> RecordReader {
        RecordReader::default()
    }

    /// Bytes held (an unfinished record or the search window).
    pub fn held_bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn is_searching(&self) -> bool {
        self.searching
    }

    /// In-order bytes starting at stream offset `offset`.
    pub fn push(&mut self, offset: u64, mut bytes: &[u8], out: &mut impl FnMut(RecordEvent<'_>)) {
        if offset > self.next_offset {
            self.gap(self.next_offset, offset - self.next_offset, out);
        } else if offset < self.next_offset {
            // Already seen (the reassembler should not do this): drop the overlap.
            let overlap = usize::try_from(self.next_offset - offset).unwrap_or(usize::MAX);
            bytes = bytes.get(overlap..).unwrap_or(&[]);
        }
        let mut at = self.next_offset;
        self.next_offset += bytes.len() as u64;
        if self.skip > 0 {
            let drop = usize::try_from(self.skip).unwrap_or(usize::MAX).min(bytes.len());
            bytes = bytes.get(drop..).unwrap_or(&[]);
            self.skip -= drop as u64;
            at += drop as u64;
        }
        if bytes.is_empty() {
            return;
        }
        if self.searching {
            if self.buf.is_empty() {
                self.buf_offset = at;
            }
            self.buf.extend_from_slice(bytes);
            self.search(out);
        } else {
            self.synced(at, bytes, out);
        }
    }

    /// `len` bytes at `offset` were not captured.
    pub fn gap(&mut self, offset: u64, len: u64, out: &mut impl FnMut(RecordEvent<'_>)) {
        self.next_offset = offset + len;
        if self.skip > 0 {
            // Inside a record already reported lost.
            if len <= self.skip {
                self.skip -= len;
                return;
            }
            let beyond = len - self.skip;
            self.skip = 0;
            self.start_search(offset + len);
            out(RecordEvent::Lost {
                offset: offset + len - beyond,
                gap_len: beyond,
                record_offset: offset + len - beyond,
                header: None,
            });
            return;
        }
        if self.searching {
            self.skipped += self.buf.len() as u64;
            self.buf.clear();
            self.buf_offset = offset + len;
            return;
        }
        let header = RecordHeader::parse(&self.buf);
        let record_offset = if self.buf.is_empty() { offset } else { self.buf_offset };
        out(RecordEvent::Lost {
            offset,
            gap_len: len,
            record_offset,
            header,
        });
        match header {
            Some(h) if h.end(record_offset) >= offset + len => {
                self.skip = h.end(record_offset) - (offset + len);
                self.buf.clear();
            }
            Some(h) => {
                // The gap runs past this record's end: what followed is lost too.
                let end = h.end(record_offset);
                out(RecordEvent::Lost {
                    offset: end,
                    gap_len: offset + len - end,
                    record_offset: end,
                    header: None,
                });
                self.start_search(offset + len);
            }
            None => self.start_search(offset + len),
        }
    }

    fn start_search(&mut self, at: u64) {
        self.searching = true;
        self.skipped = 0;
        self.buf.clear();
        self.buf_offset = at;
    }

    /// Cuts records from `bytes` (which start at stream offset `at`), finishing a buffered one first.
    fn synced(&mut self, mut at: u64, mut bytes: &[u8], out: &mut impl FnMut(RecordEvent<'_>)) {
        if !self.buf.is_empty() {
            if self.buf.len() < HEADER_BYTES {
                let take = (HEADER_BYTES - self.buf.len()).min(bytes.len());
                self.buf.extend_from_slice(bytes.get(..take).unwrap_or(&[]));
                bytes = bytes.get(take..).unwrap_or(&[]);
                at += take as u64;
                if self.buf.len() < HEADER_BYTES {
                    return;
                }
            }
            let Some(header) = RecordHeader::parse(&self.buf) else {
                return;
            };
            if let Some(why) = header.problem() {
                let start = self.buf_offset;
                let mut window = core::mem::take(&mut self.buf);
                window.extend_from_slice(bytes);
                self.bad_header(start, header, why, out);
                self.start_search(start + 1);
                self.buf.extend_from_slice(window.get(1..).unwrap_or(&[]));
                self.search(out);
                return;
            }
            let want = HEADER_BYTES + usize::from(header.len);
            let take = (want - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(bytes.get(..take).unwrap_or(&[]));
            bytes = bytes.get(take..).unwrap_or(&[]);
            at += take as u64;
            if self.buf.len() < want {
                return;
            }
            let record = core::mem::take(&mut self.buf);
            out(RecordEvent::Record {
                offset: self.buf_offset,
                header,
                body: record.get(HEADER_BYTES..).unwrap_or(&[]),
            });
            // Keep the allocation for the next split record.
            self.buf = record;
            self.buf.clear();
        }
        while bytes.len() >= HEADER_BYTES {
            let Some(header) = RecordHeader::parse(bytes) else {
                break;
            };
            if let Some(why) = header.problem() {
                self.bad_header(at, header, why, out);
                self.start_search(at + 1);
                self.buf.extend_from_slice(bytes.get(1..).unwrap_or(&[]));
                self.search(out);
                return;
            }
            let end = HEADER_BYTES + usize::from(header.len);
            let Some(body) = bytes.get(HEADER_BYTES..end) else {
                break;
            };
            out(RecordEvent::Record {
                offset: at,
                header,
                body,
            });
            bytes = bytes.get(end..).unwrap_or(&[]);
            at += end as u64;
        }
        if !bytes.is_empty() {
            self.buf_offset = at;
            self.buf.extend_from_slice(bytes);
        }
    }

    fn bad_header(
        &mut self,
        offset: u64,
        header: RecordHeader,
        why: &'static str,
        out: &mut impl FnMut(RecordEvent<'_>),
    ) {
        out(RecordEvent::BadHeader {
            offset,
            header: header.to_bytes(),
            why,
        });
    }

    /// Looks for a plausible record in the search window: a good header whose record is
    /// followed by another good header, or ends exactly where the captured bytes end.
    fn search(&mut self, out: &mut impl FnMut(RecordEvent<'_>)) {
        let mut p = 0usize;
        while let Some(candidate) = self.buf.get(p..) {
            if candidate.len() < HEADER_BYTES {
                break;
            }
            let header = RecordHeader::parse(candidate);
            let plausible = header.filter(|h| h.problem().is_none() && h.len > 0);
            if let Some(h) = plausible {
                let end = HEADER_BYTES + usize::from(h.len);
                if candidate.len() < end || (candidate.len() > end && candidate.len() < end + HEADER_BYTES) {
                    // Cannot judge yet: wait for more bytes.
                    break;
                }
                let next_ok = match candidate.get(end..) {
                    Some([]) => true,
                    Some(next) => RecordHeader::parse(next)
                        .is_some_and(|n| n.problem().is_none() && n.version >> 8 == h.version >> 8),
                    None => false,
                };
                if next_ok {
                    let offset = self.buf_offset + p as u64;
                    let skipped = self.skipped + p as u64;
                    let window = core::mem::take(&mut self.buf);
                    self.searching = false;
                    self.skipped = 0;
                    out(RecordEvent::Resynced { offset, skipped });
                    self.synced(offset, window.get(p..).unwrap_or(&[]), out);
                    return;
                }
            }
            p += 1;
        }
        // Drop what can no longer start a record, and keep the window bounded.
        let mut drop = p;
        if self.buf.len() - drop > MAX_SEARCH_BYTES {
            drop = self.buf.len() - MAX_SEARCH_BYTES / 2;
        }
        if drop > 0 {
            self.buf.drain(..drop);
            self.buf_offset += drop as u64;
            self.skipped += drop as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Ev {
        Record(u64, u8, Vec<u8>),
        Lost(u64, Option<u16>),
        Bad(u64, &'static str),
        Resynced(u64, u64),
    }

    fn run(steps: &[(u64, Result<&[u8], u64>)]) -> Vec<Ev> {
        let mut r = RecordReader::new();
        let mut evs = Vec::new();
        let mut f = |e: RecordEvent<'_>| {
            evs.push(match e {
                RecordEvent::Record { offset, header, body } => Ev::Record(offset, header.content_type, body.to_vec()),
                RecordEvent::Lost {
                    record_offset, header, ..
                } => Ev::Lost(record_offset, header.map(|h| h.len)),
                RecordEvent::BadHeader { offset, why, .. } => Ev::Bad(offset, why),
                RecordEvent::Resynced { offset, skipped } => Ev::Resynced(offset, skipped),
            })
        };
        for (offset, step) in steps {
            match step {
                Ok(bytes) => r.push(*offset, bytes, &mut f),
                Err(len) => r.gap(*offset, *len, &mut f),
            }
        }
        evs
    }

    fn rec(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 3, 3];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn several_records_per_segment_and_one_split_across_three_segments() {
        let mut stream = rec(22, b"hello");
        stream.extend(rec(23, &[7u8; 40]));
        stream.extend(rec(23, b"xyz"));
        let evs = run(&[
            (0, Ok(&stream[..12])),
            (12, Ok(&stream[12..14])),
            (14, Ok(&stream[14..])),
        ]);
        assert_eq!(
            evs,
            vec![
                Ev::Record(0, 22, b"hello".to_vec()),
                Ev::Record(10, 23, vec![7u8; 40]),
                Ev::Record(55, 23, b"xyz".to_vec()),
            ]
        );
    }

    #[test]
    fn a_gap_inside_a_record_with_a_known_header_loses_only_that_record() {
        let mut stream = rec(23, &[1u8; 100]);
        stream.extend(rec(23, b"next"));
        // bytes 20..60 of the first record are missing
        let evs = run(&[(0, Ok(&stream[..20])), (20, Err(40)), (60, Ok(&stream[60..]))]);
        assert_eq!(evs, vec![Ev::Lost(0, Some(100)), Ev::Record(105, 23, b"next".to_vec())]);
    }

    #[test]
    fn a_gap_over_a_header_resynchronises_on_the_next_plausible_record() {
        let mut stream = rec(23, &[1u8; 30]);
        stream.extend(rec(23, &[2u8; 30])); // 35..70
        stream.extend(rec(23, &[3u8; 30])); // 70..105
        stream.extend(rec(23, &[4u8; 30])); // 105..140
        // the header of the second record is lost: bytes 33..40
        let evs = run(&[(0, Ok(&stream[..33])), (33, Err(7)), (40, Ok(&stream[40..]))]);
        assert_eq!(evs[0], Ev::Lost(0, Some(30)));
        assert_eq!(evs[1], Ev::Lost(35, None));
        assert_eq!(evs[2], Ev::Resynced(70, 30));
        assert_eq!(evs[3], Ev::Record(70, 23, vec![3u8; 30]));
        assert_eq!(evs[4], Ev::Record(105, 23, vec![4u8; 30]));
    }

    #[test]
    fn an_impossible_length_is_reported_and_the_window_stays_bounded() {
        let mut junk = vec![23u8, 3, 3, 0xff, 0xff];
        junk.extend(std::iter::repeat_n(0u8, 200_000));
        let mut r = RecordReader::new();
        let mut bad = 0;
        for chunk in junk.chunks(1000).enumerate() {
            r.push(chunk.0 as u64 * 1000, chunk.1, &mut |e| {
                if matches!(e, RecordEvent::BadHeader { .. }) {
                    bad += 1
                }
            });
            assert!(r.held_bytes() <= MAX_SEARCH_BYTES + 1000);
        }
        assert_eq!(bad, 1);
        assert!(r.is_searching());
    }
}
