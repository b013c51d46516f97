//! The audit trail's chain: each record's hash covers the previous record's hash and its own fields,
//! and a MAC under a key held outside the database covers the hash. Editing a record breaks its hash,
//! deleting or reordering one breaks the next record's link, and rewriting the whole chain needs the
//! key. Pure functions; the store keeps the records and the key ring lives with the service.

use chrono::{DateTime, Utc};
use ingest::keyring::KeyRing;
use sha2::{Digest, Sha256};

/// The hash the first record links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as the caller states it (the chain fields are added on append).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Who (a username, `system`, or `anonymous` for a failed login of an unknown name).
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// On which object, e.g. `account:000000000001`, `user:alice`.
    pub object: String,
    /// The object's relevant state before, as JSON text.
    pub before: Option<String>,
    /// And after.
    pub after: Option<String>,
    /// From where (client address, `cli`, `worker`).
    pub origin: String,
    /// How it ended.
    pub outcome: Outcome,
}

/// The kinds of audited action.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A login (ok or failed).
    Login,
    /// A session ended.
    Logout,
    /// An account opened.
    OpenAccount,
    /// Prepaid terms changed.
    SetTerms,
    /// A payment taken.
    Payment,
    /// A refund.
    Refund,
    /// A ledger correction.
    Correction,
    /// A relay command created (by an operator, billing or a payment).
    CommandCreated,
    /// A relay command cancelled.
    CommandCancelled,
    /// A relay command's final outcome.
    CommandOutcome,
    /// Keep-power granted.
    KeepPowerGranted,
    /// Keep-power revoked.
    KeepPowerRevoked,
    /// A user created.
    UserCreated,
    /// A user's role, password, status or meters changed.
    UserChanged,
    /// An API token issued.
    TokenIssued,
    /// An API token or session revoked.
    TokenRevoked,
    /// A request refused for want of a right.
    AccessDenied,
    /// Settings changed (the service started with a new configuration).
    SettingsChanged,
    /// A customer's personal data recorded or changed.
    CustomerChanged,
    /// Every customer re-sealed under a new personal-data key.
    PiiResealed,
    /// Customers' personal data exported (encrypted Parquet).
    CustomersExported,
    /// An alarm taken by someone.
    AlarmAcknowledged,
    /// An alarm cleared by hand, with a note.
    AlarmCleared,
    /// An interval's value set by a person (VEE edit), with a reason.
    IntervalEdited,
    /// A customer's notification channels or language changed.
    NotificationPrefsChanged,
    /// A feedback ticket opened by a customer.
    TicketOpened,
    /// A reply written on a feedback ticket (by staff or the customer), or its status changed.
    TicketReplied,
    /// A month's bills issued and their customers told (by the billing scheduler or by hand).
    BillsIssued,
}

/// Every audited action.
pub const AUDIT_ACTIONS: [AuditAction; 28] = [
    AuditAction::Login,
    AuditAction::Logout,
    AuditAction::OpenAccount,
    AuditAction::SetTerms,
    AuditAction::Payment,
    AuditAction::Refund,
    AuditAction::Correction,
    AuditAction::CommandCreated,
    AuditAction::CommandCancelled,
    AuditAction::CommandOutcome,
    AuditAction::KeepPowerGranted,
    AuditAction::KeepPowerRevoked,
    AuditAction::UserCreated,
    AuditAction::UserChanged,
    AuditAction::TokenIssued,
    AuditAction::TokenRevoked,
    AuditAction::AccessDenied,
    AuditAction::SettingsChanged,
    AuditAction::CustomerChanged,
    AuditAction::PiiResealed,
    AuditAction::CustomersExported,
    AuditAction::AlarmAcknowledged,
    AuditAction::AlarmCleared,
    AuditAction::IntervalEdited,
    AuditAction::NotificationPrefsChanged,
    AuditAction::TicketOpened,
    AuditAction::TicketReplied,
    AuditAction::BillsIssued,
];

impl AuditAction {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Logout => "logout",
            Self::OpenAccount => "open_account",
            Self::SetTerms => "set_terms",
            Self::Payment => "payment",
            Self::Refund => "refund",
            Self::Correction => "correction",
            Self::CommandCreated => "command_created",
            Self::CommandCancelled => "command_cancelled",
            Self::CommandOutcome => "command_outcome",
            Self::KeepPowerGranted => "keep_power_granted",
            Self::KeepPowerRevoked => "keep_power_revoked",
            Self::UserCreated => "user_created",
            Self::UserChanged => "user_changed",
            Self::TokenIssued => "token_issued",
            Self::TokenRevoked => "token_revoked",
            Self::AccessDenied => "access_denied",
            Self::SettingsChanged => "settings_changed",
            Self::CustomerChanged => "customer_changed",
            Self::PiiResealed => "pii_resealed",
            Self::CustomersExported => "customers_exported",
            Self::AlarmAcknowledged => "alarm_acknowledged",
            Self::AlarmCleared => "alarm_cleared",
            Self::IntervalEdited => "interval_edited",
            Self::NotificationPrefsChanged => "notification_prefs_changed",
            Self::TicketOpened => "ticket_opened",
            Self::TicketReplied => "ticket_replied",
            Self::BillsIssued => "bills_issued",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        AUDIT_ACTIONS.into_iter().find(|a| a.as_str() == text)
    }
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused by the rules or for want of a right.
    Refused,
    /// Tried and failed.
    Failed,
}

impl Outcome {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Ok, Self::Refused, Self::Failed]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// The previous record's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
    /// The key the MAC is under.
    pub key_id: String,
    /// HMAC-SHA256 of `hash`.
    pub mac: String,
}

fn field(hasher: &mut Sha256, value: &[u8]) {
    hasher.update((value.len() as u64).to_be_bytes());
    hasher.update(value);
}

fn optional(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        Some(text) => {
            hasher.update([1]);
            field(hasher, text.as_bytes());
        }
        None => hasher.update([0]),
    }
}

/// The hash of a record with these fields after `prev_hash` (fields length-prefixed, so no two
/// different records encode alike).
pub fn record_hash(prev_hash: &str, seq: i64, at: DateTime<Utc>, entry: &AuditEntry) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, prev_hash.as_bytes());
    hasher.update(seq.to_be_bytes());
    hasher.update(at.timestamp_micros().to_be_bytes());
    for text in [
        entry.actor.as_str(),
        entry.action.as_str(),
        entry.object.as_str(),
    ] {
        field(&mut hasher, text.as_bytes());
    }
    optional(&mut hasher, entry.before.as_deref());
    optional(&mut hasher, entry.after.as_deref());
    field(&mut hasher, entry.origin.as_bytes());
    field(&mut hasher, entry.outcome.as_str().as_bytes());
    hex::encode(hasher.finalize())
}

/// Seals an entry as record `seq` after `prev_hash`.
pub fn seal(
    keys: &KeyRing,
    prev_hash: &str,
    seq: i64,
    at: DateTime<Utc>,
    entry: AuditEntry,
) -> AuditRecord {
    let hash = record_hash(prev_hash, seq, at, &entry);
    let (key_id, mac) = keys.sign(hash.as_bytes());
    AuditRecord {
        seq,
        at,
        entry,
        prev_hash: prev_hash.to_string(),
        hash,
        key_id,
        mac,
    }
}

/// The first fault found in a chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenLink {
    /// The record at fault (or the first missing position).
    pub seq: i64,
    /// What is wrong.
    pub why: String,
}

/// Walks records in stored order, starting after (`prev_seq`, `prev_hash`); returns the hash and seq
/// reached, or the first broken link.
pub fn verify<'a>(
    keys: &KeyRing,
    prev_seq: i64,
    prev_hash: &str,
    records: impl IntoIterator<Item = &'a AuditRecord>,
) -> Result<(i64, String), BrokenLink> {
    let mut seq = prev_seq;
    let mut hash = prev_hash.to_string();
    for record in records {
        let expected = seq + 1;
        let broken = |why: String| BrokenLink {
            seq: record.seq,
            why,
        };
        if record.seq != expected {
            return Err(BrokenLink {
                seq: expected,
                why: format!(
                    "record {expected} is missing or out of order (found {} next)",
                    record.seq
                ),
            });
        }
        if record.prev_hash != hash {
            return Err(broken(
                "its link does not match the previous record's hash (a record before it was \
                 removed, reordered or rewritten)"
                    .into(),
            ));
        }
        if record_hash(&record.prev_hash, record.seq, record.at, &record.entry) != record.hash {
            return Err(broken("its fields do not match its hash (edited)".into()));
        }
        if keys
            .verify(&record.key_id, record.hash.as_bytes(), &record.mac)
            .is_err()
        {
            return Err(broken(format!(
                "its MAC does not verify under key {:?} (rewritten without the key)",
                record.key_id
            )));
        }
        seq = record.seq;
        hash.clone_from(&record.hash);
    }
    Ok((seq, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &str) -> AuditEntry {
        AuditEntry {
            actor: "alice".into(),
            action: AuditAction::Payment,
            object: format!("account:{object}"),
            before: Some("{\"balance\":\"1.00\"}".into()),
            after: None,
            origin: "127.0.0.1".into(),
            outcome: Outcome::Ok,
        }
    }

    fn chain(keys: &KeyRing, n: i64) -> Vec<AuditRecord> {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let record = seal(keys, &prev, seq, at, entry(&format!("a{seq}")));
                prev.clone_from(&record.hash);
                record
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_each_tampering_names_the_first_broken_record() {
        let keys = KeyRing::single("k", &[1; 32]).unwrap();
        let records = chain(&keys, 5);
        assert_eq!(verify(&keys, 0, GENESIS, &records).unwrap().0, 5);

        let mut edited = records.clone();
        edited[2].entry.after = Some("{\"balance\":\"999.00\"}".into());
        assert_eq!(verify(&keys, 0, GENESIS, &edited).unwrap_err().seq, 3);

        let mut deleted = records.clone();
        deleted.remove(1);
        assert_eq!(verify(&keys, 0, GENESIS, &deleted).unwrap_err().seq, 2);

        let mut reordered = records.clone();
        reordered.swap(1, 2);
        assert_eq!(verify(&keys, 0, GENESIS, &reordered).unwrap_err().seq, 2);

        // Rewritten from record 3 on, hashes recomputed, but without the key.
        let forger = KeyRing::single("k", &[2; 32]).unwrap();
        let mut forged = records[..2].to_vec();
        let mut prev = forged[1].hash.clone();
        for record in &records[2..] {
            let mut e = record.entry.clone();
            e.actor = "mallory".into();
            let r = seal(&forger, &prev, record.seq, record.at, e);
            prev.clone_from(&r.hash);
            forged.push(r);
        }
        assert_eq!(verify(&keys, 0, GENESIS, &forged).unwrap_err().seq, 3);
    }

    #[test]
    fn distinct_fields_never_hash_alike() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let mut a = entry("x");
        let mut b = entry("x");
        a.actor = "ab".into();
        a.object = "c".into();
        b.actor = "a".into();
        b.object = "bc".into();
        assert_ne!(
            record_hash(GENESIS, 1, at, &a),
            record_hash(GENESIS, 1, at, &b)
        );
        a.object = "c".into();
        b.object = "c".into();
        a.actor = "a".into();
        a.before = None;
        a.after = Some(String::new());
        b.before = Some(String::new());
        b.after = None;
        assert_ne!(
            record_hash(GENESIS, 1, at, &a),
            record_hash(GENESIS, 1, at, &b)
        );
    }
}
