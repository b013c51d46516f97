//! Small statistics over series that may hold gaps (NaN): means, medians, correlation, and the robust
//! scaling (median and spread) every model file keeps for its features.

/// Mean of the finite values, NaN when there are none.
pub fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Population standard deviation of the finite values, NaN when there are none.
pub fn sd(values: &[f64]) -> f64 {
    let m = mean(values.iter().copied());
    mean(values.iter().map(|v| (v - m).powi(2))).sqrt()
}

/// Median of the finite values, NaN when there are none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Pearson correlation over the positions where both are finite; 0 when undefined.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .collect();
    if pairs.len() < 3 {
        return 0.0;
    }
    let ma = mean(pairs.iter().map(|p| p.0));
    let mb = mean(pairs.iter().map(|p| p.1));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    let r = sab / (saa * sbb).sqrt();
    if r.is_finite() {
        r
    } else {
        0.0
    }
}

/// Correlation of a series with itself `lag` steps later.
pub fn autocorrelation(series: &[f64], lag: usize) -> f64 {
    if series.len() <= lag {
        return 0.0;
    }
    correlation(&series[..series.len() - lag], &series[lag..])
}

/// `a / b` with `floor` added to both (so that two small numbers compare sensibly); 1 when undefined.
pub fn ratio(a: f64, b: f64, floor: f64) -> f64 {
    let r = (a + floor) / (b + floor);
    if r.is_finite() {
        r
    } else {
        1.0
    }
}

/// Per-feature median and spread (median absolute deviation × 1.4826, at least a small floor), for
/// z-scores that a few extreme meters do not distort.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RobustScaler {
    /// Median of each feature.
    pub median: Vec<f64>,
    /// Spread of each feature.
    pub spread: Vec<f64>,
}

impl RobustScaler {
    /// Fitted on the rows of `x` (row-major, `features` columns).
    pub fn fit(rows: &[Vec<f64>], features: usize) -> Self {
        let mut median_of = Vec::with_capacity(features);
        let mut spread = Vec::with_capacity(features);
        for f in 0..features {
            let m = median(rows.iter().map(|r| r[f]));
            let mad = median(rows.iter().map(|r| (r[f] - m).abs()));
            let scale = (mad * 1.4826).max(1e-6 + 1e-3 * m.abs());
            median_of.push(if m.is_finite() { m } else { 0.0 });
            spread.push(if scale.is_finite() { scale } else { 1.0 });
        }
        Self {
            median: median_of,
            spread,
        }
    }

    /// The z-score of value `v` of feature `f`, clamped to ±50.
    pub fn z(&self, f: usize, v: f64) -> f64 {
        let z = (v - self.median[f]) / self.spread[f];
        if z.is_finite() {
            z.clamp(-50.0, 50.0)
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_skip_gaps() {
        let nan = f64::NAN;
        assert_eq!(mean([1.0, nan, 3.0]), 2.0);
        assert_eq!(median([5.0, 1.0, nan, 3.0]), 3.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(mean([nan]).is_nan());
        let a = [1.0, 2.0, 3.0, 4.0, nan];
        assert!((correlation(&a, &[2.0, 4.0, 6.0, 8.0, 1.0]) - 1.0).abs() < 1e-12);
        assert!((correlation(&a, &[8.0, 6.0, 4.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        let weekly: Vec<f64> = (0..28)
            .map(|d| if d % 7 < 5 { 10.0 } else { 20.0 })
            .collect();
        assert!(autocorrelation(&weekly, 7) > 0.99);
        let scaler = RobustScaler::fit(&[vec![1.0], vec![2.0], vec![3.0], vec![100.0]], 1);
        assert_eq!(scaler.median, vec![2.5]);
        assert!(scaler.z(0, 100.0) > 20.0);
    }
}
