//! Logins at the endpoint. Every connection's user and password are checked by a [`SqlLogin`] (the
//! binary plugs in the control service's users, so analysts log in with their own names, roles and
//! lockout). The password travels in PostgreSQL's password message, so the endpoint insists on TLS
//! unless it is told the network is trusted. Connections are capped, and an address that keeps failing
//! is refused for a while before its password is even looked at.

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion_postgres::pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata,
    DefaultServerParameterProvider, StartupHandler,
};
use datafusion_postgres::pgwire::api::{
    ClientInfo, ConnectionHandle, ConnectionManager, PgWireConnectionState, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator, METADATA_USER,
};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::startup::Authentication;
use datafusion_postgres::pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use futures::sink::{Sink, SinkExt};
use tokio::sync::Semaphore;

/// Failed logins one address may make within [`FAILURE_WINDOW`] before it is refused outright.
pub const FAILURES_PER_ADDRESS: u32 = 10;
/// How long an address's failures count (and how long it is refused once over the limit).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Wrong name or password, a disabled or locked user: all alike (SQLSTATE 28P01).
    Credentials,
    /// The user is who they say but may not use SQL (SQLSTATE 28000).
    NotAllowed(String),
    /// The user store could not answer (SQLSTATE 57P03).
    Unavailable(String),
}

/// Checks a user and password presented at the endpoint.
#[async_trait]
pub trait SqlLogin: Send + Sync + 'static {
    /// Whether `user` with `password`, connecting from `peer`, may run SQL.
    async fn check(&self, user: &str, password: &str, peer: SocketAddr)
        -> Result<(), LoginRefusal>;
}

/// How the endpoint admits connections.
#[derive(Clone)]
pub struct Admission {
    /// The login check.
    pub login: Arc<dyn SqlLogin>,
    /// Connections that may be logged in at once.
    pub max_connections: usize,
    /// Refuse connections that did not negotiate TLS (passwords would cross the network in clear).
    pub require_tls: bool,
}

impl Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("max_connections", &self.max_connections)
            .field("require_tls", &self.require_tls)
            .finish_non_exhaustive()
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_string(),
        code.to_string(),
        message,
    )))
}

/// Recent failed logins per client address.
#[derive(Debug, Default)]
struct Failures {
    by_address: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Failures {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        match self.by_address.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// True when `address` failed too often lately.
    fn barred(&self, address: IpAddr, now: Instant) -> bool {
        let mut map = self.lock();
        map.retain(|_, (_, first)| now.duration_since(*first) < FAILURE_WINDOW);
        map.get(&address)
            .is_some_and(|(count, _)| *count >= FAILURES_PER_ADDRESS)
    }

    fn record(&self, address: IpAddr, now: Instant) {
        let mut map = self.lock();
        let entry = map.entry(address).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
    }
}

/// The startup handler: TLS check, connection cap, cleartext password checked by the [`SqlLogin`].
pub struct CheckedLogin {
    admission: Admission,
    parameters: DefaultServerParameterProvider,
    pids: RandomPidSecretKeyGenerator,
    connections: Arc<ConnectionManager>,
    slots: Arc<Semaphore>,
    failures: Failures,
}

impl CheckedLogin {
    /// A handler admitting by `admission`, registering connections in `connections` (for cancels).
    pub fn new(admission: Admission, connections: Arc<ConnectionManager>) -> Self {
        let mut parameters = DefaultServerParameterProvider::default();
        parameters.is_superuser = false;
        parameters.default_transaction_read_only = true;
        Self {
            slots: Arc::new(Semaphore::new(admission.max_connections.max(1))),
            admission,
            parameters,
            pids: RandomPidSecretKeyGenerator::default(),
            connections,
            failures: Failures::default(),
        }
    }
}

#[async_trait]
impl StartupHandler for CheckedLogin {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                if self.admission.require_tls && !client.is_secure() {
                    return Err(fatal(
                        "28000",
                        "this endpoint requires TLS (sslmode=require or stronger)".into(),
                    ));
                }
                if self
                    .failures
                    .barred(client.socket_addr().ip(), Instant::now())
                {
                    return Err(fatal(
                        "28000",
                        "too many failed logins from this address; try again later".into(),
                    ));
                }
                let permit = self
                    .slots
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| fatal("53300", "sorry, too many clients already".into()))?;
                // Held for the connection's life: released when the connection's state drops.
                client.session_extensions().insert(permit);
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(
                        Authentication::CleartextPassword,
                    ))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let password = message.into_password()?;
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                let peer = client.socket_addr();
                match self
                    .admission
                    .login
                    .check(&user, &password.password, peer)
                    .await
                {
                    Ok(()) => {
                        let (pid, key) = self.pids.generate(&*client);
                        client.set_pid_and_secret_key(pid, key.clone());
                        let (handle, guard) = self.connections.register(pid, key);
                        client
                            .session_extensions()
                            .insert::<Arc<ConnectionHandle>>(handle);
                        client.session_extensions().insert(guard);
                        finish_authentication(client, &self.parameters).await?;
                    }
                    Err(LoginRefusal::Credentials) => {
                        self.failures.record(peer.ip(), Instant::now());
                        return Err(PgWireError::InvalidPassword(user));
                    }
                    Err(LoginRefusal::NotAllowed(why)) => return Err(fatal("28000", why)),
                    Err(LoginRefusal::Unavailable(why)) => return Err(fatal("57P03", why)),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_barred_after_its_failures_and_freed_when_the_window_passes() {
        let failures = Failures::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..FAILURES_PER_ADDRESS - 1 {
            failures.record(a, start);
        }
        assert!(!failures.barred(a, start));
        failures.record(a, start);
        assert!(failures.barred(a, start));
        assert!(
            !failures.barred(b, start),
            "other addresses are not affected"
        );
        assert!(!failures.barred(a, start + FAILURE_WINDOW));
    }
}
