//! `[control.notify]`: where notifications go (a webhook for the SMS / app-push provider, an SMTP
//! server for e-mail, the maintenance staff's address) and how hard delivery tries. Secrets never
//! appear in `Debug`.

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or a test server).
    None,
    /// STARTTLS on the submission port (587), required.
    #[default]
    Starttls,
    /// TLS from the first byte (465).
    Tls,
}

/// `[control.notify]`; every key has a default (nothing configured: notices are kept, none sent).
#[derive(Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// The provider's webhook (`https://…`); empty: no app / SMS notifications.
    pub webhook_url: String,
    /// The key the webhook's `X-Meterlake-Signature` is an HMAC-SHA256 with.
    pub webhook_secret: String,
    /// SMTP server host; empty: no e-mail.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// How the SMTP connection is secured.
    pub smtp_security: SmtpSecurity,
    /// SMTP user (empty: no authentication).
    pub smtp_username: String,
    /// SMTP password.
    pub smtp_password: String,
    /// The sender address.
    pub from: String,
    /// The maintenance staff's address for alarm e-mails (empty: none).
    pub staff_email: String,
    /// Alarms raised within this many seconds go to the staff as one e-mail, sent at the window's
    /// end (0: each alarm its own e-mail, at once).
    pub staff_digest_s: u64,
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// Wait after the first failure, seconds (doubling, at most an hour).
    pub first_retry_s: u64,
    /// How often the notifier looks for due deliveries, milliseconds.
    pub poll_ms: u64,
    /// How long a receiver may take to answer, milliseconds.
    pub timeout_ms: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhook_url: String::new(),
            webhook_secret: String::new(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: String::new(),
            smtp_password: String::new(),
            from: "meterlake <noreply@localhost>".into(),
            staff_email: String::new(),
            staff_digest_s: 60,
            max_attempts: 8,
            first_retry_s: 10,
            poll_ms: 1000,
            timeout_ms: 10_000,
        }
    }
}

impl std::fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("NotifyConfig")
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &secret(&self.webhook_secret))
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_username", &self.smtp_username)
            .field("smtp_password", &secret(&self.smtp_password))
            .field("from", &self.from)
            .field("staff_email", &self.staff_email)
            .field("staff_digest_s", &self.staff_digest_s)
            .field("max_attempts", &self.max_attempts)
            .field("first_retry_s", &self.first_retry_s)
            .field("poll_ms", &self.poll_ms)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl NotifyConfig {
    /// Whether app / SMS notifications go anywhere.
    pub fn has_webhook(&self) -> bool {
        !self.webhook_url.is_empty()
    }

    /// Whether e-mail goes anywhere.
    pub fn has_email(&self) -> bool {
        !self.smtp_host.is_empty()
    }

    /// Checks what can be checked before starting.
    pub fn validate(&self) -> Result<(), String> {
        if self.has_webhook() {
            let url = url::Url::parse(&self.webhook_url)
                .map_err(|e| format!("notify.webhook_url {:?}: {e}", self.webhook_url))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err("notify.webhook_url: http or https expected".into());
            }
            if self.webhook_secret.len() < 16 {
                return Err("notify.webhook_secret: at least 16 characters".into());
            }
        }
        if self.has_email() {
            self.from
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("notify.from {:?}: {e}", self.from))?;
        }
        if !self.staff_email.is_empty() {
            self.staff_email
                .parse::<lettre::Address>()
                .map_err(|e| format!("notify.staff_email {:?}: {e}", self.staff_email))?;
        }
        if self.staff_digest_s > 86_400 {
            return Err(format!(
                "notify.staff_digest_s {} is more than a day: alarms would wait too long",
                self.staff_digest_s
            ));
        }
        if self.max_attempts == 0 || self.poll_ms == 0 || self.timeout_ms == 0 {
            return Err("notify.max_attempts, poll_ms and timeout_ms must be above 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_and_bad_settings_are_named() {
        let config = NotifyConfig {
            webhook_url: "https://push.example/hook".into(),
            webhook_secret: "a-secret-of-some-length".into(),
            smtp_password: "hunter2hunter2".into(),
            ..NotifyConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("a-secret-of") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(config.validate().is_ok());
        let short = NotifyConfig {
            webhook_secret: "short".into(),
            ..config.clone()
        };
        assert!(short.validate().unwrap_err().contains("webhook_secret"));
        let ftp = NotifyConfig {
            webhook_url: "ftp://x".into(),
            ..config.clone()
        };
        assert!(ftp.validate().is_err());
        let staff = NotifyConfig {
            staff_email: "not an address".into(),
            ..config.clone()
        };
        assert!(staff.validate().unwrap_err().contains("staff_email"));
        let week = NotifyConfig {
            staff_digest_s: 7 * 86_400,
            ..config
        };
        assert!(week.validate().unwrap_err().contains("staff_digest_s"));
    }
}
