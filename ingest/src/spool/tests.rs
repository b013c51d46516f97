use std::io::Write;

use super::*;

fn rec(n: usize) -> SpooledRecord {
    SpooledRecord {
        key: format!("bus-{n}"),
        headers: vec![("content-type".into(), b"x".to_vec())],
        payload: vec![n as u8; 100 + n],
    }
}

fn keys(peeked: &[PeekedRecord]) -> Vec<String> {
    peeked.iter().map(|p| p.record.key.clone()).collect()
}

fn small(dir: &Path) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_path_buf(),
        max_bytes: 1 << 20,
        segment_bytes: 400,
    }
}

#[test]
fn records_drain_in_order_across_segments_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(small(dir.path())).unwrap();
    for n in 0..10 {
        spool.append(&[rec(n)]).unwrap();
    }
    assert!(list_segments(dir.path()).unwrap().len() > 3);
    assert_eq!(spool.records(), 10);
    let first = spool.peek(4).unwrap();
    assert_eq!(keys(&first), ["bus-0", "bus-1", "bus-2", "bus-3"]);
    spool.acknowledge(&first).unwrap();
    assert_eq!(spool.records(), 6);
    let segments_before = list_segments(dir.path()).unwrap().len();
    drop(spool);

    let mut spool = Spool::open(small(dir.path())).unwrap();
    assert_eq!(spool.records(), 6);
    assert!(list_segments(dir.path()).unwrap().len() <= segments_before);
    let rest = spool.peek(100).unwrap();
    assert_eq!(
        keys(&rest),
        (4..10).map(|n| format!("bus-{n}")).collect::<Vec<_>>()
    );
    assert_eq!(rest[0].record, rec(4));
    spool.acknowledge(&rest).unwrap();
    assert_eq!((spool.records(), spool.bytes()), (0, 0));
    assert!(spool.peek(10).unwrap().is_empty());
    spool.append(&[rec(42)]).unwrap();
    assert_eq!(keys(&spool.peek(10).unwrap()), ["bus-42"]);
}

#[test]
fn a_torn_append_at_the_tail_is_truncated_and_earlier_records_survive() {
    let dir = tempfile::tempdir().unwrap();
    let config = SpoolConfig::new(dir.path(), 1 << 20);
    let mut spool = Spool::open(config.clone()).unwrap();
    spool.append(&[rec(1), rec(2), rec(3)]).unwrap();
    drop(spool);
    // A crash in the middle of the next append leaves half a record.
    let mut torn = Vec::new();
    rec(4).encode_into(&mut torn).unwrap();
    let segment = segment_path(dir.path(), list_segments(dir.path()).unwrap()[0]);
    let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
    file.write_all(&torn[..torn.len() / 2]).unwrap();
    drop(file);

    let mut spool = Spool::open(config).unwrap();
    assert_eq!(spool.records(), 3);
    spool.append(&[rec(5)]).unwrap();
    assert_eq!(
        keys(&spool.peek(10).unwrap()),
        ["bus-1", "bus-2", "bus-3", "bus-5"]
    );
}

#[test]
fn a_full_spool_refuses_with_a_clear_error_until_records_drain() {
    let dir = tempfile::tempdir().unwrap();
    let one = rec(0).framed_len() as u64;
    let mut spool = Spool::open(SpoolConfig::new(dir.path(), 3 * one)).unwrap();
    spool.append(&[rec(0), rec(0), rec(0)]).unwrap();
    let err = spool.append(&[rec(0)]).unwrap_err();
    assert!(matches!(err, SpoolError::Full { used, max, .. } if used == 3 * one && max == 3 * one));
    assert!(err.to_string().contains("spool full"), "{err}");
    let peeked = spool.peek(1).unwrap();
    spool.acknowledge(&peeked).unwrap();
    spool.append(&[rec(0)]).unwrap();
    assert_eq!(spool.records(), 3);
}

#[test]
fn a_damaged_head_file_is_reported_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("head"), "garbage").unwrap();
    let err = Spool::open(SpoolConfig::new(dir.path(), 1 << 20)).unwrap_err();
    assert!(err.to_string().contains("head file"), "{err}");
}

/// Flips one byte at `offset` of segment number `index` (0-based, in id order).
fn flip(dir: &Path, index: usize, offset: usize) {
    let segment = segment_path(dir, list_segments(dir).unwrap()[index]);
    let mut bytes = fs::read(&segment).unwrap();
    bytes[offset] ^= 0xFF;
    fs::write(&segment, bytes).unwrap();
}

#[test]
fn a_flipped_byte_in_an_older_segment_is_quarantined_and_every_later_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(small(dir.path())).unwrap();
    for n in 0..8 {
        spool.append(&[rec(n)]).unwrap();
    }
    drop(spool);
    flip(dir.path(), 0, 20);
    let spool = Spool::open(small(dir.path())).unwrap();
    assert_eq!(spool.damage().len(), 1, "{:?}", spool.damage());
    let damage = &spool.damage()[0];
    assert_eq!(damage.offset, 0, "the first record of the first segment");
    assert_eq!(
        fs::read(&damage.quarantined).unwrap().len() as u64,
        damage.len
    );
    assert_eq!(
        keys(&spool.peek(100).unwrap()),
        (1..8).map(|n| format!("bus-{n}")).collect::<Vec<_>>(),
        "only the damaged record is gone"
    );
    drop(spool);
    // The repair is on disk: the next open finds nothing more.
    let spool = Spool::open(small(dir.path())).unwrap();
    assert!(spool.damage().is_empty());
    assert_eq!(spool.records(), 7);
}

#[test]
fn a_flipped_byte_in_the_middle_of_the_last_segment_keeps_the_rounds_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = SpoolConfig::new(dir.path(), 1 << 20);
    let mut spool = Spool::open(config.clone()).unwrap();
    for n in 1..=5 {
        spool.append(&[rec(n)]).unwrap();
    }
    drop(spool);
    // Inside the third record's payload.
    let offset = rec(1).framed_len() + rec(2).framed_len() + 40;
    flip(dir.path(), 0, offset);
    let mut spool = Spool::open(config).unwrap();
    assert_eq!(spool.damage().len(), 1);
    assert_eq!(
        keys(&spool.peek(10).unwrap()),
        ["bus-1", "bus-2", "bus-4", "bus-5"],
        "the rounds reported stored after the damage survive"
    );
    spool.append(&[rec(6)]).unwrap();
    assert_eq!(spool.records(), 5);
}

#[test]
fn a_partial_append_is_rolled_back_so_later_appends_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let config = SpoolConfig::new(dir.path(), 1 << 20);
    let mut spool = Spool::open(config.clone()).unwrap();
    spool.append(&[rec(1)]).unwrap();
    // The disk fills up halfway through the next append.
    spool.fail_next_write_after = Some(rec(2).framed_len() / 2);
    let err = spool.append(&[rec(2)]).unwrap_err();
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_eq!(spool.records(), 1);
    spool.append(&[rec(3)]).unwrap();
    assert_eq!(keys(&spool.peek(10).unwrap()), ["bus-1", "bus-3"]);
    drop(spool);
    let spool = Spool::open(config).unwrap();
    assert!(
        spool.damage().is_empty(),
        "no torn bytes were left behind: {:?}",
        spool.damage()
    );
    assert_eq!(keys(&spool.peek(10).unwrap()), ["bus-1", "bus-3"]);
}

#[test]
fn damage_met_while_running_is_repaired_and_later_records_still_leave() {
    let dir = tempfile::tempdir().unwrap();
    let config = SpoolConfig::new(dir.path(), 1 << 20);
    let mut spool = Spool::open(config).unwrap();
    for n in 1..=5 {
        spool.append(&[rec(n)]).unwrap();
    }
    // A byte flips on disk under the running spool, inside the third record.
    let offset = rec(1).framed_len() + rec(2).framed_len() + 40;
    flip(dir.path(), 0, offset);
    assert!(matches!(spool.peek(10), Err(SpoolError::Corrupt { .. })));
    assert_eq!(
        keys(&spool.peek_repairing(10).unwrap()),
        ["bus-1", "bus-2", "bus-4", "bus-5"]
    );
    assert_eq!(spool.damage().len(), 1);
    spool.append(&[rec(6)]).unwrap();
    let all = spool.peek(10).unwrap();
    assert_eq!(keys(&all), ["bus-1", "bus-2", "bus-4", "bus-5", "bus-6"]);
    spool.acknowledge(&all).unwrap();
    assert_eq!(spool.records(), 0);
}
