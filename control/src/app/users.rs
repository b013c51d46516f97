//! Users and their credentials: adding users, roles, disabling, password resets, API tokens, logins
//! with lockout, and turning a presented secret into the principal the HTTP layer authorises.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::access::Role;
use crate::domain::audit::{AuditAction, Outcome};
use crate::secrets::{self, Password};
use crate::store::users::{self, Credential, CredentialKind, User};
use crate::store::{self, security_alarms, Conn};
use crate::ControlError;

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Who a request comes from, once their credential checked out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// For a customer, the meters they may see.
    pub meters: Vec<String>,
    /// The credential used.
    pub credential_id: String,
    /// What kind it is.
    pub kind: CredentialKind,
    /// A session's CSRF token (unsafe requests on a session must echo it).
    #[serde(skip)]
    pub csrf: Option<String>,
}

impl Principal {
    /// The actor for the audit trail.
    pub fn actor(&self, origin: &str) -> Actor {
        Actor::user(&self.username, self.role, origin)
    }

    /// Whether the principal may see `meter_id` (staff: any; customers: their own).
    pub fn sees_meter(&self, meter_id: &str) -> bool {
        self.role != Role::Customer || self.meters.iter().any(|m| m == meter_id)
    }
}

/// A new secret handed to its owner once: an API token or a session.
#[derive(Clone, serde::Serialize)]
pub struct Issued {
    /// The credential as stored.
    pub credential: Credential,
    /// The secret (never stored, never logged).
    pub secret: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("credential", &self.credential)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn valid_username(name: &str) -> Result<(), ControlError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ControlError::Invalid(format!(
            "username {name:?}: 1 to 64 of a-z, 0-9, '.', '_', '-'"
        )))
    }
}

/// Forgets a user's failed logins and lifts their lockout.
pub(super) fn unlock(user: &mut User) {
    user.failed_logins = 0;
    user.locked_until = None;
}

fn user_json(user: &User, meters: &[String]) -> serde_json::Value {
    json!({ "role": user.role, "disabled": user.disabled, "meters": meters })
}

impl Control {
    async fn user(&self, conn: &mut store::Conn, username: &str) -> Result<User, ControlError> {
        users::get_user(conn, username)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("no user {username:?}")))
    }

    /// Adds a user; a customer is given the meters they may see.
    pub async fn add_user(
        &self,
        actor: &Actor,
        username: &str,
        role: Role,
        password: &Password,
        meters: &[String],
    ) -> Result<User, ControlError> {
        let user = self.new_user(username, role, password, meters).await?;
        let mut tx = self.db.begin().await?;
        self.insert_user(&mut tx, actor, &user, meters).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// A user to add (the name checked, the password hashed); nothing stored yet.
    pub(super) async fn new_user(
        &self,
        username: &str,
        role: Role,
        password: &Password,
        meters: &[String],
    ) -> Result<User, ControlError> {
        valid_username(username)?;
        if role != Role::Customer && !meters.is_empty() {
            return Err(ControlError::Invalid(
                "only customer users are given meters".into(),
            ));
        }
        Ok(User {
            username: username.to_string(),
            role,
            password_hash: secrets::hash_password(password.clone()).await?,
            disabled: false,
            failed_logins: 0,
            locked_until: None,
            created_at: self.now(),
        })
    }

    /// Stores `user` with the meters it may see and audits it, in `conn`'s transaction.
    pub(super) async fn insert_user(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        user: &User,
        meters: &[String],
    ) -> Result<(), ControlError> {
        users::insert_user(conn, user).await?;
        for meter in meters {
            crate::store::accounts::get(conn, meter).await?;
            users::add_meter(conn, &user.username, meter).await?;
        }
        let object = format!("user:{}", user.username);
        let after = Some(user_json(user, meters));
        self.audit(
            conn,
            actor,
            AuditAction::UserCreated,
            &object,
            None,
            after,
            Outcome::Ok,
        )
        .await
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<User>, ControlError> {
        users::list_users(&mut *self.db.conn().await?).await
    }

    /// Changes a user with `change`, audited with before and after; `revoke` also ends their
    /// credentials. The last enabled admin cannot be demoted or disabled.
    async fn change_user(
        &self,
        actor: &Actor,
        username: &str,
        revoke: bool,
        change: impl FnOnce(&mut User),
    ) -> Result<User, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut user = self.user(&mut tx, username).await?;
        let meters = users::meters_of(&mut tx, username).await?;
        let before = user_json(&user, &meters);
        let was_admin = user.role == Role::Admin && !user.disabled;
        change(&mut user);
        if was_admin
            && (user.role != Role::Admin || user.disabled)
            && users::count_enabled(&mut tx, Role::Admin).await? <= 1
        {
            return Err(ControlError::Conflict(format!(
                "{username} is the last enabled admin; add another admin first"
            )));
        }
        users::save_user(&mut tx, &user, now).await?;
        if revoke {
            users::revoke_all(&mut tx, username, now).await?;
        }
        let object = format!("user:{username}");
        let after = user_json(&user, &meters);
        self.audit(
            &mut tx,
            actor,
            AuditAction::UserChanged,
            &object,
            Some(before),
            Some(after),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Gives a user another role (their credentials are revoked: the next login carries the new role).
    pub async fn set_role(
        &self,
        actor: &Actor,
        username: &str,
        role: Role,
    ) -> Result<User, ControlError> {
        self.change_user(actor, username, true, |u| u.role = role)
            .await
    }

    /// Disables or enables a user; disabling revokes every credential at once.
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disabled: bool,
    ) -> Result<User, ControlError> {
        self.change_user(actor, username, disabled, |u| {
            u.disabled = disabled;
            unlock(u);
        })
        .await
    }

    /// Sets a new password (and lifts a lockout); every session and token of the user is revoked.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        username: &str,
        password: &Password,
    ) -> Result<User, ControlError> {
        let hash = secrets::hash_password(password.clone()).await?;
        self.change_user(actor, username, true, |u| {
            u.password_hash = hash;
            unlock(u);
        })
        .await
    }

    /// Issues an API token for a user, valid for `days` (none: until revoked).
    pub async fn issue_token(
        &self,
        actor: &Actor,
        username: &str,
        label: &str,
        days: Option<u32>,
    ) -> Result<Issued, ControlError> {
        let now = self.now();
        let expires_at = days.map(|d| now + Duration::days(i64::from(d)));
        let mut tx = self.db.begin().await?;
        let user = self.user(&mut tx, username).await?;
        if user.disabled {
            return Err(ControlError::Conflict(format!(
                "user {username} is disabled"
            )));
        }
        let issued = self
            .issue(&mut tx, username, CredentialKind::Token, label, expires_at)
            .await?;
        let after =
            json!({ "token_id": issued.credential.id, "label": label, "expires_at": expires_at });
        self.audit(
            &mut tx,
            actor,
            AuditAction::TokenIssued,
            &format!("user:{username}"),
            None,
            Some(after),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(issued)
    }

    pub(super) async fn issue(
        &self,
        conn: &mut store::Conn,
        username: &str,
        kind: CredentialKind,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Issued, ControlError> {
        let secret = secrets::new_secret(kind);
        let credential = Credential {
            id: uuid::Uuid::new_v4().to_string(),
            username: username.to_string(),
            kind,
            label: label.to_string(),
            csrf: (kind == CredentialKind::Session).then(secrets::new_csrf),
            created_at: self.now(),
            expires_at,
            revoked_at: None,
        };
        users::insert_credential(conn, &secrets::secret_hash(&secret), &credential).await?;
        Ok(Issued { credential, secret })
    }

    /// A user's API tokens.
    pub async fn tokens_of(&self, username: &str) -> Result<Vec<Credential>, ControlError> {
        let mut conn = self.db.conn().await?;
        users::credentials_of(&mut conn, username, CredentialKind::Token).await
    }

    /// Revokes a token or session by id.
    pub async fn revoke_credential(&self, actor: &Actor, id: &str) -> Result<(), ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let credential = users::credential(&mut tx, id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("no token {id}")))?;
        if !users::revoke(&mut tx, id, now).await? {
            return Err(ControlError::Conflict(format!(
                "token {id} is already revoked"
            )));
        }
        let action = match credential.kind {
            CredentialKind::Token => AuditAction::TokenRevoked,
            CredentialKind::Session => AuditAction::Logout,
        };
        let object = format!("user:{}", credential.username);
        let after = Some(json!({ "token_id": id }));
        self.audit(&mut tx, actor, action, &object, None, after, Outcome::Ok)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The principal a presented secret (token or session) stands for; anything revoked, expired,
    /// unknown or belonging to a disabled user is refused alike.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, ControlError> {
        let refused = || ControlError::Unauthenticated("invalid or expired credentials".into());
        let now = self.now();
        let mut conn = self.db.conn().await?;
        let credential = users::credential_by_hash(&mut conn, &secrets::secret_hash(secret))
            .await?
            .ok_or_else(refused)?;
        if credential.revoked_at.is_some() || credential.expires_at.is_some_and(|t| t <= now) {
            return Err(refused());
        }
        let user = users::get_user(&mut conn, &credential.username)
            .await?
            .ok_or_else(refused)?;
        if user.disabled {
            return Err(refused());
        }
        let meters = if user.role == Role::Customer {
            users::meters_of(&mut conn, &user.username).await?
        } else {
            Vec::new()
        };
        Ok(Principal {
            username: user.username,
            role: user.role,
            meters,
            credential_id: credential.id,
            kind: credential.kind,
            csrf: credential.csrf,
        })
    }

    /// Open security alarms, newest first.
    pub async fn security_alarms(
        &self,
        limit: i64,
    ) -> Result<Vec<security_alarms::SecurityAlarm>, ControlError> {
        security_alarms::open(&mut *self.db.conn().await?, limit.clamp(1, 1000)).await
    }

    /// An administrator closes a security alarm with a note saying what was found (audited).
    pub async fn clear_security_alarm(
        &self,
        id: &str,
        note: &str,
        actor: &Actor,
    ) -> Result<security_alarms::SecurityAlarm, ControlError> {
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 2_000 {
            return Err(ControlError::Invalid(
                "clearing a security alarm needs a note of at most 2000 characters".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let missing = || ControlError::NotFound(format!("no security alarm {id}"));
        let before = security_alarms::get(&mut tx, id)
            .await?
            .ok_or_else(missing)?;
        if !security_alarms::clear(&mut tx, id, &actor.name, note, now).await? {
            return Err(ControlError::Conflict(format!(
                "security alarm {id} is already cleared"
            )));
        }
        let after = security_alarms::get(&mut tx, id)
            .await?
            .ok_or_else(missing)?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::AlarmCleared,
            &format!("security_alarm:{id}"),
            Some(json!({"kind": before.kind, "subject": before.subject})),
            Some(json!({"cleared_at": after.cleared_at, "note": note})),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Records a request refused for want of a right (the HTTP layer calls this on every 403): at
    /// most ten records per user and minute, the next one saying how many were held back
    /// ([`crate::domain::denials`]); every refusal counts in `meterlake_control_access_denied_total`.
    pub async fn access_denied(
        &self,
        principal: &Principal,
        origin: &str,
        what: &str,
    ) -> Result<(), ControlError> {
        use crate::domain::denials::Denial;
        metrics::counter!("meterlake_control_access_denied_total").increment(1);
        let decision = self
            .denials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(&principal.username, self.clock.now());
        let Denial::Record { held_back } = decision else {
            return Ok(());
        };
        let actor = principal.actor(origin);
        let after = Some(json!({ "request": what, "held_back_before": held_back }));
        self.audit_alone(
            &actor,
            AuditAction::AccessDenied,
            what,
            after,
            Outcome::Refused,
        )
        .await
    }
}
