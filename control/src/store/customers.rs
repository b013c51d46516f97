//! The `customers` table: each account's customer, personal fields sealed (`crate::pii`), searchable
//! by keyed hashes only. This layer stores and finds sealed rows; it never sees a plaintext value.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{micros, Conn};
use crate::pii::Field;
use crate::ControlError;

/// A customer row as stored: sealed fields and search hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCustomer {
    /// The account's meter.
    pub meter_id: String,
    /// Sealed name.
    pub name: Option<String>,
    /// Sealed phone.
    pub phone: Option<String>,
    /// Sealed address.
    pub address: Option<String>,
    /// Sealed ID number.
    pub id_number: Option<String>,
    /// Keyed hash of the normalised phone.
    pub phone_hash: Option<String>,
    /// Keyed hash of the normalised ID number.
    pub id_number_hash: Option<String>,
    /// Keyed hash of the normalised name.
    pub name_hash: Option<String>,
    /// The key the row was sealed with.
    pub key_id: String,
}

impl std::fmt::Debug for SealedCustomer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCustomer")
            .field("meter_id", &self.meter_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "meter_id, name, phone, address, id_number, phone_hash, id_number_hash, name_hash, key_id";

fn from_row(row: &AnyRow) -> Result<SealedCustomer, ControlError> {
    Ok(SealedCustomer {
        meter_id: row.try_get("meter_id")?,
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        address: row.try_get("address")?,
        id_number: row.try_get("id_number")?,
        phone_hash: row.try_get("phone_hash")?,
        id_number_hash: row.try_get("id_number_hash")?,
        name_hash: row.try_get("name_hash")?,
        key_id: row.try_get("key_id")?,
    })
}

/// Writes a customer (insert or replace).
pub async fn upsert(
    conn: &mut Conn,
    customer: &SealedCustomer,
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    let statement = format!(
        "INSERT INTO customers ({COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (meter_id) DO UPDATE SET name = excluded.name, phone = excluded.phone, \
         address = excluded.address, id_number = excluded.id_number, phone_hash = excluded.phone_hash, \
         id_number_hash = excluded.id_number_hash, name_hash = excluded.name_hash, key_id = excluded.key_id, updated_at = excluded.updated_at"
    );
    let params: [Param; 10] = [
        (&customer.meter_id).into(),
        customer.name.as_deref().into(),
        customer.phone.as_deref().into(),
        customer.address.as_deref().into(),
        customer.id_number.as_deref().into(),
        customer.phone_hash.as_deref().into(),
        customer.id_number_hash.as_deref().into(),
        customer.name_hash.as_deref().into(),
        (&customer.key_id).into(),
        micros(now).into(),
    ];
    sql::execute(conn, &statement, &params).await?;
    Ok(())
}

/// The customer of an account, if recorded.
pub async fn get(conn: &mut Conn, meter_id: &str) -> Result<Option<SealedCustomer>, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM customers WHERE meter_id = $1");
    sql::row(conn, &statement, &[meter_id.into()], from_row).await
}

/// Meters whose customer's `field` (name, phone or ID number) has one of `hashes`, in meter order.
pub async fn find(
    conn: &mut Conn,
    field: Field,
    hashes: &[String],
) -> Result<Vec<String>, ControlError> {
    let column = match field {
        Field::Name => "name_hash",
        Field::Phone => "phone_hash",
        Field::IdNumber => "id_number_hash",
        Field::Address | Field::Email => {
            return Err(ControlError::Invalid(format!(
                "customers are not searched by {}",
                field.as_str()
            )))
        }
    };
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let statement = format!(
        "SELECT meter_id FROM customers WHERE {column} IN ({}) ORDER BY meter_id LIMIT 1000",
        sql::placeholders(1, hashes.len())
    );
    let params: Vec<Param> = hashes.iter().map(Param::from).collect();
    sql::rows(
        conn,
        &statement,
        &params,
        |row| Ok(row.try_get("meter_id")?),
    )
    .await
}

/// Customers after meter `after` in meter order, at most `limit` (for re-sealing and exports).
pub async fn page(
    conn: &mut Conn,
    after: &str,
    limit: i64,
) -> Result<Vec<SealedCustomer>, ControlError> {
    let statement =
        format!("SELECT {COLUMNS} FROM customers WHERE meter_id > $1 ORDER BY meter_id LIMIT $2");
    sql::rows(conn, &statement, &[after.into(), limit.into()], from_row).await
}
