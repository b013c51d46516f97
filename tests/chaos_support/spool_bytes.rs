//! The collector's spool read and damaged from outside, as a failing disk would: which readings its
//! records hold, and one byte flipped in a record not yet sent.

use std::collections::BTreeSet;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use arrow::array::{Array, StringArray, TimestampMicrosecondArray};
use ingest::spool::record::{decode, Framed};
use rand::Rng;

use super::pipeline::Key;

/// The (meter, boundary) of every reading in a spooled record's payload.
pub fn keys_of(payload: &[u8]) -> BTreeSet<Key> {
    let batches =
        ingest::kafka::message::decode(payload, None, None).expect("a spooled reading batch");
    let mut keys = BTreeSet::new();
    for batch in &batches {
        let column = |name: &str| batch.column_by_name(name).expect(name).as_any();
        let meters = column("meter_id")
            .downcast_ref::<StringArray>()
            .expect("meters");
        let times = column("boundary_ts")
            .downcast_ref::<TimestampMicrosecondArray>()
            .expect("boundaries");
        for i in 0..meters.len() {
            keys.insert((meters.value(i).to_string(), times.value(i)));
        }
    }
    keys
}

/// Flips one byte (anywhere in the frame: magic, length, checksum or body) of one of the `newest`
/// last complete records of the spool's newest segment under `dir`, while the collector runs; the
/// readings that record held. `None` while the segment holds no complete record.
pub fn flip_in_newest(dir: &Path, newest: usize, rng: &mut impl Rng) -> Option<BTreeSet<Key>> {
    let segment = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "seg"))
        .max()?;
    let bytes = std::fs::read(&segment).ok()?;
    // Resynchronising past damage an earlier trial left (the scan quarantines a copy of it).
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match decode(&bytes[at..]) {
            Framed::Record(record, used) => {
                records.push((at, used, record));
                at += used;
            }
            Framed::Corrupt(_) | Framed::Incomplete => at += 1,
        }
    }
    let back = rng.gen_range(1..=newest.clamp(1, records.len().max(1)));
    let (start, used, record) = records.get(records.len().checked_sub(back)?)?;
    let offset = start + rng.gen_range(0..*used);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .ok()?;
    file.seek(SeekFrom::Start(offset as u64)).ok()?;
    file.write_all(&[bytes[offset] ^ rng.gen_range(1..=255u8)])
        .ok()?;
    file.sync_data().ok()?;
    Some(keys_of(&record.payload))
}
