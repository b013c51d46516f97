-- Customer self-service. `payment_orders`: online payments started by a customer and confirmed by the
-- payment provider's callback (the order id is the ledger reference, so a repeated callback books
-- once). `tickets` and `ticket_messages`: feedback from customers with staff replies and a status.

CREATE TABLE payment_orders (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    amount_fen BIGINT NOT NULL,
    provider TEXT NOT NULL,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    paid_at BIGINT,
    provider_ref TEXT
);
CREATE INDEX payment_orders_meter ON payment_orders (meter_id, created_at);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
    category TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tickets_meter ON tickets (meter_id, created_at);
CREATE INDEX tickets_status ON tickets (status, updated_at);

CREATE TABLE ticket_messages (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    author TEXT NOT NULL,
    from_staff BIGINT NOT NULL,
    body TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, at);
