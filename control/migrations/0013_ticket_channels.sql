-- How a ticket came in: `online` (the customer's own page), `hotline` or `counter` (taken down by staff
-- for a caller or a visitor). Tickets before this migration came in online.
ALTER TABLE tickets ADD COLUMN channel TEXT NOT NULL DEFAULT 'online';
CREATE INDEX tickets_category ON tickets (category, status);
