//! The rules that turn a meter's register readings into 15-minute interval energies, in one place.
//!
//! Three readers apply them: the `interval_energy` SQL view ([`crate::views`], through the SQL
//! fragments below), the native `interval_energy` table ([`crate::interval_table`]) and billing's scan of
//! the lake's files ([`crate::billing::lake_scan`]), both through the functions below. The equality tests
//! (`tests/interval_table.rs`, `tests/billing_scan.rs`) prove that the three agree.
//!
//! - **Span**: consecutive readings (in boundary order) span `⌊(end − start) / 15 min⌋` intervals, at
//!   least one; a span that is not a whole number of intervals is *unaligned*.
//! - **Register difference** (in 0.01 kWh): the new value itself after a meter replacement (the new
//!   register started at zero), else the difference, else — a fall from ≥ 900,000 kWh to < 100,000 kWh —
//!   the difference across the 6+2-digit register's rollover at 1,000,000 kWh; a register that went
//!   backwards otherwise has no difference.
//! - **Quality**: every interval of a span longer than one is `missing`; a single interval is `suspect`
//!   when its forward difference is unknown or above [`SUSPECT_KWH`], after a replacement, or unaligned;
//!   else `measured`.
//! - **Gap spreading**: a gap's readings bracket it, so its energy `E` is known; the `k`-th of its `n`
//!   intervals gets `⌊E·(k+1)/n⌋ − ⌊E·k/n⌋` micro-kWh, whole shares that add up to `E` exactly.

/// Minutes of one interval.
pub const INTERVAL_MINUTES: i64 = 15;
/// Intervals of a day without a clock change.
pub const SLOTS_PER_DAY: usize = (24 * 60 / INTERVAL_MINUTES) as usize;
/// One interval, µs.
pub const INTERVAL_US: i64 = INTERVAL_MINUTES * 60_000_000;
/// The register wraps at 1,000,000 kWh (in 0.01 kWh).
pub const ROLLOVER_E2: i64 = 100_000_000;
/// A fall from at least 900,000 kWh (in 0.01 kWh) …
pub const ROLLOVER_FROM_E2: i64 = 90_000_000;
/// … to below 100,000 kWh (in 0.01 kWh) is a rollover.
pub const ROLLOVER_TO_E2: i64 = 10_000_000;
/// Energy above this in one interval (kWh) is suspect: 40 kW average, three times what a 60 A
/// single-phase meter can carry.
pub const SUSPECT_KWH: u32 = 10;
/// [`SUSPECT_KWH`] in 0.01 kWh.
pub const SUSPECT_E2: i64 = SUSPECT_KWH as i64 * 100;
/// 0.01 kWh in micro-kWh (the unit gap shares are spread in).
pub const E2_TO_E6: i64 = 10_000;

/// How two consecutive readings relate in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Intervals the span covers, at least 1.
    pub intervals: i64,
    /// Whether the span is not a whole number of intervals.
    pub unaligned: bool,
}

impl Span {
    /// The span between readings at `start_us` and `end_us` (UTC µs, `start_us` < `end_us`).
    pub fn between(start_us: i64, end_us: i64) -> Self {
        let length = end_us.saturating_sub(start_us);
        Self {
            intervals: (length / INTERVAL_US).max(1),
            unaligned: length % INTERVAL_US != 0,
        }
    }

    /// Whether the span is a gap (more than one interval).
    pub fn is_gap(self) -> bool {
        self.intervals > 1
    }
}

/// A register's difference between two readings, in 0.01 kWh (see the module's rules); `None` when
/// the later value is unknown, the earlier one is unknown without a replacement, or the register went
/// backwards without a rollover.
pub fn register_delta(before: Option<i64>, after: Option<i64>, replaced: bool) -> Option<i64> {
    let after = after?;
    if replaced {
        return Some(after);
    }
    let before = before?;
    if after >= before {
        Some(after - before)
    } else if before >= ROLLOVER_FROM_E2 && after < ROLLOVER_TO_E2 {
        Some(after + ROLLOVER_E2 - before)
    } else {
        None
    }
}

/// Whether a meter with installations at `installs` (UTC µs, ascending) was replaced inside the span
/// (`start_us`, `end_us`]: its register then restarted at zero.
pub fn replaced_within(installs: &[i64], start_us: i64, end_us: i64) -> bool {
    let first_after = installs.partition_point(|at| *at <= start_us);
    installs.get(first_after).is_some_and(|at| *at <= end_us)
}

/// The quality of an interval as the views name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntervalQuality {
    /// A single-interval span with a plausible difference.
    Measured,
    /// Inside a gap.
    Missing,
    /// A single-interval span that cannot be trusted as it stands.
    Suspect,
}

impl IntervalQuality {
    /// The `quality` column's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Measured => "measured",
            Self::Missing => "missing",
            Self::Suspect => "suspect",
        }
    }

    /// The quality of the intervals of `span`, whose forward difference is `forward_e2`.
    pub fn of(span: Span, forward_e2: Option<i64>, replaced: bool) -> Self {
        if span.is_gap() {
            Self::Missing
        } else if forward_e2.is_none_or(|e| e > SUSPECT_E2) || replaced || span.unaligned {
            Self::Suspect
        } else {
            Self::Measured
        }
    }
}

/// The `k`-th of `n` shares of a gap's energy `total` (any unit; micro-kWh in practice).
pub fn gap_share(total: i128, n: i64, k: i64) -> i128 {
    if n <= 1 {
        return total;
    }
    let n = i128::from(n);
    total * i128::from(k + 1) / n - total * i128::from(k) / n
}

/// The same rules as SQL fragments, for the view's definition.
pub mod sql {
    use super::{
        INTERVAL_MINUTES, INTERVAL_US, ROLLOVER_E2, ROLLOVER_FROM_E2, ROLLOVER_TO_E2, SUSPECT_KWH,
    };

    /// Register values in the lake are kWh with two decimals; the constants above are 0.01 kWh.
    fn kwh(e2: i64) -> i64 {
        e2 / 100
    }

    /// The difference of register column `name` against `prev_<name>`, given a boolean `replaced`.
    pub fn register_delta(name: &str) -> String {
        format!(
            "CASE WHEN replaced THEN {name} \
             WHEN {name} >= prev_{name} THEN {name} - prev_{name} \
             WHEN prev_{name} >= {from} AND {name} < {to} THEN {name} + {wrap} - prev_{name} END",
            from = kwh(ROLLOVER_FROM_E2),
            to = kwh(ROLLOVER_TO_E2),
            wrap = kwh(ROLLOVER_E2),
        )
    }

    /// Intervals between µs columns `start` and `end` (at least 1).
    pub fn span_intervals(start: &str, end: &str) -> String {
        format!("greatest(({end} - {start}) / {INTERVAL_US}, 1)")
    }

    /// Whether the span between µs columns `start` and `end` is unaligned.
    pub fn span_unaligned(start: &str, end: &str) -> String {
        format!("({end} - {start}) % {INTERVAL_US} <> 0")
    }

    /// The `k`-th interval's start, µs, of a span starting at µs column `start`.
    pub fn interval_start_us(start: &str, k: &str) -> String {
        format!("{start} + {k} * {INTERVAL_US}")
    }

    /// The end of an interval that starts at timestamp column `start`.
    pub fn interval_end(start: &str) -> String {
        format!("{start} + INTERVAL '{INTERVAL_MINUTES} minutes'")
    }

    /// The quality, from `gap_intervals`, the forward difference `energy`, `replaced` and `unaligned`.
    pub fn quality(energy: &str) -> String {
        format!(
            "CASE WHEN gap_intervals > 1 THEN 'missing' \
             WHEN {energy} IS NULL OR replaced OR unaligned OR {energy} > {SUSPECT_KWH} THEN 'suspect' \
             ELSE 'measured' END"
        )
    }

    /// The `gap_index`-th share, in whole micro-kWh as a decimal kWh, of the gap energy `energy` (kWh)
    /// over `gap_intervals` intervals.
    pub fn gap_share(energy: &str) -> String {
        format!(
            "CAST((CAST({energy} * 1000000 AS BIGINT) * (gap_index + 1)) / gap_intervals \
             - (CAST({energy} * 1000000 AS BIGINT) * gap_index) / gap_intervals \
             AS DECIMAL(20, 0)) * CAST(0.000001 AS DECIMAL(7, 6))"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_follow_rollover_and_replacement() {
        assert_eq!(register_delta(Some(1_000), Some(1_025), false), Some(25));
        assert_eq!(register_delta(Some(99_999_990), Some(15), false), Some(25));
        assert_eq!(register_delta(Some(5_000), Some(4_000), false), None);
        assert_eq!(register_delta(Some(5_000), Some(40), true), Some(40));
        assert_eq!(register_delta(None, Some(40), true), Some(40));
        assert_eq!(register_delta(None, Some(40), false), None);
        assert_eq!(register_delta(Some(1), None, true), None);
        let installs = [0, 10 * INTERVAL_US];
        assert!(replaced_within(
            &installs,
            9 * INTERVAL_US,
            10 * INTERVAL_US
        ));
        assert!(!replaced_within(
            &installs,
            10 * INTERVAL_US,
            11 * INTERVAL_US
        ));
        assert!(!replaced_within(&installs, 0, 9 * INTERVAL_US));
    }

    #[test]
    fn spans_and_quality() {
        let one = Span::between(0, INTERVAL_US);
        assert_eq!(one.intervals, 1);
        assert!(!one.unaligned && !one.is_gap());
        let gap = Span::between(0, 3 * INTERVAL_US + 5);
        assert_eq!((gap.intervals, gap.unaligned), (3, true));
        assert_eq!(Span::between(0, 10).intervals, 1);
        assert_eq!(
            IntervalQuality::of(one, Some(SUSPECT_E2), false),
            IntervalQuality::Measured
        );
        assert_eq!(
            IntervalQuality::of(one, Some(SUSPECT_E2 + 1), false),
            IntervalQuality::Suspect
        );
        assert_eq!(
            IntervalQuality::of(one, None, false),
            IntervalQuality::Suspect
        );
        assert_eq!(
            IntervalQuality::of(gap, None, false),
            IntervalQuality::Missing
        );
    }

    #[test]
    fn gap_shares_add_up_exactly() {
        for n in 1..=13 {
            for total in [0i128, 1, 7, 1_000_000, 123_456_789] {
                let sum: i128 = (0..n).map(|k| gap_share(total, n, k)).sum();
                assert_eq!(sum, total, "{total} over {n}");
            }
        }
        assert_eq!(gap_share(1_000_000, 3, 0), 333_333);
        assert_eq!(gap_share(1_000_000, 3, 2), 333_334);
    }
}
