//! `meterlake sql-server`: the PostgreSQL wire-protocol endpoint over the lake, for psql, DBeaver,
//! Grafana and Metabase (read-only, one SCRAM login, statement timeout, memory limit).

use std::time::Duration;

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
    if settings.password.is_empty() {
        anyhow::bail!(
            "the SQL endpoint needs a password: set sql_server.password in the config file or \
             METERLAKE_SQL_SERVER__PASSWORD (clients log in as {:?})",
            settings.user
        );
    }
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
            user: settings.user.clone(),
            password: settings.password.clone(),
            statement_timeout: Duration::from_secs(settings.statement_timeout_s.max(1)),
            memory_limit_bytes: usize::try_from(settings.memory_limit_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            refresh: Duration::from_secs(settings.refresh_s.max(1)),
        },
        stopped,
    ));
    eprintln!(
        "SQL endpoint on {address} (read-only): psql \"host={} port={} user={} dbname=meterlake\"",
        address.ip(),
        address.port(),
        settings.user
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
