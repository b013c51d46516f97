-- Alarms with a lifecycle (raised → acknowledged → cleared), for reading rules (`analytics::diagnosis`)
-- and failed commands alike. A reading rule's alarm carries `condition_key` (`<meter>/<rule>`): at most
-- one alarm per condition is open at a time, and one per condition and first reading. `evidence` is JSON: the readings that triggered it.
-- `since_at` is the first reading of the condition, `raised_at` the reading that completed it,
-- `detected_at` when the service raised it (wall clock).

CREATE TABLE meter_alarms (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL,
    area_id TEXT,
    bus_id TEXT,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    evidence TEXT,
    command_id TEXT,
    condition_key TEXT,
    since_at BIGINT NOT NULL,
    raised_at BIGINT NOT NULL,
    detected_at BIGINT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at BIGINT,
    cleared_at BIGINT,
    cleared_by TEXT,
    clear_note TEXT
);

INSERT INTO meter_alarms (id, meter_id, kind, severity, state, detail, command_id, since_at, raised_at,
                          detected_at, cleared_at)
SELECT id, meter_id, kind, 'critical', CASE WHEN cleared_at IS NULL THEN 'raised' ELSE 'cleared' END,
       detail, command_id, raised_at, raised_at, raised_at, cleared_at
FROM alarms;

DROP TABLE alarms;

CREATE UNIQUE INDEX meter_alarms_open_condition ON meter_alarms (condition_key) WHERE state <> 'cleared';
-- A condition that began at the same reading is the same alarm: a re-run over history adds nothing twice.
CREATE UNIQUE INDEX meter_alarms_condition_since ON meter_alarms (condition_key, since_at);
CREATE INDEX meter_alarms_by_time ON meter_alarms (raised_at);
CREATE INDEX meter_alarms_by_meter ON meter_alarms (meter_id, raised_at);
