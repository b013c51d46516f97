//! A PostgreSQL wire-protocol endpoint over the lake (datafusion-postgres), so psql, DBeaver, Grafana and
//! Metabase connect to the same catalog as `meterlake sql`.
//!
//! Its defaults are safe rather than open:
//! - every connection logs in as a user the caller's [`login::SqlLogin`] accepts (the control service's
//!   users with the SQL right), over TLS unless told otherwise, within a connection cap, and an address
//!   that keeps failing is refused for a while ([`login`]);
//! - read-only: a hook refuses DDL, DML, `COPY`, `CREATE EXTERNAL TABLE` and `SET` of limits
//!   ([`read_only`]);
//! - a statement deadline over planning and streaming, SQLSTATE 57014 ([`deadline`]);
//! - one memory pool for all connections without spilling, so a query that needs more fails with
//!   SQLSTATE 53200 and the process lives on.
//!
//! The lake moves on while the server runs: every `refresh` a new session over the newest lake version is
//! opened, and new connections get it (a connection keeps the version it started on).

pub mod deadline;
pub mod login;
pub mod read_only;

/// A TLS acceptor for the endpoint (tokio-rustls, built from a rustls server configuration).
pub use datafusion_postgres::pgwire::tokio::TlsAcceptor;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono_tz::Tz;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::pgwire::api::auth::StartupHandler;
use datafusion_postgres::pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use datafusion_postgres::pgwire::api::{ConnectionManager, PgWireServerHandlers};
use datafusion_postgres::{DfSessionService, QueryHook};
use store::{Lake, LakeLocation};
use tokio::net::TcpListener;

use crate::{AnalyticsError, LakeSession};
use deadline::Guarded;
use login::{Admission, CheckedLogin};
use read_only::ReadOnly;

/// The endpoint's limits, logins and TLS.
#[derive(Clone)]
pub struct PgServerSettings {
    /// Who may connect.
    pub admission: Admission,
    /// TLS for connections that ask for it (`None`: plaintext only).
    pub tls: Option<TlsAcceptor>,
    /// Longest a statement may run, planning and streaming together.
    pub statement_timeout: Duration,
    /// Memory all running queries may hold together, bytes.
    pub memory_limit_bytes: usize,
    /// How often new connections move to the newest lake version.
    pub refresh: Duration,
}

/// Where the lake and its registry are.
#[derive(Debug, Clone)]
pub struct LakeSource {
    /// The lake.
    pub location: LakeLocation,
    /// Its local zone.
    pub zone: Tz,
    /// The registry directory (`meters.csv`, `areas.csv`).
    pub registry: Option<PathBuf>,
}

/// The per-connection handlers: the newest guarded session, the login and the connection registry (for
/// cancel requests).
struct Handlers {
    current: RwLock<Arc<Guarded>>,
    login: Arc<CheckedLogin>,
    connections: Arc<ConnectionManager>,
}

impl Handlers {
    fn session(&self) -> Arc<Guarded> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.session()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.session()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.login.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::new(DefaultCancelHandler::new(self.connections.clone()))
    }
}

/// The shared runtime: one memory pool of `bytes`, no spilling to disk.
fn runtime(bytes: usize) -> Result<Arc<RuntimeEnv>, AnalyticsError> {
    Ok(RuntimeEnvBuilder::new()
        .with_memory_limit(bytes, 1.0)
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
        )
        .build_arc()?)
}

/// A guarded session over the newest lake version, with the PostgreSQL catalog psql and BI tools ask.
async fn open_guarded(
    source: &LakeSource,
    runtime: &Arc<RuntimeEnv>,
    timeout: Duration,
) -> Result<(Arc<Guarded>, Option<i64>), AnalyticsError> {
    let lake = Lake::open(&source.location, source.zone).await?;
    let session = LakeSession::from_lake_with_runtime(
        &lake,
        source.zone,
        source.registry.as_deref(),
        Some(runtime.clone()),
    )
    .await?;
    session.register_derived().await?;
    let ctx = Arc::new(session.context().clone());
    setup_pg_catalog(&ctx, "datafusion", EmptyContextProvider)
        .map_err(|e| AnalyticsError::Shape(format!("pg_catalog: {e}")))?;
    let hooks: Vec<Arc<dyn QueryHook>> = vec![
        Arc::new(ReadOnly),
        Arc::new(SetShowHook),
        Arc::new(TransactionStatementHook),
    ];
    let service = DfSessionService::new_with_hooks(ctx, hooks);
    Ok((
        Arc::new(Guarded::new(service, timeout)),
        session.lake_version(),
    ))
}

/// Serves the endpoint on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    source: LakeSource,
    settings: PgServerSettings,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), AnalyticsError> {
    let runtime = runtime(settings.memory_limit_bytes)?;
    let (first, version) = open_guarded(&source, &runtime, settings.statement_timeout).await?;
    tracing::info!(lake_version = ?version, "SQL endpoint ready");
    let connections_registry = Arc::new(ConnectionManager::new());
    let handlers = Arc::new(Handlers {
        current: RwLock::new(first),
        login: Arc::new(CheckedLogin::new(
            settings.admission.clone(),
            connections_registry.clone(),
        )),
        connections: connections_registry,
    });
    // Sockets still in their startup (TLS handshake, login) count too: a flood of half-open
    // connections is dropped at accept beyond twice the login cap.
    let open_limit = settings.admission.max_connections.max(1).saturating_mul(2);
    let mut refresh = tokio::time::interval(settings.refresh);
    refresh.tick().await;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = refresh.tick() => {
                match open_guarded(&source, &runtime, settings.statement_timeout).await {
                    Ok((next, version)) => {
                        tracing::debug!(lake_version = ?version, "SQL endpoint moved to the newest lake version");
                        match handlers.current.write() {
                            Ok(mut guard) => *guard = next,
                            Err(poisoned) => *poisoned.into_inner() = next,
                        }
                    }
                    Err(err) => tracing::warn!(%err, "SQL endpoint could not refresh the lake; keeping the last version"),
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    while connections.try_join_next().is_some() {}
                    if connections.len() >= open_limit {
                        tracing::warn!(%peer, open = connections.len(), "SQL endpoint at its connection limit; connection dropped");
                        drop(socket);
                        continue;
                    }
                    let handlers = handlers.clone();
                    let tls = settings.tls.clone();
                    connections.spawn(async move {
                        if let Err(err) = datafusion_postgres::pgwire::tokio::process_socket(socket, tls, handlers).await {
                            tracing::debug!(%err, %peer, "SQL connection ended with an error");
                        }
                    });
                }
                Err(err) => tracing::warn!(%err, "SQL endpoint accept failed"),
            },
        }
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
    Ok(())
}
