//! `meterlake alarms …`: the alarm queue at the command line (list, acknowledge, clear by hand) and a
//! re-run of the alarm rules over a date range of the lake.

use anyhow::Context;
use chrono::{DateTime, Utc};
use control::app::audit::Actor;
use control::domain::alarm::AlarmState;
use control::store::alarms::AlarmFilter;

use crate::control_cli::use_cases;
use meterlake::day_range::{lake_session, DayRange};
use meterlake::Config;

/// `meterlake alarms …`
#[derive(Debug, clap::Args)]
pub struct AlarmsArgs {
    #[command(subcommand)]
    command: AlarmsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AlarmsCommand {
    /// Alarms, newest first (open ones unless --state or --all).
    List {
        /// Only this state: raised, acknowledged or cleared.
        #[arg(long)]
        state: Option<String>,
        /// Every state.
        #[arg(long)]
        all: bool,
        /// Only this kind (voltage_low, meter_silent, command_failed, …).
        #[arg(long)]
        kind: Option<String>,
        /// Only this meter.
        #[arg(long)]
        meter: Option<String>,
        /// Only this transformer area.
        #[arg(long)]
        area: Option<String>,
        /// Only this severity: info, warning or critical.
        #[arg(long)]
        severity: Option<String>,
        /// Raised at or after (RFC 3339).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
        /// At most this many (1..=1000).
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON (one object per line) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an alarm (recorded in the audit trail).
    Ack {
        /// Alarm id.
        id: String,
    },
    /// Clear an alarm by hand with a note (recorded in the audit trail).
    Clear {
        /// Alarm id.
        id: String,
        /// Why it is closed.
        #[arg(long)]
        note: String,
    },
    /// Write the alarms raised and the meter events of local dates FROM..=TO to the lake's `alarms`
    /// and `meter_events` tables (each day replaced; the service does this for today and yesterday).
    Export {
        #[command(flatten)]
        days: DayRange,
    },
    /// Meters' event records read by the collectors (cover open, power-down, programming, clock
    /// setting) in local dates FROM..=TO, oldest first.
    Events {
        /// Only this meter.
        #[arg(long)]
        meter: Option<String>,
        #[command(flatten)]
        days: DayRange,
    },
    /// Run the alarm rules ([diagnosis]) over the lake's readings of local dates FROM..=TO (after a
    /// rule or a parameter changed); raises and clears alarms as streaming would have.
    Rescan {
        #[command(flatten)]
        days: DayRange,
    },
}

pub async fn alarms(config: &Config, args: AlarmsArgs) -> anyhow::Result<()> {
    let control = use_cases(config).await?;
    match args.command {
        AlarmsCommand::List {
            state,
            all,
            kind,
            meter,
            area,
            severity,
            since,
            limit,
            json,
        } => {
            let state = state
                .map(|s| s.parse::<AlarmState>().map_err(anyhow::Error::msg))
                .transpose()?;
            let filter = AlarmFilter {
                state,
                all,
                kind,
                meter,
                area,
                severity,
                since,
                until: None,
                limit: Some(limit),
            };
            let alarms = control.alarms(&filter).await?;
            if json {
                for alarm in &alarms {
                    println!("{}", serde_json::to_string(alarm)?);
                }
            } else {
                println!(
                    "{:<36}  {:<12}  {:<24}  {:<8}  {:<12}  {:<20}  detail",
                    "id", "meter", "kind", "severity", "state", "raised"
                );
                for a in &alarms {
                    println!(
                        "{:<36}  {:<12}  {:<24}  {:<8}  {:<12}  {:<20}  {}",
                        a.id,
                        a.meter_id,
                        a.kind.name(),
                        a.severity.name(),
                        a.state.name(),
                        a.raised_at.format("%Y-%m-%d %H:%M:%S"),
                        a.detail
                    );
                }
                eprintln!("{} alarm(s)", alarms.len());
            }
        }
        AlarmsCommand::Ack { id } => {
            let alarm = control.acknowledge_alarm(&id, &Actor::cli()).await?;
            println!(
                "{} acknowledged by {}",
                alarm.id,
                alarm.acknowledged_by.unwrap_or_default()
            );
        }
        AlarmsCommand::Clear { id, note } => {
            let alarm = control.clear_alarm(&id, &note, &Actor::cli()).await?;
            println!(
                "{} cleared by {}",
                alarm.id,
                alarm.cleared_by.unwrap_or_default()
            );
        }
        AlarmsCommand::Export { days } => {
            let session = lake_session(config).await?;
            let mut day = days.from;
            while day <= days.to {
                let export = control.export_day(&session, day).await?;
                println!(
                    "{day}: {} alarm(s), {} event(s) written to the lake",
                    export.alarms, export.events
                );
                day = day.succ_opt().context("the day after")?;
            }
        }
        AlarmsCommand::Events { meter, days } => {
            let (start, end) = days.bounds(config)?;
            let events = control
                .meter_events(meter.as_deref(), start, end, 100_000)
                .await?;
            println!(
                "{:<12}  {:<20}  {:>8}  {:<25}  {:<25}  operator",
                "meter", "event", "sequence", "at", "until"
            );
            for e in &events {
                let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
                println!(
                    "{:<12}  {:<20}  {:>8}  {:<25}  {:<25}  {}",
                    e.meter_id,
                    e.event.name(),
                    e.sequence,
                    time(e.at),
                    time(e.end),
                    e.operator.as_deref().unwrap_or("")
                );
            }
            eprintln!("{} event(s)", events.len());
        }
        AlarmsCommand::Rescan { days } => {
            config
                .diagnosis
                .validate()
                .context("the [diagnosis] section")?;
            let session = lake_session(config).await?;
            let bar = days.progress()?;
            let shown = bar.clone();
            let report = control::workers::diagnosis::rescan(
                &control,
                &session,
                config.diagnosis.clone(),
                days.from,
                days.to,
                &move |day, report| {
                    shown.inc(1);
                    shown.set_message(format!(
                        "{day}: {} readings, {} raised, {} cleared",
                        report.readings, report.outcome.raised, report.outcome.cleared
                    ));
                },
            )
            .await?;
            bar.finish_and_clear();
            println!(
                "{} day(s), {} readings judged: {} alarm(s) raised, {} cleared, {} already known",
                report.days,
                report.readings,
                report.outcome.raised,
                report.outcome.cleared,
                report.outcome.already_known
            );
        }
    }
    Ok(())
}
