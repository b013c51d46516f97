//! The audit trail: who did what, appended in the transaction of the action it records; verification
//! of the whole chain and export of a time range as JSON lines.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Control;
use crate::domain::access::Role;
use crate::domain::audit::{self, AuditAction, AuditEntry, AuditRecord, BrokenLink, Outcome};
use crate::store::{self, Conn};
use crate::ControlError;

/// Who acts and from where: the audit trail's who and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Username, or `system` for the service's own workers.
    pub name: String,
    /// Their role (none for the service itself and the command line).
    pub role: Option<Role>,
    /// Client address, `cli` or `worker`.
    pub origin: String,
}

impl Actor {
    /// The service's own workers (billing, sweeps, acknowledgements).
    pub fn system() -> Self {
        Self {
            name: "system".into(),
            role: None,
            origin: "worker".into(),
        }
    }

    /// Someone at the command line on the service's host (`meterlake …`), named by the OS user.
    pub fn cli() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Self {
            name: format!("cli:{user}"),
            role: None,
            origin: "cli".into(),
        }
    }

    /// A user acting through the API.
    pub fn user(name: &str, role: Role, origin: &str) -> Self {
        Self {
            name: name.into(),
            role: Some(role),
            origin: origin.into(),
        }
    }
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Records checked.
    pub records: i64,
    /// The head's sequence number and hash as stored.
    pub head: (i64, String),
    /// The first fault, if any.
    pub broken: Option<BrokenLink>,
}

/// Records read per query while verifying or exporting.
const PAGE: i64 = 1_000;

impl Control {
    /// Appends a record of an action to the chain inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn audit(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        action: AuditAction,
        object: &str,
        before: Option<Value>,
        after: Option<Value>,
        outcome: Outcome,
    ) -> Result<(), ControlError> {
        let (seq, hash) = store::audit::lock_head(conn).await?;
        let next = seq
            .checked_add(1)
            .ok_or_else(|| ControlError::Corrupt("audit sequence overflow".into()))?;
        let entry = AuditEntry {
            actor: actor.name.clone(),
            action,
            object: object.to_string(),
            before: before.map(|v| v.to_string()),
            after: after.map(|v| v.to_string()),
            origin: actor.origin.clone(),
            outcome,
        };
        let record = audit::seal(&self.keys.audit, &hash, next, self.now(), entry);
        store::audit::append(conn, &record).await?;
        metrics::counter!("meterlake_control_audit_records_total", "action" => action.as_str())
            .increment(1);
        Ok(())
    }

    /// Appends a record in a transaction of its own (refusals and failures, which change nothing else).
    pub(crate) async fn audit_alone(
        &self,
        actor: &Actor,
        action: AuditAction,
        object: &str,
        after: Option<Value>,
        outcome: Outcome,
    ) -> Result<(), ControlError> {
        let mut tx = self.db.begin().await?;
        self.audit(&mut tx, actor, action, object, None, after, outcome)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks every record of the chain in order against its link, its hash and its MAC, and the
    /// head against the last record.
    pub async fn verify_audit(&self) -> Result<ChainReport, ControlError> {
        let mut conn = self.db.conn().await?;
        let head = store::audit::head(&mut conn).await?;
        let (mut seq, mut hash) = (0, audit::GENESIS.to_string());
        loop {
            let page = store::audit::after(&mut conn, seq, PAGE).await?;
            if page.is_empty() {
                break;
            }
            match audit::verify(&self.keys.audit, seq, &hash, &page) {
                Ok(reached) => (seq, hash) = reached,
                Err(broken) => {
                    return Ok(ChainReport {
                        records: seq,
                        head,
                        broken: Some(broken),
                    })
                }
            }
        }
        let broken = (head != (seq, hash.clone())).then(|| BrokenLink {
            seq: seq + 1,
            why: format!(
                "the head says record {} with hash {}, the chain ends at {seq} (records after it \
                 were removed, or the head was rewritten)",
                head.0, head.1
            ),
        });
        Ok(ChainReport {
            records: seq,
            head,
            broken,
        })
    }

    /// Records at instants in [`from`, `to`), in chain order, handed to `each` one page at a time.
    pub async fn export_audit(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        mut each: impl FnMut(&AuditRecord) -> Result<(), ControlError>,
    ) -> Result<usize, ControlError> {
        let mut conn = self.db.conn().await?;
        let (mut after, mut count) = (0, 0);
        loop {
            let page = store::audit::between(&mut conn, from, to, after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(count);
            };
            after = last.seq;
            for record in &page {
                each(record)?;
                count += 1;
            }
        }
    }

    /// Records after `after_seq` in chain order (the audit API pages forward).
    pub async fn audit_records(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, ControlError> {
        let mut conn = self.db.conn().await?;
        store::audit::after(&mut conn, after_seq, limit.clamp(1, PAGE)).await
    }
}
