//! Online payment providers behind one trait: where the customer is sent to pay an order, and how the
//! provider's callback is checked (an HMAC-SHA256 signature over the body, as on the notification
//! webhook). [`SimulatedProvider`] stands in for a real one: its checkout is a page of this service,
//! and it signs its callbacks with the configured secret.

use rust_decimal::Decimal;

use crate::notify::webhook::{signature, verify};
use crate::store::payment_orders::PaymentOrder;

/// The header a provider's callback carries its signature in.
pub const CALLBACK_SIGNATURE_HEADER: &str = "x-provider-signature";

/// How long a callback's signature stays valid, seconds.
const CALLBACK_TOLERANCE_S: i64 = 300;

/// What the provider says about an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// The customer paid.
    Paid,
    /// The payment failed or was cancelled.
    Failed,
}

/// A provider's callback, once its signature checked out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderCallback {
    /// Our order id.
    pub order_id: String,
    /// The amount the provider took, yuan (text, exact).
    pub amount: String,
    /// Paid or failed.
    pub status: CallbackStatus,
    /// The provider's own reference.
    pub provider_ref: String,
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The signature is missing, wrong or stale.
    #[error("the callback's signature does not check out")]
    Signature,
    /// The body is not a callback.
    #[error("the callback is malformed: {0}")]
    Malformed(String),
}

/// An online payment provider.
pub trait PaymentProvider: Send + Sync {
    /// Its name, stored with each order.
    fn name(&self) -> &'static str;
    /// Where the customer goes to pay `order`.
    fn checkout_url(&self, order: &PaymentOrder) -> String;
    /// The callback in `body`, if `signature` (its header) is valid now (`now`: Unix seconds).
    fn verify_callback(
        &self,
        signature: &str,
        body: &[u8],
        now: i64,
    ) -> Result<ProviderCallback, CallbackError>;
}

/// The simulated provider.
pub struct SimulatedProvider {
    secret: Vec<u8>,
}

impl std::fmt::Debug for SimulatedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedProvider").finish_non_exhaustive()
    }
}

impl SimulatedProvider {
    /// A provider signing with `secret` (empty: a random secret for this process).
    pub fn new(secret: &str) -> Self {
        let secret = if secret.is_empty() {
            crate::secrets::new_csrf().into_bytes()
        } else {
            secret.as_bytes().to_vec()
        };
        Self { secret }
    }

    /// The callback the provider sends when `order` is paid (or not): its body and signature header.
    pub fn callback(
        &self,
        order_id: &str,
        amount: Decimal,
        status: CallbackStatus,
        now: i64,
    ) -> (Vec<u8>, String) {
        let callback = ProviderCallback {
            order_id: order_id.to_string(),
            amount: format!("{:.2}", amount),
            status,
            provider_ref: format!("sim-{}", uuid::Uuid::new_v4().simple()),
        };
        let body = serde_json::to_vec(&callback).unwrap_or_default();
        let header = signature(&self.secret, now, &body);
        (body, header)
    }
}

impl PaymentProvider for SimulatedProvider {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn checkout_url(&self, order: &PaymentOrder) -> String {
        format!("/pay/sim/{}", order.id)
    }

    fn verify_callback(
        &self,
        header: &str,
        body: &[u8],
        now: i64,
    ) -> Result<ProviderCallback, CallbackError> {
        if !verify(&self.secret, header, body, now, CALLBACK_TOLERANCE_S) {
            return Err(CallbackError::Signature);
        }
        serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn only_its_own_fresh_callbacks_verify() {
        let provider = SimulatedProvider::new("a-provider-secret-1234");
        let (body, header) = provider.callback("order-1", dec!(50), CallbackStatus::Paid, 1_000);
        let callback = provider.verify_callback(&header, &body, 1_010).unwrap();
        assert_eq!(
            (callback.order_id.as_str(), callback.amount.as_str()),
            ("order-1", "50.00")
        );
        assert_eq!(
            provider.verify_callback(&header, &body, 9_999),
            Err(CallbackError::Signature)
        );
        let other = SimulatedProvider::new("another-provider-secret");
        assert_eq!(
            other.verify_callback(&header, &body, 1_010),
            Err(CallbackError::Signature)
        );
        let mut forged = body.clone();
        forged[5] ^= 1;
        assert_eq!(
            provider.verify_callback(&header, &forged, 1_010),
            Err(CallbackError::Signature)
        );
    }
}
