//! `meterlake`: one binary wiring collection, the lake, analytics and control.

mod collect_cli;
mod demo;
mod frame_cli;
mod lake_cli;
mod meter_cli;
mod service;
mod sim_cli;
mod sink_cli;
mod tariff_cli;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use meterlake::table_output::{render, OutputFormat};
use meterlake::Config;

/// Prepaid smart-meter fleet: DL/T 645 collection, Kafka, a Delta/Parquet lake, SQL, billing, relay control.
#[derive(Debug, Parser)]
#[command(name = "meterlake", version)]
struct Cli {
    /// Configuration file (default: $METERLAKE_CONFIG, else ./meterlake.toml if present, else built-in defaults).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole loop in one process with simulated meters on a compressed clock.
    Demo(demo::DemoArgs),
    /// Run a collector: poll buses every interval, spool, forward to Kafka, execute relay commands.
    Collect(collect_cli::CollectArgs),
    /// Run a Kafka → lake sink (scale out by running several with the same group).
    Sink(sink_cli::SinkArgs),
    /// Run a simulated meter fleet on TCP DTUs or serial devices until Ctrl-C.
    Sim(sim_cli::SimArgs),
    /// Compact the lake: rewrite small Parquet files into large ones (Delta OPTIMIZE).
    Compact(lake_cli::CompactArgs),
    /// Drop date partitions older than a number of days, then vacuum their files after a grace period.
    Retention(lake_cli::RetentionArgs),
    /// Run one SQL statement against the lake.
    Sql {
        /// The statement.
        query: String,
        /// Read the table as of a Delta version (`42`) or a time (`2026-10-01T08:00:00Z`, or
        /// `2026-10-01 16:00:00` in the lake's zone): time travel.
        #[arg(long)]
        as_of: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
    /// Decode or build DL/T 645 frames in hex.
    Frame(frame_cli::FrameArgs),
    /// Talk to one meter on a bus (TCP DTU or serial RS-485).
    Meter(meter_cli::MeterArgs),
    /// Tariff plans: price a usage file (`quote`) or list the shipped plans.
    Tariff(tariff_cli::TariffArgs),
    /// Record a payment to a prepaid account (offline, directly in the accounts database).
    Pay {
        /// Meter address.
        #[arg(long)]
        meter: String,
        /// Amount in yuan, e.g. 50.00.
        #[arg(long)]
        amount: String,
        /// Unique payment reference.
        #[arg(long)]
        reference: String,
    },
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("METERLAKE_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                "warn,buoyant_kernel::snapshot=off,deltalake_core::writer::stats=error",
            )
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), std::env::vars())?;
    match cli.command {
        Command::Demo(args) => demo::run(config, args).await,
        Command::Collect(args) => collect_cli::run(config, args).await,
        Command::Compact(args) => lake_cli::compact(&config, args).await,
        Command::Retention(args) => lake_cli::retention(&config, args).await,
        Command::Sim(args) => sim_cli::run(config, args).await,
        Command::Sink(args) => sink_cli::run(config, args).await,
        Command::Sql {
            query,
            as_of,
            format,
        } => sql(&config, &query, as_of, format).await,
        Command::Frame(args) => frame_cli::run(args),
        Command::Meter(args) => meter_cli::run(args).await,
        Command::Tariff(args) => tariff_cli::run(&config, args),
        Command::Pay {
            meter,
            amount,
            reference,
        } => pay(&config, &meter, &amount, &reference).await,
    }
}

async fn sql(
    config: &Config,
    query: &str,
    as_of: Option<String>,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = store::LakeLocation::parse(&config.lake.location)?;
    let registry = Some(std::path::Path::new(&config.lake.registry));
    let session = match as_of
        .as_deref()
        .map(|text| parse_as_of(text, zone))
        .transpose()?
    {
        None => analytics::LakeSession::open_with_registry(&location, zone, None, registry).await?,
        Some(AsOf::Version(version)) => {
            analytics::LakeSession::open_with_registry(&location, zone, Some(version), registry)
                .await?
        }
        Some(AsOf::Time(at)) => {
            let lake = store::Lake::open_at_time(&location, zone, at)
                .await
                .with_context(|| format!("no lake version at or before {at}"))?;
            analytics::LakeSession::from_lake_with_registry(&lake, zone, registry).await?
        }
    };
    let batches = session.query(query).await.context("query failed")?;
    print!("{}", render(&batches, format)?);
    if format == OutputFormat::Table {
        println!();
        match session.lake_version() {
            Some(version) => eprintln!("(lake version {version})"),
            None => eprintln!("(the lake is empty)"),
        }
    }
    Ok(())
}

/// What `--as-of` names.
enum AsOf {
    Version(i64),
    Time(chrono::DateTime<chrono::Utc>),
}

/// A version number, an RFC 3339 time, or a local `YYYY-MM-DD HH:MM:SS` in the lake's zone.
fn parse_as_of(text: &str, zone: chrono_tz::Tz) -> anyhow::Result<AsOf> {
    if let Ok(version) = text.trim().parse::<i64>() {
        return Ok(AsOf::Version(version));
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(AsOf::Time(at.with_timezone(&chrono::Utc)));
    }
    let local = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .with_context(|| {
            format!("--as-of {text:?}: expected a version, an RFC 3339 time or YYYY-MM-DD HH:MM:SS")
        })?;
    let at = local
        .and_local_timezone(zone)
        .earliest()
        .with_context(|| format!("--as-of {text:?} does not exist in {zone}"))?;
    Ok(AsOf::Time(at.with_timezone(&chrono::Utc)))
}

async fn pay(config: &Config, meter: &str, amount: &str, reference: &str) -> anyhow::Result<()> {
    let amount = control::money::parse_payment(amount)?;
    let pool = control::db::open(&config.control.database).await?;
    let payment = control::ledger::pay(&pool, meter, amount, reference, chrono::Utc::now()).await?;
    println!(
        "{} {} yuan to {}; balance {} yuan",
        if payment.duplicate {
            "already credited:"
        } else {
            "credited"
        },
        payment.amount,
        payment.meter_id,
        payment.balance
    );
    println!("(the running control service issues close-allowed on its next billing pass)");
    Ok(())
}
