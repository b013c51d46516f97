-- Meters' event records (DL/T 645 03xx: cover open, power-down, programming, clock setting …) as the
-- collectors read them daily (`meterlake-events` header, docs/contracts.md §4). One row per event
-- occurrence: `sequence` is the meter's count of that event at the occurrence, so a record read twice is
-- kept once. Instants in UTC microseconds (`at_us` null for a record without a time).

CREATE TABLE meter_events (
    meter_id TEXT NOT NULL,
    event TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    at_us BIGINT,
    end_us BIGINT,
    operator TEXT,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (meter_id, event, sequence)
);

CREATE INDEX meter_events_by_time ON meter_events (at_us);
