//! Message payloads in one growing byte buffer, with a budget.
//!
//! Past the budget only the first `PREFIX_BYTES` of each payload are kept, so memory stays
//! bounded on captures whose payloads inflate to many times their size; the message index
//! says how much was kept and the detail pane says so.

/// Bytes of each payload kept once the budget is spent.
pub const PREFIX_BYTES: usize = 4096;

#[derive(Debug)]
pub struct PayloadArena {
    bytes: Vec<u8>,
    budget: u64,
    /// Payloads that were cut to their prefix.
    pub elided: u64,
}

impl Default for PayloadArena {
    fn default() -> Self {
        Self::with_budget(u64::MAX)
    }
}

impl PayloadArena {
    pub fn with_budget(budget: u64) -> Self {
        PayloadArena {
            bytes: Vec::new(),
            budget,
            elided: 0,
        }
    }

    /// Stores (part of) a payload; returns where it starts and how many bytes were kept.
    pub fn push(&mut self, payload: &[u8]) -> (u64, u32) {
        let at = self.bytes.len() as u64;
        let room = self.budget.saturating_sub(at);
        let keep = if (payload.len() as u64) <= room {
            payload.len()
        } else {
            self.elided += 1;
            payload.len().min(PREFIX_BYTES)
        };
        let keep = keep.min(u32::MAX as usize);
        self.bytes.extend_from_slice(payload.get(..keep).unwrap_or(payload));
        (at, keep as u32)
    }

    pub fn get(&self, at: u64, len: u32) -> &[u8] {
        let start = at as usize;
        self.bytes.get(start..start + len as usize).unwrap_or(&[])
    }

    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_whole_payloads_within_budget_then_prefixes() {
        let mut arena = PayloadArena::with_budget(10_000);
        let (a, la) = arena.push(&[1; 6000]);
        assert_eq!((a, la), (0, 6000));
        let (b, lb) = arena.push(&[2; 6000]);
        assert_eq!(lb as usize, PREFIX_BYTES);
        assert_eq!(arena.get(b, lb), &[2; PREFIX_BYTES][..]);
        assert_eq!(arena.elided, 1);
        assert_eq!(arena.get(a, la).len(), 6000);
    }
}
