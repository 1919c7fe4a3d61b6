//! Per-connection cap on findings of each kind (invariant: every table is bounded).

use rustc_hash::FxHashMap;

use crate::analysis::findings::FindingKind;

/// Counts findings per kind; past the cap they are counted, not reported.
#[derive(Default)]
pub struct FindingBudget {
    counts: FxHashMap<FindingKind, u32>,
}

impl FindingBudget {
    /// True if this finding may still be reported (it is counted either way).
    pub fn admit(&mut self, kind: FindingKind, cap: u32) -> bool {
        let n = self.counts.entry(kind).or_insert(0);
        *n = n.saturating_add(1);
        *n <= cap
    }

    /// The kinds that went past the cap, with how many were not reported, sorted by kind.
    pub fn suppressed(&self, cap: u32) -> Vec<(FindingKind, u32)> {
        let mut v: Vec<_> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > cap)
            .map(|(k, n)| (*k, *n - cap))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_past_the_cap_are_counted_per_kind() {
        let mut budget = FindingBudget::default();
        let admitted = (0..5).filter(|_| budget.admit(FindingKind::InvalidUtf8, 3)).count();
        assert_eq!(admitted, 3);
        assert!(budget.admit(FindingKind::TcpGap, 3));
        assert_eq!(budget.suppressed(3), vec![(FindingKind::InvalidUtf8, 2)]);
    }
}
