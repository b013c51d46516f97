//! Passwords and bearer secrets: argon2id password hashes (computed off the async threads), random
//! token and session secrets, and the SHA-256 under which a secret is looked up.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::store::users::CredentialKind;
use crate::ControlError;

/// Fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A password as typed. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a password typed at a prompt or sent in a request.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Refuses passwords shorter than [`MIN_PASSWORD_CHARS`].
    pub fn check_strength(&self) -> Result<(), ControlError> {
        if self.0.chars().count() < MIN_PASSWORD_CHARS {
            return Err(ControlError::Invalid(format!(
                "a password needs at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The argon2id PHC string of a password (default parameters: 19 MiB, 2 passes).
pub async fn hash_password(password: Password) -> Result<String, ControlError> {
    password.check_strength()?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.0.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ControlError::Corrupt(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ControlError::Corrupt(format!("password hashing task: {e}")))?
}

/// Whether `password` matches a stored PHC string (a malformed one never matches).
pub async fn verify_password(password: Password, stored: String) -> Result<bool, ControlError> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.0.as_bytes(), &hash)
                .is_ok()
        })
    })
    .await
    .map_err(|e| ControlError::Corrupt(format!("password check task: {e}")))
}

/// A valid hash of a random password nobody knows: checked against when a login names no user, so
/// that such a login costs as much as a real one.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0_u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(hex::encode(random).as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

/// A fresh secret: a kind prefix and 32 random bytes in hex.
pub fn new_secret(kind: CredentialKind) -> String {
    let prefix = match kind {
        CredentialKind::Token => "mlt_",
        CredentialKind::Session => "mls_",
    };
    let mut random = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    format!("{prefix}{}", hex::encode(random))
}

/// A fresh CSRF token.
pub fn new_csrf() -> String {
    let mut random = [0_u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut random);
    hex::encode(random)
}

/// How a secret is stored and looked up: SHA-256 in hex (secrets are random, so no salt or stretching
/// is needed).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_verify_and_never_print() {
        let password = Password::new("correct horse battery");
        let hash = hash_password(password.clone()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(password.clone(), hash.clone())
            .await
            .unwrap());
        assert!(!verify_password(Password::new("wrong horse battery"), hash)
            .await
            .unwrap());
        assert!(!verify_password(password.clone(), "not a hash".into())
            .await
            .unwrap());
        assert!(!format!("{password:?}").contains("horse"));
        assert!(hash_password(Password::new("short")).await.is_err());
        assert!(!verify_password(password, decoy_hash().to_string())
            .await
            .unwrap());
    }

    #[test]
    fn secrets_are_fresh_and_looked_up_by_hash() {
        let a = new_secret(CredentialKind::Token);
        let b = new_secret(CredentialKind::Token);
        assert_ne!(a, b);
        assert!(a.starts_with("mlt_") && a.len() == 68);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert_eq!(secret_hash(&a).len(), 64);
    }
}
