//! The `accounts` table: one prepaid account per meter.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::domain::money::{from_fen, to_fen};
use crate::domain::prepaid::PrepaidState;
use crate::domain::relay::RelayState;
use crate::domain::terms::PrepaidTerms;
use crate::ControlError;

/// Per-account overrides of the plan's prepaid terms (`None`: the plan's value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TermsOverrides {
    /// Alarm 1, yuan.
    pub alarm1: Option<Decimal>,
    /// Alarm 2, yuan.
    pub alarm2: Option<Decimal>,
    /// Overdraft limit, yuan.
    pub overdraft_limit: Option<Decimal>,
    /// Close-allowed threshold, yuan.
    pub close_allowed: Option<Decimal>,
    /// Hoarding limit, yuan.
    pub hoarding_limit: Option<Decimal>,
}

impl TermsOverrides {
    /// `base` with these overrides applied.
    pub fn apply(&self, base: PrepaidTerms) -> PrepaidTerms {
        PrepaidTerms {
            alarm1: self.alarm1.unwrap_or(base.alarm1),
            alarm2: self.alarm2.unwrap_or(base.alarm2),
            overdraft_limit: self.overdraft_limit.unwrap_or(base.overdraft_limit),
            close_allowed: self.close_allowed.unwrap_or(base.close_allowed),
            hoarding_limit: self.hoarding_limit.unwrap_or(base.hoarding_limit),
            close_allowed_rule: base.close_allowed_rule,
        }
    }
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// Meter address.
    pub meter_id: String,
    /// Collector that owns the meter's bus (the Kafka key of its commands).
    pub collector_id: String,
    /// Tariff plan.
    pub plan: String,
    /// When the account opened (billing starts here).
    pub opened_at: DateTime<Utc>,
    /// Balance, yuan (always the sum of the ledger's entries).
    pub balance: Decimal,
    /// Charges so far, yuan.
    pub charged: Decimal,
    /// Ledger entries so far (the last entry's sequence number).
    pub entries: i64,
    /// Prepaid state.
    pub state: PrepaidState,
    /// Relay as last known.
    pub relay: RelayState,
    /// When the relay state was last learnt.
    pub relay_known_at: DateTime<Utc>,
    /// Per-account terms.
    pub overrides: TermsOverrides,
    /// When the pre-trip warning of the current arrears went out (cleared when the account re-arms).
    pub warned_at: Option<DateTime<Utc>>,
    /// Billing watermark: charges before this instant are final.
    pub billed_from: DateTime<Utc>,
    /// The lake version of the last billing pass that charged this account.
    pub billed_version: Option<i64>,
    /// The last billing error, until a pass succeeds.
    pub billing_error: Option<String>,
}

fn fen_or_none(value: Option<Decimal>) -> Result<Option<i64>, ControlError> {
    Ok(value.map(to_fen).transpose()?)
}

fn from_row(row: &AnyRow) -> Result<Account, ControlError> {
    let overrides = TermsOverrides {
        alarm1: row.try_get::<Option<i64>, _>("alarm1_fen")?.map(from_fen),
        alarm2: row.try_get::<Option<i64>, _>("alarm2_fen")?.map(from_fen),
        overdraft_limit: row
            .try_get::<Option<i64>, _>("overdraft_fen")?
            .map(from_fen),
        close_allowed: row
            .try_get::<Option<i64>, _>("close_allowed_fen")?
            .map(from_fen),
        hoarding_limit: row.try_get::<Option<i64>, _>("hoarding_fen")?.map(from_fen),
    };
    Ok(Account {
        meter_id: row.try_get("meter_id")?,
        collector_id: row.try_get("collector_id")?,
        plan: row.try_get("plan")?,
        opened_at: instant(row.try_get("opened_at")?)?,
        balance: from_fen(row.try_get("balance_fen")?),
        charged: from_fen(row.try_get("charged_fen")?),
        entries: row.try_get("entries")?,
        state: stored_enum(
            &row.try_get::<String, _>("prepaid_state")?,
            "prepaid state",
            PrepaidState::parse,
        )?,
        relay: stored_enum(
            &row.try_get::<String, _>("relay")?,
            "relay state",
            RelayState::parse,
        )?,
        relay_known_at: instant(row.try_get("relay_known_at")?)?,
        overrides,
        warned_at: maybe_instant(row.try_get("warned_at")?)?,
        billed_from: instant(row.try_get("billed_from")?)?,
        billed_version: row.try_get("billed_version")?,
        billing_error: row.try_get("billing_error")?,
    })
}

const COLUMNS: &str = "meter_id, collector_id, plan, opened_at, balance_fen, charged_fen, entries, \
     prepaid_state, relay, relay_known_at, alarm1_fen, alarm2_fen, overdraft_fen, close_allowed_fen, \
     hoarding_fen, warned_at, billed_from, billed_version, billing_error";

/// The stored values of `account`, in [`COLUMNS`] order.
fn values(account: &Account) -> Result<Vec<Param<'_>>, ControlError> {
    let o = &account.overrides;
    Ok(vec![
        (&account.meter_id).into(),
        (&account.collector_id).into(),
        (&account.plan).into(),
        micros(account.opened_at).into(),
        to_fen(account.balance)?.into(),
        to_fen(account.charged)?.into(),
        account.entries.into(),
        account.state.as_str().into(),
        account.relay.as_str().into(),
        micros(account.relay_known_at).into(),
        fen_or_none(o.alarm1)?.into(),
        fen_or_none(o.alarm2)?.into(),
        fen_or_none(o.overdraft_limit)?.into(),
        fen_or_none(o.close_allowed)?.into(),
        fen_or_none(o.hoarding_limit)?.into(),
        account.warned_at.map(micros).into(),
        micros(account.billed_from).into(),
        account.billed_version.into(),
        account.billing_error.as_deref().into(),
    ])
}

/// `$1, $2, …` for `n` parameters.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts `account` unless its meter has one; returns whether it was inserted.
pub async fn insert(conn: &mut Conn, account: &Account) -> Result<bool, ControlError> {
    let mut params = values(account)?;
    params.push(micros(account.opened_at).into());
    let statement = format!(
        "INSERT INTO accounts ({COLUMNS}, updated_at) VALUES ({}) ON CONFLICT (meter_id) DO NOTHING",
        placeholders(params.len())
    );
    Ok(sql::execute(conn, &statement, &params).await? == 1)
}

/// Writes every field of `account` but its meter (the key).
pub async fn save(
    conn: &mut Conn,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    static STATEMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let statement = STATEMENT.get_or_init(|| {
        let columns: Vec<&str> = COLUMNS.split(',').map(str::trim).collect();
        let sets: Vec<String> = columns
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, column)| format!("{column} = ${}", i + 1))
            .collect();
        format!(
            "UPDATE accounts SET {}, updated_at = ${} WHERE meter_id = $1",
            sets.join(", "),
            columns.len() + 1
        )
    });
    let mut params = values(account)?;
    params.push(micros(now).into());
    sql::execute(conn, statement, &params).await?;
    Ok(())
}

/// Writes every field of each account but its meter, many rows per statement (accounts that already
/// exist, as read by [`lock_many`]; each at most once).
pub async fn save_many(
    conn: &mut Conn,
    accounts: &[Account],
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    static TAIL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let tail = TAIL.get_or_init(|| {
        let sets: Vec<String> = COLUMNS
            .split(',')
            .map(str::trim)
            .skip(1)
            .chain(["updated_at"])
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        format!("ON CONFLICT (meter_id) DO UPDATE SET {}", sets.join(", "))
    });
    let mut params = Vec::new();
    let mut width = 0;
    for account in accounts {
        let values = values(account)?;
        width = values.len() + 1;
        params.extend(values);
        params.push(micros(now).into());
    }
    if params.is_empty() {
        return Ok(());
    }
    let head = format!("INSERT INTO accounts ({COLUMNS}, updated_at)");
    sql::execute_rows(conn, &head, tail, width, &params).await?;
    Ok(())
}

/// Reads an account and locks its row until the transaction ends (PostgreSQL row lock; SQLite has
/// one writer), so concurrent changes to one account serialise.
pub async fn lock(
    conn: &mut Conn,
    meter_id: &str,
    now: DateTime<Utc>,
) -> Result<Account, ControlError> {
    let statement =
        format!("UPDATE accounts SET updated_at = $1 WHERE meter_id = $2 RETURNING {COLUMNS}");
    sql::row(
        conn,
        &statement,
        &[micros(now).into(), meter_id.into()],
        from_row,
    )
    .await?
    .ok_or_else(|| ControlError::no_account(meter_id))
}

/// [`lock`] for many accounts in one statement (a billing batch): the accounts found, by meter.
pub async fn lock_many(
    conn: &mut Conn,
    meter_ids: &[&str],
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, Account>, ControlError> {
    if meter_ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let statement = format!(
        "UPDATE accounts SET updated_at = $1 WHERE meter_id IN ({}) RETURNING {COLUMNS}",
        sql::placeholders(2, meter_ids.len())
    );
    let mut params: Vec<Param> = Vec::with_capacity(meter_ids.len() + 1);
    params.push(micros(now).into());
    params.extend(meter_ids.iter().map(|m| Param::from(*m)));
    Ok(sql::rows(conn, &statement, &params, from_row)
        .await?
        .into_iter()
        .map(|a| (a.meter_id.clone(), a))
        .collect())
}

/// Reads many accounts (without locking them): the accounts found, by meter.
pub async fn get_many(
    conn: &mut Conn,
    meter_ids: &[&str],
) -> Result<BTreeMap<String, Account>, ControlError> {
    if meter_ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let statement = format!(
        "SELECT {COLUMNS} FROM accounts WHERE meter_id IN ({})",
        sql::placeholders(1, meter_ids.len())
    );
    let params: Vec<Param> = meter_ids.iter().map(|m| Param::from(*m)).collect();
    Ok(sql::rows(conn, &statement, &params, from_row)
        .await?
        .into_iter()
        .map(|a| (a.meter_id.clone(), a))
        .collect())
}

/// Reads an account.
pub async fn get(conn: &mut Conn, meter_id: &str) -> Result<Account, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM accounts WHERE meter_id = $1");
    sql::row(conn, &statement, &[meter_id.into()], from_row)
        .await?
        .ok_or_else(|| ControlError::no_account(meter_id))
}

/// Accounts in meter order after `after` (exclusive), at most `limit`.
pub async fn page(conn: &mut Conn, after: &str, limit: i64) -> Result<Vec<Account>, ControlError> {
    let statement =
        format!("SELECT {COLUMNS} FROM accounts WHERE meter_id > $1 ORDER BY meter_id LIMIT $2");
    sql::rows(conn, &statement, &[after.into(), limit.into()], from_row).await
}

/// Which accounts a search lists: those whose meter starts with `meter_prefix` or is one of
/// `meters` (either, when both are given; all, when neither), in `state` if given, after meter `after`.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery<'a> {
    /// The start of the meter number (digits only).
    pub meter_prefix: Option<&'a str>,
    /// Meters found another way (a customer's phone or name).
    pub meters: Option<&'a [String]>,
    /// Only accounts in this prepaid state.
    pub state: Option<PrepaidState>,
    /// Paging: only meters after this one.
    pub after: &'a str,
    /// At most this many.
    pub limit: i64,
}

/// The accounts `query` asks for, in meter order.
pub async fn search(
    conn: &mut Conn,
    query: &AccountQuery<'_>,
) -> Result<Vec<Account>, ControlError> {
    let prefix = query
        .meter_prefix
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
        .map(|p| format!("{p}%"));
    let mut params: Vec<Param> = vec![query.after.into()];
    let mut clauses = vec!["meter_id > $1".to_string()];
    let mut either = Vec::new();
    if let Some(prefix) = &prefix {
        params.push(prefix.into());
        either.push(format!("meter_id LIKE ${}", params.len()));
    }
    if let Some(meters) = query.meters.filter(|m| !m.is_empty()) {
        either.push(format!(
            "meter_id IN ({})",
            sql::placeholders(params.len() + 1, meters.len())
        ));
        params.extend(meters.iter().map(Param::from));
    }
    match (
        either.is_empty(),
        query.meter_prefix.is_some() || query.meters.is_some(),
    ) {
        (false, _) => clauses.push(format!("({})", either.join(" OR "))),
        // Asked for a prefix or meters, and none is usable: nothing matches.
        (true, true) => return Ok(Vec::new()),
        (true, false) => {}
    }
    if let Some(state) = query.state {
        params.push(state.as_str().into());
        clauses.push(format!("prepaid_state = ${}", params.len()));
    }
    params.push(query.limit.into());
    let statement = format!(
        "SELECT {COLUMNS} FROM accounts WHERE {} ORDER BY meter_id LIMIT ${}",
        clauses.join(" AND "),
        params.len()
    );
    sql::rows(conn, &statement, &params, from_row).await
}

/// Accounts per prepaid state.
pub async fn count_by_state(conn: &mut Conn) -> Result<Vec<(String, i64)>, ControlError> {
    Ok(sqlx::query_as(
        "SELECT prepaid_state, count(*) FROM accounts GROUP BY prepaid_state ORDER BY prepaid_state",
    )
    .fetch_all(&mut *conn)
    .await?)
}
