-- Customers registering themselves: one row per code asked for. `code_mac` is an HMAC of the code under
-- a service key (never the code); NULL when the meter and phone did not match the records, so no code
-- passes. `phone_hash` is the keyed hash of the phone typed and `origin` the asking network address (both
-- for rationing); rows are deleted after a day. Conventions as in 0001.
CREATE TABLE registrations (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    code_key TEXT,
    code_mac TEXT,
    tries BIGINT NOT NULL DEFAULT 0,
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    username TEXT
);
CREATE INDEX registrations_meter ON registrations (meter_id, created_at);
CREATE INDEX registrations_created ON registrations (created_at);
CREATE INDEX registrations_origin ON registrations (origin, created_at);
