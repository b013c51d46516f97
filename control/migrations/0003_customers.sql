-- Customers' personal data, sealed field by field (AES-256-GCM, `control::pii`): each sealed value is
-- `v1:<key id>:<nonce hex>:<ciphertext hex>`, bound to its meter and field. The phone and ID number are
-- searchable only through keyed hashes (HMAC-SHA256 of the normalised value); `key_id` is the key the row
-- was last sealed with (a rotation re-seals rows whose key is not the newest).

CREATE TABLE customers (
    meter_id TEXT PRIMARY KEY REFERENCES accounts(meter_id),
    name TEXT,
    phone TEXT,
    address TEXT,
    id_number TEXT,
    phone_hash TEXT,
    id_number_hash TEXT,
    key_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX customers_phone ON customers (phone_hash);
CREATE INDEX customers_id_number ON customers (id_number_hash);
