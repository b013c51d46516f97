//! Online payments: a customer starts an order for an amount, pays at the provider, and the provider's
//! signed callback books it. The order id is the payment's ledger reference, so a callback repeated by
//! the provider (they retry until answered) books once and answers the same receipt.

use serde_json::json;

use super::audit::Actor;
use super::payments::PaymentReceipt;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::money::parse_amount;
use crate::provider::{CallbackStatus, ProviderCallback};
use crate::store::accounts;
use crate::store::payment_orders::{self, OrderState, PaymentOrder};
use crate::ControlError;

/// What a callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The payment is booked (or was already: `receipt.replay`).
    Paid(PaymentReceipt),
    /// The order failed; nothing booked.
    Failed,
}

/// The provider's actor in the audit trail.
fn provider_actor(provider: &str) -> Actor {
    Actor {
        name: format!("provider:{provider}"),
        role: None,
        origin: "payment-callback".into(),
    }
}

impl Control {
    /// Starts an online payment of `amount` (yuan, text) into `meter_id` through `provider`.
    pub async fn start_online_payment(
        &self,
        meter_id: &str,
        amount: &str,
        provider: &str,
        actor: &Actor,
    ) -> Result<PaymentOrder, ControlError> {
        let amount = parse_amount(amount)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        accounts::lock(&mut tx, meter_id, now).await?;
        let order = PaymentOrder {
            id: format!("ord-{}", uuid::Uuid::new_v4().simple()),
            meter_id: meter_id.to_string(),
            amount,
            provider: provider.to_string(),
            state: OrderState::Created,
            created_by: actor.name.clone(),
            created_at: now,
            paid_at: None,
            provider_ref: None,
        };
        payment_orders::insert(&mut tx, &order).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::Payment,
            &format!("order:{}", order.id),
            None,
            Some(json!({"meter": meter_id, "amount": amount, "provider": provider, "state": "created"})),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(order)
    }

    /// One order.
    pub async fn payment_order(&self, id: &str) -> Result<PaymentOrder, ControlError> {
        payment_orders::get(&mut *self.db.conn().await?, id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("no payment order {id}")))
    }

    /// A meter's online payments, newest first.
    pub async fn payment_orders_of(
        &self,
        meter_id: &str,
    ) -> Result<Vec<PaymentOrder>, ControlError> {
        payment_orders::for_meter(&mut *self.db.conn().await?, meter_id, 50).await
    }

    /// Applies a verified provider callback. The amount must be the order's; a paid order books the
    /// payment (idempotently) and a failed one books nothing; a failure after a payment is a conflict.
    pub async fn online_payment_callback(
        &self,
        callback: &ProviderCallback,
    ) -> Result<CallbackOutcome, ControlError> {
        let order = self.payment_order(&callback.order_id).await?;
        let amount = parse_amount(&callback.amount)?;
        if amount != order.amount {
            return Err(ControlError::Invalid(format!(
                "order {}: the provider reports {amount} yuan, the order is for {} yuan",
                order.id, order.amount
            )));
        }
        let actor = provider_actor(&order.provider);
        match callback.status {
            CallbackStatus::Paid => {
                if order.state == OrderState::Failed {
                    return Err(ControlError::Conflict(format!(
                        "order {} was reported failed before",
                        order.id
                    )));
                }
                let receipt = self
                    .pay(&order.meter_id, &callback.amount, &order.id, &actor)
                    .await?;
                let mut conn = self.db.conn().await?;
                payment_orders::settle(
                    &mut conn,
                    &order.id,
                    OrderState::Paid,
                    self.now(),
                    &callback.provider_ref,
                )
                .await?;
                Ok(CallbackOutcome::Paid(receipt))
            }
            CallbackStatus::Failed => {
                if order.state == OrderState::Paid {
                    return Err(ControlError::Conflict(format!(
                        "order {} is already paid",
                        order.id
                    )));
                }
                let mut conn = self.db.conn().await?;
                payment_orders::settle(
                    &mut conn,
                    &order.id,
                    OrderState::Failed,
                    self.now(),
                    &callback.provider_ref,
                )
                .await?;
                Ok(CallbackOutcome::Failed)
            }
        }
    }
}
