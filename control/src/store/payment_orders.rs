//! `payment_orders` (migration 0009): online payments a customer started, until the provider confirms
//! or fails them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::domain::money::{from_fen, to_fen};
use crate::ControlError;

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Sent to the provider; the customer is paying.
    Created,
    /// The provider confirmed it; the payment is booked.
    Paid,
    /// The provider reported it failed or was cancelled.
    Failed,
}

impl OrderState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Paid => "paid",
            Self::Failed => "failed",
        }
    }

    /// The state of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Created, Self::Paid, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// An online payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaymentOrder {
    /// Id (the ledger reference once paid).
    pub id: String,
    /// The account paid into.
    pub meter_id: String,
    /// Amount, yuan.
    pub amount: Decimal,
    /// The provider's name.
    pub provider: String,
    /// Where it is.
    pub state: OrderState,
    /// Who started it.
    pub created_by: String,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Confirmed.
    pub paid_at: Option<DateTime<Utc>>,
    /// The provider's own reference.
    pub provider_ref: Option<String>,
}

const COLUMNS: &str =
    "id, meter_id, amount_fen, provider, state, created_by, created_at, paid_at, provider_ref";

fn from_row(row: &AnyRow) -> Result<PaymentOrder, ControlError> {
    Ok(PaymentOrder {
        id: row.try_get("id")?,
        meter_id: row.try_get("meter_id")?,
        amount: from_fen(row.try_get("amount_fen")?),
        provider: row.try_get("provider")?,
        state: stored_enum(
            &row.try_get::<String, _>("state")?,
            "order state",
            OrderState::parse,
        )?,
        created_by: row.try_get("created_by")?,
        created_at: instant(row.try_get("created_at")?)?,
        paid_at: maybe_instant(row.try_get("paid_at")?)?,
        provider_ref: row.try_get("provider_ref")?,
    })
}

/// Records a new order.
pub async fn insert(conn: &mut Conn, o: &PaymentOrder) -> Result<(), ControlError> {
    let statement = format!(
        "INSERT INTO payment_orders ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    let params: [Param; 9] = [
        (&o.id).into(),
        (&o.meter_id).into(),
        to_fen(o.amount)?.into(),
        (&o.provider).into(),
        o.state.as_str().into(),
        (&o.created_by).into(),
        micros(o.created_at).into(),
        o.paid_at.map(micros).into(),
        o.provider_ref.as_deref().into(),
    ];
    sql::execute(conn, &statement, &params).await?;
    Ok(())
}

/// One order.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<PaymentOrder>, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM payment_orders WHERE id = $1");
    sql::row(conn, &statement, &[id.into()], from_row).await
}

/// Moves an order out of `created` (only once: returns false when it had already moved).
pub async fn settle(
    conn: &mut Conn,
    id: &str,
    state: OrderState,
    at: DateTime<Utc>,
    provider_ref: &str,
) -> Result<bool, ControlError> {
    let done = sql::execute(
        conn,
        "UPDATE payment_orders SET state = $1, paid_at = $2, provider_ref = $3 \
         WHERE id = $4 AND state = 'created'",
        &[
            state.as_str().into(),
            micros(at).into(),
            provider_ref.into(),
            id.into(),
        ],
    )
    .await?;
    Ok(done == 1)
}

/// A meter's orders, newest first.
pub async fn for_meter(
    conn: &mut Conn,
    meter_id: &str,
    limit: i64,
) -> Result<Vec<PaymentOrder>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM payment_orders WHERE meter_id = $1 ORDER BY created_at DESC, id LIMIT $2"
    );
    sql::rows(conn, &statement, &[meter_id.into(), limit.into()], from_row).await
}
