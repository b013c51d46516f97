//! The collector's spool: a local, fsync'd, bounded FIFO of Kafka records.
//!
//! Every reading batch is appended here (and synced to disk) before the collection round reports
//! success; a forwarder ([`crate::collector::forward`]) produces records to Kafka in order and
//! acknowledges them here once Kafka has them. If the broker is away, records wait on disk and drain
//! in order when it returns; a `kill -9` at any moment loses nothing that was appended.
//!
//! On disk: segment files `<id>.seg` of framed records ([`record`]) and a `head` file naming the first
//! record not yet acknowledged (`<segment> <offset>`), replaced atomically (write, fsync, rename).
//! A failed append is rolled back (the segment is cut back to its length before it), so later appends
//! never land after torn bytes. A crash can still leave a torn record at the end of the last segment;
//! [`Spool::open`] truncates it (that append was never acknowledged). Damage anywhere else (a flipped
//! byte) is moved aside to `quarantine/` and reported, and every record after it is kept ([`scan`]).
//! A crash between Kafka's acknowledgement and the head update re-sends those records once: the lake
//! deduplicates by (meter, boundary).

pub mod record;
mod scan;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub use record::SpooledRecord;
use record::{Framed, FRAME_HEADER_LEN};
use scan::scan_segment;
pub use scan::Damage;

/// Errors of the spool.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The disk bound is reached: Kafka has been away for too long.
    #[error(
        "spool full: {used} of {max} bytes used, {needed} more needed — Kafka has been unreachable \
         too long; these readings were not stored (raise collector.spool_max_mb or restore Kafka)"
    )]
    Full {
        /// Bytes waiting.
        used: u64,
        /// The bound.
        max: u64,
        /// Bytes of the refused append.
        needed: u64,
    },
    /// A record cannot be framed (a field is too long).
    #[error("record too large to spool: {0}")]
    RecordTooLarge(String),
    /// A spool file is damaged somewhere other than a torn tail.
    #[error("spool file {path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Offset of the bad record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file system failed.
    #[error("spool i/o on {path}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Where a record starts (or the spool's head is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Segment id.
    pub segment: u64,
    /// Byte offset in the segment.
    pub offset: u64,
}

/// Spool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolConfig {
    /// Directory of the spool files (one spool per collector).
    pub dir: PathBuf,
    /// Most bytes waiting before appends are refused.
    pub max_bytes: u64,
    /// A new segment starts once the active one reaches this size.
    pub segment_bytes: u64,
}

impl SpoolConfig {
    /// A spool in `dir` bounded to `max_bytes`, with 64 MiB segments.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
            segment_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A record read from the spool, with where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeekedRecord {
    /// The record.
    pub record: SpooledRecord,
    /// Position just after it.
    pub end: Position,
    /// Bytes it occupies on disk.
    pub framed_len: u64,
}

/// The spool. Not shared between threads by itself: wrap it in a mutex.
#[derive(Debug)]
pub struct Spool {
    config: SpoolConfig,
    segments: VecDeque<u64>,
    writer: File,
    active_len: u64,
    head: Position,
    records: u64,
    bytes: u64,
    damage: Vec<Damage>,
    /// Tests: the next append writes only this many bytes and then fails (a disk filling up).
    #[cfg(test)]
    fail_next_write_after: Option<usize>,
}

impl Spool {
    /// Opens (or creates) the spool in `config.dir`, truncating a torn tail left by a crash.
    pub fn open(config: SpoolConfig) -> Result<Self, SpoolError> {
        let dir = config.dir.clone();
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut ids = list_segments(&dir)?;
        let head = read_head(&dir)?.unwrap_or(Position {
            segment: ids.first().copied().unwrap_or(1),
            offset: 0,
        });
        for stale in ids.iter().filter(|id| **id < head.segment) {
            let path = segment_path(&dir, *stale);
            fs::remove_file(&path).map_err(io(&path))?;
        }
        ids.retain(|id| *id >= head.segment);
        if ids.is_empty() {
            ids.push(head.segment);
        }
        let (mut records, mut bytes, mut active_len) = (0, 0, 0);
        let mut damage = Vec::new();
        let last = ids.len() - 1;
        for (index, id) in ids.iter().enumerate() {
            let start = if *id == head.segment { head.offset } else { 0 };
            let scan = scan_segment(&dir, *id, start, index == last)?;
            records += scan.records;
            bytes += scan.valid_len - start;
            active_len = scan.valid_len;
            damage.extend(scan.damage);
        }
        let active = *ids.last().unwrap_or(&head.segment);
        let path = segment_path(&dir, active);
        let writer = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        sync_dir(&dir)?;
        Ok(Self {
            config,
            segments: ids.into(),
            writer,
            active_len,
            head,
            records,
            bytes,
            damage,
            #[cfg(test)]
            fail_next_write_after: None,
        })
    }

    /// The damage found and moved aside when the spool was opened (empty for a sound spool).
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    /// Records waiting for Kafka.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes waiting for Kafka.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// The disk bound, bytes.
    pub fn max_bytes(&self) -> u64 {
        self.config.max_bytes
    }

    /// Appends `records` and syncs them to disk; on success they survive any crash.
    pub fn append(&mut self, records: &[SpooledRecord]) -> Result<(), SpoolError> {
        let mut buf = Vec::with_capacity(records.iter().map(SpooledRecord::framed_len).sum());
        for record in records {
            record.encode_into(&mut buf)?;
        }
        let needed = buf.len() as u64;
        if self.bytes + needed > self.config.max_bytes {
            return Err(SpoolError::Full {
                used: self.bytes,
                max: self.config.max_bytes,
                needed,
            });
        }
        if self.active_len > 0 && self.active_len + needed > self.config.segment_bytes {
            self.roll()?;
        }
        let path = self.active_path();
        if let Err(err) = self.write_synced(&buf) {
            // Cut the segment back to before this append: a partial write (a full disk) must not stay
            // for later appends to land after. If even that fails, the next open's scan repairs it.
            if let Err(undo) = self
                .writer
                .set_len(self.active_len)
                .and_then(|()| self.writer.sync_data())
            {
                tracing::error!(path = %path.display(), error = %undo, "could not roll back a failed spool append");
            }
            return Err(io(&path)(err));
        }
        self.active_len += needed;
        self.records += records.len() as u64;
        self.bytes += needed;
        Ok(())
    }

    /// Writes `buf` at the segment's end and syncs it.
    fn write_synced(&mut self, buf: &[u8]) -> std::io::Result<()> {
        #[cfg(test)]
        if let Some(cut) = self.fail_next_write_after.take() {
            self.writer.write_all(&buf[..cut.min(buf.len())])?;
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device (test)",
            ));
        }
        self.writer.write_all(buf)?;
        self.writer.sync_data()
    }

    /// [`Spool::peek`], repairing the spool first if a record turns out damaged on disk while it runs
    /// (a flipped byte): the spool is opened again, which quarantines the damage and keeps every later
    /// record ([`scan`]); the damage is added to [`Spool::damage`].
    pub fn peek_repairing(&mut self, max: usize) -> Result<Vec<PeekedRecord>, SpoolError> {
        match self.peek(max) {
            Err(SpoolError::Corrupt {
                path,
                offset,
                reason,
            }) => {
                tracing::error!(path = %path.display(), offset, %reason, "damaged spool record met while running; repairing");
                let earlier = std::mem::take(&mut self.damage);
                let mut repaired = Spool::open(self.config.clone())?;
                repaired.damage.splice(0..0, earlier);
                *self = repaired;
                self.peek(max)
            }
            other => other,
        }
    }

    /// Reads up to `max` records from the head without removing them.
    pub fn peek(&self, max: usize) -> Result<Vec<PeekedRecord>, SpoolError> {
        let mut out = Vec::new();
        for id in self.segments.iter().filter(|id| **id >= self.head.segment) {
            if out.len() >= max {
                break;
            }
            let mut offset = if *id == self.head.segment {
                self.head.offset
            } else {
                0
            };
            let path = segment_path(&self.config.dir, *id);
            let mut file = File::open(&path).map_err(io(&path))?;
            file.seek(SeekFrom::Start(offset)).map_err(io(&path))?;
            let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
            while out.len() < max {
                let Some((record, used)) = read_record(&mut reader, &path, offset)? else {
                    break;
                };
                offset += used;
                out.push(PeekedRecord {
                    record,
                    end: Position {
                        segment: *id,
                        offset,
                    },
                    framed_len: used,
                });
            }
        }
        Ok(out)
    }

    /// Removes `acked` (a prefix of the last [`Spool::peek`]) for good: Kafka has them.
    pub fn acknowledge(&mut self, acked: &[PeekedRecord]) -> Result<(), SpoolError> {
        let Some(last) = acked.last() else {
            return Ok(());
        };
        self.head = last.end;
        if self.head.segment != self.active_id()
            && self.head.offset >= self.segment_len(last.end)?
        {
            if let Some(next) = self.segments.iter().find(|id| **id > self.head.segment) {
                self.head = Position {
                    segment: *next,
                    offset: 0,
                };
            }
        }
        write_head(&self.config.dir, self.head)?;
        while self
            .segments
            .front()
            .is_some_and(|id| *id < self.head.segment)
        {
            if let Some(id) = self.segments.pop_front() {
                let path = segment_path(&self.config.dir, id);
                fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        self.records = self.records.saturating_sub(acked.len() as u64);
        self.bytes = self
            .bytes
            .saturating_sub(acked.iter().map(|r| r.framed_len).sum());
        Ok(())
    }

    fn active_id(&self) -> u64 {
        self.segments.back().copied().unwrap_or(self.head.segment)
    }

    fn active_path(&self) -> PathBuf {
        segment_path(&self.config.dir, self.active_id())
    }

    fn segment_len(&self, position: Position) -> Result<u64, SpoolError> {
        let path = segment_path(&self.config.dir, position.segment);
        Ok(fs::metadata(&path).map_err(io(&path))?.len())
    }

    fn roll(&mut self) -> Result<(), SpoolError> {
        let id = self.active_id() + 1;
        let path = segment_path(&self.config.dir, id);
        self.writer = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        sync_dir(&self.config.dir)?;
        self.segments.push_back(id);
        self.active_len = 0;
        Ok(())
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

fn list_segments(dir: &Path) -> Result<Vec<u64>, SpoolError> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name
            .strip_suffix(".seg")
            .and_then(|stem| stem.parse::<u64>().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

fn read_head(dir: &Path) -> Result<Option<Position>, SpoolError> {
    let path = dir.join("head");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io(&path)(err)),
    };
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(segment)), Some(Ok(offset))) => Ok(Some(Position { segment, offset })),
        _ => Err(SpoolError::Corrupt {
            path,
            offset: 0,
            reason: format!("head file holds {text:?}, expected \"<segment> <offset>\""),
        }),
    }
}

fn write_head(dir: &Path, head: Position) -> Result<(), SpoolError> {
    let tmp = dir.join("head.tmp");
    let mut file = File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(format!("{} {}\n", head.segment, head.offset).as_bytes())
        .map_err(io(&tmp))?;
    file.sync_data().map_err(io(&tmp))?;
    let path = dir.join("head");
    fs::rename(&tmp, &path).map_err(io(&path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Reads the record at `offset` of an acknowledged-complete segment; `None` at its end.
fn read_record(
    reader: &mut impl Read,
    path: &Path,
    offset: u64,
) -> Result<Option<(SpooledRecord, u64)>, SpoolError> {
    let corrupt = |reason: String| SpoolError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    let mut framed = vec![0u8; FRAME_HEADER_LEN];
    let mut filled = 0;
    while filled < FRAME_HEADER_LEN {
        match reader.read(&mut framed[filled..]).map_err(io(path))? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(corrupt("segment ends inside a record header".into())),
            n => filled += n,
        }
    }
    let len = u32::from_le_bytes([framed[1], framed[2], framed[3], framed[4]]) as usize;
    if len > record::MAX_BODY_LEN {
        return Err(corrupt(format!("record length {len} exceeds the limit")));
    }
    framed.resize(FRAME_HEADER_LEN + len, 0);
    reader
        .read_exact(&mut framed[FRAME_HEADER_LEN..])
        .map_err(|e| corrupt(format!("segment ends inside a record: {e}")))?;
    match record::decode(&framed) {
        Framed::Record(record, used) => Ok(Some((record, used as u64))),
        Framed::Incomplete => Err(corrupt("incomplete record".into())),
        Framed::Corrupt(reason) => Err(corrupt(reason)),
    }
}

#[cfg(test)]
mod tests;
