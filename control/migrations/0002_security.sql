-- Identities, credentials and the audit trail. Portable SQL (SQLite and PostgreSQL), conventions as in
-- 0001: instants are microseconds since the Unix epoch (UTC), roles the lower-case names of `Role`.

CREATE TABLE users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    -- argon2id in PHC string form; never the password.
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    -- Consecutive failed logins, and until when logins are refused.
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The meters a customer user may see.
CREATE TABLE user_meters (
    username TEXT NOT NULL REFERENCES users(username),
    meter_id TEXT NOT NULL,
    PRIMARY KEY (username, meter_id)
);

-- API tokens and browser sessions: only the SHA-256 of the secret is kept.
CREATE TABLE credentials (
    secret_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL REFERENCES users(username),
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    -- A session's CSRF token (sent back in X-CSRF-Token on every unsafe request); NULL for API tokens.
    csrf TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX credentials_user ON credentials(username);

-- The audit trail: append-only, hash-chained. `hash` is SHA-256 over the previous record's hash and
-- this record's fields; `mac` is HMAC-SHA256 of `hash` under a key kept outside the database.
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    before_value TEXT,
    after_value TEXT,
    origin TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_actor ON audit(actor, at);

-- The chain's head: one row, locked by every append so that appends are serialised on PostgreSQL too.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Alarms about people and the service rather than a meter: many failed logins, a burst of trips, a
-- refund above the cashier limit.
CREATE TABLE security_alarms (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    raised_at BIGINT NOT NULL,
    cleared_at BIGINT
);
CREATE INDEX security_alarms_open ON security_alarms(cleared_at, raised_at);
