//! Customers registering themselves: a code for a meter whose customer has the phone typed, sent by
//! the SMS provider to the customer on record, then a customer login made with the code. Every ask is
//! recorded and answered alike — a meter and phone that do not match get an attempt no code passes —
//! so the answers (and their timing: the SMS leaves in the background) tell nothing about the records.

use std::sync::Arc;

use chrono::Duration;
use rand::Rng;

use super::audit::Actor;
use super::users::{Issued, Principal};
use super::Control;
use crate::domain::access::Role;
use crate::domain::notice::Language;
use crate::domain::registration::{
    code_text, may_send, may_try, meter_number, phone_number, phone_variants, AskCounts,
    RegistrationRefusal, CODE_VALID_MINUTES, MAX_TRIES,
};
use crate::domain::security_alarm::SecurityAlarmKind;
use crate::notify::{Channel, Outgoing};
use crate::pii::Field;
use crate::secrets::Password;
use crate::store::registrations::{self, Registration};
use crate::store::{accounts, security_alarms};
use crate::ControlError;

/// What the MAC of a code covers: the attempt and the code.
fn code_data(id: &str, code: &str) -> Vec<u8> {
    format!("meterlake registration v1|{id}|{code}").into_bytes()
}

/// The SMS with `code`, in `lang`.
fn code_message(id: &str, meter_id: &str, code: &str, lang: Language) -> Outgoing {
    let (subject, text) = match lang {
        Language::Zh => (
            "注册验证码".to_string(),
            format!(
                "您正在为电表 {meter_id} 注册网上营业厅账号，验证码 {code}，{CODE_VALID_MINUTES} 分钟内有效。如非本人操作，请忽略本短信。"
            ),
        ),
        Language::En => (
            "Your registration code".to_string(),
            format!(
                "Your code to register online for meter {meter_id} is {code}; it is valid for {CODE_VALID_MINUTES} minutes. If you did not ask for it, ignore this message."
            ),
        ),
    };
    Outgoing {
        id: id.to_string(),
        kind: "registration_code".into(),
        meter_id: Some(meter_id.to_string()),
        lang: lang.code().into(),
        subject,
        text,
        to: None,
    }
}

impl Control {
    /// Records an ask for a registration code for meter `meter` by someone who says the customer's
    /// phone is `phone`, asking from `origin`; when the meter's customer has that phone, a code goes to
    /// them through `sms` in the background. Returns the attempt's id either way. Refused (before
    /// anything is recorded) for a malformed number or when the meter or the address asked too often.
    pub async fn ask_registration_code(
        &self,
        meter: &str,
        phone: &str,
        origin: &str,
        lang: Language,
        sms: &Arc<dyn Channel>,
    ) -> Result<String, ControlError> {
        let meter_id = meter_number(meter)?;
        phone_number(phone)?;
        let now = self.now();
        let hour_ago = now - Duration::hours(1);
        let variants = phone_variants(phone);
        let mut matched = false;
        for variant in &variants {
            matched |= self
                .find_customers_by(Field::Phone, variant)
                .await?
                .contains(&meter_id);
        }
        // Rationed by the national number: `+86 138…` and `138…` are one phone.
        let national = variants.last().map_or(phone, String::as_str);
        let phone_hash = self.keys.pii.search_hash(Field::Phone, national)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let code = code_text(rand::rngs::OsRng.gen_range(0..1_000_000));
        let code_mac = matched.then(|| self.keys.audit.sign(&code_data(&id, &code)));
        let mut tx = self.db.begin().await?;
        // Serialises asks for one account's meter (PostgreSQL row lock; SQLite has one writer), so
        // concurrent asks cannot all pass the counts below — matched or not, so the work is the same.
        match accounts::lock(&mut tx, &meter_id, now).await {
            Ok(_) | Err(ControlError::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
        registrations::forget_before(&mut tx, now - Duration::days(1)).await?;
        let (pair, pair_last, meter_codes) =
            registrations::for_meter_since(&mut tx, &meter_id, &phone_hash, hour_ago).await?;
        let counts = AskCounts {
            pair,
            pair_last,
            meter: meter_codes,
            origin: registrations::from_origin_since(&mut tx, origin, hour_ago).await?,
        };
        if let Err(refusal) = may_send(now, counts) {
            metrics::counter!("meterlake_control_registration_codes_total", "result" => "rationed")
                .increment(1);
            return Err(refusal.into());
        }
        let attempt = Registration {
            id: id.clone(),
            meter_id: meter_id.clone(),
            phone_hash,
            code_mac,
            tries: 0,
            origin: origin.to_string(),
            created_at: now,
            used_at: None,
        };
        registrations::insert(&mut tx, &attempt).await?;
        tx.commit().await?;
        let result = if matched { "sent" } else { "no_match" };
        metrics::counter!("meterlake_control_registration_codes_total", "result" => result)
            .increment(1);
        tracing::info!(meter = %meter_id, origin, attempt = %id, "registration code asked for");
        if matched {
            let message = code_message(&id, &meter_id, &code, lang);
            let sms = Arc::clone(sms);
            tokio::spawn(async move {
                if let Err(err) = sms.send(&message).await {
                    metrics::counter!("meterlake_control_registration_codes_total", "result" => "send_failed")
                        .increment(1);
                    tracing::warn!(attempt = %message.id, error = %err, "a registration code could not be sent");
                }
            });
        }
        Ok(id)
    }

    /// Makes a customer login `username` for the meter of attempt `id` when `code` is its code, and
    /// opens a browser session for it. Each call counts as one of the attempt's tries; a wrong code, an
    /// attempt past its time or tries, or a used one is refused (the count kept).
    pub async fn register_with_code(
        &self,
        id: &str,
        code: &str,
        username: &str,
        password: &Password,
        origin: &str,
    ) -> Result<(Principal, Issued), ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let attempt = registrations::count_try(&mut tx, id).await?;
        tx.commit().await?;
        let attempt = attempt.ok_or(RegistrationRefusal::Spent)?;
        may_try(
            now,
            attempt.created_at,
            attempt.tries,
            attempt.used_at.is_some(),
        )?;
        let code = code.trim();
        let right = attempt.code_mac.as_ref().is_some_and(|(key, mac)| {
            self.keys
                .audit
                .verify(key, &code_data(id, code), mac)
                .is_ok()
        });
        if !right {
            metrics::counter!("meterlake_control_registrations_total", "result" => "wrong_code")
                .increment(1);
            if attempt.tries == MAX_TRIES {
                // The last try was wrong too: someone may be guessing at a customer's code.
                let mut tx = self.db.begin().await?;
                security_alarms::insert(
                    &mut tx,
                    &format!("meter:{}", attempt.meter_id),
                    SecurityAlarmKind::RegistrationGuessing,
                    format!(
                        "{MAX_TRIES} wrong codes for one registration attempt, the last from {origin}"
                    ),
                    now,
                )
                .await?;
                tx.commit().await?;
            }
            return Err(RegistrationRefusal::WrongCode.into());
        }
        let meters = [attempt.meter_id.clone()];
        let user = self
            .new_user(username, Role::Customer, password, &meters)
            .await?;
        let actor = Actor::user(username, Role::Customer, origin);
        let mut tx = self.db.begin().await?;
        if !registrations::mark_used(&mut tx, id, username, now).await? {
            return Err(RegistrationRefusal::Spent.into());
        }
        self.insert_user(&mut tx, &actor, &user, &meters).await?;
        tx.commit().await?;
        metrics::counter!("meterlake_control_registrations_total", "result" => "registered")
            .increment(1);
        tracing::info!(meter = %attempt.meter_id, username, "a customer registered");
        self.login(username, password, origin).await
    }
}
