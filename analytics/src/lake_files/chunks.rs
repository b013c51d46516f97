//! Cutting a scan into meter ranges that are read, strung together and priced independently.
//!
//! Every row group's statistics give the meters it holds (`min..=max`). A cut at meter `v` splits the
//! scan into meters below `v` and meters from `v` on; a row group with `min < v ≤ max` straddles the
//! cut and is read by both sides (each keeping its own meters). Cuts are placed where nothing straddles
//! once a range holds [`ChunkLimits::rows`] rows — in a lake written in blocks of meters that is at
//! every block boundary — and, past [`ChunkLimits::cap_rows`], at the candidate that straddles fewest rows,
//! which bounds the memory a range needs in any layout.

/// One row group of one file, with the meters its statistics give (`None`: unbounded on that side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupSpan {
    /// The file's index in the scan.
    pub file: usize,
    /// The row group's index in its file.
    pub group: usize,
    /// Its rows.
    pub rows: usize,
    /// Its smallest meter.
    pub min: Option<String>,
    /// Its largest meter.
    pub max: Option<String>,
}

/// How large the meter ranges of a scan grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Rows after which a range ends at the next cut that no row group straddles.
    pub rows: usize,
    /// Rows after which a range ends at the least straddled cut seen.
    pub cap_rows: usize,
}

impl Default for ChunkLimits {
    /// 4 million rows, capped at 48 million (≈ 0.8 GB of readings in memory per core).
    fn default() -> Self {
        Self {
            rows: 4 << 20,
            cap_rows: 48 << 20,
        }
    }
}

impl ChunkLimits {
    /// These limits for a scan of `rows` readings on `workers` cores: the cap lowered so that every core
    /// gets at least two ranges, even where that means cuts that row groups straddle (read twice) —
    /// never below `rows` per range.
    pub fn balanced(self, rows: usize, workers: usize) -> Self {
        let share = rows / (2 * workers.max(1));
        Self {
            rows: self.rows,
            cap_rows: self.cap_rows.min(share.max(self.rows)),
        }
    }
}

/// Meters from `lo` (inclusive) to `hi` (exclusive); `None` is unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MeterRange {
    /// The first meter of the range.
    pub lo: Option<String>,
    /// The first meter after it.
    pub hi: Option<String>,
}

impl MeterRange {
    /// Whether `meter` lies in the range.
    pub fn contains(&self, meter: &str) -> bool {
        self.lo.as_deref().is_none_or(|lo| meter >= lo)
            && self.hi.as_deref().is_none_or(|hi| meter < hi)
    }

    fn overlaps(&self, group: &GroupSpan) -> bool {
        let below_hi = match (&self.hi, &group.min) {
            (Some(hi), Some(min)) => min < hi,
            _ => true,
        };
        let above_lo = match (&self.lo, &group.max) {
            (Some(lo), Some(max)) => max >= lo,
            _ => true,
        };
        below_hi && above_lo
    }
}

/// One meter range and what to read for it: each file's row groups, files in scan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// The meters the chunk decides.
    pub range: MeterRange,
    /// (file, its row groups).
    pub reads: Vec<(usize, Vec<usize>)>,
    /// The rows of those row groups.
    pub rows: usize,
}

/// Rows of the groups whose key (`min` or `max`) is below `v`: a sorted key list with running sums.
struct RowsBelow {
    keys: Vec<String>,
    sums: Vec<usize>,
    unbounded: usize,
}

impl RowsBelow {
    /// `keys` gives each group's key and rows; `None` keys count as below everything when
    /// `none_is_low`, above everything otherwise.
    fn new(keys: impl Iterator<Item = (Option<String>, usize)>, none_is_low: bool) -> Self {
        let mut bounded = Vec::new();
        let mut unbounded = 0;
        for (key, rows) in keys {
            match key {
                Some(key) => bounded.push((key, rows)),
                None if none_is_low => unbounded += rows,
                None => {}
            }
        }
        bounded.sort();
        let mut sums = Vec::with_capacity(bounded.len() + 1);
        sums.push(0);
        for (_, rows) in &bounded {
            sums.push(sums.last().copied().unwrap_or(0) + rows);
        }
        Self {
            keys: bounded.into_iter().map(|(k, _)| k).collect(),
            sums,
            unbounded,
        }
    }

    fn below(&self, v: &str) -> usize {
        let n = self.keys.partition_point(|k| k.as_str() < v);
        self.unbounded + self.sums[n]
    }
}

/// Cuts `groups` into meter ranges of about `limits.rows` rows each, in ascending meter order.
pub(crate) fn plan(groups: &[GroupSpan], limits: ChunkLimits) -> Vec<Chunk> {
    let below_min = RowsBelow::new(groups.iter().map(|g| (g.min.clone(), g.rows)), true);
    let below_max = RowsBelow::new(groups.iter().map(|g| (g.max.clone(), g.rows)), false);
    let straddling = |v: &str| below_min.below(v) - below_max.below(v);
    let mut candidates: Vec<&str> = groups.iter().filter_map(|g| g.min.as_deref()).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let mut cuts: Vec<String> = Vec::new();
    let mut since = 0;
    let mut best: Option<(usize, &str)> = None;
    for v in candidates {
        let rows = below_min.below(v) - since;
        if rows < limits.rows.max(1) {
            continue;
        }
        let straddle = straddling(v);
        if best.is_none_or(|(least, _)| straddle < least) {
            best = Some((straddle, v));
        }
        if straddle == 0 || rows >= limits.cap_rows {
            if let Some((_, at)) = best.take() {
                since = below_min.below(at);
                cuts.push(at.to_string());
            }
        }
    }
    let mut bounds: Vec<Option<String>> = vec![None];
    bounds.extend(cuts.into_iter().map(Some));
    bounds.push(None);
    bounds
        .windows(2)
        .map(|pair| {
            let range = MeterRange {
                lo: pair[0].clone(),
                hi: pair[1].clone(),
            };
            let mut reads: Vec<(usize, Vec<usize>)> = Vec::new();
            let mut rows = 0;
            for group in groups.iter().filter(|g| range.overlaps(g)) {
                rows += group.rows;
                match reads.last_mut() {
                    Some((file, list)) if *file == group.file => list.push(group.group),
                    _ => reads.push((group.file, vec![group.group])),
                }
            }
            Chunk { range, reads, rows }
        })
        .filter(|chunk| !chunk.reads.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(file: usize, group: usize, rows: usize, min: &str, max: &str) -> GroupSpan {
        GroupSpan {
            file,
            group,
            rows,
            min: Some(min.into()),
            max: Some(max.into()),
        }
    }

    fn ranges(chunks: &[Chunk]) -> Vec<(Option<&str>, Option<&str>)> {
        chunks
            .iter()
            .map(|c| (c.range.lo.as_deref(), c.range.hi.as_deref()))
            .collect()
    }

    #[test]
    fn blocks_of_meters_are_cut_where_nothing_straddles() {
        // Two days, each with two files of meter blocks a–c and d–f, split into row groups
        // at different meters on each day.
        let groups = [
            span(0, 0, 10, "a", "b"),
            span(0, 1, 10, "b", "c"),
            span(1, 0, 10, "d", "e"),
            span(1, 1, 10, "e", "f"),
            span(2, 0, 12, "a", "c"),
            span(2, 1, 8, "c", "c"),
            span(3, 0, 20, "d", "f"),
        ];
        let limits = ChunkLimits {
            rows: 15,
            cap_rows: 1_000,
        };
        let chunks = plan(&groups, limits);
        assert_eq!(ranges(&chunks), [(None, Some("d")), (Some("d"), None)]);
        assert_eq!(chunks[0].reads, [(0, vec![0, 1]), (2, vec![0, 1])]);
        assert_eq!(chunks[1].reads, [(1, vec![0, 1]), (3, vec![0])]);
        assert_eq!((chunks[0].rows, chunks[1].rows), (40, 40));
        // Large limits: one range over everything.
        let one = plan(&groups, ChunkLimits::default());
        assert_eq!(ranges(&one), [(None, None)]);
        assert_eq!(one[0].reads.len(), 4);
    }

    #[test]
    fn past_the_cap_the_least_straddled_cut_is_taken() {
        // Row groups that overlap: every cut straddles something.
        let groups = [
            span(0, 0, 10, "a", "d"),
            span(0, 1, 10, "e", "h"),
            span(1, 0, 10, "a", "c"),
            span(1, 1, 10, "c", "h"),
        ];
        let limits = ChunkLimits {
            rows: 15,
            cap_rows: 25,
        };
        let chunks = plan(&groups, limits);
        // At "c" 20 rows straddle, at "e" 10 (file 1's second group): "e" is cut, and the group
        // straddling it is read on both sides.
        assert_eq!(ranges(&chunks), [(None, Some("e")), (Some("e"), None)]);
        assert_eq!(chunks[0].reads, [(0, vec![0]), (1, vec![0, 1])]);
        assert_eq!(chunks[1].reads, [(0, vec![1]), (1, vec![1])]);
        assert!(chunks[0].range.contains("d") && !chunks[0].range.contains("e"));
        assert!(chunks[1].range.contains("e") && chunks[1].range.contains("z"));
    }

    #[test]
    fn a_small_scan_is_cut_for_every_core() {
        let limits = ChunkLimits::default();
        assert_eq!(limits.balanced(1_000_000_000, 2), limits);
        let small = limits.balanced(30 << 20, 2);
        assert_eq!((small.rows, small.cap_rows), (4 << 20, (30 << 20) / 4));
        assert_eq!(limits.balanced(1_000, 2).cap_rows, 4 << 20);
    }

    #[test]
    fn groups_without_statistics_are_read_by_every_range() {
        let mut groups = vec![span(0, 0, 10, "a", "b"), span(1, 0, 10, "c", "d")];
        groups.push(GroupSpan {
            file: 2,
            group: 0,
            rows: 5,
            min: None,
            max: None,
        });
        let limits = ChunkLimits {
            rows: 1,
            cap_rows: 1_000,
        };
        let chunks = plan(&groups, limits);
        assert_eq!(chunks.len(), 1, "the unbounded group straddles every cut");
        let capped = plan(
            &groups,
            ChunkLimits {
                rows: 1,
                cap_rows: 1,
            },
        );
        assert_eq!(
            ranges(&capped),
            [(None, Some("a")), (Some("a"), Some("c")), (Some("c"), None)]
        );
        assert!(capped.iter().all(|c| c.reads.iter().any(|(f, _)| *f == 2)));
    }
}
