//! `meterlake sql-server`: the PostgreSQL wire-protocol endpoint over the lake, for psql, DBeaver,
//! Grafana and Metabase (read-only; the control service's users with the SQL right log in, over TLS;
//! connection cap, failed-login throttling, statement timeout, memory limit).

use std::time::Duration;

use std::sync::Arc;

use analytics::pg_server::login::Admission;
use analytics::pg_server::{serve, LakeSource, PgServerSettings};
use anyhow::Context;
use meterlake::Config;

/// Options of `meterlake sql-server`.
#[derive(Debug, clap::Args)]
pub struct SqlServerArgs {
    /// Listen address (default: `sql_server.listen`).
    #[arg(long)]
    listen: Option<String>,
}

/// Runs the endpoint until Ctrl-C or SIGTERM.
pub async fn run(config: &Config, args: SqlServerArgs) -> anyhow::Result<()> {
    let settings = &config.sql_server;
    let tls = config
        .tls
        .server_config("the SQL endpoint", &control::tls::POSTGRES_ALPN)?;
    let tls_on = tls.is_some();
    let control = crate::control_cli::use_cases(config).await.context(
        "opening the user store (control.database) the SQL endpoint logs users in against",
    )?;
    let listen = args.listen.unwrap_or_else(|| settings.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    let source = LakeSource {
        location: store::LakeLocation::parse(&config.lake.location)?,
        zone: store::partition::parse_zone(&config.lake.zone)?,
        registry: Some(config.lake.registry.clone().into()),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(serve(
        listener,
        source,
        PgServerSettings {
            admission: Admission {
                login: Arc::new(control::sql_login::UserSqlLogin::new(control)),
                max_connections: settings.max_connections.max(1),
                require_tls: tls.is_some(),
            },
            tls: tls.clone().map(analytics::pg_server::TlsAcceptor::from),
            statement_timeout: Duration::from_secs(settings.statement_timeout_s.max(1)),
            memory_limit_bytes: usize::try_from(settings.memory_limit_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            refresh: Duration::from_secs(settings.refresh_s.max(1)),
        },
        stopped,
    ));
    eprintln!(
        "SQL endpoint on {address} (read-only{}): psql \"host={} port={} user=<your user> dbname=meterlake{}\"",
        if tls_on { ", TLS" } else { ", PLAINTEXT" },
        address.ip(),
        address.port(),
        if tls_on { " sslmode=verify-full sslrootcert=<cert>" } else { "" }
    );
    tokio::select! {
        result = &mut server => result.context("SQL endpoint task")??,
        () = crate::service::wait_for_signal() => {
            let _ = stop.send(true);
            server.await.context("SQL endpoint task")??;
        }
    }
    Ok(())
}
