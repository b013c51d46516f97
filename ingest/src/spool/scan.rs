//! Reading a segment back on open, and repairing it. A record that fails its frame check (a flipped
//! byte, a torn write) does not end the segment: the scan looks for the next intact record (magic byte,
//! length and CRC-32 all check out) and goes on from there, so every later record is kept. The damaged
//! bytes are moved to `quarantine/<segment>-<offset>.bin` beside the segments, reported and counted,
//! and the segment is rewritten without them (temporary file, fsync, rename). A record cut off at the
//! very end of the last segment is a torn append that was never reported stored: it is truncated.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use super::record::{self, Framed, MAGIC};
use super::{io, segment_path, sync_dir, SpoolError};

/// A damaged stretch of a segment, moved out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment.
    pub segment: u64,
    /// Where the stretch began in the segment as it was.
    pub offset: u64,
    /// Its length, bytes.
    pub len: u64,
    /// Why the frame check failed there.
    pub reason: String,
    /// Where its bytes were kept.
    pub quarantined: PathBuf,
}

/// What a scan found from its start offset.
pub(super) struct SegmentScan {
    /// Intact records.
    pub records: u64,
    /// The segment's length after repair.
    pub valid_len: u64,
    /// Stretches moved out.
    pub damage: Vec<Damage>,
}

/// The offset of the next intact record after `from`, if any.
fn next_record(bytes: &[u8], from: usize) -> Option<usize> {
    (from + 1..bytes.len())
        .filter(|&at| bytes[at] == MAGIC)
        .find(|&at| matches!(record::decode(&bytes[at..]), Framed::Record(..)))
}

/// Scans segment `id` from `start` (the bytes before it are acknowledged), repairing it as described
/// in the module's documentation; `last` says whether it is the segment appends go to.
pub(super) fn scan_segment(
    dir: &Path,
    id: u64,
    start: u64,
    last: bool,
) -> Result<SegmentScan, SpoolError> {
    let path = segment_path(dir, id);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(io(&path)(err)),
    };
    let start = usize::try_from(start).unwrap_or(usize::MAX);
    if start > bytes.len() {
        return Err(SpoolError::Corrupt {
            path,
            offset: start as u64,
            reason: format!("head points past the end ({} bytes)", bytes.len()),
        });
    }
    let (mut at, mut records) = (start, 0);
    // Intact byte ranges after `start`, and the damaged ones with their reasons.
    let (mut keep, mut bad) = (Vec::new(), Vec::new());
    let mut torn_tail = None;
    while at < bytes.len() {
        let reason = match record::decode(&bytes[at..]) {
            Framed::Record(_, used) => {
                keep.push(at..at + used);
                at += used;
                records += 1;
                continue;
            }
            Framed::Incomplete => "the segment ends inside a record".to_string(),
            Framed::Corrupt(reason) => reason,
        };
        match next_record(&bytes, at) {
            Some(next) => {
                bad.push((at..next, reason));
                at = next;
            }
            None if last && matches!(record::decode(&bytes[at..]), Framed::Incomplete) => {
                torn_tail = Some(at);
                break;
            }
            None => {
                bad.push((at..bytes.len(), reason));
                break;
            }
        }
    }
    if let Some(tail) = torn_tail.filter(|_| bad.is_empty()) {
        tracing::warn!(
            path = %path.display(), offset = tail, dropped = bytes.len() - tail,
            "truncating a torn, never-acknowledged append at the spool's tail"
        );
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        file.set_len(tail as u64).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        return Ok(SegmentScan {
            records,
            valid_len: tail as u64,
            damage: Vec::new(),
        });
    }
    if let Some(tail) = torn_tail {
        bad.push((tail..bytes.len(), "the segment ends inside a record".into()));
    }
    if bad.is_empty() {
        return Ok(SegmentScan {
            records,
            valid_len: bytes.len() as u64,
            damage: Vec::new(),
        });
    }
    let damage = quarantine(dir, id, &bytes, &bad)?;
    let mut repaired = bytes[..start].to_vec();
    for range in keep {
        repaired.extend_from_slice(&bytes[range]);
    }
    let temporary = path.with_extension("seg.repair");
    fs::write(&temporary, &repaired).map_err(io(&temporary))?;
    OpenOptions::new()
        .write(true)
        .open(&temporary)
        .and_then(|f| f.sync_all())
        .map_err(io(&temporary))?;
    fs::rename(&temporary, &path).map_err(io(&path))?;
    sync_dir(dir)?;
    Ok(SegmentScan {
        records,
        valid_len: repaired.len() as u64,
        damage,
    })
}

/// Saves each damaged stretch to the quarantine directory and reports it.
fn quarantine(
    dir: &Path,
    id: u64,
    bytes: &[u8],
    bad: &[(std::ops::Range<usize>, String)],
) -> Result<Vec<Damage>, SpoolError> {
    let folder = dir.join("quarantine");
    fs::create_dir_all(&folder).map_err(io(&folder))?;
    let mut damage = Vec::new();
    for (range, reason) in bad {
        let quarantined = folder.join(format!("{id:020}-{}.bin", range.start));
        fs::write(&quarantined, &bytes[range.clone()]).map_err(io(&quarantined))?;
        tracing::error!(
            segment = id, offset = range.start, bytes = range.len(), %reason,
            quarantined = %quarantined.display(),
            "damaged spool bytes moved aside; the records after them are kept"
        );
        metrics::counter!("meterlake_spool_quarantined_bytes_total").increment(range.len() as u64);
        damage.push(Damage {
            segment: id,
            offset: range.start as u64,
            len: range.len() as u64,
            reason: reason.clone(),
            quarantined,
        });
    }
    sync_dir(&folder)?;
    Ok(damage)
}
