//! An isolation forest (Liu, Ting and Zhou, 2008) for a utility with no labelled thieves: meters whose
//! features are easy to separate from the rest by random cuts get a score near 1, ordinary meters
//! about 0.5 or less. Features are robust z-scores, so no unit dominates.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::PredictionError;

/// Rows each tree is grown on.
const SAMPLE: usize = 256;

/// One node: `[feature, threshold, left, right, size]`; a leaf has feature −1 and the rows it kept.
type Node = (i32, f64, u32, u32, u32);

/// A fitted isolation forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForest {
    /// Each tree's nodes, the root first.
    pub trees: Vec<Vec<Node>>,
    /// Rows per tree.
    pub sample: usize,
}

/// Average path length of an unsuccessful search in a binary search tree of `n` rows.
fn c(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else {
        2.0 * ((n - 1.0).ln() + 0.577_215_664_9) - 2.0 * (n - 1.0) / n
    }
}

fn grow(
    rows: &[&[f64]],
    depth: usize,
    limit: usize,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Node>,
) -> u32 {
    let index = out.len() as u32;
    let features = rows.first().map_or(0, |r| r.len());
    let leaf = (-1, 0.0, 0, 0, rows.len() as u32);
    if rows.len() <= 1 || depth >= limit || features == 0 {
        out.push(leaf);
        return index;
    }
    let feature = rng.gen_range(0..features);
    let (lo, hi) = rows
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
            (lo.min(r[feature]), hi.max(r[feature]))
        });
    if hi - lo <= 1e-12 {
        out.push(leaf);
        return index;
    }
    let threshold = rng.gen_range(lo..hi);
    out.push((feature as i32, threshold, 0, 0, 0));
    let (left, right): (Vec<&[f64]>, Vec<&[f64]>) =
        rows.iter().partition(|r| r[feature] < threshold);
    let l = grow(&left, depth + 1, limit, rng, out);
    let r = grow(&right, depth + 1, limit, rng, out);
    out[index as usize].2 = l;
    out[index as usize].3 = r;
    index
}

impl IsolationForest {
    /// Grows `trees` trees on random samples of `rows`, reproducibly from `seed`.
    pub fn fit(rows: &[Vec<f64>], trees: usize, seed: u64) -> Result<Self, PredictionError> {
        if rows.len() < 2 {
            return Err(PredictionError::Training(format!(
                "an isolation forest needs at least 2 meters, not {}",
                rows.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sample = rows.len().min(SAMPLE);
        let limit = (sample as f64).log2().ceil() as usize;
        let mut forest = Vec::with_capacity(trees);
        for _ in 0..trees {
            let chosen: Vec<&[f64]> = (0..sample)
                .map(|_| rows[rng.gen_range(0..rows.len())].as_slice())
                .collect();
            let mut nodes = Vec::new();
            grow(&chosen, 0, limit, &mut rng, &mut nodes);
            forest.push(nodes);
        }
        Ok(Self {
            trees: forest,
            sample,
        })
    }

    /// The anomaly score of `row` in (0, 1]: the higher, the easier it is to isolate.
    pub fn score(&self, row: &[f64]) -> f64 {
        if self.trees.is_empty() {
            return 0.0;
        }
        let mut total = 0.0;
        for tree in &self.trees {
            let (mut i, mut depth) = (0usize, 0.0);
            loop {
                let (feature, threshold, left, right, size) = tree[i];
                if feature < 0 {
                    total += depth + c(f64::from(size));
                    break;
                }
                let v = row.get(feature as usize).copied().unwrap_or(0.0);
                i = if v < threshold { left } else { right } as usize;
                depth += 1.0;
            }
        }
        let mean = total / self.trees.len() as f64;
        2f64.powf(-mean / c(self.sample as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outlier_scores_higher_than_the_crowd() {
        let mut rows: Vec<Vec<f64>> = (0..500)
            .map(|i| vec![f64::from(i % 17) / 17.0, f64::from(i % 13) / 13.0])
            .collect();
        rows.push(vec![8.0, -6.0]);
        let forest = IsolationForest::fit(&rows, 100, 1).unwrap();
        let outlier = forest.score(&[8.0, -6.0]);
        let ordinary = forest.score(&[0.5, 0.5]);
        assert!(outlier > 0.65 && ordinary < 0.5, "{outlier} {ordinary}");
        assert_eq!(forest, IsolationForest::fit(&rows, 100, 1).unwrap());
    }
}
