//! Logging in with a username and password: browser sessions (the HTTP API) and connections to the SQL
//! endpoint. Each failure is counted and audited; after [`FREE_FAILURES`] failures in a row the user's
//! logins are refused for a doubling while and a security alarm is raised. A wrong name, a wrong
//! password, a disabled user and a locked one get the same answer.

use chrono::Duration;
use serde_json::json;

use super::audit::Actor;
use super::users::{unlock, Issued, Principal, SESSION_HOURS};
use super::Control;
use crate::domain::access::{lockout_seconds, Right, FREE_FAILURES};
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::security_alarm::SecurityAlarmKind;
use crate::secrets::{self, Password};
use crate::store::security_alarms;
use crate::store::users::{self, CredentialKind, User};
use crate::ControlError;

/// A transaction of the accounts database.
type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Control {
    /// Checks a username and password. On success the user's failure count is reset and the user is
    /// returned with its row locked in the open transaction, for the caller to finish the login in;
    /// on failure the failure is recorded (and committed) and the answer is the same whatever failed.
    async fn check_password(
        &self,
        username: &str,
        password: &Password,
        origin: &str,
    ) -> Result<(Tx, User), ControlError> {
        let refused = || ControlError::Unauthenticated("invalid username or password".into());
        let now = self.now();
        let found = users::get_user(&mut *self.db.conn().await?, username).await?;
        // An unknown name still costs one hash check, so timing does not tell names apart.
        let stored = found
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| secrets::decoy_hash().to_string());
        let matches = secrets::verify_password(password.clone(), stored).await?;
        let Some(user) = found else {
            let actor = Actor {
                name: "anonymous".into(),
                role: None,
                origin: origin.into(),
            };
            let object = format!("user:{}", username.chars().take(64).collect::<String>());
            self.audit_alone(&actor, AuditAction::Login, &object, None, Outcome::Refused)
                .await?;
            metrics::counter!("meterlake_control_logins_total", "outcome" => "refused")
                .increment(1);
            return Err(refused());
        };
        let locked = user.locked_until.is_some_and(|until| until > now);
        let mut tx = self.db.begin().await?;
        let mut user = users::get_user(&mut tx, &user.username)
            .await?
            .ok_or_else(refused)?;
        let actor = Actor::user(&user.username, user.role, origin);
        let object = format!("user:{}", user.username);
        if !matches || locked || user.disabled {
            let why = if user.disabled {
                "disabled"
            } else if locked {
                "locked"
            } else {
                "wrong password"
            };
            if !matches {
                user.failed_logins = user.failed_logins.saturating_add(1);
                let failures = u32::try_from(user.failed_logins).unwrap_or(u32::MAX);
                let wait = lockout_seconds(failures);
                if wait > 0 {
                    user.locked_until = Some(now + Duration::seconds(wait));
                }
                if failures == FREE_FAILURES {
                    security_alarms::insert(
                        &mut tx,
                        &object,
                        SecurityAlarmKind::FailedLogins,
                        format!("{failures} failed logins in a row; logins refused for {wait} s"),
                        now,
                    )
                    .await?;
                }
                users::save_user(&mut tx, &user, now).await?;
            }
            let after = Some(json!({ "why": why, "failed_logins": user.failed_logins }));
            self.audit(
                &mut tx,
                &actor,
                AuditAction::Login,
                &object,
                None,
                after,
                Outcome::Refused,
            )
            .await?;
            tx.commit().await?;
            metrics::counter!("meterlake_control_logins_total", "outcome" => "refused")
                .increment(1);
            return Err(refused());
        }
        unlock(&mut user);
        users::save_user(&mut tx, &user, now).await?;
        Ok((tx, user))
    }

    /// Checks a username and password; on success opens a browser session.
    pub async fn login(
        &self,
        username: &str,
        password: &Password,
        origin: &str,
    ) -> Result<(Principal, Issued), ControlError> {
        let (mut tx, user) = self.check_password(username, password, origin).await?;
        let now = self.now();
        let expires = Some(now + Duration::hours(SESSION_HOURS));
        let issued = self
            .issue(
                &mut tx,
                &user.username,
                CredentialKind::Session,
                "browser",
                expires,
            )
            .await?;
        let actor = Actor::user(&user.username, user.role, origin);
        let object = format!("user:{}", user.username);
        self.audit(
            &mut tx,
            &actor,
            AuditAction::Login,
            &object,
            None,
            None,
            Outcome::Ok,
        )
        .await?;
        let meters = users::meters_of(&mut tx, &user.username).await?;
        tx.commit().await?;
        metrics::counter!("meterlake_control_logins_total", "outcome" => "ok").increment(1);
        let principal = Principal {
            username: user.username,
            role: user.role,
            meters,
            credential_id: issued.credential.id.clone(),
            kind: CredentialKind::Session,
            csrf: issued.credential.csrf.clone(),
        };
        Ok((principal, issued))
    }

    /// Checks a connection's login at the SQL endpoint: the password, then the role's right to SQL
    /// (analysts; a user whose role lacks it is refused with [`ControlError::Forbidden`]). Both
    /// outcomes are audited with the connection's origin.
    pub async fn sql_login(
        &self,
        username: &str,
        password: &Password,
        origin: &str,
    ) -> Result<(), ControlError> {
        let (mut tx, user) = self.check_password(username, password, origin).await?;
        let actor = Actor::user(&user.username, user.role, origin);
        let object = format!("user:{}", user.username);
        let allowed = user.role.allows(Right::Sql);
        let (outcome, after) = if allowed {
            (Outcome::Ok, json!({ "via": "sql" }))
        } else {
            (
                Outcome::Refused,
                json!({ "via": "sql", "why": "role may not use SQL" }),
            )
        };
        self.audit(
            &mut tx,
            &actor,
            AuditAction::Login,
            &object,
            None,
            Some(after),
            outcome,
        )
        .await?;
        tx.commit().await?;
        let label = if allowed { "ok" } else { "refused" };
        metrics::counter!("meterlake_control_logins_total", "outcome" => label).increment(1);
        if allowed {
            Ok(())
        } else {
            Err(ControlError::Forbidden(format!(
                "role {} may not use the SQL endpoint",
                user.role
            )))
        }
    }
}
