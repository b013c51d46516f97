-- People's edits of interval values (VEE, `analytics::vee`): each edit is kept with who made it and why;
-- the newest edit of an interval is the one the next VEE run applies. Energy in micro-kWh, instants in
-- UTC microseconds.

CREATE TABLE interval_edits (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL,
    interval_start BIGINT NOT NULL,
    energy_e6 BIGINT NOT NULL,
    reason TEXT NOT NULL,
    edited_by TEXT NOT NULL,
    edited_at BIGINT NOT NULL
);

CREATE INDEX interval_edits_by_meter ON interval_edits (meter_id, interval_start);
CREATE INDEX interval_edits_by_time ON interval_edits (interval_start);
