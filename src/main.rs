//! `meterlake`: one binary wiring collection, the lake, analytics and control.

mod alarms_cli;
mod bill_cli;
mod cert_cli;
mod collect_cli;
mod control_cli;
mod customers_cli;
mod demo;
mod demo_bills;
mod demo_pages;
mod demo_prediction;
mod demo_reads;
mod demo_vee;
mod frame_cli;
mod history_cli;
mod lake_cli;
mod meter_cli;
mod model_cli;
mod report_cli;
mod service;
mod sim_cli;
mod sink_cli;
mod sql_cli;
mod sql_server_cli;
mod tariff_cli;
mod user_cli;
mod vee_cli;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
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
    /// Run SQL against the lake: statements as an argument, from standard input, or at a prompt.
    Sql(sql_cli::SqlArgs),
    /// Serve the lake over the PostgreSQL wire protocol (psql, DBeaver, Grafana), read-only.
    SqlServer(sql_server_cli::SqlServerArgs),
    /// Bill a month from the lake (stored in the lake's `bills` table; CSV or JSON export).
    Bill(bill_cli::BillArgs),
    /// Reports for planners: `report load --area A --from D1 --to D2 [--format html|csv|json]`.
    Report(report_cli::ReportArgs),
    /// Decode or build DL/T 645 frames in hex.
    Frame(frame_cli::FrameArgs),
    /// Talk to one meter on a bus (TCP DTU or serial RS-485).
    Meter(meter_cli::MeterArgs),
    /// Tariff plans: price a usage file (`quote`) or list the shipped plans.
    Tariff(tariff_cli::TariffArgs),
    /// Run the control service (prepaid accounts, relay commands, HTTP API), or `check` its ledger.
    Control(control_cli::ControlArgs),
    /// Record a payment to a prepaid account; its close-allowed goes out through the running service.
    Pay(control_cli::PayArgs),
    /// Users, roles and API tokens of the control service (the first admin is made here).
    User(user_cli::UserArgs),
    /// Verify the audit trail's chain, or export a time range as JSON lines.
    Audit(user_cli::AuditArgs),
    /// Make a new HMAC key (relay-command signing, audit trail), or rotate the personal-data key.
    Keys(user_cli::KeysArgs),
    /// Export customers' personal data (encrypted Parquet) or check an export.
    Customers(customers_cli::CustomersArgs),
    /// Make a self-signed TLS certificate and key for the `[tls]` section.
    Cert(cert_cli::CertArgs),
    /// Alarms: list, acknowledge, clear by hand, export to the lake, meter event records, or re-run
    /// the rules over a date range of the lake.
    Alarms(alarms_cli::AlarmsArgs),
    /// Validation, estimation and editing of interval data: run over dates, show, edit, list edits.
    Vee(vee_cli::VeeArgs),
    /// Simulate a fleet's history (readings, event records, theft and fault answers) into the lake.
    History(history_cli::HistoryArgs),
    /// Prediction models: train, score (into the lake's tables) and evaluate theft, anomaly, usage
    /// clusters and failing meters.
    Model(model_cli::ModelArgs),
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

fn main() -> std::process::ExitCode {
    // Before the runtime starts any thread.
    meterlake::allocator::tune_for_scans();
    // Two rustls providers are linked (ring, aws-lc-rs): name the process default so no library's
    // `ClientConfig::builder()` has to guess.
    control::tls::install_default_provider();
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
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
        Command::Sql(args) => sql_cli::run(&config, args).await,
        Command::SqlServer(args) => sql_server_cli::run(&config, args).await,
        Command::Bill(args) => bill_cli::run(&config, args).await,
        Command::Vee(args) => vee_cli::run(&config, args).await,
        Command::Report(args) => report_cli::run(&config, args).await,
        Command::Frame(args) => frame_cli::run(args),
        Command::Meter(args) => meter_cli::run(args).await,
        Command::Tariff(args) => tariff_cli::run(&config, args),
        Command::Control(args) => control_cli::run(config, args).await,
        Command::Pay(args) => control_cli::pay(&config, args).await,
        Command::User(args) => user_cli::user(&config, args).await,
        Command::Audit(args) => user_cli::audit(&config, args).await,
        Command::Keys(args) => user_cli::keys(&config, args).await,
        Command::Customers(args) => customers_cli::customers(&config, args).await,
        Command::Cert(args) => cert_cli::run(args),
        Command::Alarms(args) => alarms_cli::alarms(&config, args).await,
        Command::History(args) => history_cli::run(&config, args).await,
        Command::Model(args) => model_cli::run(&config, args).await,
    }
}
