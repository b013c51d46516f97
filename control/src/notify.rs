//! Sending notifications: the channels behind one trait — an HMAC-signed webhook (standing in for the
//! SMS and app-push providers) and e-mail over SMTP — and what a failed attempt means (try again
//! later, or never). The notifier worker (`crate::workers::notifier`) takes due deliveries from the
//! outbox and hands each to its channel.

pub mod config;
pub mod email;
pub mod local;
pub mod webhook;

use async_trait::async_trait;

pub use config::{NotifyConfig, SmtpSecurity};

/// One message as a channel sends it. `Debug` leaves the text out (a registration code is in it).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outgoing {
    /// The delivery's id: receivers use it to drop a message they already have.
    pub id: String,
    /// The notice's kind (`payment_received`, …).
    pub kind: String,
    /// The meter it is about.
    pub meter_id: Option<String>,
    /// Language code (`zh`, `en`).
    pub lang: String,
    /// Subject line.
    pub subject: String,
    /// Text.
    pub text: String,
    /// The e-mail address it goes to (e-mail only; never sent to the webhook).
    #[serde(skip)]
    pub to: Option<String>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("meter_id", &self.meter_id)
            .field("lang", &self.lang)
            .field("subject", &self.subject)
            .field(
                "text",
                &format_args!("<{} characters>", self.text.chars().count()),
            )
            .finish_non_exhaustive()
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another attempt later (the receiver is down, slow or busy).
    #[error("{0}")]
    Retry(String),
    /// Never going to work (refused as malformed, no such address).
    #[error("{0}")]
    Permanent(String),
}

/// A way to send notifications.
#[async_trait]
pub trait Channel: Send + Sync {
    /// Sends one message.
    async fn send(&self, message: &Outgoing) -> Result<(), DeliveryError>;
}

/// The channels configured: each is missing when not configured.
#[derive(Clone, Default)]
pub struct Channels {
    /// App / SMS provider.
    pub webhook: Option<std::sync::Arc<dyn Channel>>,
    /// E-mail.
    pub email: Option<std::sync::Arc<dyn Channel>>,
}

impl Channels {
    /// The channels `config` describes.
    pub fn from_config(config: &NotifyConfig) -> Result<Self, String> {
        config.validate()?;
        let webhook = config
            .has_webhook()
            .then(|| webhook::Webhook::new(config))
            .transpose()?
            .map(|w| std::sync::Arc::new(w) as std::sync::Arc<dyn Channel>);
        let email = config
            .has_email()
            .then(|| email::Email::new(config))
            .transpose()?
            .map(|e| std::sync::Arc::new(e) as std::sync::Arc<dyn Channel>);
        Ok(Self { webhook, email })
    }
}
