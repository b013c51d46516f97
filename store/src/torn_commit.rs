//! Opening a Delta table whose newest log entry was torn.
//!
//! Writers here commit through the object store's atomic put-if-absent, so a reader never sees half a
//! commit from a live writer. A torn entry comes from outside that path: a file system that lost the
//! end of a file in a crash, or a copy of the lake cut short. Such an entry cannot have been read by
//! anyone (it does not parse), so nothing was ever built on it: it is moved to `_delta_log/_torn/`
//! (kept for inspection), reported, and the table opens at the version before it. What the entry
//! would have committed is not in the lake, and neither are its source positions — the sink reads
//! those messages again. A torn entry that is not the newest is left alone: the table then fails to
//! open with delta-rs's error, since later versions were built on it.

use deltalake::{DeltaTable, DeltaTableBuilder};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use url::Url;

use crate::StoreError;

/// Where torn log entries are moved, below the table root.
pub const TORN_DIR: &str = "_delta_log/_torn";

/// Opens the table at `url` at its newest version, after setting aside a torn newest log entry. A
/// location with no table yet opens unloaded.
pub async fn open_table(url: Url) -> Result<DeltaTable, StoreError> {
    let mut table = DeltaTableBuilder::from_url(url)?.build()?;
    let log = inspect_log(&table).await?;
    if !log.has_entries {
        // Nothing to load (delta-rs would log its "not a table" at ERROR for a table not made yet).
        return Ok(table);
    }
    match crate::listing_gap::load_retrying(&mut table).await {
        Ok(()) | Err(deltalake::DeltaTableError::NotATable(_)) => Ok(table),
        Err(err) => Err(err.into()),
    }
}

/// The version of a commit entry's file name (`00000000000000000042.json`).
fn commit_version(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Whether `bytes` is a whole commit entry: at least one action, every line a JSON object.
pub fn is_whole_commit(bytes: &[u8]) -> bool {
    let mut actions = 0;
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(_)) => actions += 1,
            _ => return false,
        }
    }
    actions > 0
}

/// What [`inspect_log`] found in a table's log.
struct LogInspection {
    /// The log holds any file (commits, checkpoints).
    has_entries: bool,
    /// Where a torn newest entry was moved.
    set_aside: Option<String>,
}

/// Moves the newest log entry of `table` to [`TORN_DIR`] if it is torn; returns where it went.
pub async fn set_aside_torn_commit(table: &DeltaTable) -> Result<Option<String>, StoreError> {
    Ok(inspect_log(table).await?.set_aside)
}

/// Lists `table`'s log once: whether it has entries, and sets a torn newest entry aside.
async fn inspect_log(table: &DeltaTable) -> Result<LogInspection, StoreError> {
    let store = table.log_store().object_store(None);
    let log = Path::from("_delta_log");
    let entries: Vec<_> = match store.list(Some(&log)).try_collect().await {
        Ok(entries) => entries,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(err) => return Err(deltalake::DeltaTableError::from(err).into()),
    };
    let mut found = LogInspection {
        has_entries: !entries.is_empty(),
        set_aside: None,
    };
    let newest = entries
        .iter()
        .filter_map(|meta| Some((commit_version(meta.location.filename()?)?, meta)))
        .max_by_key(|(version, _)| *version);
    let Some((version, meta)) = newest else {
        return Ok(found);
    };
    let bytes = store
        .get(&meta.location)
        .await
        .map_err(deltalake::DeltaTableError::from)?
        .bytes()
        .await
        .map_err(deltalake::DeltaTableError::from)?;
    if is_whole_commit(&bytes) {
        return Ok(found);
    }
    let aside = Path::from(format!(
        "{TORN_DIR}/{version:020}.json.{}",
        chrono::Utc::now().timestamp_millis()
    ));
    store
        .copy(&meta.location, &aside)
        .await
        .map_err(deltalake::DeltaTableError::from)?;
    store
        .delete(&meta.location)
        .await
        .map_err(deltalake::DeltaTableError::from)?;
    tracing::warn!(
        table = %table.table_url(),
        version,
        bytes = bytes.len(),
        moved_to = %aside,
        "the newest Delta log entry was torn (it does not parse): set aside, the table opens at the version before it"
    );
    metrics::counter!("meterlake_lake_torn_commits_total").increment(1);
    found.set_aside = Some(aside.to_string());
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_torn_entries_are_told_apart() {
        let whole = b"{\"commitInfo\":{\"a\":1}}\n{\"add\":{\"path\":\"x\"}}";
        assert!(is_whole_commit(whole));
        assert!(is_whole_commit(b"{\"txn\":{}}\n\n"));
        for torn in [
            &b""[..],
            b"\n",
            b"{\"commitInfo\":{\"a\":1}}\n{\"add\":{\"pa",
            b"{\"commitInfo\"",
            b"[1,2]",
            b"\x00\x00\x00",
        ] {
            assert!(!is_whole_commit(torn), "{torn:?}");
        }
        assert_eq!(commit_version("00000000000000000042.json"), Some(42));
        for other in [
            "00000000000000000042.checkpoint.parquet",
            "_last_checkpoint",
            "42.json",
        ] {
            assert_eq!(commit_version(other), None, "{other}");
        }
    }
}
