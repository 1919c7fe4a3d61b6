//! HPACK (RFC 7541) header block decoding with one dynamic table per direction.
//!
//! Written here, with `httlib-huffman` for the Huffman code: the published HPACK decoders
//! either live inside HTTP/2 stacks without a public decoder (`h2`) or have panicked on
//! crafted input (integer overflow, index arithmetic). This one checks every integer, index
//! and size, caps the dynamic table (`MAX_TABLE_BYTES`, whatever a size update asks for) and
//! the decoded header list, and is fuzzed (`fuzz/fuzz_targets/h2_frames.rs`).

use std::collections::VecDeque;

use httlib_huffman::{DecoderSpeed, decode as huffman_decode};

/// The largest dynamic table accepted. A peer's SETTINGS_HEADER_TABLE_SIZE is 4 KiB by
/// default; larger sizes exist (64 KiB is common) but a size update beyond this cap is a
/// table-size bomb and an error.
pub const MAX_TABLE_BYTES: usize = 1 << 20;
/// Bytes of decoded header names and values per header block (about what
/// SETTINGS_MAX_HEADER_LIST_SIZE limits to in practice).
pub const MAX_HEADER_LIST_BYTES: usize = 256 * 1024;

/// RFC 7541 Appendix A.
const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Why a header block could not be decoded. After any of these the direction's dynamic
/// table may differ from the peer's, so later blocks cannot be trusted (RFC 7540 §4.3:
/// COMPRESSION_ERROR ends the connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HpackError {
    Truncated,
    IntegerOverflow,
    BadIndex(u64),
    Huffman,
    /// A dynamic table size update above the cap or above the negotiated maximum.
    TableSizeTooLarge(u64),
    /// A size update after the first header field of a block (RFC 7541 §4.2).
    LateSizeUpdate,
    HeaderListTooLarge,
}

impl core::fmt::Display for HpackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HpackError::Truncated => write!(f, "header block ends inside a field"),
            HpackError::IntegerOverflow => write!(f, "integer longer than 32 bits"),
            HpackError::BadIndex(i) => write!(f, "index {i} is in neither table"),
            HpackError::Huffman => write!(f, "invalid Huffman-coded string"),
            HpackError::TableSizeTooLarge(n) => {
                write!(f, "dynamic table size update to {n} bytes (cap {MAX_TABLE_BYTES})")
            }
            HpackError::LateSizeUpdate => write!(f, "table size update after a header field"),
            HpackError::HeaderListTooLarge => write!(f, "decoded header list over {MAX_HEADER_LIST_BYTES} bytes"),
        }
    }
}

/// One decoded header field.
pub type Field = (Vec<u8>, Vec<u8>);

/// One direction's HPACK decoder (its dynamic table is shared by all streams).
#[derive(Debug)]
pub struct Decoder {
    table: VecDeque<Field>,
    table_bytes: usize,
    max_table_bytes: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            table: VecDeque::new(),
            table_bytes: 0,
            max_table_bytes: 4096,
        }
    }
}

fn entry_size(field: &Field) -> usize {
    field.0.len() + field.1.len() + 32
}

/// A checked cursor over a header block.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.first().copied()
    }

    /// An integer with an N-bit prefix (RFC 7541 §5.1), at most 2^32 - 1.
    fn integer(&mut self, prefix_bits: u32) -> Result<u64, HpackError> {
        let (&first, rest) = self.bytes.split_first().ok_or(HpackError::Truncated)?;
        self.bytes = rest;
        let max_prefix = (1u64 << prefix_bits) - 1;
        let mut value = u64::from(first) & max_prefix;
        if value < max_prefix {
            return Ok(value);
        }
        let mut shift = 0u32;
        loop {
            let (&b, rest) = self.bytes.split_first().ok_or(HpackError::Truncated)?;
            self.bytes = rest;
            value += u64::from(b & 0x7f) << shift;
            if value > u64::from(u32::MAX) {
                return Err(HpackError::IntegerOverflow);
            }
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 28 {
                return Err(HpackError::IntegerOverflow);
            }
        }
    }

    /// A string literal (RFC 7541 §5.2), Huffman-decoded when flagged.
    fn string(&mut self, budget: usize) -> Result<Vec<u8>, HpackError> {
        let huffman = self.peek().ok_or(HpackError::Truncated)? & 0x80 != 0;
        let len = usize::try_from(self.integer(7)?).map_err(|_| HpackError::IntegerOverflow)?;
        let (raw, rest) = self.bytes.split_at_checked(len).ok_or(HpackError::Truncated)?;
        self.bytes = rest;
        if !huffman {
            if raw.len() > budget {
                return Err(HpackError::HeaderListTooLarge);
            }
            return Ok(raw.to_vec());
        }
        // Huffman codes are at least 5 bits: the text is at most 8/5 of the code.
        if raw.len().saturating_mul(8) / 5 > budget.saturating_add(8) {
            return Err(HpackError::HeaderListTooLarge);
        }
        let mut out = Vec::with_capacity(raw.len() * 8 / 5 + 1);
        huffman_decode(raw, &mut out, DecoderSpeed::FourBits).map_err(|_| HpackError::Huffman)?;
        Ok(out)
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Bytes the dynamic table holds (entry sizes as RFC 7541 §4.1 counts them).
    pub fn table_bytes(&self) -> usize {
        self.table_bytes
    }

    fn field(&self, index: u64) -> Result<Field, HpackError> {
        let i = usize::try_from(index).map_err(|_| HpackError::BadIndex(index))?;
        if i == 0 {
            return Err(HpackError::BadIndex(index));
        }
        if let Some((n, v)) = STATIC_TABLE.get(i - 1) {
            return Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()));
        }
        self.table
            .get(i - 1 - STATIC_TABLE.len())
            .cloned()
            .ok_or(HpackError::BadIndex(index))
    }

    fn evict_to(&mut self, max: usize) {
        while self.table_bytes > max {
            match self.table.pop_back() {
                Some(old) => self.table_bytes -= entry_size(&old),
                None => {
                    self.table_bytes = 0;
                    break;
                }
            }
        }
    }

    fn insert(&mut self, field: Field) {
        let size = entry_size(&field);
        if size > self.max_table_bytes {
            // RFC 7541 §4.4: an entry larger than the table empties it.
            self.table.clear();
            self.table_bytes = 0;
            return;
        }
        self.evict_to(self.max_table_bytes - size);
        self.table_bytes += size;
        self.table.push_front(field);
    }

    /// Decodes one whole header block (HEADERS plus CONTINUATIONs, padding removed).
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<Field>, HpackError> {
        let mut c = Cursor { bytes: block };
        let mut fields = Vec::new();
        let mut list_bytes = 0usize;
        while let Some(first) = c.peek() {
            let field = if first & 0x80 != 0 {
                // Indexed header field (§6.1).
                let index = c.integer(7)?;
                self.field(index)?
            } else if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3): only before the first field.
                if !fields.is_empty() {
                    return Err(HpackError::LateSizeUpdate);
                }
                let size = c.integer(5)?;
                let size_bytes = usize::try_from(size).unwrap_or(usize::MAX);
                if size_bytes > MAX_TABLE_BYTES {
                    return Err(HpackError::TableSizeTooLarge(size));
                }
                self.max_table_bytes = size_bytes;
                self.evict_to(size_bytes);
                continue;
            } else {
                // Literal with incremental indexing (6-bit prefix), without indexing or
                // never indexed (4-bit prefix).
                let indexing = first & 0xc0 == 0x40;
                let prefix = if indexing { 6 } else { 4 };
                let index = c.integer(prefix)?;
                let budget = MAX_HEADER_LIST_BYTES.saturating_sub(list_bytes);
                let name = if index == 0 {
                    c.string(budget)?
                } else {
                    self.field(index)?.0
                };
                let value = c.string(budget.saturating_sub(name.len()))?;
                let field = (name, value);
                if indexing {
                    self.insert(field.clone());
                }
                field
            };
            list_bytes = list_bytes.saturating_add(field.0.len() + field.1.len());
            if list_bytes > MAX_HEADER_LIST_BYTES {
                return Err(HpackError::HeaderListTooLarge);
            }
            fields.push(field);
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex with any spacing (the project's own parser, as the frame builder uses).
    fn hx(s: &str) -> Vec<u8> {
        crate::analysis::ws::builder::parse_hex(s).expect("hex")
    }

    fn text(fields: &[Field]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_rfc_7541_huffman_request_examples_decode_with_one_shared_table() {
        // RFC 7541 C.4.1-C.4.3: three requests on one connection.
        let mut d = Decoder::new();
        let first = d.decode(&hx("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")).unwrap();
        assert_eq!(
            text(&first),
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com")
            ])
        );
        assert_eq!(d.table_bytes(), 57);
        let second = d.decode(&hx("8286 84be 5886 a8eb 1064 9cbf")).unwrap();
        assert_eq!(text(&second)[4], ("cache-control".to_owned(), "no-cache".to_owned()));
        assert_eq!(d.table_bytes(), 110);
        let third = d
            .decode(&hx("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"))
            .unwrap();
        assert_eq!(
            text(&third),
            pairs(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ])
        );
        assert_eq!(d.table_bytes(), 164);
    }

    #[test]
    fn a_table_size_bomb_is_an_error_not_an_allocation() {
        let mut d = Decoder::new();
        // Size update to 2^32 - 1 (5-bit prefix 31, then 0xff 0xff 0xff 0xff 0x0f).
        let bomb = [0x3f, 0xe0, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(d.decode(&bomb), Err(HpackError::TableSizeTooLarge(u64::from(u32::MAX))));
        // An integer that never ends.
        assert_eq!(
            d.decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(HpackError::IntegerOverflow)
        );
        // An index past both tables.
        assert_eq!(d.decode(&[0xff, 0x00]), Err(HpackError::BadIndex(127)));
        // A literal whose length runs past the block.
        assert_eq!(d.decode(&[0x40, 0x0a, b'a']), Err(HpackError::Truncated));
    }

    #[test]
    fn a_header_list_over_the_cap_is_refused() {
        let mut d = Decoder::new();
        let mut block = Vec::new();
        // 300 literal fields of 1000-byte values, never indexed.
        for _ in 0..300 {
            block.extend_from_slice(&[0x10, 0x01, b'x', 0x7f, 0xe9, 0x06]); // value length 127 + 873 = 1000
            block.extend(std::iter::repeat_n(b'v', 1000));
        }
        assert_eq!(d.decode(&block), Err(HpackError::HeaderListTooLarge));
    }
}
