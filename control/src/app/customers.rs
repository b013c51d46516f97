//! Customers' personal data: recording it sealed (audited with masked values only), reading it back
//! for those allowed to see the account, exact search by name, phone or ID number, and re-sealing every
//! customer under a new key.

use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::pii::{masked, Field, PiiKeys};
use crate::store::accounts;
use crate::store::customers::{self, SealedCustomer};
use crate::ControlError;

/// The longest a personal-data field may be, characters.
pub const MAX_FIELD_CHARS: usize = 200;

/// A customer's personal data in the clear (in memory only; `Debug` shows masked values).
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerDetails {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// National ID number (18 characters, the last may be X; 15 for old cards).
    #[serde(default)]
    pub id_number: Option<String>,
}

impl CustomerDetails {
    fn fields(&self) -> [(Field, Option<&str>); 4] {
        [
            (Field::Name, self.name.as_deref()),
            (Field::Phone, self.phone.as_deref()),
            (Field::Address, self.address.as_deref()),
            (Field::IdNumber, self.id_number.as_deref()),
        ]
    }

    /// Every field masked, for logs and the audit trail (a phone by its digits: `138****5678`).
    pub fn masked(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (field, value) in self.fields() {
            if let Some(value) = value {
                let shown = match field {
                    Field::Phone | Field::IdNumber => field.normalise(value),
                    Field::Name | Field::Address | Field::Email => value.to_string(),
                };
                out.insert(field.as_str().into(), masked(&shown).into());
            }
        }
        out.into()
    }

    /// Checks the fields' shapes; the error names the field, never its value.
    pub fn validate(&self) -> Result<(), ControlError> {
        let invalid = |field: Field, why: &str| {
            ControlError::Invalid(format!("customer {}: {why}", field.as_str()))
        };
        for (field, value) in self.fields() {
            let Some(value) = value else { continue };
            if value.trim().is_empty() {
                return Err(invalid(field, "empty (leave it out instead)"));
            }
            if value.chars().count() > MAX_FIELD_CHARS {
                return Err(invalid(field, "longer than 200 characters"));
            }
            if value.chars().any(char::is_control) {
                return Err(invalid(field, "control characters"));
            }
        }
        if let Some(phone) = &self.phone {
            let digits = Field::Phone.normalise(phone).len();
            if !(5..=20).contains(&digits)
                || phone
                    .chars()
                    .any(|c| !(c.is_ascii_digit() || " +-()".contains(c)))
            {
                return Err(invalid(Field::Phone, "expected 5–20 digits"));
            }
        }
        if let Some(id) = &self.id_number {
            let id = Field::IdNumber.normalise(id);
            let shape = (id.len() == 18
                && id[..17].chars().all(|c| c.is_ascii_digit())
                && id[17..].chars().all(|c| c.is_ascii_digit() || c == 'X'))
                || (id.len() == 15 && id.chars().all(|c| c.is_ascii_digit()));
            if !shape {
                return Err(invalid(
                    Field::IdNumber,
                    "expected 18 characters (or 15 digits)",
                ));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for CustomerDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustomerDetails({})", self.masked())
    }
}

/// Seals `details` of `meter_id` under the active key.
fn seal(
    keys: &PiiKeys,
    meter_id: &str,
    details: &CustomerDetails,
) -> Result<SealedCustomer, ControlError> {
    let sealed = |field: Field, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| keys.seal(meter_id, field, v))
            .transpose()
    };
    let hash = |field: Field, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| keys.search_hash(field, v))
            .transpose()
    };
    Ok(SealedCustomer {
        meter_id: meter_id.to_string(),
        name: sealed(Field::Name, &details.name)?,
        phone: sealed(Field::Phone, &details.phone)?,
        address: sealed(Field::Address, &details.address)?,
        id_number: sealed(Field::IdNumber, &details.id_number)?,
        phone_hash: hash(Field::Phone, &details.phone)?,
        id_number_hash: hash(Field::IdNumber, &details.id_number)?,
        name_hash: hash(Field::Name, &details.name)?,
        key_id: keys.active_id().to_string(),
    })
}

/// Opens a stored row.
fn open(keys: &PiiKeys, row: &SealedCustomer) -> Result<CustomerDetails, ControlError> {
    let opened = |field: Field, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| keys.open(&row.meter_id, field, v))
            .transpose()
    };
    Ok(CustomerDetails {
        name: opened(Field::Name, &row.name)?,
        phone: opened(Field::Phone, &row.phone)?,
        address: opened(Field::Address, &row.address)?,
        id_number: opened(Field::IdNumber, &row.id_number)?,
    })
}

/// Rows re-sealed per transaction.
const RESEAL_PAGE: i64 = 500;

impl Control {
    /// Records (or replaces) the customer of an account; audited with masked values.
    pub async fn set_customer(
        &self,
        meter_id: &str,
        details: &CustomerDetails,
        actor: &Actor,
    ) -> Result<(), ControlError> {
        details.validate()?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        accounts::lock(&mut tx, meter_id, now).await?;
        let before = customers::get(&mut tx, meter_id)
            .await?
            .map(|row| open(&self.keys.pii, &row))
            .transpose()?;
        customers::upsert(&mut tx, &seal(&self.keys.pii, meter_id, details)?, now).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::CustomerChanged,
            &format!("account:{meter_id}"),
            before.map(|b| b.masked()),
            Some(details.masked()),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The customer of an account, opened (`None` when none is recorded).
    pub async fn customer(&self, meter_id: &str) -> Result<Option<CustomerDetails>, ControlError> {
        let mut conn = self.db.conn().await?;
        accounts::get(&mut conn, meter_id).await?;
        customers::get(&mut conn, meter_id)
            .await?
            .map(|row| open(&self.keys.pii, &row))
            .transpose()
    }

    /// Meters whose customer has exactly this phone (digits compared) or this ID number.
    pub async fn find_customers(
        &self,
        phone: Option<&str>,
        id_number: Option<&str>,
    ) -> Result<Vec<String>, ControlError> {
        match (phone, id_number) {
            (Some(phone), None) => self.find_customers_by(Field::Phone, phone).await,
            (None, Some(id)) => self.find_customers_by(Field::IdNumber, id).await,
            _ => Err(ControlError::Invalid(
                "search by exactly one of phone or id_number".into(),
            )),
        }
    }

    /// Meters whose customer's `field` is `value` once normalised (a name: case and spacing aside;
    /// a phone: its digits; an ID number: upper-cased), at most 1,000, in meter order.
    pub async fn find_customers_by(
        &self,
        field: Field,
        value: &str,
    ) -> Result<Vec<String>, ControlError> {
        let hashes = self.keys.pii.search_hashes(field, value)?;
        customers::find(&mut *self.db.conn().await?, field, &hashes).await
    }

    /// Re-seals every customer not sealed with the active key (after a new key was added); returns
    /// how many rows changed. Each page is its own transaction, so an interrupted run resumes.
    pub async fn reseal_customers(&self, actor: &Actor) -> Result<usize, ControlError> {
        let active = self.keys.pii.active_id().to_string();
        let (mut after, mut resealed) = (String::new(), 0_usize);
        loop {
            let now = self.now();
            let mut tx = self.db.begin().await?;
            let page = customers::page(&mut tx, &after, RESEAL_PAGE).await?;
            let Some(last) = page.last() else { break };
            after.clone_from(&last.meter_id);
            // Sealed with an older key, or written before names were searchable.
            let stale = |row: &&SealedCustomer| {
                row.key_id != active || (row.name.is_some() && row.name_hash.is_none())
            };
            for row in page.iter().filter(stale) {
                let details = open(&self.keys.pii, row)?;
                customers::upsert(
                    &mut tx,
                    &seal(&self.keys.pii, &row.meter_id, &details)?,
                    now,
                )
                .await?;
                resealed += 1;
            }
            tx.commit().await?;
        }
        self.audit_alone(
            actor,
            AuditAction::PiiResealed,
            "customers",
            Some(json!({ "key": active, "resealed": resealed })),
            Outcome::Ok,
        )
        .await?;
        Ok(resealed)
    }

    /// Every customer, opened, in meter order (for an encrypted export; audited).
    pub async fn customers_for_export(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(String, CustomerDetails)>, ControlError> {
        let mut conn = self.db.conn().await?;
        let (mut after, mut all) = (String::new(), Vec::new());
        loop {
            let page = customers::page(&mut conn, &after, RESEAL_PAGE).await?;
            let Some(last) = page.last() else { break };
            after.clone_from(&last.meter_id);
            for row in &page {
                all.push((row.meter_id.clone(), open(&self.keys.pii, row)?));
            }
        }
        drop(conn);
        self.audit_alone(
            actor,
            AuditAction::CustomersExported,
            "customers",
            Some(json!({ "customers": all.len() })),
            Outcome::Ok,
        )
        .await?;
        Ok(all)
    }

    /// The personal-data keys (for encrypted exports).
    pub fn pii_keys(&self) -> &PiiKeys {
        &self.keys.pii
    }
}
