//! The `ledger` (every money movement of an account, numbered per account), the payment references
//! and the booked charges per charge key.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, micros, stored_enum, Conn};
use crate::domain::charge_key::ChargeKey;
use crate::domain::money::{from_fen, to_fen};
use crate::ControlError;

/// What a ledger entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The opening balance.
    Opening,
    /// A customer's payment (positive).
    Payment,
    /// A billing charge, or its change after late readings (negative charges give money back).
    Charge,
    /// Money paid back to the customer (negative).
    Refund,
    /// A correction of an earlier entry, authorised by a person.
    Correction,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 5] = [
        Self::Opening,
        Self::Payment,
        Self::Charge,
        Self::Refund,
        Self::Correction,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Payment => "payment",
            Self::Charge => "charge",
            Self::Refund => "refund",
            Self::Correction => "correction",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Meter.
    pub meter_id: String,
    /// Number within the account, from 1.
    pub seq: i64,
    /// Kind.
    pub kind: EntryKind,
    /// Signed amount, yuan (credit positive).
    pub amount: Decimal,
    /// Balance after this entry, yuan.
    pub balance_after: Decimal,
    /// Reference, unique per (meter, kind): payment id, charge key and lake version, …
    pub reference: String,
    /// The entry a correction corrects.
    pub corrects_seq: Option<i64>,
    /// Who authorised it (refunds, corrections).
    pub authorised_by: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// Lake version of a charge.
    pub lake_version: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
}

const COLUMNS: &str =
    "meter_id, seq, kind, amount_fen, balance_after_fen, reference, corrects_seq, \
     authorised_by, note, lake_version, at";

fn from_row(row: &AnyRow) -> Result<Entry, ControlError> {
    Ok(Entry {
        meter_id: row.try_get("meter_id")?,
        seq: row.try_get("seq")?,
        kind: stored_enum(
            &row.try_get::<String, _>("kind")?,
            "ledger kind",
            EntryKind::parse,
        )?,
        amount: from_fen(row.try_get("amount_fen")?),
        balance_after: from_fen(row.try_get("balance_after_fen")?),
        reference: row.try_get("reference")?,
        corrects_seq: row.try_get("corrects_seq")?,
        authorised_by: row.try_get("authorised_by")?,
        note: row.try_get("note")?,
        lake_version: row.try_get("lake_version")?,
        at: instant(row.try_get("at")?)?,
    })
}

/// Appends an entry (its `seq` must be the account's next).
pub async fn insert(conn: &mut Conn, entry: &Entry) -> Result<(), ControlError> {
    insert_many(conn, std::slice::from_ref(entry)).await
}

/// Appends entries (each `seq` the account's next), many rows per statement.
pub async fn insert_many(conn: &mut Conn, entries: &[Entry]) -> Result<(), ControlError> {
    let mut params: Vec<Param> = Vec::with_capacity(entries.len() * 11);
    for entry in entries {
        params.extend::<[Param; 11]>([
            (&entry.meter_id).into(),
            entry.seq.into(),
            entry.kind.as_str().into(),
            to_fen(entry.amount)?.into(),
            to_fen(entry.balance_after)?.into(),
            (&entry.reference).into(),
            entry.corrects_seq.into(),
            entry.authorised_by.as_deref().into(),
            entry.note.as_deref().into(),
            entry.lake_version.into(),
            micros(entry.at).into(),
        ]);
    }
    let head = format!("INSERT INTO ledger ({COLUMNS})");
    sql::execute_rows(conn, &head, "", 11, &params).await?;
    Ok(())
}

/// The entries of an account, newest first, at most `limit`.
pub async fn recent(
    conn: &mut Conn,
    meter_id: &str,
    limit: i64,
) -> Result<Vec<Entry>, ControlError> {
    let statement =
        format!("SELECT {COLUMNS} FROM ledger WHERE meter_id = $1 ORDER BY seq DESC LIMIT $2");
    sql::rows(conn, &statement, &[meter_id.into(), limit.into()], from_row).await
}

/// One entry.
pub async fn get(conn: &mut Conn, meter_id: &str, seq: i64) -> Result<Entry, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM ledger WHERE meter_id = $1 AND seq = $2");
    sql::row(conn, &statement, &[meter_id.into(), seq.into()], from_row)
        .await?
        .ok_or_else(|| {
            ControlError::NotFound(format!("no ledger entry {seq} for meter {meter_id}"))
        })
}

/// The entry of `kind` with `reference` on an account, if any.
pub async fn by_reference(
    conn: &mut Conn,
    meter_id: &str,
    kind: EntryKind,
    reference: &str,
) -> Result<Option<Entry>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM ledger WHERE meter_id = $1 AND kind = $2 AND reference = $3"
    );
    let params = [meter_id.into(), kind.as_str().into(), reference.into()];
    sql::row(conn, &statement, &params, from_row).await
}

/// One account whose stored balance or entry count disagrees with its ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// Meter.
    pub meter_id: String,
    /// The account's balance, yuan.
    pub balance: Decimal,
    /// The sum of its entries, yuan.
    pub ledger_sum: Decimal,
    /// The account's entry count.
    pub entries: i64,
    /// Entries in the ledger.
    pub ledger_entries: i64,
    /// The last entry's balance-after, yuan (should equal the balance).
    pub last_balance_after: Option<Decimal>,
}

/// Every account whose balance is not the sum of its entries, whose entry count differs, or whose last
/// entry's balance-after differs from its balance.
pub async fn mismatches(conn: &mut Conn) -> Result<Vec<Mismatch>, ControlError> {
    let rows = sqlx::query(
        "SELECT a.meter_id, a.balance_fen, a.entries, \
                CAST(COALESCE(l.total, 0) AS BIGINT) AS ledger_sum, \
                CAST(COALESCE(l.n, 0) AS BIGINT) AS ledger_entries, \
                (SELECT balance_after_fen FROM ledger z WHERE z.meter_id = a.meter_id \
                 ORDER BY seq DESC LIMIT 1) AS last_after \
         FROM accounts a LEFT JOIN \
              (SELECT meter_id, SUM(amount_fen) AS total, COUNT(*) AS n FROM ledger GROUP BY meter_id) l \
              ON l.meter_id = a.meter_id \
         ORDER BY a.meter_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let balance: i64 = row.try_get("balance_fen")?;
        let sum: i64 = row.try_get("ledger_sum")?;
        let entries: i64 = row.try_get("entries")?;
        let counted: i64 = row.try_get("ledger_entries")?;
        let last: Option<i64> = row.try_get("last_after")?;
        if balance != sum || entries != counted || last.is_some_and(|l| l != balance) {
            out.push(Mismatch {
                meter_id: row.try_get("meter_id")?,
                balance: from_fen(balance),
                ledger_sum: from_fen(sum),
                entries,
                ledger_entries: counted,
                last_balance_after: last.map(from_fen),
            });
        }
    }
    Ok(out)
}

/// A payment reference: bound to its meter and amount, with the answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReference {
    /// The payer's reference.
    pub reference: String,
    /// Meter it paid.
    pub meter_id: String,
    /// Amount, yuan.
    pub amount: Decimal,
    /// The ledger entry it made.
    pub seq: i64,
    /// Balance right after it, yuan.
    pub balance_after: Decimal,
    /// The command it issued, if any.
    pub command_id: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

fn payment_from_row(row: &AnyRow) -> Result<PaymentReference, ControlError> {
    Ok(PaymentReference {
        reference: row.try_get("reference")?,
        meter_id: row.try_get("meter_id")?,
        amount: from_fen(row.try_get("amount_fen")?),
        seq: row.try_get("seq")?,
        balance_after: from_fen(row.try_get("balance_after_fen")?),
        command_id: row.try_get("command_id")?,
        at: instant(row.try_get("at")?)?,
    })
}

/// The payment that used `reference`, if any.
pub async fn payment_reference(
    conn: &mut Conn,
    reference: &str,
) -> Result<Option<PaymentReference>, ControlError> {
    let statement =
        "SELECT reference, meter_id, amount_fen, seq, balance_after_fen, command_id, at \
                     FROM payment_references WHERE reference = $1";
    sql::row(conn, statement, &[reference.into()], payment_from_row).await
}

/// Records a payment reference.
pub async fn insert_payment_reference(
    conn: &mut Conn,
    payment: &PaymentReference,
) -> Result<(), ControlError> {
    let statement = "INSERT INTO payment_references (reference, meter_id, amount_fen, seq, \
                     balance_after_fen, command_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let params: [Param; 7] = [
        (&payment.reference).into(),
        (&payment.meter_id).into(),
        to_fen(payment.amount)?.into(),
        payment.seq.into(),
        to_fen(payment.balance_after)?.into(),
        payment.command_id.as_deref().into(),
        micros(payment.at).into(),
    ];
    sql::execute(conn, statement, &params).await?;
    Ok(())
}

/// The charges booked for accounts on local days `from` and later, by meter and key, in one query (a
/// key's text starts with its date, so the keys of a day range are a range of text; accounts with none
/// are absent).
pub async fn booked_charges(
    conn: &mut Conn,
    meter_ids: &[&str],
    from: NaiveDate,
) -> Result<BTreeMap<String, BTreeMap<ChargeKey, Decimal>>, ControlError> {
    let mut booked: BTreeMap<String, BTreeMap<ChargeKey, Decimal>> = BTreeMap::new();
    if meter_ids.is_empty() {
        return Ok(booked);
    }
    let statement = format!(
        "SELECT meter_id, charge_key, charge_fen FROM day_charges WHERE charge_key >= $1 \
         AND meter_id IN ({})",
        sql::placeholders(2, meter_ids.len())
    );
    let from = from.format("%Y-%m-%d").to_string();
    let mut params: Vec<Param> = Vec::with_capacity(meter_ids.len() + 1);
    params.push(from.as_str().into());
    params.extend(meter_ids.iter().map(|m| Param::from(*m)));
    let rows = sql::rows(conn, &statement, &params, |row| {
        let key: String = row.try_get("charge_key")?;
        let key = key
            .parse::<ChargeKey>()
            .map_err(|e| ControlError::Corrupt(e.to_string()))?;
        Ok((
            row.try_get::<String, _>("meter_id")?,
            key,
            from_fen(row.try_get("charge_fen")?),
        ))
    })
    .await?;
    for (meter, key, charge) in rows {
        booked.entry(meter).or_default().insert(key, charge);
    }
    Ok(booked)
}

/// A charge as booked: meter, key, price and the lake version it was priced at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedCharge {
    /// Meter.
    pub meter_id: String,
    /// The charge's key.
    pub key: ChargeKey,
    /// Its price, yuan.
    pub charge: Decimal,
    /// The lake version it was priced at.
    pub lake_version: i64,
}

/// Sets the booked charge of each (meter, key), many rows per statement.
pub async fn book_charges(conn: &mut Conn, charges: &[BookedCharge]) -> Result<(), ControlError> {
    let keys: Vec<String> = charges.iter().map(|c| c.key.to_string()).collect();
    let mut params: Vec<Param> = Vec::with_capacity(charges.len() * 4);
    for (charge, key) in charges.iter().zip(&keys) {
        params.extend::<[Param; 4]>([
            (&charge.meter_id).into(),
            key.into(),
            to_fen(charge.charge)?.into(),
            charge.lake_version.into(),
        ]);
    }
    sql::execute_rows(
        conn,
        "INSERT INTO day_charges (meter_id, charge_key, charge_fen, lake_version)",
        "ON CONFLICT (meter_id, charge_key) DO UPDATE SET charge_fen = excluded.charge_fen, \
         lake_version = excluded.lake_version",
        4,
        &params,
    )
    .await?;
    Ok(())
}
