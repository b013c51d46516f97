//! `meterlake control`: run the control service, check the ledger, open accounts, issue a month's bills;
//! `meterlake pay`.

use std::sync::Arc;

use anyhow::Context;
use ingest::clock::SystemClock;
use ingest::kafka::Topics;
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::sync::watch;

use meterlake::Config;

/// `meterlake control …`
#[derive(Debug, clap::Args)]
pub struct ControlArgs {
    #[command(subcommand)]
    command: Option<ControlCommand>,
    /// Kafka bootstrap servers (default: `kafka.brokers`).
    #[arg(long, global = true)]
    brokers: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum ControlCommand {
    /// Run the service (the default): HTTP API, acknowledgement consumer, outbox relay, sweeper, billing.
    Run,
    /// Check that every balance is the sum of its ledger entries; exits non-zero when one is not.
    Check,
    /// Open a prepaid account (an existing one is left as it is).
    OpenAccount {
        /// Meter address, 12 digits.
        #[arg(long)]
        meter: String,
        /// Collector that owns the meter's bus.
        #[arg(long)]
        collector: String,
        /// Tariff plan (default: `control.plan`).
        #[arg(long)]
        plan: Option<String>,
        /// Opening balance, yuan.
        #[arg(long, default_value = "0")]
        balance: rust_decimal::Decimal,
    },
    /// Issue a month's bills by hand (the running service issues the previous month on
    /// `control.bill_issue_day`): priced from the lake, stored in `bills`, each customer told once.
    IssueBills {
        /// The month, `YYYY-MM`.
        #[arg(long)]
        period: String,
    },
    /// List the months issued, newest first.
    BillIssues,
}

/// `meterlake pay …`
#[derive(Debug, clap::Args)]
pub struct PayArgs {
    /// Meter address.
    #[arg(long)]
    meter: String,
    /// Amount in yuan, e.g. 50.00.
    #[arg(long)]
    amount: String,
    /// Unique payment reference (a replay with the same meter and amount changes nothing).
    #[arg(long)]
    reference: String,
}

pub(crate) async fn use_cases(config: &Config) -> anyhow::Result<control::Control> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    Ok(control::open(
        &config.control,
        Topics::with_prefix(&config.kafka.topic_prefix),
        zone,
        Arc::new(SystemClock),
    )
    .await?)
}

pub async fn run(config: Config, args: ControlArgs) -> anyhow::Result<()> {
    match args.command.unwrap_or(ControlCommand::Run) {
        ControlCommand::Run => serve(config, args.brokers).await,
        ControlCommand::Check => check(&config).await,
        ControlCommand::OpenAccount {
            meter,
            collector,
            plan,
            balance,
        } => {
            let account = use_cases(&config)
                .await?
                .open_account(
                    control::app::accounts::NewAccount {
                        meter_id: meter,
                        collector_id: collector,
                        plan,
                        opening_balance: balance,
                        terms: Default::default(),
                    },
                    &control::app::audit::Actor::cli(),
                )
                .await?;
            println!(
                "account {}: plan {}, balance {} yuan, state {}",
                account.meter_id,
                account.plan,
                account.balance,
                account.state.as_str()
            );
            Ok(())
        }
        ControlCommand::IssueBills { period } => issue_bills(&config, &period).await,
        ControlCommand::BillIssues => {
            for issue in use_cases(&config).await?.bill_issues(1000).await? {
                println!("{}", issue_line(&issue));
            }
            Ok(())
        }
    }
}

fn issue_line(issue: &control::store::bill_issues::BillIssue) -> String {
    format!(
        "{}: {} bills, {} yuan, {} customers told, lake version {}, issued {}",
        issue.period,
        issue.bills,
        issue.total,
        issue.noticed,
        issue
            .lake_version
            .map_or_else(|| "-".to_string(), |v| v.to_string()),
        issue.issued_at.to_rfc3339()
    )
}

async fn issue_bills(config: &Config, period: &str) -> anyhow::Result<()> {
    let period = analytics::billing::period_run::MonthPeriod::parse(period)?;
    let control = use_cases(config).await?;
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let lake = store::LakeLocation::parse(&config.lake.location)?;
    let registry = std::path::PathBuf::from(&config.lake.registry);
    let session = meterlake::pipeline::session_opener(lake, zone, registry)()
        .await
        .context("opening the lake")?;
    let outcome = control
        .issue_bills(&session, period, &control::app::audit::Actor::cli())
        .await?;
    match &outcome {
        control::app::bill_issue::IssueOutcome::Issued(issue) => {
            println!("issued {}", issue_line(issue));
        }
        control::app::bill_issue::IssueOutcome::AlreadyIssued(issue) => {
            println!("already issued (nothing done): {}", issue_line(issue));
        }
    }
    Ok(())
}

async fn serve(config: Config, brokers: Option<String>) -> anyhow::Result<()> {
    let kafka = config.kafka.settings_for(brokers, "control")?;
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let lake = store::LakeLocation::parse(&config.lake.location)?;
    let registry = std::path::PathBuf::from(&config.lake.registry);
    let open_session = meterlake::pipeline::session_opener(lake, zone, registry);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let running = control::start(
        control::Runtime {
            config: config.control.clone(),
            kafka,
            topics: Topics::with_prefix(&config.kafka.topic_prefix),
            zone,
            clock: Arc::new(SystemClock),
            lake: Some(open_session),
            metrics: Some(crate::service::prometheus_render(prometheus)),
            tls: config
                .tls
                .server_config("the control service", &control::tls::HTTP_ALPN)?,
            diagnosis: config.diagnosis.clone(),
            registry: Some(std::path::PathBuf::from(&config.lake.registry)),
        },
        shutdown_rx,
    )
    .await
    .context("starting the control service")?;
    eprintln!(
        "control service: {}://{}/api/accounts  /healthz  /metrics  /api/openapi.json",
        if config.tls.cert.is_empty() {
            "http"
        } else {
            "https"
        },
        running.http
    );
    eprintln!(
        "  database {}",
        control::store::redact(&config.control.database)
    );
    crate::service::wait_for_signal().await;
    eprintln!("shutting down");
    let _ = shutdown.send(true);
    running.wait().await?;
    Ok(())
}

async fn check(config: &Config) -> anyhow::Result<()> {
    let control = use_cases(config).await?;
    let mismatches = control.check_ledger().await?;
    if mismatches.is_empty() {
        println!("ledger sound: every balance is the sum of its entries");
        return Ok(());
    }
    for m in &mismatches {
        println!(
            "{}: balance {} but entries sum to {} ({} entries recorded, {} in the ledger)",
            m.meter_id, m.balance, m.ledger_sum, m.entries, m.ledger_entries
        );
    }
    anyhow::bail!("{} accounts disagree with their ledger", mismatches.len())
}

pub async fn pay(config: &Config, args: PayArgs) -> anyhow::Result<()> {
    let control = use_cases(config).await?;
    let receipt = control
        .pay(
            &args.meter,
            &args.amount,
            &args.reference,
            &control::app::audit::Actor::cli(),
        )
        .await?;
    println!(
        "{} {} yuan to {}; balance {} yuan",
        if receipt.replay {
            "already credited:"
        } else {
            "credited"
        },
        receipt.amount,
        receipt.meter_id,
        receipt.balance
    );
    if let Some(command) = receipt.command_id {
        println!("command {command} queued; the running control service sends it");
    }
    Ok(())
}
