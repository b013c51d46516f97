//! Estimation: values for intervals whose measured value was removed or never came, in whole
//! micro-kWh. When the registers bracket a gap, its energy is known and every method only decides how
//! that energy is shared among the gap's intervals (the shares add up to it exactly); otherwise values
//! are interpolated or taken from the meter's profile.

use crate::interval_rules::gap_share;

/// A known `total` shared evenly over `n` intervals (today's `billing_energy` estimate).
pub fn spread_even(total: i64, n: usize) -> Vec<i64> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    (0..n)
        .map(|k| i64::try_from(gap_share(i128::from(total), n, k)).unwrap_or(0))
        .collect()
}

/// A known `total` shared in proportion to `weights` (non-negative; all zero: evenly). Shares are the
/// differences of the rounded-down running sums, so they add up to `total` exactly.
pub fn spread_by_weights(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if sum == 0 {
        return spread_even(total, weights.len());
    }
    let total = i128::from(total);
    let mut running = 0i128;
    let mut before = 0i128;
    weights
        .iter()
        .map(|w| {
            running += i128::from((*w).max(0));
            let upto = total * running / sum;
            let share = upto - before;
            before = upto;
            i64::try_from(share).unwrap_or(0)
        })
        .collect()
}

/// `len` values on the straight line from the valid value `before` the run to the one `after` it
/// (exclusive at both ends); one side only: that value throughout; neither: `None`.
pub fn interpolate(before: Option<i64>, after: Option<i64>, len: usize) -> Option<Vec<i64>> {
    let steps = i128::try_from(len).ok()? + 1;
    match (before, after) {
        (Some(b), Some(a)) => Some(
            (1..steps)
                .map(|k| {
                    let (b, a) = (i128::from(b), i128::from(a));
                    i64::try_from(b + (a - b) * k / steps).unwrap_or(0)
                })
                .collect(),
        ),
        (Some(v), None) | (None, Some(v)) => Some(vec![v; len]),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_known_energy() {
        for total in [0, 1, 7, 999_999, 12_345_678] {
            for n in 1..10 {
                assert_eq!(spread_even(total, n).iter().sum::<i64>(), total);
            }
            let weights = [0, 5, 3, 0, 9, 1];
            let shares = spread_by_weights(total, &weights);
            assert_eq!(shares.iter().sum::<i64>(), total);
            assert_eq!(shares[0], 0);
            assert_eq!(shares[3], 0);
        }
        assert_eq!(spread_by_weights(90, &[1, 2]), vec![30, 60]);
        assert_eq!(spread_by_weights(10, &[0, 0]), vec![5, 5]);
    }

    #[test]
    fn interpolation_runs_between_neighbours() {
        assert_eq!(interpolate(Some(100), Some(400), 2), Some(vec![200, 300]));
        assert_eq!(interpolate(Some(100), None, 3), Some(vec![100; 3]));
        assert_eq!(interpolate(None, None, 3), None);
    }
}
