//! A random forest for a yes/no question (theft, a fault within N days): `linfa-trees` decision trees
//! on bootstrap samples drawn by `linfa` (as `linfa-ensemble` draws them), kept as flat trees whose leaves hold the share of positive training rows that reach them, so
//! that a score is a probability-like number (the trees' mean) rather than a vote count, and a model
//! file stays small and reloads exactly.

use linfa::traits::Fit;
use linfa::Dataset;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::PredictionError;

/// Hyperparameters of a forest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Trees.
    pub trees: usize,
    /// Deepest split.
    pub max_depth: usize,
    /// Fewest (weighted) rows a node needs to be split.
    pub min_split: f32,
    /// Share of the features each tree sees.
    pub feature_share: f64,
}

impl Default for ForestParams {
    fn default() -> Self {
        Self {
            trees: 60,
            max_depth: 9,
            min_split: 8.0,
            feature_share: 0.6,
        }
    }
}

/// What a positive row weighs against a negative one's 1. linfa-trees prunes sibling leaves that
/// predict the same class and picks a leaf's class by iterating a std `HashMap`, so equal counts of
/// both answers would fall either way from one run to the next; with this weight no two counts tie
/// (sums stay exact in `f32` below 4,095 rows per node) and a tie of counts goes to "yes". The same
/// seed then gives the same trees, byte for byte.
const POSITIVE_WEIGHT: f32 = 1.0 + 1.0 / 4096.0;

/// One node: `[feature, threshold, left, right, value]`; a leaf has feature −1 and holds its value.
type Node = (i32, f64, u32, u32, f64);

/// A trained forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    /// Each tree's nodes, the root first (numbers written as exact decimal text, see [`exact`]).
    #[serde(with = "exact")]
    pub trees: Vec<Vec<Node>>,
    /// Each feature's share of the impurity decrease, summing to 1.
    pub importance: Vec<f64>,
}

/// Thresholds and leaf values as text that parses back to the same `f64` (serde_json's default float
/// parser may miss the last bit, and a row exactly at a threshold would then change sides on reload).
mod exact {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Node;

    type Written = (i32, String, u32, u32, String);

    pub fn serialize<S: Serializer>(trees: &[Vec<Node>], s: S) -> Result<S::Ok, S::Error> {
        let written: Vec<Vec<Written>> = trees
            .iter()
            .map(|t| {
                t.iter()
                    .map(|n| (n.0, n.1.to_string(), n.2, n.3, n.4.to_string()))
                    .collect()
            })
            .collect();
        written.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<Node>>, D::Error> {
        let written = Vec::<Vec<Written>>::deserialize(d)?;
        let number = |text: &str| text.parse::<f64>().map_err(serde::de::Error::custom);
        written
            .into_iter()
            .map(|t| {
                t.into_iter()
                    .map(|(f, th, l, r, v)| Ok((f, number(&th)?, l, r, number(&v)?)))
                    .collect()
            })
            .collect()
    }
}

fn flatten(
    node: &TreeNode<f64, usize>,
    features: &[usize],
    out: &mut Vec<Node>,
) -> Result<u32, PredictionError> {
    let index =
        u32::try_from(out.len()).map_err(|_| PredictionError::Model("tree too large".into()))?;
    if node.is_leaf() {
        out.push((-1, 0.0, 0, 0, 0.0));
        return Ok(index);
    }
    let (sub, threshold, _) = node.split();
    let feature = features
        .get(sub)
        .and_then(|f| i32::try_from(*f).ok())
        .ok_or_else(|| PredictionError::Model(format!("split on unknown feature {sub}")))?;
    out.push((feature, threshold, 0, 0, 0.0));
    let children = node.children();
    let child = |i: usize| -> Result<&TreeNode<f64, usize>, PredictionError> {
        children[i]
            .as_deref()
            .ok_or_else(|| PredictionError::Model("an inner node lacks a child".into()))
    };
    let left = flatten(child(0)?, features, out)?;
    let right = flatten(child(1)?, features, out)?;
    out[index as usize].2 = left;
    out[index as usize].3 = right;
    Ok(index)
}

fn leaf_of(tree: &[Node], row: &[f64]) -> usize {
    let mut i = 0;
    loop {
        let (feature, threshold, left, right, _) = tree[i];
        if feature < 0 {
            return i;
        }
        let v = row.get(feature as usize).copied().unwrap_or(0.0);
        i = if v < threshold { left } else { right } as usize;
    }
}

impl Forest {
    /// Trains on rows `x` with answers `y` (the same length, at least one of each answer), reproducibly
    /// from `seed`.
    pub fn train(
        x: &[Vec<f64>],
        y: &[bool],
        params: ForestParams,
        seed: u64,
    ) -> Result<Self, PredictionError> {
        let features = x.first().map_or(0, Vec::len);
        let positives = y.iter().filter(|v| **v).count();
        if x.len() != y.len() || features == 0 || positives == 0 || positives == y.len() {
            return Err(PredictionError::Training(format!(
                "{} rows with {positives} positive: a forest needs both answers",
                y.len()
            )));
        }
        let records = Array2::from_shape_fn((x.len(), features), |(r, c)| x[r][c]);
        let targets = Array1::from_iter(y.iter().map(|v| usize::from(*v)));
        let dataset = Dataset::new(records, targets);
        let tree = DecisionTree::<f64, usize>::params()
            .max_depth(Some(params.max_depth))
            .min_weight_split(params.min_split);
        if !(params.feature_share > 0.0 && params.feature_share <= 1.0) || params.trees == 0 {
            return Err(PredictionError::Training(format!(
                "a forest needs at least one tree and a feature share in (0, 1], not {} and {}",
                params.trees, params.feature_share
            )));
        }
        let per_tree = ((features as f64) * params.feature_share).ceil() as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut fitted = Vec::with_capacity(params.trees);
        for (sample, rows, chosen) in dataset
            .bootstrap_with_indices((x.len(), per_tree), &mut rng)
            .take(params.trees)
        {
            let weights = rows
                .iter()
                .map(|r| if y[*r] { POSITIVE_WEIGHT } else { 1.0 })
                .collect();
            let model = tree
                .fit(&sample.with_weights(weights))
                .map_err(|e| PredictionError::Model(e.to_string()))?;
            fitted.push((model, chosen));
        }
        let mut importance = vec![0.0; features];
        let mut trees = Vec::with_capacity(fitted.len());
        for (model, chosen) in &fitted {
            for (sub, value) in model.feature_importance().into_iter().enumerate() {
                if let Some(f) = chosen.get(sub) {
                    importance[*f] += if value.is_finite() { value } else { 0.0 };
                }
            }
            let mut nodes = Vec::new();
            flatten(model.root_node(), chosen, &mut nodes)?;
            trees.push(nodes);
        }
        let total: f64 = importance.iter().sum();
        if total > 0.0 {
            importance.iter_mut().for_each(|v| *v /= total);
        }
        // Leaf values: the share of positive training rows reaching the leaf, shrunk towards the prior.
        let prior = positives as f64 / y.len() as f64;
        for tree in &mut trees {
            let mut counts = vec![(0u32, 0u32); tree.len()];
            for (row, answer) in x.iter().zip(y) {
                let leaf = leaf_of(tree, row);
                counts[leaf].0 += 1;
                counts[leaf].1 += u32::from(*answer);
            }
            for (node, (n, pos)) in tree.iter_mut().zip(counts) {
                if node.0 < 0 {
                    node.4 = (f64::from(pos) + 2.0 * prior) / (f64::from(n) + 2.0);
                }
            }
        }
        Ok(Self { trees, importance })
    }

    /// The mean of the trees' leaf values for `row`: 0 (surely no) to 1 (surely yes).
    pub fn score(&self, row: &[f64]) -> f64 {
        if self.trees.is_empty() {
            return 0.0;
        }
        let sum: f64 = self.trees.iter().map(|t| t[leaf_of(t, row)].4).sum();
        sum / self.trees.len() as f64
    }

    /// Checks that every node points inside its tree and forward (no cycles), for a loaded file.
    pub fn validate(&self, features: usize) -> Result<(), PredictionError> {
        for (t, tree) in self.trees.iter().enumerate() {
            for (i, (f, _, l, r, _)) in tree.iter().enumerate() {
                let bad = *f >= 0
                    && (*f as usize >= features
                        || *l as usize <= i
                        || *r as usize <= i
                        || *l as usize >= tree.len()
                        || *r as usize >= tree.len());
                if bad || tree.is_empty() {
                    return Err(PredictionError::Model(format!(
                        "tree {t} node {i} is malformed"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_rows_are_ranked_and_reload_exactly() {
        let x: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![f64::from(i % 10), f64::from(i) / 10.0, f64::from(i % 3)])
            .collect();
        let y: Vec<bool> = (0..200).map(|i| i % 10 >= 8).collect();
        // linfa draws each tree's features with replacement: some trees miss the one that decides.
        let params = ForestParams {
            trees: 30,
            feature_share: 1.0,
            ..ForestParams::default()
        };
        let forest = Forest::train(&x, &y, params, 3).unwrap();
        forest.validate(3).unwrap();
        let (yes, no) = (
            forest.score(&[9.0, 5.0, 0.0]),
            forest.score(&[1.0, 5.0, 0.0]),
        );
        assert!(yes > 0.5 && no < 0.2 && yes > no + 0.4, "{yes} {no}");
        assert!(forest.importance[0] > 0.5, "{:?}", forest.importance);
        // The same seed gives the same trees, byte for byte (ties of counts do not depend on a
        // HashMap's order: see POSITIVE_WEIGHT); another seed gives other trees.
        for _ in 0..5 {
            assert_eq!(Forest::train(&x, &y, params, 3).unwrap(), forest);
        }
        assert_ne!(Forest::train(&x, &y, params, 4).unwrap(), forest);
        let text = serde_json::to_string(&forest).unwrap();
        let back: Forest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, forest);
        assert!(Forest::train(&x, &[false; 200], params, 3).is_err());
    }
}
