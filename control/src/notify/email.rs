//! The e-mail channel: one SMTP conversation per message through lettre (STARTTLS or TLS with the
//! webpki roots, or plain for a relay on the same host). A transient SMTP answer (4xx) or a broken
//! connection is tried again; a permanent one (5xx: no such mailbox) is final.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Channel, DeliveryError, NotifyConfig, Outgoing, SmtpSecurity};

/// Sends notifications by e-mail.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Email {
    /// The e-mail channel of `config`.
    pub fn new(config: &NotifyConfig) -> Result<Self, String> {
        let host = config.smtp_host.as_str();
        let builder = match config.smtp_security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| format!("notify.smtp_host {host:?}: {e}"))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| format!("notify.smtp_host {host:?}: {e}"))?,
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(Duration::from_millis(config.timeout_ms)));
        if !config.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.smtp_username.clone(),
                config.smtp_password.clone(),
            ));
        }
        let from = config
            .from
            .parse()
            .map_err(|e| format!("notify.from {:?}: {e}", config.from))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Channel for Email {
    async fn send(&self, message: &Outgoing) -> Result<(), DeliveryError> {
        let to: Mailbox = message
            .to
            .as_deref()
            .ok_or_else(|| DeliveryError::Permanent("no e-mail address".into()))?
            .parse()
            .map_err(|e| DeliveryError::Permanent(format!("bad e-mail address: {e}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .message_id(Some(format!("<{}@meterlake>", message.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.text.clone())
            .map_err(|e| DeliveryError::Permanent(format!("building the e-mail: {e}")))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(DeliveryError::Retry(format!("SMTP: {e}"))),
        }
    }
}
