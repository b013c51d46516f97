-- Account search by the customer's name (the counter's question: "张伟's account"): a keyed hash of the
-- normalised name (inner spaces collapsed, lower-cased), like the phone's and ID number's. Rows written
-- before this migration get it when they are next saved or re-sealed.

ALTER TABLE customers ADD COLUMN name_hash TEXT;
CREATE INDEX customers_name ON customers (name_hash);
