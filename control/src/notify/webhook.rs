//! The webhook channel: a JSON POST signed with HMAC-SHA256 over `<timestamp>.<body>`, so the
//! provider can check it came from here and is fresh (`docs/contracts.md`, "Notifications"). A 2xx
//! answer is delivery; 408, 429 and 5xx (and no answer) are tried again; other answers are final.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Channel, DeliveryError, NotifyConfig, Outgoing};

/// The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-meterlake-signature";
/// The header carrying the delivery id (the receiver's idempotency key).
pub const DELIVERY_HEADER: &str = "x-meterlake-delivery";

/// Posts notifications to one URL.
pub struct Webhook {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

/// The signature of `body` sent at `timestamp` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Whether `header` is a valid signature of `body` under `secret`, made at most `tolerance_s` seconds
/// from `now` (for receivers; the demo's and the tests' receivers use it).
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance_s: i64) -> bool {
    let mut timestamp = None;
    for part in header.split(',') {
        if let Some(t) = part.strip_prefix("t=") {
            timestamp = t.parse::<i64>().ok();
        }
    }
    let Some(t) = timestamp else { return false };
    if (now - t).abs() > tolerance_s {
        return false;
    }
    let expected = signature(secret, t, body);
    expected.len() == header.len()
        && expected
            .bytes()
            .zip(header.bytes())
            .fold(0, |acc, (a, b)| acc | (a ^ b))
            == 0
}

impl Webhook {
    /// The webhook of `config`.
    pub fn new(config: &NotifyConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self {
            url: config.webhook_url.clone(),
            secret: config.webhook_secret.as_bytes().to_vec(),
            client,
        })
    }
}

#[async_trait]
impl Channel for Webhook {
    async fn send(&self, message: &Outgoing) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(message)
            .map_err(|e| DeliveryError::Permanent(format!("encoding: {e}")))?;
        let timestamp = chrono::Utc::now().timestamp();
        let answer = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&self.secret, timestamp, &body))
            .header(DELIVERY_HEADER, &message.id)
            .body(body)
            .send()
            .await
            .map_err(|e| DeliveryError::Retry(format!("webhook unreachable: {e}")))?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(DeliveryError::Retry(format!("webhook answered {status}")))
        } else {
            Err(DeliveryError::Permanent(format!(
                "webhook refused it: {status}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_unchanged_and_fresh() {
        let secret = b"a-secret-of-some-length";
        let header = signature(secret, 1_700_000_000, b"{\"a\":1}");
        assert!(verify(secret, &header, b"{\"a\":1}", 1_700_000_100, 300));
        assert!(
            !verify(secret, &header, b"{\"a\":2}", 1_700_000_100, 300),
            "body changed"
        );
        assert!(!verify(
            b"another-secret-entirely",
            &header,
            b"{\"a\":1}",
            1_700_000_100,
            300
        ));
        assert!(
            !verify(secret, &header, b"{\"a\":1}", 1_700_001_000, 300),
            "stale"
        );
        assert!(!verify(secret, "t=x,v1=00", b"{}", 0, 300));
    }
}
