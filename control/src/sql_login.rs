//! The SQL endpoint's logins against the control service's users: a connection logs in with a user's
//! own name and password, the same lockout applies, the role must grant SQL (analysts), and both
//! outcomes land in the audit trail with the connection's address.

use std::net::SocketAddr;

use analytics::pg_server::login::{LoginRefusal, SqlLogin};
use async_trait::async_trait;

use crate::secrets::Password;
use crate::{Control, ControlError};

/// [`SqlLogin`] over the control service's users.
#[derive(Clone)]
pub struct UserSqlLogin {
    control: Control,
}

impl UserSqlLogin {
    /// Logins checked by `control`.
    pub fn new(control: Control) -> Self {
        Self { control }
    }
}

#[async_trait]
impl SqlLogin for UserSqlLogin {
    async fn check(
        &self,
        user: &str,
        password: &str,
        peer: SocketAddr,
    ) -> Result<(), LoginRefusal> {
        let origin = format!("sql:{}", peer.ip());
        match self
            .control
            .sql_login(user, &Password::new(password), &origin)
            .await
        {
            Ok(()) => Ok(()),
            Err(ControlError::Unauthenticated(_)) => Err(LoginRefusal::Credentials),
            Err(ControlError::Forbidden(why)) => Err(LoginRefusal::NotAllowed(why)),
            Err(err) => {
                tracing::warn!(%err, "the user store could not check a SQL login");
                Err(LoginRefusal::Unavailable(
                    "the user store is unavailable; try again later".into(),
                ))
            }
        }
    }
}
