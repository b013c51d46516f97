//! Users, the meters a customer may see, and credentials (API tokens and browser sessions, kept only as
//! hashes of their secrets).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql;
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::domain::access::Role;
use crate::ControlError;

/// A user as stored. `Debug` leaves the password hash out.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    /// A disabled user cannot log in and their credentials stop working.
    pub disabled: bool,
    /// Consecutive failed logins.
    pub failed_logins: i64,
    /// Logins refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("disabled", &self.disabled)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish()
    }
}

const USER_COLUMNS: &str =
    "username, role, password_hash, disabled, failed_logins, locked_until, created_at";

fn user_from_row(row: &AnyRow) -> Result<User, ControlError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        username: row.try_get("username")?,
        role: stored_enum(&role, "role", |t| t.parse().ok())?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i32, _>("disabled")? != 0,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: maybe_instant(row.try_get("locked_until")?)?,
        created_at: instant(row.try_get("created_at")?)?,
    })
}

/// Adds a user; a taken name is a conflict.
pub async fn insert_user(conn: &mut Conn, user: &User) -> Result<(), ControlError> {
    let statement = format!(
        "INSERT INTO users ({USER_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    );
    let params = [
        (&user.username).into(),
        user.role.as_str().into(),
        (&user.password_hash).into(),
        i64::from(user.disabled).into(),
        user.failed_logins.into(),
        user.locked_until.map(micros).into(),
        micros(user.created_at).into(),
    ];
    match sql::execute(conn, &statement, &params).await {
        Err(ControlError::Database(e)) if is_unique_violation(&e) => Err(ControlError::Conflict(
            format!("user {:?} exists", user.username),
        )),
        other => other.map(|_| ()),
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Writes a user's role, password hash, disabled flag and login failures.
pub async fn save_user(
    conn: &mut Conn,
    user: &User,
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    let statement =
        "UPDATE users SET role = $2, password_hash = $3, disabled = $4, failed_logins = $5, \
                     locked_until = $6, updated_at = $7 WHERE username = $1";
    let params = [
        (&user.username).into(),
        user.role.as_str().into(),
        (&user.password_hash).into(),
        i64::from(user.disabled).into(),
        user.failed_logins.into(),
        user.locked_until.map(micros).into(),
        micros(now).into(),
    ];
    sql::execute(conn, statement, &params).await?;
    Ok(())
}

/// One user, if they exist.
pub async fn get_user(conn: &mut Conn, username: &str) -> Result<Option<User>, ControlError> {
    let statement = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
    sql::row(conn, &statement, &[username.into()], user_from_row).await
}

/// Every user, by name.
pub async fn list_users(conn: &mut Conn) -> Result<Vec<User>, ControlError> {
    let statement = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
    sql::rows(conn, &statement, &[], user_from_row).await
}

/// How many users hold `role` and are enabled.
pub async fn count_enabled(conn: &mut Conn, role: Role) -> Result<i64, ControlError> {
    sql::row(
        conn,
        "SELECT count(*) AS n FROM users WHERE role = $1 AND disabled = 0",
        &[role.as_str().into()],
        |row| Ok(row.try_get::<i64, _>("n")?),
    )
    .await
    .map(Option::unwrap_or_default)
}

/// Lets a customer user see a meter.
pub async fn add_meter(
    conn: &mut Conn,
    username: &str,
    meter_id: &str,
) -> Result<(), ControlError> {
    sql::execute(
        conn,
        "INSERT INTO user_meters (username, meter_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[username.into(), meter_id.into()],
    )
    .await?;
    Ok(())
}

/// The meters a user may see (customers), in order.
pub async fn meters_of(conn: &mut Conn, username: &str) -> Result<Vec<String>, ControlError> {
    sql::rows(
        conn,
        "SELECT meter_id FROM user_meters WHERE username = $1 ORDER BY meter_id",
        &[username.into()],
        |row| Ok(row.try_get("meter_id")?),
    )
    .await
}

/// What a credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A long-lived API token (`Authorization: Bearer`).
    Token,
    /// A browser session (cookie, with a CSRF token).
    Session,
}

impl CredentialKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Session => "session",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Token, Self::Session]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A credential as stored (its secret is not).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Credential {
    /// Public id (for listing and revoking).
    pub id: String,
    /// Whose.
    pub username: String,
    /// Token or session.
    pub kind: CredentialKind,
    /// What the token is for, as its issuer said.
    pub label: String,
    /// A session's CSRF token.
    #[serde(skip)]
    pub csrf: Option<String>,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Stops working then.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked then.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

const CREDENTIAL_COLUMNS: &str =
    "id, username, kind, label, csrf, created_at, expires_at, revoked_at";

fn credential_from_row(row: &AnyRow) -> Result<Credential, ControlError> {
    let kind: String = row.try_get("kind")?;
    Ok(Credential {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        kind: stored_enum(&kind, "credential kind", CredentialKind::parse)?,
        label: row.try_get("label")?,
        csrf: row.try_get("csrf")?,
        created_at: instant(row.try_get("created_at")?)?,
        expires_at: maybe_instant(row.try_get("expires_at")?)?,
        revoked_at: maybe_instant(row.try_get("revoked_at")?)?,
    })
}

/// Stores a credential under the hash of its secret.
pub async fn insert_credential(
    conn: &mut Conn,
    secret_hash: &str,
    credential: &Credential,
) -> Result<(), ControlError> {
    let statement = format!(
        "INSERT INTO credentials (secret_hash, {CREDENTIAL_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    let params = [
        secret_hash.into(),
        (&credential.id).into(),
        (&credential.username).into(),
        credential.kind.as_str().into(),
        (&credential.label).into(),
        credential.csrf.as_deref().into(),
        micros(credential.created_at).into(),
        credential.expires_at.map(micros).into(),
        credential.revoked_at.map(micros).into(),
    ];
    sql::execute(conn, &statement, &params).await?;
    Ok(())
}

/// The credential whose secret hashes to `secret_hash`.
pub async fn credential_by_hash(
    conn: &mut Conn,
    secret_hash: &str,
) -> Result<Option<Credential>, ControlError> {
    let statement = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE secret_hash = $1");
    sql::row(conn, &statement, &[secret_hash.into()], credential_from_row).await
}

/// One credential by its public id.
pub async fn credential(conn: &mut Conn, id: &str) -> Result<Option<Credential>, ControlError> {
    let statement = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1");
    sql::row(conn, &statement, &[id.into()], credential_from_row).await
}

/// A user's credentials of one kind, newest first.
pub async fn credentials_of(
    conn: &mut Conn,
    username: &str,
    kind: CredentialKind,
) -> Result<Vec<Credential>, ControlError> {
    let statement = format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE username = $1 AND kind = $2 \
         ORDER BY created_at DESC"
    );
    sql::rows(
        conn,
        &statement,
        &[username.into(), kind.as_str().into()],
        credential_from_row,
    )
    .await
}

/// Revokes one credential (no-op when already revoked); returns whether it was live.
pub async fn revoke(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<bool, ControlError> {
    let changed = sql::execute(
        conn,
        "UPDATE credentials SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[id.into(), micros(now).into()],
    )
    .await?;
    Ok(changed > 0)
}

/// Revokes every live credential of a user; returns how many.
pub async fn revoke_all(
    conn: &mut Conn,
    username: &str,
    now: DateTime<Utc>,
) -> Result<u64, ControlError> {
    sql::execute(
        conn,
        "UPDATE credentials SET revoked_at = $2 WHERE username = $1 AND revoked_at IS NULL",
        &[username.into(), micros(now).into()],
    )
    .await
}
