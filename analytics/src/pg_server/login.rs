//! The endpoint's one login: a user name and a password, checked by SCRAM-SHA-256, so the password never
//! crosses the wire. The password is salted and hashed once, when the server starts.

use std::hash::{BuildHasher, Hasher};

use async_trait::async_trait;
use datafusion_postgres::pgwire::api::auth::sasl::scram::gen_salted_password;
use datafusion_postgres::pgwire::api::auth::{AuthSource, LoginInfo, Password};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

/// SCRAM iterations (RFC 7677's minimum, PostgreSQL's default).
pub const SCRAM_ITERATIONS: usize = 4096;

/// The one user the endpoint admits.
#[derive(Debug, Clone)]
pub struct OneUser {
    user: String,
    salt: Vec<u8>,
    salted_password: Vec<u8>,
}

/// Sixteen bytes that differ between runs (a SCRAM salt need not be secret, only unique).
fn fresh_salt() -> Vec<u8> {
    let mut salt = Vec::with_capacity(16);
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        salt.extend_from_slice(&hasher.finish().to_le_bytes());
    }
    salt
}

impl OneUser {
    /// A login for `user` with `password`; `None` when either is empty (an empty password would admit
    /// anyone who sends one).
    pub fn new(user: &str, password: &str) -> Option<Self> {
        if user.is_empty() || password.is_empty() {
            return None;
        }
        let salt = fresh_salt();
        Some(Self {
            user: user.to_string(),
            salted_password: gen_salted_password(password, &salt, SCRAM_ITERATIONS),
            salt,
        })
    }
}

/// PostgreSQL's answer to a failed login (SQLSTATE 28P01).
fn refused(user: Option<&str>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_string(),
        "28P01".to_string(),
        format!(
            "password authentication failed for user \"{}\"",
            user.unwrap_or_default()
        ),
    )))
}

#[async_trait]
impl AuthSource for OneUser {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        if login.user() != Some(self.user.as_str()) {
            return Err(refused(login.user()));
        }
        Ok(Password::new(
            Some(self.salt.clone()),
            self.salted_password.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_user_or_password_is_no_login() {
        assert!(OneUser::new("analyst", "").is_none());
        assert!(OneUser::new("", "secret").is_none());
        let a = OneUser::new("analyst", "secret").unwrap();
        let b = OneUser::new("analyst", "secret").unwrap();
        assert_ne!(a.salt, b.salt, "salts differ between logins");
    }
}
