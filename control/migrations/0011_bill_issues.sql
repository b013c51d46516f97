-- Each month's bill issue (月度电费账单发行): the lake version billed, how many bills, how many
-- customers were told, and the sum. One row per period: the key keeps two services, or a restarted one,
-- from issuing a month (and telling its customers) twice. Conventions as in 0001.
CREATE TABLE bill_issues (
    period TEXT PRIMARY KEY,
    lake_version BIGINT,
    bills BIGINT NOT NULL,
    noticed BIGINT NOT NULL,
    total_fen BIGINT NOT NULL,
    issued_at BIGINT NOT NULL
);
