//! Damage done to valid bytes by the structure-aware property tests (frames, Kafka messages): a few
//! bytes flipped, a cut, garbage inserted.

use proptest::prelude::*;
use proptest::sample::Index;

/// How many cases a mutation test runs: `METERLAKE_FUZZ_CASES` when set (the bounded fuzz run of
/// `scripts/fuzz.sh`), else `default` (the test command).
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("METERLAKE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// One draw of damage.
#[derive(Debug, Clone)]
pub(crate) struct Damage {
    flips: Vec<(Index, u8)>,
    cut: Option<Index>,
    insert: Option<(Index, Vec<u8>)>,
}

/// Up to 3 flipped bytes, maybe a cut, maybe up to `max_insert` garbage bytes inserted (drawn in that
/// order).
pub(crate) fn damage(max_insert: usize) -> impl Strategy<Value = Damage> {
    (
        proptest::collection::vec((any::<Index>(), 1u8..=255), 0..4),
        proptest::option::of(any::<Index>()),
        proptest::option::of((
            any::<Index>(),
            proptest::collection::vec(any::<u8>(), 1..max_insert),
        )),
    )
        .prop_map(|(flips, cut, insert)| Damage { flips, cut, insert })
}

impl Damage {
    /// `good` with the damage done: flips, then the insertion, then the cut.
    pub(crate) fn apply(&self, good: &[u8]) -> Vec<u8> {
        let mut bytes = good.to_vec();
        for (at, mask) in &self.flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Some((at, garbage)) = &self.insert {
            let i = at.index(bytes.len());
            bytes.splice(i..i, garbage.iter().copied());
        }
        if let Some(at) = self.cut {
            bytes.truncate(at.index(bytes.len()));
        }
        bytes
    }
}
