//! Notifications: a notice is recorded and fanned out into deliveries — one per channel the customer
//! chose — in the transaction of the event that caused it, so a notice exists exactly when its cause
//! does. A balance threshold is noticed once per crossing (re-armed by a payment). The notifier
//! ([`Control::deliver_due`]) words each delivery in its recipient's language and hands it to its
//! channel; a failure waits longer each time, and after the last attempt the delivery is dead.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::digest;
use crate::domain::notice::{email_body, wording, Language, NoticeFacts, NoticeKind};
use crate::notify::{Channels, DeliveryError, Outgoing};
use crate::pii::Field;
use crate::store::deliveries::{self, Channel, Delivery, DeliveryState, Recipient, StoredPrefs};
use crate::store::records::{self, Notice};
use crate::store::{accounts, Conn};
use crate::ControlError;

/// A customer's notification preferences, the e-mail address in the clear (in memory only).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Prefs {
    /// Language of their notices.
    pub lang: Language,
    /// Notices to their app / by SMS (the webhook provider).
    pub app_push: bool,
    /// Notices by e-mail to this address.
    pub email: Option<String>,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            lang: Language::Zh,
            app_push: true,
            email: None,
        }
    }
}

/// How the notifier retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// Wait after the first failure (doubling, at most an hour).
    pub first_retry: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempts` (1-based).
    pub fn wait_after(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let wait = self
            .first_retry
            .checked_mul(2_i32.saturating_pow(doublings))
            .unwrap_or(Duration::hours(1));
        wait.min(Duration::hours(1))
    }
}

/// What one notifier round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Accepted by their receiver.
    pub sent: usize,
    /// Failed, to be tried again.
    pub retried: usize,
    /// Given up.
    pub dead: usize,
}

/// How long a claimed delivery is held from other notifiers.
const LEASE: i64 = 60;

impl Control {
    /// Records a notice for the customer of `facts.meter_id` and queues its deliveries, in `conn`'s
    /// transaction. A threshold already noticed since the last payment is not noticed again.
    pub(crate) async fn notice(
        &self,
        conn: &mut Conn,
        kind: NoticeKind,
        facts: NoticeFacts,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        let meter_id = facts.meter_id.clone();
        if kind.is_threshold()
            && records::noticed_since_payment(conn, &meter_id, kind.as_str()).await?
        {
            return Ok(());
        }
        let data = serde_json::to_string(&facts)
            .map_err(|e| ControlError::Corrupt(format!("notice facts: {e}")))?;
        let notice = Notice {
            id: uuid::Uuid::new_v4().to_string(),
            meter_id: meter_id.clone(),
            kind: kind.as_str().to_string(),
            body: wording(kind, &facts, Language::Zh).text,
            data: Some(data.clone()),
            created_at: now,
        };
        records::insert_notice(conn, &notice).await?;
        let prefs = deliveries::prefs(conn, &meter_id).await?;
        let (lang, app_push, email) = prefs
            .map(|p| (p.lang, p.app_push, p.email.is_some()))
            .unwrap_or((Language::Zh, true, false));
        let channels = [(app_push, Channel::Webhook), (email, Channel::Email)];
        for (_, channel) in channels.into_iter().filter(|(wanted, _)| *wanted) {
            let delivery = Delivery {
                id: uuid::Uuid::new_v4().to_string(),
                notice_id: Some(notice.id.clone()),
                meter_id: Some(meter_id.clone()),
                kind,
                lang,
                data: data.clone(),
                channel,
                recipient: Recipient::Customer,
                state: DeliveryState::Pending,
                attempts: 0,
                next_at: now,
                last_error: None,
                sent_at: None,
                created_at: now,
            };
            deliveries::insert(conn, &delivery).await?;
        }
        Ok(())
    }

    /// Queues an e-mail to the maintenance staff about a meter (alarms), in `conn`'s transaction;
    /// nothing when no staff address is configured. It is due at the end of its digest window, with
    /// every other alarm of that window.
    pub(crate) async fn staff_notice(
        &self,
        conn: &mut Conn,
        kind: NoticeKind,
        facts: &NoticeFacts,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        if !self.rules.notify_staff {
            return Ok(());
        }
        let delivery = Delivery {
            id: uuid::Uuid::new_v4().to_string(),
            notice_id: None,
            meter_id: Some(facts.meter_id.clone()),
            kind,
            lang: Language::Zh,
            data: serde_json::to_string(facts)
                .map_err(|e| ControlError::Corrupt(format!("notice facts: {e}")))?,
            channel: Channel::Email,
            recipient: Recipient::Staff,
            state: DeliveryState::Pending,
            attempts: 0,
            next_at: digest::send_at(now, self.rules.staff_digest),
            last_error: None,
            sent_at: None,
            created_at: now,
        };
        deliveries::insert(conn, &delivery).await
    }

    /// A customer's notification preferences (the defaults when never set).
    pub async fn notification_prefs(&self, meter_id: &str) -> Result<Prefs, ControlError> {
        let mut conn = self.db.conn().await?;
        accounts::get(&mut conn, meter_id).await?;
        let Some(stored) = deliveries::prefs(&mut conn, meter_id).await? else {
            return Ok(Prefs::default());
        };
        let email = stored
            .email
            .as_deref()
            .map(|sealed| self.keys.pii.open(meter_id, Field::Email, sealed))
            .transpose()?;
        Ok(Prefs {
            lang: stored.lang,
            app_push: stored.app_push,
            email,
        })
    }

    /// Sets a customer's notification preferences (the address checked, then sealed); audited with the
    /// address masked.
    pub async fn set_notification_prefs(
        &self,
        meter_id: &str,
        prefs: &Prefs,
        actor: &Actor,
    ) -> Result<(), ControlError> {
        let email = prefs
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if let Some(address) = email {
            address
                .parse::<lettre::Address>()
                .map_err(|e| ControlError::Invalid(format!("e-mail address {address:?}: {e}")))?;
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        accounts::lock(&mut tx, meter_id, now).await?;
        let stored = StoredPrefs {
            meter_id: meter_id.to_string(),
            lang: prefs.lang,
            app_push: prefs.app_push,
            email: email
                .map(|e| self.keys.pii.seal(meter_id, Field::Email, e))
                .transpose()?,
        };
        deliveries::set_prefs(&mut tx, &stored, now).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::NotificationPrefsChanged,
            &format!("account:{meter_id}"),
            None,
            Some(json!({
                "lang": prefs.lang.code(),
                "app_push": prefs.app_push,
                "email": email.map(crate::pii::masked),
            })),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A meter's deliveries, newest first.
    pub async fn deliveries_of(
        &self,
        meter_id: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>, ControlError> {
        deliveries::for_meter(&mut *self.db.conn().await?, meter_id, limit.clamp(1, 1000)).await
    }

    /// Deliveries counted by state.
    pub async fn delivery_summary(&self) -> Result<Vec<(String, i64)>, ControlError> {
        deliveries::count_by_state(&mut *self.db.conn().await?).await
    }

    /// The message a delivery sends: worded in its language, addressed to its recipient. `None` when
    /// there is no address any more (the customer removed their e-mail): the delivery is dead.
    async fn outgoing(
        &self,
        d: &Delivery,
        staff_email: &str,
    ) -> Result<Option<Outgoing>, ControlError> {
        let facts: NoticeFacts = serde_json::from_str(&d.data)
            .map_err(|e| ControlError::Corrupt(format!("delivery {} facts: {e}", d.id)))?;
        let to = match (d.channel, d.recipient) {
            (Channel::Webhook, _) => None,
            (Channel::Email, Recipient::Staff) => Some(staff_email.to_string()),
            (Channel::Email, Recipient::Customer) => match &d.meter_id {
                Some(meter) => self.notification_prefs(meter).await?.email,
                None => None,
            },
        };
        if d.channel == Channel::Email && to.as_deref().is_none_or(str::is_empty) {
            return Ok(None);
        }
        let words = wording(d.kind, &facts, d.lang);
        // The channel's template: an e-mail has a greeting and a footer; a push or SMS is the bare text.
        let text = match (d.channel, d.recipient) {
            (Channel::Email, Recipient::Customer) => email_body(&words, d.lang),
            _ => words.text.clone(),
        };
        Ok(Some(Outgoing {
            id: d.id.clone(),
            kind: d.kind.as_str().to_string(),
            meter_id: d.meter_id.clone(),
            lang: d.lang.code().to_string(),
            subject: words.subject,
            text,
            to,
        }))
    }

    /// The staff's e-mail about several alarms at once: one message listing them all, oldest first
    /// (by meter within one instant).
    fn staff_digest(
        &self,
        batch: &[Delivery],
        staff_email: &str,
    ) -> Result<Option<Outgoing>, ControlError> {
        if staff_email.is_empty() {
            return Ok(None);
        }
        let mut ordered: Vec<&Delivery> = batch.iter().collect();
        ordered.sort_by(|a, b| (a.created_at, &a.meter_id).cmp(&(b.created_at, &b.meter_id)));
        let lang = ordered.first().map(|d| d.lang).unwrap_or_default();
        let mut alarms = Vec::with_capacity(ordered.len());
        for d in &ordered {
            let facts: NoticeFacts = serde_json::from_str(&d.data)
                .map_err(|e| ControlError::Corrupt(format!("delivery {} facts: {e}", d.id)))?;
            alarms.push(wording(d.kind, &facts, d.lang));
        }
        let words = digest::digest(&alarms, lang);
        Ok(Some(Outgoing {
            id: format!("digest-{}", ordered.first().map_or("", |d| d.id.as_str())),
            kind: "alarm_digest".into(),
            meter_id: None,
            lang: lang.code().to_string(),
            subject: words.subject,
            text: words.text,
            to: Some(staff_email.to_string()),
        }))
    }

    /// One notifier round: every due delivery (at most `limit`) is claimed, sent through its channel
    /// and recorded as sent, to be retried, or dead. The staff's due alarm e-mails go as one message
    /// (their digest) and share its outcome.
    pub async fn deliver_due(
        &self,
        channels: &Channels,
        policy: RetryPolicy,
        staff_email: &str,
        limit: i64,
    ) -> Result<DeliveryRound, ControlError> {
        let now = self.now();
        let due = deliveries::due(&mut *self.db.conn().await?, now, limit).await?;
        let (staff, each): (Vec<Delivery>, Vec<Delivery>) = due
            .into_iter()
            .partition(|d| (d.channel, d.recipient) == (Channel::Email, Recipient::Staff));
        let mut groups: Vec<Vec<Delivery>> = each.into_iter().map(|d| vec![d]).collect();
        groups.push(staff);
        let mut round = DeliveryRound::default();
        for group in groups {
            let mut claimed = Vec::with_capacity(group.len());
            for d in group {
                let lease = now + Duration::seconds(LEASE);
                if deliveries::claim(&mut *self.db.conn().await?, &d, lease).await? {
                    claimed.push(d);
                }
            }
            let Some(first) = claimed.first() else {
                continue;
            };
            let kind = first.channel;
            let message = match claimed.as_slice() {
                [one] => self.outgoing(one, staff_email).await?,
                many => self.staff_digest(many, staff_email)?,
            };
            let channel = match kind {
                Channel::Webhook => channels.webhook.clone(),
                Channel::Email => channels.email.clone(),
            };
            let outcome = match (channel, message) {
                (None, _) => Err(DeliveryError::Retry(format!(
                    "no {} channel is configured",
                    kind.as_str()
                ))),
                (_, None) => Err(DeliveryError::Permanent("no address to send to".into())),
                (Some(channel), Some(message)) => channel.send(&message).await,
            };
            for d in &mut claimed {
                self.settle(d, &outcome, policy, &mut round).await?;
            }
        }
        Ok(round)
    }

    /// Records one delivery's attempt: sent, to be retried after its wait, or dead.
    async fn settle(
        &self,
        d: &mut Delivery,
        outcome: &Result<(), DeliveryError>,
        policy: RetryPolicy,
        round: &mut DeliveryRound,
    ) -> Result<(), ControlError> {
        d.attempts += 1;
        let at = self.now();
        match outcome {
            Ok(()) => {
                d.state = DeliveryState::Sent;
                d.sent_at = Some(at);
                d.last_error = None;
                round.sent += 1;
            }
            Err(err) => {
                let last = matches!(err, DeliveryError::Permanent(_))
                    || d.attempts >= i64::from(policy.max_attempts);
                d.last_error = Some(err.to_string());
                if last {
                    d.state = DeliveryState::Dead;
                    round.dead += 1;
                    tracing::warn!(delivery = %d.id, kind = d.kind.as_str(), channel = d.channel.as_str(), error = %err, "notification given up");
                } else {
                    d.next_at = at + policy.wait_after(d.attempts);
                    round.retried += 1;
                }
            }
        }
        metrics::counter!("meterlake_notifications_total", "channel" => d.channel.as_str(), "state" => d.state.as_str()).increment(1);
        deliveries::record(&mut *self.db.conn().await?, d).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_an_hour() {
        let policy = RetryPolicy {
            max_attempts: 8,
            first_retry: Duration::seconds(10),
        };
        assert_eq!(policy.wait_after(1), Duration::seconds(10));
        assert_eq!(policy.wait_after(2), Duration::seconds(20));
        assert_eq!(policy.wait_after(4), Duration::seconds(80));
        assert_eq!(policy.wait_after(40), Duration::hours(1));
        assert_eq!(policy.wait_after(0), Duration::seconds(10));
    }
}
