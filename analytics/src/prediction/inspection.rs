//! The daily inspection list as alarms: the top of the theft ranking (at least a minimum score) raises
//! `theft_suspected` on each meter, so that revenue-protection staff see it in the alarm queue with its
//! score, rank and reasons; a meter that has left the list has its alarm cleared by the rule.

use std::collections::BTreeMap;

use super::score::ScoreRow;
use crate::diagnosis::{AlarmRule, Evidence, Signal};

/// How many meters the daily list raises, and the lowest score that counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InspectionList {
    /// Meters raised at most.
    pub top: usize,
    /// Lowest score raised.
    pub min_score: f64,
}

impl Default for InspectionList {
    fn default() -> Self {
        Self {
            top: 20,
            min_score: 0.5,
        }
    }
}

/// Raised signals for the list's meters and cleared ones for every other scored meter, for the
/// window `[start_us, end_us)` the scores cover.
pub fn signals(
    rows: &[ScoreRow],
    list: InspectionList,
    (start_us, end_us): (i64, i64),
) -> Vec<Signal> {
    rows.iter()
        .map(|r| {
            if r.rank <= list.top && r.score >= list.min_score {
                let mut values: BTreeMap<&'static str, f64> = BTreeMap::new();
                values.insert("theft_score", r.score);
                values.insert("rank", r.rank as f64);
                Signal::Raised {
                    meter_id: r.meter_id.clone(),
                    rule: AlarmRule::TheftSuspected,
                    at_us: end_us,
                    since_us: start_us,
                    evidence: vec![Evidence {
                        at_us: end_us,
                        values,
                    }],
                }
            } else {
                Signal::Cleared {
                    meter_id: r.meter_id.clone(),
                    rule: AlarmRule::TheftSuspected,
                    at_us: end_us,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_raises_and_the_rest_clears() {
        let rows: Vec<ScoreRow> = [0.9, 0.7, 0.4]
            .iter()
            .enumerate()
            .map(|(i, s)| ScoreRow {
                meter_id: format!("m{i}"),
                area_id: "A".into(),
                score: *s,
                rank: i + 1,
                reasons: Vec::new(),
            })
            .collect();
        let list = InspectionList {
            top: 1,
            min_score: 0.5,
        };
        let s = signals(&rows, list, (0, 10));
        assert!(matches!(&s[0], Signal::Raised { meter_id, .. } if meter_id == "m0"));
        assert!(matches!(&s[1], Signal::Cleared { .. }));
        assert!(matches!(&s[2], Signal::Cleared { .. }));
    }
}
