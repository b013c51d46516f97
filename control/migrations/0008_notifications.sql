-- Notifications that reach people. A notice's facts (`data`, JSON) let each channel word it in the
-- recipient's language. Every notice is fanned out, in the transaction that raised it, into
-- `deliveries`: one row per channel and recipient, the outbox the notifier works through (pending →
-- sent, or dead after its attempts, each failure retried later with a growing wait). Staff alarm
-- e-mails are deliveries without a notice. Customers choose channels and language in
-- `notification_prefs` (the e-mail address sealed like other personal data).

ALTER TABLE notices ADD COLUMN data TEXT;

CREATE TABLE notification_prefs (
    meter_id TEXT PRIMARY KEY REFERENCES accounts(meter_id),
    lang TEXT NOT NULL,
    app_push BIGINT NOT NULL,
    email TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    notice_id TEXT,
    meter_id TEXT,
    kind TEXT NOT NULL,
    lang TEXT NOT NULL,
    data TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_meter ON deliveries (meter_id, created_at);
