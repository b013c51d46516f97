//! Finding accounts the way counter staff do: by meter number (or its start), the customer's phone or
//! name, narrowed by prepaid state, a page at a time, each with its customer's name.

use super::Control;
use crate::domain::prepaid::PrepaidState;
use crate::domain::search::SearchTerm;
use crate::pii::Field;
use crate::store::accounts::{self, Account, AccountQuery};
use crate::ControlError;

/// The most accounts one search page lists.
pub const MAX_PAGE: i64 = 200;

/// An account found, with its customer's name when one is recorded.
#[derive(Debug, Clone)]
pub struct Found {
    /// The account.
    pub account: Account,
    /// The customer's name (opened; shown to staff who may list accounts).
    pub customer_name: Option<String>,
}

impl Control {
    /// Accounts matching `text` (see [`SearchTerm`]) and `state`, after meter `after`, at most
    /// `limit` (1–[`MAX_PAGE`]).
    pub async fn search_accounts(
        &self,
        text: &str,
        state: Option<PrepaidState>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Found>, ControlError> {
        let term = SearchTerm::parse(text).map_err(ControlError::Invalid)?;
        let by_customer = match &term {
            SearchTerm::Everything => None,
            SearchTerm::Digits(_) => match term.phone() {
                Some(phone) => Some(self.find_customers_by(Field::Phone, phone).await?),
                None => Some(Vec::new()),
            },
            SearchTerm::Name(name) => Some(self.find_customers_by(Field::Name, name).await?),
        };
        let query = AccountQuery {
            meter_prefix: term.meter_prefix(),
            meters: by_customer.as_deref(),
            state,
            after,
            limit: limit.clamp(1, MAX_PAGE),
        };
        let found = accounts::search(&mut *self.db.conn().await?, &query).await?;
        let mut listed = Vec::with_capacity(found.len());
        for account in found {
            let customer_name = self
                .customer(&account.meter_id)
                .await?
                .and_then(|details| details.name);
            listed.push(Found {
                account,
                customer_name,
            });
        }
        Ok(listed)
    }
}
