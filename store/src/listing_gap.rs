//! Loading a table's log again when its listing showed a gap that a concurrent writer made.
//!
//! A listing of a local log directory taken while a writer adds entries can miss an earlier new
//! entry and see a later one (ext4 returns a directory's entries in hash order, not name order); the
//! delta kernel then refuses the log: "Expected contiguous commit files, but found gap". The chaos
//! suite met it reading the lake while a sink and `meterlake compact` committed in turn. Such a gap
//! closes at once, so the load is tried again a few times; a real gap (a deleted entry) fails each try.

use std::time::Duration;

use deltalake::{DeltaTable, DeltaTableError};

/// Tries after the first.
const RETRIES: u32 = 3;

/// Whether `err` is the kernel's refusal of a log whose listing skipped a version. The kernel gives
/// it only as text (a generic kernel error).
fn is_listing_gap(err: &DeltaTableError) -> bool {
    err.to_string()
        .contains("Expected contiguous commit files, but found gap")
}

/// Loads `table`'s newest version (from scratch if it was never loaded), again after a short pause
/// while the listing shows a gap.
pub(crate) async fn load_retrying(table: &mut DeltaTable) -> Result<(), DeltaTableError> {
    let mut tries = 0;
    loop {
        let result = if table.version().is_some() {
            table.update_incremental(None).await
        } else {
            table.load().await
        };
        match result {
            Err(err) if tries < RETRIES && is_listing_gap(&err) => {
                tries += 1;
                tracing::debug!(%err, tries, "the log's listing showed a gap: listing again");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(tries))).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::{Lake, SourcePosition};
    use crate::test_rows::batch;
    use crate::LakeLocation;

    #[tokio::test]
    async fn a_gap_that_closes_is_listed_again_and_one_that_stays_fails() {
        let dir = tempfile::tempdir().unwrap();
        let location = LakeLocation::parse(dir.path().to_str().unwrap()).unwrap();
        let mut lake = Lake::open(&location, chrono_tz::Asia::Shanghai)
            .await
            .unwrap();
        let at: chrono::DateTime<chrono::Utc> = "2026-11-01T16:00:00Z".parse().unwrap();
        for n in 0..3 {
            let when = at + chrono::TimeDelta::minutes(15 * n);
            let position = SourcePosition {
                source: "s".into(),
                position: n,
            };
            lake.append(vec![batch(&[("000000001001", when, Some(1))])], &[position])
                .await
                .unwrap();
        }
        let log = dir.path().join("readings/_delta_log");
        let (entry, away) = (log.join(format!("{:020}.json", 1)), dir.path().join("away"));
        std::fs::rename(&entry, &away).unwrap();
        let url = location.table_url(crate::lake::READINGS_TABLE).unwrap();
        let mut table = deltalake::DeltaTableBuilder::from_url(url)
            .unwrap()
            .build()
            .unwrap();
        // The entry stays away: every try sees the gap and the load fails with it.
        let err = load_retrying(&mut table).await.unwrap_err();
        assert!(is_listing_gap(&err), "{err}");
        // It comes back while the load is being tried again: the load succeeds.
        let back = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            std::fs::rename(&away, &entry).unwrap();
        });
        load_retrying(&mut table).await.unwrap();
        back.await.unwrap();
        assert_eq!(table.version(), Some(2));
    }
}
