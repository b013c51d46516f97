//! The last whole round, recorded beside the spool: a collector started again soon after a round its
//! predecessor did not finish (killed, or stopped mid-round with buses skipped) collects that
//! boundary at once instead of leaving those meters without a reading for it.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::schedule::boundary_reached;

/// The record's file name in the spool directory.
pub const FILE: &str = "last_whole_round";

/// The boundary of the last whole round recorded at `path` (`None`: no record, or not readable).
pub fn read(path: &Path) -> Option<DateTime<Utc>> {
    let text = std::fs::read_to_string(path).ok()?;
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Records `boundary` as the last whole round (written beside the record and renamed over it, so a
/// crash leaves the old record or the new one).
pub fn write(path: &Path, boundary: DateTime<Utc>) -> std::io::Result<()> {
    let fresh = path.with_extension("new");
    std::fs::write(&fresh, boundary.to_rfc3339())?;
    std::fs::rename(&fresh, path)
}

/// The boundary a starting collector owes at once: the latest one reached, when an earlier process
/// recorded whole rounds, this boundary is not among them, and at most half an interval has passed
/// since it (a later read would count too much of the next interval's energy into it).
pub fn owed(
    last_whole: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    interval: Duration,
) -> Option<DateTime<Utc>> {
    let reached = boundary_reached(now, interval);
    let late = (now - reached).to_std().unwrap_or(Duration::ZERO);
    last_whole
        .filter(|last| *last < reached && late <= interval / 2)
        .map(|_| reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const QUARTER: Duration = Duration::from_secs(900);

    #[test]
    fn an_unfinished_boundary_is_owed_for_half_an_interval() {
        let before = Some(at("2026-12-06T10:00:00Z"));
        // Killed during the 10:15 round, started again at 10:17: 10:15 is collected at once.
        assert_eq!(
            owed(before, at("2026-12-06T10:17:00Z"), QUARTER),
            Some(at("2026-12-06T10:15:00Z"))
        );
        // Too late for it at 10:23: wait for 10:30.
        assert_eq!(owed(before, at("2026-12-06T10:23:00Z"), QUARTER), None);
        // The 10:15 round was whole: nothing owed.
        let whole = Some(at("2026-12-06T10:15:00Z"));
        assert_eq!(owed(whole, at("2026-12-06T10:17:00Z"), QUARTER), None);
        // No record (a new collector): the schedule as usual.
        assert_eq!(owed(None, at("2026-12-06T10:17:00Z"), QUARTER), None);
    }

    #[test]
    fn the_record_is_read_back_and_garbage_is_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        assert_eq!(read(&path), None);
        write(&path, at("2026-12-06T10:15:00Z")).unwrap();
        assert_eq!(read(&path), Some(at("2026-12-06T10:15:00Z")));
        std::fs::write(&path, "not a time").unwrap();
        assert_eq!(read(&path), None);
    }
}
