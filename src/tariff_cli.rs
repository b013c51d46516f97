//! `meterlake tariff quote|show`: price a usage file with a plan, line by line, the way customer
//! service explains a bill; list the shipped plans.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use rust_decimal::Decimal;

use analytics::tariff::{self, AccountTerms, Pricer, TariffBill};
use meterlake::Config;

/// Arguments of `meterlake tariff`.
#[derive(Debug, Args)]
pub struct TariffArgs {
    #[command(subcommand)]
    command: TariffCommand,
}

#[derive(Debug, Subcommand)]
enum TariffCommand {
    /// Price a usage file (CSV `timestamp,kwh`) and print the line items.
    Quote {
        /// A built-in plan name (see `meterlake tariff list`) or a plan file ending in `.toml`.
        #[arg(long)]
        plan: String,
        /// The usage file: `timestamp,kwh` rows, RFC 3339 or local `YYYY-MM-DD HH:MM`.
        #[arg(long)]
        usage: PathBuf,
        /// Ladder consumption already accumulated in the current accounting period, kWh.
        #[arg(long, default_value = "0")]
        ladder_start: Decimal,
        /// Apply the plan's household-size bonus (一户多人口) at its documented kWh/month.
        #[arg(long)]
        household_bonus: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in plans.
    List,
}

/// Runs `meterlake tariff`.
pub fn run(config: &Config, args: TariffArgs) -> anyhow::Result<()> {
    match args.command {
        TariffCommand::List => {
            for name in tariff::builtin_names() {
                let plan = tariff::builtin(name)?;
                println!("{name:28} {}  ({})", plan.region, plan.source);
            }
            Ok(())
        }
        TariffCommand::Quote {
            plan,
            usage,
            ladder_start,
            household_bonus,
            json,
        } => {
            let zone = store::partition::parse_zone(&config.lake.zone)?;
            let plan = tariff::resolve(&plan)?;
            let terms = AccountTerms {
                household_bonus_kwh_per_month: if household_bonus {
                    let bonus = plan
                        .versions
                        .last()
                        .and_then(|v| v.household_bonus.as_ref())
                        .with_context(|| format!("plan {} has no household bonus", plan.name))?;
                    Some(bonus.kwh_per_month)
                } else {
                    None
                },
            };
            let file = usage.display().to_string();
            let text =
                std::fs::read_to_string(&usage).with_context(|| format!("reading {file}"))?;
            let pricer = Pricer::new(plan, zone);
            let bill = tariff::quote(&pricer, &text, &file, ladder_start, &terms, None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&bill)?);
            } else {
                print!("{}", render(&bill, zone));
            }
            Ok(())
        }
    }
}

fn render(bill: &TariffBill, zone: chrono_tz::Tz) -> String {
    let mut out = format!(
        "plan {}  period {} – {} ({zone})  intervals {}\n",
        bill.plan,
        bill.period
            .start
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M"),
        bill.period
            .end
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M"),
        bill.intervals
    );
    out.push_str(&format!(
        "{:<20} {:>4} {:<8} {:>14} {:>10} {:>18}\n",
        "version from", "tier", "class", "kWh", "yuan/kWh", "amount"
    ));
    for line in &bill.lines {
        out.push_str(&format!(
            "{:<20} {:>4} {:<8} {:>14} {:>10} {:>18}\n",
            line.effective_from.format("%Y-%m-%d %H:%M").to_string(),
            line.tier,
            line.class,
            line.kwh.normalize(),
            line.price,
            line.amount.normalize()
        ));
    }
    out.push_str(&format!(
        "ladder {} → {} kWh; export not billed {} kWh\n",
        bill.ladder_start_kwh.normalize(),
        bill.ladder_end_kwh.normalize(),
        bill.export_kwh.normalize()
    ));
    out.push_str(&format!(
        "total {} (unrounded {}, rounded half-up to the fen)\n",
        bill.total,
        bill.unrounded_total.normalize()
    ));
    if !bill.unverified.is_empty() {
        out.push_str(&format!(
            "unverified plan fields: {}\n",
            bill.unverified.join(", ")
        ));
    }
    out
}
