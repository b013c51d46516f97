//! How good a ranking is: area under the ROC curve, precision and average precision of the top k (an
//! inspection list of k meters), and the share of each kind of positive found in the top share.

use std::collections::BTreeMap;

/// Area under the ROC curve of `scores` against `truth` (ties count half); NaN without both answers.
pub fn auc(scores: &[f64], truth: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Mid-ranks over runs of equal scores.
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for k in &order[i..=j] {
            ranks[*k] = rank;
        }
        i = j + 1;
    }
    let positives = truth.iter().filter(|t| **t).count() as f64;
    let negatives = truth.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    let sum: f64 = ranks
        .iter()
        .zip(truth)
        .filter(|(_, t)| **t)
        .map(|(r, _)| r)
        .sum();
    (sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Indices ordered by descending score (ties by index).
pub fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
    order
}

/// Share of positives among the `k` highest scores.
pub fn precision_at(scores: &[f64], truth: &[bool], k: usize) -> f64 {
    let top = ranking(scores);
    let k = k.min(top.len());
    if k == 0 {
        return 0.0;
    }
    top[..k].iter().filter(|i| truth[**i]).count() as f64 / k as f64
}

/// Average precision of the top `k`: the mean of the precision at each positive found in the top k,
/// over `min(k, positives)` (MAP@k of one ranking).
pub fn average_precision_at(scores: &[f64], truth: &[bool], k: usize) -> f64 {
    let positives = truth.iter().filter(|t| **t).count();
    let denominator = k.min(positives);
    if denominator == 0 {
        return 0.0;
    }
    let mut found = 0usize;
    let mut sum = 0.0;
    for (n, i) in ranking(scores).into_iter().take(k).enumerate() {
        if truth[i] {
            found += 1;
            sum += found as f64 / (n + 1) as f64;
        }
    }
    sum / denominator as f64
}

/// For each kind of positive (`kinds[i]` is `Some(kind)` for a positive), the share found among the
/// top `share` of the ranking, with the kind's count.
pub fn recall_by_kind(
    scores: &[f64],
    kinds: &[Option<String>],
    share: f64,
) -> BTreeMap<String, (f64, usize)> {
    let k = ((scores.len() as f64) * share).ceil() as usize;
    let mut in_top = vec![false; scores.len()];
    for i in ranking(scores).into_iter().take(k) {
        in_top[i] = true;
    }
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (kind, top) in kinds.iter().zip(in_top) {
        if let Some(kind) = kind {
            let c = counts.entry(kind.clone()).or_default();
            c.0 += usize::from(top);
            c.1 += 1;
        }
    }
    counts
        .into_iter()
        .map(|(kind, (found, all))| (kind, (found as f64 / all as f64, all)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_measures_match_hand_counts() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5];
        let truth = [true, false, true, false, false];
        // Positives outrank 3 + 2 of the 2 × 3 pairs.
        assert!((auc(&scores, &truth) - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(auc(&[0.5; 4], &[true, false, true, false]), 0.5);
        assert!(auc(&scores, &[false; 5]).is_nan());
        assert_eq!(precision_at(&scores, &truth, 2), 0.5);
        assert!((average_precision_at(&scores, &truth, 3) - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        let kinds = [
            Some("a".to_string()),
            None,
            Some("b".into()),
            None,
            Some("b".into()),
        ];
        let recall = recall_by_kind(&scores, &kinds, 0.6);
        assert_eq!(recall["a"], (1.0, 1));
        assert_eq!(recall["b"], (0.5, 2));
    }
}
