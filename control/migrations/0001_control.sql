-- The control service's tables. Portable SQL: the same file runs on SQLite and PostgreSQL.
-- Money is integer fen (BIGINT); instants are microseconds since the Unix epoch, UTC (BIGINT);
-- states and kinds are the lower-case names of the Rust enums that own them.

CREATE TABLE accounts (
    meter_id TEXT PRIMARY KEY,
    collector_id TEXT NOT NULL,
    plan TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    balance_fen BIGINT NOT NULL,
    charged_fen BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    prepaid_state TEXT NOT NULL,
    relay TEXT NOT NULL,
    relay_known_at BIGINT NOT NULL,
    alarm1_fen BIGINT,
    alarm2_fen BIGINT,
    overdraft_fen BIGINT,
    close_allowed_fen BIGINT,
    hoarding_fen BIGINT,
    warned_at BIGINT,
    billed_from BIGINT NOT NULL,
    billed_version BIGINT,
    billing_error TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ledger (
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    balance_after_fen BIGINT NOT NULL,
    reference TEXT NOT NULL,
    corrects_seq BIGINT,
    authorised_by TEXT,
    note TEXT,
    lake_version BIGINT,
    at BIGINT NOT NULL,
    PRIMARY KEY (meter_id, seq)
);
CREATE UNIQUE INDEX ledger_reference ON ledger (meter_id, kind, reference);

CREATE TABLE payment_references (
    reference TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    amount_fen BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    balance_after_fen BIGINT NOT NULL,
    command_id TEXT,
    at BIGINT NOT NULL
);

CREATE TABLE day_charges (
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    charge_key TEXT NOT NULL,
    charge_fen BIGINT NOT NULL,
    lake_version BIGINT NOT NULL,
    PRIMARY KEY (meter_id, charge_key)
);

CREATE TABLE commands (
    command_id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    collector_id TEXT NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    live BIGINT NOT NULL,
    holds_slot BIGINT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    steps BIGINT NOT NULL,
    sent_at BIGINT,
    acked_at BIGINT,
    finished_at BIGINT,
    outcome TEXT,
    error TEXT,
    relay_open BIGINT,
    updated_at BIGINT NOT NULL
);
-- At most one relay-switching command in flight per meter.
CREATE UNIQUE INDEX commands_one_in_flight ON commands (meter_id) WHERE holds_slot = 1;
CREATE INDEX commands_live ON commands (live, state, not_before);
CREATE INDEX commands_meter ON commands (meter_id, created_at);

CREATE TABLE command_events (
    command_id TEXT NOT NULL REFERENCES commands(command_id),
    step BIGINT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at BIGINT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (command_id, step)
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    message_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    command_id TEXT,
    deadline BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

CREATE TABLE exemptions (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX exemptions_meter ON exemptions (meter_id, ends_at);

CREATE TABLE account_events (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX account_events_meter ON account_events (meter_id, at);

CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);

CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    command_id TEXT,
    raised_at BIGINT NOT NULL,
    cleared_at BIGINT
);

CREATE TABLE service_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
